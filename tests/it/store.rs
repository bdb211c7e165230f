//! The SQLite store: schema and upgrades, refusal of files it must not touch,
//! transactions, content-addressed resource versions, scans.
//!
//! Tests inspect the database file with their own rusqlite connection (row
//! counts, the schema) to check what the store's API cannot show.

use chrono::{DateTime, TimeZone, Utc};
use driftd::diag::Diagnostic;
use driftd::model::{
    Address, Aliases, AttrPath, Attributes, IndexKey, InstanceStatus, Mode, Origin, PathStep,
    ProviderAddress, Reference, Resource, ResourceKey,
};
use driftd::store::{
    EncodedResource, SCHEMA_VERSION, ScanOutcome, ScanState, ScanStatus, Side, Store, StoreError,
    StoreStats, migrate_to,
};
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------- helpers

/// A managed AWS resource instance read from `origin`, with `attributes`.
fn resource(
    origin: &str,
    resource_type: &str,
    id: &str,
    attributes: serde_json::Value,
) -> Resource {
    Resource {
        key: ResourceKey {
            provider: "aws".into(),
            resource_type: resource_type.into(),
            id: id.into(),
        },
        address: Address {
            module: None,
            mode: Mode::Managed,
            resource_type: resource_type.into(),
            name: "this".into(),
            index: Some(IndexKey::Str(id.into())),
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
        attributes: Attributes::from_value(&attributes),
        sensitive_paths: vec![],
        dependencies: vec![],
        references: vec![],
        aliases: Aliases::default(),
        origin: Origin::from(origin),
    }
}

/// `count` security groups, half from each of two state files.
fn fleet(count: usize) -> Vec<Resource> {
    (0..count)
        .map(|i| {
            let origin = if i % 2 == 0 {
                "s3://states/a.tfstate"
            } else {
                "s3://states/b.tfstate"
            };
            resource(
                origin,
                "aws_security_group",
                &format!("sg-{i:08}"),
                json!({"id": format!("sg-{i:08}"), "name": format!("web-{i}"), "tags": {"n": i}}),
            )
        })
        .collect()
}

/// The order `scan_resources` documents: origin, address, key, deposed key.
fn sorted(mut resources: Vec<Resource>) -> Vec<Resource> {
    resources.sort_by(|a, b| {
        (&a.origin, &a.address, &a.key, &a.deposed)
            .cmp(&(&b.origin, &b.address, &b.key, &b.deposed))
    });
    resources
}

fn at(seconds: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + seconds, nanos).unwrap()
}

fn outcome(status: ScanStatus, source_versions: Vec<(String, serde_json::Value)>) -> ScanOutcome {
    ScanOutcome {
        ended_at: at(60, 0),
        status,
        source_versions,
        diagnostics: vec![],
    }
}

/// A fresh temporary directory and a database path in a subdirectory that does not exist yet.
fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("driftd.db");
    (dir, path)
}

