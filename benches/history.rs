//! History benchmark (BENCHMARKS.md, "Findings history: database size over a
//! year"): how large the store grows when a daemon scans 100,000 resources
//! every 10 minutes for a year, 1 % of them changing per day, with retention on.
//!
//! The desired side is the foundation benchmark's synthetic state (100,000
//! managed instances cloned from the AWS corpus states); the live side is
//! built from the same attributes with `driftd::live::live_resource`, one
//! origin as one account and region. Every scan stores both sides, as
//! `scan::scan_target` does, through `Writer::store_encoded`: only the
//! resources that changed are encoded again (hashing 2 × 100,000 contents per
//! scan would make a simulated year take days), everything else of the write
//! path runs as in the daemon.
//!
//! Changes: 1,000 a day (1 % of the resources), spread evenly over the 144
//! scans of a day. A change either opens a finding on a resource that has
//! none (its live content gets a new generation: a new live version), or
//! resolves an open finding, half of them by a revert (the live content
//! returns to the state's: no new version) and half by codifying the change
//! (the state takes the live content: a new desired version). Opens and
//! resolves come about equally often, so there are about as many finding
//! events as changes. Findings and finding events are written with the
//! columns of schema/0002_findings.sql through the benchmark's own
//! connection (the store has no findings writer yet), each event naming its
//! scan and the two versions, which retention then keeps for ever.
//!
//! Retention: `RetentionPolicy::default()`, pruned after every scan.
//!
//! `cargo bench --bench history` prints the size curve (one line a simulated
//! week) and a Markdown table. Environment: `DRIFTD_HISTORY_DAYS` (default 365),
//! `DRIFTD_HISTORY_MINUTES` (stop after this much wall time, default none),
//! and the foundation benchmark's `DRIFTD_CORPUS`, `DRIFTD_BENCH_DATA`,
//! `DRIFTD_BENCH_INSTANCES`.

// The generator is shared with the foundation benchmark, which uses more of it.
#[allow(dead_code)]
mod support;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use driftd::live::live_resource;
use driftd::model::{Attributes, Mode, Origin, Resource};
use driftd::secrets::SecretKey;
use driftd::state::parse_state;
use driftd::store::{
    EncodedResource, PruneStats, RetentionPolicy, ScanOutcome, ScanStatus, Side, Store,
};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::synth::{self, TemplateSet};
use support::{Rng, data_dir, with_suffix};

const SCANS_PER_DAY: u64 = 144;
const CHANGES_PER_DAY: u64 = 1_000;
const MB: f64 = 1e6;

/// One resource as both sides hold it, by content generation.
struct Tracked {
    desired: Resource,
    live: Resource,
    desired_generation: u64,
    live_generation: u64,
    /// The open finding on it, if any: (finding id, index in `open`).
    open: Option<String>,
}

/// The resource with its attributes marked with `generation` (0: as it was).
fn with_generation(base: &Resource, generation: u64) -> Resource {
    let mut r = base.clone();
    if generation > 0 {
        let mut attrs = r.attributes.to_value();
        attrs["driftd_bench_generation"] = generation.into();
        r.attributes = Attributes::from_value(&attrs);
    }
    r
}

