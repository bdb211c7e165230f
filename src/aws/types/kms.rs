//! KMS: keys and aliases.
//!
//! `ListKeys` returns only key ids, and nothing lists key metadata, policies,
//! rotation or tags in bulk: every key costs `DescribeKey`, `GetKeyPolicy`,
//! `GetKeyRotationStatus` and `ListResourceTags` (a few keys at a time), as
//! in the provider's own read. Aliases are one paged `ListAliases`.
//!
//! Which keys are `aws_kms_key`s:
//! - keys pending deletion (`PendingDeletion`, `PendingReplicaDeletion`) are
//!   left out: the provider treats them as deleted (a refresh drops them from
//!   state), so a state that still holds one sees it as missing, as Terraform
//!   does, and a key someone scheduled for deletion is not "unmanaged";
//! - keys with imported material (`Origin = EXTERNAL`) are
//!   `aws_kms_external_key`s, and multi-Region replicas `aws_kms_replica_key`s:
//!   both other types, left out;
//! - AWS-managed keys (`KeyManager = AWS`, `aws/s3`, `aws/rds`, …) are AWS's
//!   own: listed (so `strict` targets see them) but never unmanaged. The
//!   schema has no attribute saying so, so the mapping marks them with
//!   [`DEFAULT_MARKER`], which the diff never compares.
//!
//! `GetKeyRotationStatus` is asked only of keys whose material KMS made
//! (`Origin = AWS_KMS`), as the provider does; an `UnsupportedOperationException`
//! (a key type that cannot rotate) means rotation off.
//!
//! moto 5.1.22 serves every call used here, with these differences from AWS:
//! no `RotationPeriodInDays` (the provider then stores `0`, and so does the
//! mapping), no `KeyUsage` for a key created without naming it, no
//! AWS-managed keys (only the reserved `alias/aws/*` aliases, whose keys
//! `ListKeys` does not return: their mapping is unit-tested on hand-built
//! `DescribeKey` output), and `ListKeys` never pages.

use crate::aws::types::net::{DEFAULT_MARKER, normalize_tags};
use crate::aws::types::rds::{bounded, name_prefix_from_name};
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::TypeRules;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{AliasListEntry, KeyManagerType, KeyMetadata, KeyState, OriginType, Tag};
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::{Map, Value, json};

/// Largest page `ListKeys` and `ListAliases` serve.
const PAGE_SIZE: i32 = 1000;

/// Keys whose four detail calls run at once.
const KEY_CONCURRENCY: usize = 4;

/// What every key costs besides `ListKeys`.
struct KeyDetails {
    metadata: KeyMetadata,
    policy: String,
    rotation: Option<(bool, Option<i32>)>,
    tags: Vec<Tag>,
}

// ---------------------------------------------------------------------------
// aws_kms_key

static RULES_KMS_KEY: TypeRules = TypeRules {
    resource_type: "aws_kms_key",
    global: false,
    // `bypass_policy_lockout_safety_check` only steers a `PutKeyPolicy`, and
    // `deletion_window_in_days` Terraform's destroy (`ScheduleKeyDeletion`).
    ignore: &[
        "bypass_policy_lockout_safety_check",
        "deletion_window_in_days",
        "timeouts",
        DEFAULT_MARKER,
    ],
    sensitive: &[],
    sets: &[],
    normalize: normalize_tags,
    is_default: aws_managed_key,
    desired_parts: None,
    folds: &[],
};

pub static KMS_KEY: TypeDef = TypeDef {
    rules: &RULES_KMS_KEY,
    actions: &[
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListKeys",
        "kms:ListResourceTags",
    ],
    list: list_kms_keys,
};

fn aws_managed_key(live: &Value) -> bool {
    live.get(DEFAULT_MARKER) == Some(&Value::Bool(true))
}

fn list_kms_keys(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let ids: Vec<String> = ctx
            .kms()
            .list_keys()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("kms:ListKeys", e))?
            .into_iter()
            .filter_map(|k| k.key_id)
            .collect();
        let kms = ctx.kms().clone();
        let keys = bounded(ids, KEY_CONCURRENCY, move |id| {
            let kms = kms.clone();
            async move { key_details(&kms, &id).await }
        })
        .await?;
        Ok(keys
            .into_iter()
            .flatten()
            .map(|key| LiveObject {
                id: key.metadata.key_id().to_string(),
                attributes: kms_key_attributes(&key.metadata, &key.policy, key.rotation, &key.tags),
            })
            .collect())
    })
}

