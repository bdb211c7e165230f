//! Every supported resource type, one module per family. Adding a type is a
//! local change: its module holds its lister, id, mapping and rules, and one
//! line here registers it.

pub mod iam;
pub mod net;

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
];

/// The diff's rules for a resource type, if driftd supports it.
pub fn rules(resource_type: &str) -> Option<&'static TypeRules> {
    ALL.iter()
        .find(|d| d.rules.resource_type == resource_type)
        .map(|d| d.rules)
}
