//! Ignore rules end to end: a `.driftignore` written the way driftctl users
//! write them (`tests/fixtures/driftignore/prod.driftignore`: gen-driftignore's
//! sections, comments, wildcards, negations, escaped dots, attribute paths),
//! and config `[[ignore]]` rules with tags and an expiry, applied to a
//! hand-built diff report with a fixed clock.

use chrono::{DateTime, TimeZone, Utc};
use driftd::config::Config;
use driftd::diag::Diagnostic;
use driftd::diff::{AttrChange, AttrValue, DiffReport, Drift};
use driftd::ignore::{IgnoreSet, IgnoredCounts, RuleHits, filter, load_driftignore};
use driftd::model::{Address, AttrPath, Mode, PathStep, ResourceKey};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/driftignore/prod.driftignore")
}

fn key(t: &str, id: &str) -> ResourceKey {
    ResourceKey {
        provider: Arc::from("aws"),
        resource_type: Arc::from(t),
        id: id.into(),
    }
}

fn address(t: &str) -> Address {
    Address {
        module: None,
        mode: Mode::Managed,
        resource_type: Arc::from(t),
        name: "this".into(),
        index: None,
    }
}

fn attr(a: &str) -> PathStep {
    PathStep::Attr(a.into())
}

fn map_key(k: &str) -> PathStep {
    PathStep::Key(k.into())
}

fn change(steps: Vec<PathStep>) -> AttrChange {
    AttrChange {
        path: AttrPath(steps),
        recorded: AttrValue::Value(json!("in state")),
        live: AttrValue::Value(json!("in the cloud")),
    }
}

fn changed(t: &str, id: &str, changes: Vec<AttrChange>) -> Drift {
    Drift::Changed {
        key: key(t, id),
        address: address(t),
        changes,
    }
}

fn unmanaged(t: &str, id: &str) -> Drift {
    Drift::Unmanaged { key: key(t, id) }
}

fn missing(t: &str, id: &str) -> Drift {
    Drift::Missing {
        key: key(t, id),
        address: address(t),
    }
}

fn lambda_env() -> AttrChange {
    change(vec![
        attr("environment"),
        PathStep::Index(0),
        attr("variables"),
        map_key("LOG_LEVEL"),
    ])
}

/// A diff report with every shape the fixture has a line for, and near misses.
fn report() -> DiffReport {
    let drifts = vec![
        // 0, 1: gen-driftignore's "not covered by IaC" section names one user.
        unmanaged("aws_iam_user", "tfc-demo"),
        unmanaged("aws_iam_user", "alice"),
        // 2, 3: `static\.acme\.example\.com`: a dot is a dot, not any character.
        unmanaged("aws_s3_bucket", "static.acme.example.com"),
        unmanaged("aws_s3_bucket", "static-acme-example-com"),
        // 4: an id with colons and slashes.
        unmanaged(
            "aws_iam_policy_attachment",
            "AWSServiceRoleForRDS-arn:aws:iam::aws:policy/aws-service-role/AmazonRDSServiceRolePolicy",
        ),
        // 5: "Missing resources".
        missing(
            "aws_route53_record",
            "Z0123456789ABCDEFGHIJ_old.acme.example.com_CNAME",
        ),
        // 6: "Changed resources": the whole resource, every change.
        changed(
            "aws_db_instance",
            "orders-prod",
            vec![
                change(vec![attr("allocated_storage")]),
                change(vec![attr("tags"), map_key("Owner")]),
            ],
        ),
        // 7: a bare type.
        unmanaged("aws_iam_access_key", "AKIAIOSFODNN7EXAMPLE"),
        // 8, 9, 10: `*role.AWSServiceRole*`, then `!` for the ECS role.
        unmanaged("aws_iam_role", "AWSServiceRoleForAutoScaling"),
        unmanaged("aws_iam_role", "AWSServiceRoleForECS"),
        unmanaged("aws_iam_role", "deploy"),
        // 11: environment (every function) and last_modified (ingest) hidden,
        // memory_size kept.
        changed(
            "aws_lambda_function",
            "ingest",
            vec![
                lambda_env(),
                change(vec![attr("last_modified")]),
                change(vec![attr("memory_size")]),
            ],
        ),
        // 12: environment hidden; last_modified is only ignored for ingest.
        changed(
            "aws_lambda_function",
            "billing",
            vec![lambda_env(), change(vec![attr("last_modified")])],
        ),
        // 13: every change hidden: the drift goes.
        changed(
            "aws_instance",
            "i-0a1b2c3d4e5f67890",
            vec![
                change(vec![attr("tags"), map_key("LastScanned")]),
                change(vec![attr("tags"), map_key("kubernetes.io/cluster/prod")]),
            ],
        ),
        // 14: nothing here matches the fixture (a config rule below may).
        changed(
            "aws_instance",
            "i-0123456789abcdef0",
            vec![
                change(vec![attr("instance_type")]),
                change(vec![attr("tags"), map_key("Owner")]),
            ],
        ),
        // 15, 16: descriptions are ignored except in the prod groups.
        changed(
            "aws_security_group",
            "sg-0dev12345",
            vec![change(vec![attr("description")])],
        ),
        changed(
            "aws_security_group",
            "sg-0prod12345",
            vec![
                change(vec![attr("description")]),
                change(vec![attr("ingress")]),
            ],
        ),
        // 17: attribute lines never hide a missing (or unmanaged) resource.
        missing("aws_security_group", "sg-0old"),
    ];
    DiffReport {
        drifts,
        managed: 12,
        unmanaged: 9,
        missing: 2,
        changed: 8,
        coverage: 12.0 / 21.0,
        defaults_skipped: 0,
        folded_children: 0,
        unknown_resources: 0,
        not_checked: BTreeMap::new(),
        unknown: vec![],
        partial: false,
        diagnostics: vec![],
    }
}

