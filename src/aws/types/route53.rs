//! Route 53 hosted zones and record sets, in the attribute shape
//! hashicorp/aws 5.100.0 writes into state.
//!
//! Route 53 is global: both types are listed once per account. Calls:
//! - `ListHostedZones` (paged, 100 per page), shared by both types;
//! - `ListResourceRecordSets` per zone (paged by name, type and identifier,
//!   300 per page), shared by both types: the records, and a private zone's
//!   name servers (its apex NS record, as the provider reads them);
//! - `GetHostedZone` per zone, which the API forces: the list call has
//!   neither the delegation set (name servers) nor the VPC associations;
//! - `ListTagsForResources`, ten zones per call.
//!
//! Record ids are the provider's `ZONEID_name_TYPE[_setidentifier]`, with the
//! name as AWS returns it made into the provider's spelling: escapes decoded
//! (`\052` is `*`), lowercase, no trailing dot. The provider builds its id
//! from the name as configured, which may be relative (`www`): a desired
//! record is matched under the same key made from its `fqdn`
//! ([`TypeRules::desired_parts`]).
//!
//! Tested against moto 5.1.22, with two quirks of the emulator (not of AWS):
//! it answers record values in CDATA sections, which the Rust SDK's XML
//! decoder reads as `""` (the tests list through a proxy that unwraps them;
//! `moto_route53_values_need_the_cdata_proxy` is the repro), and it answers
//! 500 to `CreateHostedZone` with a config that has no comment.

use super::net::{DEFAULT_MARKER, normalize_tags};
use super::per_resource::each_bounded;
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef, partition};
use crate::live::{Fold, TypeRules, never_default};
use aws_sdk_route53::types::{HostedZone, ResourceRecordSet, RrType, TagResourceType};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

// ---------------------------------------------------------------------------
// aws_route53_zone

static RULES_ZONE: TypeRules = TypeRules {
    resource_type: "aws_route53_zone",
    global: true,
    // `force_destroy` only steers Terraform's destroy.
    ignore: &["force_destroy"],
    sensitive: &[],
    sets: &["vpc"],
    normalize: normalize_zone,
    is_default: never_default,
    desired_parts: None,
    folds: &[Fold {
        child_types: &["aws_route53_zone_association"],
        parent_id_attribute: "zone_id",
        children_are_parts: true,
        remove_child: remove_zone_association,
    }],
};

pub static ROUTE53_ZONE: TypeDef = TypeDef {
    rules: &RULES_ZONE,
    actions: &[
        "route53:GetHostedZone",
        "route53:ListHostedZones",
        "route53:ListResourceRecordSets",
        "route53:ListTagsForResources",
    ],
    list: list_zones,
};

/// Zone names compare in one spelling (lowercase, no trailing dot, escapes
/// decoded): provider versions differ in how they store them.
fn normalize_zone(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    for tree in [desired, live] {
        if let Some(name) = tree["name"].as_str() {
            tree["name"] = json!(record_name(name));
        }
    }
}

/// A VPC associated through an `aws_route53_zone_association` is compared
/// through that resource, not again in the zone's `vpc` set.
fn remove_zone_association(
    desired: &mut Value,
    live: &mut Value,
    _child_type: &str,
    child: &Value,
) {
    let Some(vpc_id) = child["vpc_id"].as_str() else {
        return;
    };
    for tree in [desired, live] {
        if let Some(vpcs) = tree.get_mut("vpc").and_then(Value::as_array_mut) {
            vpcs.retain(|v| v["vpc_id"].as_str() != Some(vpc_id));
        }
    }
}

/// Largest page of `ListHostedZones`.
const ZONE_PAGE_SIZE: i32 = 100;
/// Largest page of `ListResourceRecordSets`.
const RECORD_PAGE_SIZE: i32 = 300;
/// Most zones one `ListTagsForResources` call takes.
const TAG_BATCH: usize = 10;

