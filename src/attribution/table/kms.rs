//! KMS keys and aliases (`aws::types::kms`). A request names a key by id,
//! ARN or alias (`requestParameters.keyId`); KMS records the key's ARN in
//! `resources[].ARN` whatever the form: one rule for each of the three.
//! A key scheduled for deletion is no longer listed: scheduling is its
//! deletion, cancelling brings it back (disabled).

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const KMS: &str = "kms.amazonaws.com";

const KEY_ID: &[(&str, &str)] = &[("requestParameters.keyId", "id")];
const KEY_ARN: &[(&str, &str)] = &[("requestParameters.keyId", "arn")];
const KEY_RESOURCE: &[(&str, &str)] = &[("resources[].ARN", "arn")];
const ALIAS: &[(&str, &str)] = &[("requestParameters.aliasName", "id")];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_kms_key ---
    rule(KMS, "CreateKey", "aws_kms_key", Create, &[("responseElements.keyMetadata.keyId", "id")]),
    rule(KMS, "ScheduleKeyDeletion", "aws_kms_key", Delete, KEY_ID),
    rule(KMS, "ScheduleKeyDeletion", "aws_kms_key", Delete, KEY_ARN),
    rule(KMS, "ScheduleKeyDeletion", "aws_kms_key", Delete, KEY_RESOURCE),
    rule(KMS, "CancelKeyDeletion", "aws_kms_key", Create, KEY_ID),
    rule(KMS, "CancelKeyDeletion", "aws_kms_key", Create, KEY_ARN),
    rule(KMS, "CancelKeyDeletion", "aws_kms_key", Create, KEY_RESOURCE),
    rule(KMS, "CancelKeyDeletion", "aws_kms_key", Modify(&["is_enabled"]), KEY_ID),
    rule(KMS, "CancelKeyDeletion", "aws_kms_key", Modify(&["is_enabled"]), KEY_ARN),
    rule(KMS, "CancelKeyDeletion", "aws_kms_key", Modify(&["is_enabled"]), KEY_RESOURCE),
    rule(KMS, "EnableKey", "aws_kms_key", Modify(&["is_enabled"]), KEY_ID),
    rule(KMS, "EnableKey", "aws_kms_key", Modify(&["is_enabled"]), KEY_ARN),
    rule(KMS, "EnableKey", "aws_kms_key", Modify(&["is_enabled"]), KEY_RESOURCE),
    rule(KMS, "DisableKey", "aws_kms_key", Modify(&["is_enabled"]), KEY_ID),
    rule(KMS, "DisableKey", "aws_kms_key", Modify(&["is_enabled"]), KEY_ARN),
    rule(KMS, "DisableKey", "aws_kms_key", Modify(&["is_enabled"]), KEY_RESOURCE),
    rule(KMS, "EnableKeyRotation", "aws_kms_key", Modify(&["enable_key_rotation", "rotation_period_in_days"]), KEY_ID),
    rule(KMS, "EnableKeyRotation", "aws_kms_key", Modify(&["enable_key_rotation", "rotation_period_in_days"]), KEY_ARN),
    rule(KMS, "EnableKeyRotation", "aws_kms_key", Modify(&["enable_key_rotation", "rotation_period_in_days"]), KEY_RESOURCE),
    rule(KMS, "DisableKeyRotation", "aws_kms_key", Modify(&["enable_key_rotation", "rotation_period_in_days"]), KEY_ID),
    rule(KMS, "DisableKeyRotation", "aws_kms_key", Modify(&["enable_key_rotation", "rotation_period_in_days"]), KEY_ARN),
    rule(KMS, "DisableKeyRotation", "aws_kms_key", Modify(&["enable_key_rotation", "rotation_period_in_days"]), KEY_RESOURCE),
    rule(KMS, "PutKeyPolicy", "aws_kms_key", Modify(&["policy"]), KEY_ID),
    rule(KMS, "PutKeyPolicy", "aws_kms_key", Modify(&["policy"]), KEY_ARN),
    rule(KMS, "PutKeyPolicy", "aws_kms_key", Modify(&["policy"]), KEY_RESOURCE),
    rule(KMS, "UpdateKeyDescription", "aws_kms_key", Modify(&["description"]), KEY_ID),
    rule(KMS, "UpdateKeyDescription", "aws_kms_key", Modify(&["description"]), KEY_ARN),
    rule(KMS, "UpdateKeyDescription", "aws_kms_key", Modify(&["description"]), KEY_RESOURCE),
    rule(KMS, "TagResource", "aws_kms_key", TAGS, KEY_ID),
    rule(KMS, "TagResource", "aws_kms_key", TAGS, KEY_ARN),
    rule(KMS, "TagResource", "aws_kms_key", TAGS, KEY_RESOURCE),
    rule(KMS, "UntagResource", "aws_kms_key", TAGS, KEY_ID),
    rule(KMS, "UntagResource", "aws_kms_key", TAGS, KEY_ARN),
    rule(KMS, "UntagResource", "aws_kms_key", TAGS, KEY_RESOURCE),
    // --- aws_kms_alias ---
    rule(KMS, "CreateAlias", "aws_kms_alias", Create, ALIAS),
    rule(KMS, "DeleteAlias", "aws_kms_alias", Delete, ALIAS),
    rule(KMS, "UpdateAlias", "aws_kms_alias", Modify(&["target_key_arn", "target_key_id"]), ALIAS),
];

/// KMS records every key it acts on as `resources[].ARN`, the form event
/// history lists.
#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_kms_key", &["arn"], false),
    lookup("aws_kms_alias", &["arn"], false),
];
