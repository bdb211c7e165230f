//! The diff against real resources: every AWS corpus state is the desired side,
//! and the live side is built from the same attributes (what a perfect mapping
//! of an unchanged cloud returns). Identical must mean zero drift for every
//! resource; then each test changes one thing and asserts the exact drift.

use crate::support::corpus_dir;
use driftd::diff::{AttrChange, AttrValue, DiffOptions, DiffReport, Drift, diff};
use driftd::live::{
    Coverage, Fold, GLOBAL, Listing, LiveInventory, TypeRules, live_resource, never_default,
    no_normalization,
};
use driftd::model::{AttrPath, Attributes, InstanceStatus, Mode, Origin, PathStep, Resource};
use driftd::secrets::SecretKey;
use driftd::state::parse_state;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

type Rules = dyn Fn(&str) -> Option<&'static TypeRules>;

/// The account used for listings of resources whose ARN names none.
const SOME_ACCOUNT: &str = "000000000000";

fn key() -> SecretKey {
    SecretKey::from_bytes([7; 32])
}

fn state(name: &str) -> Vec<Resource> {
    let path = corpus_dir().join("terraform-state/aws").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_state(&bytes, &Origin::from(name), &key())
        .unwrap_or_else(|e| panic!("{e}"))
        .resources
}

/// Every format-4 AWS state of the corpus (`aws/*.tfstate`).
fn corpus_states() -> Vec<(String, Vec<Resource>)> {
    let dir = corpus_dir().join("terraform-state/aws");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tfstate"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 12, "the AWS corpus states: {names:?}");
    names.into_iter().map(|n| (n.clone(), state(&n))).collect()
}

/// Plain rules for any AWS type: no normalisation, no sets, no folds. One
/// leaked copy per type (the diff takes `&'static TypeRules`).
fn generic(resource_type: &str) -> Option<&'static TypeRules> {
    static RULES: OnceLock<Mutex<HashMap<String, &'static TypeRules>>> = OnceLock::new();
    if !resource_type.starts_with("aws_") {
        return None;
    }
    let mut rules = RULES.get_or_init(Default::default).lock().unwrap();
    let r = rules.entry(resource_type.to_string()).or_insert_with(|| {
        Box::leak(Box::new(TypeRules {
            resource_type: Box::leak(resource_type.to_string().into_boxed_str()),
            global: false,
            ignore: &[],
            sensitive: &[],
            sets: &[],
            normalize: no_normalization,
            is_default: never_default,
            desired_parts: None,
            folds: &[],
        }))
    });
    Some(*r)
}

/// The production rules where driftd has them, else the plain ones.
fn production_or_generic(resource_type: &str) -> Option<&'static TypeRules> {
    driftd::aws::types::rules(resource_type).or_else(|| generic(resource_type))
}

/// What a mapping of the unchanged cloud returns for `r`: the same attributes,
/// with every tag (provider default tags included) in `tags`, as AWS lists them.
/// The live object a lister would produce: every tag the object has is in both
/// `tags` and `tags_all` (the API cannot tell default tags apart).
fn live_of(r: &Resource, rules: &Rules) -> Resource {
    let mut attrs = r.attributes.to_value();
    let all = match attrs.get("tags_all") {
        Some(all) if all.as_object().is_some_and(|o| !o.is_empty()) => Some(all.clone()),
        _ => attrs.get("tags").filter(|t| t.is_object()).cloned(),
    };
    if let Some(all) = all {
        attrs["tags"] = all.clone();
        attrs["tags_all"] = all;
    }
    live_with(r, attrs, rules)
}

fn live_with(r: &Resource, attrs: Value, rules: &Rules) -> Resource {
    let sensitive = rules(&r.key.resource_type).map_or(&[][..], |t| t.sensitive);
    live_resource(
        &r.key.resource_type,
        r.key.id.clone(),
        attrs,
        sensitive,
        &Origin::from("aws:test"),
        &key(),
    )
}

/// AWS managed resources that are not deposed: what the cloud holds.
fn in_cloud(desired: &[Resource]) -> impl Iterator<Item = &Resource> {
    desired.iter().filter(|r| {
        r.address.mode == Mode::Managed && r.deposed.is_none() && &*r.key.provider == "aws"
    })
}

fn complete(resource_type: &str, account: &str, region: &str) -> Coverage {
    Coverage {
        resource_type: resource_type.into(),
        account: account.into(),
        region: region.into(),
        listing: Listing::Complete,
        listed: 0,
    }
}

/// One complete listing for every place the desired resources live in (from
/// their ARNs), and one per type for those without an ARN.
fn coverage_for(desired: &[Resource]) -> Vec<Coverage> {
    let mut places = BTreeSet::new();
    for r in in_cloud(desired) {
        let t = r.key.resource_type.to_string();
        let (account, region) = match r.aliases.arn.as_deref() {
            Some(arn) if arn.starts_with("arn:") => (
                driftd::aws::arn_account(arn)
                    .unwrap_or(SOME_ACCOUNT)
                    .to_string(),
                driftd::aws::arn_region(arn).unwrap_or(GLOBAL).to_string(),
            ),
            _ => (SOME_ACCOUNT.to_string(), "us-east-1".to_string()),
        };
        places.insert((t, account, region));
    }
    places
        .into_iter()
        .map(|(t, a, r)| complete(&t, &a, &r))
        .collect()
}

