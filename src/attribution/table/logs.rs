//! CloudWatch Logs log groups (`aws::types::logs`), keyed by name. Tags are
//! set by the older `TagLogGroup` (by name) or `TagResource` (by ARN, the
//! form without `:*` that the `arn` attribute holds).

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const LOGS: &str = "logs.amazonaws.com";

const GROUP: &[(&str, &str)] = &[("requestParameters.logGroupName", "id")];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_cloudwatch_log_group ---
    rule(LOGS, "CreateLogGroup", "aws_cloudwatch_log_group", Create, GROUP),
    rule(LOGS, "DeleteLogGroup", "aws_cloudwatch_log_group", Delete, GROUP),
    rule(LOGS, "PutRetentionPolicy", "aws_cloudwatch_log_group", Modify(&["retention_in_days"]), GROUP),
    rule(LOGS, "DeleteRetentionPolicy", "aws_cloudwatch_log_group", Modify(&["retention_in_days"]), GROUP),
    rule(LOGS, "AssociateKmsKey", "aws_cloudwatch_log_group", Modify(&["kms_key_id"]), GROUP),
    rule(LOGS, "DisassociateKmsKey", "aws_cloudwatch_log_group", Modify(&["kms_key_id"]), GROUP),
    rule(LOGS, "TagLogGroup", "aws_cloudwatch_log_group", TAGS, GROUP),
    rule(LOGS, "UntagLogGroup", "aws_cloudwatch_log_group", TAGS, GROUP),
    rule(LOGS, "TagResource", "aws_cloudwatch_log_group", TAGS, &[("requestParameters.resourceArn", "arn")]),
    rule(LOGS, "UntagResource", "aws_cloudwatch_log_group", TAGS, &[("requestParameters.resourceArn", "arn")]),
];

#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_cloudwatch_log_group", &["name", "id"], false),
];
