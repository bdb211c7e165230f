//! Retention: a generated history of scans, some of which opened or resolved
//! findings, pruned by `Store::prune`. Checks what survives, that nothing
//! anything points to is deleted (foreign keys on, and the store's own
//! references), and that the database stops growing.
//!
//! Findings and finding events are written through the test's own connection
//! with the columns of schema/0002_findings.sql.

use chrono::{DateTime, TimeZone, Utc};
use driftd::model::{
    Address, Aliases, Attributes, IndexKey, InstanceStatus, Mode, Origin, ProviderAddress,
    Resource, ResourceKey,
};
use driftd::store::{
    EncodedResource, RetentionPolicy, ScanId, ScanOutcome, ScanStatus, Side, Store, StoreError,
    TargetId,
};
use rusqlite::{Connection, params};
use serde_json::json;
use std::path::Path;

fn resource(origin: &str, i: usize, generation: u64) -> Resource {
    let id = format!("sg-{i:08}");
    Resource {
        key: ResourceKey {
            provider: "aws".into(),
            resource_type: "aws_security_group".into(),
            id: id.clone(),
        },
        address: Address {
            module: None,
            mode: Mode::Managed,
            resource_type: "aws_security_group".into(),
            name: "this".into(),
            index: Some(IndexKey::Str(id.clone())),
        },
        provider: std::sync::Arc::new(ProviderAddress {
            hostname: "registry.terraform.io".into(),
            namespace: "hashicorp".into(),
            name: "aws".into(),
            alias: None,
            module: None,
        }),
        status: InstanceStatus::Ready,
        deposed: None,
        schema_version: 1,
        attributes: Attributes::from_value(
            &json!({"id": id, "name": format!("web-{i}"), "generation": generation}),
        ),
        sensitive_paths: vec![],
        dependencies: vec![],
        references: vec![],
        aliases: Aliases::default(),
        origin: Origin::from(origin),
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + minutes * 600, 0).unwrap()
}

/// A target's fleet of `n` resources on each side, with per-resource generations.
struct History {
    store: Store,
    target: TargetId,
    desired: Vec<u64>,
    live: Vec<u64>,
    clock: i64,
}

impl History {
    fn new(path: &Path, n: usize) -> History {
        let store = Store::open(path).unwrap();
        let target = store.write(|w| w.upsert_target("net", "prod")).unwrap();
        History {
            store,
            target,
            desired: vec![0; n],
            live: vec![0; n],
            clock: 0,
        }
    }

    fn resources(&self, side: Side) -> Vec<Resource> {
        let (origin, generations) = match side {
            Side::Desired => ("s3://b/net.tfstate", &self.desired),
            Side::Live => ("aws:111111111111:eu-west-1", &self.live),
        };
        generations
            .iter()
            .enumerate()
            .map(|(i, &g)| resource(origin, i, g))
            .collect()
    }

    /// One scan of both sides, finished with `status`.
    fn scan(&mut self, status: ScanStatus) -> ScanId {
        self.clock += 1;
        let (desired, live) = (self.resources(Side::Desired), self.resources(Side::Live));
        let clock = self.clock;
        self.store
            .write(|w| {
                let scan = w.begin_scan(self.target, at(clock))?;
                if status != ScanStatus::Failed {
                    w.store_resources(scan, Side::Desired, &desired)?;
                    w.store_resources(scan, Side::Live, &live)?;
                }
                w.finish_scan(
                    scan,
                    &ScanOutcome {
                        ended_at: at(clock),
                        status,
                        source_versions: vec![],
                        diagnostics: vec![],
                    },
                )?;
                Ok::<_, StoreError>(scan)
            })
            .unwrap()
    }
}

fn hash_of(r: &Resource) -> [u8; 32] {
    EncodedResource::new(r).hash()
}