/// Id: the zone id without its `/hostedzone/` prefix.
fn list_zones(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let zones = hosted_zones(ctx).await?;
        let records = record_sets(ctx).await?;
        let ids: Vec<String> = zones
            .iter()
            .map(|z| clean_zone_id(z.id()).to_string())
            .collect();
        let tags = zone_tags(ctx, &ids).await?;
        let route53 = ctx.route53().clone();
        let details = each_bounded(ids, move |id| {
            let route53 = route53.clone();
            async move {
                match route53.get_hosted_zone().id(&id).send().await {
                    Ok(out) => Ok(Some((id, out))),
                    // Deleted since it was listed: gone, like one never listed.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_no_such_hosted_zone()) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(CollectError::from_sdk("route53:GetHostedZone", e)),
                }
            }
        })
        .await?;
        let partition = partition(&ctx.region);
        let no_tags = Vec::new();
        Ok(details
            .into_iter()
            .filter_map(|(id, detail)| {
                let zone = detail.hosted_zone()?;
                let private = zone.config().is_some_and(|c| c.private_zone());
                let (primary, mut name_servers) = if private {
                    // The apex NS record's values, sorted; the first of those is "primary".
                    let mut ns = apex_name_servers(records.get(&id), zone.name());
                    ns.sort();
                    (ns.first().cloned().unwrap_or_default(), ns)
                } else {
                    let ns: Vec<String> = detail
                        .delegation_set()
                        .map(|d| d.name_servers().to_vec())
                        .unwrap_or_default();
                    (ns.first().cloned().unwrap_or_default(), ns)
                };
                name_servers.sort();
                let tags: BTreeMap<&str, &str> = tags
                    .get(&id)
                    .unwrap_or(&no_tags)
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let vpcs: Vec<Value> = detail
                    .vpcs()
                    .iter()
                    .map(|v| {
                        json!({
                            "vpc_id": v.vpc_id().unwrap_or_default(),
                            "vpc_region": v.vpc_region().map(|r| r.as_str()).unwrap_or_default(),
                        })
                    })
                    .collect();
                let delegation_set = detail
                    .delegation_set()
                    .and_then(|d| d.id())
                    .map(|d| d.trim_start_matches("/delegationset/"))
                    .unwrap_or_default();
                Some(LiveObject {
                    attributes: json!({
                        "arn": format!("arn:{partition}:route53:::hostedzone/{id}"),
                        "comment": zone.config().and_then(|c| c.comment()).unwrap_or_default(),
                        "delegation_set_id": delegation_set,
                        "id": id,
                        "name": record_name(zone.name()),
                        "name_servers": name_servers,
                        "primary_name_server": primary,
                        "tags": tags,
                        "tags_all": tags,
                        "vpc": vpcs,
                        "zone_id": id,
                    }),
                    id,
                })
            })
            .collect())
    })
}

