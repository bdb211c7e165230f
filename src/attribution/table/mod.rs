//! Which CloudTrail events can change which resources (pure data).
//!
//! An event *explains* a finding when (1) its `eventSource` and `eventName`
//! appear here for the finding's resource type, (2) the rule's effect fits the
//! drift (`Create` for unmanaged, `Delete` for missing, `Modify` whose
//! attributes meet the changed ones for changed), and (3) every `subject`
//! binding holds: the strings found at the event path include the value of the
//! resource attribute. Subjects are how the event names *the resource it acts
//! on*, not every resource it mentions (an ingress rule that references another
//! group as its source does not change that other group).
//!
//! Event paths are dotted, from the record's root: `requestParameters.groupId`,
//! `responseElements.instancesSet.items[].instanceId` (`[]`: every element of
//! an array), `resources[].ARN`. A path yields every string (and number, as
//! text) it reaches. Resource attributes are top-level attribute names of the
//! resource as driftd holds it (state or live, Terraform shape); `id` is the
//! resource key's id; `arn` the `arn` attribute.
//!
//! One module per family, as in `aws::types`. Where a request may name the
//! resource in two ways (a Lambda function by name or by ARN), there is one
//! rule per way: rules with the same event and effect are alternatives.
//! Event names are the ones CloudTrail records, which are not always the API
//! action's (`UpdateFunctionConfiguration20150331v2`, `PutBucketLifecycle`).
//! Where a rule rests on an API reference rather than on a recorded event, the
//! tests' `NOT_IN_CORPUS` list says so.

use std::sync::LazyLock;

mod dynamodb;
mod ec2;
mod ecr;
mod elb;
mod iam;
mod kms;
mod lambda;
mod logs;
mod messaging;
mod rds;
mod route53;
mod s3;

#[cfg(test)]
mod tests;

/// What an event does to a resource of the rule's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// It comes into being: explains an unmanaged finding.
    Create,
    /// It goes: explains a missing finding.
    Delete,
    /// It changes these top-level attributes (`"*"`: any): explains a changed
    /// finding whose changed paths start with one of them.
    Modify(&'static [&'static str]),
}

/// One event name's meaning for one resource type.
#[derive(Debug, Clone, Copy)]
pub struct EventRule {
    /// `eventSource`, e.g. `ec2.amazonaws.com`.
    pub source: &'static str,
    /// `eventName`, e.g. `AuthorizeSecurityGroupIngress`.
    pub event: &'static str,
    pub resource_type: &'static str,
    pub effect: Effect,
    /// `(event path, resource attribute)` pairs that must all hold.
    pub subject: &'static [(&'static str, &'static str)],
}

/// How CloudTrail's event history names resources of a type.
#[derive(Debug, Clone, Copy)]
pub struct TypeLookup {
    pub resource_type: &'static str,
    /// The resource attributes whose values event history lists as a
    /// `ResourceName` (the `LookupEvents` `ResourceName` attribute), in the
    /// order to try; the first present is used.
    pub resource_names: &'static [&'static str],
    /// Events of this type's service are recorded in `us-east-1` whatever the
    /// resource's region (IAM, Route 53: global services).
    pub global: bool,
}

const fn rule(
    source: &'static str,
    event: &'static str,
    resource_type: &'static str,
    effect: Effect,
    subject: &'static [(&'static str, &'static str)],
) -> EventRule {
    EventRule {
        source,
        event,
        resource_type,
        effect,
        subject,
    }
}

const fn lookup(
    resource_type: &'static str,
    resource_names: &'static [&'static str],
    global: bool,
) -> TypeLookup {
    TypeLookup {
        resource_type,
        resource_names,
        global,
    }
}

/// Tag changes, the same attributes for every taggable type.
const TAGS: Effect = Effect::Modify(&["tags", "tags_all"]);

/// Every family's rules, in the order of `aws::types`.
const FAMILIES: &[(&[EventRule], &[TypeLookup])] = &[
    (ec2::RULES, ec2::LOOKUPS),
    (iam::RULES, iam::LOOKUPS),
    (s3::RULES, s3::LOOKUPS),
    (rds::RULES, rds::LOOKUPS),
    (kms::RULES, kms::LOOKUPS),
    (lambda::RULES, lambda::LOOKUPS),
    (logs::RULES, logs::LOOKUPS),
    (elb::RULES, elb::LOOKUPS),
    (route53::RULES, route53::LOOKUPS),
    (dynamodb::RULES, dynamodb::LOOKUPS),
    (messaging::RULES, messaging::LOOKUPS),
    (ecr::RULES, ecr::LOOKUPS),
];

/// Every rule, grouped by service, then by resource type.
pub static RULES: LazyLock<Vec<EventRule>> = LazyLock::new(|| {
    FAMILIES
        .iter()
        .flat_map(|(r, _)| r.iter().copied())
        .collect()
});

/// Every type's lookup names.
pub static LOOKUPS: LazyLock<Vec<TypeLookup>> = LazyLock::new(|| {
    FAMILIES
        .iter()
        .flat_map(|(_, l)| l.iter().copied())
        .collect()
});

/// The rules for one resource type.
pub fn rules_for(resource_type: &str) -> impl Iterator<Item = &'static EventRule> + '_ {
    RULES
        .iter()
        .filter(move |r| r.resource_type == resource_type)
}

/// How event history names resources of `resource_type`.
pub fn lookup_for(resource_type: &str) -> Option<&'static TypeLookup> {
    LOOKUPS.iter().find(|l| l.resource_type == resource_type)
}
