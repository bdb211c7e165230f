//! Lambda functions (`aws::types::lambda`). CloudTrail records most Lambda
//! operations under a versioned name (`UpdateFunctionCode20150331v2`; the
//! Lambda guide lists them). Requests name a function by name or ARN, so
//! there is one rule for each.

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const LAMBDA: &str = "lambda.amazonaws.com";

const BY_NAME: &[(&str, &str)] = &[("requestParameters.functionName", "function_name")];
const BY_ARN: &[(&str, &str)] = &[("requestParameters.functionName", "arn")];

/// What a new code package changes.
const CODE: &[&str] = &[
    "architectures",
    "code_sha256",
    "image_uri",
    "last_modified",
    "qualified_arn",
    "qualified_invoke_arn",
    "source_code_hash",
    "source_code_size",
    "version",
];
/// What `UpdateFunctionConfiguration` can set.
const CONFIGURATION: &[&str] = &[
    "dead_letter_config",
    "description",
    "environment",
    "ephemeral_storage",
    "file_system_config",
    "handler",
    "image_config",
    "kms_key_arn",
    "last_modified",
    "layers",
    "logging_config",
    "memory_size",
    "role",
    "runtime",
    "snap_start",
    "timeout",
    "tracing_config",
    "vpc_config",
];
const CONCURRENCY: Effect = Modify(&["reserved_concurrent_executions"]);
const SIGNING: Effect = Modify(&["code_signing_config_arn"]);
const VERSION: Effect = Modify(&["qualified_arn", "qualified_invoke_arn", "version"]);

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_lambda_function ---
    rule(LAMBDA, "CreateFunction20150331", "aws_lambda_function", Create, &[("responseElements.functionName", "function_name")]),
    rule(LAMBDA, "DeleteFunction20150331", "aws_lambda_function", Delete, BY_NAME),
    rule(LAMBDA, "DeleteFunction20150331", "aws_lambda_function", Delete, BY_ARN),
    rule(LAMBDA, "UpdateFunctionCode20150331v2", "aws_lambda_function", Modify(CODE), BY_NAME),
    rule(LAMBDA, "UpdateFunctionCode20150331v2", "aws_lambda_function", Modify(CODE), BY_ARN),
    rule(LAMBDA, "UpdateFunctionConfiguration20150331v2", "aws_lambda_function", Modify(CONFIGURATION), BY_NAME),
    rule(LAMBDA, "UpdateFunctionConfiguration20150331v2", "aws_lambda_function", Modify(CONFIGURATION), BY_ARN),
    rule(LAMBDA, "PublishVersion20150331", "aws_lambda_function", VERSION, BY_NAME),
    rule(LAMBDA, "PublishVersion20150331", "aws_lambda_function", VERSION, BY_ARN),
    rule(LAMBDA, "PutFunctionConcurrency20171031", "aws_lambda_function", CONCURRENCY, BY_NAME),
    rule(LAMBDA, "PutFunctionConcurrency20171031", "aws_lambda_function", CONCURRENCY, BY_ARN),
    rule(LAMBDA, "DeleteFunctionConcurrency20171031", "aws_lambda_function", CONCURRENCY, BY_NAME),
    rule(LAMBDA, "DeleteFunctionConcurrency20171031", "aws_lambda_function", CONCURRENCY, BY_ARN),
    rule(LAMBDA, "PutFunctionCodeSigningConfig", "aws_lambda_function", SIGNING, BY_NAME),
    rule(LAMBDA, "PutFunctionCodeSigningConfig", "aws_lambda_function", SIGNING, BY_ARN),
    rule(LAMBDA, "DeleteFunctionCodeSigningConfig", "aws_lambda_function", SIGNING, BY_NAME),
    rule(LAMBDA, "DeleteFunctionCodeSigningConfig", "aws_lambda_function", SIGNING, BY_ARN),
    rule(LAMBDA, "TagResource20170331v2", "aws_lambda_function", TAGS, &[("requestParameters.resource", "arn")]),
    rule(LAMBDA, "UntagResource20170331v2", "aws_lambda_function", TAGS, &[("requestParameters.resource", "arn")]),
];

#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_lambda_function", &["function_name", "id"], false),
];