/// Records a finding event for resource `i` in `scan`, naming both versions.
fn finding_event(
    conn: &Connection,
    scan: ScanId,
    event: &str,
    finding: &str,
    d: [u8; 32],
    l: [u8; 32],
) {
    conn.execute(
        "INSERT OR IGNORE INTO findings (id, target_id, kind, provider, resource_type, resource_id,
             state, state_at, seen, visible, first_seen, last_seen, first_scan, last_scan,
             desired_version, live_version)
         VALUES (?1, (SELECT id FROM targets WHERE name = 'net'), 'changed', 'aws',
             'aws_security_group', 'x', 'open', 'now', 1, 1, 'now', 'now', ?2, ?2, ?3, ?4)",
        params![finding, scan.0, &d[..], &l[..]],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO finding_events (finding_id, at, scan_id, event, actor, desired_version, live_version)
         VALUES (?1, 'now', ?2, ?3, 'driftd', ?4, ?5)",
        params![finding, scan.0, event, &d[..], &l[..]],
    )
    .unwrap();
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn version_exists(conn: &Connection, hash: [u8; 32]) -> bool {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM resource_versions WHERE hash = ?1)",
        [&hash[..]],
        |r| r.get(0),
    )
    .unwrap()
}

fn policy(keep_scans: u32) -> RetentionPolicy {
    RetentionPolicy {
        keep_scans,
        batch_rows: 7,
        ..RetentionPolicy::default()
    }
}

/// Every reference the schema cannot check: snapshots a scan points to hold
/// only versions that exist, and every snapshot's base is a key snapshot.
fn assert_consistent(store: &Store, conn: &Connection) {
    let violations = count(conn, "SELECT count(*) FROM pragma_foreign_key_check");
    assert_eq!(violations, 0, "foreign key violations");
    let scans: Vec<i64> = conn
        .prepare("SELECT DISTINCT scan_id FROM scan_snapshots")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for scan in scans {
        for side in [Side::Desired, Side::Live] {
            // Reading fails on a member or a base that is missing.
            store
                .read(|r| r.scan_resources(ScanId(scan), side))
                .unwrap_or_else(|e| panic!("scan {scan}: {e}"));
        }
    }
    assert_eq!(
        count(
            conn,
            "SELECT count(*) FROM snapshots s JOIN snapshots b ON b.id = s.base_id
             WHERE b.base_id IS NOT NULL"
        ),
        0,
        "a base that is not a key snapshot"
    );
}

