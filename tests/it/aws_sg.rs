//! Security groups and their rules against real moto: created with the SDK as
//! a person would, collected by driftd, compared as whole mapped objects.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroupRule, Tag,
    TagSpecification, UserIdGroupPair,
};
use driftd::aws::types::sg;
use driftd::aws::{CollectOptions, TypeDef, collect};
use driftd::config::{AwsAccount, AwsScope};
use driftd::live::{Listing, LiveInventory, TypeRules};
use driftd::secrets::SecretKey;
use serde_json::{Value, json};

use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};

fn scope(moto: &MotoServer) -> AwsScope {
    AwsScope {
        endpoint_url: Some(moto.endpoint_url()),
        cloudtrail: Default::default(),
        ..scope_without_endpoint()
    }
}

async fn collect_types(moto: &MotoServer, types: &[&'static TypeDef]) -> (LiveInventory, u64) {
    let options = CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        ..CollectOptions::default()
    };
    let (inventory, stats) = collect(
        &scope(moto),
        types,
        &options,
        &SecretKey::from_bytes([7; 32]),
    )
    .await;
    (inventory, stats.total_requests())
}

fn tags(pairs: &[(&str, &str)], kind: ResourceType) -> TagSpecification {
    let mut spec = TagSpecification::builder().resource_type(kind);
    for (k, v) in pairs {
        spec = spec.tags(Tag::builder().key(*k).value(*v).build());
    }
    spec.build()
}

/// What a person built in the console or with the CLI.
struct World {
    vpc: String,
    web: String,
    app: String,
    prefix_list: String,
}

async fn build_world(ec2: &aws_sdk_ec2::Client) -> World {
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let app = ec2
        .create_security_group()
        .group_name("app")
        .description("app servers")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let web = ec2
        .create_security_group()
        .group_name("web")
        .description("web tier")
        .vpc_id(&vpc)
        .tag_specifications(tags(
            &[("Name", "web"), ("env", "test")],
            ResourceType::SecurityGroup,
        ))
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let https = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .ip_ranges(
            IpRange::builder()
                .cidr_ip("10.0.0.0/8")
                .description("office")
                .build(),
        )
        .ip_ranges(
            IpRange::builder()
                .cidr_ip("192.168.0.0/16")
                .description("office")
                .build(),
        )
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
        .build();
    let ssh_from_app = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .user_id_group_pairs(
            // moto drops group-pair and prefix-list descriptions from
            // DescribeSecurityGroupRules, so these rules have none.
            UserIdGroupPair::builder().group_id(&app).build(),
        )
        .build();
    let all_from_self = IpPermission::builder()
        .ip_protocol("-1")
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&web).build())
        .build();
    let prefix_list = ec2
        .create_managed_prefix_list()
        .prefix_list_name("corp")
        .address_family("IPv4")
        .max_entries(5)
        .send()
        .await
        .unwrap()
        .prefix_list
        .unwrap()
        .prefix_list_id
        .unwrap();
    let http_from_corp = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(8080)
        .to_port(8080)
        .prefix_list_ids(PrefixListId::builder().prefix_list_id(&prefix_list).build())
        .build();
    ec2.authorize_security_group_ingress()
        .group_id(&web)
        .ip_permissions(https)
        .ip_permissions(ssh_from_app)
        .ip_permissions(all_from_self)
        .ip_permissions(http_from_corp)
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_egress()
        .group_id(&web)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&app).build())
                .build(),
        )
        .tag_specifications(tags(&[("purpose", "db")], ResourceType::SecurityGroupRule))
        .send()
        .await
        .unwrap();
    World {
        vpc,
        web,
        app,
        prefix_list,
    }
}

fn attributes_of(inventory: &LiveInventory, resource_type: &str) -> Vec<Value> {
    inventory
        .resources
        .iter()
        .filter(|r| &*r.key.resource_type == resource_type)
        .map(|r| r.attributes.to_value())
        .collect()
}

/// The rules of `group` as AWS lists them, to learn their `sgr-` ids.
async fn rules_of(ec2: &aws_sdk_ec2::Client, group: &str) -> Vec<SecurityGroupRule> {
    ec2.describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group).build())
        .send()
        .await
        .unwrap()
        .security_group_rules
        .unwrap_or_default()
}

fn sgr_id(
    rules: &[SecurityGroupRule],
    egress: bool,
    pick: impl Fn(&SecurityGroupRule) -> bool,
) -> String {
    let found: Vec<&SecurityGroupRule> = rules
        .iter()
        .filter(|r| r.is_egress() == Some(egress) && pick(r))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].security_group_rule_id().unwrap().to_string()
}

/// The `sgr-` ids of the web group's rules, by what they allow.
struct WebRuleIds {
    office_10: String,
    office_192: String,
    https_ipv6: String,
    ssh_from_app: String,
    all_from_self: String,
    http_from_corp: String,
    all_out: String,
    postgres_to_app: String,
}

async fn web_rule_ids(ec2: &aws_sdk_ec2::Client, world: &World) -> WebRuleIds {
    let rules = rules_of(ec2, &world.web).await;
    let referenced = |r: &SecurityGroupRule| {
        r.referenced_group_info()
            .and_then(|g| g.group_id())
            .map(str::to_string)
    };
    WebRuleIds {
        office_10: sgr_id(&rules, false, |r| r.cidr_ipv4() == Some("10.0.0.0/8")),
        office_192: sgr_id(&rules, false, |r| r.cidr_ipv4() == Some("192.168.0.0/16")),
        https_ipv6: sgr_id(&rules, false, |r| r.cidr_ipv6() == Some("::/0")),
        ssh_from_app: sgr_id(&rules, false, |r| referenced(r) == Some(world.app.clone())),
        all_from_self: sgr_id(&rules, false, |r| referenced(r) == Some(world.web.clone())),
        http_from_corp: sgr_id(&rules, false, |r| r.prefix_list_id().is_some()),
        all_out: sgr_id(&rules, true, |r| r.cidr_ipv4() == Some("0.0.0.0/0")),
        postgres_to_app: sgr_id(&rules, true, |r| referenced(r) == Some(world.app.clone())),
    }
}