fn main() {
    let days: u64 = env("DRIFTD_HISTORY_DAYS").unwrap_or(365);
    let wall_limit = env("DRIFTD_HISTORY_MINUTES").map(|m| Duration::from_secs(m * 60));
    let key = SecretKey::from_bytes([0x5a; 32]);
    let dir = corpus_dir();
    let templates = TemplateSet::load(&dir)
        .unwrap_or_else(|e| panic!("cannot load templates from {}: {e}", dir.display()));
    let file = synth::ensure_state(&templates, instances_wanted(), &data_dir())
        .expect("cannot write the synthetic state");
    let bytes = std::fs::read(&file.path).expect("read the synthetic state");
    let desired_origin = Origin::from("s3://acme-tfstate/synthetic.tfstate");
    let live_origin = Origin::from("aws:000000000000:us-east-1");
    let desired: Vec<Resource> = parse_state(&bytes, &desired_origin, &key)
        .expect("the synthetic state parses")
        .resources
        .into_iter()
        .filter(|r| r.address.mode == Mode::Managed && r.deposed.is_none())
        .collect();
    drop(bytes);

    let started = Instant::now();
    let mut tracked: Vec<Tracked> = desired
        .into_iter()
        .map(|d| {
            let mut attrs = d.attributes.to_value();
            if let Some(all) = attrs.get("tags_all").cloned()
                && all.as_object().is_some_and(|o| !o.is_empty())
            {
                attrs["tags"] = all;
            }
            let mut live = live_resource(
                &d.key.resource_type,
                d.key.id.clone(),
                attrs,
                &[],
                &live_origin,
                &key,
            );
            live.key.provider = d.key.provider.clone();
            Tracked {
                desired: d,
                live,
                desired_generation: 0,
                live_generation: 0,
                open: None,
            }
        })
        .collect();
    let mut desired_encoded: Vec<EncodedResource> = tracked
        .iter()
        .map(|t| EncodedResource::new(&t.desired))
        .collect();
    let mut live_encoded: Vec<EncodedResource> = tracked
        .iter()
        .map(|t| EncodedResource::new(&t.live))
        .collect();
    let content_bytes: usize = desired_encoded
        .iter()
        .chain(&live_encoded)
        .map(EncodedResource::content_len)
        .sum();
    eprintln!(
        "{} resources per side, {:.0} MB of canonical content on both sides, encoded in {:.1} s",
        tracked.len(),
        content_bytes as f64 / MB,
        started.elapsed().as_secs_f64()
    );

    let path = data_dir().join("history.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&path, suffix));
    }
    let store = Store::open(&path).expect("open the store");
    let side_conn = Connection::open(&path).expect("open the store for findings");
    side_conn
        .busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    let target = store
        .write(|w| w.upsert_target("bench", "prod"))
        .expect("target");
    let target_id: i64 = side_conn
        .query_row("SELECT id FROM targets WHERE name = 'bench'", [], |r| {
            r.get(0)
        })
        .expect("target id");

    let policy = RetentionPolicy::default();
    let epoch: DateTime<Utc> = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut open: Vec<usize> = Vec::new();
    let mut findings_made: u64 = 0;
    let (mut opens, mut resolves, mut new_versions) = (0u64, 0u64, 0u64);
    let mut store_times: Vec<Duration> = Vec::new();
    let mut prune_times: Vec<Duration> = Vec::new();
    let mut prune_total = PruneStats::default();
    let mut longest_prune_tx = Duration::ZERO;
    let mut curve: Vec<(u64, u64, Sizes)> = Vec::new();
    let mut change_credit: u64 = 0;
    let loop_started = Instant::now();
    let mut scans_done: u64 = 0;
    let mut stopped_early = false;

    'days: for day in 0..days {
        for slot in 0..SCANS_PER_DAY {
            let at = epoch + Span::minutes(((day * SCANS_PER_DAY + slot) * 10) as i64);
            // Spread 1,000 changes over 144 scans.
            change_credit += CHANGES_PER_DAY;
            let changes = change_credit / SCANS_PER_DAY;
            change_credit %= SCANS_PER_DAY;
            // (resource index, event) applied after the scan is stored.
            let mut events: Vec<(usize, &'static str, String)> = Vec::new();
            for _ in 0..changes {
                let resolve = !open.is_empty() && rng.next().is_multiple_of(2);
                if resolve {
                    let k = rng.below(open.len());
                    let i = open.swap_remove(k);
                    let t = &mut tracked[i];
                    if rng.next().is_multiple_of(2) {
                        // Reverted in the cloud: live is what the state says again.
                        t.live_generation = t.desired_generation;
                        live_encoded[i] =
                            EncodedResource::new(&with_generation(&t.live, t.live_generation));
                    } else {
                        // Codified: the state now says what the cloud has.
                        t.desired_generation = t.live_generation;
                        desired_encoded[i] = EncodedResource::new(&with_generation(
                            &t.desired,
                            t.desired_generation,
                        ));
                    }
                    let id = tracked[i].open.take().expect("an open finding has an id");
                    events.push((i, "resolved", id));
                    resolves += 1;
                } else {
                    let i = loop {
                        let i = rng.below(tracked.len());
                        if tracked[i].open.is_none() {
                            break i;
                        }
                    };
                    let t = &mut tracked[i];
                    t.live_generation = t.live_generation.max(t.desired_generation) + 1;
                    live_encoded[i] =
                        EncodedResource::new(&with_generation(&t.live, t.live_generation));
                    findings_made += 1;
                    let id = format!("{findings_made:016x}");
                    t.open = Some(id.clone());
                    open.push(i);
                    events.push((i, "opened", id));
                    opens += 1;
                }
            }

            let t0 = Instant::now();
            let (scan, stats) = store
                .write(|w| {
                    let scan = w.begin_scan(target, at)?;
                    let d = w.store_encoded(scan, Side::Desired, &desired_encoded)?;
                    let l = w.store_encoded(scan, Side::Live, &live_encoded)?;
                    w.finish_scan(
                        scan,
                        &ScanOutcome {
                            ended_at: at + Span::seconds(30),
                            status: ScanStatus::Complete,
                            source_versions: vec![],
                            diagnostics: vec![],
                        },
                    )?;
                    Ok::<_, driftd::store::StoreError>((scan, d.new_versions + l.new_versions))
                })
                .expect("store the scan");
            store_times.push(t0.elapsed());
            new_versions += stats as u64;

            record_findings(
                &side_conn,
                target_id,
                scan.0,
                at,
                &events,
                &tracked,
                &desired_encoded,
                &live_encoded,
            );

            let t1 = Instant::now();
            let pruned = store.prune(&policy).expect("prune");
            prune_times.push(t1.elapsed());
            longest_prune_tx = longest_prune_tx.max(pruned.longest_transaction);
            add(&mut prune_total, &pruned);
            scans_done += 1;

            if wall_limit.is_some_and(|limit| loop_started.elapsed() > limit) {
                stopped_early = true;
                curve.push((day, scans_done, sizes(&side_conn, &path)));
                break 'days;
            }
        }
        if day % 7 == 6 || day + 1 == days || day < 7 {
            let s = sizes(&side_conn, &path);
            eprintln!(
                "day {:>3}: {:>7.1} MB (file {:.1} + WAL {:.1}), {} versions, {} snapshots ({} key), {} scans ({} with snapshots), {} findings, {:.0} s so far",
                day + 1,
                s.total as f64 / MB,
                s.file as f64 / MB,
                s.wal as f64 / MB,
                s.versions,
                s.snapshots,
                s.key_snapshots,
                s.scans,
                s.scans_with_snapshots,
                s.findings,
                loop_started.elapsed().as_secs_f64()
            );
            curve.push((day + 1, scans_done, s));
        }
    }
    let loop_secs = loop_started.elapsed().as_secs_f64();
    drop(store);
    let stats = Store::open(&path)
        .expect("reopen")
        .read(|r| r.stats())
        .expect("stats");

    println!();
    println!("{}", machine());
    println!(
        "Simulated {} scans ({:.1} days{}) in {:.0} s of wall time ({:.1} ms per scan: store {:.1} ms, prune {:.1} ms on average).",
        scans_done,
        scans_done as f64 / SCANS_PER_DAY as f64,
        if stopped_early {
            ", stopped by DRIFTD_HISTORY_MINUTES"
        } else {
            ""
        },
        loop_secs,
        loop_secs * 1000.0 / scans_done as f64,
        mean(&store_times).as_secs_f64() * 1000.0,
        mean(&prune_times).as_secs_f64() * 1000.0,
    );
    println!();
    println!(
        "| Day | Scans | Database (file + WAL) | Versions | Snapshots (key) | Scans kept (with snapshots) | Findings |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (day, scans, s) in &curve {
        if *day <= 7 || day % 28 == 0 || std::ptr::eq(s, &curve.last().unwrap().2) {
            println!(
                "| {day} | {scans} | {:.1} MB | {} | {} ({}) | {} ({}) | {} |",
                s.total as f64 / MB,
                s.versions,
                s.snapshots,
                s.key_snapshots,
                s.scans,
                s.scans_with_snapshots,
                s.findings
            );
        }
    }
    println!();
    println!("| Measure | Measured |");
    println!("|---|---|");
    println!(
        "| Changes | {} ({} findings opened, {} resolved) |",
        opens + resolves,
        opens,
        resolves
    );
    println!("| New resource versions stored | {new_versions} |");
    println!(
        "| Store one scan (both sides, 2 × {} resources): median / 99th percentile / max | {:.1} / {:.1} / {:.1} ms |",
        tracked.len(),
        pct(&store_times, 50).as_secs_f64() * 1000.0,
        pct(&store_times, 99).as_secs_f64() * 1000.0,
        pct(&store_times, 100).as_secs_f64() * 1000.0
    );
    println!(
        "| Prune after a scan: median / 99th percentile / max | {:.1} / {:.1} / {:.1} ms |",
        pct(&prune_times, 50).as_secs_f64() * 1000.0,
        pct(&prune_times, 99).as_secs_f64() * 1000.0,
        pct(&prune_times, 100).as_secs_f64() * 1000.0
    );
    println!(
        "| Longest write transaction of a prune | {:.1} ms |",
        longest_prune_tx.as_secs_f64() * 1000.0
    );
    println!(
        "| Pruned in total | {} scans deleted, {} thinned, {} snapshots, {} versions |",
        prune_total.scans_deleted,
        prune_total.scans_thinned,
        prune_total.snapshots_deleted,
        prune_total.versions_deleted
    );
    println!(
        "| Final `db stats` | {:.1} MB file + {:.1} MB WAL, {} pages ({} free), {} versions ({:.1} MB compressed content), {} snapshots ({} key, {:.1} MB of member lists) |",
        stats.file_bytes as f64 / MB,
        stats.wal_bytes as f64 / MB,
        stats.page_count,
        stats.free_pages,
        stats.resource_versions,
        stats.version_content_bytes as f64 / MB,
        stats.snapshots,
        stats.key_snapshots,
        stats.snapshot_member_bytes as f64 / MB
    );
    for t in &stats.tables {
        println!("| rows in `{}` | {} |", t.name, t.rows);
    }
}

