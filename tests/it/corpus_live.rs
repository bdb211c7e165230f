//! Real corpus states, written by older providers, materialised in moto:
//! `scripts/materialize-state` creates their resources through the AWS API and
//! rewrites their ids to moto's; `driftd scan` must then find no drift at all.
//! Whatever it reports is a false positive: an older attribute shape the
//! type's rules do not know yet.

use crate::scenario::{scan, write_config};
use crate::support::corpus_dir;
use crate::support::moto::{MotoServer, REGION, moto_server_path};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Corpus states whose every supported resource must be in sync once materialised.
const CORPUS_STATES: &[&str] = &[
    "aws-ec2-sg-vpc-module.tfstate",
    "aws-iam-role-tf012.tfstate",
    "aws-kong-vpc-sg-tf012.tfstate",
    "aws-eks-plane-nodegroups.tfstate",
    "aws-eks-blueprints-base.tfstate",
    "aws-eks-lon-kinbal-tf013.tfstate",
    // aws-us-gov, moved to the aws partition (the script's rule 6).
    "aws-cms-npd-ecs-rds-tf113.tfstate",
    // Upgraded from Terraform 0.11: `attributes_flat` (the script's rule 7).
    "aws-21-security-groups-terraformer-upgraded.tfstate.backup",
    "aws-eks-blueprints-addons-helm.tfstate.backup",
    // Partly destroyed: resources with no instances left.
    "aws-kong-rds-alb-partially-destroyed-tf012.tfstate.backup",
    "aws-s3-bucket-policy-tf012.tfstate",
    "aws-s3-versioning-sse-tf111.tfstate",
];

/// Corpus states holding a setting moto 5.1.22 refuses to hold as AWS did, so
/// the script cannot make it (its rule 8 lists each in the summary's
/// `moto_limits`). Everything else in them is checked as in
/// [`CORPUS_STATES`]; a drift on a listed attribute, and only there, is moto's.
///
/// - `aws-rds-sensitive-tf19`: `backup_window = "03:00-04:00"` with
///   `maintenance_window = "mon:04:00-mon:05:00"`, which AWS accepted (the
///   windows touch, they do not overlap). moto's
///   `valid_preferred_maintenance_window` counts an overlap of 0 seconds as
///   overlapping (`>= 0`) and answers `InvalidParameterValue: The backup
///   window and maintenance window must not overlap` to CreateDBInstance and
///   ModifyDBInstance alike, so no API call gives the instance both windows.
const CORPUS_STATES_WITH_MOTO_LIMITS: &[&str] = &["aws-rds-sensitive-tf19.tfstate"];

/// What `materialize-state --summary-json` wrote.
struct Materialised {
    /// Holds the rewritten state and the scan's store.
    _dir: tempfile::TempDir,
    state: PathBuf,
    region: String,
    /// `type.id` of the objects the script made because the state refers to
    /// them without holding them (another state's VPC): the only unmanaged
    /// resources a scan may report.
    support: BTreeSet<String>,
    /// `(type.id, attribute)` the script could not set as the state has it.
    moto_limits: BTreeSet<(String, String)>,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/materialize-state")
}

/// The venv's interpreter, beside `moto_server` (it has boto3: moto needs it).
fn venv_python() -> PathBuf {
    moto_server_path().with_file_name("python")
}

fn materialise(name: &str, moto: &MotoServer) -> Result<Materialised, String> {
    let tempdir = tempfile::tempdir().unwrap();
    let dir = tempdir.path();
    let source = corpus_dir().join("terraform-state/aws").join(name);
    let state = dir.join(name);
    let summary = dir.join(format!("{name}.summary.json"));
    let out = Command::new(venv_python())
        .arg(script())
        .arg(&source)
        .arg(moto.endpoint_url())
        .arg(&state)
        .arg("--summary-json")
        .arg(&summary)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", venv_python().display()))?;
    if !out.status.success() {
        return Err(format!(
            "materialize-state failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap())
        .map_err(|e| format!("summary of {name}: {e}"))?;
    Ok(Materialised {
        _dir: tempdir,
        state,
        region: summary["region"].as_str().unwrap().to_string(),
        support: summary["support"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{}.{}",
                    s["resource_type"].as_str().unwrap(),
                    s["id"].as_str().unwrap()
                )
            })
            .collect(),
        moto_limits: summary["moto_limits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    format!(
                        "{}.{}",
                        l["resource_type"].as_str().unwrap(),
                        l["id"].as_str().unwrap()
                    ),
                    l["attribute"].as_str().unwrap().to_string(),
                )
            })
            .collect(),
    })
}

/// Managed resource types in a state, with their instance counts.
fn managed_types(state: &Path) -> BTreeMap<String, usize> {
    let state: Value = serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    let mut types = BTreeMap::new();
    for r in state["resources"].as_array().unwrap() {
        let count = r["instances"].as_array().map_or(0, Vec::len);
        // A destroyed resource keeps its entry with no instances.
        if r["mode"] == "managed" && count > 0 {
            *types
                .entry(r["type"].as_str().unwrap().to_string())
                .or_default() += count;
        }
    }
    types
}