fn element(protocol: &str, from: i64, to: i64, description: &str, fill: Value) -> Value {
    let mut e = json!({"cidr_blocks": [], "description": description, "from_port": from, "ipv6_cidr_blocks": [],
                       "prefix_list_ids": [], "protocol": protocol, "security_groups": [], "self": false, "to_port": to});
    for (k, v) in fill.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

fn allow_all_out() -> Value {
    element("-1", 0, 0, "", json!({"cidr_blocks": ["0.0.0.0/0"]}))
}

fn find<'a>(objects: &'a [Value], id: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed in {objects:#?}"))
}

const ALL_TYPES: [&TypeDef; 5] = [
    &sg::SECURITY_GROUP,
    &sg::DEFAULT_SECURITY_GROUP,
    &sg::SECURITY_GROUP_RULE,
    &sg::VPC_SECURITY_GROUP_INGRESS_RULE,
    &sg::VPC_SECURITY_GROUP_EGRESS_RULE,
];

/// An `aws_security_group_rule` with one source, as the provider lists it.
#[allow(clippy::too_many_arguments)]
fn sgrule(
    group: &str,
    kind: &str,
    protocol: &str,
    from: i64,
    to: i64,
    description: &str,
    source: sg::Source,
    sgr: &str,
) -> Value {
    let id = sg::sgrule_id(
        group,
        kind == "egress",
        protocol,
        from,
        to,
        std::slice::from_ref(&source),
    );
    let description = Some(description).filter(|d| !d.is_empty());
    let mut rule = json!({"cidr_blocks": null, "description": description, "from_port": from, "id": id,
        "ipv6_cidr_blocks": null, "prefix_list_ids": null, "protocol": protocol, "security_group_id": group,
        "security_group_rule_id": sgr, "self": false, "source_security_group_id": null, "to_port": to, "type": kind});
    match source {
        sg::Source::Cidr(c) => rule["cidr_blocks"] = json!([c]),
        sg::Source::Ipv6(c) => rule["ipv6_cidr_blocks"] = json!([c]),
        sg::Source::PrefixList(p) => rule["prefix_list_ids"] = json!([p]),
        sg::Source::SelfGroup => rule["self"] = json!(true),
        sg::Source::Group(g) => rule["source_security_group_id"] = json!(g),
    }
    rule
}

/// An `aws_vpc_security_group_*_rule` as the provider lists it.
fn vpc_rule(
    group: &str,
    sgr: &str,
    protocol: &str,
    ports: Option<(i64, i64)>,
    fill: Value,
) -> Value {
    let mut rule = json!({"arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:security-group-rule/{sgr}"),
        "cidr_ipv4": null, "cidr_ipv6": null, "description": null, "from_port": ports.map(|p| p.0), "id": sgr,
        "ip_protocol": protocol, "prefix_list_id": null, "referenced_security_group_id": null,
        "security_group_id": group, "security_group_rule_id": sgr, "tags": null, "tags_all": {}, "to_port": ports.map(|p| p.1)});
    for (k, v) in fill.as_object().unwrap() {
        rule[k] = v.clone();
    }
    rule
}