#[allow(clippy::too_many_arguments)]
fn record_findings(
    conn: &Connection,
    target: i64,
    scan: i64,
    at: DateTime<Utc>,
    events: &[(usize, &str, String)],
    tracked: &[Tracked],
    desired: &[EncodedResource],
    live: &[EncodedResource],
) {
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let tx = conn.unchecked_transaction().expect("findings transaction");
    for (i, event, id) in events {
        let (i, event) = (*i, *event);
        let t = &tracked[i];
        let (d, l) = (desired[i].hash(), live[i].hash());
        match event {
            "opened" => {
                tx.execute(
                    "INSERT INTO findings (id, target_id, kind, provider, resource_type, resource_id,
                         address, attributes, state, state_by, state_at, seen, visible, first_seen,
                         last_seen, first_scan, last_scan, desired_version, live_version)
                     VALUES (?1, ?2, 'changed', ?3, ?4, ?5, ?6, '[\"driftd_bench_generation\"]',
                         'open', 'driftd', ?7, 1, 1, ?7, ?7, ?8, ?8, ?9, ?10)",
                    params![
                        id,
                        target,
                        &*t.desired.key.provider,
                        &*t.desired.key.resource_type,
                        t.desired.key.id,
                        t.desired.address.to_string(),
                        at,
                        scan,
                        &d[..],
                        &l[..]
                    ],
                )
                .expect("insert finding");
            }
            _ => {
                tx.execute(
                    "UPDATE findings SET state = 'resolved', state_at = ?2, resolved_scan = ?3,
                         last_scan = ?3, last_seen = ?2, desired_version = ?4, live_version = ?5
                     WHERE id = ?1",
                    params![id, at, scan, &d[..], &l[..]],
                )
                .expect("resolve finding");
            }
        }
        tx.execute(
            "INSERT INTO finding_events (finding_id, at, scan_id, event, actor, desired_version, live_version)
             VALUES (?1, ?2, ?3, ?4, 'driftd', ?5, ?6)",
            params![id, at, scan, event, &d[..], &l[..]],
        )
        .expect("insert finding event");
    }
    tx.commit().expect("commit findings");
}

