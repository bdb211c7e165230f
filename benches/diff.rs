//! Diff benchmark (BENCHMARKS.md, "Diff"): 100,000 state resources against
//! 100,000 live resources, 10 % of them changed in one attribute.
//!
//! The desired side is the foundation benchmark's synthetic state (100,000
//! managed instances cloned from the real AWS corpus states, every key
//! distinct), parsed with `driftd::state::parse_state`. The live side is built
//! from the same attributes with `driftd::live::live_resource` (what a mapping
//! of an unchanged cloud returns), and every tenth resource gets one
//! top-level attribute changed. Then `driftd::diff::diff` is timed, with plain
//! rules for every type (no normalisation): the matching, the tree
//! comparison and the report, nothing else.
//!
//! `cargo bench --bench diff` prints a Markdown table. Environment as for the
//! foundation benchmark: `DRIFTD_CORPUS`, `DRIFTD_BENCH_DATA`, `DRIFTD_BENCH_INSTANCES`.

// The generator is shared with the foundation benchmark, which uses more of it.
#[allow(dead_code)]
mod support;

use driftd::diff::{DiffOptions, DiffReport, diff};
use driftd::live::{
    Coverage, Listing, LiveInventory, TypeRules, live_resource, never_default, no_normalization,
};
use driftd::model::{Mode, Origin, Resource};
use driftd::secrets::SecretKey;
use driftd::state::parse_state;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use support::data_dir;
use support::synth::{self, TemplateSet};

const RUNS: usize = 5;
/// Every how many-th resource is changed on the live side.
const CHANGE_EVERY: usize = 10;

fn main() {
    let key = SecretKey::from_bytes([0x5a; 32]);
    let dir = corpus_dir();
    let templates = TemplateSet::load(&dir)
        .unwrap_or_else(|e| panic!("cannot load templates from {}: {e}", dir.display()));
    let file = synth::ensure_state(&templates, instances_wanted(), &data_dir())
        .expect("cannot write the synthetic state");
    let bytes = std::fs::read(&file.path).expect("read the synthetic state");
    let origin = Origin::from("synthetic");
    let desired = parse_state(&bytes, &origin, &key)
        .expect("the synthetic state parses")
        .resources;
    drop(bytes);

    let started = Instant::now();
    let (live, changed_wanted) = live_side(&desired, &key);
    let build_secs = started.elapsed().as_secs_f64();

    let mut times = Vec::with_capacity(RUNS);
    let mut report = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let r = diff(&desired, &live, &rules, &DiffOptions::default());
        times.push(started.elapsed());
        report = Some(std::hint::black_box(r));
    }
    let report = report.expect("at least one run");
    // For scale: the share of the diff that is parsing the two attribute texts
    // of every pair into trees (the diff keeps attributes as compact text).
    let mut parse_times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        for r in desired
            .iter()
            .filter(|r| r.is_managed())
            .chain(&live.resources)
        {
            std::hint::black_box(r.attributes.to_value());
        }
        parse_times.push(started.elapsed());
    }
    parse_times.sort();
    check(&report, &desired, &live, changed_wanted);
    times.sort();
    let best = times[0];
    let median = times[RUNS / 2];

    let managed = desired.iter().filter(|r| r.is_managed()).count();
    let aws = live
        .resources
        .iter()
        .filter(|r| &*r.key.provider == "aws")
        .count();
    let changes: usize = report
        .drifts
        .iter()
        .map(|d| match d {
            driftd::diff::Drift::Changed { changes, .. } => changes.len(),
            _ => 0,
        })
        .sum();
    println!("| Measure | Target | Measured | |");
    println!("|---|---|---|---|");
    println!(
        "| Diff, best of {RUNS} | < 2 s | {:.3} s | {} |",
        secs(best),
        if secs(best) < 2.0 { "met" } else { "NOT met" }
    );
    println!("| Diff, median of {RUNS} | | {:.3} s | |", secs(median));
    println!(
        "| … of which parsing both sides' attribute texts into trees, best of {RUNS} | | {:.3} s | |",
        secs(parse_times[0])
    );
    println!(
        "| Input | | {managed} managed state instances ({aws} AWS, {} kubernetes/helm/random/…), {} live resources, {} of them changed | |",
        managed - aws,
        live.resources.len(),
        changed_wanted,
    );
    println!(
        "| Result | | managed {}, changed {} ({changes} attribute changes), missing {}, unmanaged {}, coverage {:.3} | |",
        report.managed, report.changed, report.missing, report.unmanaged, report.coverage
    );
    println!("| Building the live side (not timed above) | | {build_secs:.3} s | |");
    findings_update(&desired, &live, &report);
}