#[tokio::test]
async fn groups_and_rules_map_to_the_provider_shape() {
    let moto = MotoServer::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let world = build_world(&ec2).await;
    let ids = web_rule_ids(&ec2, &world).await;
    let (inventory, requests) = collect_types(&moto, &ALL_TYPES).await;

    // Every listing complete; one STS call, then one call per type and API (one page each).
    let coverage: Vec<(&str, usize)> = inventory
        .coverage
        .iter()
        .map(|c| {
            assert_eq!(c.listing, Listing::Complete, "{c:?}");
            (c.resource_type.as_str(), c.listed)
        })
        .collect();
    assert_eq!(
        coverage,
        [
            // Ours and moto's default VPC's.
            ("aws_default_security_group", 2),
            // web, app and the two default groups.
            ("aws_security_group", 4),
            // web: 6 in, 2 out; app and the default groups: their allow-all egress.
            ("aws_security_group_rule", 11),
            ("aws_vpc_security_group_egress_rule", 5),
            ("aws_vpc_security_group_ingress_rule", 6),
        ]
    );
    // STS, then each API once per scan, however many types read it.
    assert_eq!(requests, 1 + 2);

    let groups = attributes_of(&inventory, "aws_security_group");
    let web = &world.web;
    let app = &world.app;
    assert_eq!(
        find(&groups, web),
        &json!({
            "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:security-group/{web}"),
            "description": "web tier",
            "egress": [allow_all_out(), element("tcp", 5432, 5432, "", json!({"security_groups": [app]}))],
            "id": web,
            "ingress": [
                element("-1", 0, 0, "", json!({"self": true})),
                element("tcp", 22, 22, "", json!({"security_groups": [app]})),
                element("tcp", 443, 443, "", json!({"ipv6_cidr_blocks": ["::/0"]})),
                element("tcp", 443, 443, "office", json!({"cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"]})),
                element("tcp", 8080, 8080, "", json!({"prefix_list_ids": [world.prefix_list]})),
            ],
            "name": "web",
            "owner_id": ACCOUNT_ID,
            "tags": {"Name": "web", "env": "test"},
            "tags_all": {"Name": "web", "env": "test"},
            "vpc_id": world.vpc,
        })
    );
    assert_eq!(
        find(&groups, app),
        &json!({
            "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:security-group/{app}"),
            "description": "app servers",
            "egress": [allow_all_out()],
            "id": app,
            "ingress": [],
            "name": "app",
            "owner_id": ACCOUNT_ID,
            "tags": {},
            "tags_all": {},
            "vpc_id": world.vpc,
        })
    );

    // The default groups: listed by both group types, default for both.
    let default_id = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(&world.vpc).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .security_groups
        .unwrap()[0]
        .group_id
        .clone()
        .unwrap();
    let defaults = attributes_of(&inventory, "aws_default_security_group");
    // moto gives a VPC's default group only the allow-all egress; AWS also
    // allows all ingress from the group itself.
    let expected_default = json!({
        "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:security-group/{default_id}"),
        "description": "default VPC security group",
        "egress": [allow_all_out()],
        "id": default_id,
        "ingress": [],
        "name": "default",
        "owner_id": ACCOUNT_ID,
        "tags": {},
        "tags_all": {},
        "vpc_id": world.vpc,
    });
    assert_eq!(find(&defaults, &default_id), &expected_default);
    assert_eq!(find(&groups, &default_id), &expected_default);
    let default_flags: Vec<(String, bool)> = groups
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_string(),
                (sg::SECURITY_GROUP.rules.is_default)(g),
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        default_flags,
        [
            ("app".to_string(), false),
            ("default".to_string(), true),
            ("web".to_string(), false)
        ]
    );
    assert!(
        defaults
            .iter()
            .all(|g| (sg::DEFAULT_SECURITY_GROUP.rules.is_default)(g))
    );

    // aws_security_group_rule: one object per AWS rule, under the provider's sgrule id.
    let rules = attributes_of(&inventory, "aws_security_group_rule");
    use sg::Source::*;
    let expected_rules = [
        sgrule(
            web,
            "ingress",
            "tcp",
            443,
            443,
            "office",
            Cidr("10.0.0.0/8".into()),
            &ids.office_10,
        ),
        sgrule(
            web,
            "ingress",
            "tcp",
            443,
            443,
            "office",
            Cidr("192.168.0.0/16".into()),
            &ids.office_192,
        ),
        sgrule(
            web,
            "ingress",
            "tcp",
            443,
            443,
            "",
            Ipv6("::/0".into()),
            &ids.https_ipv6,
        ),
        sgrule(
            web,
            "ingress",
            "tcp",
            22,
            22,
            "",
            Group(app.clone()),
            &ids.ssh_from_app,
        ),
        sgrule(
            web,
            "ingress",
            "-1",
            0,
            0,
            "",
            SelfGroup,
            &ids.all_from_self,
        ),
        sgrule(
            web,
            "ingress",
            "tcp",
            8080,
            8080,
            "",
            PrefixList(world.prefix_list.clone()),
            &ids.http_from_corp,
        ),
        sgrule(
            web,
            "egress",
            "-1",
            0,
            0,
            "",
            Cidr("0.0.0.0/0".into()),
            &ids.all_out,
        ),
        sgrule(
            web,
            "egress",
            "tcp",
            5432,
            5432,
            "",
            Group(app.clone()),
            &ids.postgres_to_app,
        ),
    ];
    for expected in &expected_rules {
        assert_eq!(find(&rules, expected["id"].as_str().unwrap()), expected);
    }
    // The allow-all egress AWS adds to every group is default; nothing else is.
    let default_rules: Vec<&str> = rules
        .iter()
        .filter(|r| (sg::SECURITY_GROUP_RULE.rules.is_default)(r))
        .map(|r| r["security_group_rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(default_rules.len(), 4, "{default_rules:?}");
    assert!(default_rules.contains(&ids.all_out.as_str()));

    // Every AWS rule, listed under both types, names its other listing: a
    // vpc rule's `driftd:security_group_rule` is the id of the
    // aws_security_group_rule with its sgr id (a state manages one of them).
    let by_sgr: BTreeMap<&str, &str> = rules
        .iter()
        .map(|r| {
            (
                r["security_group_rule_id"].as_str().unwrap(),
                r["id"].as_str().unwrap(),
            )
        })
        .collect();
    let mut vpc_rules = attributes_of(&inventory, "aws_vpc_security_group_ingress_rule");
    vpc_rules.extend(attributes_of(
        &inventory,
        "aws_vpc_security_group_egress_rule",
    ));
    assert!(!vpc_rules.is_empty());
    for rule in &vpc_rules {
        assert_eq!(
            rule[sg::SG_RULE_VIEW].as_str(),
            by_sgr.get(rule["id"].as_str().unwrap()).copied(),
            "{rule}"
        );
    }

    // aws_vpc_security_group_*_rule: one object per AWS rule, under its sgr id
    // (in the provider's shape, besides driftd's own `driftd:` attribute).
    let without_view = |mut rules: Vec<Value>| {
        for r in &mut rules {
            r.as_object_mut().unwrap().remove(sg::SG_RULE_VIEW);
        }
        rules
    };
    let ingress = without_view(attributes_of(
        &inventory,
        "aws_vpc_security_group_ingress_rule",
    ));
    let expected_ingress = [
        vpc_rule(
            web,
            &ids.office_10,
            "tcp",
            Some((443, 443)),
            json!({"cidr_ipv4": "10.0.0.0/8", "description": "office"}),
        ),
        vpc_rule(
            web,
            &ids.office_192,
            "tcp",
            Some((443, 443)),
            json!({"cidr_ipv4": "192.168.0.0/16", "description": "office"}),
        ),
        vpc_rule(
            web,
            &ids.https_ipv6,
            "tcp",
            Some((443, 443)),
            json!({"cidr_ipv6": "::/0"}),
        ),
        vpc_rule(
            web,
            &ids.ssh_from_app,
            "tcp",
            Some((22, 22)),
            json!({"referenced_security_group_id": app}),
        ),
        vpc_rule(
            web,
            &ids.all_from_self,
            "-1",
            None,
            json!({"referenced_security_group_id": web}),
        ),
        vpc_rule(
            web,
            &ids.http_from_corp,
            "tcp",
            Some((8080, 8080)),
            json!({"prefix_list_id": world.prefix_list}),
        ),
    ];
    assert_eq!(ingress.len(), expected_ingress.len());
    for expected in &expected_ingress {
        assert_eq!(find(&ingress, expected["id"].as_str().unwrap()), expected);
    }
    let egress = without_view(attributes_of(
        &inventory,
        "aws_vpc_security_group_egress_rule",
    ));
    assert_eq!(
        find(&egress, &ids.all_out),
        &vpc_rule(
            web,
            &ids.all_out,
            "-1",
            None,
            json!({"cidr_ipv4": "0.0.0.0/0"})
        )
    );
    assert_eq!(
        find(&egress, &ids.postgres_to_app),
        &vpc_rule(
            web,
            &ids.postgres_to_app,
            "tcp",
            Some((5432, 5432)),
            json!({"referenced_security_group_id": app, "tags": {"purpose": "db"}, "tags_all": {"purpose": "db"}})
        )
    );
    assert!((sg::VPC_SECURITY_GROUP_EGRESS_RULE.rules.is_default)(find(
        &egress,
        &ids.all_out
    )));
    assert!(!(sg::VPC_SECURITY_GROUP_EGRESS_RULE.rules.is_default)(
        find(&egress, &ids.postgres_to_app)
    ));
    assert!(
        ingress
            .iter()
            .all(|r| !(sg::VPC_SECURITY_GROUP_INGRESS_RULE.rules.is_default)(r))
    );

    // Every mapped attribute is in the provider's schema; what is not mapped is
    // deliberate and never compared.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/aws-provider-schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let not_mapped: [(&TypeDef, &[&str]); 5] = [
        (
            &sg::SECURITY_GROUP,
            &["name_prefix", "revoke_rules_on_delete", "timeouts"],
        ),
        (
            &sg::DEFAULT_SECURITY_GROUP,
            &["name_prefix", "revoke_rules_on_delete"],
        ),
        (&sg::SECURITY_GROUP_RULE, &["timeouts"]),
        (&sg::VPC_SECURITY_GROUP_INGRESS_RULE, &[]),
        (&sg::VPC_SECURITY_GROUP_EGRESS_RULE, &[]),
    ];
    for (def, deliberately) in not_mapped {
        let resource_type = def.rules.resource_type;
        let block = &schema["resource_schemas"][resource_type]["block"];
        let in_schema: BTreeSet<&str> = block["attributes"]
            .as_object()
            .unwrap()
            .keys()
            .chain(
                block
                    .get("block_types")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|b| b.keys()),
            )
            .map(String::as_str)
            .collect();
        let objects = attributes_of(&inventory, resource_type);
        assert!(!objects.is_empty(), "{resource_type}");
        for object in &objects {
            // driftd's own live-only attributes (`driftd:…`) are not the provider's.
            let mapped: BTreeSet<&str> = object
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|k| *k != sg::SG_RULE_VIEW)
                .collect();
            assert!(
                mapped.is_subset(&in_schema),
                "{resource_type}: {:?}",
                mapped.difference(&in_schema)
            );
            let unmapped: Vec<&str> = in_schema.difference(&mapped).copied().collect();
            assert_eq!(unmapped, deliberately, "{resource_type}");
            assert!(
                unmapped.iter().all(|a| def.rules.ignore.contains(a)),
                "{resource_type}: what is not mapped must be ignored"
            );
        }
    }
    // Inline rule elements carry exactly the schema's element attributes.
    let element_type = &schema["resource_schemas"]["aws_security_group"]["block"]["attributes"]["ingress"]
        ["type"][1][1];
    let element_attributes: BTreeSet<&String> = element_type.as_object().unwrap().keys().collect();
    for e in find(&groups, web)["ingress"].as_array().unwrap() {
        assert_eq!(
            e.as_object().unwrap().keys().collect::<BTreeSet<_>>(),
            element_attributes
        );
    }
}