/// The unchanged cloud of `desired`.
/// The cloud as the listers would show it: one live object per desired resource,
/// or per part where the type knows the resource under other ids
/// (`TypeRules::desired_parts`: IAM attachments, multi-source SG rules).
fn mirror(desired: &[Resource], rules: &Rules) -> LiveInventory {
    let mut resources = Vec::new();
    for r in in_cloud(desired) {
        let parts = rules(&r.key.resource_type)
            .and_then(|t| t.desired_parts)
            .and_then(|f| f(&r.attributes.to_value()));
        match parts {
            Some(parts) => {
                for (id, attributes) in parts {
                    let mut part = r.clone();
                    part.key.id = id;
                    part.attributes = driftd::model::Attributes::from_value(&attributes);
                    resources.push(live_of(&part, rules));
                }
            }
            None => resources.push(live_of(r, rules)),
        }
    }
    LiveInventory {
        resources,
        coverage: coverage_for(desired),
    }
}

fn run(desired: &[Resource], live: &LiveInventory, rules: &Rules) -> DiffReport {
    diff(desired, live, rules, &DiffOptions::default())
}

fn find<'a>(resources: &'a [Resource], address: &str) -> &'a Resource {
    resources
        .iter()
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("no {address}"))
}

fn find_mut<'a>(resources: &'a mut [Resource], address: &str) -> &'a mut Resource {
    resources
        .iter_mut()
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("no {address}"))
}

fn live_mut<'a>(live: &'a mut LiveInventory, id: &str) -> &'a mut Resource {
    live.resources
        .iter_mut()
        .find(|r| r.key.id == id)
        .unwrap_or_else(|| panic!("no live {id}"))
}

/// Rewrites a resource's attributes through a closure.
fn edit(r: &mut Resource, f: impl FnOnce(&mut Value)) {
    let mut v = r.attributes.to_value();
    f(&mut v);
    r.attributes = Attributes::from_value(&v);
}

fn path(steps: &[&str]) -> AttrPath {
    AttrPath(
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| match s.parse::<i64>() {
                Ok(n) => PathStep::Index(n),
                Err(_) if i == 0 => PathStep::Attr(s.to_string()),
                Err(_) => PathStep::Key(s.to_string()),
            })
            .collect(),
    )
}

fn change(steps: &[&str], recorded: Value, live: Value) -> AttrChange {
    AttrChange {
        path: path(steps),
        recorded: AttrValue::Value(recorded),
        live: AttrValue::Value(live),
    }
}

fn changed(r: &Resource, changes: Vec<AttrChange>) -> Drift {
    Drift::Changed {
        key: r.key.clone(),
        address: r.address.clone(),
        changes,
    }
}

#[test]
fn every_corpus_state_diffs_clean_against_an_unchanged_cloud() {
    let states = corpus_states();
    let mut compared = 0;
    for rules in [&generic as &Rules, &production_or_generic] {
        for (name, desired) in &states {
            let live = mirror(desired, rules);
            let report = run(desired, &live, rules);
            assert_eq!(report.drifts, vec![], "{name}: false positives");
            let keys: BTreeSet<_> = in_cloud(desired).map(|r| r.key.clone()).collect();
            assert_eq!(report.managed, keys.len(), "{name}");
            assert_eq!(
                (report.unmanaged, report.missing, report.changed),
                (0, 0, 0),
                "{name}"
            );
            assert_eq!(report.coverage, 1.0, "{name}");
            assert_eq!(report.unknown_resources, 0, "{name}");
            assert!(!report.partial, "{name}");
            assert_eq!(report.diagnostics, vec![], "{name}");
            let not_aws = desired
                .iter()
                .filter(|r| r.is_managed() && &*r.key.provider != "aws")
                .count();
            assert_eq!(
                report.not_checked.values().sum::<usize>(),
                not_aws,
                "{name}"
            );
            compared += report.managed;
        }
    }
    assert_eq!(compared, 2 * 223, "every AWS managed instance, twice");
}

#[test]
fn one_changed_attribute_is_one_change_at_its_path() {
    let desired = state("aws-kong-vpc-sg-tf012.tfstate");
    let mut live = mirror(&desired, &generic);
    let subnet = find(&desired, "aws_subnet.public_subnet");
    edit(live_mut(&mut live, &subnet.key.id), |v| {
        v["map_public_ip_on_launch"] = json!(false);
        v["tags"]["Name"] = json!("renamed");
        v["tags_all"]["Name"] = json!("renamed");
    });
    let report = run(&desired, &live, &generic);
    assert_eq!(
        report.drifts,
        vec![changed(
            subnet,
            vec![
                change(&["map_public_ip_on_launch"], json!(true), json!(false)),
                change(
                    &["tags", "Name"],
                    json!("Public-Subnet-kong-dev"),
                    json!("renamed")
                ),
            ]
        )]
    );
    assert_eq!((report.managed, report.changed), (9, 1));
}

