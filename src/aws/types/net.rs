//! VPC networking: VPCs, subnets, internet gateways, route tables and routes,
//! NACLs, Elastic IPs and NAT gateways, mapped into the attribute shape the
//! hashicorp/aws 5.100.0 provider writes into state.
//!
//! Every lister reads every page through the SDK paginators and calls only
//! `ec2:Describe*`. Facts a type needs from another API (a VPC's main route
//! table, default NACL and default security group) come from one region-wide
//! filtered call joined in memory, never from one call per resource; the only
//! per-resource calls are the three `DescribeVpcAttribute` the API forces.

use super::s;
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef, partition};
use crate::live::{Fold, TypeRules, never_default};
use aws_sdk_ec2::types::{Route, RouteOrigin, RouteTable, Tag, VpcAttributeName};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// A live-only attribute marking an object AWS created by itself (default VPC,
/// its subnets and internet gateway, main route tables, default NACLs). The
/// provider schemas have no attribute saying so, and `is_default` sees only the
/// attribute tree. A colon never occurs in a Terraform attribute name, so it
/// cannot collide; every type lists it in `ignore`, so it is never compared.
pub const DEFAULT_MARKER: &str = "driftd:is_default";

fn marked_default(live: &Value) -> bool {
    live.get(DEFAULT_MARKER) == Some(&Value::Bool(true))
}

/// `aws_default_route_table` and `aws_default_network_acl` only ever list
/// objects AWS created with the VPC: one that no state adopts is the VPC's own
/// default, not an unmanaged resource (else every VPC would raise two).
fn always_default(_: &Value) -> bool {
    true
}

// ---------------------------------------------------------------------------
// aws_vpc

static RULES_VPC: TypeRules = TypeRules {
    resource_type: "aws_vpc",
    global: false,
    // IPAM arguments: the provider keeps what the configuration said (or
    // nothing); the API does not return them in that form.
    ignore: &[
        "ipv4_ipam_pool_id",
        "ipv4_netmask_length",
        "ipv6_ipam_pool_id",
        "ipv6_netmask_length",
        DEFAULT_MARKER,
    ],
    sensitive: &[],
    sets: &[],
    normalize: normalize_vpc,
    is_default: marked_default,
    desired_parts: None,
    folds: &[],
};

pub static VPC: TypeDef = TypeDef {
    rules: &RULES_VPC,
    actions: &[
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeRouteTables",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeSecurityGroups",
    ],
    list: list_vpcs,
};

fn normalize_vpc(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    for v in [desired, live] {
        canonical_cidr_at(v, "ipv6_cidr_block");
    }
}

/// VPCs whose three `DescribeVpcAttribute` calls run at once.
const VPC_ATTRIBUTE_CONCURRENCY: usize = 4;

fn list_vpcs(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let ec2 = ctx.ec2();
        let (vpcs, tables, acls, groups) = tokio::try_join!(
            all_vpcs(ctx),
            all_route_tables(ctx),
            all_network_acls(ctx),
            super::sg::describe_groups(ctx),
        )?;
        let main_tables: HashMap<String, String> = tables
            .iter()
            .filter(|t| is_main(t))
            .filter_map(|t| Some((t.vpc_id()?.to_string(), t.route_table_id()?.to_string())))
            .collect();
        let default_acls: HashMap<String, String> = acls
            .iter()
            .filter(|a| a.is_default() == Some(true))
            .filter_map(|a| Some((a.vpc_id()?.to_string(), a.network_acl_id()?.to_string())))
            .collect();
        let default_groups: HashMap<String, String> = groups
            .iter()
            .filter(|g| g.group_name() == Some("default"))
            .filter_map(|g| Some((g.vpc_id()?.to_string(), g.group_id()?.to_string())))
            .collect();

        // DescribeVpcs does not carry these three attributes: one call per
        // attribute and VPC is the only way the API offers. A few VPCs at a
        // time, so a region with many VPCs is not read one round trip at a time.
        let mut flags: HashMap<String, [bool; 3]> = HashMap::with_capacity(vpcs.len());
        let ids: Vec<String> = vpcs
            .iter()
            .filter_map(|v| v.vpc_id().map(str::to_string))
            .collect();
        for chunk in ids.chunks(VPC_ATTRIBUTE_CONCURRENCY) {
            let mut calls = tokio::task::JoinSet::new();
            for id in chunk {
                let ec2 = ec2.clone();
                let id = id.clone();
                calls.spawn(async move {
                    let attribute = |name: VpcAttributeName| {
                        ec2.describe_vpc_attribute()
                            .vpc_id(&id)
                            .attribute(name)
                            .send()
                    };
                    let answers = tokio::try_join!(
                        attribute(VpcAttributeName::EnableDnsSupport),
                        attribute(VpcAttributeName::EnableDnsHostnames),
                        attribute(VpcAttributeName::EnableNetworkAddressUsageMetrics),
                    );
                    (id, answers)
                });
            }
            while let Some(joined) = calls.join_next().await {
                let (id, answers) = joined.expect("a VPC attribute call does not panic");
                let (support, hostnames, metrics) =
                    answers.map_err(|e| CollectError::from_sdk("ec2:DescribeVpcAttribute", e))?;
                let value = |v: Option<&aws_sdk_ec2::types::AttributeBooleanValue>| {
                    v.and_then(|v| v.value()).unwrap_or(false)
                };
                flags.insert(
                    id,
                    [
                        value(support.enable_dns_support()),
                        value(hostnames.enable_dns_hostnames()),
                        value(metrics.enable_network_address_usage_metrics()),
                    ],
                );
            }
        }

        let mut out = Vec::with_capacity(vpcs.len());
        for vpc in vpcs.iter() {
            let id = vpc.vpc_id().unwrap_or_default().to_string();
            let Some(&[dns_support, dns_hostnames, address_usage_metrics]) = flags.get(&id) else {
                continue;
            };
            let owner = vpc.owner_id().unwrap_or_default();
            // The provider reads the first associated IPv6 block, and writes
            // empty values (not null) when there is none.
            let ipv6 = vpc.ipv6_cidr_block_association_set().iter().find(|a| {
                a.ipv6_cidr_block_state()
                    .and_then(|s| s.state())
                    .is_some_and(|s| s.as_str() == "associated")
            });
            let main = main_tables.get(&id).cloned().unwrap_or_default();
            let mut attributes = json!({
                "arn": arn(ctx, owner, "vpc", &id),
                "assign_generated_ipv6_cidr_block": ipv6.is_some_and(|a| a.ipv6_pool() == Some("Amazon")),
                "cidr_block": s(vpc.cidr_block()),
                "default_network_acl_id": default_acls.get(&id).cloned().unwrap_or_default(),
                "default_route_table_id": main,
                "default_security_group_id": default_groups.get(&id).cloned().unwrap_or_default(),
                "dhcp_options_id": s(vpc.dhcp_options_id()),
                "enable_dns_hostnames": dns_hostnames,
                "enable_dns_support": dns_support,
                "enable_network_address_usage_metrics": address_usage_metrics,
                "id": id,
                "instance_tenancy": vpc.instance_tenancy().map(|t| t.as_str()).unwrap_or_default(),
                "ipv6_association_id": s(ipv6.and_then(|a| a.association_id())),
                "ipv6_cidr_block": s(ipv6.and_then(|a| a.ipv6_cidr_block())),
                "ipv6_cidr_block_network_border_group": s(ipv6.and_then(|a| a.network_border_group())),
                "main_route_table_id": main,
                "owner_id": owner,
                "tags": tags(vpc.tags()),
                "tags_all": tags(vpc.tags()),
            });
            mark_default(&mut attributes, vpc.is_default().unwrap_or(false));
            out.push(LiveObject { id, attributes });
        }
        Ok(out)
    })
}