fn no_tags(_: &ResourceKey) -> Option<&'static Map<String, Value>> {
    None
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn a_real_world_driftignore_hides_exactly_what_driftctl_did_and_counts_it() {
    let driftignore = load_driftignore(&fixture()).unwrap();
    assert_eq!(driftignore.entries().len(), 14);
    let set = IgnoreSet::for_target("prod-network", Some(driftignore), &[]);
    let all = report().drifts;
    let filtered = filter(report().drifts, &set, at("2026-03-01T00:00:00Z"), no_tags);

    // What is still reported, in order; changed drifts keep only what no line hides.
    let keep = |i: usize| all[i].clone();
    assert_eq!(
        filtered.kept,
        vec![
            keep(1),
            keep(3),
            keep(9),
            keep(10),
            changed(
                "aws_lambda_function",
                "ingest",
                vec![change(vec![attr("memory_size")])]
            ),
            changed(
                "aws_lambda_function",
                "billing",
                vec![change(vec![attr("last_modified")])]
            ),
            keep(14),
            keep(16),
            keep(17),
        ]
    );

    let label = |line: usize| format!("{}:{line}", fixture().display());
    let whole = RuleHits {
        drifts: 1,
        changes: 0,
    };
    let changes = |n: usize| RuleHits {
        drifts: 0,
        changes: n,
    };
    assert_eq!(
        filtered.counts,
        IgnoredCounts {
            drifts: 9,
            changed: 3,
            unmanaged: 5,
            missing: 1,
            changes: 6,
            by_rule: BTreeMap::from([
                (label(3), whole),
                (label(4), whole),
                (label(5), whole),
                (label(7), whole),
                (label(9), whole),
                (label(14), whole),
                (label(16), whole),
                (label(20), changes(2)),
                (label(22), changes(1)),
                (label(24), changes(1)),
                (label(25), changes(1)),
                (label(27), changes(1)),
            ]),
        }
    );
    // Nothing is lost: every input drift is kept, hidden, or both (in part).
    assert_eq!(filtered.ignored.len(), 11);
    assert_eq!(filtered.kept.len() + filtered.counts.drifts, all.len());
    let json = serde_json::to_value(&filtered.counts).unwrap();
    assert_eq!(json["drifts"], 9);
    assert_eq!(json["by_rule"][label(20)]["changes"], 2);
    assert!(filtered.diagnostics.is_empty());
}

