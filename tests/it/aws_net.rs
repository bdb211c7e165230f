//! VPC networking types against a real AWS emulator (moto): resources made with
//! the SDK the way a person would, listed by driftd, compared whole with the
//! attributes the hashicorp/aws 5.100.0 provider writes into state; and a real
//! `terraform apply` whose state must equal what driftd maps from the API.

use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION, free_port};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, ConnectivityType, DomainType, Filter, PortRange, ResourceType,
    RuleAction, Tag, TagSpecification,
};
use driftd::aws::types::net;
use driftd::aws::{CollectOptions, TypeDef, collect};
use driftd::config::{AwsAccount, AwsScope};
use driftd::live::{Listing, LiveInventory};
use driftd::secrets::SecretKey;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ALL_NET: &[&TypeDef] = &[
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
];

fn scope(endpoint: String, regions: &[&str], account: &str) -> AwsScope {
    AwsScope {
        regions: regions.iter().map(|r| r.to_string()).collect(),
        accounts: vec![AwsAccount {
            id: account.to_string(),
            role_arn: None,
            external_id: None,
        }],
        profile: None,
        endpoint_url: Some(endpoint),
        cloudtrail: Default::default(),
    }
}

fn options() -> CollectOptions {
    CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        call_timeout: Duration::from_secs(20),
        ..CollectOptions::default()
    }
}

async fn ec2(moto: &MotoServer, region: &str) -> aws_sdk_ec2::Client {
    let config = moto.sdk_config().await;
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&config)
            .region(aws_sdk_ec2::config::Region::new(region.to_string()))
            .build(),
    )
}

fn tagged(kind: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    let mut spec = TagSpecification::builder().resource_type(kind);
    for (k, v) in tags {
        spec = spec.tags(Tag::builder().key(*k).value(*v).build());
    }
    spec.build()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The live objects of one type, by id.
fn objects(inventory: &LiveInventory, resource_type: &str) -> BTreeMap<String, Value> {
    inventory
        .resources
        .iter()
        .filter(|r| &*r.key.resource_type == resource_type)
        .map(|r| (r.key.id.clone(), r.attributes.to_value()))
        .collect()
}

fn object(inventory: &LiveInventory, resource_type: &str, id: &str) -> Value {
    objects(inventory, resource_type)
        .remove(id)
        .unwrap_or_else(|| panic!("{resource_type} {id} was not listed"))
}

/// How many objects a complete listing returned in `region`.
fn listed(inventory: &LiveInventory, resource_type: &str, region: &str) -> usize {
    let coverage = inventory
        .coverage
        .iter()
        .find(|c| c.resource_type == resource_type && c.region == region)
        .unwrap_or_else(|| panic!("{resource_type} was not listed in {region}"));
    assert_eq!(
        coverage.listing,
        Listing::Complete,
        "{resource_type} in {region}"
    );
    coverage.listed
}

fn schema() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-provider-schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The attributes of a type's provider schema that driftd deliberately does not
/// map: Terraform-only arguments, or values the API does not return as such.
fn unmapped(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "aws_vpc" => &[
            "ipv4_ipam_pool_id",
            "ipv4_netmask_length",
            "ipv6_ipam_pool_id",
            "ipv6_netmask_length",
        ],
        "aws_eip" => &[
            "address",
            "associate_with_private_ip",
            "ipam_pool_id",
            "ptr_record",
            "timeouts",
        ],
        "aws_network_acl" | "aws_default_network_acl" => &[],
        _ => &["timeouts"],
    }
}