/// A connection of the test's own, for what the store's API does not show.
fn inspect(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn count(path: &Path, table: &str) -> i64 {
    inspect(path)
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// Everything that makes up a database's schema, comparable between two files.
#[derive(Debug, PartialEq)]
struct Schema {
    user_version: u32,
    application_id: i32,
    journal_mode: String,
    /// `(type, name, table, normalised sql)` for every table, index, trigger and view.
    objects: Vec<(String, String, String, String)>,
}

fn schema(path: &Path) -> Schema {
    let conn = inspect(path);
    let pragma = |name: &str| -> rusqlite::types::Value {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    let int = |v: rusqlite::types::Value| match v {
        rusqlite::types::Value::Integer(i) => i,
        other => panic!("not an integer: {other:?}"),
    };
    let mut stmt = conn
        .prepare(
            "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name",
        )
        .unwrap();
    let objects = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                normalise_sql(&r.get::<_, String>(3)?),
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    Schema {
        user_version: int(pragma("user_version")) as u32,
        application_id: int(pragma("application_id")) as i32,
        journal_mode: match pragma("journal_mode") {
            rusqlite::types::Value::Text(t) => t,
            other => panic!("journal_mode is {other:?}"),
        },
        objects,
    }
}

/// SQL as SQLite stored it, without comments and layout: `ALTER TABLE` and a
/// fresh `CREATE TABLE` spell the same table differently.
fn normalise_sql(sql: &str) -> String {
    let without_comments: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let words = without_comments
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    words
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
}

// ---------------------------------------------------------------- opening

#[test]
fn a_fresh_open_creates_the_schema_and_a_reopen_keeps_the_data() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.path(), Some(path.as_path()));
    store
        .write(|w| w.upsert_target("prod-network", "prod"))
        .unwrap();
    drop(store);

    let s = schema(&path);
    assert_eq!(s.user_version, SCHEMA_VERSION);
    assert_eq!(s.journal_mode, "wal");
    let tables: Vec<&str> = s
        .objects
        .iter()
        .filter(|o| o.0 == "table")
        .map(|o| o.1.as_str())
        .collect();
    for table in [
        "targets",
        "scans",
        "resource_versions",
        "snapshots",
        "scan_snapshots",
    ] {
        assert!(
            tables.contains(&table),
            "table {table} missing from {tables:?}"
        );
    }

    let store = Store::open(&path).unwrap();
    let targets = store.read(|r| r.targets()).unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].name.as_str(), targets[0].environment.as_str()),
        ("prod-network", "prod")
    );
}

#[test]
fn user_version_counts_the_migration_files() {
    let files = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count();
    assert_eq!(SCHEMA_VERSION as usize, files);
    let (_dir, path) = temp_db();
    Store::open(&path).unwrap();
    assert_eq!(schema(&path).user_version as usize, files);
}

#[cfg(unix)]
#[test]
fn a_new_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    store.write(|w| w.upsert_target("t", "prod")).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600, "database file");
    assert_eq!(mode(path.parent().unwrap()), 0o700, "created directory");
    // SQLite gives the WAL files the database file's mode.
    let wal = path.with_file_name("driftd.db-wal");
    assert!(wal.exists());
    assert_eq!(mode(&wal), 0o600, "WAL file");
}

#[test]
fn a_migrated_database_equals_a_fresh_one() {
    let (dir, fresh) = temp_db();
    Store::open(&fresh).unwrap();
    let fresh_schema = schema(&fresh);

    // A database that every older driftd could have left behind: created at
    // version 1 with rows in it, upgraded by that driftd to `from`, then
    // opened by this one.
    for from in 1..=SCHEMA_VERSION {
        let path = dir.path().join(format!("from-{from}.db"));
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO targets (id, name, environment) VALUES (1, 'old', 'prod');
             INSERT INTO scans (id, target_id, started_at, ended_at, status, source_versions)
                 VALUES (7, 1, '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:01:00.000000000Z',
                         'complete', '[[\"s3://b/k\", {\"serial\": 3}]]');
             INSERT INTO resource_versions VALUES (zeroblob(32), 'aws', 'aws_vpc', 'vpc-1', 'aws_vpc.main', '{}');
             INSERT INTO snapshots VALUES (zeroblob(32), 1);
             INSERT INTO snapshot_members VALUES (zeroblob(32), 0, zeroblob(32));
             INSERT INTO scan_snapshots VALUES (7, 'desired', 's3://b/k', zeroblob(32));",
        )
        .unwrap();
        migrate_to(&mut conn, from).unwrap();
        drop(conn);

        let store = Store::open(&path).unwrap();
        assert_eq!(schema(&path), fresh_schema, "upgraded from version {from}");

        // The rows came through.
        let targets = store.read(|r| r.targets()).unwrap();
        assert_eq!(targets.len(), 1);
        let scan = store.read(|r| r.last_scan(targets[0].id)).unwrap().unwrap();
        assert_eq!(scan.status(), Some(ScanStatus::Complete));
        let versions = store
            .read(|r| r.latest_source_versions(targets[0].id))
            .unwrap();
        assert_eq!(versions.get("s3://b/k"), Some(&json!({"serial": 3})));
        drop(store);
        for table in ["resource_versions", "snapshots", "scan_snapshots"] {
            assert_eq!(
                count(&path, table),
                1,
                "{table} after upgrading from {from}"
            );
        }
    }
}

