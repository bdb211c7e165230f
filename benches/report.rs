//! Report pages benchmark (BENCHMARKS.md, "Report pages"): how long the
//! daemon takes to make its two heaviest pages, server-side, from a store
//! file on disk.
//!
//! - The scan page of a scan that saw 10,000 findings of one target.
//! - The overview of 20 targets with a year of history (a 366-day trend each).
//! - For information, the finding page of one finding with evidence.
//!
//! Each page is made as `report::web` makes it: the store read (`data::*`
//! inside one `Store::read`, as the web handlers run it on a blocking
//! thread), then the HTML render (`html::*` with `Site::served()`). Both are
//! timed, and so is the whole; median and max of `DRIFTD_REPORT_RUNS`
//! (default 10) runs after two warm-up runs.
//!
//! The store is built through the store's own writers (`upsert_target`,
//! `begin_scan`, `store_resources`, `finish_scan`, `record_scan_summary`,
//! `save_findings`, `add_finding_events`, `save_finding_policy`,
//! `store_trail_events`, `save_attribution`, `save_evidence`):
//!
//! - Resources: the synthetic state of the foundation benchmark
//!   (`support::synth`, real AWS corpus states cloned in batches), 20,000
//!   managed instances as the target's Terraform state, stored as the desired
//!   side of its last scan (the finding page's blast radius reads it); the
//!   next batches are the cloud's unmanaged resources.
//! - Findings of `prod-platform`, all seen by its last scan: 60 % changed
//!   (1 to 3 real top-level attributes of the resource, `tags` most often),
//!   30 % unmanaged, 10 % missing, over the state's 20 most common resource
//!   types, with their real addresses (module paths, `[0]` and `["key"]`
//!   indexes) and ids (`sg-…`, IAM role names, `arn:aws:iam::…` policy ARNs).
//!   Opened over the last 50 scans; 2 % still unconfirmed, 3 % ignored, 6 %
//!   acknowledged, 3 % accepted, 2 % snoozed, 1.5 % resolved and reopened
//!   since; 5 % more resolved before the last scan (not on its page). 90 %
//!   have a tier (finding_policy: 1 for most, 2 for a quarter, 3 for 8 %).
//! - Attribution: 30 % of the findings have an explaining CloudTrail event
//!   (a fifth of them an earlier event too), shared among 200 distinct events
//!   made from real write records of the corpus (panther-analysis tests and
//!   the invictus dataset: console, CLI, Terraform, SDK, AWS-service callers)
//!   with fresh ids and times; 15 % are still pending, 35 % unknown, 20 %
//!   never searched. 5,000 more stored events explain nothing.
//! - History: 20 targets, each with its last 50 scans (one every 10 minutes,
//!   with totals; some partial, a few failed, one target's last scan failed)
//!   and 40 to 440 findings for the 19 others. A year of scans every 10
//!   minutes is 52,560 scans a target, too many to make one by one; what
//!   such a year leaves behind is its `scan_days` rows (retention prunes
//!   scans, never those), so the 365 days before the kept scans are filled
//!   directly with SQL.
//!
//! `cargo bench --bench report`. Environment: `DRIFTD_REPORT_FINDINGS`
//! (default 10,000), `DRIFTD_REPORT_RUNS` (default 10), `DRIFTD_CORPUS` (the
//! corpus directory, default `../shared/corpus`), `DRIFTD_BENCH_DATA` (where
//! the store file goes, default `target/bench-data/`), `DRIFTD_REPORT_PAGES`
//! (a directory to write the three pages into, to look at them).

// The generator is shared with the foundation benchmark, which uses more of it.
#[allow(dead_code)]
mod support;

