//! SQS queues and SNS topics, in the attribute shape hashicorp/aws 5.100.0
//! writes into state.
//!
//! Both services list only identifiers (queue URLs, topic ARNs) and keep
//! everything else behind one attributes call per resource, plus one tag call
//! per resource: two calls per queue or topic is what the APIs force. They run
//! a few at a time ([`each_bounded`]).
//!
//! Both providers map attributes the same way: an attribute AWS leaves out is
//! stored as the zero value (`""`, `0`, `false`), except where noted. Policies
//! are kept as the JSON text AWS returns; the diff compares policy documents
//! by meaning. The other JSON attributes (redrive policies, delivery and
//! archive policies) are not policy documents: `normalize` brings both sides
//! to one spelling.

use super::net::normalize_tags;
use super::per_resource::each_bounded;
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::{Fold, TypeRules, never_default};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

// ---------------------------------------------------------------------------
// aws_sqs_queue

static RULES_SQS_QUEUE: TypeRules = TypeRules {
    resource_type: "aws_sqs_queue",
    global: false,
    // `name_prefix` only steers Terraform's create (the provider re-derives it
    // from the name on read, which AWS knows nothing about).
    ignore: &["name_prefix"],
    sensitive: &[],
    sets: &[],
    normalize: normalize_queue,
    is_default: never_default,
    desired_parts: None,
    folds: &[Fold {
        child_types: &[
            "aws_sqs_queue_policy",
            "aws_sqs_queue_redrive_policy",
            "aws_sqs_queue_redrive_allow_policy",
        ],
        parent_id_attribute: "queue_url",
        children_are_parts: true,
        remove_child: remove_queue_child,
    }],
};

pub static SQS_QUEUE: TypeDef = TypeDef {
    rules: &RULES_SQS_QUEUE,
    actions: &[
        "sqs:GetQueueAttributes",
        "sqs:ListQueueTags",
        "sqs:ListQueues",
    ],
    list: list_queues,
};

/// The largest page `ListQueues` serves.
const QUEUE_PAGE_SIZE: i32 = 1000;

/// The provider writes 300 when AWS returns no key reuse period (queues
/// without KMS encryption), for backwards compatibility.
const DEFAULT_KMS_DATA_KEY_REUSE_PERIOD: i64 = 300;

fn normalize_queue(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    for tree in [desired, live] {
        for name in ["redrive_policy", "redrive_allow_policy"] {
            canonical_json_text(tree, name);
        }
    }
}

/// An `aws_sqs_queue_policy` (or redrive policy resource) manages that
/// attribute of its queue: it is compared through the child, and a queue state
/// written before the child existed (`policy = ""`) is not drift.
fn remove_queue_child(desired: &mut Value, live: &mut Value, child_type: &str, _child: &Value) {
    let attribute = match child_type {
        "aws_sqs_queue_policy" => "policy",
        "aws_sqs_queue_redrive_policy" => "redrive_policy",
        "aws_sqs_queue_redrive_allow_policy" => "redrive_allow_policy",
        _ => return,
    };
    for tree in [desired, live] {
        if let Some(tree) = tree.as_object_mut() {
            tree.remove(attribute);
        }
    }
}

/// `ListQueues` (paged), then `GetQueueAttributes(All)` and `ListQueueTags`
/// per queue. Id: the queue URL, as the provider stores it.
fn list_queues(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let urls: Vec<String> = ctx
            .sqs()
            .list_queues()
            .into_paginator()
            .page_size(QUEUE_PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("sqs:ListQueues", e))?;
        let sqs = ctx.sqs().clone();
        each_bounded(urls, move |url| {
            let sqs = sqs.clone();
            async move {
                let attributes = match sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::All)
                    .send()
                    .await
                {
                    Ok(out) => out.attributes.unwrap_or_default(),
                    Err(e) if is_missing_queue(&e) => return Ok(None),
                    Err(e) => return Err(CollectError::from_sdk("sqs:GetQueueAttributes", e)),
                };
                let tags = match sqs.list_queue_tags().queue_url(&url).send().await {
                    Ok(out) => out.tags.unwrap_or_default(),
                    Err(e) if is_missing_queue(&e) => return Ok(None),
                    Err(e) => return Err(CollectError::from_sdk("sqs:ListQueueTags", e)),
                };
                Ok(Some(LiveObject {
                    attributes: queue_attributes(&url, &attributes, &tags),
                    id: url,
                }))
            }
        })
        .await
    })
}

