//! SQS queues (keyed by URL) and SNS topics (keyed by ARN)
//! (`aws::types::messaging`).

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const SQS: &str = "sqs.amazonaws.com";
const SNS: &str = "sns.amazonaws.com";

const QUEUE: &[(&str, &str)] = &[("requestParameters.queueUrl", "id")];
const TOPIC: &[(&str, &str)] = &[("requestParameters.topicArn", "id")];

/// What `SetQueueAttributes` can set.
const QUEUE_ATTRIBUTES: &[&str] = &[
    "content_based_deduplication",
    "deduplication_scope",
    "delay_seconds",
    "fifo_throughput_limit",
    "kms_data_key_reuse_period_seconds",
    "kms_master_key_id",
    "max_message_size",
    "message_retention_seconds",
    "policy",
    "receive_wait_time_seconds",
    "redrive_allow_policy",
    "redrive_policy",
    "sqs_managed_sse_enabled",
    "visibility_timeout_seconds",
];
/// What `SetTopicAttributes` can set.
const TOPIC_ATTRIBUTES: &[&str] = &[
    "application_failure_feedback_role_arn",
    "application_success_feedback_role_arn",
    "application_success_feedback_sample_rate",
    "archive_policy",
    "content_based_deduplication",
    "delivery_policy",
    "display_name",
    "fifo_throughput_scope",
    "firehose_failure_feedback_role_arn",
    "firehose_success_feedback_role_arn",
    "firehose_success_feedback_sample_rate",
    "http_failure_feedback_role_arn",
    "http_success_feedback_role_arn",
    "http_success_feedback_sample_rate",
    "kms_master_key_id",
    "lambda_failure_feedback_role_arn",
    "lambda_success_feedback_role_arn",
    "lambda_success_feedback_sample_rate",
    "policy",
    "signature_version",
    "sqs_failure_feedback_role_arn",
    "sqs_success_feedback_role_arn",
    "sqs_success_feedback_sample_rate",
    "tracing_config",
];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_sqs_queue ---
    rule(SQS, "CreateQueue", "aws_sqs_queue", Create, &[("responseElements.queueUrl", "id")]),
    rule(SQS, "DeleteQueue", "aws_sqs_queue", Delete, QUEUE),
    rule(SQS, "SetQueueAttributes", "aws_sqs_queue", Modify(QUEUE_ATTRIBUTES), QUEUE),
    rule(SQS, "TagQueue", "aws_sqs_queue", TAGS, QUEUE),
    rule(SQS, "UntagQueue", "aws_sqs_queue", TAGS, QUEUE),
    // --- aws_sns_topic ---
    rule(SNS, "CreateTopic", "aws_sns_topic", Create, &[("responseElements.topicArn", "id")]),
    rule(SNS, "DeleteTopic", "aws_sns_topic", Delete, TOPIC),
    rule(SNS, "SetTopicAttributes", "aws_sns_topic", Modify(TOPIC_ATTRIBUTES), TOPIC),
    rule(SNS, "TagResource", "aws_sns_topic", TAGS, &[("requestParameters.resourceArn", "id")]),
    rule(SNS, "UntagResource", "aws_sns_topic", TAGS, &[("requestParameters.resourceArn", "id")]),
];

#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_sqs_queue", &["url", "id"], false),
    lookup("aws_sns_topic", &["arn", "id"], false),
];