// ---------------------------------------------------------------------------
// aws_subnet

static RULES_SUBNET: TypeRules = TypeRules {
    resource_type: "aws_subnet",
    global: false,
    ignore: &["timeouts", DEFAULT_MARKER],
    sensitive: &[],
    sets: &[],
    normalize: normalize_subnet,
    is_default: marked_default,
    desired_parts: None,
    folds: &[],
};

pub static SUBNET: TypeDef = TypeDef {
    rules: &RULES_SUBNET,
    actions: &["ec2:DescribeSubnets"],
    list: list_subnets,
};

fn normalize_subnet(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    // AWS returns `PrivateDnsNameOptionsOnLaunch` for every subnet.
    drop_unreturned(desired, live, &["private_dns_hostname_type_on_launch"]);
    for v in [desired, live] {
        canonical_cidr_at(v, "ipv6_cidr_block");
    }
}

fn list_subnets(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let subnets = ctx
            .ec2()
            .describe_subnets()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeSubnets", e))?;
        Ok(subnets
            .iter()
            .map(|subnet| {
                let id = subnet.subnet_id().unwrap_or_default().to_string();
                let owner = subnet.owner_id().unwrap_or_default();
                let ipv6 = subnet.ipv6_cidr_block_association_set().iter().find(|a| {
                    a.ipv6_cidr_block_state()
                        .and_then(|s| s.state())
                        .is_some_and(|s| s.as_str() == "associated")
                });
                let dns = subnet.private_dns_name_options_on_launch();
                let mut attributes = json!({
                    "arn": subnet.subnet_arn().map(str::to_string).unwrap_or_else(|| arn(ctx, owner, "subnet", &id)),
                    "assign_ipv6_address_on_creation": subnet.assign_ipv6_address_on_creation().unwrap_or(false),
                    "availability_zone": s(subnet.availability_zone()),
                    "availability_zone_id": s(subnet.availability_zone_id()),
                    "cidr_block": s(subnet.cidr_block()),
                    "customer_owned_ipv4_pool": s(subnet.customer_owned_ipv4_pool()),
                    "enable_dns64": subnet.enable_dns64().unwrap_or(false),
                    "enable_lni_at_device_index": subnet.enable_lni_at_device_index().unwrap_or(0),
                    "enable_resource_name_dns_a_record_on_launch":
                        dns.and_then(|d| d.enable_resource_name_dns_a_record()).unwrap_or(false),
                    "enable_resource_name_dns_aaaa_record_on_launch":
                        dns.and_then(|d| d.enable_resource_name_dns_aaaa_record()).unwrap_or(false),
                    "id": id,
                    "ipv6_cidr_block": s(ipv6.and_then(|a| a.ipv6_cidr_block())),
                    "ipv6_cidr_block_association_id": s(ipv6.and_then(|a| a.association_id())),
                    "ipv6_native": subnet.ipv6_native().unwrap_or(false),
                    "map_customer_owned_ip_on_launch": subnet.map_customer_owned_ip_on_launch().unwrap_or(false),
                    "map_public_ip_on_launch": subnet.map_public_ip_on_launch().unwrap_or(false),
                    "outpost_arn": s(subnet.outpost_arn()),
                    "owner_id": owner,
                    "private_dns_hostname_type_on_launch":
                        dns.and_then(|d| d.hostname_type()).map(|h| h.as_str()).unwrap_or_default(),
                    "tags": tags(subnet.tags()),
                    "tags_all": tags(subnet.tags()),
                    "vpc_id": s(subnet.vpc_id()),
                });
                mark_default(&mut attributes, subnet.default_for_az().unwrap_or(false));
                LiveObject { id, attributes }
            })
            .collect())
    })
}

// ---------------------------------------------------------------------------
// aws_internet_gateway

static RULES_INTERNET_GATEWAY: TypeRules = TypeRules {
    resource_type: "aws_internet_gateway",
    global: false,
    ignore: &["timeouts", DEFAULT_MARKER],
    sensitive: &[],
    sets: &[],
    normalize: normalize_tags,
    is_default: marked_default,
    desired_parts: None,
    folds: &[],
};

pub static INTERNET_GATEWAY: TypeDef = TypeDef {
    rules: &RULES_INTERNET_GATEWAY,
    actions: &["ec2:DescribeInternetGateways", "ec2:DescribeVpcs"],
    list: list_internet_gateways,
};

fn list_internet_gateways(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let gateways = ctx
            .ec2()
            .describe_internet_gateways()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeInternetGateways", e))?;
        // The default VPC's gateway is created by AWS with it.
        let default_vpcs = default_vpc_ids(ctx).await?;
        Ok(gateways
            .iter()
            .map(|gateway| {
                let id = gateway
                    .internet_gateway_id()
                    .unwrap_or_default()
                    .to_string();
                let owner = gateway.owner_id().unwrap_or_default();
                let vpc_id = gateway
                    .attachments()
                    .first()
                    .and_then(|a| a.vpc_id())
                    .unwrap_or_default();
                let mut attributes = json!({
                    "arn": arn(ctx, owner, "internet-gateway", &id),
                    "id": id,
                    "owner_id": owner,
                    "tags": tags(gateway.tags()),
                    "tags_all": tags(gateway.tags()),
                    "vpc_id": vpc_id,
                });
                mark_default(&mut attributes, default_vpcs.contains(vpc_id));
                LiveObject { id, attributes }
            })
            .collect())
    })
}

// ---------------------------------------------------------------------------
// aws_route_table, aws_default_route_table, aws_route, aws_route_table_association