#[test]
fn missing_only_when_the_listing_that_should_hold_it_completed() {
    let desired = state("aws-kong-vpc-sg-tf012.tfstate");
    let subnet = find(&desired, "aws_subnet.public_subnet");
    let mut live = mirror(&desired, &generic);
    live.resources.retain(|r| r.key != subnet.key);
    // A failure elsewhere does not matter: the ARN says ca-central-1.
    live.coverage.push(Coverage {
        listing: Listing::Unknown {
            reason: "AccessDenied".into(),
        },
        ..complete("aws_subnet", "360736453765", "us-east-1")
    });
    let report = run(&desired, &live, &generic);
    assert_eq!(
        report.drifts,
        vec![Drift::Missing {
            key: subnet.key.clone(),
            address: subnet.address.clone()
        }]
    );
    assert_eq!(
        (report.missing, report.managed, report.unknown_resources),
        (1, 8, 0)
    );
    assert!(report.partial);

    // The listing of its own region failed: unknown, not missing (invariant 2).
    for c in &mut live.coverage {
        if c.resource_type == "aws_subnet" && c.region == "ca-central-1" {
            c.listing = Listing::Unknown {
                reason: "Throttling: rate exceeded".into(),
            };
        }
    }
    let report = run(&desired, &live, &generic);
    assert_eq!(report.drifts, vec![]);
    assert_eq!((report.missing, report.unknown_resources), (0, 1));
    assert!(report.partial);
    let failed: Vec<(&str, &str)> = report
        .unknown
        .iter()
        .map(|c| (c.resource_type.as_str(), c.region.as_str()))
        .collect();
    assert_eq!(
        failed,
        [("aws_subnet", "ca-central-1"), ("aws_subnet", "us-east-1")]
    );

    // Never listed at all: unknown too.
    live.coverage.retain(|c| c.resource_type != "aws_subnet");
    let report = run(&desired, &live, &generic);
    assert_eq!((report.missing, report.unknown_resources), (0, 1));
}

#[test]
fn without_an_arn_missing_needs_every_listing_of_the_type() {
    let desired = state("aws-ec2-sg-vpc-module.tfstate");
    let route = find(&desired, "module.vpc.aws_route.public_internet_gateway[0]");
    assert_eq!(route.aliases.arn, None);
    let mut live = mirror(&desired, &generic);
    live.resources.retain(|r| r.key != route.key);
    let report = run(&desired, &live, &generic);
    assert_eq!(
        report.drifts,
        vec![Drift::Missing {
            key: route.key.clone(),
            address: route.address.clone()
        }]
    );
    live.coverage.push(Coverage {
        listing: Listing::Unknown {
            reason: "timed out".into(),
        },
        ..complete("aws_route", "111111111111", "eu-west-3")
    });
    let report = run(&desired, &live, &generic);
    assert_eq!(report.drifts, vec![]);
    assert_eq!((report.missing, report.unknown_resources), (0, 1));
}

/// VPC rules that know AWS's default VPC (172.31.0.0/16, `is_default`).
static VPC: TypeRules = TypeRules {
    resource_type: "aws_vpc",
    global: false,
    ignore: &[],
    sensitive: &[],
    sets: &[],
    normalize: no_normalization,
    is_default: |v| v["cidr_block"] == "172.31.0.0/16",
    desired_parts: None,
    folds: &[],
};

fn with_vpc(t: &str) -> Option<&'static TypeRules> {
    if t == "aws_vpc" {
        Some(&VPC)
    } else {
        generic(t)
    }
}

#[test]
fn unmanaged_default_and_strict() {
    let desired = state("aws-kong-vpc-sg-tf012.tfstate");
    let vpc = find(&desired, "aws_vpc.kong_vpc");
    let mut live = mirror(&desired, &with_vpc);
    let mut extra = live_of(vpc, &with_vpc);
    extra.key.id = "vpc-0aaaaaaaaaaaaaaaa".into();
    let mut default = live_of(vpc, &with_vpc);
    default.key.id = "vpc-0dddddddddddddddd".into();
    edit(&mut default, |v| v["cidr_block"] = json!("172.31.0.0/16"));
    live.resources.push(extra.clone());
    live.resources.push(default.clone());

    let report = run(&desired, &live, &with_vpc);
    assert_eq!(
        report.drifts,
        vec![Drift::Unmanaged {
            key: extra.key.clone()
        }]
    );
    assert_eq!(
        (report.managed, report.unmanaged, report.defaults_skipped),
        (9, 1, 1)
    );
    assert_eq!(report.coverage, 0.9);

    let strict = diff(&desired, &live, &with_vpc, &DiffOptions { strict: true });
    assert_eq!(
        strict.drifts,
        vec![
            Drift::Unmanaged { key: extra.key },
            Drift::Unmanaged { key: default.key }
        ]
    );
    assert_eq!((strict.unmanaged, strict.defaults_skipped), (2, 0));
    assert_eq!(strict.coverage, 9.0 / 11.0);
}

/// Security group rules for the fold tests: inline `ingress`/`egress` are sets,
/// and an `aws_security_group_rule` manages one inline element.
static SG_FOLDS: [Fold; 1] = [Fold {
    child_types: &["aws_security_group_rule"],
    parent_id_attribute: "security_group_id",
    children_are_parts: true,
    remove_child: remove_rule,
}];

static SG: TypeRules = TypeRules {
    resource_type: "aws_security_group",
    global: false,
    ignore: &[],
    sensitive: &[],
    sets: &[
        "ingress",
        "egress",
        "ingress.cidr_blocks",
        "egress.cidr_blocks",
        "ingress.security_groups",
        "egress.security_groups",
    ],
    normalize: no_normalization,
    is_default: never_default,
    desired_parts: None,
    folds: &SG_FOLDS,
};