struct Sizes {
    total: u64,
    file: u64,
    wal: u64,
    versions: i64,
    snapshots: i64,
    key_snapshots: i64,
    scans: i64,
    scans_with_snapshots: i64,
    findings: i64,
}

fn sizes(conn: &Connection, path: &Path) -> Sizes {
    let len = |suffix| std::fs::metadata(with_suffix(path, suffix)).map_or(0, |m| m.len());
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    let (file, wal) = (len(""), len("-wal"));
    Sizes {
        total: file + wal,
        file,
        wal,
        versions: count("SELECT count(*) FROM resource_versions"),
        snapshots: count("SELECT count(*) FROM snapshots"),
        key_snapshots: count("SELECT count(*) FROM snapshots WHERE base_id IS NULL"),
        scans: count("SELECT count(*) FROM scans"),
        scans_with_snapshots: count("SELECT count(DISTINCT scan_id) FROM scan_snapshots"),
        findings: count("SELECT count(*) FROM findings"),
    }
}

fn add(total: &mut PruneStats, one: &PruneStats) {
    total.scans_deleted += one.scans_deleted;
    total.scans_thinned += one.scans_thinned;
    total.scan_snapshots_deleted += one.scan_snapshots_deleted;
    total.snapshots_deleted += one.snapshots_deleted;
    total.versions_deleted += one.versions_deleted;
    total.transactions += one.transactions;
}

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / times.len().max(1) as u32
}

fn pct(times: &[Duration], p: usize) -> Duration {
    let mut t = times.to_vec();
    t.sort();
    t[((t.len() - 1) * p / 100).min(t.len() - 1)]
}

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("DRIFTD_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/terraform-state/aws")
        })
}

fn instances_wanted() -> usize {
    env("DRIFTD_BENCH_INSTANCES").map_or(100_000, |n| n as usize)
}

fn machine() -> String {
    let cpu = support::cpu_model();
    format!(
        "Date {} · {} CPUs ({cpu}) · load average at the end {}",
        Utc::now().format("%Y-%m-%d"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        support::load_average(),
    )
}