#[test]
fn config_rules_with_tags_and_expiry_join_the_driftignore() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("driftd.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
[[target]]
name = "prod-network"
environment = "prod"
driftignore = "{}"
  [[target.state]]
  type = "file"
  path = "net.tfstate"
  [target.aws]
  regions = ["eu-west-1"]
  [[target.aws.account]]
  id = "111111111111"

[[target]]
name = "staging-apps"
environment = "staging"
  [[target.state]]
  type = "file"
  path = "apps.tfstate"
  [target.aws]
  regions = ["eu-west-1"]
  [[target.aws.account]]
  id = "222222222222"

[[ignore]]
name = "alice-sandbox"
resource_type = "aws_iam_user"
id = "alice"
reason = "Alice's sandbox user until the SSO migration"
owner = "team-identity"
expires = 2027-01-31

[[ignore]]
target = "prod-*"
resource_type = "aws_instance"
attribute = "instance_type"
tags = {{ team = "data" }}
reason = "rightsized by the data team's scheduler"
owner = "team-data"

[[ignore]]
target = "staging-*"
resource_type = "*"
reason = "staging only"
owner = "nobody"
"#,
            fixture().display()
        ),
    )
    .unwrap();
    let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{}", e.render()));
    let target = &config.targets[0];
    let set = IgnoreSet::load(&target.name, target.driftignore.as_deref(), &config.ignore).unwrap();
    assert_eq!(set.rules.len(), 2, "the staging rule is not this target's");

    let data_tags = Map::from_iter([("team".to_string(), json!("data"))]);
    let tags_of = |k: &ResourceKey| (k.id == "i-0123456789abcdef0").then_some(&data_tags);
    let alice = unmanaged("aws_iam_user", "alice");

    // On the expiry date (UTC), the rule still applies.
    let before = filter(report().drifts, &set, at("2027-01-31T23:59:59Z"), tags_of);
    assert!(!before.kept.contains(&alice));
    assert_eq!(before.counts.drifts, 10);
    assert_eq!(before.counts.changes, 7);
    assert_eq!(
        before.counts.by_rule["alice-sandbox"],
        RuleHits {
            drifts: 1,
            changes: 0
        }
    );
    assert_eq!(
        before.counts.by_rule["ignore[1]"],
        RuleHits {
            drifts: 0,
            changes: 1
        }
    );
    assert!(before.kept.contains(&changed(
        "aws_instance",
        "i-0123456789abcdef0",
        vec![change(vec![attr("tags"), map_key("Owner")])]
    )));
    assert!(before.diagnostics.is_empty());

    // The next midnight UTC it has expired: Alice's user is reported again, and
    // a warning says which rule gave it back, whose it is and why it existed.
    let after = filter(report().drifts, &set, at("2027-02-01T00:00:00Z"), tags_of);
    assert!(after.kept.contains(&alice));
    assert_eq!(after.counts.drifts, 9);
    assert!(!after.counts.by_rule.contains_key("alice-sandbox"));
    assert_eq!(
        after.diagnostics,
        vec![Diagnostic::warning(
            "ignore rule alice-sandbox",
            "expired at 2027-02-01T00:00:00Z (owner: team-identity; reason: Alice's sandbox \
             user until the SSO migration): what it hid is reported again, 1 drift it would \
             hide in this scan; extend `expires` or remove the rule"
        )]
    );
    assert_eq!(set.expired(at("2027-02-01T00:00:00Z")).len(), 1);
}

#[test]
fn the_example_driftignore_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("driftignore.example");
    let d = load_driftignore(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!d.entries().is_empty());
    let set = IgnoreSet::for_target("prod-network", Some(d), &[]);
    let f = filter(
        vec![
            unmanaged("aws_s3_bucket", "acme-vendor-exports.eu"),
            unmanaged("aws_iam_role", "AWSServiceRoleForECS"),
            unmanaged("aws_iam_role", "AWSServiceRoleForRDS"),
        ],
        &set,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        no_tags,
    );
    assert_eq!(
        f.kept,
        vec![unmanaged("aws_iam_role", "AWSServiceRoleForECS")]
    );
}
