//! Schema versions and the upgrade from any older one.
//!
//! The version is `PRAGMA user_version`; version `n` is reached by applying
//! `schema/000n_*.sql` (or Rust code, where a step needs it) to version
//! `n - 1`. All pending steps run in one transaction that also sets
//! `user_version`, so an interrupted upgrade leaves the old version intact.

use super::content::Packer;
use super::members;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// The schema version this binary writes and understands.
pub const SCHEMA_VERSION: u32 = 6;

/// Marks the file as a driftd store (`PRAGMA application_id`, "drft"), so a
/// stranger's SQLite database is refused instead of being written into.
pub(crate) const APPLICATION_ID: i32 = 0x6472_6674;

/// Why an upgrade could not run. `Store::open` adds the file name.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("schema version {found} is newer than the {SCHEMA_VERSION} this driftd knows")]
    TooNew { found: u32 },
    #[error("cannot migrate from schema version {found} to {target}")]
    BadTarget { found: u32, target: u32 },
    #[error("the step to schema version {version} failed: {source}")]
    Step {
        version: u32,
        source: rusqlite::Error,
    },
    #[error("the upgrade would leave a row of {table} pointing at nothing")]
    ForeignKey { table: String },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Reads `PRAGMA user_version`.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings `conn` from its current version up to `target`, in one transaction.
/// Returns the version it started from. `Store::open` calls it with
/// [`SCHEMA_VERSION`]; tests call it with older versions to build the
/// databases an older driftd left behind.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, MigrateError> {
    // Steps that rebuild a table (create, copy, drop, rename) need foreign
    // keys off, which cannot change inside a transaction; they are checked
    // as a whole before the commit instead.
    let foreign_keys: bool = conn.pragma_query_value(None, "foreign_keys", |row| row.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = migrate_without_foreign_keys(conn, target);
    conn.pragma_update(None, "foreign_keys", foreign_keys)?;
    result
}

fn migrate_without_foreign_keys(conn: &mut Connection, target: u32) -> Result<u32, MigrateError> {
    // IMMEDIATE takes the write lock before reading the version, so two
    // processes opening one file cannot both run the same step.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = schema_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(MigrateError::TooNew { found });
    }
    if target > SCHEMA_VERSION || target < found {
        return Err(MigrateError::BadTarget { found, target });
    }
    for version in found + 1..=target {
        upgrade_to(&tx, version).map_err(|source| MigrateError::Step { version, source })?;
    }
    if target != found {
        let violation: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
            .optional()?;
        if let Some(table) = violation {
            return Err(MigrateError::ForeignKey { table });
        }
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
    }
    Ok(found)
}

/// One arm per version: what turns version `version - 1` into `version`.
fn upgrade_to(conn: &Connection, version: u32) -> rusqlite::Result<()> {
    match version {
        1 => {
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
            conn.execute_batch(include_str!("../../schema/0001_initial.sql"))
        }
        2 => conn.execute_batch(include_str!("../../schema/0002_findings.sql")),
        3 => {
            let (create, rename) =
                split_at_copy(include_str!("../../schema/0003_compact_store.sql"));
            conn.execute_batch(create)?;
            copy_to_compact_store(conn)?;
            conn.execute_batch(rename)
        }
        4 => conn.execute_batch(include_str!("../../schema/0004_attribution.sql")),
        5 => conn.execute_batch(include_str!("../../schema/0005_notify.sql")),
        6 => conn.execute_batch(include_str!("../../schema/0006_report.sql")),
        _ => unreachable!("migrate_to checked {version} <= SCHEMA_VERSION"),
    }
}

/// The marker line in a step that copies rows in Rust between two parts of SQL.
const COPY_MARKER: &str = "-- driftd: rows are copied here --";

fn split_at_copy(sql: &'static str) -> (&'static str, &'static str) {
    sql.split_once(COPY_MARKER)
        .expect("the step's SQL has the copy marker line")
}

/// Version 3: resource contents compressed under stable ids, and each
/// snapshot's member rows turned into one blob (a key snapshot: the whole
/// list). Snapshot and version hashes do not change.
fn copy_to_compact_store(conn: &Connection) -> rusqlite::Result<()> {
    let mut packer = Packer::new();
    {
        let mut read = conn.prepare(
            "SELECT rowid, hash, provider, resource_type, resource_id, address, content
             FROM resource_versions ORDER BY rowid",
        )?;
        let mut write = conn.prepare(
            "INSERT INTO resource_versions_v3
             (id, hash, provider, resource_type, resource_id, address, content)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let content: String = row.get(6)?;
            write.execute(params![
                row.get::<_, i64>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                packer.pack(&content),
            ])?;
        }
    }
    let mut snapshots = conn.prepare("SELECT hash, resources FROM snapshots ORDER BY hash")?;
    let mut members = conn.prepare(
        "SELECT v.id FROM snapshot_members m JOIN resource_versions_v3 v ON v.hash = m.version_hash
         WHERE m.snapshot_hash = ?1",
    )?;
    let mut write = conn.prepare(
        "INSERT INTO snapshots_v3 (hash, resources, base_id, members) VALUES (?1, ?2, NULL, ?3)",
    )?;
    let mut rows = snapshots.query([])?;
    while let Some(row) = rows.next()? {
        let hash: Vec<u8> = row.get(0)?;
        let resources: i64 = row.get(1)?;
        let mut ids: Vec<i64> = members
            .query_map([&hash], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        write.execute(params![hash, resources, members::encode_full(&ids)])?;
    }
    conn.execute_batch(
        "INSERT INTO scan_snapshots_v3 (scan_id, side, origin, snapshot_id)
         SELECT ss.scan_id, ss.side, ss.origin, s.id
         FROM scan_snapshots ss JOIN snapshots_v3 s ON s.hash = ss.snapshot_hash",
    )?;
    // A version 1 database could not hold a member without its version (its
    // foreign keys), so nothing was lost; check it all the same.
    let lost: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM snapshot_members m
             WHERE NOT EXISTS (SELECT 1 FROM resource_versions_v3 v WHERE v.hash = m.version_hash)
             LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if lost.is_some() {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some("a snapshot member names a resource version that is missing".into()),
        ));
    }
    Ok(())
}