/// The keys of a route object in `aws_route_table`'s `route` set.
const ROUTE_TABLE_ROUTE_KEYS: &[&str] = &[
    "carrier_gateway_id",
    "cidr_block",
    "core_network_arn",
    "destination_prefix_list_id",
    "egress_only_gateway_id",
    "gateway_id",
    "ipv6_cidr_block",
    "local_gateway_id",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
];

/// The keys of a route object in `aws_default_route_table`'s `route` set.
const DEFAULT_ROUTE_TABLE_ROUTE_KEYS: &[&str] = &[
    "cidr_block",
    "core_network_arn",
    "destination_prefix_list_id",
    "egress_only_gateway_id",
    "gateway_id",
    "instance_id",
    "ipv6_cidr_block",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
];

/// A route managed by an `aws_route` is compared through the `aws_route`,
/// not a second time in its table's inline `route` set.
static ROUTE_FOLDS: &[Fold] = &[Fold {
    child_types: &["aws_route"],
    parent_id_attribute: "route_table_id",
    children_are_parts: true,
    remove_child: remove_route,
}];

static RULES_ROUTE_TABLE: TypeRules = TypeRules {
    resource_type: "aws_route_table",
    global: false,
    ignore: &["timeouts", DEFAULT_MARKER],
    sensitive: &[],
    sets: &["route", "propagating_vgws"],
    normalize: normalize_route_table,
    is_default: marked_default,
    desired_parts: None,
    folds: ROUTE_FOLDS,
};

pub static ROUTE_TABLE: TypeDef = TypeDef {
    rules: &RULES_ROUTE_TABLE,
    actions: &["ec2:DescribeRouteTables"],
    list: list_route_tables,
};

static RULES_DEFAULT_ROUTE_TABLE: TypeRules = TypeRules {
    resource_type: "aws_default_route_table",
    global: false,
    ignore: &["timeouts"],
    sensitive: &[],
    sets: &["route", "propagating_vgws"],
    normalize: normalize_default_route_table,
    is_default: always_default,
    desired_parts: None,
    folds: ROUTE_FOLDS,
};

pub static DEFAULT_ROUTE_TABLE: TypeDef = TypeDef {
    rules: &RULES_DEFAULT_ROUTE_TABLE,
    actions: &["ec2:DescribeRouteTables"],
    list: list_default_route_tables,
};

static RULES_ROUTE: TypeRules = TypeRules {
    resource_type: "aws_route",
    global: false,
    ignore: &["timeouts", DEFAULT_MARKER],
    sensitive: &[],
    sets: &[],
    normalize: normalize_route,
    is_default: marked_default,
    desired_parts: None,
    folds: &[],
};

pub static ROUTE: TypeDef = TypeDef {
    rules: &RULES_ROUTE,
    actions: &["ec2:DescribeRouteTables", "ec2:DescribeVpcs"],
    list: list_routes,
};

static RULES_ROUTE_TABLE_ASSOCIATION: TypeRules = TypeRules {
    resource_type: "aws_route_table_association",
    global: false,
    ignore: &["timeouts"],
    sensitive: &[],
    sets: &[],
    normalize: crate::live::no_normalization,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static ROUTE_TABLE_ASSOCIATION: TypeDef = TypeDef {
    rules: &RULES_ROUTE_TABLE_ASSOCIATION,
    actions: &["ec2:DescribeRouteTables"],
    list: list_route_table_associations,
};

/// Every route table of the region, listed once per scan for the four types
/// that read them.
async fn all_route_tables(ctx: &RegionContext) -> Result<Arc<Vec<RouteTable>>, CollectError> {
    ctx.shared("ec2:DescribeRouteTables", || async {
        ctx.ec2()
            .describe_route_tables()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeRouteTables", e))
    })
    .await
}

/// Every VPC's main route table.
async fn main_route_tables(ctx: &RegionContext) -> Result<Vec<RouteTable>, CollectError> {
    Ok(all_route_tables(ctx)
        .await?
        .iter()
        .filter(|t| is_main(t))
        .cloned()
        .collect())
}

fn is_main(table: &RouteTable) -> bool {
    table.associations().iter().any(|a| a.main() == Some(true))
}

/// Routes Terraform can manage: not the VPC's `local` route(s), not routes a
/// virtual private gateway propagates, not the prefix-list routes a gateway VPC
/// endpoint adds by itself (the provider leaves all three out of `route`).
fn managed_routes(table: &RouteTable) -> impl Iterator<Item = &Route> {
    table.routes().iter().filter(|r| {
        let gateway = r.gateway_id().unwrap_or_default();
        gateway != "local"
            && gateway != "VpcLattice"
            && r.origin() != Some(&RouteOrigin::CreateRouteTable)
            && r.origin() != Some(&RouteOrigin::EnableVgwRoutePropagation)
            && !(r.destination_prefix_list_id().is_some() && gateway.starts_with("vpce-"))
    })
}

/// `gateway_id` and `vpc_endpoint_id` share the API's `GatewayId`: the provider
/// writes a `vpce-` target as `vpc_endpoint_id`.
fn route_targets(route: &Route) -> (&str, &str) {
    let gateway = route.gateway_id().unwrap_or_default();
    if gateway.starts_with("vpce-") {
        ("", gateway)
    } else {
        (gateway, "")
    }
}

fn route_object(route: &Route, keys: &[&str]) -> Value {
    let (gateway_id, vpc_endpoint_id) = route_targets(route);
    let mut all = BTreeMap::from([
        ("carrier_gateway_id", s(route.carrier_gateway_id())),
        ("cidr_block", s(route.destination_cidr_block())),
        ("core_network_arn", s(route.core_network_arn())),
        (
            "destination_prefix_list_id",
            s(route.destination_prefix_list_id()),
        ),
        (
            "egress_only_gateway_id",
            s(route.egress_only_internet_gateway_id()),
        ),
        ("gateway_id", gateway_id.into()),
        ("instance_id", s(route.instance_id())),
        ("ipv6_cidr_block", s(route.destination_ipv6_cidr_block())),
        ("local_gateway_id", s(route.local_gateway_id())),
        ("nat_gateway_id", s(route.nat_gateway_id())),
        ("network_interface_id", s(route.network_interface_id())),
        ("transit_gateway_id", s(route.transit_gateway_id())),
        ("vpc_endpoint_id", vpc_endpoint_id.into()),
        (
            "vpc_peering_connection_id",
            s(route.vpc_peering_connection_id()),
        ),
    ]);
    Value::Object(
        keys.iter()
            .map(|k| (k.to_string(), all.remove(k).unwrap_or_default()))
            .collect(),
    )
}

fn route_table_attributes(ctx: &RegionContext, table: &RouteTable, keys: &[&str]) -> Value {
    let id = table.route_table_id().unwrap_or_default();
    let owner = table.owner_id().unwrap_or_default();
    json!({
        "arn": arn(ctx, owner, "route-table", id),
        "id": id,
        "owner_id": owner,
        "propagating_vgws": table
            .propagating_vgws()
            .iter()
            .filter_map(|v| v.gateway_id())
            .collect::<Vec<_>>(),
        "route": managed_routes(table).map(|r| route_object(r, keys)).collect::<Vec<_>>(),
        "tags": tags(table.tags()),
        "tags_all": tags(table.tags()),
        "vpc_id": s(table.vpc_id()),
    })
}

fn list_route_tables(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        Ok(all_route_tables(ctx)
            .await?
            .iter()
            .map(|table| {
                let mut attributes = route_table_attributes(ctx, table, ROUTE_TABLE_ROUTE_KEYS);
                // A VPC's main route table is created with it (and adopted, if
                // at all, by `aws_default_route_table`).
                mark_default(&mut attributes, is_main(table));
                LiveObject {
                    id: table.route_table_id().unwrap_or_default().to_string(),
                    attributes,
                }
            })
            .collect())
    })
}