#[test]
fn old_scans_go_unless_a_finding_event_names_them_and_their_versions_stay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("driftd.db");
    let mut h = History::new(&path, 40);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();

    let mut scans = Vec::new();
    let mut kept_for_events = Vec::new();
    let mut finding_versions = Vec::new();
    let mut unreferenced_versions = Vec::new();
    for n in 0..30 {
        // One live change per scan; every fifth also codified in the state.
        let i = n % 4;
        h.live[i] += 1;
        if n % 5 == 4 {
            h.desired[i] = h.live[i];
        }
        let scan = h.scan(ScanStatus::Complete);
        scans.push(scan);
        let d = hash_of(&resource("s3://b/net.tfstate", i, h.desired[i]));
        let l = hash_of(&resource("aws:111111111111:eu-west-1", i, h.live[i]));
        match n {
            3 => {
                finding_event(&conn, scan, "opened", "000000000000000a", d, l);
                kept_for_events.push(scan);
                finding_versions.push(l);
            }
            8 => {
                finding_event(&conn, scan, "resolved", "000000000000000a", d, l);
                kept_for_events.push(scan);
                finding_versions.push(l);
            }
            11 => {
                // A human decision or a confirmation keeps nothing by itself.
                finding_event(&conn, scan, "confirmed", "000000000000000b", d, l);
                finding_versions.push(l);
            }
            5 | 6 => unreferenced_versions.push(l),
            _ => {}
        }
    }
    let versions_before = count(&conn, "SELECT count(*) FROM resource_versions");

    let stats = h.store.prune(&policy(10)).unwrap();
    assert!(stats.transactions > 1, "small batches: {stats:?}");
    assert_eq!(stats.scans_thinned, 2, "{stats:?}");
    assert_eq!(stats.scans_deleted, 18, "{stats:?}");

    let kept: Vec<i64> = conn
        .prepare("SELECT id FROM scans ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut expected: Vec<i64> = kept_for_events.iter().map(|s| s.0).collect();
    expected.extend(scans[20..].iter().map(|s| s.0));
    assert_eq!(kept, expected);

    // Kept old scans keep their record, not what they saw.
    for scan in &kept_for_events {
        let row = h.store.read(|r| r.scan(*scan)).unwrap().unwrap();
        assert_eq!(row.status(), Some(ScanStatus::Complete));
        assert!(
            h.store
                .read(|r| r.scan_resources(*scan, Side::Live))
                .unwrap()
                .is_empty()
        );
    }
    // The newest ten are whole.
    for scan in &scans[20..] {
        assert_eq!(
            h.store
                .read(|r| r.scan_resources(*scan, Side::Live))
                .unwrap()
                .len(),
            40
        );
    }
    for v in &finding_versions {
        assert!(
            version_exists(&conn, *v),
            "a version a finding names was deleted"
        );
    }
    for v in &unreferenced_versions {
        assert!(
            !version_exists(&conn, *v),
            "a version nothing needs was kept"
        );
    }
    assert!(count(&conn, "SELECT count(*) FROM resource_versions") < versions_before);
    assert_consistent(&h.store, &conn);

    // Nothing is left for the full pass, and a second prune finds nothing.
    assert_eq!(
        h.store
            .sweep_versions(&policy(10))
            .unwrap()
            .versions_deleted,
        0
    );
    assert!(!h.store.prune(&policy(10)).unwrap().removed_anything());

    // Scans go on after a prune, from the snapshots that are left.
    h.live[0] += 1;
    let next = h.scan(ScanStatus::Complete);
    assert_eq!(
        h.store
            .read(|r| r.scan_resources(next, Side::Live))
            .unwrap(),
        h.resources(Side::Live)
    );
    assert_consistent(&h.store, &conn);
}

#[test]
fn the_last_complete_scan_stays_whole_however_old() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("driftd.db");
    let mut h = History::new(&path, 5);
    let conn = Connection::open(&path).unwrap();
    h.scan(ScanStatus::Complete);
    let last_complete = h.scan(ScanStatus::Complete);
    for _ in 0..8 {
        h.scan(ScanStatus::Failed);
    }
    let stats = h.store.prune(&policy(3)).unwrap();
    // The first scan and the five oldest failed ones.
    assert_eq!(stats.scans_deleted, 6, "{stats:?}");
    assert_eq!(
        h.store
            .read(|r| r.scan_resources(last_complete, Side::Desired))
            .unwrap(),
        h.resources(Side::Desired),
        "the next scan reuses it for sources that did not change"
    );
    // Once a newer scan is complete, the old one goes too.
    h.scan(ScanStatus::Complete);
    h.scan(ScanStatus::Complete);
    h.scan(ScanStatus::Complete);
    h.store.prune(&policy(3)).unwrap();
    assert_eq!(h.store.read(|r| r.scan(last_complete)).unwrap(), None);
    assert_consistent(&h.store, &conn);
}

#[test]
fn with_retention_the_database_stops_growing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("driftd.db");
    let mut h = History::new(&path, 200);
    let conn = Connection::open(&path).unwrap();
    let size = || -> u64 {
        let pages = count(&conn, "PRAGMA page_count") - count(&conn, "PRAGMA freelist_count");
        pages as u64
    };
    let mut used = Vec::new();
    for n in 0..400 {
        // Three changes per scan, every resource again and again.
        for k in 0..3 {
            h.live[(n * 3 + k) % 200] += 1;
        }
        h.scan(ScanStatus::Complete);
        h.store.prune(&policy(20)).unwrap();
        if n % 50 == 49 {
            used.push((
                size(),
                count(&conn, "SELECT count(*) FROM resource_versions"),
                count(&conn, "SELECT count(*) FROM snapshots"),
            ));
        }
    }
    // Past the window the counts are flat: 200 desired + 200 live versions,
    // the changes of the last 20 scans, and what the live side's key
    // snapshot (at most 200 older versions) holds.
    let (_, versions, snapshots) = *used.last().unwrap();
    assert!(versions <= 200 + 200 + 3 * 21 + 200, "{used:?}");
    assert!(snapshots <= 2 * 21 + 4, "{used:?}");
    let steady = &used[2..];
    let (min, max) = (
        steady.iter().map(|u| u.0).min().unwrap(),
        steady.iter().map(|u| u.0).max().unwrap(),
    );
    assert!(max <= min + min / 4, "pages in use keep growing: {used:?}");
    assert_consistent(&h.store, &conn);
}