use chrono::{DateTime, Duration as Span, SecondsFormat, TimeZone, Utc};
use driftd::attribution::TrailEvent;
use driftd::attribution::matching::{Evidence, Window};
use driftd::diag::Diagnostic;
use driftd::findings::{Event, EventKind, Finding, Kind, State, finding_id};
use driftd::model::{Mode, Origin, Resource};
use driftd::policy::security::Signal;
use driftd::policy::{Facts, TierDecision};
use driftd::report::{data, html};
use driftd::secrets::SecretKey;
use driftd::store::{
    AttributionRow, AttributionStatus, ScanId, ScanOutcome, ScanStatus, ScanSummary, Side, Store,
    StoreError, TargetId, Writer,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::synth::TemplateSet;
use support::{Rng, data_dir, with_suffix};

const ACCOUNT: &str = "218007301253";
const REGION: &str = "eu-west-1";
const TARGETS: usize = 20;
/// Scans kept per target (made through the API), one every 10 minutes.
const SCANS_KEPT: usize = 50;
const SCANS_PER_DAY: u32 = 144;
/// Managed instances of the big target's state.
const DESIRED_INSTANCES: usize = 20_000;
/// Instances generated beyond the state: the cloud's unmanaged resources.
const EXTRA_INSTANCES: usize = 6_000;
const FINDING_TYPES: usize = 20;
const EXPLAINING_EVENTS: usize = 200;
const OTHER_EVENTS: usize = 5_000;
const TREND_DAYS: i64 = driftd::report::data::TREND_DAYS;
const MB: f64 = 1e6;

const PEOPLE: &[&str] = &[
    "alice.martin@example.com",
    "bongani.dlamini@example.com",
    "chen.wei@example.com",
    "dana.kowalski@example.com",
    "emeka.obi@example.com",
    "farah.haddad@example.com",
];

/// One target's kept scans, oldest first.
struct TargetScans {
    name: String,
    id: TargetId,
    scans: Vec<(ScanId, DateTime<Utc>)>,
}

/// What the build made, for the measures and the printout.
struct Built {
    targets: Vec<TargetScans>,
    /// The big target's last scan.
    big_scan: i64,
    /// A changed tier-3 security group finding with two evidence events.
    finding_with_evidence: String,
    findings_on_page: usize,
}

fn main() {
    let findings_wanted = env("DRIFTD_REPORT_FINDINGS").unwrap_or(10_000);
    let runs = env("DRIFTD_REPORT_RUNS").unwrap_or(10).max(1);
    let load_before = support::load_average();
    let key = SecretKey::from_bytes([0x5a; 32]);
    // A fixed "now", so every run builds the same store.
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let started = Instant::now();
    let (desired, extra) = synthetic_resources(&key);
    let records = write_records();
    eprintln!(
        "{} state resources, {} more in the cloud, {} + {} real write records as templates ({:.1} s)",
        desired.len(),
        extra.len(),
        records.panther.len(),
        records.invictus.len(),
        started.elapsed().as_secs_f64()
    );

    let path = data_dir().join("report.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&path, suffix));
    }
    let store = Store::open(&path).expect("open the store");
    let started = Instant::now();
    let built = store
        .write(|w| {
            build(
                w,
                now,
                &desired,
                &extra,
                &records,
                findings_wanted,
                &mut rng,
            )
        })
        .expect("build the store");
    fill_scan_days(&path, &built.targets, now, &mut rng);
    store.checkpoint().expect("checkpoint");
    let file_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    eprintln!(
        "store built in {:.1} s: {} ({:.1} MB)",
        started.elapsed().as_secs_f64(),
        path.display(),
        file_bytes as f64 / MB
    );
    print_rows(&path);
    drop((desired, extra));

    // The scan page.
    let scan_id = built.big_scan;
    let scan = measure(
        runs,
        || {
            store
                .read(|r| data::scan_page(r, scan_id))
                .expect("scan page")
        },
        |page| html::scan(&html::Common::new(html::Site::served(), None, now), page),
    );
    let rows = store.read(|r| data::scan_page(r, scan_id)).unwrap();
    assert_eq!(rows.findings.len(), built.findings_on_page);

    // The overview.
    let overview = measure(
        runs,
        || {
            store
                .read(|r| data::overview(r, now, None))
                .expect("overview")
        },
        |page| html::overview(&html::Common::new(html::Site::served(), None, now), page),
    );
    let overview_page = store.read(|r| data::overview(r, now, None)).unwrap();
    let trend_points: usize = overview_page.targets.iter().map(|t| t.trend.len()).sum();

    // One finding.
    let id = built.finding_with_evidence.clone();
    let finding = measure(
        runs,
        || {
            store
                .read(|r| data::finding_page(r, &id))
                .expect("finding page")
        },
        |page| {
            html::finding(
                &html::Common::new(html::Site::served(), None, now),
                page,
                None,
                None,
            )
        },
    );
    let finding_page = store.read(|r| data::finding_page(r, &id)).unwrap();
    let blast = finding_page
        .blast_radius
        .as_ref()
        .map_or(0, |b| b.nodes.len().saturating_sub(1));

    if let Some(dir) = std::env::var_os("DRIFTD_REPORT_PAGES") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create DRIFTD_REPORT_PAGES");
        let c = html::Common::new(html::Site::served(), None, now);
        for (name, body) in [
            ("scan.html", html::scan(&c, &rows)),
            ("overview.html", html::overview(&c, &overview_page)),
            ("finding.html", html::finding(&c, &finding_page, None, None)),
        ] {
            std::fs::write(dir.join(name), body).expect("write a page");
        }
        eprintln!("pages written to {}", dir.display());
    }

    let scan_met = scan.total.median() < Duration::from_millis(300) && scan.bytes < 3_000_000;
    let overview_met = overview.total.median() < Duration::from_millis(200);
    println!();
    println!(
        "| Page | Rows | Size | Store read (median / max) | HTML render (median / max) | Total (median / max) | Target |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| Scan #{scan_id} of {} | {} findings | {} | {} | {} | **{}** | < 300 ms, < 3 MB: {} |",
        built.targets[0].name,
        thousands(built.findings_on_page),
        size(scan.bytes),
        scan.read,
        scan.render,
        scan.total,
        if scan_met { "met" } else { "NOT met" }
    );
    println!(
        "| Overview | {} targets, {} trend days | {} | {} | {} | **{}** | < 200 ms: {} |",
        overview_page.targets.len(),
        thousands(trend_points),
        size(overview.bytes),
        overview.read,
        overview.render,
        overview.total,
        if overview_met { "met" } else { "NOT met" }
    );
    println!(
        "| Finding {} | {} evidence events, {} history events, {} dependents drawn | {} | {} | {} | {} | (informational) |",
        finding_page.finding.id,
        finding_page.evidence.len(),
        finding_page.history.len(),
        blast,
        size(finding.bytes),
        finding.read,
        finding.render,
        finding.total
    );
    println!();
    println!(
        "{} runs after 2 warm-up runs · {} · load average before {} · after {}",
        runs,
        machine(),
        load_before,
        support::load_average()
    );
}

