//! Route 53 hosted zones and records (`aws::types::route53`). Route 53 is
//! global: its events are recorded in `us-east-1`. A record is changed only
//! through `ChangeResourceRecordSets`, whose batch names each record's zone
//! and type (its name is written with or without the final dot, as the
//! caller typed it, so it cannot be compared with the provider's spelling).

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const ROUTE53: &str = "route53.amazonaws.com";

const ZONE: &[(&str, &str)] = &[("requestParameters.id", "id")];
const ZONE_OF_VPC_CALL: &[(&str, &str)] = &[("requestParameters.hostedZoneId", "id")];
const RECORD: &[(&str, &str)] = &[
    ("requestParameters.hostedZoneId", "zone_id"),
    (
        "requestParameters.changeBatch.changes[].resourceRecordSet.type",
        "type",
    ),
];
/// What an `UPSERT` can change in a record set.
const RECORD_SETTINGS: &[&str] = &[
    "alias",
    "cidr_routing_policy",
    "failover_routing_policy",
    "geolocation_routing_policy",
    "geoproximity_routing_policy",
    "health_check_id",
    "latency_routing_policy",
    "multivalue_answer_routing_policy",
    "records",
    "ttl",
    "weighted_routing_policy",
];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_route53_zone: created by name (the response's id is `/hostedzone/…`) ---
    rule(ROUTE53, "CreateHostedZone", "aws_route53_zone", Create, &[("requestParameters.name", "name")]),
    rule(ROUTE53, "DeleteHostedZone", "aws_route53_zone", Delete, ZONE),
    rule(ROUTE53, "UpdateHostedZoneComment", "aws_route53_zone", Modify(&["comment"]), ZONE),
    rule(ROUTE53, "AssociateVPCWithHostedZone", "aws_route53_zone", Modify(&["vpc"]), ZONE_OF_VPC_CALL),
    rule(ROUTE53, "DisassociateVPCFromHostedZone", "aws_route53_zone", Modify(&["vpc"]), ZONE_OF_VPC_CALL),
    rule(ROUTE53, "ChangeTagsForResource", "aws_route53_zone", TAGS, &[("requestParameters.resourceId", "id")]),
    // --- aws_route53_record: CREATE, DELETE and UPSERT in one call ---
    rule(ROUTE53, "ChangeResourceRecordSets", "aws_route53_record", Create, RECORD),
    rule(ROUTE53, "ChangeResourceRecordSets", "aws_route53_record", Delete, RECORD),
    rule(ROUTE53, "ChangeResourceRecordSets", "aws_route53_record", Modify(RECORD_SETTINGS), RECORD),
];

/// Event history names a hosted zone by its id (the one the API takes,
/// without `/hostedzone/`); records have no resource of their own there.
#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_route53_zone", &["zone_id", "id"], true),
    lookup("aws_route53_record", &["zone_id"], true),
];