fn with_sg(t: &str) -> Option<&'static TypeRules> {
    if t == "aws_security_group" {
        Some(&SG)
    } else {
        generic(t)
    }
}

/// The inline element an `aws_security_group_rule` stands for.
fn inline_of(rule: &Value) -> Value {
    let list = |k: &str| {
        rule.get(k)
            .filter(|v| v.is_array())
            .cloned()
            .unwrap_or(json!([]))
    };
    let groups = match rule["source_security_group_id"].as_str() {
        Some(g) if !g.is_empty() => json!([g]),
        _ => json!([]),
    };
    json!({
        "cidr_blocks": list("cidr_blocks"),
        "description": rule["description"].as_str().unwrap_or(""),
        "from_port": rule["from_port"],
        "ipv6_cidr_blocks": list("ipv6_cidr_blocks"),
        "prefix_list_ids": list("prefix_list_ids"),
        "protocol": rule["protocol"],
        "security_groups": groups,
        "self": rule["self"],
        "to_port": rule["to_port"],
    })
}

fn remove_rule(desired: &mut Value, live: &mut Value, _child_type: &str, child: &Value) {
    let element = inline_of(child);
    let Some(list) = child["type"].as_str() else {
        return;
    };
    for parent in [desired, live] {
        if let Some(Value::Array(elements)) = parent.get_mut(list) {
            elements.retain(|e| e != &element);
        }
    }
}

/// The EKS blueprint state: two security groups with empty inline rules
/// (written before a refresh) and thirteen `aws_security_group_rule`s. The
/// live groups show every rule inline, as DescribeSecurityGroups does.
fn eks_with_inline_rules() -> (Vec<Resource>, LiveInventory) {
    let desired = state("aws-eks-blueprints-base.tfstate");
    let mut live = mirror(&desired, &with_sg);
    let rules: Vec<Value> = desired
        .iter()
        .filter(|r| &*r.key.resource_type == "aws_security_group_rule")
        .map(|r| r.attributes.to_value())
        .collect();
    assert_eq!(rules.len(), 13);
    for group in live
        .resources
        .iter_mut()
        .filter(|r| &*r.key.resource_type == "aws_security_group")
    {
        let id = group.key.id.clone();
        edit(group, |v| {
            for rule in rules
                .iter()
                .filter(|r| r["security_group_id"] == id.as_str())
            {
                let list = rule["type"].as_str().unwrap();
                v[list].as_array_mut().unwrap().push(inline_of(rule));
            }
        });
    }
    (desired, live)
}

#[test]
fn a_parent_with_empty_inline_rules_and_child_rules_does_not_drift() {
    let (desired, live) = eks_with_inline_rules();
    let report = run(&desired, &live, &with_sg);
    assert_eq!(report.drifts, vec![]);
    assert_eq!(report.folded_children, 0);
    // The test can fail: without the fold both groups drift.
    let unfolded = run(&desired, &live, &generic);
    let drifted: Vec<String> = unfolded.drifts.iter().map(|d| d.key().id.clone()).collect();
    assert_eq!(drifted, ["sg-0ce6b81371c41a044", "sg-0fb1f68cd6fea450a"]);
}

#[test]
fn an_extra_live_rule_is_drift_on_the_parent_not_unmanaged() {
    let (desired, mut live) = eks_with_inline_rules();
    let node = "sg-0ce6b81371c41a044";
    let ssh = json!({
        "cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 22,
        "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp",
        "security_groups": [], "self": false, "to_port": 22
    });
    edit(live_mut(&mut live, node), |v| {
        v["ingress"].as_array_mut().unwrap().push(ssh.clone())
    });
    // The same rule as the listing of security group rules shows it.
    let some_rule = find(
        &desired,
        "module.eks_blueprints.module.aws_eks.aws_security_group_rule.node[\"ingress_cluster_443\"]",
    );
    let mut rule = live_of(some_rule, &with_sg);
    rule.key.id = "sgrule-4242424242".into();
    live.resources.push(rule);
    // A rule of a group no state manages is unmanaged.
    let mut stray = live_of(some_rule, &with_sg);
    stray.key.id = "sgrule-77".into();
    edit(&mut stray, |v| {
        v["security_group_id"] = json!("sg-0123456789abcdef0")
    });
    live.resources.push(stray.clone());

    let report = run(&desired, &live, &with_sg);
    let group = desired.iter().find(|r| r.key.id == node).unwrap();
    assert_eq!(
        report.drifts,
        vec![
            changed(group, vec![change(&["ingress"], json!([]), json!([ssh]))]),
            Drift::Unmanaged { key: stray.key },
        ]
    );
    assert_eq!((report.folded_children, report.unmanaged), (1, 1));
}

