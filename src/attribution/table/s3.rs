//! S3 buckets and the sub-resources driftd lists (`aws::types::s3`). Every
//! bucket-level record names the bucket in `requestParameters.bucketName`.
//! `aws_s3_bucket` also holds the legacy inline copies of what the
//! sub-resources manage (`versioning`, `policy`, …), which the same calls
//! change; a deleted bucket takes its sub-resources with it.
//!
//! Event names are those of the S3 guide's "bucket-level actions tracked by
//! CloudTrail logging" (`PutBucketLifecycleConfiguration` is recorded as
//! `PutBucketLifecycle`).

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const S3: &str = "s3.amazonaws.com";

const BUCKET: &[(&str, &str)] = &[("requestParameters.bucketName", "id")];
const OF_BUCKET: &[(&str, &str)] = &[("requestParameters.bucketName", "bucket")];

const WEBSITE: Effect = Modify(&["website", "website_domain", "website_endpoint"]);
const PUBLIC_ACCESS: Effect = Modify(&[
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
]);

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_s3_bucket ---
    rule(S3, "CreateBucket", "aws_s3_bucket", Create, BUCKET),
    rule(S3, "DeleteBucket", "aws_s3_bucket", Delete, BUCKET),
    rule(S3, "PutBucketPolicy", "aws_s3_bucket", Modify(&["policy"]), BUCKET),
    rule(S3, "DeleteBucketPolicy", "aws_s3_bucket", Modify(&["policy"]), BUCKET),
    rule(S3, "PutBucketVersioning", "aws_s3_bucket", Modify(&["versioning"]), BUCKET),
    rule(S3, "PutBucketEncryption", "aws_s3_bucket", Modify(&["server_side_encryption_configuration"]), BUCKET),
    rule(S3, "DeleteBucketEncryption", "aws_s3_bucket", Modify(&["server_side_encryption_configuration"]), BUCKET),
    rule(S3, "PutBucketLifecycle", "aws_s3_bucket", Modify(&["lifecycle_rule"]), BUCKET),
    rule(S3, "DeleteBucketLifecycle", "aws_s3_bucket", Modify(&["lifecycle_rule"]), BUCKET),
    rule(S3, "PutBucketLogging", "aws_s3_bucket", Modify(&["logging"]), BUCKET),
    rule(S3, "PutBucketAcl", "aws_s3_bucket", Modify(&["acl", "grant"]), BUCKET),
    rule(S3, "PutBucketWebsite", "aws_s3_bucket", WEBSITE, BUCKET),
    rule(S3, "DeleteBucketWebsite", "aws_s3_bucket", WEBSITE, BUCKET),
    rule(S3, "PutBucketCors", "aws_s3_bucket", Modify(&["cors_rule"]), BUCKET),
    rule(S3, "DeleteBucketCors", "aws_s3_bucket", Modify(&["cors_rule"]), BUCKET),
    rule(S3, "PutBucketReplication", "aws_s3_bucket", Modify(&["replication_configuration"]), BUCKET),
    rule(S3, "DeleteBucketReplication", "aws_s3_bucket", Modify(&["replication_configuration"]), BUCKET),
    rule(S3, "PutBucketRequestPayment", "aws_s3_bucket", Modify(&["request_payer"]), BUCKET),
    rule(S3, "PutBucketTagging", "aws_s3_bucket", TAGS, BUCKET),
    rule(S3, "DeleteBucketTagging", "aws_s3_bucket", TAGS, BUCKET),
    // --- aws_s3_bucket_policy ---
    rule(S3, "PutBucketPolicy", "aws_s3_bucket_policy", Create, OF_BUCKET),
    rule(S3, "PutBucketPolicy", "aws_s3_bucket_policy", Modify(&["policy"]), OF_BUCKET),
    rule(S3, "DeleteBucketPolicy", "aws_s3_bucket_policy", Delete, OF_BUCKET),
    rule(S3, "DeleteBucket", "aws_s3_bucket_policy", Delete, OF_BUCKET),
    // --- aws_s3_bucket_versioning: versioning is suspended, never removed ---
    rule(S3, "PutBucketVersioning", "aws_s3_bucket_versioning", Create, OF_BUCKET),
    rule(S3, "PutBucketVersioning", "aws_s3_bucket_versioning", Modify(&["versioning_configuration"]), OF_BUCKET),
    rule(S3, "DeleteBucket", "aws_s3_bucket_versioning", Delete, OF_BUCKET),
    // --- aws_s3_bucket_server_side_encryption_configuration ---
    rule(S3, "PutBucketEncryption", "aws_s3_bucket_server_side_encryption_configuration", Create, OF_BUCKET),
    rule(S3, "PutBucketEncryption", "aws_s3_bucket_server_side_encryption_configuration", Modify(&["rule"]), OF_BUCKET),
    rule(S3, "DeleteBucketEncryption", "aws_s3_bucket_server_side_encryption_configuration", Delete, OF_BUCKET),
    rule(S3, "DeleteBucket", "aws_s3_bucket_server_side_encryption_configuration", Delete, OF_BUCKET),
    // --- aws_s3_bucket_public_access_block ---
    rule(S3, "PutBucketPublicAccessBlock", "aws_s3_bucket_public_access_block", Create, OF_BUCKET),
    rule(S3, "PutBucketPublicAccessBlock", "aws_s3_bucket_public_access_block", PUBLIC_ACCESS, OF_BUCKET),
    rule(S3, "DeleteBucketPublicAccessBlock", "aws_s3_bucket_public_access_block", Delete, OF_BUCKET),
    rule(S3, "DeleteBucket", "aws_s3_bucket_public_access_block", Delete, OF_BUCKET),
];

/// Event history lists S3 `Bucket` resources (AWS's event-history resource
/// table) by the bucket's name, the name bucket-level requests carry.
#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_s3_bucket", &["bucket", "id"], false),
    lookup("aws_s3_bucket_policy", &["bucket"], false),
    lookup("aws_s3_bucket_versioning", &["bucket"], false),
    lookup("aws_s3_bucket_server_side_encryption_configuration", &["bucket"], false),
    lookup("aws_s3_bucket_public_access_block", &["bucket"], false),
];