/// The four calls for one key; `None` when the key is not an `aws_kms_key`
/// (see the module doc) or was deleted since `ListKeys`.
async fn key_details(
    kms: &aws_sdk_kms::Client,
    id: &str,
) -> Result<Option<KeyDetails>, CollectError> {
    let metadata = match kms.describe_key().key_id(id).send().await {
        Ok(out) => match out.key_metadata {
            Some(m) => m,
            None => return Ok(None),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(CollectError::from_sdk("kms:DescribeKey", e)),
    };
    if !is_kms_key(&metadata) {
        return Ok(None);
    }
    let policy = match kms
        .get_key_policy()
        .key_id(id)
        .policy_name("default")
        .send()
        .await
    {
        Ok(out) => out.policy.unwrap_or_default(),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(CollectError::from_sdk("kms:GetKeyPolicy", e)),
    };
    // Only keys whose material KMS made can rotate; the provider asks only those.
    let rotation = if metadata.origin() == Some(&OriginType::AwsKms) {
        match kms.get_key_rotation_status().key_id(id).send().await {
            Ok(out) => Some((out.key_rotation_enabled(), out.rotation_period_in_days())),
            Err(e) if is_not_found(&e) => return Ok(None),
            // Keys that cannot rotate (asymmetric, HMAC): rotation is off.
            Err(e) if is_code(&e, "UnsupportedOperationException") => None,
            Err(e) => return Err(CollectError::from_sdk("kms:GetKeyRotationStatus", e)),
        }
    } else {
        None
    };
    let mut tags = Vec::new();
    let mut pages = kms
        .list_resource_tags()
        .key_id(id)
        .into_paginator()
        .page_size(50)
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => tags.extend(page.tags.unwrap_or_default()),
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(CollectError::from_sdk("kms:ListResourceTags", e)),
        }
    }
    Ok(Some(KeyDetails {
        metadata,
        policy,
        rotation,
        tags,
    }))
}

/// Whether a key is an `aws_kms_key` at all (see the module doc).
pub fn is_kms_key(m: &KeyMetadata) -> bool {
    let pending = matches!(
        m.key_state(),
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    );
    let external = m.origin() == Some(&OriginType::External);
    let replica = m.multi_region() == Some(true)
        && m.multi_region_configuration()
            .and_then(|c| c.multi_region_key_type())
            .is_some_and(|t| t.as_str() != "PRIMARY");
    !pending && !external && !replica
}

/// A key as hashicorp/aws 5.100.0 writes it. `rotation` is `None` for keys
/// that cannot rotate (the provider then stores `false` and `0`).
pub fn kms_key_attributes(
    m: &KeyMetadata,
    policy: &str,
    rotation: Option<(bool, Option<i32>)>,
    tags: &[Tag],
) -> Value {
    let tags: Map<String, Value> = tags
        .iter()
        .map(|t| (t.tag_key().to_string(), json!(t.tag_value())))
        .collect();
    let (rotation_enabled, rotation_period) = rotation.unwrap_or((false, None));
    let mut attributes = json!({
        "arn": m.arn().unwrap_or_default(),
        "custom_key_store_id": m.custom_key_store_id().unwrap_or_default(),
        "customer_master_key_spec": m.key_spec().map(|s| s.as_str()).unwrap_or_default(),
        "description": m.description().unwrap_or_default(),
        "enable_key_rotation": rotation_enabled,
        "id": m.key_id(),
        "is_enabled": m.enabled(),
        "key_id": m.key_id(),
        "key_usage": m.key_usage().map(|u| u.as_str()).unwrap_or_default(),
        "multi_region": m.multi_region().unwrap_or(false),
        "policy": policy,
        "rotation_period_in_days": rotation_period.unwrap_or(0),
        "tags": tags,
        "tags_all": tags,
        "xks_key_id": m.xks_key_configuration().and_then(|x| x.id()).unwrap_or_default(),
    });
    if m.key_manager() == Some(&KeyManagerType::Aws) {
        attributes[DEFAULT_MARKER] = json!(true);
    }
    attributes
}