/// The state's managed resources, and the cloud's extra ones (unmanaged).
fn synthetic_resources(key: &SecretKey) -> (Vec<Resource>, Vec<Resource>) {
    let dir = corpus_dir().join("terraform-state/aws");
    let templates = TemplateSet::load(&dir)
        .unwrap_or_else(|e| panic!("cannot load templates from {}: {e}", dir.display()));
    let mut text = Vec::new();
    templates
        .write_state(DESIRED_INSTANCES + EXTRA_INSTANCES, &mut text)
        .expect("write the synthetic state");
    let origin = Origin::from("s3://acme-tfstate/prod-platform/terraform.tfstate");
    let mut all: Vec<Resource> = driftd::state::parse_state(&text, &origin, key)
        .expect("the synthetic state parses")
        .resources
        .into_iter()
        .filter(|r| r.address.mode == Mode::Managed && r.deposed.is_none())
        .collect();
    // Every (type, id) is distinct (the synth module's promise), so any
    // split leaves the cloud's extra resources out of the state.
    let extra = all.split_off(DESIRED_INSTANCES.min(all.len()));
    (all, extra)
}

/// Write events of the corpus, in file order: the panther-analysis test
/// records (people and roles through the console, the CLI, SDKs, Terraform)
/// and the invictus dataset (mostly one Terraform user).
struct WriteRecords {
    panther: Vec<Value>,
    invictus: Vec<Value>,
}

fn write_records() -> WriteRecords {
    let dir = corpus_dir().join("cloudtrail");
    let is_write = |r: &Value| {
        r["readOnly"] == json!(false)
            && r["userIdentity"]["type"].is_string()
            && r["eventSource"].is_string()
            && r["eventName"].is_string()
    };
    let panther = dir.join("panther-analysis-tests/records.jsonl");
    let text =
        std::fs::read_to_string(&panther).unwrap_or_else(|e| panic!("{}: {e}", panther.display()));
    let panther: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(is_write)
        .collect();
    let dir = dir.join("invictus-aws-dataset");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut invictus = Vec::new();
    for p in paths {
        let mut file: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        if let Value::Array(items) = file["Records"].take() {
            invictus.extend(items.into_iter().filter(is_write));
        }
    }
    assert!(
        !panther.is_empty() && !invictus.is_empty(),
        "no CloudTrail write records in {}",
        corpus_dir().display()
    );
    WriteRecords { panther, invictus }
}

/// A corpus record as a new event: fresh id and time, our account and region.
fn trail_event(template: &Value, n: usize, at: DateTime<Utc>) -> TrailEvent {
    let mut record = template.clone();
    record["eventID"] = json!(format!("5e1f0000-0000-4000-8000-{n:012x}"));
    record["eventTime"] = json!(at.to_rfc3339_opts(SecondsFormat::Secs, true));
    record["recipientAccountId"] = json!(ACCOUNT);
    record["awsRegion"] = json!(REGION);
    TrailEvent::from_record(record).expect("a corpus write record is an event")
}

fn build(
    w: &Writer<'_>,
    now: DateTime<Utc>,
    desired: &[Resource],
    extra: &[Resource],
    records: &WriteRecords,
    findings_wanted: usize,
    rng: &mut Rng,
) -> Result<Built, StoreError> {
    let names = target_names();
    let mut targets: Vec<TargetScans> = Vec::new();
    for (name, environment) in &names {
        targets.push(TargetScans {
            name: name.to_string(),
            id: w.upsert_target(name, environment)?,
            scans: Vec::new(),
        });
    }

    // The findings' kinds, resources and the tallies the scans' totals need.
    let plan = plan_findings(desired, extra, findings_wanted, rng);
    let mut open_per_target: Vec<usize> = vec![0; TARGETS];
    open_per_target[0] = plan.needing_attention_estimate;
    for (t, open) in open_per_target.iter_mut().enumerate().skip(1) {
        *open = other_target_findings(t);
    }

    // The last 50 scans of every target, interleaved as the daemon runs them.
    for slot in 0..SCANS_KEPT {
        let slot_end = now - Span::minutes(10 * (SCANS_KEPT - 1 - slot) as i64);
        for (t, target) in targets.iter_mut().enumerate() {
            let took = Span::seconds(if t == 0 { 95 } else { 6 + (t as i64 * 7) % 50 });
            let ended = slot_end - Span::seconds(t as i64);
            let started = ended - took;
            let scan = w.begin_scan(target.id, started)?;
            let last = slot == SCANS_KEPT - 1;
            if t == 0 && last {
                w.store_resources(scan, Side::Desired, desired)?;
            }
            let failed = (t == 7 && last) || (slot == 23 && t % 9 == 4);
            let partial = !failed && slot % 17 == 5 && t % 3 == 1;
            let (status, diagnostics, incomplete) = if failed {
                (
                    ScanStatus::Failed,
                    vec![Diagnostic::error(
                        format!("s3://acme-tfstate/{}/terraform.tfstate", target.name),
                        "the state could not be read: AccessDenied: Access Denied (status 403); \
                         check the role's s3:GetObject permission on the state bucket",
                    )],
                    vec![],
                )
            } else if partial {
                let what = format!("aws_lambda_function in {ACCOUNT}/{REGION}");
                (
                    ScanStatus::Partial,
                    vec![Diagnostic::error(
                        what.clone(),
                        "listing failed: ThrottlingException: Rate exceeded (after 5 attempts)",
                    )],
                    vec![format!("{what}: ThrottlingException: Rate exceeded")],
                )
            } else {
                (ScanStatus::Complete, vec![], vec![])
            };
            w.finish_scan(
                scan,
                &ScanOutcome {
                    ended_at: ended,
                    status,
                    source_versions: vec![(
                        format!("s3://acme-tfstate/{}/terraform.tfstate", target.name),
                        json!({"etag": format!("\"{:032x}\"", slot)}),
                    )],
                    diagnostics,
                },
            )?;
            if !failed {
                let summary = if t == 0 {
                    plan.summary(incomplete)
                } else {
                    other_summary(t, open_per_target[t], incomplete)
                };
                w.record_scan_summary(scan, ended, &summary)?;
            }
            target.scans.push((scan, ended));
        }
    }

    // CloudTrail: the explaining events (three in four from the varied
    // panther records), and events that explain nothing.
    let first_scan = targets[0].scans[0].1;
    let (panther, invictus) = (&records.panther, &records.invictus);
    let explaining: Vec<TrailEvent> = (0..EXPLAINING_EVENTS)
        .map(|n| {
            let template = if n % 4 == 3 {
                &invictus[(n * 131) % invictus.len()]
            } else {
                &panther[n % panther.len()]
            };
            let at = first_scan + Span::seconds((n as i64 * 8 * 3600) / EXPLAINING_EVENTS as i64);
            trail_event(template, n, at)
        })
        .collect();
    let others: Vec<TrailEvent> = (0..OTHER_EVENTS)
        .map(|n| {
            let template = &invictus[(n * 7919) % invictus.len()];
            let at = now - Span::seconds((n as i64 * 86_400) / OTHER_EVENTS as i64);
            trail_event(template, EXPLAINING_EVENTS + n, at)
        })
        .collect();
    w.store_trail_events(&explaining)?;
    w.store_trail_events(&others)?;

    let (findings_on_page, finding_with_evidence) =
        write_big_target(w, &targets[0], &plan, &explaining, rng)?;
    for (t, target) in targets.iter().enumerate().skip(1) {
        write_other_target(w, target, t, extra, rng)?;
    }
    let big_scan = targets[0].scans.last().expect("scans").0.0;
    Ok(Built {
        targets,
        big_scan,
        finding_with_evidence,
        findings_on_page,
    })
}