#[test]
fn set_order_is_not_drift_but_a_removed_element_is() {
    let mut desired = state("aws-kong-vpc-sg-tf012.tfstate");
    let sg = find(&desired, "aws_security_group.kong_vpc_sg")
        .key
        .id
        .clone();
    edit(
        find_mut(&mut desired, "aws_security_group.kong_vpc_sg"),
        |v| {
            v["ingress"][0]["cidr_blocks"] = json!(["0.0.0.0/0", "10.0.0.0/8"]);
        },
    );
    let mut live = mirror(&desired, &with_sg);
    edit(live_mut(&mut live, &sg), |v| {
        for list in ["ingress", "egress"] {
            v[list].as_array_mut().unwrap().reverse();
        }
        v["ingress"][1]["cidr_blocks"] = json!(["10.0.0.0/8", "0.0.0.0/0"]);
    });
    assert_eq!(run(&desired, &live, &with_sg).drifts, vec![]);
    let ordered = run(&desired, &live, &generic);
    assert_eq!(ordered.changed, 1, "the order counts without set rules");

    let before = live_mut(&mut live, &sg).attributes.to_value()["egress"].clone();
    edit(live_mut(&mut live, &sg), |v| {
        v["egress"].as_array_mut().unwrap().remove(0);
    });
    let after = live_mut(&mut live, &sg).attributes.to_value()["egress"].clone();
    let report = run(&desired, &live, &with_sg);
    let group = find(&desired, "aws_security_group.kong_vpc_sg");
    let recorded = group.attributes.to_value()["egress"].clone();
    assert_eq!(before.as_array().unwrap().len(), 2);
    assert_eq!(
        report.drifts,
        vec![changed(group, vec![change(&["egress"], recorded, after)])]
    );
}

#[test]
fn policy_documents_compare_by_meaning() {
    let bucket = state("aws-s3-bucket-policy-tf012.tfstate");
    let role = state("aws-iam-role-tf012.tfstate");
    let desired: Vec<Resource> = bucket.into_iter().chain(role).collect();
    let mut live = mirror(&desired, &generic);
    // Re-spelled: other key order, whitespace, single values as lists, no empty Id.
    let respelled = r#"{
  "Statement": [ {
      "Resource": ["arn:aws:s3:::my-special-bucket-for-storing-stuff/*"],
      "Principal": {"AWS": ["arn:aws:iam::660847692645:user/ma"]},
      "Effect": "Allow",
      "Action": ["s3:*"],
      "Sid": "AllowAccessToMy-Special-Bucket-For-Storing-StuffFromMyAccount"
  } ],
  "Version": "2012-10-17"
}"#;
    let policy = live
        .resources
        .iter_mut()
        .find(|r| &*r.key.resource_type == "aws_s3_bucket_policy")
        .unwrap();
    edit(policy, |v| v["policy"] = json!(respelled));
    // URL-encoded, as IAM's Get* calls answer.
    let encoded = "%7B%22Statement%22%3A%5B%7B%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%2C%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%5B%22lambda.amazonaws.com%22%5D%7D%7D%5D%2C%22Version%22%3A%222012-10-17%22%7D";
    edit(live_mut(&mut live, "test-role-for-lambda"), |v| {
        v["assume_role_policy"] = json!(encoded)
    });
    assert_eq!(run(&desired, &live, &generic).drifts, vec![]);

    let widened = respelled.replace("\"s3:*\"", "\"s3:*\", \"iam:PassRole\"");
    let policy = live
        .resources
        .iter_mut()
        .find(|r| &*r.key.resource_type == "aws_s3_bucket_policy")
        .unwrap();
    edit(policy, |v| v["policy"] = json!(widened));
    let report = run(&desired, &live, &generic);
    let p = desired
        .iter()
        .find(|r| &*r.key.resource_type == "aws_s3_bucket_policy")
        .unwrap();
    let recorded = p.attributes.to_value()["policy"].clone();
    assert_eq!(
        report.drifts,
        vec![changed(
            p,
            vec![change(&["policy"], recorded, json!(widened))]
        )]
    );
}

#[test]
fn tags_all_holds_the_default_tags_the_cloud_has() {
    let mut desired = state("aws-ec2-sg-vpc-module.tfstate");
    let address = "module.vpc.aws_vpc.this[0]";
    // The provider's default_tags: in tags_all, not in tags.
    edit(find_mut(&mut desired, address), |v| {
        v["tags_all"]["Team"] = json!("platform")
    });
    let vpc = find(&desired, address);
    assert_ne!(
        vpc.attributes.to_value()["tags"],
        vpc.attributes.to_value()["tags_all"]
    );
    let mut live = mirror(&desired, &generic);
    assert_eq!(run(&desired, &live, &generic).drifts, vec![]);

    // Someone removed the default tag in the console.
    edit(live_mut(&mut live, &vpc.key.id), |v| {
        v["tags"].as_object_mut().unwrap().remove("Team");
        v["tags_all"].as_object_mut().unwrap().remove("Team");
    });
    let report = run(&desired, &live, &generic);
    assert_eq!(
        report.drifts,
        vec![changed(
            vpc,
            vec![change(&["tags", "Team"], json!("platform"), Value::Null)]
        )]
    );

    // A state without tags_all (Terraform 0.12) compares its tags.
    let desired = state("aws-kong-vpc-sg-tf012.tfstate");
    let vpc = find(&desired, "aws_vpc.kong_vpc");
    assert!(vpc.attributes.to_value().get("tags_all").is_none());
    let mut live = mirror(&desired, &generic);
    edit(live_mut(&mut live, &vpc.key.id), |v| {
        v["tags"]["Owner"] = json!("bob");
        v["tags_all"]["Owner"] = json!("bob");
    });
    assert_eq!(
        run(&desired, &live, &generic).drifts,
        vec![changed(
            vpc,
            vec![change(&["tags", "Owner"], Value::Null, json!("bob"))]
        )]
    );
}