/// A queue deleted between the listing and its detail calls is gone, like one
/// never listed.
fn is_missing_queue<E, R>(e: &aws_sdk_sqs::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata,
{
    e.as_service_error().is_some_and(|s| {
        matches!(
            s.code(),
            Some("QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue")
        )
    })
}

/// A queue in the provider's shape, from its `GetQueueAttributes(All)` answer.
pub fn queue_attributes(
    url: &str,
    attributes: &HashMap<QueueAttributeName, String>,
    tags: &HashMap<String, String>,
) -> Value {
    let text = |name: QueueAttributeName| attributes.get(&name).cloned().unwrap_or_default();
    let number = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let flag = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    };
    // The URL's last path segment is the name (`…/123456789012/orders.fifo`).
    let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
    let tags: BTreeMap<&str, &str> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    json!({
        "arn": text(QueueAttributeName::QueueArn),
        "content_based_deduplication": flag(QueueAttributeName::ContentBasedDeduplication),
        "deduplication_scope": text(QueueAttributeName::DeduplicationScope),
        "delay_seconds": number(QueueAttributeName::DelaySeconds).unwrap_or(0),
        "fifo_queue": flag(QueueAttributeName::FifoQueue),
        "fifo_throughput_limit": text(QueueAttributeName::FifoThroughputLimit),
        "id": url,
        "kms_data_key_reuse_period_seconds": number(QueueAttributeName::KmsDataKeyReusePeriodSeconds)
            .filter(|n| *n != 0)
            .unwrap_or(DEFAULT_KMS_DATA_KEY_REUSE_PERIOD),
        "kms_master_key_id": text(QueueAttributeName::KmsMasterKeyId),
        "max_message_size": number(QueueAttributeName::MaximumMessageSize).unwrap_or(0),
        "message_retention_seconds": number(QueueAttributeName::MessageRetentionPeriod).unwrap_or(0),
        "name": name,
        "policy": text(QueueAttributeName::Policy),
        "receive_wait_time_seconds": number(QueueAttributeName::ReceiveMessageWaitTimeSeconds).unwrap_or(0),
        "redrive_allow_policy": text(QueueAttributeName::RedriveAllowPolicy),
        "redrive_policy": text(QueueAttributeName::RedrivePolicy),
        "sqs_managed_sse_enabled": flag(QueueAttributeName::SqsManagedSseEnabled),
        "tags": tags,
        "tags_all": tags,
        "url": url,
        "visibility_timeout_seconds": number(QueueAttributeName::VisibilityTimeout).unwrap_or(0),
    })
}

// ---------------------------------------------------------------------------
// aws_sns_topic

static RULES_SNS_TOPIC: TypeRules = TypeRules {
    resource_type: "aws_sns_topic",
    global: false,
    // As for queues: `name_prefix` only steers Terraform's create.
    ignore: &["name_prefix"],
    sensitive: &[],
    sets: &[],
    normalize: normalize_topic,
    is_default: never_default,
    desired_parts: None,
    folds: &[Fold {
        child_types: &["aws_sns_topic_policy"],
        parent_id_attribute: "arn",
        children_are_parts: true,
        remove_child: remove_topic_policy,
    }],
};

pub static SNS_TOPIC: TypeDef = TypeDef {
    rules: &RULES_SNS_TOPIC,
    actions: &[
        "sns:GetTopicAttributes",
        "sns:ListTagsForResource",
        "sns:ListTopics",
    ],
    list: list_topics,
};

fn normalize_topic(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    for tree in [desired, live] {
        for name in ["delivery_policy", "archive_policy"] {
            canonical_json_text(tree, name);
        }
    }
}

/// An `aws_sns_topic_policy` manages the topic's `policy`.
fn remove_topic_policy(desired: &mut Value, live: &mut Value, _child_type: &str, _child: &Value) {
    for tree in [desired, live] {
        if let Some(tree) = tree.as_object_mut() {
            tree.remove("policy");
        }
    }
}