fn list_default_route_tables(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        Ok(main_route_tables(ctx)
            .await?
            .iter()
            .map(|table| {
                let id = table.route_table_id().unwrap_or_default().to_string();
                let mut attributes =
                    route_table_attributes(ctx, table, DEFAULT_ROUTE_TABLE_ROUTE_KEYS);
                attributes["default_route_table_id"] = id.clone().into();
                LiveObject { id, attributes }
            })
            .collect())
    })
}

/// The provider's `aws_route` id: `r-` + table id + the CRC-32 (IEEE) of the
/// destination, as its `hashcode.String` computes it (always non-negative on
/// 64-bit). E.g. `0.0.0.0/0` in `rtb-1` is `r-rtb-11080289494`.
pub fn route_id(route_table_id: &str, destination: &str) -> String {
    format!("r-{route_table_id}{}", crc32(destination.as_bytes()))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn list_routes(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let tables = all_route_tables(ctx).await?;
        // Routes in the default VPC's main table (its internet route) are AWS's own.
        let default_vpcs = default_vpc_ids(ctx).await?;
        let mut out = Vec::new();
        for table in tables.iter() {
            let table_id = table.route_table_id().unwrap_or_default();
            let default_table =
                is_main(table) && default_vpcs.contains(table.vpc_id().unwrap_or_default());
            for route in managed_routes(table) {
                let destination = route
                    .destination_cidr_block()
                    .or(route.destination_ipv6_cidr_block())
                    .or(route.destination_prefix_list_id())
                    .unwrap_or_default();
                let id = route_id(table_id, destination);
                let (gateway_id, vpc_endpoint_id) = route_targets(route);
                let mut attributes = json!({
                    "carrier_gateway_id": s(route.carrier_gateway_id()),
                    "core_network_arn": s(route.core_network_arn()),
                    "destination_cidr_block": s(route.destination_cidr_block()),
                    "destination_ipv6_cidr_block": s(route.destination_ipv6_cidr_block()),
                    "destination_prefix_list_id": s(route.destination_prefix_list_id()),
                    "egress_only_gateway_id": s(route.egress_only_internet_gateway_id()),
                    "gateway_id": gateway_id,
                    "id": id,
                    "instance_id": s(route.instance_id()),
                    "instance_owner_id": s(route.instance_owner_id()),
                    "local_gateway_id": s(route.local_gateway_id()),
                    "nat_gateway_id": s(route.nat_gateway_id()),
                    "network_interface_id": s(route.network_interface_id()),
                    "origin": route.origin().map(|o| o.as_str()).unwrap_or_default(),
                    "route_table_id": table_id,
                    "state": route.state().map(|o| o.as_str()).unwrap_or_default(),
                    "transit_gateway_id": s(route.transit_gateway_id()),
                    "vpc_endpoint_id": vpc_endpoint_id,
                    "vpc_peering_connection_id": s(route.vpc_peering_connection_id()),
                });
                mark_default(&mut attributes, default_table);
                out.push(LiveObject { id, attributes });
            }
        }
        Ok(out)
    })
}

fn list_route_table_associations(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let tables = all_route_tables(ctx).await?;
        Ok(tables
            .iter()
            .flat_map(|t| t.associations())
            // The main association is `aws_main_route_table_association`'s, not ours;
            // a disassociated one no longer exists.
            .filter(|a| a.main() != Some(true))
            .filter(|a| {
                a.association_state()
                    .and_then(|s| s.state())
                    .is_none_or(|s| s.as_str() == "associated")
            })
            .map(|a| {
                let id = a
                    .route_table_association_id()
                    .unwrap_or_default()
                    .to_string();
                LiveObject {
                    attributes: json!({
                        "gateway_id": s(a.gateway_id()),
                        "id": id,
                        "route_table_id": s(a.route_table_id()),
                        "subnet_id": s(a.subnet_id()),
                    }),
                    id,
                }
            })
            .collect())
    })
}

/// The `route` set element an `aws_route` manages, matched by destination.
fn remove_route(desired: &mut Value, live: &mut Value, _child_type: &str, child: &Value) {
    let wanted: Vec<(&str, String)> = [
        ("cidr_block", "destination_cidr_block"),
        ("ipv6_cidr_block", "destination_ipv6_cidr_block"),
        ("destination_prefix_list_id", "destination_prefix_list_id"),
    ]
    .into_iter()
    .filter_map(|(in_route, in_child)| {
        let v = child.get(in_child)?.as_str().filter(|v| !v.is_empty())?;
        Some((in_route, canonical_cidr(v)))
    })
    .collect();
    if wanted.is_empty() {
        return;
    }
    for parent in [desired, live] {
        if let Some(routes) = parent.get_mut("route").and_then(Value::as_array_mut) {
            routes.retain(|r| {
                !wanted.iter().all(|(key, v)| {
                    r.get(*key)
                        .and_then(Value::as_str)
                        .is_some_and(|x| canonical_cidr(x) == *v)
                })
            });
        }
    }
}

fn normalize_route_table(desired: &mut Value, live: &mut Value) {
    normalize_route_sets(desired, live, ROUTE_TABLE_ROUTE_KEYS);
}

fn normalize_default_route_table(desired: &mut Value, live: &mut Value) {
    normalize_route_sets(desired, live, DEFAULT_ROUTE_TABLE_ROUTE_KEYS);
}