#[test]
fn empty_values_are_one_value_but_false_and_zero_are_values() {
    let desired = state("aws-rds-sensitive-tf19.tfstate");
    let db = find(&desired, "aws_db_instance.mysql");
    let mut live = mirror(&desired, &generic);
    edit(live_mut(&mut live, "mysql"), |v| {
        v["domain"] = Value::Null; // "" in state
        v["replicas"] = json!({}); // [] in state
        v["tags_all"] = json!([]);
    });
    assert_eq!(run(&desired, &live, &generic).drifts, vec![]);
    edit(live_mut(&mut live, "mysql"), |v| {
        v["iops"] = Value::Null; // 0 in state
        v["multi_az"] = json!(""); // false in state
    });
    assert_eq!(
        run(&desired, &live, &generic).drifts,
        vec![changed(
            db,
            vec![
                change(&["iops"], json!(0), Value::Null),
                change(&["multi_az"], json!(false), json!("")),
            ]
        )]
    );
}

#[test]
fn sensitive_values_and_their_hashes_never_reach_the_report() {
    let desired = state("aws-rds-sensitive-tf19.tfstate");
    let db = find(&desired, "aws_db_instance.mysql");
    let recorded_hash = db.attributes.to_value()["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(driftd::secrets::is_hashed(&recorded_hash));
    let mut live = mirror(&desired, &generic);
    let mut attrs = db.attributes.to_value();
    attrs["password"] = json!("hunter2-rotated");
    let rotated = live_with(db, attrs, &generic);
    let live_hash = rotated.attributes.to_value()["password"]
        .as_str()
        .unwrap()
        .to_string();
    *live_mut(&mut live, "mysql") = rotated;

    let report = run(&desired, &live, &generic);
    assert_eq!(
        report.drifts,
        vec![changed(
            db,
            vec![AttrChange {
                path: path(&["password"]),
                recorded: AttrValue::Sensitive,
                live: AttrValue::Sensitive,
            }]
        )]
    );
    let json = serde_json::to_string(&report).unwrap();
    for secret in [
        "hunter2",
        "REDACTED",
        &recorded_hash,
        &live_hash,
        "hmac-sha256",
    ] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
    assert!(
        json.contains(r#""path":"password","recorded":"sensitive","live":"sensitive""#),
        "{json}"
    );
}

#[test]
fn types_without_rules_are_counted_as_not_checked_never_missing() {
    let desired = state("aws-rds-sensitive-tf19.tfstate");
    let only_subnets = |t: &str| if t == "aws_subnet" { generic(t) } else { None };
    let live = LiveInventory {
        resources: vec![],
        coverage: coverage_for(&desired),
    };
    let report = run(&desired, &live, &only_subnets);
    assert_eq!(
        report.not_checked,
        BTreeMap::from([
            ("aws_db_instance".to_string(), 1),
            ("aws_db_subnet_group".to_string(), 1),
            ("null_resource".to_string(), 1),
        ])
    );
    let missing: Vec<String> = report.drifts.iter().map(|d| d.key().to_string()).collect();
    assert_eq!(
        missing,
        [
            "aws_subnet.subnet-058f6f4d822f84954",
            "aws_subnet.subnet-069f8621958f14f97"
        ]
    );
    assert_eq!(
        (report.missing, report.managed, report.coverage),
        (2, 0, 1.0)
    );
}

#[test]
fn data_sources_never_drift_nor_go_missing() {
    let desired = state("aws-rds-sensitive-tf19.tfstate");
    let data_vpc = find(&desired, "data.aws_vpc.existing");
    assert_eq!(data_vpc.address.mode, Mode::Data);
    let mut live = mirror(&desired, &generic);
    // The VPC the data source reads exists, changed; the other two data
    // sources' objects are not listed at all.
    let mut attrs = data_vpc.attributes.to_value();
    attrs["tags"] = json!({"Name": "changed"});
    live.resources.push(live_with(data_vpc, attrs, &generic));
    live.coverage
        .push(complete("aws_vpc", "992382546334", "us-east-1"));
    live.coverage.push(complete(
        "aws_internet_gateway",
        "992382546334",
        "us-east-1",
    ));
    let report = run(&desired, &live, &generic);
    // Reading a VPC does not manage it.
    assert_eq!(
        report.drifts,
        vec![Drift::Unmanaged {
            key: data_vpc.key.clone()
        }]
    );
    assert_eq!((report.missing, report.changed), (0, 0));
}

#[test]
fn tainted_instances_are_compared_and_deposed_ones_ignored() {
    let mut desired = state("aws-rds-sensitive-tf19.tfstate");
    find_mut(&mut desired, "aws_db_instance.mysql").status = InstanceStatus::Tainted;
    let mut live = mirror(&desired, &generic);
    edit(live_mut(&mut live, "mysql"), |v| {
        v["allocated_storage"] = json!(30)
    });
    // A deposed copy of a subnet: its (old) object is gone, and it is not missing.
    let mut deposed = find(&desired, "aws_subnet.subnet_1").clone();
    deposed.key.id = "subnet-0000000000000000d".into();
    deposed.deposed = Some("00aa11bb".into());
    desired.push(deposed);
    let report = run(&desired, &live, &generic);
    let db = find(&desired, "aws_db_instance.mysql");
    assert_eq!(
        report.drifts,
        vec![changed(
            db,
            vec![change(&["allocated_storage"], json!(20), json!(30))]
        )]
    );
    assert_eq!((report.missing, report.unknown_resources), (0, 0));
}

#[test]
fn output_order_is_by_key_whatever_the_input_order() {
    let (desired, mut live) = eks_with_inline_rules();
    for r in live.resources.iter_mut().step_by(7) {
        edit(r, |v| {
            v["tags"] = json!({"drift": "yes"});
            v["tags_all"] = json!({"drift": "yes"});
        });
    }
    live.resources.retain(|r| !r.key.id.ends_with('3'));
    let report = run(&desired, &live, &with_sg);
    assert!(report.drifts.len() > 5, "{}", report.drifts.len());
    let keys: Vec<_> = report.drifts.iter().map(|d| d.key().clone()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let mut rev_desired = desired.clone();
    rev_desired.reverse();
    live.resources.reverse();
    let again = run(&rev_desired, &live, &with_sg);
    assert_eq!(again, report);
}

/// A NAT gateway associates its Elastic IP after the address was created:
/// right after a first apply the address's state has no association, and the
/// live address points at the gateway's interface. That is the gateway's doing
/// (compared through it), not drift of the address. But a gateway that no state
/// manages is unmanaged even when its address is managed: a NAT gateway is a
/// resource of its own, not a part of the address.
#[test]
fn a_nat_gateway_fills_in_its_address_and_is_never_part_of_it() {
    let text = r#"{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"l","outputs":{},"resources":[
      {"mode":"managed","type":"aws_eip","name":"nat","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"schema_version":0,"attributes":{
        "id":"eipalloc-1","allocation_id":"eipalloc-1","association_id":"","domain":"vpc","instance":"","network_interface":"","private_ip":"","private_dns":null,
        "public_ip":"203.0.113.10","tags":null,"tags_all":{}}}]},
      {"mode":"managed","type":"aws_nat_gateway","name":"main","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"schema_version":0,"attributes":{
        "id":"nat-1","allocation_id":"eipalloc-1","subnet_id":"subnet-1","connectivity_type":"public","network_interface_id":"eni-1",
        "private_ip":"10.0.0.5","public_ip":"203.0.113.10","tags":null,"tags_all":{}}}]}
    ]}"#;
    let desired = parse_state(text.as_bytes(), &Origin::from("nat.tfstate"), &key())
        .unwrap()
        .resources;
    let rules: &Rules = &production_or_generic;
    let mut live = mirror(&desired, rules);
    let associated = |v: &mut Value| {
        v["association_id"] = "eipassoc-1".into();
        v["network_interface"] = "eni-1".into();
        v["private_ip"] = "10.0.0.5".into();
        v["private_dns"] = "ip-10-0-0-5.ec2.internal".into();
    };
    edit(live_mut(&mut live, "eipalloc-1"), associated);
    let report = run(&desired, &live, rules);
    assert_eq!(report.drifts, vec![], "{report:#?}");

    // The same address with a hand-made gateway: the gateway is unmanaged, and
    // the address's new association is drift (Terraform says so too).
    let address_only: Vec<Resource> = desired
        .iter()
        .filter(|r| &*r.key.resource_type == "aws_eip")
        .cloned()
        .collect();
    let report = run(&address_only, &live, rules);
    let kinds: Vec<(String, &str)> = report
        .drifts
        .iter()
        .map(|d| {
            let kind = match d {
                Drift::Changed { .. } => "changed",
                Drift::Unmanaged { .. } => "unmanaged",
                Drift::Missing { .. } => "missing",
            };
            (d.key().to_string(), kind)
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("aws_eip.eipalloc-1".to_string(), "changed"),
            ("aws_nat_gateway.nat-1".to_string(), "unmanaged"),
        ]
    );
}

