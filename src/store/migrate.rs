//! Schema versions and the upgrade from any older one.
//!
//! The version is `PRAGMA user_version`; version `n` is reached by applying
//! `schema/000n_*.sql` (or Rust code, where a step needs it) to version
//! `n - 1`. All pending steps run in one transaction that also sets
//! `user_version`, so an interrupted upgrade leaves the old version intact.

use rusqlite::{Connection, TransactionBehavior};

/// The schema version this binary writes and understands.
pub const SCHEMA_VERSION: u32 = 2;

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
        _ => unreachable!("migrate_to checked {version} <= SCHEMA_VERSION"),
    }
}