fn normalize_route_sets(desired: &mut Value, live: &mut Value, keys: &[&str]) {
    normalize_tags(desired, live);
    // Older provider versions wrote `propagating_vgws` as null and route objects
    // with other keys (`instance_id` before 5.0, no `core_network_arn` before
    // 4.x): an absent or null target is the empty string the API's absence means.
    if desired.get("propagating_vgws") == Some(&Value::Null) {
        desired["propagating_vgws"] = json!([]);
    }
    if let Some(routes) = desired.get_mut("route").and_then(Value::as_array_mut) {
        for route in routes.iter_mut() {
            let Some(object) = route.as_object_mut() else {
                continue;
            };
            object.retain(|k, _| keys.contains(&k.as_str()));
            for key in keys {
                let entry = object.entry(key.to_string()).or_insert(Value::Null);
                if entry.is_null() {
                    *entry = "".into();
                }
            }
        }
    }
    for v in [desired, live] {
        if let Some(routes) = v.get_mut("route").and_then(Value::as_array_mut) {
            for route in routes {
                canonical_cidr_at(route, "ipv6_cidr_block");
            }
        }
    }
}

fn normalize_route(desired: &mut Value, live: &mut Value) {
    for v in [desired, live] {
        canonical_cidr_at(v, "destination_ipv6_cidr_block");
    }
}

// ---------------------------------------------------------------------------
// aws_network_acl, aws_default_network_acl

/// `aws_network_acl_association` moves a subnet into the ACL and
/// `aws_network_acl_rule` adds an entry: compared through the child, not twice.
static NETWORK_ACL_FOLDS: &[Fold] = &[
    Fold {
        child_types: &["aws_network_acl_association"],
        parent_id_attribute: "network_acl_id",
        children_are_parts: true,
        remove_child: remove_acl_subnet,
    },
    Fold {
        child_types: &["aws_network_acl_rule"],
        parent_id_attribute: "network_acl_id",
        children_are_parts: true,
        remove_child: remove_acl_rule,
    },
];

static RULES_NETWORK_ACL: TypeRules = TypeRules {
    resource_type: "aws_network_acl",
    global: false,
    ignore: &[DEFAULT_MARKER],
    sensitive: &[],
    sets: &["ingress", "egress", "subnet_ids"],
    normalize: normalize_network_acl,
    is_default: marked_default,
    desired_parts: None,
    folds: NETWORK_ACL_FOLDS,
};

pub static NETWORK_ACL: TypeDef = TypeDef {
    rules: &RULES_NETWORK_ACL,
    actions: &["ec2:DescribeNetworkAcls"],
    list: list_network_acls,
};

static RULES_DEFAULT_NETWORK_ACL: TypeRules = TypeRules {
    resource_type: "aws_default_network_acl",
    global: false,
    ignore: &[],
    sensitive: &[],
    sets: &["ingress", "egress", "subnet_ids"],
    normalize: normalize_network_acl,
    is_default: always_default,
    desired_parts: None,
    folds: NETWORK_ACL_FOLDS,
};

pub static DEFAULT_NETWORK_ACL: TypeDef = TypeDef {
    rules: &RULES_DEFAULT_NETWORK_ACL,
    actions: &["ec2:DescribeNetworkAcls"],
    list: list_default_network_acls,
};

fn network_acl_attributes(ctx: &RegionContext, acl: &aws_sdk_ec2::types::NetworkAcl) -> Value {
    let id = acl.network_acl_id().unwrap_or_default();
    let owner = acl.owner_id().unwrap_or_default();
    let entries = |egress: bool| -> Vec<Value> {
        acl.entries()
            .iter()
            .filter(|e| e.egress() == Some(egress))
            // 32767 (IPv4) and 32768 (IPv6) are the fixed final deny-all rules.
            .filter(|e| e.rule_number().is_some_and(|n| n < 32767))
            .map(|e| {
                json!({
                    "action": e.rule_action().map(|a| a.as_str()).unwrap_or_default(),
                    "cidr_block": s(e.cidr_block()),
                    "from_port": e.port_range().and_then(|p| p.from()).unwrap_or(0),
                    "icmp_code": e.icmp_type_code().and_then(|i| i.code()).unwrap_or(0),
                    "icmp_type": e.icmp_type_code().and_then(|i| i.r#type()).unwrap_or(0),
                    "ipv6_cidr_block": s(e.ipv6_cidr_block()),
                    "protocol": s(e.protocol()),
                    "rule_no": e.rule_number().unwrap_or(0),
                    "to_port": e.port_range().and_then(|p| p.to()).unwrap_or(0),
                })
            })
            .collect()
    };
    json!({
        "arn": arn(ctx, owner, "network-acl", id),
        "egress": entries(true),
        "id": id,
        "ingress": entries(false),
        "owner_id": owner,
        "subnet_ids": acl.associations().iter().filter_map(|a| a.subnet_id()).collect::<Vec<_>>(),
        "tags": tags(acl.tags()),
        "tags_all": tags(acl.tags()),
        "vpc_id": s(acl.vpc_id()),
    })
}

/// Every network ACL of the region, listed once per scan (three types read them).
async fn all_network_acls(
    ctx: &RegionContext,
) -> Result<Arc<Vec<aws_sdk_ec2::types::NetworkAcl>>, CollectError> {
    ctx.shared("ec2:DescribeNetworkAcls", || async {
        ctx.ec2()
            .describe_network_acls()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeNetworkAcls", e))
    })
    .await
}

/// Every VPC of the region, listed once per scan.
async fn all_vpcs(ctx: &RegionContext) -> Result<Arc<Vec<aws_sdk_ec2::types::Vpc>>, CollectError> {
    ctx.shared("ec2:DescribeVpcs", || async {
        ctx.ec2()
            .describe_vpcs()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeVpcs", e))
    })
    .await
}

fn list_network_acls(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let acls = all_network_acls(ctx).await?;
        Ok(acls
            .iter()
            .map(|acl| {
                let mut attributes = network_acl_attributes(ctx, acl);
                mark_default(&mut attributes, acl.is_default().unwrap_or(false));
                LiveObject {
                    id: acl.network_acl_id().unwrap_or_default().to_string(),
                    attributes,
                }
            })
            .collect())
    })
}

fn list_default_network_acls(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let acls = all_network_acls(ctx).await?;
        Ok(acls
            .iter()
            .filter(|acl| acl.is_default() == Some(true))
            .map(|acl| {
                let id = acl.network_acl_id().unwrap_or_default().to_string();
                let mut attributes = network_acl_attributes(ctx, acl);
                attributes["default_network_acl_id"] = id.clone().into();
                LiveObject { id, attributes }
            })
            .collect())
    })
}

/// Protocol names the provider accepts in configuration, as the numbers the
/// API (and a refreshed state) spells them.
fn protocol_number(p: &str) -> Option<&'static str> {
    Some(match p.to_ascii_lowercase().as_str() {
        "all" | "-1" => "-1",
        "icmp" | "1" => "1",
        "tcp" | "6" => "6",
        "udp" | "17" => "17",
        "icmpv6" | "58" => "58",
        _ => return None,
    })
}