/// Issue 4's target: with 100,000 resources and 10,000 open findings, updating
/// the findings after a scan takes under 1 s. The diff's 10,000 changed
/// drifts are recorded as findings by three scans into a store file (opened,
/// then confirmed, then seen again unchanged, the steady state); each update
/// is timed from the diff report to the committed transaction: observations,
/// the resource-version hashes of both sides, loading the target's findings,
/// reconciling, writing what changed and the events, and the commit.
fn findings_update(desired: &[Resource], live: &LiveInventory, report: &DiffReport) {
    use driftd::store::{Store, StoreError};
    let path = data_dir().join("findings-bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = Store::open(&path).expect("open the bench store");
    let complete = driftd::scan::complete_types(&live.coverage);
    let policy = driftd::findings::Policy::default();
    let mut rows = Vec::new();
    for round in 0..4 {
        let (target, scan) = store
            .write(|w| {
                let t = w.upsert_target("bench", "bench")?;
                let s = w.begin_scan(t, chrono::Utc::now())?;
                Ok::<_, StoreError>((t, s))
            })
            .expect("begin a scan");
        let started = Instant::now();
        let mut observed = driftd::findings::observe(&report.drifts, &[]);
        driftd::scan::fill_versions(&mut observed, desired, &live.resources);
        let observe = started.elapsed();
        let done = store
            .write(|w| {
                driftd::scan::update_findings(
                    w,
                    target,
                    "bench",
                    &observed,
                    driftd::findings::ScanInfo {
                        scan_id: scan.0,
                        at: chrono::Utc::now(),
                    },
                    &complete,
                    &policy,
                )
            })
            .expect("update the findings");
        let total = started.elapsed();
        let what = match round {
            0 => "first sighting (10,000 opened)",
            1 => "second sighting (10,000 confirmed)",
            _ => "steady state (10,000 seen again)",
        };
        rows.push((what, total, observe, done));
    }
    for (what, total, observe, done) in rows {
        println!(
            "| Findings update after a scan, {what} | < 1 s | {:.3} s (observations and version hashes {:.3} s) | {} |",
            secs(total),
            secs(observe),
            if secs(total) < 1.0 { "met" } else { "NOT met" },
        );
        let _ = done;
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The live side: every managed instance, tags as AWS lists them (tags_all),
/// every `CHANGE_EVERY`-th changed in one top-level attribute.
fn live_side(desired: &[Resource], key: &SecretKey) -> (LiveInventory, usize) {
    let origin = Origin::from("aws:bench");
    let mut resources = Vec::new();
    let mut places = BTreeSet::new();
    let mut changed = 0;
    for r in desired
        .iter()
        .filter(|r| r.address.mode == Mode::Managed && r.deposed.is_none())
    {
        let mut attrs = r.attributes.to_value();
        // A live mapping reports every tag the object has under `tags`.
        if let Some(all) = attrs.as_object_mut().and_then(|m| m.remove("tags_all"))
            && all.as_object().is_some_and(|o| !o.is_empty())
        {
            attrs["tags"] = all;
        }
        if resources.len() % CHANGE_EVERY == 0 {
            change_one_attribute(&mut attrs);
            changed += 1;
        }
        places.insert(r.key.resource_type.to_string());
        let mut live = live_resource(
            &r.key.resource_type,
            r.key.id.clone(),
            attrs,
            &[],
            &origin,
            key,
        );
        // `live_resource` speaks for the AWS collectors; the few kubernetes,
        // helm, random… instances of the templates keep their own provider so
        // that all 100,000 match.
        live.key.provider = r.key.provider.clone();
        resources.push(live);
    }
    let coverage = places
        .into_iter()
        .map(|t| Coverage {
            resource_type: t,
            account: "000000000000".into(),
            region: "us-east-1".into(),
            listing: Listing::Complete,
            listed: 0,
        })
        .collect();
    (
        LiveInventory {
            resources,
            coverage,
        },
        changed,
    )
}

/// One top-level attribute the state has: a new tag when the state has tags,
/// else the first plain value found in another attribute (at any depth), altered.
fn change_one_attribute(attrs: &mut Value) {
    let Value::Object(m) = attrs else {
        panic!("attributes are an object")
    };
    if let Some(tags) = m.get_mut("tags") {
        if !tags.is_object() {
            *tags = Value::Object(Default::default());
        }
        tags["driftd-bench"] = Value::String("changed".into());
        return;
    }
    let changed = m
        .iter_mut()
        .filter(|(name, _)| !matches!(name.as_str(), "id" | "timeouts" | "tags_all"))
        .any(|(_, value)| alter_first_scalar(value));
    assert!(
        changed,
        "no attribute to change in {}",
        Value::Object(m.clone())
    );
}

fn alter_first_scalar(value: &mut Value) -> bool {
    match value {
        Value::String(s) if !s.is_empty() && !driftd::secrets::is_hashed(s) => {
            s.push_str("-changed");
            true
        }
        Value::Bool(b) => {
            *b = !*b;
            true
        }
        Value::Number(n) => {
            *value = Value::from(n.as_f64().unwrap_or(0.0) + 1.0);
            true
        }
        Value::Null => {
            *value = Value::String("changed".into());
            true
        }
        Value::Array(a) => a.iter_mut().any(alter_first_scalar),
        Value::Object(o) => o.values_mut().any(alter_first_scalar),
        _ => false,
    }
}

fn check(report: &DiffReport, desired: &[Resource], live: &LiveInventory, changed: usize) {
    let keys: BTreeSet<_> = live.resources.iter().map(|r| &r.key).collect();
    assert_eq!(keys.len(), live.resources.len(), "every key is distinct");
    assert_eq!(report.managed, live.resources.len());
    assert_eq!(
        report.changed, changed,
        "exactly the changed resources drift"
    );
    assert_eq!((report.missing, report.unmanaged), (0, 0));
    assert!(
        report.diagnostics.is_empty(),
        "{:?}",
        &report.diagnostics[..3.min(report.diagnostics.len())]
    );
    let not_checked: usize = report.not_checked.values().sum();
    let managed = desired.iter().filter(|r| r.is_managed()).count();
    assert_eq!(not_checked + report.managed, managed);
}

/// Plain rules for every type, one leaked copy each.
fn rules(resource_type: &str) -> Option<&'static TypeRules> {
    static RULES: OnceLock<Mutex<HashMap<String, &'static TypeRules>>> = OnceLock::new();
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

fn corpus_dir() -> PathBuf {
    std::env::var_os("DRIFTD_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/terraform-state/aws")
        })
}

fn instances_wanted() -> usize {
    std::env::var("DRIFTD_BENCH_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}