/// Every live attribute is in the type's provider schema, and the schema
/// attributes left out are exactly the ones decided on (and ignored by the diff).
fn assert_schema_shape(inventory: &LiveInventory) {
    let schema = schema();
    for def in ALL_NET {
        let t = def.rules.resource_type;
        let block = &schema["resource_schemas"][t]["block"];
        let mut in_schema: BTreeSet<String> = BTreeSet::new();
        for part in ["attributes", "block_types"] {
            if let Some(o) = block[part].as_object() {
                in_schema.extend(o.keys().cloned());
            }
        }
        assert!(!in_schema.is_empty(), "{t} is not in the schema fixture");
        let mut mapped = BTreeSet::new();
        for (id, attributes) in objects(inventory, t) {
            for key in attributes.as_object().unwrap().keys() {
                if key == net::DEFAULT_MARKER {
                    continue;
                }
                assert!(
                    in_schema.contains(key),
                    "{t} {id}: `{key}` is not in the provider schema"
                );
                mapped.insert(key.clone());
            }
        }
        let left_out: Vec<&str> = in_schema
            .iter()
            .filter(|k| !mapped.contains(*k))
            .map(String::as_str)
            .collect();
        assert_eq!(left_out, unmapped(t), "{t}: schema attributes not mapped");
        let ignored: Vec<&str> = def
            .rules
            .ignore
            .iter()
            .copied()
            .filter(|k| *k != net::DEFAULT_MARKER)
            .collect();
        assert_eq!(
            ignored,
            unmapped(t),
            "{t}: what is not mapped is what the diff ignores"
        );
        for set in def.rules.sets {
            let ty = &block["attributes"][*set]["type"];
            let nesting = &block["block_types"][*set]["nesting_mode"];
            assert!(
                ty.get(0) == Some(&json!("set")) || nesting == "set",
                "{t}.{set} is not a set in the schema"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_types_map_into_the_provider_shape() {
    let moto = MotoServer::start();
    let c = ec2(&moto, REGION).await;

    let vpc_a = c
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(tagged(
            ResourceType::Vpc,
            &[("Name", "app"), ("Team", "net")],
        ))
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap();
    let vpc_a_id = vpc_a.vpc_id().unwrap().to_string();
    c.modify_vpc_attribute()
        .vpc_id(&vpc_a_id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let vpc_b_id = c
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();

    let mut subnets = Vec::new();
    for (vpc, cidr, az, name) in [
        (&vpc_a_id, "10.0.1.0/24", "us-east-1a", "a1"),
        (&vpc_a_id, "10.0.2.0/24", "us-east-1b", "a2"),
        (&vpc_b_id, "10.1.1.0/24", "us-east-1a", "b1"),
    ] {
        let subnet = c
            .create_subnet()
            .vpc_id(vpc)
            .cidr_block(cidr)
            .availability_zone(az)
            .tag_specifications(tagged(ResourceType::Subnet, &[("Name", name)]))
            .send()
            .await
            .unwrap()
            .subnet
            .unwrap();
        subnets.push(subnet);
    }
    let a1 = subnets[0].subnet_id().unwrap().to_string();
    let a2 = subnets[1].subnet_id().unwrap().to_string();
    c.modify_subnet_attribute()
        .subnet_id(&a2)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();

    let igw = c
        .create_internet_gateway()
        .tag_specifications(tagged(ResourceType::InternetGateway, &[("Name", "gw")]))
        .send()
        .await
        .unwrap()
        .internet_gateway
        .unwrap()
        .internet_gateway_id
        .unwrap();
    c.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc_a_id)
        .send()
        .await
        .unwrap();

    let eip_nat = c
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(tagged(ResourceType::ElasticIp, &[("Name", "nat")]))
        .send()
        .await
        .unwrap()
        .allocation_id
        .unwrap();
    let eip_free = c
        .allocate_address()
        .domain(DomainType::Vpc)
        .send()
        .await
        .unwrap();
    let nat = c
        .create_nat_gateway()
        .subnet_id(&a1)
        .connectivity_type(ConnectivityType::Public)
        .allocation_id(&eip_nat)
        .tag_specifications(tagged(ResourceType::Natgateway, &[("Name", "nat")]))
        .send()
        .await
        .unwrap()
        .nat_gateway
        .unwrap()
        .nat_gateway_id
        .unwrap();

    let public_rt = c
        .create_route_table()
        .vpc_id(&vpc_a_id)
        .tag_specifications(tagged(ResourceType::RouteTable, &[("Name", "public")]))
        .send()
        .await
        .unwrap()
        .route_table
        .unwrap()
        .route_table_id
        .unwrap();
    c.create_route()
        .route_table_id(&public_rt)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    let private_rt = c
        .create_route_table()
        .vpc_id(&vpc_a_id)
        .send()
        .await
        .unwrap()
        .route_table
        .unwrap()
        .route_table_id
        .unwrap();
    c.create_route()
        .route_table_id(&private_rt)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat)
        .send()
        .await
        .unwrap();
    let association = c
        .associate_route_table()
        .route_table_id(&public_rt)
        .subnet_id(&a1)
        .send()
        .await
        .unwrap()
        .association_id
        .unwrap();

    let acl = c
        .create_network_acl()
        .vpc_id(&vpc_a_id)
        .tag_specifications(tagged(ResourceType::NetworkAcl, &[("Name", "strict")]))
        .send()
        .await
        .unwrap()
        .network_acl
        .unwrap()
        .network_acl_id
        .unwrap();
    c.create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(100)
        .protocol("6")
        .rule_action(RuleAction::Allow)
        .egress(false)
        .cidr_block("10.0.0.0/16")
        .port_range(PortRange::builder().from(443).to(443).build())
        .send()
        .await
        .unwrap();
    // (moto drops an entry's IcmpTypeCode, so the ICMP mapping is not exercised here.)
    c.create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(200)
        .protocol("-1")
        .rule_action(RuleAction::Allow)
        .egress(true)
        .cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    // Move a2 from the default ACL to ours, as `aws_network_acl.subnet_ids` does.
    let a2_association = c
        .describe_network_acls()
        .filters(filter("association.subnet-id", &a2))
        .send()
        .await
        .unwrap()
        .network_acls()[0]
        .associations()
        .iter()
        .find(|a| a.subnet_id() == Some(a2.as_str()))
        .unwrap()
        .network_acl_association_id
        .clone()
        .unwrap();
    c.replace_network_acl_association()
        .association_id(a2_association)
        .network_acl_id(&acl)
        .send()
        .await
        .unwrap();

    // Values AWS (moto) chooses, read back to build the expected objects.
    let main_rt = |vpc: String| {
        let c = c.clone();
        async move {
            c.describe_route_tables()
                .filters(filter("vpc-id", &vpc))
                .filters(filter("association.main", "true"))
                .send()
                .await
                .unwrap()
                .route_tables()[0]
                .route_table_id
                .clone()
                .unwrap()
        }
    };
    let vpc_a_main_rt = main_rt(vpc_a_id.clone()).await;
    let default_acl_a = c
        .describe_network_acls()
        .filters(filter("vpc-id", &vpc_a_id))
        .filters(filter("default", "true"))
        .send()
        .await
        .unwrap()
        .network_acls()[0]
        .network_acl_id
        .clone()
        .unwrap();
    let default_sg_a = c
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc_a_id))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id
        .clone()
        .unwrap();
    let nat_address = c
        .describe_nat_gateways()
        .nat_gateway_ids(&nat)
        .send()
        .await
        .unwrap()
        .nat_gateways()[0]
        .nat_gateway_addresses()[0]
        .clone();
    let eip_nat_public = c
        .describe_addresses()
        .allocation_ids(&eip_nat)
        .send()
        .await
        .unwrap()
        .addresses()[0]
        .public_ip
        .clone()
        .unwrap();
    let default_vpc = c
        .describe_vpcs()
        .filters(filter("is-default", "true"))
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .vpc_id
        .clone()
        .unwrap();
    let default_subnets = c
        .describe_subnets()
        .filters(filter("default-for-az", "true"))
        .send()
        .await
        .unwrap()
        .subnets()
        .len();
    let a2_az_id = subnets[1].availability_zone_id().unwrap().to_string();

    let key = SecretKey::from_bytes([7; 32]);
    let (inventory, stats) = collect(
        &scope(moto.endpoint_url(), &[REGION], ACCOUNT_ID),
        ALL_NET,
        &options(),
        &key,
    )
    .await;
    assert!(!inventory.is_partial(), "{:#?}", inventory.coverage);
    assert_schema_shape(&inventory);

    let arn = |kind: &str, id: &str| format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:{kind}/{id}");
    assert_eq!(
        object(&inventory, "aws_vpc", &vpc_a_id),
        json!({
            "arn": arn("vpc", &vpc_a_id),
            "assign_generated_ipv6_cidr_block": false,
            "cidr_block": "10.0.0.0/16",
            "default_network_acl_id": default_acl_a,
            "default_route_table_id": vpc_a_main_rt,
            "default_security_group_id": default_sg_a,
            "dhcp_options_id": vpc_a.dhcp_options_id().unwrap(),
            "enable_dns_hostnames": true,
            "enable_dns_support": true,
            "enable_network_address_usage_metrics": false,
            "id": vpc_a_id,
            "instance_tenancy": "default",
            "ipv6_association_id": "",
            "ipv6_cidr_block": "",
            "ipv6_cidr_block_network_border_group": "",
            "main_route_table_id": vpc_a_main_rt,
            "owner_id": ACCOUNT_ID,
            "tags": {"Name": "app", "Team": "net"},
            "tags_all": {"Name": "app", "Team": "net"},
        })
    );
    assert_eq!(
        object(&inventory, "aws_subnet", &a2),
        json!({
            "arn": arn("subnet", &a2),
            "assign_ipv6_address_on_creation": false,
            "availability_zone": "us-east-1b",
            "availability_zone_id": a2_az_id,
            "cidr_block": "10.0.2.0/24",
            "customer_owned_ipv4_pool": "",
            "enable_dns64": false,
            "enable_lni_at_device_index": 0,
            "enable_resource_name_dns_a_record_on_launch": false,
            "enable_resource_name_dns_aaaa_record_on_launch": false,
            "id": a2,
            "ipv6_cidr_block": "",
            "ipv6_cidr_block_association_id": "",
            "ipv6_native": false,
            "map_customer_owned_ip_on_launch": false,
            "map_public_ip_on_launch": true,
            "outpost_arn": "",
            "owner_id": ACCOUNT_ID,
            // moto leaves PrivateDnsNameOptionsOnLaunch out (AWS says "ip-name").
            "private_dns_hostname_type_on_launch": "",
            "tags": {"Name": "a2"},
            "tags_all": {"Name": "a2"},
            "vpc_id": vpc_a_id,
        })
    );
    assert_eq!(
        object(&inventory, "aws_internet_gateway", &igw),
        json!({
            "arn": arn("internet-gateway", &igw),
            "id": igw,
            "owner_id": ACCOUNT_ID,
            "tags": {"Name": "gw"},
            "tags_all": {"Name": "gw"},
            "vpc_id": vpc_a_id,
        })
    );
    let route = |cidr: &str, gateway: &str, nat: &str| {
        json!({
            "carrier_gateway_id": "",
            "cidr_block": cidr,
            "core_network_arn": "",
            "destination_prefix_list_id": "",
            "egress_only_gateway_id": "",
            "gateway_id": gateway,
            "ipv6_cidr_block": "",
            "local_gateway_id": "",
            "nat_gateway_id": nat,
            "network_interface_id": "",
            "transit_gateway_id": "",
            "vpc_endpoint_id": "",
            "vpc_peering_connection_id": "",
        })
    };
    assert_eq!(
        object(&inventory, "aws_route_table", &public_rt),
        json!({
            "arn": arn("route-table", &public_rt),
            "id": public_rt,
            "owner_id": ACCOUNT_ID,
            "propagating_vgws": [],
            "route": [route("0.0.0.0/0", &igw, "")],
            "tags": {"Name": "public"},
            "tags_all": {"Name": "public"},
            "vpc_id": vpc_a_id,
        })
    );
    let nat_route_id = net::route_id(&private_rt, "0.0.0.0/0");
    assert_eq!(
        object(&inventory, "aws_route", &nat_route_id),
        json!({
            "carrier_gateway_id": "",
            "core_network_arn": "",
            "destination_cidr_block": "0.0.0.0/0",
            "destination_ipv6_cidr_block": "",
            "destination_prefix_list_id": "",
            "egress_only_gateway_id": "",
            "gateway_id": "",
            "id": nat_route_id,
            "instance_id": "",
            "instance_owner_id": "",
            "local_gateway_id": "",
            "nat_gateway_id": nat,
            "network_interface_id": "",
            "origin": "CreateRoute",
            "route_table_id": private_rt,
            "state": "active",
            "transit_gateway_id": "",
            "vpc_endpoint_id": "",
            "vpc_peering_connection_id": "",
        })
    );
    assert_eq!(
        object(&inventory, "aws_route_table_association", &association),
        json!({
            "gateway_id": "",
            "id": association,
            "route_table_id": public_rt,
            "subnet_id": a1,
        })
    );
    assert_eq!(
        object(&inventory, "aws_default_route_table", &vpc_a_main_rt),
        json!({
            "arn": arn("route-table", &vpc_a_main_rt),
            "default_route_table_id": vpc_a_main_rt,
            "id": vpc_a_main_rt,
            "owner_id": ACCOUNT_ID,
            "propagating_vgws": [],
            "route": [],
            "tags": {},
            "tags_all": {},
            "vpc_id": vpc_a_id,
        })
    );
    let rule = |rule_no: i32,
                action: &str,
                protocol: &str,
                cidr: &str,
                ports: (i32, i32),
                icmp: (i32, i32)| {
        json!({
            "action": action,
            "cidr_block": cidr,
            "from_port": ports.0,
            "icmp_code": icmp.1,
            "icmp_type": icmp.0,
            "ipv6_cidr_block": "",
            "protocol": protocol,
            "rule_no": rule_no,
            "to_port": ports.1,
        })
    };
    let mut acl_object = object(&inventory, "aws_network_acl", &acl);
    sort_sets(&mut acl_object, net::NETWORK_ACL.rules.sets);
    assert_eq!(
        acl_object,
        json!({
            "arn": arn("network-acl", &acl),
            "egress": [rule(200, "allow", "-1", "0.0.0.0/0", (0, 0), (0, 0))],
            "id": acl,
            "ingress": [
                rule(100, "allow", "6", "10.0.0.0/16", (443, 443), (0, 0)),
            ],
            "owner_id": ACCOUNT_ID,
            "subnet_ids": [a2],
            "tags": {"Name": "strict"},
            "tags_all": {"Name": "strict"},
            "vpc_id": vpc_a_id,
        })
    );
    let all_traffic = |rule_no| rule(rule_no, "allow", "-1", "0.0.0.0/0", (0, 0), (0, 0));
    assert_eq!(
        object(&inventory, "aws_default_network_acl", &default_acl_a),
        json!({
            "arn": arn("network-acl", &default_acl_a),
            "default_network_acl_id": default_acl_a,
            "egress": [all_traffic(100)],
            "id": default_acl_a,
            "ingress": [all_traffic(100)],
            "owner_id": ACCOUNT_ID,
            // a2 moved to `acl`; a1 is still the default ACL's.
            "subnet_ids": [a1],
            "tags": {},
            "tags_all": {},
            "vpc_id": vpc_a_id,
        })
    );
    let private_ip = nat_address.private_ip().unwrap();
    assert_eq!(
        object(&inventory, "aws_eip", &eip_nat),
        json!({
            "allocation_id": eip_nat,
            "arn": arn("elastic-ip", &eip_nat),
            "association_id": nat_address.association_id().unwrap(),
            "carrier_ip": "",
            "customer_owned_ip": "",
            "customer_owned_ipv4_pool": "",
            "domain": "vpc",
            "id": eip_nat,
            "instance": "",
            // moto leaves NetworkBorderGroup and PublicIpv4Pool out (AWS: the region, "amazon").
            "network_border_group": "",
            "network_interface": nat_address.network_interface_id().unwrap(),
            "private_dns": format!("ip-{}.ec2.internal", private_ip.replace('.', "-")),
            "private_ip": private_ip,
            "public_dns": format!("ec2-{}.compute-1.amazonaws.com", eip_nat_public.replace('.', "-")),
            "public_ip": eip_nat_public,
            "public_ipv4_pool": "",
            "tags": {"Name": "nat"},
            "tags_all": {"Name": "nat"},
            "vpc": true,
        })
    );
    let free_id = eip_free.allocation_id().unwrap();
    let free = object(&inventory, "aws_eip", free_id);
    assert_eq!(
        (
            &free["association_id"],
            &free["private_dns"],
            &free["public_ip"],
            &free["tags"]
        ),
        (
            &json!(""),
            &Value::Null,
            &json!(eip_free.public_ip().unwrap()),
            &json!({})
        ),
        "an unassociated address has no private DNS name"
    );
    assert_eq!(
        object(&inventory, "aws_nat_gateway", &nat),
        json!({
            "allocation_id": eip_nat,
            "association_id": nat_address.association_id().unwrap(),
            "connectivity_type": "public",
            "id": nat,
            "network_interface_id": nat_address.network_interface_id().unwrap(),
            "private_ip": private_ip,
            "public_ip": eip_nat_public,
            "secondary_allocation_ids": [],
            "secondary_private_ip_address_count": 0,
            "secondary_private_ip_addresses": [],
            "subnet_id": a1,
            "tags": {"Name": "nat"},
            "tags_all": {"Name": "nat"},
        })
    );

    // Complete listings, with every object and nothing else.
    let counts: BTreeMap<&str, usize> = ALL_NET
        .iter()
        .map(|d| {
            let t = d.rules.resource_type;
            (t, listed(&inventory, t, REGION))
        })
        .collect();
    let expected: BTreeMap<&str, usize> = [
        ("aws_vpc", 3),
        ("aws_subnet", 3 + default_subnets),
        ("aws_internet_gateway", 1),
        // Two of ours and the main table of each of the three VPCs.
        ("aws_route_table", 5),
        // The `local` routes are the VPC's own, not routes.
        ("aws_route", 2),
        ("aws_route_table_association", 1),
        ("aws_default_route_table", 3),
        ("aws_network_acl", 4),
        ("aws_default_network_acl", 3),
        ("aws_eip", 2),
        ("aws_nat_gateway", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);

    // AWS's own objects are default; ours are not.
    let is_default = |def: &TypeDef, id: &str| {
        (def.rules.is_default)(&object(&inventory, def.rules.resource_type, id))
    };
    assert!(is_default(&net::VPC, &default_vpc));
    assert!(!is_default(&net::VPC, &vpc_a_id));
    for (id, subnet) in objects(&inventory, "aws_subnet") {
        let ours = [&a1, &a2].contains(&&id) || subnet["vpc_id"] == json!(vpc_b_id);
        assert_eq!(
            (net::SUBNET.rules.is_default)(&subnet),
            !ours,
            "subnet {id}"
        );
    }
    assert!(is_default(&net::ROUTE_TABLE, &vpc_a_main_rt));
    assert!(!is_default(&net::ROUTE_TABLE, &public_rt));
    assert!(is_default(&net::DEFAULT_ROUTE_TABLE, &vpc_a_main_rt));
    assert!(is_default(&net::NETWORK_ACL, &default_acl_a));
    assert!(!is_default(&net::NETWORK_ACL, &acl));
    assert!(is_default(&net::DEFAULT_NETWORK_ACL, &default_acl_a));
    assert!(!is_default(&net::INTERNET_GATEWAY, &igw));
    assert!(!is_default(&net::ROUTE, &nat_route_id));
    assert!(!is_default(&net::EIP, &eip_nat));
    assert!(!is_default(&net::NAT_GATEWAY, &nat));

    // API calls: one STS check, one listing each (moto answers in one page),
    // the region-wide joins, and three attribute calls per VPC.
    let ec2_calls = stats.snapshot()["ec2"].requests;
    // Each region-wide listing is made once per scan, however many types read it.
    let per_type = 1 // DescribeVpcs: VPCs, default VPCs for gateways and routes
        + 1 // DescribeRouteTables: the four route table types and the VPCs' main tables
        + 1 // DescribeNetworkAcls: both ACL types and the VPCs' default ACLs
        + 1 // DescribeSecurityGroups: the VPCs' default groups
        + 3 * 3 // three DescribeVpcAttribute per VPC (the API has no batch form)
        + 1 // subnets
        + 1 // internet gateways
        + 1 // addresses
        + 1; // NAT gateways
    assert_eq!(ec2_calls, per_type);
}

/// Sorts set-typed attributes so whole objects compare in a stable order.
fn sort_sets(v: &mut Value, sets: &[&str]) {
    for set in sets {
        if let Some(items) = v.get_mut(*set).and_then(Value::as_array_mut) {
            items.sort_by_key(|i| i.to_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_are_listed_separately() {
    let moto = MotoServer::start();
    let mut ours = BTreeMap::new();
    for region in ["us-east-1", "eu-west-1"] {
        let vpc = ec2(&moto, region)
            .await
            .create_vpc()
            .cidr_block("10.5.0.0/16")
            .tag_specifications(tagged(ResourceType::Vpc, &[("Name", region)]))
            .send()
            .await
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap();
        ours.insert(region, vpc);
    }
    let (inventory, _) = collect(
        &scope(moto.endpoint_url(), &["us-east-1", "eu-west-1"], ACCOUNT_ID),
        &[&net::VPC],
        &options(),
        &SecretKey::from_bytes([7; 32]),
    )
    .await;
    for (region, vpc) in &ours {
        // Ours and the region's default VPC.
        assert_eq!(listed(&inventory, "aws_vpc", region), 2);
        let resource = inventory
            .resources
            .iter()
            .find(|r| &r.key.id == vpc)
            .unwrap();
        assert_eq!(&*resource.origin, format!("aws:{ACCOUNT_ID}:{region}"));
        assert_eq!(
            resource.attributes.to_value()["arn"],
            json!(format!("arn:aws:ec2:{region}:{ACCOUNT_ID}:vpc/{vpc}"))
        );
    }
    assert_eq!(inventory.coverage.len(), 2);
}

fn assert_all_unknown(inventory: &LiveInventory, regions: &[&str], needle: &str) {
    assert!(inventory.resources.is_empty());
    assert_eq!(inventory.coverage.len(), ALL_NET.len() * regions.len());
    for c in &inventory.coverage {
        match &c.listing {
            Listing::Unknown { reason } => assert!(
                reason.contains(needle),
                "{} in {}: {reason}",
                c.resource_type,
                c.region
            ),
            Listing::Complete => panic!("{} listed complete", c.resource_type),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_account_makes_every_listing_unknown() {
    let moto = MotoServer::start();
    ec2(&moto, REGION)
        .await
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap();
    let key = SecretKey::from_bytes([7; 32]);
    let regions = ["us-east-1", "eu-west-1"];

    // Credentials for another account than the one configured.
    let (inventory, _) = collect(
        &scope(moto.endpoint_url(), &regions, "210987654321"),
        ALL_NET,
        &options(),
        &key,
    )
    .await;
    assert!(inventory.is_partial());
    assert_all_unknown(
        &inventory,
        &regions,
        "the credentials are for account 123456789012, not 210987654321",
    );

    // Nothing listens where the endpoint points.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (inventory, _) = collect(
        &scope(closed, &regions, ACCOUNT_ID),
        ALL_NET,
        &options(),
        &key,
    )
    .await;
    assert_all_unknown(&inventory, &regions, "cannot reach the endpoint");
}

// ---------------------------------------------------------------------------
// The real proof of shape: what `terraform apply` writes equals what driftd maps.

/// The hashicorp/aws provider mirror: `DRIFTD_TF_PLUGIN_MIRROR`, else where this
/// machine image keeps it.
fn provider_mirror() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("DRIFTD_TF_PLUGIN_MIRROR")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("/opt/tf-plugins"),
            PathBuf::from("/usr/share/terraform/plugins"),
        ])
        .collect();
    candidates
        .iter()
        .find(|p| p.join("registry.terraform.io/hashicorp/aws/5.100.0").is_dir())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no hashicorp/aws 5.100.0 provider mirror in {candidates:?}: set DRIFTD_TF_PLUGIN_MIRROR \
                 to the folder above registry.terraform.io"
            )
        })
}

const NETWORK_TF: &str = r#"
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  endpoints {
    ec2 = "MOTO"
    sts = "MOTO"
  }
  default_tags {
    tags = { Env = "test" }
  }
}
resource "aws_vpc" "main" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_hostnames = true
  tags                 = { Name = "main" }
}
resource "aws_subnet" "a" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = "10.0.1.0/24"
  availability_zone       = "us-east-1a"
  map_public_ip_on_launch = true
  tags                    = { Name = "a" }
}
resource "aws_subnet" "b" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.0.2.0/24"
  availability_zone = "us-east-1b"
}
resource "aws_internet_gateway" "gw" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "gw" }
}
resource "aws_route_table" "inline" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.gw.id
  }
  tags = { Name = "inline" }
}
resource "aws_route_table" "separate" {
  vpc_id = aws_vpc.main.id
}
resource "aws_route" "nat" {
  route_table_id         = aws_route_table.separate.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.n.id
}
resource "aws_route" "v6" {
  route_table_id              = aws_route_table.separate.id
  destination_ipv6_cidr_block = "::/0"
  gateway_id                  = aws_internet_gateway.gw.id
}
resource "aws_route_table_association" "a" {
  subnet_id      = aws_subnet.a.id
  route_table_id = aws_route_table.inline.id
}
resource "aws_default_route_table" "d" {
  default_route_table_id = aws_vpc.main.default_route_table_id
  route {
    cidr_block = "192.168.0.0/16"
    gateway_id = aws_internet_gateway.gw.id
  }
  tags = { Name = "default" }
}
resource "aws_network_acl" "n" {
  vpc_id     = aws_vpc.main.id
  subnet_ids = [aws_subnet.a.id]
  ingress {
    protocol   = "tcp"
    rule_no    = 100
    action     = "allow"
    cidr_block = "10.0.0.0/16"
    from_port  = 443
    to_port    = 443
  }
  egress {
    protocol   = "-1"
    rule_no    = 200
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }
  tags = { Name = "nacl" }
}
resource "aws_default_network_acl" "d" {
  default_network_acl_id = aws_vpc.main.default_network_acl_id
  subnet_ids             = [aws_subnet.b.id]
  ingress {
    protocol   = -1
    rule_no    = 100
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }
  egress {
    protocol   = -1
    rule_no    = 100
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }
}
resource "aws_vpc" "v6" {
  cidr_block                       = "10.9.0.0/16"
  assign_generated_ipv6_cidr_block = true
}
# (No IPv6 subnet: moto never reports a subnet's IPv6 block "associated",
# so the provider waits for it until it times out.)
resource "aws_internet_gateway" "v6" {
  vpc_id = aws_vpc.v6.id
}
resource "aws_route_table" "v6" {
  vpc_id = aws_vpc.v6.id
  route {
    ipv6_cidr_block = "::/0"
    gateway_id      = aws_internet_gateway.v6.id
  }
}
resource "aws_eip" "nat" {
  domain = "vpc"
  tags   = { Name = "nat" }
}
resource "aws_eip" "spare" {
  domain = "vpc"
}
resource "aws_nat_gateway" "n" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.a.id
  tags          = { Name = "n" }
}
"#;

