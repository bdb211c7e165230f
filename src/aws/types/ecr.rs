//! ECR repositories, in the attribute shape hashicorp/aws 5.100.0 writes into
//! state.
//!
//! `DescribeRepositories` (paged, 1000 per page) carries everything but the
//! tags, which need `ListTagsForResource`, one call per repository.

use super::net::normalize_tags;
use super::per_resource::each_bounded;
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::{TypeRules, never_default};
use aws_sdk_ecr::types::{Repository, Tag};
use serde_json::{Value, json};
use std::collections::BTreeMap;

static RULES_ECR_REPOSITORY: TypeRules = TypeRules {
    resource_type: "aws_ecr_repository",
    global: false,
    // `force_delete` only steers Terraform's destroy.
    ignore: &["force_delete"],
    sensitive: &[],
    sets: &[],
    normalize: normalize_tags,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static ECR_REPOSITORY: TypeDef = TypeDef {
    rules: &RULES_ECR_REPOSITORY,
    actions: &["ecr:DescribeRepositories", "ecr:ListTagsForResource"],
    list: list_repositories,
};

/// The largest page `DescribeRepositories` serves.
const PAGE_SIZE: i32 = 1000;

/// Id: the repository name.
fn list_repositories(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let repositories = ctx
            .ecr()
            .describe_repositories()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ecr:DescribeRepositories", e))?;
        let ecr = ctx.ecr().clone();
        each_bounded(repositories, move |repository| {
            let ecr = ecr.clone();
            async move {
                let arn = repository.repository_arn().unwrap_or_default();
                let tags = match ecr.list_tags_for_resource().resource_arn(arn).send().await {
                    Ok(out) => out.tags.unwrap_or_default(),
                    // Deleted since it was listed: gone, like one never listed.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_repository_not_found_exception()) =>
                    {
                        return Ok(None);
                    }
                    Err(e) => return Err(CollectError::from_sdk("ecr:ListTagsForResource", e)),
                };
                Ok(Some(LiveObject {
                    id: repository.repository_name().unwrap_or_default().to_string(),
                    attributes: repository_attributes(&repository, &tags),
                }))
            }
        })
        .await
    })
}

/// A repository in the provider's shape: the two configuration blocks are
/// one-element lists (`encryption_configuration` empty only when AWS returns
/// none), `kms_key` is `""` for AES256.
pub fn repository_attributes(repository: &Repository, tags: &[Tag]) -> Value {
    let tags: BTreeMap<&str, &str> = tags.iter().map(|t| (t.key(), t.value())).collect();
    let encryption: Vec<Value> = repository
        .encryption_configuration()
        .map(|c| {
            json!({
                "encryption_type": c.encryption_type().as_str(),
                "kms_key": c.kms_key().unwrap_or_default(),
            })
        })
        .into_iter()
        .collect();
    let scanning: Vec<Value> = repository
        .image_scanning_configuration()
        .map(|c| json!({"scan_on_push": c.scan_on_push()}))
        .into_iter()
        .collect();
    let name = repository.repository_name().unwrap_or_default();
    json!({
        "arn": repository.repository_arn().unwrap_or_default(),
        "encryption_configuration": encryption,
        "id": name,
        "image_scanning_configuration": scanning,
        "image_tag_mutability": repository.image_tag_mutability().map(|m| m.as_str()).unwrap_or_default(),
        "name": name,
        "registry_id": repository.registry_id().unwrap_or_default(),
        "repository_url": repository.repository_uri().unwrap_or_default(),
        "tags": tags,
        "tags_all": tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::types::{
        EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    };

    #[test]
    fn a_kms_encrypted_repository() {
        let repository = Repository::builder()
            .repository_arn("arn:aws:ecr:eu-west-1:111122223333:repository/app")
            .registry_id("111122223333")
            .repository_name("app")
            .repository_uri("111122223333.dkr.ecr.eu-west-1.amazonaws.com/app")
            .image_tag_mutability(ImageTagMutability::Immutable)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .encryption_configuration(
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::Kms)
                    .kms_key("arn:aws:kms:eu-west-1:111122223333:key/abc")
                    .build()
                    .unwrap(),
            )
            .build();
        let tags = [Tag::builder().key("team").value("a").build().unwrap()];
        assert_eq!(
            repository_attributes(&repository, &tags),
            json!({
                "arn": "arn:aws:ecr:eu-west-1:111122223333:repository/app",
                "encryption_configuration": [{"encryption_type": "KMS", "kms_key": "arn:aws:kms:eu-west-1:111122223333:key/abc"}],
                "id": "app",
                "image_scanning_configuration": [{"scan_on_push": true}],
                "image_tag_mutability": "IMMUTABLE",
                "name": "app",
                "registry_id": "111122223333",
                "repository_url": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app",
                "tags": {"team": "a"},
                "tags_all": {"team": "a"},
            })
        );
    }
}
