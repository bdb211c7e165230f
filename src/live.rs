//! The live side of a scan, as data: what the cloud listings returned and how
//! complete each listing was, plus the pure per-type rules the diff needs.
//!
//! Pure: the AWS collectors (`crate::aws`) fill these in; the diff reads them.

use crate::model::{Attributes, Origin, Resource, ResourceKey};
use crate::secrets::SecretKey;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Whether one listing (a resource type in one account and region) completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Listing {
    /// Every page was read: absence from it means the resource does not exist.
    Complete,
    /// The listing failed (denied, throttled past its retries, timed out, region
    /// disabled): nothing of this type in this place is missing or unmanaged.
    Unknown { reason: String },
}

/// Where and how completely one resource type was listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub resource_type: String,
    pub account: String,
    /// The region, or `global` for global services (IAM, Route 53).
    pub region: String,
    #[serde(flatten)]
    pub listing: Listing,
    /// How many resources the listing returned.
    pub listed: usize,
}

/// The region label of a listing made once per account.
pub const GLOBAL: &str = "global";

/// Everything the live side of one scan found.
#[derive(Debug, Clone, Default)]
pub struct LiveInventory {
    pub resources: Vec<Resource>,
    pub coverage: Vec<Coverage>,
}

impl LiveInventory {
    /// True when some listing did not complete: the scan is partial.
    pub fn is_partial(&self) -> bool {
        self.coverage.iter().any(|c| c.listing != Listing::Complete)
    }

    /// Whether the listings of `resource_type` that could contain a resource
    /// completed: in `account`/`region` when known (e.g. from its ARN), else in
    /// every account and region listed. False when the type was not listed at all.
    pub fn is_complete_for(
        &self,
        resource_type: &str,
        account: Option<&str>,
        region: Option<&str>,
    ) -> bool {
        let mut relevant = self.coverage.iter().filter(|c| {
            c.resource_type == resource_type
                && account.is_none_or(|a| c.account == a)
                && region.is_none_or(|r| c.region == r || c.region == GLOBAL)
        });
        let mut any = false;
        let all_complete = relevant.all(|c| {
            any = true;
            c.listing == Listing::Complete
        });
        any && all_complete
    }
}

/// The pure, per-type half of a resource type's definition: what the diff needs
/// to compare a state resource with its live counterpart without false positives.
/// The AWS half (lister, API actions) sits beside it in the type's module.
#[derive(Debug)]
pub struct TypeRules {
    pub resource_type: &'static str,
    /// Listed once per account rather than per region (IAM, Route 53).
    pub global: bool,
    /// Top-level attributes never compared: write-only and Terraform-only arguments
    /// (`password`, `force_destroy`, `timeouts`, `*_prefix`, …) and values the API
    /// does not return.
    pub ignore: &'static [&'static str],
    /// Attribute names whose live values are secrets (hashed like state's sensitive values).
    pub sensitive: &'static [&'static str],
    /// Attributes the provider schema declares as sets, as dotted paths through
    /// nested blocks (`ingress`, `ingress.cidr_blocks`): Terraform stores them in
    /// hash order, so their element order never counts as drift.
    pub sets: &'static [&'static str],
    /// Brings the state's and the live attribute trees to one shape (defaults,
    /// list-vs-set order, equivalent spellings). Runs on both sides before comparing.
    pub normalize: fn(desired: &mut Value, live: &mut Value),
    /// An object AWS creates by itself (default VPC, default security group, …):
    /// not reported as unmanaged unless the target is `strict`.
    pub is_default: fn(live: &Value) -> bool,
    /// Parts of this type's attributes that other resource types may manage instead.
    pub folds: &'static [Fold],
    /// When the cloud knows one desired resource under another id, or as several
    /// objects: returns the `(id, attributes)` of the live objects it stands for.
    /// An `aws_iam_role_policy_attachment`'s Terraform id is made up at create time
    /// (keyed instead by `role/policy_arn`); an `aws_security_group_rule` with two
    /// CIDRs is two AWS rules. `None` (or a `None` result): matched as itself.
    pub desired_parts: Option<DesiredParts>,
}

/// A parent attribute that child resources can also manage: inline security group
/// rules vs `aws_security_group_rule`, a bucket's `versioning` vs
/// `aws_s3_bucket_versioning`, a role's `managed_policy_arns` vs attachments.
///
/// Before comparing a parent, the diff calls `remove_child` once for every
/// desired child that names the parent, so what the child manages is compared
/// through the child, never twice, and a state written before Terraform
/// refreshed the parent (its inline copy still empty) shows no drift. With
/// `children_are_parts`, a live child of a managed parent is never
/// "unmanaged": it is part of the parent.
#[derive(Debug)]
pub struct Fold {
    /// The child types, e.g. `aws_security_group_rule`.
    pub child_types: &'static [&'static str],
    /// The child's attribute holding the parent's id (`security_group_id`, `bucket`, `role`).
    pub parent_id_attribute: &'static str,
    /// Whether a live child that no state names is a part of its managed parent
    /// (a security group rule, a role's inline policy: compared through the
    /// parent, never unmanaged) or a resource of its own that only fills in
    /// part of the parent (a NAT gateway associating its Elastic IP: unmanaged
    /// when no state names it).
    pub children_are_parts: bool,
    /// Removes what `desired_child` (of `child_type`) manages from both parent trees.
    pub remove_child: fn(
        desired_parent: &mut Value,
        live_parent: &mut Value,
        child_type: &str,
        desired_child: &Value,
    ),
}