fn normalize_network_acl(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    null_sets_are_empty(desired, &["ingress", "egress", "subnet_ids"]);
    for v in [desired, live] {
        for direction in ["ingress", "egress"] {
            let Some(entries) = v.get_mut(direction).and_then(Value::as_array_mut) else {
                continue;
            };
            for entry in entries {
                if let Some(p) = entry
                    .get("protocol")
                    .and_then(Value::as_str)
                    .and_then(protocol_number)
                {
                    entry["protocol"] = p.into();
                }
                // Provider versions before 4.x wrote an unset ICMP type/code as
                // null; the API's absence is 0 in current states.
                for key in ["icmp_code", "icmp_type"] {
                    if entry.get(key) == Some(&Value::Null) {
                        entry[key] = 0.into();
                    }
                }
                canonical_cidr_at(entry, "ipv6_cidr_block");
            }
        }
    }
}

fn remove_acl_subnet(desired: &mut Value, live: &mut Value, _child_type: &str, child: &Value) {
    let Some(subnet) = child.get("subnet_id").and_then(Value::as_str) else {
        return;
    };
    for parent in [desired, live] {
        if let Some(ids) = parent.get_mut("subnet_ids").and_then(Value::as_array_mut) {
            ids.retain(|id| id.as_str() != Some(subnet));
        }
    }
}

fn remove_acl_rule(desired: &mut Value, live: &mut Value, _child_type: &str, child: &Value) {
    let Some(rule_no) = child.get("rule_number").and_then(Value::as_i64) else {
        return;
    };
    let direction = if child.get("egress") == Some(&Value::Bool(true)) {
        "egress"
    } else {
        "ingress"
    };
    for parent in [desired, live] {
        if let Some(entries) = parent.get_mut(direction).and_then(Value::as_array_mut) {
            entries.retain(|e| e.get("rule_no").and_then(Value::as_i64) != Some(rule_no));
        }
    }
}

// ---------------------------------------------------------------------------
// aws_eip

static RULES_EIP: TypeRules = TypeRules {
    resource_type: "aws_eip",
    global: false,
    // `address`, `associate_with_private_ip`: arguments the provider never reads
    // back. `ipam_pool_id`: kept from the configuration. `ptr_record`: only from
    // `DescribeAddressesAttribute`, not fetched.
    ignore: &[
        "address",
        "associate_with_private_ip",
        "ipam_pool_id",
        "ptr_record",
        "timeouts",
    ],
    sensitive: &[],
    sets: &[],
    normalize: normalize_eip,
    is_default: never_default,
    desired_parts: None,
    folds: &[
        Fold {
            child_types: &["aws_eip_association"],
            parent_id_attribute: "allocation_id",
            children_are_parts: true,
            remove_child: remove_eip_association,
        },
        // A NAT gateway attaches its address itself: the address's state,
        // written when it was allocated (before the gateway existed), says
        // "not associated" until Terraform refreshes it. The gateway is a
        // resource of its own, never a part of the address.
        Fold {
            child_types: &["aws_nat_gateway"],
            parent_id_attribute: "allocation_id",
            children_are_parts: false,
            remove_child: remove_eip_association,
        },
    ],
};

/// - `allocation_id`: providers before 3.x left it null in state (it always
///   equals the id of a VPC address); null is not compared.
/// - `network_border_group`, `public_ipv4_pool`: AWS returns them for every
///   address; a response without them (an emulator) does not know them.
fn normalize_eip(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    if desired.get("allocation_id") == Some(&Value::Null)
        && let Some(object) = live.as_object_mut()
    {
        object.remove("allocation_id");
    }
    drop_unreturned(desired, live, &["network_border_group", "public_ipv4_pool"]);
}

/// Removes from both sides the attributes the API response lacked (live is
/// null, `""` or `[]`) although AWS returns them for every object of the type:
/// the live side does not know them, and unknown is not drift. Only for
/// attributes that cannot be emptied by a change.
pub fn drop_unreturned(desired: &mut Value, live: &mut Value, keys: &[&str]) {
    for key in keys {
        let unreturned = match live.get(*key) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        };
        if unreturned {
            for side in [&mut *desired, &mut *live] {
                if let Some(object) = side.as_object_mut() {
                    object.remove(*key);
                }
            }
        }
    }
}

/// An `aws_eip_association` or an `aws_nat_gateway` manages where the address
/// points: compared through it, and never as a change of the address (whose
/// state may predate it).
fn remove_eip_association(
    desired: &mut Value,
    live: &mut Value,
    _child_type: &str,
    _child: &Value,
) {
    for parent in [desired, live] {
        if let Some(object) = parent.as_object_mut() {
            for key in [
                "association_id",
                "instance",
                "network_interface",
                "private_ip",
                "private_dns",
            ] {
                object.remove(key);
            }
        }
    }
}

pub static EIP: TypeDef = TypeDef {
    rules: &RULES_EIP,
    actions: &["ec2:DescribeAddresses"],
    list: list_eips,
};

/// The provider's DNS names for an address: computed from the IP and region,
/// not returned by the API.
fn dns_name(region: &str, ip: &str, public: bool) -> String {
    let dashed = ip.replace('.', "-");
    match (public, region) {
        (true, "us-east-1") => format!("ec2-{dashed}.compute-1.amazonaws.com"),
        (true, _) => format!("ec2-{dashed}.{region}.compute.amazonaws.com"),
        (false, "us-east-1") => format!("ip-{dashed}.ec2.internal"),
        (false, _) => format!("ip-{dashed}.{region}.compute.internal"),
    }
}

fn list_eips(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        // DescribeAddresses has no paging: one answer holds every address.
        let output = ctx
            .ec2()
            .describe_addresses()
            .send()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeAddresses", e))?;
        Ok(output
            .addresses()
            .iter()
            .map(|a| {
                let public_ip = a.public_ip().unwrap_or_default();
                let id = a
                    .allocation_id()
                    .filter(|i| !i.is_empty())
                    .unwrap_or(public_ip)
                    .to_string();
                let domain = a.domain().map(|d| d.as_str()).unwrap_or_default();
                let private_ip = a.private_ip_address().unwrap_or_default();
                // Unset (null) when there is no IP, as the provider leaves them.
                let private_dns = (!private_ip.is_empty())
                    .then(|| dns_name(&ctx.region, private_ip, false));
                let public_dns =
                    (!public_ip.is_empty()).then(|| dns_name(&ctx.region, public_ip, true));
                let attributes = json!({
                    "allocation_id": s(a.allocation_id()),
                    "arn": format!("arn:{}:ec2:{}:{}:elastic-ip/{id}", partition(&ctx.region), ctx.region, ctx.account),
                    "association_id": s(a.association_id()),
                    "carrier_ip": s(a.carrier_ip()),
                    "customer_owned_ip": s(a.customer_owned_ip()),
                    "customer_owned_ipv4_pool": s(a.customer_owned_ipv4_pool()),
                    "domain": domain,
                    "id": id,
                    "instance": s(a.instance_id()),
                    "network_border_group": s(a.network_border_group()),
                    "network_interface": s(a.network_interface_id()),
                    "private_dns": private_dns,
                    "private_ip": private_ip,
                    "public_dns": public_dns,
                    "public_ip": public_ip,
                    "public_ipv4_pool": s(a.public_ipv4_pool()),
                    "tags": tags(a.tags()),
                    "tags_all": tags(a.tags()),
                    "vpc": domain == "vpc",
                });
                LiveObject { id, attributes }
            })
            .collect())
    })
}