/// S3 ARNs name no region. A bucket in a region the target does not scan, and
/// the bucket's sub-resources, are not missing: nothing listed their region.
/// The bucket's `region` attribute says where it is, and a child is where the
/// bucket it names is.
#[test]
fn a_resource_in_a_region_not_scanned_is_unknown_not_missing() {
    let text = r#"{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"l","outputs":{},"resources":[
      {"mode":"managed","type":"aws_s3_bucket","name":"logs","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"schema_version":0,"attributes":{
        "id":"acme-logs","bucket":"acme-logs","arn":"arn:aws:s3:::acme-logs","region":"us-east-1","tags":null,"tags_all":{}}}]},
      {"mode":"managed","type":"aws_s3_bucket_versioning","name":"logs","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"schema_version":0,"attributes":{
        "id":"acme-logs","bucket":"acme-logs","versioning_configuration":[{"status":"Enabled","mfa_delete":""}]}}]},
      {"mode":"managed","type":"aws_s3_bucket","name":"gone","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"schema_version":0,"attributes":{
        "id":"acme-gone","bucket":"acme-gone","arn":"arn:aws:s3:::acme-gone","region":"eu-west-1","tags":null,"tags_all":{}}}]}
    ]}"#;
    let desired = parse_state(text.as_bytes(), &Origin::from("s3.tfstate"), &key())
        .unwrap()
        .resources;
    let rules: &Rules = &production_or_generic;
    // The target scans eu-west-1 only, completely, and finds no bucket there.
    let live = LiveInventory {
        resources: vec![],
        coverage: vec![
            complete("aws_s3_bucket", SOME_ACCOUNT, "eu-west-1"),
            complete("aws_s3_bucket_versioning", SOME_ACCOUNT, "eu-west-1"),
        ],
    };
    let report = run(&desired, &live, rules);
    let missing: Vec<String> = report
        .drifts
        .iter()
        .filter(|d| matches!(d, Drift::Missing { .. }))
        .map(|d| d.key().to_string())
        .collect();
    assert_eq!(
        missing,
        vec!["aws_s3_bucket.acme-gone".to_string()],
        "only the eu-west-1 bucket can be missing: {report:#?}"
    );
    assert_eq!(report.unknown_resources, 2);
}

