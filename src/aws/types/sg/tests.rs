use super::*;
use crate::aws::ErrorKind;

/// Rules from real states, with the ids the provider wrote for them:
/// `driftctl-fixtures/test__aws_vpc_security_group_rule.tfstate` (Terraform
/// 0.12, several sources, prefix lists, `self`, protocol numbers) and
/// `aws/aws-eks-blueprints-base.tfstate` (Terraform 1.3, group references).
fn corpus_rules() -> Vec<Value> {
    vec![
        json!({"cidr_blocks": ["0.0.0.0/0"], "description": "Bar Full Open", "from_port": 0, "id": "sgrule-845917806", "ipv6_cidr_blocks": ["::/0"], "prefix_list_ids": [], "protocol": "-1", "security_group_id": "sg-0cc8b3c3c2851705a", "self": false, "source_security_group_id": null, "to_port": 0, "type": "egress"}),
        json!({"cidr_blocks": [], "description": "Baz 2", "from_port": 0, "id": "sgrule-2471889226", "ipv6_cidr_blocks": [], "prefix_list_ids": ["pl-abb451c2"], "protocol": "tcp", "security_group_id": "sg-0254c038e32f25530", "self": false, "source_security_group_id": null, "to_port": 0, "type": "ingress"}),
        json!({"cidr_blocks": ["1.2.0.0/16", "5.6.7.0/24"], "description": "Foo 5", "from_port": 0, "id": "sgrule-294318973", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "-1", "security_group_id": "sg-0254c038e32f25530", "self": false, "source_security_group_id": null, "to_port": 0, "type": "ingress"}),
        json!({"cidr_blocks": [], "description": "Test 1", "from_port": 0, "id": "sgrule-3970541193", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp", "security_group_id": "sg-0254c038e32f25530", "self": true, "source_security_group_id": "sg-0254c038e32f25530", "to_port": 65535, "type": "ingress"}),
        json!({"cidr_blocks": [], "description": "", "from_port": 0, "id": "sgrule-1872529830", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "icmp", "security_group_id": "sg-0254c038e32f25530", "self": true, "source_security_group_id": "sg-0254c038e32f25530", "to_port": 0, "type": "ingress"}),
        json!({"cidr_blocks": ["0.0.0.0/0"], "description": "Stream", "from_port": 10, "id": "sgrule-894498715", "ipv6_cidr_blocks": null, "prefix_list_ids": null, "protocol": "5", "security_group_id": "sg-0cc8b3c3c2851705a", "self": false, "source_security_group_id": null, "to_port": 55, "type": "egress"}),
        json!({"cidr_blocks": null, "description": "Cluster API to node groups", "from_port": 443, "id": "sgrule-1559437258", "ipv6_cidr_blocks": null, "prefix_list_ids": [], "protocol": "tcp", "security_group_id": "sg-0fb1f68cd6fea450a", "security_group_rule_id": "sgr-088a58e09564f40a5", "self": false, "source_security_group_id": "sg-0ce6b81371c41a044", "timeouts": null, "to_port": 443, "type": "egress"}),
        json!({"cidr_blocks": null, "description": "Node to node CoreDNS", "from_port": 53, "id": "sgrule-2966071366", "ipv6_cidr_blocks": null, "prefix_list_ids": [], "protocol": "udp", "security_group_id": "sg-0ce6b81371c41a044", "security_group_rule_id": "sgr-09489014f80fc9da8", "self": true, "source_security_group_id": null, "timeouts": null, "to_port": 53, "type": "egress"}),
    ]
}

#[test]
fn sgrule_ids_match_the_ids_in_real_states() {
    for rule in corpus_rules() {
        assert_eq!(
            security_group_rule_id_of(&rule).as_deref(),
            rule["id"].as_str(),
            "{rule}"
        );
    }
}

#[test]
fn crc32_is_the_ieee_one() {
    // The check value of CRC-32/ISO-HDLC.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn protocols_are_spelt_as_the_provider_spells_them() {
    for (given, expected) in [
        ("-1", "-1"),
        ("all", "-1"),
        ("ALL", "-1"),
        ("6", "tcp"),
        ("TCP", "tcp"),
        ("17", "udp"),
        ("1", "icmp"),
        ("58", "icmpv6"),
        ("50", "50"),
    ] {
        assert_eq!(protocol_for_value(given), expected, "{given}");
    }
}

#[test]
fn a_multi_source_rule_splits_into_one_part_per_aws_rule() {
    let foo = &corpus_rules()[2];
    let parts = split_security_group_rule(foo).expect("two CIDRs are two AWS rules");
    let ids: Vec<&str> = parts.iter().map(|(id, _)| id.as_str()).collect();
    let expected = |cidr: &str| {
        sgrule_id(
            "sg-0254c038e32f25530",
            false,
            "-1",
            0,
            0,
            &[Source::Cidr(cidr.into())],
        )
    };
    assert_eq!(ids, [expected("1.2.0.0/16"), expected("5.6.7.0/24")]);
    assert_eq!(
        parts[1].1,
        json!({"cidr_blocks": ["5.6.7.0/24"], "description": "Foo 5", "from_port": 0, "id": expected("5.6.7.0/24"),
               "ipv6_cidr_blocks": null, "prefix_list_ids": null, "protocol": "-1", "security_group_id": "sg-0254c038e32f25530",
               "security_group_rule_id": null, "self": false, "source_security_group_id": null, "to_port": 0, "type": "ingress"})
    );
    // IPv4 and IPv6 "anywhere" in one resource are two AWS rules as well.
    assert_eq!(
        split_security_group_rule(&corpus_rules()[0]).map(|p| p.len()),
        Some(2)
    );
    // One source (`self` spelt twice by old providers is one): matched as itself.
    assert_eq!(split_security_group_rule(&corpus_rules()[3]), None);
    assert_eq!(split_security_group_rule(&corpus_rules()[6]), None);
}

#[test]
fn a_split_part_equals_the_live_rule_of_that_source() {
    let bar = &corpus_rules()[0];
    let parts = split_security_group_rule(bar).unwrap();
    let atom = Atom {
        egress: true,
        protocol: "-1".into(),
        from_port: 0,
        to_port: 0,
        source: Source::Ipv6("::/0".into()),
        description: "Bar Full Open".into(),
    };
    let mut live = rule_attributes("sg-0cc8b3c3c2851705a", &atom, json!("sgr-0123"));
    let (id, mut desired) = parts
        .into_iter()
        .find(|(id, _)| id == live["id"].as_str().unwrap())
        .expect("the IPv6 part has the live rule's id");
    assert_eq!(id, live["id"]);
    normalize_security_group_rule(&mut desired, &mut live);
    assert_eq!(desired, live);
}

#[test]
fn a_single_source_rule_from_state_equals_its_live_rule() {
    // eks-blueprints `egress_self_coredns_udp`, as listed live.
    let mut desired = corpus_rules()[7].clone();
    let atom = Atom {
        egress: true,
        protocol: "udp".into(),
        from_port: 53,
        to_port: 53,
        source: Source::SelfGroup,
        description: "Node to node CoreDNS".into(),
    };
    let mut live = rule_attributes(
        "sg-0ce6b81371c41a044",
        &atom,
        json!("sgr-09489014f80fc9da8"),
    );
    assert_eq!(live["id"], desired["id"]);
    desired.as_object_mut().unwrap().remove("timeouts");
    normalize_security_group_rule(&mut desired, &mut live);
    assert_eq!(desired, live);
    // Old providers wrote `source_security_group_id` = the group itself for `self`.
    let mut old = corpus_rules()[4].clone();
    let atom = Atom {
        egress: false,
        protocol: "icmp".into(),
        from_port: 0,
        to_port: 0,
        source: Source::SelfGroup,
        description: String::new(),
    };
    let mut live = rule_attributes("sg-0254c038e32f25530", &atom, json!("sgr-1"));
    assert_eq!(live["id"], old["id"]);
    normalize_security_group_rule(&mut old, &mut live);
    assert_eq!(old, live);
}

/// A group as the provider wrote it before refreshing: its rules live in
/// separate resources, the inline copies are still empty.
fn eks_node_group_in_state() -> Value {
    json!({"arn": "arn:aws:ec2:ap-northeast-2:532805286864:security-group/sg-0ce6b81371c41a044", "description": "EKS node shared security group",
           "egress": [], "id": "sg-0ce6b81371c41a044", "ingress": [], "name": "blueprints-terraform-node-20230108093542845900000003",
           "name_prefix": "blueprints-terraform-node-", "owner_id": "532805286864", "revoke_rules_on_delete": false,
           "tags": {"Name": "blueprints-terraform-node"}, "tags_all": {"Name": "blueprints-terraform-node"}, "timeouts": null, "vpc_id": "vpc-0f7785a91de4a28e3"})
}

fn element(protocol: &str, from: i64, to: i64, description: &str, fill: Value) -> Value {
    let mut e = json!({"cidr_blocks": [], "description": description, "from_port": from, "ipv6_cidr_blocks": [],
                       "prefix_list_ids": [], "protocol": protocol, "security_groups": [], "self": false, "to_port": to});
    for (k, v) in fill.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

/// The same group live: what the child rules created, and what AWS returns.
fn eks_node_group_live(extra_ingress: Option<Value>) -> Value {
    let mut ingress = vec![
        element(
            "tcp",
            443,
            443,
            "Cluster API to node groups",
            json!({"security_groups": ["sg-0fb1f68cd6fea450a"]}),
        ),
        element("tcp", 53, 53, "Node to node CoreDNS", json!({"self": true})),
    ];
    ingress.extend(extra_ingress);
    let mut live = eks_node_group_in_state();
    let obj = live.as_object_mut().unwrap();
    for name in ["name_prefix", "revoke_rules_on_delete", "timeouts"] {
        obj.remove(name);
    }
    live["ingress"] = json!(ingress);
    live["egress"] = json!([
        element(
            "tcp",
            443,
            443,
            "Egress all HTTPS to internet",
            json!({"cidr_blocks": ["0.0.0.0/0"]})
        ),
        element("udp", 53, 53, "Node to node CoreDNS", json!({"self": true})),
    ]);
    live
}

fn eks_node_children() -> Vec<(&'static str, Value)> {
    vec![
        (
            SG_RULE,
            json!({"cidr_blocks": null, "description": "Cluster API to node groups", "from_port": 443, "id": "sgrule-3736472314", "ipv6_cidr_blocks": null, "prefix_list_ids": [], "protocol": "tcp", "security_group_id": "sg-0ce6b81371c41a044", "security_group_rule_id": "sgr-02feebfc68590776d", "self": false, "source_security_group_id": "sg-0fb1f68cd6fea450a", "timeouts": null, "to_port": 443, "type": "ingress"}),
        ),
        (
            SG_RULE,
            json!({"cidr_blocks": null, "description": "Node to node CoreDNS", "from_port": 53, "id": "sgrule-838984684", "ipv6_cidr_blocks": null, "prefix_list_ids": [], "protocol": "tcp", "security_group_id": "sg-0ce6b81371c41a044", "security_group_rule_id": "sgr-0ab6d7aafa49649b7", "self": true, "source_security_group_id": null, "timeouts": null, "to_port": 53, "type": "ingress"}),
        ),
        (
            SG_RULE,
            json!({"cidr_blocks": ["0.0.0.0/0"], "description": "Egress all HTTPS to internet", "from_port": 443, "id": "sgrule-3921906419", "ipv6_cidr_blocks": null, "prefix_list_ids": [], "protocol": "tcp", "security_group_id": "sg-0ce6b81371c41a044", "security_group_rule_id": "sgr-0620895b0140b5716", "self": false, "source_security_group_id": null, "timeouts": null, "to_port": 443, "type": "egress"}),
        ),
        // The same kind of rule through the newer resource type.
        (
            EGRESS_RULE,
            json!({"arn": "arn:aws:ec2:ap-northeast-2:532805286864:security-group-rule/sgr-09489014f80fc9da8", "cidr_ipv4": null, "cidr_ipv6": null, "description": "Node to node CoreDNS", "from_port": 53, "id": "sgr-09489014f80fc9da8", "ip_protocol": "udp", "prefix_list_id": null, "referenced_security_group_id": "sg-0ce6b81371c41a044", "security_group_id": "sg-0ce6b81371c41a044", "security_group_rule_id": "sgr-09489014f80fc9da8", "tags": null, "tags_all": {}, "to_port": 53}),
        ),
    ]
}

/// What the diff does with a parent: fold every child, then normalise, then
/// compare what is neither ignored nor Terraform-only.
fn fold_and_normalize(mut desired: Value, mut live: Value) -> (Value, Value) {
    for (child_type, child) in eks_node_children() {
        (RULES_SECURITY_GROUP.folds[0].remove_child)(&mut desired, &mut live, child_type, &child);
    }
    (RULES_SECURITY_GROUP.normalize)(&mut desired, &mut live);
    for name in RULES_SECURITY_GROUP.ignore {
        desired.as_object_mut().unwrap().remove(*name);
        live.as_object_mut().unwrap().remove(*name);
    }
    (desired, live)
}

#[test]
fn child_rules_fold_out_of_both_sides_of_their_group() {
    let (desired, live) = fold_and_normalize(eks_node_group_in_state(), eks_node_group_live(None));
    assert_eq!(desired, live);
    assert_eq!(live["ingress"], json!([]));
    assert_eq!(live["egress"], json!([]));
}

#[test]
fn a_live_rule_no_child_manages_stays_and_differs() {
    let ssh = element("tcp", 22, 22, "", json!({"cidr_blocks": ["0.0.0.0/0"]}));
    let (desired, live) = fold_and_normalize(
        eks_node_group_in_state(),
        eks_node_group_live(Some(ssh.clone())),
    );
    assert_ne!(desired, live);
    assert_eq!(desired["ingress"], json!([]));
    assert_eq!(live["ingress"], json!([ssh]));
    assert_eq!(live["egress"], json!([]));
}

#[test]
fn a_child_with_several_sources_removes_only_its_own_atoms() {
    // The live element holds the child's two CIDRs and one the child does not manage,
    // all with the same description: one element in the provider's shape.
    let mut desired = json!({"id": "sg-0254c038e32f25530", "ingress": [], "egress": []});
    let mut live = json!({"id": "sg-0254c038e32f25530", "egress": [], "ingress": [
        element("-1", 0, 0, "Foo 5", json!({"cidr_blocks": ["1.2.0.0/16", "5.6.7.0/24", "9.9.9.0/24"]}))
    ]});
    let foo = &corpus_rules()[2];
    remove_child_rules(&mut desired, &mut live, SG_RULE, foo);
    assert_eq!(
        live["ingress"],
        json!([element(
            "-1",
            0,
            0,
            "Foo 5",
            json!({"cidr_blocks": ["9.9.9.0/24"]})
        )])
    );
    assert_eq!(desired["ingress"], json!([]));
}

#[test]
fn a_description_changed_out_of_band_is_the_childs_drift_not_the_groups() {
    let mut desired = eks_node_group_in_state();
    let mut live = eks_node_group_live(None);
    live["ingress"][0]["description"] = json!("edited in the console");
    for (child_type, child) in eks_node_children() {
        remove_child_rules(&mut desired, &mut live, child_type, &child);
    }
    assert_eq!(live["ingress"], json!([]));
}

#[test]
fn inline_rules_compare_by_atoms_not_by_spelling() {
    // The state (real shape, tf 1.13) vs a live listing that orders sources
    // differently and spells the protocol as a number.
    let mut desired = json!({"id": "sg-080d986c03556942f", "tags": {}, "tags_all": {}, "egress": [
        {"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": false, "to_port": 0}],
        "ingress": [
        {"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 5432, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp", "security_groups": [], "self": false, "to_port": 5432},
        {"cidr_blocks": [], "description": "", "from_port": 5432, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp", "security_groups": ["sg-035018362c84d95df"], "self": false, "to_port": 5432},
        {"cidr_blocks": [], "description": "", "from_port": 5432, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp", "security_groups": ["sg-0ddea2c0ad04c9a2c"], "self": false, "to_port": 5432}]});
    let mut live = json!({"id": "sg-080d986c03556942f", "tags": null, "tags_all": {}, "egress": [
        element("-1", 0, 0, "", json!({"cidr_blocks": ["0.0.0.0/0"]}))],
        "ingress": [element("6", 5432, 5432, "", json!({"cidr_blocks": ["0.0.0.0/0"], "security_groups": ["sg-0ddea2c0ad04c9a2c", "sg-035018362c84d95df"]}))]});
    normalize_group(&mut desired, &mut live);
    assert_eq!(desired, live);
}

#[test]
fn tags_from_default_tags_are_not_the_resources_own() {
    let mut desired = json!({"tags": {"Name": "web"}, "tags_all": {"Name": "web", "team": "net"}});
    let mut live =
        json!({"tags": {"Name": "web", "team": "net"}, "tags_all": {"Name": "web", "team": "net"}});
    normalize_tags(&mut desired, &mut live);
    assert_eq!(desired, live);
    // A tag added out of band shows in tags_all only.
    let mut desired = json!({"tags": {"Name": "web"}, "tags_all": {"Name": "web"}});
    let mut live =
        json!({"tags": {"Name": "web", "x": "1"}, "tags_all": {"Name": "web", "x": "1"}});
    normalize_tags(&mut desired, &mut live);
    assert_eq!(desired["tags"], live["tags"]);
    assert_ne!(desired["tags_all"], live["tags_all"]);
}

#[test]
fn states_without_tags_all_compare_all_tags() {
    // Terraform 0.12/0.13 states (kong-vpc-sg, eks-lon-kinbal) have no tags_all.
    let mut desired = json!({"tags": {"Name": "kong"}});
    let mut live = json!({"tags": {"Name": "kong"}, "tags_all": {"Name": "kong"}});
    normalize_tags(&mut desired, &mut live);
    assert_eq!(desired, live);
    let mut desired = json!({"tags": null});
    let mut live = json!({"tags": {"x": "1"}, "tags_all": {"x": "1"}});
    normalize_tags(&mut desired, &mut live);
    assert_ne!(desired, live, "a tag added out of band still shows");
}

#[test]
fn vpc_rules_normalise_protocol_and_unset_ports() {
    // Real state (tf 1.13, cms-npd): all protocols, ports null.
    let mut desired = json!({"arn": "arn:aws-us-gov:ec2:us-gov-west-1:250902968334:security-group-rule/sgr-0aafaa92d6510d024", "cidr_ipv4": "0.0.0.0/0", "cidr_ipv6": null, "description": null, "from_port": null, "id": "sgr-0aafaa92d6510d024", "ip_protocol": "-1", "prefix_list_id": null, "referenced_security_group_id": null, "security_group_id": "sg-035018362c84d95df", "security_group_rule_id": "sgr-0aafaa92d6510d024", "tags": null, "tags_all": {}, "to_port": null});
    let mut live = desired.clone();
    live["ip_protocol"] = json!("all");
    live["tags"] = json!({});
    normalize_vpc_rule(&mut desired, &mut live);
    assert_eq!(desired, live);
    assert!(is_default_vpc_egress_rule(&live));
    // ICMP "all types" written as -1 in the state, -1 → null live.
    let mut desired =
        json!({"ip_protocol": "icmp", "from_port": -1, "to_port": -1, "cidr_ipv4": "10.0.0.0/8"});
    let mut live = json!({"ip_protocol": "icmp", "from_port": null, "to_port": null, "cidr_ipv4": "10.0.0.0/8"});
    normalize_vpc_rule(&mut desired, &mut live);
    assert_eq!(desired, live);
}

#[test]
fn defaults() {
    assert!(is_default_group(&json!({"name": "default"})));
    assert!(!is_default_group(&json!({"name": "web"})));
    let bar = &corpus_rules()[0];
    assert!(!is_default_security_group_rule(bar), "it has a description");
    let mut plain = bar.clone();
    plain["description"] = json!("");
    assert!(is_default_security_group_rule(&plain));
    assert!(
        !is_default_security_group_rule(&corpus_rules()[2]),
        "ingress"
    );
}

#[tokio::test]
async fn every_page_is_read() {
    let pages: Vec<(Vec<u32>, Option<String>)> = vec![
        (vec![1, 2], Some("a".into())),
        (vec![], Some("b".into())),
        (vec![3], Some(String::new())),
    ];
    let mut asked = Vec::new();
    let all = all_pages("ec2:DescribeSecurityGroups", |token| {
        asked.push(token.clone());
        let n = asked.len() - 1;
        let page = pages[n].clone();
        async move { Ok(page) }
    })
    .await
    .unwrap();
    assert_eq!(all, [1, 2, 3]);
    assert_eq!(asked, [None, Some("a".into()), Some("b".into())]);
}

#[tokio::test]
async fn a_failed_page_fails_the_listing() {
    let mut calls = 0;
    let result: Result<Vec<u32>, _> = all_pages("ec2:DescribeSecurityGroupRules", |_| {
        calls += 1;
        let n = calls;
        async move {
            if n == 1 {
                Ok((vec![1], Some("next".to_string())))
            } else {
                Err(CollectError::new(ErrorKind::Throttled, "throttled"))
            }
        }
    })
    .await;
    assert_eq!(result.unwrap_err().kind, ErrorKind::Throttled);
}

#[tokio::test]
async fn a_repeated_token_ends_the_listing_as_unknown() {
    let result: Result<Vec<u32>, _> = all_pages("ec2:DescribeSecurityGroups", |_| async {
        Ok((vec![1], Some("same".to_string())))
    })
    .await;
    let e = result.unwrap_err();
    assert!(e.message.contains("twice"), "{}", e.message);
}

#[test]
fn a_rule_naming_its_own_group_as_source_is_self() {
    // aws-eks-lon-kinbal-tf013.tfstate (terraform-aws-eks 13.x):
    // `workers_ingress_self` names its own group as the source, `self = false`.
    let mut desired = json!({"cidr_blocks": [], "description": "Allow node to communicate with each other.", "from_port": 0, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "-1", "security_group_id": "sg-01fa98f377ef19cd0", "self": false, "source_security_group_id": "sg-01fa98f377ef19cd0", "to_port": 65535, "type": "ingress"});
    let mut live = json!({"cidr_blocks": [], "description": "Allow node to communicate with each other.", "from_port": 0, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "-1", "security_group_id": "sg-01fa98f377ef19cd0", "self": true, "source_security_group_id": null, "to_port": 0, "type": "ingress"});
    normalize_security_group_rule(&mut desired, &mut live);
    assert_eq!(desired, live);
    // Another group as the source stays another group.
    let mut desired = json!({"protocol": "tcp", "from_port": 443, "to_port": 443, "security_group_id": "sg-1", "self": false, "source_security_group_id": "sg-2", "type": "ingress"});
    let mut live = json!({"protocol": "tcp", "from_port": 443, "to_port": 443, "security_group_id": "sg-1", "self": true, "source_security_group_id": null, "type": "ingress"});
    normalize_security_group_rule(&mut desired, &mut live);
    assert_ne!(desired, live);
}

#[test]
fn flatmap_strings_are_read_as_values() {
    // aws-21-security-groups-terraformer-upgraded.tfstate.backup: a state
    // upgraded from Terraform 0.11 keeps every leaf as a string.
    let own = "sg-462f5d1a";
    let flat = json!({"cidr_blocks": [], "description": "", "from_port": "0", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": "true", "to_port": "0"});
    let typed = json!({"cidr_blocks": [], "description": "", "from_port": 0, "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": true, "to_port": 0});
    assert_eq!(
        listed_atoms(&flat, false, own),
        listed_atoms(&typed, false, own)
    );
    assert_eq!(listed_atoms(&flat, false, own).len(), 1);
}

#[test]
fn both_listings_of_one_aws_rule_name_each_other() {
    // test__aws_vpc_security_group_rule.tfstate manages rules of groups
    // another state holds: the same AWS rules, listed as
    // aws_vpc_security_group_*_rule, read as unmanaged until they named the
    // aws_security_group_rule they are.
    for rule in corpus_rules() {
        let group = rule["security_group_id"].as_str().unwrap();
        let egress = rule["type"] == "egress";
        for atom in listed_atoms(&rule, egress, group) {
            let as_sg_rule = rule_attributes(group, &atom, Value::Null);
            let (cidr_ipv4, cidr_ipv6, prefix_list_id, referenced) = match &atom.source {
                Source::Cidr(c) => (json!(c), Value::Null, Value::Null, Value::Null),
                Source::Ipv6(c) => (Value::Null, json!(c), Value::Null, Value::Null),
                Source::PrefixList(p) => (Value::Null, Value::Null, json!(p), Value::Null),
                Source::SelfGroup => (Value::Null, Value::Null, Value::Null, json!(group)),
                Source::Group(g) => (Value::Null, Value::Null, Value::Null, json!(g)),
            };
            let port = |p: i64| if p == -1 { Value::Null } else { json!(p) };
            let as_vpc_rule = json!({
                "security_group_id": group,
                "ip_protocol": rule["protocol"],
                "from_port": if atom.protocol == "-1" { Value::Null } else { port(atom.from_port) },
                "to_port": if atom.protocol == "-1" { Value::Null } else { port(atom.to_port) },
                "cidr_ipv4": cidr_ipv4,
                "cidr_ipv6": cidr_ipv6,
                "prefix_list_id": prefix_list_id,
                "referenced_security_group_id": referenced,
            });
            assert_eq!(
                sg_rule_view_id(&as_vpc_rule, egress).as_deref(),
                as_sg_rule["id"].as_str(),
                "{rule}"
            );
        }
    }
    let sg_rule_fold = &RULES_SECURITY_GROUP_RULE.folds[0];
    assert_eq!(sg_rule_fold.parent_id_attribute, SG_RULE_VIEW);
    assert!(sg_rule_fold.child_types.contains(&INGRESS_RULE));
    assert!(RULES_INGRESS_RULE.ignore.contains(&SG_RULE_VIEW));
    assert_eq!(
        RULES_EGRESS_RULE.folds[0].parent_id_attribute,
        "security_group_rule_id"
    );
}