/// `ListTopics` (paged, 100 per page: the API has no page size), then
/// `GetTopicAttributes` and `ListTagsForResource` per topic. Id: the ARN.
fn list_topics(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let arns: Vec<String> = ctx
            .sns()
            .list_topics()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("sns:ListTopics", e))?
            .into_iter()
            .filter_map(|t| t.topic_arn)
            .collect();
        let sns = ctx.sns().clone();
        each_bounded(arns, move |arn| {
            let sns = sns.clone();
            async move {
                let attributes = match sns.get_topic_attributes().topic_arn(&arn).send().await {
                    Ok(out) => out.attributes.unwrap_or_default(),
                    Err(e) if is_missing_topic(&e) => return Ok(None),
                    Err(e) => return Err(CollectError::from_sdk("sns:GetTopicAttributes", e)),
                };
                let tags = match sns.list_tags_for_resource().resource_arn(&arn).send().await {
                    Ok(out) => out.tags.unwrap_or_default(),
                    Err(e) if is_missing_topic(&e) => return Ok(None),
                    Err(e) => return Err(CollectError::from_sdk("sns:ListTagsForResource", e)),
                };
                let tags: HashMap<String, String> =
                    tags.into_iter().map(|t| (t.key, t.value)).collect();
                Ok(Some(LiveObject {
                    attributes: topic_attributes(&arn, &attributes, &tags),
                    id: arn,
                }))
            }
        })
        .await
    })
}

fn is_missing_topic<E, R>(e: &aws_sdk_sns::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_sns::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .is_some_and(|s| matches!(s.code(), Some("NotFound" | "NotFoundException")))
}

/// The topic attributes the provider maps one to one (state name, API name),
/// strings first, then the numbers.
const TOPIC_TEXT: &[(&str, &str)] = &[
    (
        "application_failure_feedback_role_arn",
        "ApplicationFailureFeedbackRoleArn",
    ),
    (
        "application_success_feedback_role_arn",
        "ApplicationSuccessFeedbackRoleArn",
    ),
    ("archive_policy", "ArchivePolicy"),
    ("beginning_archive_time", "BeginningArchiveTime"),
    ("delivery_policy", "DeliveryPolicy"),
    ("display_name", "DisplayName"),
    ("fifo_throughput_scope", "FifoThroughputScope"),
    (
        "firehose_failure_feedback_role_arn",
        "FirehoseFailureFeedbackRoleArn",
    ),
    (
        "firehose_success_feedback_role_arn",
        "FirehoseSuccessFeedbackRoleArn",
    ),
    (
        "http_failure_feedback_role_arn",
        "HTTPFailureFeedbackRoleArn",
    ),
    (
        "http_success_feedback_role_arn",
        "HTTPSuccessFeedbackRoleArn",
    ),
    ("kms_master_key_id", "KmsMasterKeyId"),
    (
        "lambda_failure_feedback_role_arn",
        "LambdaFailureFeedbackRoleArn",
    ),
    (
        "lambda_success_feedback_role_arn",
        "LambdaSuccessFeedbackRoleArn",
    ),
    ("owner", "Owner"),
    ("policy", "Policy"),
    ("sqs_failure_feedback_role_arn", "SQSFailureFeedbackRoleArn"),
    ("sqs_success_feedback_role_arn", "SQSSuccessFeedbackRoleArn"),
    ("tracing_config", "TracingConfig"),
];

const TOPIC_NUMBERS: &[(&str, &str)] = &[
    (
        "application_success_feedback_sample_rate",
        "ApplicationSuccessFeedbackSampleRate",
    ),
    (
        "firehose_success_feedback_sample_rate",
        "FirehoseSuccessFeedbackSampleRate",
    ),
    (
        "http_success_feedback_sample_rate",
        "HTTPSuccessFeedbackSampleRate",
    ),
    (
        "lambda_success_feedback_sample_rate",
        "LambdaSuccessFeedbackSampleRate",
    ),
    ("signature_version", "SignatureVersion"),
    (
        "sqs_success_feedback_sample_rate",
        "SQSSuccessFeedbackSampleRate",
    ),
];

const TOPIC_FLAGS: &[(&str, &str)] = &[
    ("content_based_deduplication", "ContentBasedDeduplication"),
    ("fifo_topic", "FifoTopic"),
];

/// A topic in the provider's shape, from its `GetTopicAttributes` answer.
/// When no policy was configured the state holds the default policy AWS
/// wrote, as AWS returns it: nothing to special-case.
pub fn topic_attributes(
    arn: &str,
    attributes: &HashMap<String, String>,
    tags: &HashMap<String, String>,
) -> Value {
    let mut out = serde_json::Map::new();
    for (state, api) in TOPIC_TEXT {
        out.insert(
            (*state).into(),
            json!(attributes.get(*api).cloned().unwrap_or_default()),
        );
    }
    for (state, api) in TOPIC_NUMBERS {
        let n = attributes
            .get(*api)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0);
        out.insert((*state).into(), json!(n));
    }
    for (state, api) in TOPIC_FLAGS {
        let b = attributes
            .get(*api)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        out.insert((*state).into(), json!(b));
    }
    // The name is the ARN's last part (`arn:aws:sns:us-east-1:123456789012:alerts`).
    let name = arn.rsplit(':').next().unwrap_or(arn);
    let tags: BTreeMap<&str, &str> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    out.insert("arn".into(), json!(arn));
    out.insert("id".into(), json!(arn));
    out.insert("name".into(), json!(name));
    out.insert("tags".into(), json!(tags));
    out.insert("tags_all".into(), json!(tags));
    Value::Object(out)
}

