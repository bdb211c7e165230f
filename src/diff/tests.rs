use super::*;
use crate::live::{Listing, live_resource, never_default, no_normalization};
use crate::model::Origin;
use crate::secrets::SecretKey;
use serde_json::json;

static VPC: TypeRules = TypeRules {
    resource_type: "aws_vpc",
    global: false,
    ignore: &[],
    sensitive: &[],
    sets: &[],
    normalize: no_normalization,
    is_default: |v| v.get("default").and_then(Value::as_bool) == Some(true),
    desired_parts: None,
    folds: &[],
};

static ROLE: TypeRules = TypeRules {
    resource_type: "aws_iam_role",
    global: true,
    ignore: &[],
    sensitive: &[],
    sets: &[],
    normalize: no_normalization,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

fn rules(t: &str) -> Option<&'static TypeRules> {
    match t {
        "aws_vpc" => Some(&VPC),
        "aws_iam_role" => Some(&ROLE),
        _ => None,
    }
}

fn resource(t: &str, id: &str, attrs: Value) -> Resource {
    let mut r = live_resource(
        t,
        id.into(),
        attrs,
        &[],
        &Origin::from("test"),
        &SecretKey::from_bytes([1; 32]),
    );
    r.address.name = id.replace(['-', ':', '/'], "_");
    r
}

fn complete(t: &str, region: &str) -> Coverage {
    Coverage {
        resource_type: t.into(),
        account: "111111111111".into(),
        region: region.into(),
        listing: Listing::Complete,
        listed: 0,
    }
}

#[test]
fn coverage_is_managed_over_managed_plus_unmanaged() {
    let desired = vec![
        resource(
            "aws_vpc",
            "vpc-1",
            json!({"id": "vpc-1", "cidr_block": "10.0.0.0/16"}),
        ),
        resource("aws_vpc", "vpc-2", json!({"id": "vpc-2"})),
        resource("aws_vpc", "vpc-3", json!({"id": "vpc-3"})),
    ];
    let live = LiveInventory {
        resources: vec![
            resource(
                "aws_vpc",
                "vpc-1",
                json!({"id": "vpc-1", "cidr_block": "10.0.0.0/16"}),
            ),
            resource("aws_vpc", "vpc-2", json!({"id": "vpc-2"})),
            resource("aws_vpc", "vpc-3", json!({"id": "vpc-3"})),
            resource("aws_vpc", "vpc-9", json!({"id": "vpc-9"})),
            resource("aws_vpc", "vpc-d", json!({"id": "vpc-d", "default": true})),
        ],
        coverage: vec![complete("aws_vpc", "eu-west-1")],
    };
    let report = diff(&desired, &live, &rules, &DiffOptions::default());
    assert_eq!(
        (report.managed, report.unmanaged, report.defaults_skipped),
        (3, 1, 1)
    );
    assert_eq!(report.coverage, 0.75);
    let strict = diff(&desired, &live, &rules, &DiffOptions { strict: true });
    assert_eq!(
        (strict.managed, strict.unmanaged, strict.defaults_skipped),
        (3, 2, 0)
    );
    assert_eq!(strict.coverage, 0.6);
    let empty = diff(
        &[],
        &LiveInventory::default(),
        &rules,
        &DiffOptions::default(),
    );
    assert_eq!(empty.coverage, 1.0);
}