// ---------------------------------------------------------------------------
// aws_nat_gateway

static RULES_NAT_GATEWAY: TypeRules = TypeRules {
    resource_type: "aws_nat_gateway",
    global: false,
    ignore: &["timeouts"],
    sensitive: &[],
    sets: &["secondary_allocation_ids", "secondary_private_ip_addresses"],
    normalize: normalize_nat_gateway,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static NAT_GATEWAY: TypeDef = TypeDef {
    rules: &RULES_NAT_GATEWAY,
    actions: &["ec2:DescribeNatGateways"],
    list: list_nat_gateways,
};

/// Right after a create the provider writes `secondary_allocation_ids` as null
/// when the configuration sets none, and `[]` once it has refreshed.
fn normalize_nat_gateway(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    null_sets_are_empty(desired, RULES_NAT_GATEWAY.sets);
}

fn list_nat_gateways(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let gateways = ctx
            .ec2()
            .describe_nat_gateways()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeNatGateways", e))?;
        Ok(gateways
            .iter()
            // A deleted gateway stays visible for about an hour; it no longer exists.
            .filter(|g| g.state().is_none_or(|s| s.as_str() != "deleted"))
            .map(|g| {
                let id = g.nat_gateway_id().unwrap_or_default().to_string();
                // A lone address is the primary one even when the API leaves
                // `IsPrimary` out (older gateways do), as the provider reads it.
                let addresses = g.nat_gateway_addresses();
                let (primary, secondary): (Vec<_>, Vec<_>) = addresses
                    .iter()
                    .partition(|a| a.is_primary() == Some(true) || addresses.len() == 1);
                let primary = primary.first();
                let secondary_ips: Vec<&str> =
                    secondary.iter().filter_map(|a| a.private_ip()).collect();
                let attributes = json!({
                    "allocation_id": s(primary.and_then(|a| a.allocation_id())),
                    "association_id": s(primary.and_then(|a| a.association_id())),
                    "connectivity_type": g.connectivity_type().map(|c| c.as_str()).unwrap_or_default(),
                    "id": id,
                    "network_interface_id": s(primary.and_then(|a| a.network_interface_id())),
                    "private_ip": s(primary.and_then(|a| a.private_ip())),
                    "public_ip": s(primary.and_then(|a| a.public_ip())),
                    "secondary_allocation_ids": secondary.iter().filter_map(|a| a.allocation_id()).collect::<Vec<_>>(),
                    "secondary_private_ip_address_count": secondary_ips.len(),
                    "secondary_private_ip_addresses": secondary_ips,
                    "subnet_id": s(g.subnet_id()),
                    "tags": tags(g.tags()),
                    "tags_all": tags(g.tags()),
                });
                LiveObject { id, attributes }
            })
            .collect())
    })
}

// ---------------------------------------------------------------------------
// Shared helpers

/// The tags as the provider writes them: without the `aws:`-prefixed system
/// tags (CloudFormation's, Service Catalog's…), which it always drops.
pub(super) fn tags(tags: &[Tag]) -> Value {
    Value::Object(
        tags.iter()
            .filter(|t| t.key().is_some_and(|k| !k.starts_with("aws:")))
            .filter_map(|t| Some((t.key()?.to_string(), s(t.value()))))
            .collect::<Map<_, _>>(),
    )
}

fn mark_default(attributes: &mut Value, is_default: bool) {
    if is_default {
        attributes[DEFAULT_MARKER] = Value::Bool(true);
    }
}

/// An EC2 ARN as the provider builds it from the owner account.
fn arn(ctx: &RegionContext, owner: &str, kind: &str, id: &str) -> String {
    format!(
        "arn:{}:ec2:{}:{owner}:{kind}/{id}",
        partition(&ctx.region),
        ctx.region
    )
}

/// The ids of the region's default VPC(s).
async fn default_vpc_ids(ctx: &RegionContext) -> Result<HashSet<String>, CollectError> {
    Ok(all_vpcs(ctx)
        .await?
        .iter()
        .filter(|v| v.is_default() == Some(true))
        .filter_map(|v| v.vpc_id().map(str::to_string))
        .collect())
}

/// A set the state holds as null (not set in the configuration, not yet
/// refreshed) is the empty set the API's answer means.
fn null_sets_are_empty(desired: &mut Value, sets: &[&str]) {
    for set in sets {
        if desired.get(*set) == Some(&Value::Null) {
            desired[*set] = json!([]);
        }
    }
}

/// IPv6 CIDRs have many spellings (`2001:DB8::/56`, `2001:db8:0::/56`); the
/// API answers in the canonical one. IPv4 and anything unparsable stay as is.
pub fn canonical_cidr(cidr: &str) -> String {
    if let Some((address, length)) = cidr.split_once('/')
        && let Ok(address) = address.parse::<std::net::Ipv6Addr>()
    {
        return format!("{address}/{length}");
    }
    cidr.to_string()
}

fn canonical_cidr_at(v: &mut Value, key: &str) {
    if let Some(cidr) = v.get(key).and_then(Value::as_str) {
        let canonical = canonical_cidr(cidr);
        v[key] = canonical.into();
    }
}

