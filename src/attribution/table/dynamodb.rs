//! DynamoDB tables (`aws::types::dynamodb`), keyed by name. Table calls
//! answer with the table's description, which names it.

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const DYNAMODB: &str = "dynamodb.amazonaws.com";

const TABLE: &[(&str, &str)] = &[("requestParameters.tableName", "id")];
const DESCRIBED: &[(&str, &str)] = &[("responseElements.tableDescription.tableName", "id")];
const TAGGED: &[(&str, &str)] = &[("requestParameters.resourceArn", "arn")];

/// What `UpdateTable` can change.
const TABLE_SETTINGS: &[&str] = &[
    "attribute",
    "billing_mode",
    "deletion_protection_enabled",
    "global_secondary_index",
    "on_demand_throughput",
    "read_capacity",
    "replica",
    "server_side_encryption",
    "stream_arn",
    "stream_enabled",
    "stream_label",
    "stream_view_type",
    "table_class",
    "write_capacity",
];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_dynamodb_table ---
    rule(DYNAMODB, "CreateTable", "aws_dynamodb_table", Create, DESCRIBED),
    rule(DYNAMODB, "DeleteTable", "aws_dynamodb_table", Delete, TABLE),
    rule(DYNAMODB, "UpdateTable", "aws_dynamodb_table", Modify(TABLE_SETTINGS), DESCRIBED),
    rule(DYNAMODB, "UpdateTimeToLive", "aws_dynamodb_table", Modify(&["ttl"]), TABLE),
    rule(DYNAMODB, "UpdateContinuousBackups", "aws_dynamodb_table", Modify(&["point_in_time_recovery"]), TABLE),
    rule(DYNAMODB, "TagResource", "aws_dynamodb_table", TAGS, TAGGED),
    rule(DYNAMODB, "UntagResource", "aws_dynamodb_table", TAGS, TAGGED),
];

#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_dynamodb_table", &["name", "id"], false),
];
