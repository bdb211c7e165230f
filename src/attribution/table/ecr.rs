//! ECR repositories (`aws::types::ecr`), keyed by name.

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const ECR: &str = "ecr.amazonaws.com";

const REPOSITORY: &[(&str, &str)] = &[("requestParameters.repositoryName", "id")];
const TAGGED: &[(&str, &str)] = &[("requestParameters.resourceArn", "arn")];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_ecr_repository ---
    rule(ECR, "CreateRepository", "aws_ecr_repository", Create, REPOSITORY),
    rule(ECR, "DeleteRepository", "aws_ecr_repository", Delete, REPOSITORY),
    rule(ECR, "PutImageTagMutability", "aws_ecr_repository", Modify(&["image_tag_mutability"]), REPOSITORY),
    rule(ECR, "PutImageScanningConfiguration", "aws_ecr_repository", Modify(&["image_scanning_configuration"]), REPOSITORY),
    rule(ECR, "TagResource", "aws_ecr_repository", TAGS, TAGGED),
    rule(ECR, "UntagResource", "aws_ecr_repository", TAGS, TAGGED),
];

#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_ecr_repository", &["name", "id"], false),
];