fn terraform(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("terraform is on PATH");
    assert!(
        output.status.success(),
        "terraform {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The managed resources of a state file: (type, id, attributes).
fn read_state(dir: &Path) -> Vec<(String, String, Value)> {
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("terraform.tfstate")).unwrap())
            .unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let t = r["type"].as_str().unwrap().to_string();
            r["instances"].as_array().unwrap().iter().map(move |i| {
                (
                    t.clone(),
                    i["attributes"]["id"].as_str().unwrap().to_string(),
                    i["attributes"].clone(),
                )
            })
        })
        .collect()
}

/// `type id attribute` for every live attribute that differs from the state,
/// compared as the diff does (folds, normalisation, set order, ignored names);
/// and how many resources of each type were compared.
fn differences(
    desired: &[(String, String, Value)],
    inventory: &LiveInventory,
) -> (Vec<String>, BTreeMap<String, usize>) {
    let mut found = Vec::new();
    let mut compared = BTreeMap::<String, usize>::new();
    for (t, id, state_attributes) in desired {
        let def = ALL_NET
            .iter()
            .find(|d| d.rules.resource_type == t)
            .unwrap_or_else(|| panic!("{t} is not a network type"));
        let rules = def.rules;
        let mut desired_attributes = state_attributes.clone();
        let mut live = object(inventory, t, id);
        for fold in rules.folds {
            for (child_type, _, child) in desired.iter().filter(|(ct, _, c)| {
                fold.child_types.contains(&ct.as_str()) && c[fold.parent_id_attribute] == json!(id)
            }) {
                (fold.remove_child)(&mut desired_attributes, &mut live, child_type, child);
            }
        }
        (rules.normalize)(&mut desired_attributes, &mut live);
        sort_sets(&mut desired_attributes, rules.sets);
        sort_sets(&mut live, rules.sets);
        for (key, live_value) in live.as_object().unwrap() {
            if rules.ignore.contains(&key.as_str()) {
                continue;
            }
            let state_value = desired_attributes.get(key).unwrap_or(&Value::Null);
            if state_value != live_value {
                eprintln!("{t} {id} {key}: state {state_value} live {live_value}");
                found.push(format!("{t} {id} {key}"));
            }
        }
        *compared.entry(t.clone()).or_default() += 1;
    }
    (found, compared)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_state_equals_the_live_mapping() {
    let moto = MotoServer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            provider_mirror().display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        NETWORK_TF.replace("MOTO", &moto.endpoint_url()),
    )
    .unwrap();
    let run = |args: &'static [&'static str]| {
        let path = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || terraform(&path, args))
    };
    run(&["init", "-input=false", "-no-color"]).await.unwrap();
    // moto answers 500 to concurrent writes.
    run(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=1",
    ])
    .await
    .unwrap();
    let applied = read_state(dir.path());
    let (inventory, _) = collect(
        &scope(moto.endpoint_url(), &[REGION], ACCOUNT_ID),
        ALL_NET,
        &options(),
        &SecretKey::from_bytes([7; 32]),
    )
    .await;
    assert!(!inventory.is_partial(), "{:#?}", inventory.coverage);

    // Right after the apply, the provider has written the NAT gateway's
    // address before the gateway associated it (`terraform plan -refresh-only`
    // shows that change; it is not out of band). The NAT gateway folds into
    // its address (as an `aws_eip_association` does), so even this
    // unrefreshed state matches.
    let (eip, unrefreshed) = applied
        .iter()
        .find(|(t, _, a)| t == "aws_eip" && a["tags"]["Name"] == json!("nat"))
        .map(|(_, id, a)| (id.clone(), a.clone()))
        .unwrap();
    assert_ne!(
        unrefreshed["association_id"],
        object(&inventory, "aws_eip", &eip)["association_id"],
        "the state predates the association"
    );
    assert_eq!(differences(&applied, &inventory).0, Vec::<String>::new());

    run(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-input=false",
        "-no-color",
    ])
    .await
    .unwrap();
    let desired = read_state(dir.path());
    let (found, compared) = differences(&desired, &inventory);
    assert!(
        found.is_empty(),
        "refreshed state differs from the live mapping:\n{}",
        found.join("\n")
    );
    // IPv6 fields were compared with values, not only empty ones.
    assert!(desired.iter().any(|(t, _, a)| {
        t == "aws_vpc"
            && a["assign_generated_ipv6_cidr_block"] == json!(true)
            && a["ipv6_cidr_block"]
                .as_str()
                .is_some_and(|c| c.contains("::/56"))
    }));

    // After a clean apply nothing live looks unmanaged: what no state holds is
    // AWS's own (default VPC, main tables, default ACLs), or a route inside a
    // managed table (the diff folds it into its parent).
    let managed: BTreeSet<(&str, &str)> = desired
        .iter()
        .map(|(t, id, _)| (t.as_str(), id.as_str()))
        .collect();
    for def in ALL_NET {
        let t = def.rules.resource_type;
        for (id, live) in objects(&inventory, t) {
            let in_managed_table = t == "aws_route"
                && live["route_table_id"].as_str().is_some_and(|rt| {
                    managed.contains(&("aws_route_table", rt))
                        || managed.contains(&("aws_default_route_table", rt))
                });
            assert!(
                managed.contains(&(t, id.as_str()))
                    || (def.rules.is_default)(&live)
                    || in_managed_table,
                "{t} {id} would be reported unmanaged: {live}"
            );
        }
    }

    assert_eq!(
        compared
            .iter()
            .map(|(t, n)| (t.as_str(), *n))
            .collect::<BTreeMap<_, _>>(),
        BTreeMap::from([
            ("aws_default_network_acl", 1),
            ("aws_default_route_table", 1),
            ("aws_eip", 2),
            ("aws_internet_gateway", 2),
            ("aws_nat_gateway", 1),
            ("aws_network_acl", 1),
            ("aws_route", 2),
            ("aws_route_table", 3),
            ("aws_route_table_association", 1),
            ("aws_subnet", 2),
            ("aws_vpc", 2),
        ])
    );
}

