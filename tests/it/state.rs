//! Every real state in the corpus is read, or rejected with the right error.

use crate::support::corpus_dir;
use driftd::model::{Mode, Origin};
use driftd::secrets::SecretKey;
use driftd::state::{StateError, parse_state};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// Files that must be rejected, and how. Every other file must parse.
const EXPECTED_ERRORS: &[(&str, &str)] = &[
    (
        "edge-cases/dot-terraform-backend-config-not-a-state.tfstate",
        "backend_config",
    ),
    (
        "driftctl-fixtures/testdata__v4__invalid.tfstate",
        "invalid_json",
    ),
    ("v3/v3-aws-iam-tf0.8.tfstate", "too_old"),
    ("v3/v3-terraformer-aws-iam-104res.tfstate", "too_old"),
    (
        "v3/v3-terraformer-aws-21-security-groups.tfstate",
        "too_old",
    ),
    ("v3/v3-azure-tf0.11.tfstate", "too_old"),
    ("v3/v3-libvirt-modules-tf0.11.tfstate", "too_old"),
];

fn state_files() -> Vec<PathBuf> {
    crate::support::files_below(&corpus_dir().join("terraform-state"))
}

/// Counts instances straight from the JSON, independently of driftd's parser.
fn independent_counts(raw: &Value) -> (usize, usize) {
    let mut managed = 0;
    let mut data = 0;
    for r in raw["resources"].as_array().unwrap() {
        let n = r["instances"].as_array().map_or(0, Vec::len);
        match r["mode"].as_str().unwrap() {
            "managed" => managed += n,
            "data" => data += n,
            m => panic!("unexpected mode {m}"),
        }
    }
    (managed, data)
}

fn key() -> SecretKey {
    SecretKey::from_bytes([9; 32])
}

#[test]
fn every_corpus_state_is_read_or_rejected_precisely() {
    let root = corpus_dir().join("terraform-state");
    let expected_errors: BTreeMap<&str, &str> = EXPECTED_ERRORS.iter().copied().collect();
    let files = state_files();
    assert!(files.len() >= 40, "corpus has {} state files", files.len());
    let mut seen_errors = HashSet::new();
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let bytes = std::fs::read(file).unwrap();
        let origin = Origin::from(rel.as_str());
        let result = parse_state(&bytes, &origin, &key());
        match expected_errors.get(rel.as_str()) {
            Some(kind) => {
                let err = result.expect_err(&rel);
                assert_eq!(err.kind(), *kind, "{rel}: {err}");
                assert!(
                    err.to_string().starts_with(&rel),
                    "{rel}: message must name the file: {err}"
                );
                seen_errors.insert(rel);
            }
            None => {
                let state = result.unwrap_or_else(|e| panic!("{rel}: {e}"));
                let raw: Value = serde_json::from_slice(&bytes).unwrap();
                let (managed, data) = independent_counts(&raw);
                assert_eq!(state.managed().count(), managed, "{rel}: managed instances");
                assert_eq!(
                    state.data_sources().count(),
                    data,
                    "{rel}: data source instances"
                );
                assert_eq!(
                    state.meta.serial,
                    raw["serial"].as_u64().unwrap(),
                    "{rel}: serial"
                );
                // Addresses are unique per state (a deposed object shares its instance's address).
                let mut addresses = HashSet::new();
                for r in &state.resources {
                    assert!(
                        addresses.insert((r.address.to_string(), r.deposed.clone())),
                        "{rel}: duplicate address {}",
                        r.address
                    );
                    assert_eq!(r.key.resource_type, r.address.resource_type);
                    assert!(
                        r.attributes.as_str().starts_with('{'),
                        "{rel}: {}",
                        r.address
                    );
                }
            }
        }
    }
    assert_eq!(
        seen_errors.len(),
        EXPECTED_ERRORS.len(),
        "an expected-error file is missing from the corpus"
    );
}

#[test]
fn v3_message_tells_how_to_upgrade() {
    let path = corpus_dir().join("terraform-state/v3/v3-aws-iam-tf0.8.tfstate");
    let err = parse_state(
        &std::fs::read(path).unwrap(),
        &Origin::from("v3.tfstate"),
        &key(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "v3.tfstate: format version 3 is written by Terraform older than 0.12; upgrade the state with Terraform 0.12 \
         or later (run `terraform apply -refresh-only` or `terraform state push` with it)"
    );
}

#[test]
fn invalid_json_names_file_line_and_column() {
    let path = corpus_dir().join("terraform-state/driftctl-fixtures/testdata__v4__invalid.tfstate");
    let err = parse_state(
        &std::fs::read(path).unwrap(),
        &Origin::from("bad.tfstate"),
        &key(),
    )
    .unwrap_err();
    // Python's json module agrees: "line 16 column 7".
    match err {
        StateError::InvalidJson { line, column, .. } => assert_eq!((line, column), (16, 7)),
        other => panic!("{other}"),
    }
}

/// Follows a `sensitive_attributes` path (cty steps) through an attribute tree.
fn follow<'a>(mut v: &'a Value, path: &Value) -> &'a Value {
    for step in path.as_array().unwrap() {
        v = match (step["type"].as_str(), &step["value"]) {
            (Some("get_attr"), Value::String(k)) => &v[k.as_str()],
            (Some("index"), key) => match &key["value"] {
                Value::Number(n) => &v[n.as_u64().unwrap() as usize],
                Value::String(k) => &v[k.as_str()],
                _ => &Value::Null,
            },
            _ => &Value::Null,
        };
    }
    v
}