/// What the diff does with a pair: fold the desired children into the parent,
/// normalise both sides, drop what is never compared.
fn compare(
    rules: &TypeRules,
    mut desired: Value,
    mut live: Value,
    children: &[(&str, Value)],
) -> (Value, Value) {
    for fold in rules.folds {
        for (child_type, child) in children {
            if fold.child_types.contains(child_type)
                && child[fold.parent_id_attribute] == desired["id"]
            {
                (fold.remove_child)(&mut desired, &mut live, child_type, child);
            }
        }
    }
    (rules.normalize)(&mut desired, &mut live);
    for name in rules.ignore {
        desired.as_object_mut().unwrap().remove(*name);
        live.as_object_mut().unwrap().remove(*name);
    }
    (desired, live)
}

/// The web group as Terraform writes it when its rules are separate
/// resources: the inline copies empty (written before any refresh).
fn web_in_state(live_web: &Value) -> Value {
    let mut desired = live_web.clone();
    desired["ingress"] = json!([]);
    desired["egress"] = json!([]);
    desired["name_prefix"] = json!("");
    desired["revoke_rules_on_delete"] = json!(false);
    desired["timeouts"] = Value::Null;
    desired
}

/// The web group's rules as separate resources, in the shapes hashicorp/aws
/// 5.x writes (see the corpus states): a mix of both rule styles.
fn web_children_in_state(world: &World, ids: &WebRuleIds) -> Vec<(&'static str, Value)> {
    let web = &world.web;
    let app = &world.app;
    let mut office = json!({"cidr_blocks": ["10.0.0.0/8", "192.168.0.0/16"], "description": "office", "from_port": 443,
        "ipv6_cidr_blocks": null, "prefix_list_ids": [], "protocol": "tcp", "security_group_id": web,
        "security_group_rule_id": ids.office_10, "self": false, "source_security_group_id": null, "timeouts": null,
        "to_port": 443, "type": "ingress"});
    office["id"] = json!(sg::security_group_rule_id_of(&office).unwrap());
    let mut ssh = json!({"cidr_blocks": null, "description": "", "from_port": 22, "ipv6_cidr_blocks": null,
        "prefix_list_ids": [], "protocol": "tcp", "security_group_id": web, "security_group_rule_id": ids.ssh_from_app,
        "self": false, "source_security_group_id": app, "timeouts": null, "to_port": 22, "type": "ingress"});
    ssh["id"] = json!(sg::security_group_rule_id_of(&ssh).unwrap());
    let mut corp = json!({"cidr_blocks": null, "description": "", "from_port": 8080, "ipv6_cidr_blocks": null,
        "prefix_list_ids": [world.prefix_list], "protocol": "tcp", "security_group_id": web,
        "security_group_rule_id": ids.http_from_corp, "self": false, "source_security_group_id": null, "timeouts": null,
        "to_port": 8080, "type": "ingress"});
    corp["id"] = json!(sg::security_group_rule_id_of(&corp).unwrap());
    let mut all_out = json!({"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "ipv6_cidr_blocks": null,
        "prefix_list_ids": [], "protocol": "-1", "security_group_id": web, "security_group_rule_id": ids.all_out,
        "self": false, "source_security_group_id": null, "timeouts": null, "to_port": 0, "type": "egress"});
    all_out["id"] = json!(sg::security_group_rule_id_of(&all_out).unwrap());
    vec![
        ("aws_security_group_rule", office),
        ("aws_security_group_rule", ssh),
        ("aws_security_group_rule", corp),
        ("aws_security_group_rule", all_out),
        (
            "aws_vpc_security_group_ingress_rule",
            vpc_rule(
                web,
                &ids.https_ipv6,
                "tcp",
                Some((443, 443)),
                json!({"cidr_ipv6": "::/0"}),
            ),
        ),
        (
            "aws_vpc_security_group_ingress_rule",
            vpc_rule(
                web,
                &ids.all_from_self,
                "-1",
                None,
                json!({"referenced_security_group_id": web}),
            ),
        ),
        (
            "aws_vpc_security_group_egress_rule",
            vpc_rule(
                web,
                &ids.postgres_to_app,
                "tcp",
                Some((5432, 5432)),
                json!({"referenced_security_group_id": app, "tags": {"purpose": "db"}, "tags_all": {"purpose": "db"}}),
            ),
        ),
    ]
}