// ---------------------------------------------------------------------------
// Paging: moto answers every network Describe call in one page (it ignores
// MaxResults), so a small EC2 stand-in that pages for real checks that a
// listing reads every page, and that a page failing half-way makes the type
// unknown rather than a listing of the first page only.

#[derive(Default)]
struct PagingEc2 {
    /// Answer the second DescribeSubnets page with an authorization error.
    deny_second_page: bool,
    /// The `Action` (and `NextToken`, if any) of every request.
    seen: Vec<String>,
}

async fn paging_ec2(
    axum::extract::State(ec2): axum::extract::State<std::sync::Arc<std::sync::Mutex<PagingEc2>>>,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let form: BTreeMap<String, String> = url_form(&body);
    let action = form.get("Action").cloned().unwrap_or_default();
    let token = form.get("NextToken").cloned();
    let mut ec2 = ec2.lock().unwrap();
    ec2.seen
        .push(format!("{action} {}", token.as_deref().unwrap_or("-")));
    let xml = |status: u16, text: String| {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [("content-type", "text/xml")],
            text,
        )
            .into_response()
    };
    let subnet = |n: u32| {
        format!(
            "<item><subnetId>subnet-{n}</subnetId><vpcId>vpc-1</vpcId><cidrBlock>10.0.{n}.0/24</cidrBlock>\
             <availabilityZone>us-east-1a</availabilityZone><ownerId>{ACCOUNT_ID}</ownerId></item>"
        )
    };
    match (action.as_str(), token.as_deref()) {
        ("GetCallerIdentity", _) => xml(
            200,
            format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
                 <Arn>arn:aws:iam::{ACCOUNT_ID}:user/test</Arn><UserId>AIDTEST</UserId><Account>{ACCOUNT_ID}</Account>\
                 </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ),
        ),
        ("DescribeSubnets", None) => xml(
            200,
            format!(
                "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>1</requestId>\
                 <subnetSet>{}{}</subnetSet><nextToken>page-2</nextToken></DescribeSubnetsResponse>",
                subnet(1),
                subnet(2)
            ),
        ),
        ("DescribeSubnets", Some("page-2")) if ec2.deny_second_page => xml(
            403,
            "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>2</RequestID></Response>".to_string(),
        ),
        ("DescribeSubnets", Some("page-2")) => xml(
            200,
            format!(
                "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>2</requestId>\
                 <subnetSet>{}</subnetSet></DescribeSubnetsResponse>",
                subnet(3)
            ),
        ),
        _ => xml(
            400,
            format!("<Response><Errors><Error><Code>InvalidAction</Code><Message>{action}</Message></Error></Errors></Response>"),
        ),
    }
}