fn target_names() -> Vec<(String, &'static str)> {
    let areas = [
        "platform",
        "network",
        "data",
        "iam",
        "payments",
        "search",
        "ml",
        "edge",
        "identity",
        "observability",
    ];
    let mut names = Vec::new();
    for (i, area) in areas.iter().enumerate() {
        names.push((format!("prod-{area}"), "prod"));
        names.push((
            format!("{}-{area}", if i % 2 == 0 { "staging" } else { "dev" }),
            if i % 2 == 0 { "staging" } else { "dev" },
        ));
    }
    // The big target first.
    names.sort_by_key(|(n, _)| n != "prod-platform");
    names.truncate(TARGETS);
    names
}

/// One planned finding of the big target.
struct Planned<'r> {
    kind: Kind,
    resource: &'r Resource,
    blast: Blast,
}

/// The dependents of a resource in the state's graph.
#[derive(Debug, Clone, Default)]
struct Blast {
    total: usize,
    /// The first few, by address.
    shown: Vec<String>,
}

struct Plan<'r> {
    /// On the last scan's page.
    shown: Vec<Planned<'r>>,
    /// Resolved before the last scan.
    resolved: Vec<Planned<'r>>,
    listed: usize,
    in_states: usize,
    needing_attention_estimate: usize,
    ignored_estimate: usize,
}

impl Plan<'_> {
    fn count(&self, kind: Kind) -> usize {
        self.shown.iter().filter(|p| p.kind == kind).count()
    }

    fn summary(&self, incomplete: Vec<String>) -> ScanSummary {
        let unmanaged = self.count(Kind::Unmanaged);
        let missing = self.count(Kind::Missing);
        let managed = self.in_states - missing;
        ScanSummary {
            listed: self.listed,
            in_states: self.in_states,
            managed,
            unmanaged,
            missing,
            changed: self.count(Kind::Changed),
            ignored: self.ignored_estimate,
            not_checked: 412,
            unknown: 0,
            coverage: managed as f64 / (managed + unmanaged) as f64,
            incomplete,
            needing_attention: self.needing_attention_estimate,
        }
    }
}