#[tokio::test]
async fn rules_managed_as_separate_resources_fold_out_of_their_group() {
    let moto = MotoServer::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let world = build_world(&ec2).await;
    let ids = web_rule_ids(&ec2, &world).await;
    let (inventory, _) = collect_types(&moto, &ALL_TYPES).await;
    let live_web = find(&attributes_of(&inventory, "aws_security_group"), &world.web).clone();
    let children = web_children_in_state(&world, &ids);

    let (desired, live) = compare(
        sg::SECURITY_GROUP.rules,
        web_in_state(&live_web),
        live_web.clone(),
        &children,
    );
    assert_eq!(desired, live);

    // Each child equals its live rule, the multi-CIDR one through its parts.
    for (child_type, child) in &children {
        let def = ALL_TYPES
            .iter()
            .find(|d| d.rules.resource_type == *child_type)
            .unwrap();
        let live_rules = attributes_of(&inventory, child_type);
        let parts = driftd::aws::types::split_desired(child_type, child)
            .unwrap_or_else(|| vec![(child["id"].as_str().unwrap().to_string(), child.clone())]);
        if child["cidr_blocks"]
            .as_array()
            .is_some_and(|c| c.len() == 2)
        {
            assert_eq!(parts.len(), 2);
        }
        for (id, part) in parts {
            let live_rule = find(&live_rules, &id).clone();
            let (desired, live) = compare(def.rules, part, live_rule, &[]);
            assert_eq!(desired, live, "{child_type} {id}");
        }
    }

    // A person opens SSH to the world: the group differs by exactly that rule.
    ec2.authorize_security_group_ingress()
        .group_id(&world.web)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (inventory, _) = collect_types(&moto, &[&sg::SECURITY_GROUP]).await;
    let live_web = find(&attributes_of(&inventory, "aws_security_group"), &world.web).clone();
    let (desired, live) = compare(
        sg::SECURITY_GROUP.rules,
        web_in_state(&live_web),
        live_web,
        &children,
    );
    assert_eq!(desired["ingress"], json!([]));
    assert_eq!(
        live["ingress"],
        json!([element(
            "tcp",
            22,
            22,
            "",
            json!({"cidr_blocks": ["0.0.0.0/0"]})
        )])
    );
    assert_eq!(desired["egress"], live["egress"]);
}

#[tokio::test]
async fn inline_rules_as_terraform_writes_them_equal_the_live_group() {
    let moto = MotoServer::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let world = build_world(&ec2).await;
    let (inventory, _) = collect_types(&moto, &[&sg::SECURITY_GROUP]).await;
    let live_web = find(&attributes_of(&inventory, "aws_security_group"), &world.web).clone();
    let app = &world.app;
    // The provider's element shape, in the state's own (hash) order, the
    // protocol as configured ("all", "6"), the app group with its account.
    let mut desired = web_in_state(&live_web);
    desired["ingress"] = json!([
        element(
            "6",
            443,
            443,
            "office",
            json!({"cidr_blocks": ["192.168.0.0/16", "10.0.0.0/8"]})
        ),
        element(
            "tcp",
            8080,
            8080,
            "",
            json!({"prefix_list_ids": [world.prefix_list]})
        ),
        element("all", 0, 0, "", json!({"self": true})),
        element(
            "tcp",
            22,
            22,
            "",
            json!({"security_groups": [format!("{ACCOUNT_ID}/{app}")]})
        ),
        element("tcp", 443, 443, "", json!({"ipv6_cidr_blocks": ["::/0"]})),
    ]);
    desired["egress"] = json!([
        element("tcp", 5432, 5432, "", json!({"security_groups": [app]})),
        allow_all_out(),
    ]);
    let (d, l) = compare(
        sg::SECURITY_GROUP.rules,
        desired.clone(),
        live_web.clone(),
        &[],
    );
    assert_eq!(d, l);

    // A description edited in the console is a difference.
    desired["ingress"][0]["description"] = json!("vpn");
    let (d, l) = compare(sg::SECURITY_GROUP.rules, desired, live_web, &[]);
    assert_ne!(d["ingress"], l["ingress"]);
    assert_eq!(d["egress"], l["egress"]);
}

/// The provider's `sgrule-` ids, recomputed for every `aws_security_group_rule`
/// in the corpus's real states (Terraform 0.12 to 1.3, several provider majors).
#[test]
fn sgrule_ids_of_every_corpus_rule() {
    let root = crate::support::corpus_dir().join("terraform-state");
    let mut checked = 0;
    for dir in ["aws", "driftctl-fixtures"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let Ok(state) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
                continue;
            };
            for resource in state["resources"].as_array().into_iter().flatten() {
                if resource["type"] != "aws_security_group_rule" {
                    continue;
                }
                for instance in resource["instances"].as_array().unwrap() {
                    let attributes = &instance["attributes"];
                    assert_eq!(
                        sg::security_group_rule_id_of(attributes).as_deref(),
                        attributes["id"].as_str(),
                        "{}: {attributes}",
                        path.display()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} rules in the corpus");
}

// ---------------------------------------------------------------------------
// Paging (moto answers DescribeSecurityGroups and DescribeSecurityGroupRules
// in one page whatever MaxResults says, so a small EC2 stand-in pages here)

/// One request to the stand-in: Action, NextToken, MaxResults.
type Asked = (String, Option<String>, Option<String>);

/// What the paging EC2 stand-in serves and records.
#[derive(Default)]
struct PagingEc2 {
    /// Every (Action, NextToken, MaxResults) asked for.
    asked: std::sync::Mutex<Vec<Asked>>,
    /// Answer the second page of groups with this HTTP status instead.
    fail_second_group_page: Option<u16>,
    /// Hand out the first page's token again on the second page.
    repeat_token: bool,
}

const EC2_XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

fn group_xml(n: u32) -> String {
    format!(
        "<item><ownerId>{ACCOUNT_ID}</ownerId><groupId>sg-{n:017}</groupId><groupName>g{n}</groupName>\
         <groupDescription>group {n}</groupDescription><vpcId>vpc-00000000000000001</vpcId>\
         <ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>443</fromPort><toPort>443</toPort>\
         <ipRanges><item><cidrIp>10.{n}.0.0/16</cidrIp></item></ipRanges></item></ipPermissions>\
         <ipPermissionsEgress/><tagSet/></item>"
    )
}

fn rule_xml(n: u32) -> String {
    format!(
        "<item><securityGroupRuleId>sgr-{n:017}</securityGroupRuleId><groupId>sg-{n:017}</groupId>\
         <groupOwnerId>{ACCOUNT_ID}</groupOwnerId><isEgress>false</isEgress><ipProtocol>tcp</ipProtocol>\
         <fromPort>443</fromPort><toPort>443</toPort><cidrIpv4>10.{n}.0.0/16</cidrIpv4><tagSet/></item>"
    )
}

/// Five groups (one rule each) in pages of two: tokens "2" and "4".
fn paged(
    items: impl Fn(u32) -> String,
    token: Option<&str>,
    repeat: bool,
) -> (String, Option<String>) {
    let start: u32 = token.map_or(0, |t| t.parse().unwrap());
    let end = (start + 2).min(5);
    let body: String = (start + 1..=end).map(items).collect();
    let next = if repeat && start == 2 {
        Some("2".to_string())
    } else {
        (end < 5).then(|| end.to_string())
    };
    (body, next)
}

async fn paging_ec2(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<PagingEc2>>,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let form: std::collections::HashMap<String, String> = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2F", "/")))
        .collect();
    let action = form.get("Action").cloned().unwrap_or_default();
    let token = form.get("NextToken").cloned();
    state.asked.lock().unwrap().push((
        action.clone(),
        token.clone(),
        form.get("MaxResults").cloned(),
    ));
    let xml = |text: String| ([("content-type", "text/xml")], text).into_response();
    match action.as_str() {
        "GetCallerIdentity" => xml(format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws:iam::{ACCOUNT_ID}:user/test</Arn><UserId>AIDATEST</UserId><Account>{ACCOUNT_ID}</Account>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        )),
        "DescribeSecurityGroups" => {
            if let (Some(status), Some("2")) = (state.fail_second_group_page, token.as_deref()) {
                return (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "text/xml")],
                    "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>\
                     </Error></Errors><RequestID>r</RequestID></Response>",
                )
                    .into_response();
            }
            let (items, next) = paged(group_xml, token.as_deref(), state.repeat_token);
            let next = next
                .map(|t| format!("<nextToken>{t}</nextToken>"))
                .unwrap_or_default();
            xml(format!(
                "<DescribeSecurityGroupsResponse xmlns=\"{EC2_XMLNS}\"><requestId>r</requestId>\
                 <securityGroupInfo>{items}</securityGroupInfo>{next}</DescribeSecurityGroupsResponse>"
            ))
        }
        "DescribeSecurityGroupRules" => {
            let (items, next) = paged(rule_xml, token.as_deref(), false);
            let next = next
                .map(|t| format!("<nextToken>{t}</nextToken>"))
                .unwrap_or_default();
            xml(format!(
                "<DescribeSecurityGroupRulesResponse xmlns=\"{EC2_XMLNS}\"><requestId>r</requestId>\
                 <securityGroupRuleSet>{items}</securityGroupRuleSet>{next}</DescribeSecurityGroupRulesResponse>"
            ))
        }
        other => (
            axum::http::StatusCode::BAD_REQUEST,
            format!("unexpected action {other}"),
        )
            .into_response(),
    }
}