/// `application/x-www-form-urlencoded` as the AWS query protocol sends it.
fn url_form(body: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn start_paging_ec2(
    deny_second_page: bool,
) -> (String, std::sync::Arc<std::sync::Mutex<PagingEc2>>) {
    let state = std::sync::Arc::new(std::sync::Mutex::new(PagingEc2 {
        deny_second_page,
        seen: Vec::new(),
    }));
    let app = axum::Router::new()
        .fallback(paging_ec2)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_reads_every_page() {
    let (url, ec2) = start_paging_ec2(false).await;
    let (inventory, _) = collect(
        &scope(url, &[REGION], ACCOUNT_ID),
        &[&net::SUBNET],
        &options(),
        &SecretKey::from_bytes([7; 32]),
    )
    .await;
    assert_eq!(listed(&inventory, "aws_subnet", REGION), 3);
    assert_eq!(
        objects(&inventory, "aws_subnet").keys().collect::<Vec<_>>(),
        ["subnet-1", "subnet-2", "subnet-3"]
    );
    assert_eq!(
        ec2.lock().unwrap().seen,
        [
            "GetCallerIdentity -",
            "DescribeSubnets -",
            "DescribeSubnets page-2"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_fails_makes_the_listing_unknown_not_short() {
    let (url, _) = start_paging_ec2(true).await;
    let (inventory, _) = collect(
        &scope(url, &[REGION], ACCOUNT_ID),
        &[&net::SUBNET],
        &options(),
        &SecretKey::from_bytes([7; 32]),
    )
    .await;
    assert!(
        inventory.resources.is_empty(),
        "the first page alone is not a listing"
    );
    let [coverage] = &inventory.coverage[..] else {
        panic!("{:?}", inventory.coverage)
    };
    assert_eq!(
        coverage.listing,
        Listing::Unknown {
            reason: "ec2:DescribeSubnets: UnauthorizedOperation: You are not authorized to perform this operation.; \
                     grant it (packaging/aws-iam-policy.json lists every action driftd needs)"
                .to_string()
        }
    );
}