/// Every value a state declares sensitive is a keyed hash after parsing. (A provider may
/// copy the same text into a non-sensitive attribute, e.g. an Azure id containing a
/// sensitive name; Terraform shows those too, and driftd needs the id to match.)
#[test]
fn declared_sensitive_values_are_hashed() {
    let mut checked = 0;
    for file in state_files() {
        let bytes = std::fs::read(&file).unwrap();
        let Ok(state) = parse_state(&bytes, &Origin::from("s"), &key()) else {
            continue;
        };
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let instances: Vec<&Value> = raw["resources"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["instances"].as_array().unwrap())
            .collect();
        assert_eq!(instances.len(), state.resources.len());
        for (inst, r) in instances.iter().zip(&state.resources) {
            let ours = r.attributes.to_value();
            for path in inst["sensitive_attributes"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let before = follow(&inst["attributes"], path);
                let after = follow(&ours, path);
                if before.is_null() {
                    assert!(after.is_null());
                    continue;
                }
                assert!(
                    every_leaf_hashed(after),
                    "{}: {} {path} is not hashed",
                    file.display(),
                    r.address
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 20,
        "the corpus declares sensitive values; only {checked} were checked"
    );
}

/// Known secret attributes are hashed even where the state does not mark them
/// (old providers did not): the REDACTED placeholders in the corpus stand where
/// real secrets were.
#[test]
fn secret_named_attributes_are_hashed_without_a_declaration() {
    let p = "aws/aws-rds-modules-tf012.tfstate";
    let bytes = std::fs::read(corpus_dir().join("terraform-state").join(p)).unwrap();
    let state = parse_state(&bytes, &Origin::from(p), &key()).unwrap();
    let db = state
        .resources
        .iter()
        .find(|r| &*r.key.resource_type == "aws_db_instance")
        .expect("a db instance");
    let attrs = db.attributes.to_value();
    assert!(
        attrs["password"]
            .as_str()
            .is_some_and(driftd::secrets::is_hashed),
        "{}",
        attrs["password"]
    );
    assert!(
        db.sensitive_paths
            .iter()
            .any(|p| p.to_string() == "password")
    );
}

#[test]
fn tainted_deposed_count_and_for_each_are_kept() {
    let dir = corpus_dir().join("terraform-state");
    let read = |p: &str| {
        parse_state(
            &std::fs::read(dir.join(p)).unwrap(),
            &Origin::from(p),
            &key(),
        )
        .unwrap()
    };
    let tainted = read("aws/aws-rds-sensitive-tf19.tfstate");
    assert!(
        tainted
            .resources
            .iter()
            .any(|r| r.status == driftd::model::InstanceStatus::Tainted)
    );
    // OpenTofu's registry host is kept.
    assert!(
        tainted
            .resources
            .iter()
            .all(|r| r.provider.hostname == "registry.opentofu.org")
    );
    let indexed = read("azure/azure-vms-nsg-index-tf114.tfstate");
    assert!(
        indexed
            .resources
            .iter()
            .any(|r| matches!(r.address.index, Some(driftd::model::IndexKey::Int(_))))
    );
    let eks = read("aws/aws-eks-lon-kinbal-tf013.tfstate");
    assert!(
        eks.resources
            .iter()
            .any(|r| r.address.module.is_some() && r.provider.module.is_some())
    );
    assert!(eks.data_sources().all(|r| r.address.mode == Mode::Data));
}

#[test]
fn flatmap_states_are_read_with_a_warning() {
    let p = "aws/aws-21-security-groups-terraformer-upgraded.tfstate.backup";
    let bytes = std::fs::read(corpus_dir().join("terraform-state").join(p)).unwrap();
    let state = parse_state(&bytes, &Origin::from(p), &key()).unwrap();
    assert_eq!(state.managed().count(), 21);
    assert!(
        state.resources.iter().all(|r| r.key.id.starts_with("sg-")),
        "ids come from attributes_flat"
    );
    assert!(
        state
            .diagnostics
            .iter()
            .any(|d| d.message.contains("attributes_flat"))
    );
}

#[test]
fn deposed_instances_are_separate_objects() {
    let text = r#"{"version":4,"serial":1,"lineage":"x","resources":[{"mode":"managed","type":"aws_instance","name":"web",
      "provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[
        {"schema_version":1,"attributes":{"id":"i-00000001"}},
        {"deposed":"00a1b2c3","schema_version":1,"attributes":{"id":"i-00000002"}}]}]}"#;
    let state = parse_state(text.as_bytes(), &Origin::from("d"), &key()).unwrap();
    assert_eq!(state.resources.len(), 2);
    assert_eq!(state.resources[1].deposed.as_deref(), Some("00a1b2c3"));
    assert_eq!(state.resources[1].key.id, "i-00000002");
}

/// Hashing is leaf by leaf: every string, number and boolean under a sensitive
/// path is a keyed hash (nulls, keys and nesting stay).
fn every_leaf_hashed(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => driftd::secrets::is_hashed(s),
        Value::Array(items) => items.iter().all(every_leaf_hashed),
        Value::Object(fields) => fields.values().all(every_leaf_hashed),
        _ => false,
    }
}