/// `tags_all` holds every tag; `tags` only those the configuration set. A key
/// that is in the state's `tags_all` but not its `tags` came from the
/// provider's `default_tags`, so the live `tags` (which the API cannot tell
/// apart) drops it when its value is the default's. A tag added out of band is
/// in neither and still shows in both. A null `tags` (older states) is `{}`.
pub fn normalize_tags(desired: &mut Value, live: &mut Value) {
    for key in ["tags", "tags_all"] {
        if desired.get(key) == Some(&Value::Null) {
            desired[key] = json!({});
        }
    }
    let defaults: Vec<(String, Value)> = match (desired.get("tags"), desired.get("tags_all")) {
        (Some(Value::Object(tags)), Some(Value::Object(all))) => all
            .iter()
            .filter(|(k, _)| !tags.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Object(live_tags)) = live.get_mut("tags") {
        for (key, value) in defaults {
            if live_tags.get(&key) == Some(&value) {
                live_tags.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_ids_match_the_provider() {
        // Ids from a real hashicorp/aws 5.100.0 apply.
        assert_eq!(
            route_id("rtb-14755e2a09f2b8eae", "0.0.0.0/0"),
            "r-rtb-14755e2a09f2b8eae1080289494"
        );
        assert_eq!(
            route_id("rtb-14755e2a09f2b8eae", "::/0"),
            "r-rtb-14755e2a09f2b8eae2750132062"
        );
    }

    #[test]
    fn default_tags_are_not_live_tags() {
        let mut desired = json!({"tags": {"Name": "a"}, "tags_all": {"Name": "a", "Env": "prod"}});
        let mut live = json!({"tags": {"Name": "a", "Env": "prod", "Extra": "x"}, "tags_all": {"Name": "a", "Env": "prod", "Extra": "x"}});
        normalize_tags(&mut desired, &mut live);
        assert_eq!(live["tags"], json!({"Name": "a", "Extra": "x"}));
        // A default tag whose live value was changed is drift in `tags` too.
        let mut live = json!({"tags": {"Name": "a", "Env": "dev"}});
        normalize_tags(&mut desired, &mut live);
        assert_eq!(live["tags"], json!({"Name": "a", "Env": "dev"}));
    }

    #[test]
    fn an_eip_association_is_not_a_change_of_the_address() {
        let mut desired = json!({"id": "eipalloc-1", "association_id": "", "instance": "", "private_ip": "", "tags": {}});
        let mut live = json!({"id": "eipalloc-1", "association_id": "eipassoc-1", "instance": "i-1", "private_ip": "10.0.0.5", "private_dns": "ip-10-0-0-5.ec2.internal", "tags": {}});
        let fold = &RULES_EIP.folds[0];
        (fold.remove_child)(
            &mut desired,
            &mut live,
            "aws_eip_association",
            &json!({"allocation_id": "eipalloc-1"}),
        );
        assert_eq!(desired, live);
    }

    #[test]
    fn a_nat_gateway_attaches_its_address() {
        // aws-eks-blueprints-base.tfstate: the address's state was written
        // before the NAT gateway using it existed.
        let fold = RULES_EIP
            .folds
            .iter()
            .find(|f| f.child_types.contains(&"aws_nat_gateway"))
            .expect("a NAT gateway folds into its address");
        assert_eq!(fold.parent_id_attribute, "allocation_id");
        let mut desired = json!({"id": "eipalloc-1", "association_id": "", "network_interface": "", "private_ip": "", "private_dns": null});
        let mut live = json!({"id": "eipalloc-1", "association_id": "eipassoc-1", "network_interface": "eni-1", "private_ip": "10.1.0.21", "private_dns": "ip-10-1-0-21.ec2.internal"});
        (fold.remove_child)(
            &mut desired,
            &mut live,
            "aws_nat_gateway",
            &json!({"allocation_id": "eipalloc-1", "subnet_id": "subnet-1"}),
        );
        assert_eq!(desired, live);
    }

    #[test]
    fn older_eip_shapes_are_not_drift() {
        // aws-eks-lon-kinbal-tf013.tfstate (provider 3.x): `allocation_id` null;
        // a response without `NetworkBorderGroup` / `PublicIpv4Pool` (moto).
        let mut desired = json!({"id": "eipalloc-1", "allocation_id": null, "network_border_group": "us-east-1", "public_ipv4_pool": "amazon", "tags": null});
        let mut live = json!({"id": "eipalloc-1", "allocation_id": "eipalloc-1", "network_border_group": "", "public_ipv4_pool": "", "tags": {}});
        normalize_eip(&mut desired, &mut live);
        assert_eq!(
            desired,
            json!({"id": "eipalloc-1", "allocation_id": null, "tags": {}})
        );
        assert_eq!(live, json!({"id": "eipalloc-1", "tags": {}}));
        // Returned, they are compared.
        let mut desired = json!({"network_border_group": "us-east-1"});
        let mut live = json!({"network_border_group": "us-west-2-lax-1"});
        normalize_eip(&mut desired, &mut live);
        assert_ne!(desired, live);
    }

    #[test]
    fn system_tags_are_not_tags() {
        let tag = |k: &str| Tag::builder().key(k).value("v").build();
        assert_eq!(
            tags(&[tag("Name"), tag("aws:cloudformation:stack-name")]),
            json!({"Name": "v"})
        );
    }

    #[test]
    fn ipv6_cidrs_are_canonical() {
        assert_eq!(canonical_cidr("2001:DB8:0::/56"), "2001:db8::/56");
        assert_eq!(canonical_cidr("10.0.0.0/16"), "10.0.0.0/16");
    }

    #[test]
    fn acl_protocol_names_are_numbers() {
        let mut desired =
            json!({"ingress": [{"protocol": "tcp", "icmp_code": null, "icmp_type": null}]});
        let mut live = json!({"ingress": [{"protocol": "6", "icmp_code": 0, "icmp_type": 0}]});
        normalize_network_acl(&mut desired, &mut live);
        assert_eq!(desired, live);
    }

    #[test]
    fn an_aws_route_is_not_compared_twice() {
        let route = |cidr: &str, ipv6: &str| {
            let mut r = route_object(&Route::builder().build(), ROUTE_TABLE_ROUTE_KEYS);
            r["cidr_block"] = cidr.into();
            r["ipv6_cidr_block"] = ipv6.into();
            r
        };
        let mut desired = json!({"route": [route("0.0.0.0/0", "")]});
        let mut live = json!({"route": [route("0.0.0.0/0", ""), route("", "2001:db8::/56"), route("10.1.0.0/16", "")]});
        remove_route(
            &mut desired,
            &mut live,
            "aws_route",
            &json!({"destination_ipv6_cidr_block": "2001:DB8::/56", "destination_cidr_block": ""}),
        );
        assert_eq!(live["route"].as_array().unwrap().len(), 2);
        remove_route(
            &mut desired,
            &mut live,
            "aws_route",
            &json!({"destination_cidr_block": "10.1.0.0/16"}),
        );
        assert_eq!(desired, live);
    }

    #[test]
    fn old_route_objects_take_the_current_keys() {
        let mut desired = json!({"propagating_vgws": null, "route": [{"cidr_block": "0.0.0.0/0", "gateway_id": "igw-1", "instance_id": ""}]});
        let mut live = json!({"propagating_vgws": [], "route": [route_object(
            &Route::builder().destination_cidr_block("0.0.0.0/0").gateway_id("igw-1").build(),
            ROUTE_TABLE_ROUTE_KEYS,
        )]});
        normalize_route_table(&mut desired, &mut live);
        assert_eq!(desired, live);
    }
}