#[test]
fn missing_needs_the_listing_of_the_arn_place() {
    let arn = |region: &str, id: &str| format!("arn:aws:ec2:{region}:111111111111:vpc/{id}");
    let desired = vec![
        resource(
            "aws_vpc",
            "vpc-1",
            json!({"id": "vpc-1", "arn": arn("eu-west-1", "vpc-1")}),
        ),
        resource(
            "aws_vpc",
            "vpc-2",
            json!({"id": "vpc-2", "arn": arn("us-east-1", "vpc-2")}),
        ),
        resource("aws_vpc", "vpc-3", json!({"id": "vpc-3"})),
        resource(
            "aws_iam_role",
            "r",
            json!({"id": "r", "arn": "arn:aws:iam::111111111111:role/r"}),
        ),
    ];
    let live = LiveInventory {
        resources: vec![],
        coverage: vec![
            complete("aws_vpc", "eu-west-1"),
            Coverage {
                listing: Listing::Unknown {
                    reason: "throttled".into(),
                },
                ..complete("aws_vpc", "us-east-1")
            },
            complete("aws_iam_role", GLOBAL),
        ],
    };
    let report = diff(&desired, &live, &rules, &DiffOptions::default());
    let missing: Vec<String> = report.drifts.iter().map(|d| d.key().to_string()).collect();
    assert_eq!(missing, ["aws_iam_role.r", "aws_vpc.vpc-1"]);
    assert_eq!(report.missing, 2);
    assert_eq!(
        report.unknown_resources, 2,
        "vpc-2's region failed; vpc-3 has no ARN and some listing failed"
    );
    assert!(report.partial);
    assert_eq!(report.unknown.len(), 1);
    assert_eq!(report.unknown[0].region, "us-east-1");
}

#[test]
fn deposed_objects_are_neither_matched_missing_nor_unmanaged() {
    let mut old = resource(
        "aws_vpc",
        "vpc-old",
        json!({"id": "vpc-old", "cidr_block": "x"}),
    );
    old.deposed = Some("abcd".into());
    let desired = vec![old];
    let live = LiveInventory {
        resources: vec![resource(
            "aws_vpc",
            "vpc-old",
            json!({"id": "vpc-old", "cidr_block": "y"}),
        )],
        coverage: vec![complete("aws_vpc", "eu-west-1")],
    };
    let report = diff(&desired, &live, &rules, &DiffOptions::default());
    assert_eq!(report.drifts, vec![]);
    assert_eq!(
        (report.managed, report.unmanaged, report.missing),
        (0, 0, 0)
    );
}

#[test]
fn report_serialises_with_string_paths_and_addresses() {
    let desired = vec![resource(
        "aws_vpc",
        "vpc-1",
        json!({"id": "vpc-1", "tags": {"a": "1"}}),
    )];
    let live = LiveInventory {
        resources: vec![resource(
            "aws_vpc",
            "vpc-1",
            json!({"id": "vpc-1", "tags": {"a": "2"}}),
        )],
        coverage: vec![complete("aws_vpc", "eu-west-1")],
    };
    let report = diff(&desired, &live, &rules, &DiffOptions::default());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["drifts"],
        json!([{
            "kind": "changed",
            "key": {"provider": "aws", "resource_type": "aws_vpc", "id": "vpc-1"},
            "address": "aws_vpc.vpc_1",
            "changes": [{"path": "tags[\"a\"]", "recorded": {"value": "1"}, "live": {"value": "2"}}]
        }])
    );
}

#[test]
fn one_object_under_two_addresses_is_compared_for_each_and_warned_about() {
    let mut a = resource(
        "aws_vpc",
        "vpc-1",
        json!({"id": "vpc-1", "cidr_block": "10.0.0.0/16"}),
    );
    a.address.name = "b".into();
    let mut b = a.clone();
    b.address.name = "a".into();
    let live = LiveInventory {
        resources: vec![resource(
            "aws_vpc",
            "vpc-1",
            json!({"id": "vpc-1", "cidr_block": "10.9.0.0/16"}),
        )],
        coverage: vec![complete("aws_vpc", "eu-west-1")],
    };
    let report = diff(&[a, b], &live, &rules, &DiffOptions::default());
    let addresses: Vec<String> = report
        .drifts
        .iter()
        .map(|d| match d {
            Drift::Changed { address, .. } => address.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(addresses, ["aws_vpc.a", "aws_vpc.b"]);
    assert_eq!(
        (report.managed, report.changed, report.coverage),
        (1, 2, 1.0)
    );
    assert_eq!(report.diagnostics.len(), 1);
    assert_eq!(
        report.diagnostics[0].message,
        "the same cloud object is managed by 2 addresses (aws_vpc.a, aws_vpc.b): each is compared with it; remove all but one from state"
    );
}