/// See [`TypeRules::desired_parts`]: `(live id, attributes)` of each part.
pub type DesiredParts = fn(&Value) -> Option<Vec<(String, Value)>>;

/// A rule set's `normalize` when the type needs none.
pub fn no_normalization(_: &mut Value, _: &mut Value) {}

/// A rule set's `is_default` for types AWS never creates by itself.
pub fn never_default(_: &Value) -> bool {
    false
}

/// Turns a live object, already in Terraform's attribute shape, into a resource:
/// secret values hashed exactly as the state reader hashes them (so equal secrets
/// compare equal), aliases and references picked out the same way.
pub fn live_resource(
    resource_type: &str,
    id: String,
    mut attributes: Value,
    rules_sensitive: &[&str],
    origin: &Origin,
    key: &SecretKey,
) -> Resource {
    let declared: Vec<crate::model::AttrPath> = rules_sensitive
        .iter()
        .map(|name| crate::model::AttrPath(vec![crate::model::PathStep::Attr((*name).to_string())]))
        .collect();
    let sensitive_paths = crate::state::redact(&mut attributes, &declared, key);
    let attributes = Attributes::from_value(&attributes);
    let scanned = crate::state::scan_compact(attributes.as_str());
    let provider = Arc::new(crate::model::ProviderAddress {
        hostname: crate::state::DEFAULT_REGISTRY.to_string(),
        namespace: "hashicorp".to_string(),
        name: "aws".to_string(),
        alias: None,
        module: None,
    });
    let resource_type: Arc<str> = Arc::from(resource_type);
    Resource {
        key: ResourceKey {
            provider: Arc::from("aws"),
            resource_type: resource_type.clone(),
            id,
        },
        address: crate::model::Address {
            module: None,
            mode: crate::model::Mode::Managed,
            resource_type,
            name: String::new(),
            index: None,
        },
        provider,
        status: crate::model::InstanceStatus::Ready,
        deposed: None,
        schema_version: 0,
        attributes,
        sensitive_paths,
        dependencies: Vec::new(),
        references: scanned.references,
        aliases: scanned.aliases,
        origin: origin.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cov(t: &str, account: &str, region: &str, listing: Listing) -> Coverage {
        Coverage {
            resource_type: t.into(),
            account: account.into(),
            region: region.into(),
            listing,
            listed: 0,
        }
    }

    #[test]
    fn completeness_is_per_place() {
        let inv = LiveInventory {
            resources: vec![],
            coverage: vec![
                cov("aws_vpc", "1", "eu-west-1", Listing::Complete),
                cov(
                    "aws_vpc",
                    "1",
                    "us-east-1",
                    Listing::Unknown {
                        reason: "throttled".into(),
                    },
                ),
                cov("aws_iam_role", "1", GLOBAL, Listing::Complete),
            ],
        };
        assert!(inv.is_partial());
        assert!(inv.is_complete_for("aws_vpc", Some("1"), Some("eu-west-1")));
        assert!(!inv.is_complete_for("aws_vpc", Some("1"), Some("us-east-1")));
        assert!(
            !inv.is_complete_for("aws_vpc", None, None),
            "somewhere it was not listed"
        );
        assert!(
            inv.is_complete_for("aws_iam_role", Some("1"), Some("eu-west-1")),
            "global listings cover every region"
        );
        assert!(
            !inv.is_complete_for("aws_subnet", None, None),
            "never listed is not complete"
        );
    }

    #[test]
    fn live_secrets_hash_like_state_secrets() {
        let key = SecretKey::from_bytes([4; 32]);
        let origin: Origin = Origin::from("aws:123456789012:eu-west-1");
        let r = live_resource(
            "aws_db_instance",
            "db-1".into(),
            serde_json::json!({"id":"db-1","password":"hunter2","arn":"arn:aws:rds:eu-west-1:123456789012:db:db-1"}),
            &[],
            &origin,
            &key,
        );
        assert_eq!(
            r.attributes.to_value()["password"],
            Value::String(key.hash_value("\"hunter2\""))
        );
        assert_eq!(
            r.aliases.arn.as_deref(),
            Some("arn:aws:rds:eu-west-1:123456789012:db:db-1")
        );
    }
}