// ---------------------------------------------------------------------------
// Shared

/// Rewrites a JSON text attribute in one spelling: keys sorted, no
/// whitespace, and numbers written as strings read as numbers
/// (`"maxReceiveCount": "4"` and `4` configure the same queue). Text that is
/// not JSON is left as it is (it then compares as text).
fn canonical_json_text(tree: &mut Value, name: &str) {
    let Some(Value::String(text)) = tree.get(name) else {
        return;
    };
    if text.trim().is_empty() {
        return;
    }
    let Ok(parsed) = serde_json::from_str::<Value>(text) else {
        return;
    };
    tree[name] = Value::String(numbers_as_numbers(parsed).to_string());
}

fn numbers_as_numbers(v: Value) -> Value {
    match v {
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) if !s.is_empty() => json!(n),
            _ => Value::String(s),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, numbers_as_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redrive_policies_compare_by_content() {
        // As moto (and AWS) return it, and as Terraform's `jsonencode` writes it.
        let mut live = json!({"redrive_policy": "{\"deadLetterTargetArn\": \"arn:aws:sqs:us-east-1:123456789012:dlq\", \"maxReceiveCount\": \"4\"}", "redrive_allow_policy": ""});
        let mut desired = json!({"redrive_policy": "{\"maxReceiveCount\":4,\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:123456789012:dlq\"}", "redrive_allow_policy": ""});
        normalize_queue(&mut desired, &mut live);
        assert_eq!(desired, live);
        let mut changed = json!({"redrive_policy": "{\"maxReceiveCount\":5,\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:123456789012:dlq\"}"});
        normalize_queue(&mut changed, &mut live);
        assert_ne!(changed["redrive_policy"], live["redrive_policy"]);
    }

    #[test]
    fn a_queue_without_encryption_settings_has_the_provider_defaults() {
        let attributes = HashMap::from([
            (
                QueueAttributeName::QueueArn,
                "arn:aws:sqs:us-east-1:123456789012:q".to_string(),
            ),
            (QueueAttributeName::VisibilityTimeout, "30".to_string()),
        ]);
        let q = queue_attributes(
            "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            &attributes,
            &HashMap::new(),
        );
        assert_eq!(q["name"], "q");
        assert_eq!(q["kms_data_key_reuse_period_seconds"], 300);
        assert_eq!(q["sqs_managed_sse_enabled"], false);
        assert_eq!(q["policy"], "");
        assert_eq!(q["visibility_timeout_seconds"], 30);
    }

    #[test]
    fn a_queue_policy_resource_owns_the_policy() {
        let mut desired = json!({"policy": "", "delay_seconds": 0});
        let mut live = json!({"policy": "{\"Statement\":[]}", "delay_seconds": 0});
        (RULES_SQS_QUEUE.folds[0].remove_child)(
            &mut desired,
            &mut live,
            "aws_sqs_queue_policy",
            &json!({"queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q"}),
        );
        assert_eq!(desired, live);
    }

    #[test]
    fn topic_attributes_absent_from_the_api_are_zero_values() {
        let attributes = HashMap::from([
            ("Owner".to_string(), "123456789012".to_string()),
            ("SignatureVersion".to_string(), "2".to_string()),
            ("FifoTopic".to_string(), "true".to_string()),
        ]);
        let t = topic_attributes(
            "arn:aws:sns:us-east-1:123456789012:events.fifo",
            &attributes,
            &HashMap::from([("team".to_string(), "a".to_string())]),
        );
        assert_eq!(t["name"], "events.fifo");
        assert_eq!(t["signature_version"], 2);
        assert_eq!(t["fifo_topic"], true);
        assert_eq!(t["content_based_deduplication"], false);
        assert_eq!(t["http_success_feedback_sample_rate"], 0);
        assert_eq!(t["delivery_policy"], "");
        assert_eq!(t["tags"], json!({"team": "a"}));
    }
}