/// Materialises `name` in a moto of its own (IAM is global: two states in one
/// moto would see each other's roles as unmanaged) and scans it.
fn materialise_and_scan(name: &str) -> Result<(Materialised, i32, Value), String> {
    let moto = MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let materialised = materialise(name, &moto)?;
    let config = write_config(
        materialised._dir.path(),
        &materialised.state,
        &moto.endpoint_url(),
    );
    // The state's own region (moto serves any): no region is rewritten.
    let text = std::fs::read_to_string(&config).unwrap();
    let regions = format!("regions = [\"{REGION}\"]");
    assert!(text.contains(&regions), "{text}");
    std::fs::write(
        &config,
        text.replace(
            &regions,
            &format!("regions = [\"{}\"]", materialised.region),
        ),
    )
    .unwrap();
    let (code, report) = scan(&config);
    Ok((materialised, code, report))
}

/// Everything wrong with one materialised state's scan, as lines. Drift on
/// the attributes the script reports as moto's limits is expected only when
/// `limits_allowed`, and then each limit must show (else it is stale).
fn problems(name: &str, limits_allowed: bool) -> Vec<String> {
    let (materialised, code, report) = match materialise_and_scan(name) {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    let mut problems = Vec::new();
    if !limits_allowed && !materialised.moto_limits.is_empty() {
        problems.push(format!(
            "moto limits {:?} in a state of CORPUS_STATES",
            materialised.moto_limits
        ));
    }
    let mut limits_seen = BTreeSet::new();
    let drift = &report["live"]["drift"];
    let mut unmanaged = BTreeSet::new();
    for d in drift["drifts"].as_array().unwrap() {
        let key = format!(
            "{}.{}",
            d["key"]["resource_type"].as_str().unwrap(),
            d["key"]["id"].as_str().unwrap()
        );
        match d["kind"].as_str().unwrap() {
            "unmanaged" => {
                unmanaged.insert(key);
            }
            kind => {
                let mut changes = d["changes"].as_array().cloned().unwrap_or_default();
                if kind == "changed" && limits_allowed {
                    changes.retain(|c| {
                        let limit = (key.clone(), c["path"].as_str().unwrap_or("").to_string());
                        let expected = materialised.moto_limits.contains(&limit);
                        if expected {
                            limits_seen.insert(limit);
                        }
                        !expected
                    });
                    if changes.is_empty() {
                        continue;
                    }
                }
                problems.push(format!(
                    "{kind} {}: {}",
                    d["address"].as_str().unwrap_or(&key),
                    Value::Array(changes)
                ))
            }
        }
    }
    if unmanaged != materialised.support {
        problems.push(format!(
            "unmanaged {unmanaged:?}, expected only the support objects {:?}",
            materialised.support
        ));
    }
    if limits_allowed && limits_seen != materialised.moto_limits {
        problems.push(format!(
            "moto limits {:?} declared, drift seen on {limits_seen:?}",
            materialised.moto_limits
        ));
    }
    let expected_code = if materialised.support.is_empty() && limits_seen.is_empty() {
        0
    } else {
        2
    };
    if code != expected_code {
        problems.push(format!("exit code {code}, expected {expected_code}"));
    }
    if drift["partial"] != false || !drift["diagnostics"].as_array().unwrap().is_empty() {
        problems.push(format!(
            "partial {} or diagnostics {}",
            drift["partial"], drift["diagnostics"]
        ));
    }
    // Every supported type is checked; only the others are "not checked".
    let not_checked = drift["not_checked"].as_object().unwrap();
    let types = managed_types(&materialised.state);
    for (t, count) in &types {
        let supported = driftd::aws::types::rules(t).is_some();
        match (supported, not_checked.get(t)) {
            (true, Some(_)) => problems.push(format!("{t} is supported but not checked")),
            (false, None) => problems.push(format!("{t} is not supported yet not in not_checked")),
            (false, Some(n)) if n.as_u64() != Some(*count as u64) => {
                problems.push(format!("not_checked {t}: {n}, the state holds {count}"))
            }
            _ => {}
        }
    }
    if types.keys().any(|t| driftd::aws::types::rules(t).is_some())
        && drift["managed"].as_u64() == Some(0)
    {
        problems.push("nothing managed was matched".to_string());
    }
    problems
        .into_iter()
        .map(|p| format!("{name}: {p}"))
        .collect()
}

/// Issue 3: corpus states written by older providers show no drift in sync.
/// Every state runs, and every failing state is reported at once.
#[test]
fn materialised_corpus_states_have_no_drift() {
    let failures: Vec<String> = CORPUS_STATES
        .iter()
        .map(|n| (n, false))
        .chain(CORPUS_STATES_WITH_MOTO_LIMITS.iter().map(|n| (n, true)))
        .flat_map(|(n, limits_allowed)| problems(n, limits_allowed))
        .collect();
    assert!(
        failures.is_empty(),
        "false positives on materialised corpus states:\n{}",
        failures.join("\n")
    );
}