/// 60 % changed, 30 % unmanaged, 10 % missing, over the state's most common types.
fn plan_findings<'r>(
    desired: &'r [Resource],
    extra: &'r [Resource],
    n: usize,
    rng: &mut Rng,
) -> Plan<'r> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in desired {
        *counts.entry(&r.key.resource_type).or_default() += 1;
    }
    let mut types: Vec<(&str, usize)> = counts.into_iter().collect();
    types.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let types: BTreeSet<&str> = types.iter().take(FINDING_TYPES).map(|t| t.0).collect();
    let mut managed: Vec<usize> = (0..desired.len())
        .filter(|&i| types.contains(&*desired[i].key.resource_type))
        .collect();
    let mut cloud: Vec<&Resource> = extra
        .iter()
        .filter(|r| types.contains(&*r.key.resource_type))
        .collect();
    shuffle(&mut managed, rng);
    shuffle(&mut cloud, rng);
    // What depends on each managed resource, as the scan's policy facts
    // record it.
    let (graph, _) = driftd::graph::ResourceGraph::build(desired);
    let blast = |i: usize| {
        let dependents = graph.dependents(i);
        Blast {
            total: dependents.len(),
            shown: dependents
                .iter()
                .take(driftd::policy::DEPENDENTS_SHOWN)
                .map(|&d| desired[d].address.to_string())
                .collect(),
        }
    };
    // The finding page's finding first: the security group most depend on.
    if let Some(sg) = (0..managed.len())
        .filter(|&j| &*desired[managed[j]].key.resource_type == "aws_security_group")
        .max_by_key(|&j| graph.dependents(managed[j]).len())
    {
        managed.swap(0, sg);
    }
    let changed = n * 6 / 10;
    let unmanaged = n * 3 / 10;
    let missing = n - changed - unmanaged;
    let resolved = n / 20;
    assert!(
        managed.len() >= changed + missing + resolved && cloud.len() >= unmanaged,
        "not enough resources for {n} findings: {} managed, {} unmanaged of the top types",
        managed.len(),
        cloud.len()
    );
    let mut shown = Vec::with_capacity(n);
    let mut managed = managed.into_iter();
    for j in 0..changed + missing {
        let i = managed.next().unwrap();
        shown.push(Planned {
            kind: if j < changed {
                Kind::Changed
            } else {
                Kind::Missing
            },
            resource: &desired[i],
            blast: blast(i),
        });
    }
    for r in cloud.into_iter().take(unmanaged) {
        shown.push(Planned {
            kind: Kind::Unmanaged,
            resource: r,
            blast: Blast::default(),
        });
    }
    let resolved = managed
        .take(resolved)
        .map(|i| Planned {
            kind: Kind::Changed,
            resource: &desired[i],
            blast: blast(i),
        })
        .collect();
    Plan {
        shown,
        resolved,
        listed: desired.len() - missing + unmanaged + 1_874,
        in_states: desired.len(),
        // The scans' totals are written before the findings: close enough
        // for the day's trend point (the pages show the findings themselves).
        needing_attention_estimate: n * 86 / 100,
        ignored_estimate: n * 3 / 100,
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// Top-level attributes drift is not reported on.
const NOT_DRIFTING: &[&str] = &[
    "id",
    "arn",
    "tags_all",
    "timeouts",
    "owner_id",
    "unique_id",
    "create_date",
    "name",
];

/// 1 to 3 top-level attributes of the resource (`tags` most often), and
/// their changes as a scan records them (`{path: {recorded, live}}`).
fn changed_attributes(resource: &Resource, rng: &mut Rng) -> (BTreeSet<String>, Value) {
    let attrs = resource.attributes.to_value();
    let empty = serde_json::Map::new();
    let object = attrs.as_object().unwrap_or(&empty);
    let candidates: Vec<&String> = object
        .iter()
        .filter(|(k, v)| !v.is_null() && !NOT_DRIFTING.contains(&k.as_str()))
        .map(|(k, _)| k)
        .collect();
    let wanted = match rng.below(10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    let mut chosen: Vec<String> = Vec::new();
    if rng.chance(0.4) || candidates.is_empty() {
        chosen.push("tags".into());
    }
    while chosen.len() < wanted.min(candidates.len() + 1) && !candidates.is_empty() {
        let c = candidates[rng.below(candidates.len())];
        if !chosen.contains(c) {
            chosen.push(c.clone());
        } else if chosen.len() >= candidates.len() {
            break;
        }
    }
    let mut changes = serde_json::Map::new();
    for a in &chosen {
        if a == "tags" {
            let recorded = object
                .get("tags")
                .and_then(|t| t.get("Owner"))
                .cloned()
                .unwrap_or(Value::Null);
            changes.insert(
                "tags.Owner".into(),
                json!({"recorded": recorded, "live": PEOPLE[rng.below(PEOPLE.len())]}),
            );
        } else {
            let recorded = object.get(a).cloned().unwrap_or(Value::Null);
            let live = changed_value(&recorded);
            changes.insert(a.clone(), json!({"recorded": recorded, "live": live}));
        }
    }
    (chosen.into_iter().collect(), Value::Object(changes))
}

/// A value as someone changed it by hand.
fn changed_value(v: &Value) -> Value {
    match v {
        Value::String(s) if s.is_empty() => json!("manual-change"),
        Value::String(s) => json!(format!("{s}-manual")),
        Value::Number(n) => json!(n.as_f64().unwrap_or(0.0) + 1.0),
        Value::Bool(b) => json!(!b),
        Value::Array(items) => {
            let mut items = items.clone();
            items.push(items.first().cloned().unwrap_or_else(|| json!("0.0.0.0/0")));
            Value::Array(items)
        }
        Value::Object(map) => {
            let mut map = map.clone();
            map.insert("ChangedBy".into(), json!("console"));
            Value::Object(map)
        }
        Value::Null => json!("manual-change"),
    }
}

fn tier_of(rng: &mut Rng) -> Option<u8> {
    let roll = rng.unit();
    if roll < 0.10 {
        None
    } else if roll < 0.10 + 0.9 * 0.08 {
        Some(3)
    } else if roll < 0.10 + 0.9 * 0.35 {
        Some(2)
    } else {
        Some(1)
    }
}

fn facts_and_decision(
    target: &str,
    f: &Finding,
    resource: &Resource,
    blast: &Blast,
    tier: u8,
) -> (Facts, TierDecision) {
    let attrs = resource.attributes.to_value();
    let tags: BTreeMap<String, String> = attrs
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let security = if tier == 3 && &*f.key.resource_type == "aws_security_group" {
        vec![Signal {
            kind: "open_to_world".into(),
            detail: "ingress tcp 22 from 0.0.0.0/0".into(),
        }]
    } else {
        vec![]
    };
    let facts = Facts {
        target: target.into(),
        environment: "prod".into(),
        resource_type: f.key.resource_type.to_string(),
        kind: f.kind.as_str().into(),
        account: Some(ACCOUNT.into()),
        region: Some(REGION.into()),
        paths: f
            .changes
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
        tags,
        security,
        blast_radius: blast.total,
        dependents: blast.shown.clone(),
    };
    let (rule, why) = match tier {
        3 => (
            Some("prod-security"),
            "rule prod-security: environment prod; a security signal (open_to_world)",
        ),
        2 => (
            Some("prod-review"),
            "rule prod-review: environment prod; made outside Terraform",
        ),
        _ => (None, "no rule matched: the default tier"),
    };
    (
        facts,
        TierDecision {
            tier,
            rule: rule.map(str::to_string),
            why: why.into(),
        },
    )
}

/// An open, confirmed finding on `resource` seen by the target's kept scans
/// `seen.0` to `seen.1` (indexes into its scans).
fn open_finding(
    target: &TargetScans,
    kind: Kind,
    resource: &Resource,
    (first, last): (usize, usize),
    rng: &mut Rng,
) -> Finding {
    let (attributes, changes) = match kind {
        Kind::Changed => changed_attributes(resource, rng),
        _ => (BTreeSet::new(), Value::Null),
    };
    let (first_scan, first_seen) = target.scans[first];
    let (last_scan, last_seen) = target.scans[last];
    Finding {
        id: finding_id(&target.name, kind, &resource.key, &attributes),
        target: target.name.clone(),
        kind,
        key: resource.key.clone(),
        address: (kind != Kind::Unmanaged).then(|| resource.address.to_string()),
        attributes,
        state: State::Open,
        state_by: driftd::findings::DRIFTD.into(),
        state_reason: None,
        state_at: first_seen,
        seen: (last - first + 1) as u32,
        visible: true,
        ignored_by: None,
        first_seen,
        last_seen,
        first_scan: first_scan.0,
        last_scan: last_scan.0,
        changes,
        desired_version: None,
        live_version: None,
    }
}

fn event(f: &Finding, kind: EventKind, at: DateTime<Utc>, scan: Option<i64>) -> Event {
    Event {
        finding_id: f.id.clone(),
        kind,
        at,
        scan_id: scan,
        actor: driftd::findings::DRIFTD.into(),
        reason: None,
        details: json!({}),
        desired_version: None,
        live_version: None,
    }
}

/// Writes the big target's findings; returns how many its last scan shows
/// and the id of the finding page's finding.
fn write_big_target(
    w: &Writer<'_>,
    target: &TargetScans,
    plan: &Plan<'_>,
    explaining: &[TrailEvent],
    rng: &mut Rng,
) -> Result<(usize, String), StoreError> {
    let scans = &target.scans;
    let last = scans.len() - 1;
    let mut findings = Vec::new();
    let mut events = Vec::new();
    let mut designated = String::new();
    // Written after the findings they refer to.
    let mut attributions = Vec::new();
    let mut evidence_rows = Vec::new();
    for (i, p) in plan.shown.iter().enumerate() {
        let page_finding = i == 0;
        let unconfirmed = !page_finding && rng.chance(0.02);
        let first = if unconfirmed {
            last
        } else {
            rng.below(last - 1)
        };
        let mut f = open_finding(target, p.kind, p.resource, (first, last), rng);
        f.visible = !unconfirmed;
        let (first_scan, first_seen) = scans[first];
        events.push(Event {
            details: json!({ "changes": f.changes }),
            ..event(&f, EventKind::Opened, first_seen, Some(first_scan.0))
        });
        if !unconfirmed {
            let (s, at) = scans[first + 1];
            events.push(event(&f, EventKind::Confirmed, at, Some(s.0)));
        }
        // Resolved and reopened since (the page's query looks at both).
        if !page_finding && !unconfirmed && first + 4 < last && rng.chance(0.015) {
            let resolved = first + 2 + rng.below(last - first - 3);
            let reopened = resolved + 1 + rng.below(last - resolved);
            let (s, at) = scans[resolved];
            events.push(event(&f, EventKind::Resolved, at, Some(s.0)));
            let (s, at) = scans[reopened];
            events.push(Event {
                details: json!({ "changes": f.changes }),
                ..event(&f, EventKind::Reopened, at, Some(s.0))
            });
            f.state_at = at;
            f.seen = (last - reopened + 1) as u32;
        } else if p.kind == Kind::Changed && first + 3 < last && rng.chance(0.04) {
            let (s, at) = scans[first + 2 + rng.below(last - first - 2)];
            events.push(Event {
                details: json!({ "changes": f.changes, "before": f.changes }),
                ..event(&f, EventKind::ValueChanged, at, Some(s.0))
            });
        }
        if !page_finding && !unconfirmed {
            let roll = rng.unit();
            let person = PEOPLE[rng.below(PEOPLE.len())];
            let at = f.state_at + Span::minutes(3 + rng.below(120) as i64);
            let decision = if roll < 0.06 {
                Some((State::Acknowledged, EventKind::Acknowledged, None))
            } else if roll < 0.09 {
                Some((
                    State::Accepted,
                    EventKind::Accepted,
                    Some("intended: codified in the next release"),
                ))
            } else if roll < 0.11 {
                Some((
                    State::Snoozed {
                        until: at + Span::days(7),
                    },
                    EventKind::Snoozed,
                    Some("maintenance window this week"),
                ))
            } else {
                None
            };
            if let Some((state, kind, reason)) = decision {
                f.state = state;
                f.state_by = person.into();
                f.state_reason = reason.map(str::to_string);
                f.state_at = at;
                events.push(Event {
                    actor: person.into(),
                    reason: reason.map(str::to_string),
                    ..event(&f, kind, at, None)
                });
            }
            if rng.chance(0.03) {
                f.ignored_by = Some(
                    match p.kind {
                        Kind::Unmanaged => "unmanaged-default-vpc",
                        _ => "autoscaling-tags",
                    }
                    .into(),
                );
            }
        }

        // Tier.
        let tier = if page_finding { Some(3) } else { tier_of(rng) };
        if let Some(tier) = tier {
            let (facts, decision) =
                facts_and_decision(&target.name, &f, p.resource, &p.blast, tier);
            findings.push((f, Some((facts, decision))));
        } else {
            findings.push((f, None));
        }

        // Attribution.
        let f = &findings.last().unwrap().0;
        let roll = rng.unit();
        let status = if page_finding || roll < 0.30 {
            Some(AttributionStatus::Found)
        } else if roll < 0.45 {
            Some(AttributionStatus::Pending)
        } else if roll < 0.80 {
            Some(AttributionStatus::Unknown)
        } else {
            None
        };
        if let Some(status) = status {
            let window = Window::new(f.first_seen - Span::minutes(25), f.first_seen);
            attributions.push(AttributionRow {
                finding_id: f.id.clone(),
                status,
                account: ACCOUNT.into(),
                region: REGION.into(),
                lookup_name: f.key.id.clone(),
                subject: json!({"id": f.key.id}),
                window,
                scan_id: f.first_scan,
                give_up_at: f.first_seen + Span::hours(24),
                next_attempt: f.first_seen + Span::minutes(15),
                attempts: 1 + rng.below(4) as u32,
                checked_at: Some(f.first_seen + Span::minutes(5)),
                last_error: None,
            });
            if status == AttributionStatus::Found {
                // Some events explain many findings (one apply, one console
                // session), most explain a few.
                let u = rng.unit();
                let n = ((u * u) * explaining.len() as f64) as usize;
                let mut chain = Vec::new();
                if page_finding || rng.chance(0.2) {
                    let earlier =
                        &explaining[(n + 1 + rng.below(explaining.len() - 1)) % explaining.len()];
                    chain.push(evidence(earlier, false));
                }
                chain.push(evidence(&explaining[n], true));
                evidence_rows.push((f.id.clone(), chain));
            }
        }
        if page_finding {
            designated = f.id.clone();
        }
    }
    let shown = findings.len();

    // Resolved before the last scan: not on its page.
    for p in &plan.resolved {
        let first = rng.below(last - 6);
        let resolved = first + 2 + rng.below(last - first - 3);
        let (first_scan, first_seen) = scans[first];
        let (resolved_scan, resolved_at) = scans[resolved];
        let mut f = open_finding(target, p.kind, p.resource, (first, resolved - 1), rng);
        f.state = State::Resolved {
            scan_id: resolved_scan.0,
        };
        f.state_at = resolved_at;
        events.push(event(&f, EventKind::Opened, first_seen, Some(first_scan.0)));
        let (s, at) = scans[first + 1];
        events.push(event(&f, EventKind::Confirmed, at, Some(s.0)));
        events.push(event(
            &f,
            EventKind::Resolved,
            resolved_at,
            Some(resolved_scan.0),
        ));
        findings.push((f, None));
    }

    w.save_findings(target.id, findings.iter().map(|(f, _)| f))?;
    w.add_finding_events(&events)?;
    for (f, policy) in &findings {
        if let Some((facts, decision)) = policy {
            w.save_finding_policy(&f.id, facts, decision, f.first_seen)?;
        }
    }
    for row in &attributions {
        w.save_attribution(row)?;
    }
    for (id, chain) in &evidence_rows {
        w.save_evidence(id, chain)?;
    }
    Ok((shown, designated))
}

fn evidence(e: &TrailEvent, explains: bool) -> Evidence {
    Evidence {
        event_id: e.event_id.clone(),
        time: e.time,
        source: e.source.clone(),
        name: e.name.clone(),
        actor: e.actor(),
        error_code: e.error_code.clone(),
        explains,
    }
}

/// How many findings a smaller target has.
fn other_target_findings(t: usize) -> usize {
    40 + (t * 53) % 400
}

fn other_summary(t: usize, open: usize, incomplete: Vec<String>) -> ScanSummary {
    let in_states = 600 + t * 311 % 4_000;
    let unmanaged = open / 3;
    let missing = open / 10;
    let managed = in_states - missing;
    ScanSummary {
        listed: managed + unmanaged + 120,
        in_states,
        managed,
        unmanaged,
        missing,
        changed: open - unmanaged - missing,
        ignored: open / 30,
        not_checked: 25 + t,
        unknown: 0,
        coverage: managed as f64 / (managed + unmanaged) as f64,
        incomplete,
        needing_attention: open,
    }
}

/// A smaller target's findings: open, one event each, most with a tier.
fn write_other_target(
    w: &Writer<'_>,
    target: &TargetScans,
    t: usize,
    pool: &[Resource],
    rng: &mut Rng,
) -> Result<(), StoreError> {
    let scans = &target.scans;
    let last = scans.len() - 1;
    let n = other_target_findings(t);
    let mut findings = Vec::with_capacity(n);
    let mut resources = Vec::with_capacity(n);
    let mut events = Vec::with_capacity(n);
    for j in 0..n {
        let resource = &pool[(t * 997 + j * 13) % pool.len()];
        let kind = match j % 10 {
            0..=5 => Kind::Changed,
            6..=8 => Kind::Unmanaged,
            _ => Kind::Missing,
        };
        let first = rng.below(last);
        let (first_scan, first_seen) = scans[first];
        let f = open_finding(target, kind, resource, (first, last), rng);
        events.push(event(&f, EventKind::Opened, first_seen, Some(first_scan.0)));
        findings.push(f);
        resources.push(resource);
    }
    w.save_findings(target.id, &findings)?;
    w.add_finding_events(&events)?;
    for (f, resource) in findings.iter().zip(resources) {
        if let Some(tier) = tier_of(rng) {
            let (facts, decision) =
                facts_and_decision(&target.name, f, resource, &Blast::default(), tier);
            w.save_finding_policy(&f.id, &facts, &decision, f.first_seen)?;
        }
    }
    Ok(())
}

/// The year before the kept scans, as its `scan_days` rows: 144 scans a
/// day, now and then partial or failed ones, the open findings drifting and
/// the coverage moving a little. Raw SQL through a second connection: the
/// store has no writer for a day it did not scan (`finish_scan` and
/// `record_scan_summary` write these rows one scan at a time), and a year of
/// scans one by one is 52,560 scans a target. Days the kept scans already
/// counted are left as they are.
fn fill_scan_days(path: &Path, targets: &[TargetScans], now: DateTime<Utc>, rng: &mut Rng) {
    let mut conn = rusqlite::Connection::open(path).expect("open the store for scan_days");
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT OR IGNORE INTO scan_days
                     (target_id, day, scans, partial, failed, open_findings, coverage)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .unwrap();
        for (t, target) in targets.iter().enumerate() {
            let level = if t == 0 {
                9_000.0
            } else {
                other_target_findings(t) as f64
            };
            let mut open = level * 0.6;
            let mut coverage: f64 = 0.93;
            for d in (0..TREND_DAYS).rev() {
                let day = (now - Span::days(d)).date_naive();
                let scans = if rng.chance(0.02) {
                    SCANS_PER_DAY - 1 - rng.below(40) as u32
                } else {
                    SCANS_PER_DAY
                };
                let partial = if rng.chance(0.1) {
                    1 + rng.below(6) as u32
                } else {
                    0
                };
                let outage = rng.chance(0.005);
                let failed = if outage {
                    scans
                } else if rng.chance(0.03) {
                    1 + rng.below(3) as u32
                } else {
                    0
                };
                open = (open * (0.97 + 0.065 * rng.unit())).clamp(level * 0.3, level * 1.15);
                coverage = (coverage + 0.01 * (rng.unit() - 0.5)).clamp(0.82, 0.995);
                insert
                    .execute(rusqlite::params![
                        target.id.0,
                        day.to_string(),
                        scans,
                        partial,
                        failed,
                        (!outage).then_some(open as i64),
                        (!outage).then_some(coverage),
                    ])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}

/// Rows per table, from the file.
fn print_rows(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("open the store");
    let mut line = Vec::new();
    for table in [
        "targets",
        "scans",
        "scan_days",
        "findings",
        "finding_events",
        "finding_policy",
        "attributions",
        "evidence",
        "trail_events",
        "resource_versions",
    ] {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        line.push(format!("{table} {n}"));
    }
    eprintln!("rows: {}", line.join(", "));
}

/// Median and max of a series of times.
struct Series(Vec<Duration>);

impl Series {
    fn median(&self) -> Duration {
        let mut t = self.0.clone();
        t.sort();
        t[t.len() / 2]
    }

    fn max(&self) -> Duration {
        self.0.iter().copied().max().unwrap_or_default()
    }
}

impl std::fmt::Display for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", ms(self.median()), ms(self.max()))
    }
}

struct Measured {
    read: Series,
    render: Series,
    total: Series,
    bytes: usize,
}

/// Two warm-up runs, then `runs` timed ones of read and render.
fn measure<P>(runs: usize, mut read: impl FnMut() -> P, render: impl Fn(&P) -> String) -> Measured {
    for _ in 0..2 {
        let page = read();
        std::hint::black_box(render(&page));
    }
    let (mut r, mut h, mut t) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let page = read();
        let read_done = Instant::now();
        let body = render(&page);
        let end = Instant::now();
        bytes = body.len();
        drop(std::hint::black_box(body));
        drop(page);
        r.push(read_done - start);
        h.push(end - read_done);
        t.push(end - start);
    }
    Measured {
        read: Series(r),
        render: Series(h),
        total: Series(t),
        bytes,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn size(bytes: usize) -> String {
    format!("{:.2} MB ({} bytes)", bytes as f64 / MB, thousands(bytes))
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn env(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("DRIFTD_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
}

fn machine() -> String {
    let cpu = support::cpu_model();
    format!(
        "{} · {} CPUs ({cpu})",
        Utc::now().format("%Y-%m-%d"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    )
}