#[test]
fn migrate_to_refuses_to_go_backwards_or_past_the_binary() {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate_to(&mut conn, SCHEMA_VERSION).unwrap();
    assert!(migrate_to(&mut conn, SCHEMA_VERSION + 1).is_err());
    assert!(migrate_to(&mut conn, 0).is_err());
    assert_eq!(
        driftd::store::schema_version(&conn).unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn a_database_from_a_newer_driftd_is_refused_and_left_untouched() {
    // A newer driftd's file in WAL mode, and one a person switched back to a
    // rollback journal (turning WAL on would rewrite its header).
    for journal_mode in ["wal", "delete"] {
        let (dir, path) = temp_db();
        Store::open(&path)
            .unwrap()
            .write(|w| w.upsert_target("t", "prod"))
            .unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", journal_mode)
            .unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let files_before = list(dir.path());

        let err = Store::open(&path).unwrap_err();
        match &err {
            StoreError::TooNew {
                path: p,
                found,
                supported,
            } => {
                assert_eq!(p, &path);
                assert_eq!((*found, *supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("upgrade driftd"), "{message}");
        assert!(message.contains("did not change"), "{message}");

        assert!(
            std::fs::read(&path).unwrap() == before,
            "{journal_mode}: the database file changed"
        );
        assert_eq!(list(dir.path()), files_before, "{journal_mode}");
    }
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(list(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn a_file_that_is_not_a_database_is_refused_by_name() {
    let (dir, _) = temp_db();
    let path = dir.path().join("config.toml");
    let text = "[store]\npath = \"/var/lib/driftd/driftd.db\"\n".repeat(100);
    std::fs::write(&path, &text).unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a SQLite database"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn someone_elses_sqlite_database_is_refused() {
    let (dir, _) = temp_db();
    let path = dir.path().join("other.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains("not a driftd store"), "{err}");
    assert!(std::fs::read(&path).unwrap() == before);
}

#[test]
fn an_empty_file_becomes_a_store() {
    let (dir, _) = temp_db();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    Store::open(&path).unwrap();
    assert_eq!(schema(&path).user_version, SCHEMA_VERSION);
}

// ---------------------------------------------------------------- transactions

#[test]
fn a_write_that_returns_an_error_leaves_nothing_behind() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let result: anyhow::Result<()> = store.write(|w| {
        let target = w.upsert_target("t", "prod")?;
        let scan = w.begin_scan(target, at(0, 0))?;
        w.store_resources(scan, Side::Desired, &fleet(10))?;
        // The writer sees its own writes before the end of the transaction.
        assert_eq!(w.scan_resources(scan, Side::Desired)?.len(), 10);
        anyhow::bail!("the scan was cancelled")
    });
    assert_eq!(result.unwrap_err().to_string(), "the scan was cancelled");

    assert!(store.read(|r| r.targets()).unwrap().is_empty());
    drop(store);
    for table in [
        "targets",
        "scans",
        "resource_versions",
        "snapshots",
        "scan_snapshots",
    ] {
        assert_eq!(count(&path, table), 0, "{table}");
    }
}

#[test]
fn a_write_that_panics_leaves_nothing_behind_and_the_store_works_on() {
    let store = Store::open_in_memory().unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store
            .write(|w| {
                w.upsert_target("t", "prod")?;
                panic!("a bug in the caller");
                #[allow(unreachable_code)]
                Ok::<(), StoreError>(())
            })
            .unwrap();
    }));
    assert!(panicked.is_err());
    assert!(store.read(|r| r.targets()).unwrap().is_empty());
    store.write(|w| w.upsert_target("t", "prod")).unwrap();
    assert_eq!(store.read(|r| r.targets()).unwrap().len(), 1);
}

#[test]
fn a_reader_does_not_wait_for_the_writer_and_sees_only_commits() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    store
        .write(|w| w.upsert_target("committed", "prod"))
        .unwrap();
    store
        .write(|w| {
            w.upsert_target("pending", "prod")?;
            // Another thread reads while this transaction is open.
            let seen =
                std::thread::scope(|s| s.spawn(|| store.read(|r| r.targets())).join().unwrap())?;
            let names: Vec<_> = seen.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["committed"]);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(store.read(|r| r.targets()).unwrap().len(), 2);
}

#[test]
fn the_store_can_move_between_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Store>();
}

// ---------------------------------------------------------------- targets and scans

#[test]
fn upserting_a_target_keeps_its_id_and_updates_its_environment() {
    let store = Store::open_in_memory().unwrap();
    let first = store.write(|w| w.upsert_target("net", "staging")).unwrap();
    let second = store.write(|w| w.upsert_target("net", "prod")).unwrap();
    let other = store.write(|w| w.upsert_target("app", "prod")).unwrap();
    assert_eq!(first, second);
    assert_ne!(first, other);
    let targets = store.read(|r| r.targets()).unwrap();
    let names: Vec<_> = targets
        .iter()
        .map(|t| (t.name.as_str(), t.environment.as_str()))
        .collect();
    assert_eq!(names, [("app", "prod"), ("net", "prod")]);
    assert_eq!(
        store.read(|r| r.target_by_name("net")).unwrap().unwrap().id,
        first
    );
    assert_eq!(store.read(|r| r.target_by_name("nope")).unwrap(), None);
}

#[test]
fn a_scan_records_its_times_status_source_versions_and_diagnostics() {
    let store = Store::open_in_memory().unwrap();
    let target = store.write(|w| w.upsert_target("net", "prod")).unwrap();
    let started = at(0, 123_456_789);
    let scan = store.write(|w| w.begin_scan(target, started)).unwrap();

    let running = store.read(|r| r.last_scan(target)).unwrap().unwrap();
    assert_eq!(running.id, scan);
    assert_eq!(running.target, target);
    assert_eq!(running.started_at, started);
    assert_eq!(running.state, ScanState::Running);
    assert_eq!(running.status(), None);

    let outcome = ScanOutcome {
        ended_at: at(42, 1),
        status: ScanStatus::Partial,
        source_versions: vec![
            (
                "s3://states/net.tfstate".into(),
                json!({"serial": 12, "lineage": "abc", "version_id": "v7"}),
            ),
            ("file:///srv/app.tfstate".into(), json!({"serial": 3})),
        ],
        diagnostics: vec![
            Diagnostic::warning(
                "aws:eu-west-1:aws_instance",
                "listing was throttled; retried 3 times",
            ),
            Diagnostic::error(
                "aws:us-east-1:aws_iam_role",
                "access denied: the types are unknown for this scan",
            ),
        ],
    };
    store.write(|w| w.finish_scan(scan, &outcome)).unwrap();

    let row = store.read(|r| r.scan(scan)).unwrap().unwrap();
    assert_eq!(row.started_at, started);
    assert_eq!(
        row.state,
        ScanState::Finished {
            ended_at: at(42, 1),
            status: ScanStatus::Partial
        }
    );
    assert_eq!(row.ended_at(), Some(at(42, 1)));
    assert_eq!(row.source_versions, outcome.source_versions);
    assert_eq!(row.diagnostics, outcome.diagnostics);
}

#[test]
fn a_finished_scan_cannot_change() {
    let store = Store::open_in_memory().unwrap();
    let target = store.write(|w| w.upsert_target("net", "prod")).unwrap();
    let scan = store.write(|w| w.begin_scan(target, at(0, 0))).unwrap();
    store
        .write(|w| w.finish_scan(scan, &outcome(ScanStatus::Complete, vec![])))
        .unwrap();

    let again = store.write(|w| w.finish_scan(scan, &outcome(ScanStatus::Failed, vec![])));
    assert!(
        matches!(again, Err(StoreError::ScanFinished(s)) if s == scan),
        "{again:?}"
    );
    let more = store.write(|w| w.store_resources(scan, Side::Live, &fleet(2)));
    assert!(matches!(more, Err(StoreError::ScanFinished(_))), "{more:?}");
    assert_eq!(
        store.read(|r| r.scan(scan)).unwrap().unwrap().status(),
        Some(ScanStatus::Complete)
    );
}

#[test]
fn unknown_ids_are_errors_not_empty_answers() {
    let store = Store::open_in_memory().unwrap();
    let target = store.write(|w| w.upsert_target("net", "prod")).unwrap();
    let missing_target = driftd::store::TargetId(target.0 + 100);
    let missing_scan = driftd::store::ScanId(999);
    let r = store.write(|w| w.begin_scan(missing_target, at(0, 0)));
    assert!(matches!(r, Err(StoreError::UnknownTarget(_))), "{r:?}");
    let r = store.write(|w| w.store_resources(missing_scan, Side::Desired, &fleet(1)));
    assert!(matches!(r, Err(StoreError::UnknownScan(_))), "{r:?}");
    let r = store.read(|r| r.scan_resources(missing_scan, Side::Desired));
    assert!(matches!(r, Err(StoreError::UnknownScan(_))), "{r:?}");
    assert_eq!(store.read(|r| r.scan(missing_scan)).unwrap(), None);
    assert!(
        store
            .read(|r| r.scans(missing_target, 10))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn scans_come_newest_first_and_source_versions_from_the_last_complete_one() {
    let store = Store::open_in_memory().unwrap();
    let (target, other) = store
        .write(|w| {
            Ok::<_, StoreError>((
                w.upsert_target("net", "prod")?,
                w.upsert_target("app", "prod")?,
            ))
        })
        .unwrap();
    assert!(
        store
            .read(|r| r.latest_source_versions(target))
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.read(|r| r.last_scan(target)).unwrap(), None);

    let finish = |status, serial: u64| {
        store
            .write(|w| {
                let scan = w.begin_scan(target, at(serial as i64, 0))?;
                w.finish_scan(
                    scan,
                    &outcome(
                        status,
                        vec![("s3://b/net".into(), json!({"serial": serial}))],
                    ),
                )?;
                Ok::<_, StoreError>(scan)
            })
            .unwrap()
    };
    let first = finish(ScanStatus::Complete, 1);
    let second = finish(ScanStatus::Complete, 2);
    let third = finish(ScanStatus::Partial, 3);
    let fourth = finish(ScanStatus::Failed, 4);
    let running = store.write(|w| w.begin_scan(target, at(5, 0))).unwrap();
    store.write(|w| w.begin_scan(other, at(6, 0))).unwrap();

    let ids: Vec<_> = store
        .read(|r| r.scans(target, 10))
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [running, fourth, third, second, first]);
    let ids: Vec<_> = store
        .read(|r| r.scans(target, 2))
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [running, fourth]);
    assert_eq!(
        store.read(|r| r.last_scan(target)).unwrap().unwrap().id,
        running
    );

    let versions = store.read(|r| r.latest_source_versions(target)).unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        versions["s3://b/net"],
        json!({"serial": 2}),
        "partial and failed scans do not count"
    );
    assert!(
        store
            .read(|r| r.latest_source_versions(other))
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------- content addressing

#[test]
fn resource_versions_are_stored_once_across_scans() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let target = store.write(|w| w.upsert_target("net", "prod")).unwrap();
    let resources = fleet(5_000);
    let scan_with = |resources: &[Resource]| {
        store
            .write(|w| {
                let scan = w.begin_scan(target, at(0, 0))?;
                let stats = w.store_resources(scan, Side::Desired, resources)?;
                Ok::<_, StoreError>((scan, stats))
            })
            .unwrap()
    };

    let (first, stats) = scan_with(&resources);
    assert_eq!(
        stats,
        StoreStats {
            resources: 5_000,
            new_versions: 5_000,
            new_snapshots: 2
        }
    );
    assert_eq!(count(&path, "resource_versions"), 5_000);
    let round_trip = store
        .read(|r| r.scan_resources(first, Side::Desired))
        .unwrap();
    assert!(
        round_trip == sorted(resources.clone()),
        "round trip differs"
    );

    // The same state again: nothing new but the scan's two pointers.
    let (second, stats) = scan_with(&resources);
    assert_eq!(
        stats,
        StoreStats {
            resources: 5_000,
            new_versions: 0,
            new_snapshots: 0
        }
    );
    assert_eq!(count(&path, "resource_versions"), 5_000);
    assert_eq!(count(&path, "snapshots"), 2);
    assert_eq!(count(&path, "scan_snapshots"), 4);
    assert!(
        store
            .read(|r| r.scan_resources(second, Side::Desired))
            .unwrap()
            == round_trip
    );

    // One attribute of one resource changed: one new version, one new snapshot
    // (for its state file only).
    let mut changed = resources.clone();
    changed[4_001].attributes = Attributes::from_value(
        &json!({"id": "sg-00004001", "name": "renamed", "tags": {"n": 4001}}),
    );
    let (third, stats) = scan_with(&changed);
    assert_eq!(
        stats,
        StoreStats {
            resources: 5_000,
            new_versions: 1,
            new_snapshots: 1
        }
    );
    assert_eq!(count(&path, "resource_versions"), 5_001);
    assert!(
        store
            .read(|r| r.scan_resources(third, Side::Desired))
            .unwrap()
            == sorted(changed)
    );
    // The earlier scans still see what they saw.
    assert!(
        store
            .read(|r| r.scan_resources(first, Side::Desired))
            .unwrap()
            == round_trip
    );
}

#[test]
fn the_origin_belongs_to_the_scan_not_to_the_version() {
    let store = Store::open_in_memory().unwrap();
    let target = store.write(|w| w.upsert_target("net", "prod")).unwrap();
    let vpc = json!({"id": "vpc-1", "cidr_block": "10.0.0.0/16"});
    let from_a = vec![resource(
        "file:///a.tfstate",
        "aws_vpc",
        "vpc-1",
        vpc.clone(),
    )];
    let from_b = vec![resource("file:///b.tfstate", "aws_vpc", "vpc-1", vpc)];

    let (one, two, stats_one, stats_two) = store
        .write(|w| {
            let one = w.begin_scan(target, at(0, 0))?;
            let stats_one = w.store_resources(one, Side::Desired, &from_a)?;
            let two = w.begin_scan(target, at(1, 0))?;
            let stats_two = w.store_resources(two, Side::Desired, &from_b)?;
            Ok::<_, StoreError>((one, two, stats_one, stats_two))
        })
        .unwrap();
    assert_eq!(stats_one.new_versions, 1);
    assert_eq!(
        stats_two.new_versions, 0,
        "the origin is not part of the content"
    );
    assert_eq!(stats_two.new_snapshots, 0, "nor of the snapshot");
    assert_eq!(
        store
            .read(|r| r.scan_resources(one, Side::Desired))
            .unwrap(),
        from_a
    );
    assert_eq!(
        store
            .read(|r| r.scan_resources(two, Side::Desired))
            .unwrap(),
        from_b
    );
}

#[test]
fn sides_are_kept_apart_and_repeated_calls_add_up() {
    let store = Store::open_in_memory().unwrap();
    let target = store.write(|w| w.upsert_target("net", "prod")).unwrap();
    let resources = fleet(20);
    let live = vec![resource(
        "aws:123456789012:eu-west-1",
        "aws_instance",
        "i-1",
        json!({"id": "i-1"}),
    )];
    let scan = store
        .write(|w| {
            let scan = w.begin_scan(target, at(0, 0))?;
            // A source may hand over its resources in pieces.
            w.store_resources(scan, Side::Desired, &resources[..7])?;
            w.store_resources(scan, Side::Desired, &resources[7..])?;
            w.store_resources(scan, Side::Live, &live)?;
            Ok::<_, StoreError>(scan)
        })
        .unwrap();
    assert!(
        store
            .read(|r| r.scan_resources(scan, Side::Desired))
            .unwrap()
            == sorted(resources.clone())
    );
    assert_eq!(
        store.read(|r| r.scan_resources(scan, Side::Live)).unwrap(),
        live
    );

    // The pieces form the same snapshots as one call would.
    let stats = store
        .write(|w| {
            let scan = w.begin_scan(target, at(1, 0))?;
            w.store_resources(scan, Side::Desired, &resources)
        })
        .unwrap();
    assert_eq!(stats.new_snapshots, 0);
}

#[test]
fn every_field_of_a_resource_survives_the_round_trip() {
    let store = Store::open_in_memory().unwrap();
    let target = store.write(|w| w.upsert_target("net", "prod")).unwrap();
    let mut full = resource("s3://b/k", "aws_db_instance", "db-1", json!({}));
    full.address = Address {
        module: Some("module.data[\"eu\"]".into()),
        mode: Mode::Managed,
        resource_type: "aws_db_instance".into(),
        name: "main".into(),
        index: Some(IndexKey::Int(0)),
    };
    std::sync::Arc::make_mut(&mut full.provider).alias = Some("west".into());
    std::sync::Arc::make_mut(&mut full.provider).module = Some("module.data".into());
    full.status = InstanceStatus::Tainted;
    full.deposed = Some("00000001".into());
    full.schema_version = u64::MAX;
    // Attribute text is kept byte for byte, key order and unicode included.
    full.attributes = Attributes::from_raw(
        serde_json::value::RawValue::from_string(
            r#"{"password":"hmac-sha256:3f9a","name":"é\u00e9","b":1.50,"a":[null,true]}"#.into(),
        )
        .unwrap(),
    );
    full.sensitive_paths = vec![
        AttrPath(vec![PathStep::Attr("password".into())]),
        AttrPath(vec![
            PathStep::Attr("settings".into()),
            PathStep::Index(0),
            PathStep::Key("k".into()),
        ]),
    ];
    full.dependencies = vec!["aws_subnet.a".into(), "module.net.aws_vpc.main".into()];
    full.aliases = Aliases {
        arn: Some("arn:aws:rds:eu-west-1:123456789012:db:main".into()),
        name: Some("main".into()),
    };
    full.references = vec![Reference {
        attribute: "vpc_id".into(),
        value: "vpc-1".into(),
    }];
    let mut data = resource("s3://b/k", "aws_ami", "ami-1", json!({"id": "ami-1"}));
    data.address.mode = Mode::Data;

    let stored = vec![full, data];
    let scan = store
        .write(|w| {
            let scan = w.begin_scan(target, at(0, 0))?;
            w.store_resources(scan, Side::Desired, &stored)?;
            Ok::<_, StoreError>(scan)
        })
        .unwrap();
    let back = store
        .read(|r| r.scan_resources(scan, Side::Desired))
        .unwrap();
    assert_eq!(back, sorted(stored.clone()));
    let password = back.iter().find(|r| r.key.id == "db-1").unwrap();
    assert_eq!(password.attributes.as_str(), stored[0].attributes.as_str());
}

#[test]
fn every_resource_the_state_reader_produces_round_trips() {
    let root = crate::support::corpus_dir().join("terraform-state");
    let key = driftd::secrets::SecretKey::from_bytes([9; 32]);
    let mut files = vec![root];
    let mut resources = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let origin = Origin::from(path.display().to_string());
        // Files the reader rejects are its tests' business.
        if let Ok(state) = driftd::state::parse_state(&std::fs::read(&path).unwrap(), &origin, &key)
        {
            resources.extend(state.resources);
        }
    }
    assert!(
        resources.len() > 500,
        "only {} resources in the corpus",
        resources.len()
    );

    let store = Store::open_in_memory().unwrap();
    let target = store.write(|w| w.upsert_target("corpus", "test")).unwrap();
    let store_all = || {
        store
            .write(|w| {
                let scan = w.begin_scan(target, at(0, 0))?;
                let stats = w.store_resources(scan, Side::Desired, &resources)?;
                Ok::<_, StoreError>((scan, stats))
            })
            .unwrap()
    };
    let (first, stats) = store_all();
    assert_eq!(stats.resources, resources.len());
    let back = store
        .read(|r| r.scan_resources(first, Side::Desired))
        .unwrap();
    let expected = sorted(resources.clone());
    for (got, want) in back.iter().zip(&expected) {
        assert_eq!(got, want, "{} from {}", want.address, want.origin);
    }
    assert_eq!(back.len(), expected.len());

    let (_, again) = store_all();
    assert_eq!((again.new_versions, again.new_snapshots), (0, 0));
}

#[test]
fn resources_a_version_1_store_held_read_back_the_same_after_the_upgrade() {
    use sha2::{Digest, Sha256};
    let (dir, _) = temp_db();
    let path = dir.path().join("v1.db");
    let mut conn = Connection::open(&path).unwrap();
    migrate_to(&mut conn, 1).unwrap();
    // Two resources as driftd 1 stored them: text content, one member row each.
    let resources = sorted(
        fleet(4)
            .into_iter()
            .filter(|r| &*r.origin == "s3://states/a.tfstate")
            .collect(),
    );
    let encoded: Vec<EncodedResource> = resources.iter().map(EncodedResource::new).collect();
    let mut members: Vec<[u8; 32]> = encoded.iter().map(|e| e.hash()).collect();
    members.sort();
    let snapshot: [u8; 32] = Sha256::digest(members.concat()).into();
    conn.execute(
        "INSERT INTO targets (id, name, environment) VALUES (1, 'old', 'prod')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO scans (id, target_id, started_at, ended_at, status)
         VALUES (7, 1, '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:01:00.000000000Z', 'complete')",
        [],
    )
    .unwrap();
    for (e, r) in encoded.iter().zip(&resources) {
        conn.execute(
            "INSERT INTO resource_versions VALUES (?1, 'aws', 'aws_security_group', ?2, ?3, ?4)",
            rusqlite::params![&e.hash()[..], r.key.id, r.address.to_string(), e.content()],
        )
        .unwrap();
    }
    conn.execute("INSERT INTO snapshots VALUES (?1, 2)", [&snapshot[..]])
        .unwrap();
    for (position, member) in members.iter().enumerate() {
        conn.execute(
            "INSERT INTO snapshot_members VALUES (?1, ?2, ?3)",
            rusqlite::params![&snapshot[..], position as i64, &member[..]],
        )
        .unwrap();
    }
    let origin = resources[0].origin.to_string();
    conn.execute(
        "INSERT INTO scan_snapshots VALUES (7, 'desired', ?1, ?2)",
        rusqlite::params![origin, &snapshot[..]],
    )
    .unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    let back = store
        .read(|r| r.scan_resources(driftd::store::ScanId(7), Side::Desired))
        .unwrap();
    assert_eq!(back, resources);
    // Hashes did not change: the same resources again are no new version or snapshot.
    let stats = store
        .write(|w| {
            let scan = w.begin_scan(driftd::store::TargetId(1), at(0, 0))?;
            w.store_resources(scan, Side::Desired, &resources)
        })
        .unwrap();
    assert_eq!((stats.new_versions, stats.new_snapshots), (0, 0));
}
