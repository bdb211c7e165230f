//! CloudWatch Logs log groups (`aws_cloudwatch_log_group`), mapped into the
//! attribute shape the hashicorp/aws 5.100.0 provider writes into state.
//!
//! `DescribeLogGroups` (paged, 50 a page, the most it serves) carries every
//! attribute but the tags, which only `ListTagsForResource` returns, one call
//! per group: the API has no batched tag read for log groups.
//!
//! Log groups AWS services create by themselves (Lambda's
//! `/aws/lambda/<function>` on the first invocation, EKS's
//! `/aws/eks/<cluster>/cluster`, API Gateway's, RDS's…) live under the `/aws/`
//! prefix. Nobody wrote them, in Terraform or anywhere else: reporting each as
//! unmanaged would bury the groups people really made by hand under one finding
//! per function. They count as AWS default objects (reported only for `strict`
//! targets); a group under `/aws/` that a state manages is compared like any other.

use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::TypeRules;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The largest page `DescribeLogGroups` serves.
const PAGE_SIZE: i32 = 50;

/// Log groups whose tags are read at once.
const TAG_CONCURRENCY: usize = 4;

static RULES_LOG_GROUP: TypeRules = TypeRules {
    resource_type: "aws_cloudwatch_log_group",
    global: false,
    // `name_prefix` only steers Terraform's create; `skip_destroy` only its destroy.
    ignore: &["name_prefix", "skip_destroy"],
    sensitive: &[],
    sets: &[],
    normalize: normalize_log_group,
    is_default: is_service_log_group,
    desired_parts: None,
    folds: &[],
};

pub static LOG_GROUP: TypeDef = TypeDef {
    rules: &RULES_LOG_GROUP,
    actions: &["logs:DescribeLogGroups", "logs:ListTagsForResource"],
    list: list_log_groups,
};

/// A group under the `/aws/` prefix was created by an AWS service (see the module doc).
fn is_service_log_group(live: &Value) -> bool {
    live["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("/aws/"))
}

/// Tags as for every tagged type; a state that never refreshed the class (it
/// is computed, and older providers did not know it) says nothing about it.
/// AWS returns the class of every group (`STANDARD` unless chosen); moto
/// 5.1.22 returns none: a live `""` is unknown, not drift.
fn normalize_log_group(desired: &mut Value, live: &mut Value) {
    super::net::normalize_tags(desired, live);
    if desired.get("log_group_class").is_none()
        && let Some(live) = live.as_object_mut()
    {
        live.remove("log_group_class");
    }
    super::net::drop_unreturned(desired, live, &["log_group_class"]);
}

fn list_log_groups(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let logs = ctx.logs();
        let groups = logs
            .describe_log_groups()
            .limit(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("logs:DescribeLogGroups", e))?;

        let arns: Vec<String> = groups.iter().map(log_group_arn).collect();
        let mut tags: HashMap<String, Value> = HashMap::with_capacity(arns.len());
        for chunk in arns.chunks(TAG_CONCURRENCY) {
            let mut calls = tokio::task::JoinSet::new();
            for arn in chunk {
                let logs = logs.clone();
                let arn = arn.clone();
                calls.spawn(async move {
                    let answer = logs
                        .list_tags_for_resource()
                        .resource_arn(&arn)
                        .send()
                        .await;
                    (arn, answer)
                });
            }
            while let Some(joined) = calls.join_next().await {
                let (arn, answer) = joined.expect("a log group tag call does not panic");
                let answer =
                    answer.map_err(|e| CollectError::from_sdk("logs:ListTagsForResource", e))?;
                tags.insert(arn, tag_map(answer.tags()));
            }
        }

        Ok(groups
            .iter()
            .map(|group| {
                let arn = log_group_arn(group);
                let tags = tags.remove(&arn).unwrap_or_else(|| json!({}));
                log_group_object(group, arn, tags)
            })
            .collect())
    })
}

/// The group's ARN as the provider stores it: without the `:*` that
/// `DescribeLogGroups`' older `arn` field appends.
fn log_group_arn(group: &LogGroup) -> String {
    match group.log_group_arn() {
        Some(arn) => arn.to_string(),
        None => group
            .arn()
            .unwrap_or_default()
            .trim_end_matches(":*")
            .to_string(),
    }
}

/// One log group in the provider's shape. A group that never expires has no
/// retention in the API; the provider stores `0` for it.
pub fn log_group_object(group: &LogGroup, arn: String, tags: Value) -> LiveObject {
    let name = group.log_group_name().unwrap_or_default().to_string();
    LiveObject {
        id: name.clone(),
        attributes: json!({
            "arn": arn,
            "id": name,
            "kms_key_id": group.kms_key_id().unwrap_or_default(),
            "log_group_class": group.log_group_class().map(|c| c.as_str()).unwrap_or_default(),
            "name": name,
            "retention_in_days": group.retention_in_days().unwrap_or(0),
            "tags": tags.clone(),
            "tags_all": tags,
        }),
    }
}

/// Tags as the provider stores them: without AWS's own `aws:` tags.
fn tag_map(tags: Option<&HashMap<String, String>>) -> Value {
    Value::Object(
        tags.into_iter()
            .flatten()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::types::LogGroupClass;

    #[test]
    fn a_group_that_never_expires_has_retention_zero() {
        let group = LogGroup::builder()
            .log_group_name("/app/api")
            .arn("arn:aws:logs:eu-west-1:111122223333:log-group:/app/api:*")
            .log_group_class(LogGroupClass::InfrequentAccess)
            .build();
        let object = log_group_object(&group, log_group_arn(&group), json!({"team": "a"}));
        assert_eq!(
            object.attributes,
            json!({
                "arn": "arn:aws:logs:eu-west-1:111122223333:log-group:/app/api",
                "id": "/app/api",
                "kms_key_id": "",
                "log_group_class": "INFREQUENT_ACCESS",
                "name": "/app/api",
                "retention_in_days": 0,
                "tags": {"team": "a"},
                "tags_all": {"team": "a"},
            })
        );
    }

    #[test]
    fn an_unreturned_class_is_unknown() {
        // moto 5.1.22 returns no `logGroupClass`; AWS always does.
        let mut desired = json!({"log_group_class": "STANDARD"});
        let mut live = json!({"log_group_class": ""});
        normalize_log_group(&mut desired, &mut live);
        assert_eq!(desired, json!({}));
        assert_eq!(live, json!({}));
        let mut desired = json!({"log_group_class": "STANDARD"});
        let mut live = json!({"log_group_class": "INFREQUENT_ACCESS"});
        normalize_log_group(&mut desired, &mut live);
        assert_ne!(desired, live);
    }

    #[test]
    fn service_groups_are_defaults() {
        assert!(is_service_log_group(&json!({"name": "/aws/lambda/fn"})));
        assert!(!is_service_log_group(&json!({"name": "/app/aws/x"})));
    }

    #[test]
    fn system_tags_are_not_tags() {
        let tags = HashMap::from([
            ("aws:cloudformation:stack-name".to_string(), "s".to_string()),
            ("team".to_string(), "a".to_string()),
        ]);
        assert_eq!(tag_map(Some(&tags)), json!({"team": "a"}));
    }
}