/// Starts the stand-in; returns its endpoint and what it recorded.
async fn start_paging_ec2(behaviour: PagingEc2) -> (String, std::sync::Arc<PagingEc2>) {
    let state = std::sync::Arc::new(behaviour);
    let app = axum::Router::new()
        .route("/", axum::routing::post(paging_ec2))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

async fn collect_from(url: &str, types: &[&'static TypeDef]) -> LiveInventory {
    let scope = AwsScope {
        endpoint_url: Some(url.to_string()),
        cloudtrail: Default::default(),
        ..scope_without_endpoint()
    };
    let options = CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        max_attempts: 1,
        ..CollectOptions::default()
    };
    collect(&scope, types, &options, &SecretKey::from_bytes([7; 32]))
        .await
        .0
}

fn scope_without_endpoint() -> AwsScope {
    AwsScope {
        regions: vec![REGION.to_string()],
        accounts: vec![AwsAccount {
            id: ACCOUNT_ID.to_string(),
            role_arn: None,
            external_id: None,
        }],
        profile: None,
        endpoint_url: None,
        cloudtrail: Default::default(),
    }
}

#[tokio::test]
async fn every_page_of_groups_and_rules_is_read() {
    let (url, ec2) = start_paging_ec2(PagingEc2::default()).await;
    let inventory = collect_from(&url, &ALL_TYPES[..3]).await;
    let listed: Vec<(&str, usize)> = inventory
        .coverage
        .iter()
        .map(|c| {
            assert_eq!(c.listing, Listing::Complete, "{c:?}");
            (c.resource_type.as_str(), c.listed)
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("aws_default_security_group", 0),
            ("aws_security_group", 5),
            ("aws_security_group_rule", 5),
        ]
    );
    // The rule from the last page has its sgr id from the last page of rules.
    let rules = attributes_of(&inventory, "aws_security_group_rule");
    let last = rules
        .iter()
        .find(|r| r["security_group_id"] == "sg-00000000000000005")
        .unwrap();
    assert_eq!(last["security_group_rule_id"], "sgr-00000000000000005");
    assert_eq!(last["cidr_blocks"], json!(["10.5.0.0/16"]));

    // Three pages per listing, each asked once, at the largest page size.
    let mut asked = ec2.asked.lock().unwrap().clone();
    asked.retain(|(action, _, _)| action != "GetCallerIdentity");
    asked.sort();
    let page = |action: &str, token: Option<&str>| {
        (
            action.to_string(),
            token.map(str::to_string),
            Some("1000".to_string()),
        )
    };
    let mut expected = Vec::new();
    // Groups: once for aws_security_group, aws_default_security_group and
    // aws_security_group_rule together.
    expected.extend([
        page("DescribeSecurityGroups", None),
        page("DescribeSecurityGroups", Some("2")),
        page("DescribeSecurityGroups", Some("4")),
    ]);
    expected.extend([
        page("DescribeSecurityGroupRules", None),
        page("DescribeSecurityGroupRules", Some("2")),
        page("DescribeSecurityGroupRules", Some("4")),
    ]);
    expected.sort();
    assert_eq!(asked, expected);
}

#[tokio::test]
async fn a_failed_page_makes_the_listing_unknown_not_short() {
    let (url, _) = start_paging_ec2(PagingEc2 {
        fail_second_group_page: Some(503),
        ..PagingEc2::default()
    })
    .await;
    let inventory = collect_from(&url, &[&sg::SECURITY_GROUP, &sg::SECURITY_GROUP_RULE]).await;
    assert!(inventory.resources.is_empty(), "{:?}", inventory.resources);
    for c in &inventory.coverage {
        match &c.listing {
            Listing::Unknown { reason } => assert!(
                reason.contains("ec2:DescribeSecurityGroups")
                    && reason.contains("RequestLimitExceeded"),
                "{reason}"
            ),
            Listing::Complete => panic!("{c:?}"),
        }
    }
    assert!(inventory.is_partial());
}

#[tokio::test]
async fn a_token_handed_out_twice_makes_the_listing_unknown() {
    let (url, _) = start_paging_ec2(PagingEc2 {
        repeat_token: true,
        ..PagingEc2::default()
    })
    .await;
    let inventory = collect_from(&url, &[&sg::SECURITY_GROUP]).await;
    assert!(inventory.resources.is_empty());
    assert!(
        matches!(&inventory.coverage[0].listing, Listing::Unknown { reason } if reason.contains("twice")),
        "{:?}",
        inventory.coverage
    );
}

/// Every group in the corpus's real states (provider 2.x to 5.x shapes)
/// against a live listing of the same rules in another order and spelling,
/// after folding the state's own rule resources: no difference.
#[test]
fn corpus_groups_show_no_drift_against_their_own_rules() {
    let root = crate::support::corpus_dir().join("terraform-state/aws");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let Ok(state) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        let managed: Vec<(&str, &Value)> = state["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["mode"] == "managed")
            .flat_map(|r| {
                let t = r["type"].as_str().unwrap();
                r["instances"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |i| (t, &i["attributes"]))
            })
            .collect();
        let children: Vec<(&str, Value)> = managed
            .iter()
            .filter(|(t, _)| {
                t.contains("security_group_rule") || t.starts_with("aws_vpc_security_group_")
            })
            .map(|(t, a)| (*t, (*a).clone()))
            .collect();
        for (t, desired) in &managed {
            if !desired.is_object() {
                continue;
            }
            let Some(def) = ALL_TYPES
                .iter()
                .find(|d| d.rules.resource_type == *t && t.ends_with("security_group"))
            else {
                continue;
            };
            // What the listing would say: the same rules, elements reversed and
            // their sources reversed, protocols as numbers, all tags in tags_all.
            let mut live = (*desired).clone();
            let obj = live.as_object_mut().unwrap();
            for name in def.rules.ignore {
                obj.remove(*name);
            }
            let all_tags = obj
                .get("tags_all")
                .or(obj.get("tags"))
                .cloned()
                .unwrap_or(json!({}));
            obj.insert("tags".into(), all_tags.clone());
            obj.insert("tags_all".into(), all_tags);
            for direction in ["ingress", "egress"] {
                let mut elements = obj
                    .get(direction)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                elements.reverse();
                for e in &mut elements {
                    if let Some(list) = e["cidr_blocks"].as_array_mut() {
                        list.reverse();
                    }
                    e["protocol"] = match e["protocol"].as_str() {
                        Some("tcp") => json!("6"),
                        Some("udp") => json!("17"),
                        _ => e["protocol"].clone(),
                    };
                }
                obj.insert(direction.into(), json!(elements));
            }
            let (d, l) = compare(def.rules, (*desired).clone(), live, &children);
            assert_eq!(d, l, "{} {t}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} groups");
}

// ---------------------------------------------------------------------------
// The referee: states the real provider (hashicorp/aws 5.100.0) wrote against
// moto equal the live mapping after the folds, before and after a refresh; a
// person's changes give the drift `terraform plan -refresh-only` finds. Until
// the harness's `support::terraform` lands on main, this runs Terraform with a
// minimal local helper.

/// Every type and rule style: inline rules (two CIDRs, IPv4 + IPv6, self,
/// another group, protocol "6" and "all"), separate rules of both kinds (several
/// sources in one, self, another group, "all", ICMP -1), `name_prefix`, the
/// default group, `default_tags`.
const SG_CONFIG: &str = r#"
resource "aws_vpc" "main" {
  cidr_block = "10.40.0.0/16"
}
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.main.id
  ingress {
    protocol  = -1
    self      = true
    from_port = 0
    to_port   = 0
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "web" {
  name        = "driftd-web"
  description = "web tier, inline rules"
  vpc_id      = aws_vpc.main.id
  ingress {
    description      = "https"
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }
  ingress {
    description = "http from the vpc"
    from_port   = 80
    to_port     = 80
    protocol    = "6"
    cidr_blocks = ["10.40.0.0/16", "10.50.0.0/16"]
  }
  ingress {
    from_port = 0
    to_port   = 0
    protocol  = "all"
    self      = true
  }
  ingress {
    from_port       = 22
    to_port         = 22
    protocol        = "tcp"
    security_groups = [aws_security_group.app.id]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = { Name = "driftd-web" }
}
resource "aws_security_group" "app" {
  name_prefix = "driftd-app-"
  description = "app tier, separate rule resources"
  vpc_id      = aws_vpc.main.id
  tags        = { Name = "driftd-app" }
}
resource "aws_security_group_rule" "multi" {
  type              = "ingress"
  security_group_id = aws_security_group.app.id
  from_port         = 8080
  to_port           = 8080
  protocol          = "tcp"
  cidr_blocks       = ["10.1.0.0/16", "10.2.0.0/16"]
  ipv6_cidr_blocks  = ["2001:db8::/32"]
  description       = "multi"
}
resource "aws_security_group_rule" "self" {
  type              = "ingress"
  security_group_id = aws_security_group.app.id
  from_port         = 53
  to_port           = 53
  protocol          = "udp"
  self              = true
}
resource "aws_security_group_rule" "from_web" {
  type                     = "ingress"
  security_group_id        = aws_security_group.app.id
  from_port                = 9000
  to_port                  = 9000
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.web.id
  description              = "from web"
}
resource "aws_security_group_rule" "out" {
  type              = "egress"
  security_group_id = aws_security_group.app.id
  from_port         = 0
  to_port           = 0
  protocol          = "all"
  cidr_blocks       = ["0.0.0.0/0"]
}
resource "aws_vpc_security_group_ingress_rule" "ssh" {
  security_group_id = aws_security_group.app.id
  cidr_ipv4         = "10.40.0.0/16"
  from_port         = 22
  to_port           = 22
  ip_protocol       = "tcp"
  description       = "ssh from the vpc"
  tags              = { Name = "app-ssh" }
}
resource "aws_vpc_security_group_ingress_rule" "icmp" {
  security_group_id            = aws_security_group.app.id
  referenced_security_group_id = aws_security_group.web.id
  from_port                    = -1
  to_port                      = -1
  ip_protocol                  = "icmp"
}
resource "aws_vpc_security_group_egress_rule" "all6" {
  security_group_id = aws_security_group.app.id
  cidr_ipv6         = "::/0"
  ip_protocol       = "-1"
}
"#;

/// The provider filesystem mirror: `DRIFTD_TF_PLUGIN_MIRROR`, else the folder
/// above `registry.terraform.io` found under `/opt`, `/usr/local` or `/root`.
fn plugin_mirror() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("DRIFTD_TF_PLUGIN_MIRROR") {
        return dir.into();
    }
    fn search(dir: &std::path::Path, depth: usize) -> Option<std::path::PathBuf> {
        if dir.join("registry.terraform.io/hashicorp/aws").is_dir() {
            return Some(dir.to_path_buf());
        }
        if depth == 0 {
            return None;
        }
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .find_map(|e| search(&e.path(), depth - 1))
    }
    ["/opt", "/usr/local", "/root"]
        .iter()
        .find_map(|root| search(std::path::Path::new(root), 3))
        .expect(
            "no hashicorp/aws provider mirror under /opt, /usr/local or /root: \
             set DRIFTD_TF_PLUGIN_MIRROR to the folder above registry.terraform.io",
        )
}

/// Runs Terraform in `dir` with a cleared environment; its stdout.
fn terraform(dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("terraform on PATH (1.11)");
    assert!(
        output.status.success(),
        "terraform {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// driftd's verdict on each state resource of the security group types, by
/// address: "missing" (a part of it is not listed), "changed" (some part
/// differs after folds and normalisation) or "equal".
async fn verdicts(moto: &MotoServer, state: &Value) -> BTreeMap<String, &'static str> {
    let (inventory, _) = collect_types(moto, &ALL_TYPES).await;
    let mut desired: Vec<(String, &str, Value)> = Vec::new();
    for r in state["resources"].as_array().unwrap() {
        let t = r["type"].as_str().unwrap();
        if ALL_TYPES.iter().any(|d| d.rules.resource_type == t) {
            for i in r["instances"].as_array().unwrap() {
                let address = format!("{t}.{}", r["name"].as_str().unwrap());
                desired.push((address, t, i["attributes"].clone()));
            }
        }
    }
    let children: Vec<(&str, Value)> = desired.iter().map(|(_, t, a)| (*t, a.clone())).collect();
    let mut verdicts = BTreeMap::new();
    for (address, t, attributes) in &desired {
        let def = ALL_TYPES
            .iter()
            .find(|d| d.rules.resource_type == *t)
            .unwrap();
        let live = attributes_of(&inventory, t);
        let parts = driftd::aws::types::split_desired(t, attributes).unwrap_or_else(|| {
            vec![(
                attributes["id"].as_str().unwrap().to_string(),
                attributes.clone(),
            )]
        });
        let mut verdict = "equal";
        for (id, part) in parts {
            let Some(live) = live.iter().find(|l| l["id"] == id.as_str()) else {
                verdict = "missing";
                break;
            };
            let (d, l) = compare(def.rules, part, live.clone(), &children);
            if d != l {
                verdict = "changed";
            }
        }
        verdicts.insert(address.clone(), verdict);
    }
    verdicts
}

fn read_state(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("terraform.tfstate")).unwrap()).unwrap()
}

#[tokio::test]
async fn terraform_states_equal_the_live_mapping_and_drift_matches_terraforms() {
    let moto = MotoServer::start();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto.endpoint_url();
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            plugin_mirror().display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("provider.tf"),
        format!(
            r#"terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws", version = "5.100.0" }}
  }}
}}
provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
    ec2 = "{endpoint}"
    sts = "{endpoint}"
  }}
  default_tags {{
    tags = {{ managed_by = "terraform" }}
  }}
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("main.tf"), SG_CONFIG).unwrap();
    terraform(dir.path(), &["init", "-input=false"]);
    terraform(
        dir.path(),
        &["apply", "-auto-approve", "-input=false", "-parallelism=1"],
    );

    // Right after the apply the app group's inline copies are empty (its rules
    // came later): the folds hide that. After a refresh they hold copies.
    let state = read_state(dir.path());
    let all_equal = |v: &BTreeMap<String, &str>| v.values().all(|v| *v == "equal");
    let before = verdicts(&moto, &state).await;
    assert_eq!(before.len(), 10, "{before:?}");
    assert!(all_equal(&before), "{before:#?}");
    terraform(
        dir.path(),
        &[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-parallelism=1",
        ],
    );
    let state = read_state(dir.path());
    let after = verdicts(&moto, &state).await;
    assert!(all_equal(&after), "{after:#?}");

    // A person opens SSH to the world on app, drops a CIDR of web's inline
    // http rule and one of the multi rule's CIDRs.
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let group_id = |name: &str| {
        state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "aws_security_group" && r["name"] == name)
            .unwrap()["instances"][0]["attributes"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let tcp = |port: i32, cidr: &str| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
            .build()
    };
    ec2.authorize_security_group_ingress()
        .group_id(group_id("app"))
        .ip_permissions(tcp(22, "0.0.0.0/0"))
        .send()
        .await
        .unwrap();
    ec2.revoke_security_group_ingress()
        .group_id(group_id("web"))
        .ip_permissions(tcp(80, "10.50.0.0/16"))
        .send()
        .await
        .unwrap();
    ec2.revoke_security_group_ingress()
        .group_id(group_id("app"))
        .ip_permissions(tcp(8080, "10.2.0.0/16"))
        .send()
        .await
        .unwrap();

    let plan = terraform(
        dir.path(),
        &[
            "plan",
            "-refresh-only",
            "-json",
            "-input=false",
            "-parallelism=1",
        ],
    );
    let mut terraform_says: BTreeMap<String, &str> = BTreeMap::new();
    for line in plan.lines() {
        let message: Value = serde_json::from_str(line).unwrap();
        if message["type"] == "resource_drift" {
            let change = &message["change"];
            let verdict = match change["action"].as_str().unwrap() {
                "delete" => "missing",
                "update" => "changed",
                other => panic!("unexpected drift action {other}"),
            };
            terraform_says.insert(
                change["resource"]["addr"].as_str().unwrap().to_string(),
                verdict,
            );
        }
    }
    let driftd_says: BTreeMap<String, &str> = verdicts(&moto, &state)
        .await
        .into_iter()
        .filter(|(_, v)| *v != "equal")
        .collect();
    assert_eq!(
        terraform_says,
        BTreeMap::from([
            ("aws_security_group.app".to_string(), "changed"),
            ("aws_security_group.web".to_string(), "changed"),
            ("aws_security_group_rule.multi".to_string(), "missing"),
        ])
    );
    assert_eq!(driftd_says, terraform_says);
}