fn is_not_found<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    is_code(err, "NotFoundException")
}

fn is_code<E, R>(err: &SdkError<E, R>, code: &str) -> bool
where
    E: ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some(code)
}

// ---------------------------------------------------------------------------
// aws_kms_alias

static RULES_KMS_ALIAS: TypeRules = TypeRules {
    resource_type: "aws_kms_alias",
    global: false,
    // Derived from `name`, which is compared.
    ignore: &["name_prefix"],
    sensitive: &[],
    sets: &[],
    normalize: normalize_alias,
    is_default: aws_alias,
    desired_parts: None,
    folds: &[],
};

pub static KMS_ALIAS: TypeDef = TypeDef {
    rules: &RULES_KMS_ALIAS,
    actions: &["kms:ListAliases"],
    list: list_kms_aliases,
};

/// Aliases under `alias/aws/` name AWS-managed keys; AWS creates them.
fn aws_alias(live: &Value) -> bool {
    live["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("alias/aws/"))
}

/// A `target_key_id` configured as the key's ARN is the key id the API
/// returns (the provider stores the id after its first refresh).
fn normalize_alias(desired: &mut Value, _live: &mut Value) {
    if let Some(target) = desired.get("target_key_id").and_then(Value::as_str)
        && target.starts_with("arn:")
        && let Some((_, id)) = target.rsplit_once(":key/")
    {
        desired["target_key_id"] = json!(id);
    }
}

fn list_kms_aliases(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let aliases = ctx
            .kms()
            .list_aliases()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("kms:ListAliases", e))?;
        Ok(aliases
            .iter()
            .map(|a| LiveObject {
                id: a.alias_name().unwrap_or_default().to_string(),
                attributes: kms_alias_attributes(a),
            })
            .collect())
    })
}

/// An alias as hashicorp/aws 5.100.0 writes it: `id` is the alias name, and
/// `target_key_arn` is the alias ARN with its resource replaced by `key/<id>`.
pub fn kms_alias_attributes(a: &AliasListEntry) -> Value {
    let name = a.alias_name().unwrap_or_default();
    let arn = a.alias_arn().unwrap_or_default();
    let target = a.target_key_id().unwrap_or_default();
    let target_arn = match arn.split_once(":alias/") {
        Some((base, _)) if !target.is_empty() => format!("{base}:key/{target}"),
        _ => String::new(),
    };
    json!({
        "arn": arn,
        "id": name,
        "name": name,
        "name_prefix": name_prefix_from_name(name),
        "target_key_arn": target_arn,
        "target_key_id": target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::types::{MultiRegionConfiguration, MultiRegionKeyType};

    fn key(
        state: KeyState,
        origin: OriginType,
    ) -> aws_sdk_kms::types::builders::KeyMetadataBuilder {
        KeyMetadata::builder()
            .key_id("k")
            .key_state(state)
            .origin(origin)
    }

    #[test]
    fn only_live_kms_made_primary_keys_are_aws_kms_keys() {
        assert!(is_kms_key(
            &key(KeyState::Enabled, OriginType::AwsKms).build().unwrap()
        ));
        assert!(is_kms_key(
            &key(KeyState::Disabled, OriginType::AwsCloudhsm)
                .build()
                .unwrap()
        ));
        assert!(!is_kms_key(
            &key(KeyState::PendingDeletion, OriginType::AwsKms)
                .build()
                .unwrap()
        ));
        assert!(!is_kms_key(
            &key(KeyState::PendingImport, OriginType::External)
                .build()
                .unwrap()
        ));
        let replica = key(KeyState::Enabled, OriginType::AwsKms)
            .multi_region(true)
            .multi_region_configuration(
                MultiRegionConfiguration::builder()
                    .multi_region_key_type(MultiRegionKeyType::Replica)
                    .build(),
            )
            .build()
            .unwrap();
        assert!(!is_kms_key(&replica));
    }

    #[test]
    fn alias_target_arns_are_built_from_the_alias_arn() {
        let alias = AliasListEntry::builder()
            .alias_name("alias/app")
            .alias_arn("arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/app")
            .target_key_id("1234abcd")
            .build();
        assert_eq!(
            kms_alias_attributes(&alias)["target_key_arn"],
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd"
        );
    }
}