/// Lambda environment variables are secrets (DB passwords, API tokens): the
/// type declares `environment` sensitive, so both sides keep only keyed hashes,
/// never the values (invariant 4), and still compare: the same variables are
/// no drift, a changed one is a change "(sensitive)" at its path. The state
/// already hashed one variable (Terraform marked it sensitive, as it does for
/// values from sensitive variables); that must not make the two sides differ.
#[test]
fn declared_sensitive_attributes_are_hashed_on_both_sides_and_still_compare() {
    let text = r#"{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"l","outputs":{},"resources":[
      {"mode":"managed","type":"aws_lambda_function","name":"api","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"schema_version":0,"attributes":{
        "id":"api","function_name":"api","arn":"arn:aws:lambda:us-east-1:123456789012:function:api","memory_size":128,
        "environment":[{"variables":{"DB_PASSWORD":"hunter2","MODE":"prod"}}],"tags":null,"tags_all":{}},
        "sensitive_attributes":[[{"type":"get_attr","value":"environment"},{"type":"index","value":{"value":0,"type":"number"}},
          {"type":"get_attr","value":"variables"},{"type":"index","value":{"value":"MODE","type":"string"}}]]}]}
    ]}"#;
    let mut desired = parse_state(text.as_bytes(), &Origin::from("fn.tfstate"), &key())
        .unwrap()
        .resources;
    driftd::aws::types::redact_declared(&mut desired, &key());
    let stored = desired[0].attributes.as_str().to_string();
    assert!(
        !stored.contains("hunter2") && !stored.contains("prod"),
        "no secret in the desired attributes: {stored}"
    );

    let rules: &Rules = &production_or_generic;
    let live_with_env = |mode: &str| {
        let mut attrs = desired[0].attributes.to_value();
        attrs["environment"] = json!([{"variables": {"DB_PASSWORD": "hunter2", "MODE": mode}}]);
        let r = live_with(&desired[0], attrs, rules);
        assert!(!r.attributes.as_str().contains("hunter2"));
        LiveInventory {
            resources: vec![r],
            coverage: coverage_for(&desired),
        }
    };
    let report = run(&desired, &live_with_env("prod"), rules);
    assert_eq!(report.drifts, vec![], "{report:#?}");
    assert_eq!(report.diagnostics, vec![], "{report:#?}");

    let report = run(&desired, &live_with_env("debug"), rules);
    let Some(Drift::Changed { changes, .. }) = report.drifts.first() else {
        panic!("{report:#?}")
    };
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].attribute(), "environment");
    assert_eq!(
        (&changes[0].recorded, &changes[0].live),
        (&AttrValue::Sensitive, &AttrValue::Sensitive)
    );
}

/// `aws_alb`, `aws_alb_listener` and `aws_alb_target_group` are the provider's
/// older names of the load balancer types: same resources, same ids. A state
/// that uses them is compared with the `aws_lb*` listings (never "not checked",
/// never unmanaged), and drift still names the address as written.
#[test]
fn alb_type_names_are_compared_as_the_lb_types() {
    let text = r#"{"version":4,"terraform_version":"0.12.20","serial":3,"lineage":"l","outputs":{},"resources":[
      {"mode":"managed","type":"aws_alb","name":"web","provider":"provider.aws","instances":[{"schema_version":0,"attributes":{
        "id":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
        "arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
        "name":"web","idle_timeout":60,"tags":{}}}]}
    ]}"#;
    let mut desired = parse_state(text.as_bytes(), &Origin::from("alb.tfstate"), &key())
        .unwrap()
        .resources;
    driftd::aws::types::canonicalize_types(&mut desired);
    assert_eq!(&*desired[0].key.resource_type, "aws_lb");
    assert_eq!(desired[0].address.to_string(), "aws_alb.web");

    let rules: &Rules = &production_or_generic;
    let mut live = mirror(&desired, rules);
    let report = run(&desired, &live, rules);
    assert_eq!(report.drifts, vec![], "{report:#?}");
    assert!(report.not_checked.is_empty(), "{report:#?}");

    edit(
        live_mut(
            &mut live,
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
        ),
        |v| v["idle_timeout"] = json!(300),
    );
    let report = run(&desired, &live, rules);
    let Some(Drift::Changed { address, .. }) = report.drifts.first() else {
        panic!("{report:#?}")
    };
    assert_eq!(address.to_string(), "aws_alb.web");
}
