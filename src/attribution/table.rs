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

const EC2: &str = "ec2.amazonaws.com";

/// Every rule. Kept grouped by service, then by resource type.
#[rustfmt::skip]
pub static RULES: &[EventRule] = &[
    // --- aws_security_group ---
    rule(EC2, "CreateSecurityGroup", "aws_security_group", Effect::Create, &[("responseElements.groupId", "id")]),
    rule(EC2, "DeleteSecurityGroup", "aws_security_group", Effect::Delete, &[("requestParameters.groupId", "id")]),
    rule(EC2, "AuthorizeSecurityGroupIngress", "aws_security_group", Effect::Modify(&["ingress"]), &[("requestParameters.groupId", "id")]),
    rule(EC2, "RevokeSecurityGroupIngress", "aws_security_group", Effect::Modify(&["ingress"]), &[("requestParameters.groupId", "id")]),
    rule(EC2, "AuthorizeSecurityGroupEgress", "aws_security_group", Effect::Modify(&["egress"]), &[("requestParameters.groupId", "id")]),
    rule(EC2, "RevokeSecurityGroupEgress", "aws_security_group", Effect::Modify(&["egress"]), &[("requestParameters.groupId", "id")]),
    rule(EC2, "CreateTags", "aws_security_group", Effect::Modify(&["tags", "tags_all"]), &[("requestParameters.resourcesSet.items[].resourceId", "id")]),
    rule(EC2, "DeleteTags", "aws_security_group", Effect::Modify(&["tags", "tags_all"]), &[("requestParameters.resourcesSet.items[].resourceId", "id")]),
];

/// Every type's lookup names.
#[rustfmt::skip]
pub static LOOKUPS: &[TypeLookup] = &[
    TypeLookup { resource_type: "aws_security_group", resource_names: &["id"], global: false },
];

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
