//! Every supported resource type, one module per family. Adding a type is a
//! local change: its module holds its lister, id, mapping and rules, and one
//! line here registers it.

pub mod compute;
pub mod dynamodb;
pub mod ecr;
pub mod elb;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod messaging;
pub mod net;
mod per_resource;
pub mod rds;
pub mod route53;
pub mod s3;
pub mod sg;

use super::TypeDef;
use crate::live::TypeRules;

/// Every type driftd lists and compares.
pub static ALL: &[&TypeDef] = &[
    &net::VPC,
    &net::SUBNET,
    &net::INTERNET_GATEWAY,
    &net::ROUTE_TABLE,
    &net::ROUTE,
    &net::ROUTE_TABLE_ASSOCIATION,
    &net::DEFAULT_ROUTE_TABLE,
    &net::NETWORK_ACL,
    &net::DEFAULT_NETWORK_ACL,
    &net::EIP,
    &net::NAT_GATEWAY,
    &iam::IAM_ROLE,
    &iam::IAM_ROLE_POLICY,
    &iam::IAM_ROLE_POLICY_ATTACHMENT,
    &iam::IAM_POLICY,
    &iam::IAM_USER,
    &iam::IAM_USER_POLICY,
    &iam::IAM_GROUP,
    &iam::IAM_INSTANCE_PROFILE,
    &iam::IAM_OPENID_CONNECT_PROVIDER,
    &sg::SECURITY_GROUP,
    &sg::DEFAULT_SECURITY_GROUP,
    &sg::SECURITY_GROUP_RULE,
    &sg::VPC_SECURITY_GROUP_INGRESS_RULE,
    &sg::VPC_SECURITY_GROUP_EGRESS_RULE,
    &compute::INSTANCE,
    &compute::EBS_VOLUME,
    &compute::LAUNCH_TEMPLATE,
    &compute::KEY_PAIR,
    &s3::BUCKET,
    &s3::BUCKET_POLICY,
    &s3::BUCKET_VERSIONING,
    &s3::BUCKET_ENCRYPTION,
    &s3::BUCKET_PUBLIC_ACCESS_BLOCK,
    &rds::DB_INSTANCE,
    &rds::DB_SUBNET_GROUP,
    &rds::DB_PARAMETER_GROUP,
    &rds::RDS_CLUSTER,
    &kms::KMS_KEY,
    &kms::KMS_ALIAS,
    &lambda::LAMBDA_FUNCTION,
    &logs::LOG_GROUP,
    &elb::LB,
    &elb::LB_TARGET_GROUP,
    &elb::LB_LISTENER,
    &route53::ROUTE53_ZONE,
    &route53::ROUTE53_RECORD,
    &dynamodb::DYNAMODB_TABLE,
    &messaging::SQS_QUEUE,
    &messaging::SNS_TOPIC,
    &ecr::ECR_REPOSITORY,
];

/// An optional API string as the provider writes it: absent is `""`.
pub(crate) fn s(v: Option<&str>) -> serde_json::Value {
    serde_json::Value::String(v.unwrap_or_default().to_string())
}

/// The diff's rules for a resource type, if driftd supports it.
pub fn rules(resource_type: &str) -> Option<&'static TypeRules> {
    ALL.iter()
        .find(|d| d.rules.resource_type == resource_type)
        .map(|d| d.rules)
}

/// The live objects one desired resource stands for (`TypeRules::desired_parts`):
/// `None` when it is matched as itself.
pub fn split_desired(
    resource_type: &str,
    attributes: &serde_json::Value,
) -> Option<Vec<(String, serde_json::Value)>> {
    rules(resource_type)?.desired_parts?(attributes)
}

/// Hashes, in state resources, the attributes their type declares sensitive
/// (`TypeRules::sensitive`: Lambda environment variables, ...), as the live
/// side's are: the state may hold them in clear (the provider does not mark
/// them sensitive), and driftd never keeps a secret (invariant 4). Runs right
/// after a state is parsed, before anything stores or compares it.
pub fn redact_declared(resources: &mut [crate::model::Resource], key: &crate::secrets::SecretKey) {
    use crate::model::{AttrPath, Attributes, Mode, PathStep};
    for r in resources {
        if r.address.mode != Mode::Managed {
            continue;
        }
        let Some(tr) = rules(&r.key.resource_type).filter(|t| !t.sensitive.is_empty()) else {
            continue;
        };
        let declared: Vec<AttrPath> = tr
            .sensitive
            .iter()
            .map(|name| AttrPath(vec![PathStep::Attr((*name).to_string())]))
            .collect();
        let mut value = r.attributes.to_value();
        let hashed = crate::state::redact(&mut value, &declared, key);
        if hashed.is_empty() {
            continue;
        }
        r.attributes = Attributes::from_value(&value);
        r.sensitive_paths.extend(hashed);
        r.sensitive_paths.sort();
        r.sensitive_paths.dedup();
    }
}

/// Older names the provider still accepts for a supported type: the same
/// resource, the same id.
pub const TYPE_ALIASES: &[(&str, &str)] = &[
    ("aws_alb", "aws_lb"),
    ("aws_alb_listener", "aws_lb_listener"),
    ("aws_alb_target_group", "aws_lb_target_group"),
];

/// Keys state resources written under an alias (`aws_alb`) by the type the
/// listings use (`aws_lb`), so they match; the address keeps the name the
/// configuration uses.
pub fn canonicalize_types(resources: &mut [crate::model::Resource]) {
    for r in resources {
        if let Some((_, canonical)) = TYPE_ALIASES
            .iter()
            .find(|(alias, _)| *alias == &*r.key.resource_type)
        {
            r.key.resource_type = std::sync::Arc::from(*canonical);
        }
    }
}