/// The values of a zone's apex NS record (empty if it has none).
fn apex_name_servers(records: Option<&Vec<ResourceRecordSet>>, zone_name: &str) -> Vec<String> {
    let apex = record_name(zone_name);
    records
        .into_iter()
        .flatten()
        .find(|r| *r.r#type() == RrType::Ns && record_name(r.name()) == apex)
        .map(|r| {
            r.resource_records()
                .iter()
                .map(|v| v.value().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Tags of every zone, by zone id: `ListTagsForResources`, ten zones a call.
async fn zone_tags(
    ctx: &RegionContext,
    ids: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>, CollectError> {
    let batches: Vec<Vec<String>> = ids.chunks(TAG_BATCH).map(<[String]>::to_vec).collect();
    let route53 = ctx.route53().clone();
    let answers = each_bounded(batches, move |batch| {
        let route53 = route53.clone();
        async move {
            route53
                .list_tags_for_resources()
                .resource_type(TagResourceType::Hostedzone)
                .set_resource_ids(Some(batch))
                .send()
                .await
                .map(Some)
                .map_err(|e| CollectError::from_sdk("route53:ListTagsForResources", e))
        }
    })
    .await?;
    let mut tags = HashMap::new();
    for answer in answers {
        for set in answer.resource_tag_sets() {
            let Some(id) = set.resource_id() else {
                continue;
            };
            let pairs = set
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            tags.insert(clean_zone_id(id).to_string(), pairs);
        }
    }
    Ok(tags)
}

// ---------------------------------------------------------------------------
// aws_route53_record

static RULES_RECORD: TypeRules = TypeRules {
    resource_type: "aws_route53_record",
    global: true,
    // `allow_overwrite` only steers Terraform's create (UPSERT or CREATE).
    ignore: &["allow_overwrite", DEFAULT_MARKER],
    sensitive: &[],
    sets: &["records", "geoproximity_routing_policy.coordinates"],
    normalize: normalize_record,
    is_default: is_zone_apex_record,
    desired_parts: Some(record_parts),
    folds: &[],
};

pub static ROUTE53_RECORD: TypeDef = TypeDef {
    rules: &RULES_RECORD,
    actions: &["route53:ListHostedZones", "route53:ListResourceRecordSets"],
    list: list_records,
};

/// The SOA and NS records at a zone's apex: Route 53 creates them with the
/// zone, and they cannot be deleted.
fn is_zone_apex_record(live: &Value) -> bool {
    live.get(DEFAULT_MARKER) == Some(&Value::Bool(true))
}

/// A record's `name` in state is the name as configured, which may be
/// relative to the zone (`www`) or carry a trailing dot; its `fqdn` is the
/// full name. Both sides compare the full name in the provider's spelling.
fn normalize_record(desired: &mut Value, live: &mut Value) {
    for tree in [desired, live] {
        let full = tree["fqdn"]
            .as_str()
            .filter(|f| !f.is_empty())
            .or(tree["name"].as_str())
            .map(record_name);
        if let Some(full) = full {
            tree["name"] = json!(full);
            tree["fqdn"] = json!(full);
        }
        if let Some(aliases) = tree.get_mut("alias").and_then(Value::as_array_mut) {
            for alias in aliases {
                if let Some(name) = alias["name"].as_str() {
                    alias["name"] = json!(alias_name(name));
                }
            }
        }
    }
}

/// A desired record is matched under the key a live record gets:
/// `ZONEID_fqdn_TYPE[_setidentifier]`.
fn record_parts(attributes: &Value) -> Option<Vec<(String, Value)>> {
    let zone = clean_zone_id(attributes["zone_id"].as_str()?);
    let name = attributes["fqdn"]
        .as_str()
        .filter(|f| !f.is_empty())
        .or(attributes["name"].as_str())?;
    let kind = attributes["type"].as_str()?;
    let set = attributes["set_identifier"].as_str().unwrap_or_default();
    Some(vec![(
        record_id(zone, &record_name(name), kind, set),
        attributes.clone(),
    )])
}

/// The provider's record id.
pub fn record_id(zone_id: &str, name: &str, kind: &str, set_identifier: &str) -> String {
    let mut id = format!("{zone_id}_{name}_{kind}");
    if !set_identifier.is_empty() {
        id.push('_');
        id.push_str(set_identifier);
    }
    id
}

fn list_records(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let zones = hosted_zones(ctx).await?;
        let records = record_sets(ctx).await?;
        let mut objects = Vec::new();
        for zone in zones.iter() {
            let zone_id = clean_zone_id(zone.id());
            let apex = record_name(zone.name());
            for record in records.get(zone_id).into_iter().flatten() {
                objects.push(record_object(zone_id, &apex, record));
            }
        }
        Ok(objects)
    })
}

/// One record set in the provider's shape: routing policy blocks are
/// one-element lists or empty, absent strings `""`, absent numbers 0, TXT and
/// SPF values without their outer quotes.
pub fn record_object(zone_id: &str, apex: &str, record: &ResourceRecordSet) -> LiveObject {
    let name = record_name(record.name());
    let kind = record.r#type().as_str();
    let set = record.set_identifier().unwrap_or_default();
    let id = record_id(zone_id, &name, kind, set);
    let unquote = kind == "TXT" || kind == "SPF";
    let records: Vec<String> = record
        .resource_records()
        .iter()
        .map(|r| {
            let v = r.value();
            if unquote && v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
                v[1..v.len() - 1].to_string()
            } else {
                v.to_string()
            }
        })
        .collect();
    let alias: Vec<Value> = record
        .alias_target()
        .map(|a| {
            json!({
                "evaluate_target_health": a.evaluate_target_health(),
                "name": alias_name(a.dns_name()),
                "zone_id": a.hosted_zone_id(),
            })
        })
        .into_iter()
        .collect();
    let one = |v: Option<Value>| -> Vec<Value> { v.into_iter().collect() };
    let is_default = name == apex && matches!(kind, "SOA" | "NS");
    let attributes = json!({
        "alias": alias,
        "cidr_routing_policy": one(record.cidr_routing_config().map(|c| json!({
            "collection_id": c.collection_id(),
            "location_name": c.location_name(),
        }))),
        "failover_routing_policy": one(record.failover().map(|f| json!({"type": f.as_str()}))),
        "fqdn": name,
        "geolocation_routing_policy": one(record.geo_location().map(|g| json!({
            "continent": g.continent_code().unwrap_or_default(),
            "country": g.country_code().unwrap_or_default(),
            "subdivision": g.subdivision_code().unwrap_or_default(),
        }))),
        "geoproximity_routing_policy": one(record.geo_proximity_location().map(|g| json!({
            "aws_region": g.aws_region().unwrap_or_default(),
            "bias": g.bias().unwrap_or(0),
            "coordinates": one(g.coordinates().map(|c| json!({
                "latitude": c.latitude(),
                "longitude": c.longitude(),
            }))),
            "local_zone_group": g.local_zone_group().unwrap_or_default(),
        }))),
        "health_check_id": record.health_check_id().unwrap_or_default(),
        "id": id,
        "latency_routing_policy": one(record.region().map(|r| json!({"region": r.as_str()}))),
        "multivalue_answer_routing_policy": record.multi_value_answer().unwrap_or(false),
        "name": name,
        "records": records,
        "set_identifier": set,
        "ttl": record.ttl().unwrap_or(0),
        "type": kind,
        "weighted_routing_policy": one(record.weight().map(|w| json!({"weight": w}))),
        "zone_id": zone_id,
        DEFAULT_MARKER: is_default,
    });
    LiveObject { id, attributes }
}

// ---------------------------------------------------------------------------
// Shared calls

/// Every hosted zone of the account (listed once per scan, for both types).
async fn hosted_zones(ctx: &RegionContext) -> Result<Arc<Vec<HostedZone>>, CollectError> {
    ctx.shared("route53:ListHostedZones", || async {
        ctx.route53()
            .list_hosted_zones()
            .max_items(ZONE_PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("route53:ListHostedZones", e))
    })
    .await
}

/// Every record set of every zone, by zone id (listed once per scan).
async fn record_sets(
    ctx: &RegionContext,
) -> Result<Arc<HashMap<String, Vec<ResourceRecordSet>>>, CollectError> {
    ctx.shared("route53:ListResourceRecordSets", || async {
        let zones = hosted_zones(ctx).await?;
        let ids: Vec<String> = zones
            .iter()
            .map(|z| clean_zone_id(z.id()).to_string())
            .collect();
        let route53 = ctx.route53().clone();
        let lists = each_bounded(ids, move |id| {
            let route53 = route53.clone();
            async move {
                match zone_record_sets(&route53, &id).await {
                    Ok(records) => Ok(Some((id, records))),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_no_such_hosted_zone()) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(CollectError::from_sdk("route53:ListResourceRecordSets", e)),
                }
            }
        })
        .await?;
        Ok(lists.into_iter().collect::<HashMap<_, _>>())
    })
    .await
}

type ListRecordsError = aws_sdk_route53::error::SdkError<
    aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsError,
    aws_sdk_route53::config::http::HttpResponse,
>;

/// Every page of one zone's record sets: the API pages by the next (name,
/// type, set identifier), not by a token.
async fn zone_record_sets(
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
) -> Result<Vec<ResourceRecordSet>, ListRecordsError> {
    let mut records = Vec::new();
    let mut next: Option<(String, Option<RrType>, Option<String>)> = None;
    loop {
        let mut call = route53
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .max_items(RECORD_PAGE_SIZE);
        if let Some((name, kind, identifier)) = next.take() {
            call = call
                .start_record_name(name)
                .set_start_record_type(kind)
                .set_start_record_identifier(identifier);
        }
        let page = call.send().await?;
        let truncated = page.is_truncated();
        let next_name = page.next_record_name().map(str::to_string);
        let next_type = page.next_record_type().cloned();
        let next_identifier = page.next_record_identifier().map(str::to_string);
        records.extend(page.resource_record_sets);
        match next_name {
            Some(name) if truncated => next = Some((name, next_type, next_identifier)),
            _ => return Ok(records),
        }
    }
}

// ---------------------------------------------------------------------------
// Names

/// `/hostedzone/Z123` → `Z123`.
fn clean_zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// A record name in the provider's spelling: Route 53's octal escapes decoded
/// (`\052` is `*`, as the API returns a wildcard), lowercase, no trailing dot.
pub fn record_name(name: &str) -> String {
    let decoded = decode_escapes(name).to_lowercase();
    match decoded.strip_suffix('.') {
        Some(trimmed) if !trimmed.is_empty() => trimmed.to_string(),
        _ => decoded,
    }
}

/// An alias target as the provider stores it: lowercase, no trailing dot.
fn alias_name(name: &str) -> String {
    let lower = name.to_lowercase();
    lower.strip_suffix('.').unwrap_or(&lower).to_string()
}

/// `\ooo` (three octal digits) is one byte; any other backslash stays.
fn decode_escapes(name: &str) -> String {
    if !name.contains('\\') {
        return name.to_string();
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_the_provider_spelling() {
        assert_eq!(record_name("\\052.Example.com."), "*.example.com");
        assert_eq!(record_name("www.example.com."), "www.example.com");
        assert_eq!(record_name("."), ".");
        assert_eq!(record_name("a\\100b.example.com."), "a@b.example.com");
        assert_eq!(
            alias_name("DualStack.My-LB-1.eu-west-1.elb.amazonaws.com."),
            "dualstack.my-lb-1.eu-west-1.elb.amazonaws.com"
        );
    }

    #[test]
    fn desired_records_are_keyed_by_their_full_name() {
        // `aws_route53_record.weighted_blue` right after a 5.100.0 apply.
        let state = json!({"id": "61IWMJ43UJRP4OOK80889W_app_A_blue", "zone_id": "61IWMJ43UJRP4OOK80889W", "name": "app", "fqdn": "app.example.com", "type": "A", "set_identifier": "blue"});
        let parts = record_parts(&state).unwrap();
        assert_eq!(parts[0].0, "61IWMJ43UJRP4OOK80889W_app.example.com_A_blue");
        let state = json!({"zone_id": "Z1", "name": "*.Example.com", "fqdn": "*.example.com", "type": "CNAME", "set_identifier": ""});
        assert_eq!(record_parts(&state).unwrap()[0].0, "Z1_*.example.com_CNAME");
    }

    #[test]
    fn relative_names_compare_as_full_names() {
        let mut desired = json!({"name": "app", "fqdn": "app.example.com", "alias": []});
        let mut live = json!({"name": "app.example.com", "fqdn": "app.example.com", "alias": []});
        normalize_record(&mut desired, &mut live);
        assert_eq!(desired, live);
    }

    #[test]
    fn txt_values_lose_their_outer_quotes() {
        let record = ResourceRecordSet::builder()
            .name("svc.internal.example.")
            .r#type(RrType::Txt)
            .ttl(300)
            .resource_records(
                aws_sdk_route53::types::ResourceRecord::builder()
                    .value("\"v=spf1 -all\"")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let object = record_object("Z1", "internal.example", &record);
        assert_eq!(object.id, "Z1_svc.internal.example_TXT");
        assert_eq!(object.attributes["records"], json!(["v=spf1 -all"]));
        assert_eq!(object.attributes[DEFAULT_MARKER], false);
    }

    #[test]
    fn a_zone_association_owns_its_vpc() {
        let mut desired = json!({"vpc": [{"vpc_id": "vpc-1", "vpc_region": "us-east-1"}]});
        let mut live = json!({"vpc": [{"vpc_id": "vpc-1", "vpc_region": "us-east-1"}, {"vpc_id": "vpc-2", "vpc_region": "us-east-1"}]});
        remove_zone_association(
            &mut desired,
            &mut live,
            "aws_route53_zone_association",
            &json!({"zone_id": "Z1", "vpc_id": "vpc-2"}),
        );
        assert_eq!(desired, live);
    }
}