/// CloudTrail data older than `trail_days` goes, except the events a
/// finding's evidence names; a fetched span that straddles the horizon is
/// cut at it, so it never claims events the store no longer has.
#[test]
fn old_trail_events_go_unless_they_are_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("driftd.db");
    let mut h = History::new(&path, 1);
    let scan = h.scan(ScanStatus::Complete);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let d = hash_of(&resource("s3://b/net.tfstate", 0, 0));
    finding_event(&conn, scan, "opened", "000000000000000a", d, d);

    let now = Utc::now();
    let days_ago = |d: i64| {
        (now - chrono::Duration::days(d))
            .format("%Y-%m-%dT%H:%M:%S%.9fZ")
            .to_string()
    };
    for (i, age) in [200, 150, 120, 101, 99, 10].into_iter().enumerate() {
        conn.execute(
            "INSERT INTO trail_events (event_id, account, region, event_time, event_source, event_name, raw)
             VALUES (?1, '111111111111', 'eu-west-1', ?2, 'ec2.amazonaws.com', 'CreateTags', x'00')",
            params![format!("e{i}-{age}"), days_ago(age)],
        )
        .unwrap();
    }
    // The 150-day-old event explains the finding: it stays.
    conn.execute(
        "INSERT INTO evidence (finding_id, event_id, ordinal, explains) VALUES ('000000000000000a', 'e1-150', 0, 1)",
        [],
    )
    .unwrap();
    for (lookup, start, end) in [("*", 130, 110), ("*", 110, 5), ("sg-1", 20, 5)] {
        conn.execute(
            "INSERT INTO trail_fetched (account, region, lookup, span_start, span_end, events, calls, fetched_at)
             VALUES ('111111111111', 'eu-west-1', ?1, ?2, ?3, 0, 1, ?3)",
            params![lookup, days_ago(start), days_ago(end)],
        )
        .unwrap();
    }
    for (key, age) in [("old.json.gz", 101), ("new.json.gz", 99)] {
        conn.execute(
            "INSERT INTO trail_objects (bucket, key, etag, read_at, records) VALUES ('trail', ?1, 'x', ?2, 1)",
            params![key, days_ago(age)],
        )
        .unwrap();
    }

    let policy = RetentionPolicy {
        batch_rows: 2,
        trail_days: 100,
        ..RetentionPolicy::default()
    };
    let stats = h.store.prune(&policy).unwrap();
    assert_eq!(stats.trail_events_deleted, 3, "{stats:?}");
    assert_eq!(
        stats.trail_records_deleted, 2,
        "one span, one object: {stats:?}"
    );

    let ids: Vec<String> = conn
        .prepare("SELECT event_id FROM trail_events ORDER BY event_time")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids, ["e1-150", "e4-99", "e5-10"]);
    let horizon = days_ago(100);
    let spans: Vec<(String, String)> = conn
        .prepare("SELECT lookup, span_start FROM trail_fetched ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(spans.len(), 2, "{spans:?}");
    // Cut at the horizon (computed a moment after ours).
    assert!(
        spans[0].1 >= horizon && spans[0].1 < days_ago(99),
        "{spans:?}"
    );
    assert_eq!(spans[1].1, days_ago(20));
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM trail_objects WHERE key = 'new.json.gz'"
        ),
        1
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM trail_objects"), 1);
    assert_consistent(&h.store, &conn);
}
