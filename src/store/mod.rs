//! The store: driftd's SQLite database of targets, scans and what each scan saw.
//!
//! One writer connection and one reader connection (WAL lets the reader see
//! the last commit while the writer works). All access goes through
//! [`Store::read`] and [`Store::write`], whose closures get a [`Reader`] or
//! [`Writer`]: those methods are the whole storage surface, so a PostgreSQL
//! store can replace this one later without touching its callers. No SQL
//! lives outside this module.
//!
//! The API is synchronous; the daemon calls it from a blocking thread
//! (`spawn_blocking` or a dedicated one). [`Store`] is `Send + Sync`.
//!
//! What a scan saw is stored content-addressed, twice over: a resource
//! version (one resource's content, without its origin) is stored once, and
//! so is a snapshot (the set of versions one origin held). A scan points to
//! one snapshot per side and origin, so a scan of an unchanged target adds a
//! handful of rows, not one per resource. Snapshots are stored as
//! delta-encoded lists of version ids, most as a small difference from a key
//! snapshot of the same origin, and contents are zstd-compressed; retention
//! (`retention.rs`) removes old scans and whatever nothing points to any
//! more. See `schema/0001_initial.sql` and `schema/0003_compact_store.sql`.
//!
//! The store only ever receives attributes whose sensitive values are already
//! keyed hashes, and it logs no attribute content.

mod attribution;
mod cache;
mod content;
mod daemon;
mod dao;
mod findings;
mod history;
mod members;
mod migrate;
mod notify;
mod report;
mod retention;
mod stats;

pub use attribution::{
    AttributionCandidate, AttributionRow, AttributionStatus, Fetch, FetchedSpan,
};
pub use content::EncodedResource;
pub use daemon::OpenByTierKind;
pub use dao::{Reader, Writer};
pub use findings::{AuditBreak, AuditCheck, AuditEntry, AuditRecord, FindingFilter, FindingLookup};
pub use history::{ScanDay, ScanSummary};
pub use migrate::{MigrateError, SCHEMA_VERSION, migrate_to, schema_version};
pub use notify::{
    DeliveryRow, DeliveryState, NewDelivery, NewNotifyEvent, NotifyEventRow, NotifyKind,
    OutboxCounts, OutboxFilter,
};
pub use report::{AuditFilter, FindingRow, OpenCounts, VersionSeen};
pub use retention::{PruneStats, RetentionPolicy};
pub use stats::{StoreSizes, TableRows, TargetScans};

use crate::diag::Diagnostic;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes the WAL file is trimmed to after a checkpoint.
const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// Room for every statement the DAO prepares, so none is re-prepared.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// The row id of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(pub i64);

/// The row id of a scan; ids grow with time within one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScanId(pub i64);

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for ScanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A target as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    pub id: TargetId,
    pub name: String,
    pub environment: String,
}

/// Which picture of the world resources belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// What Terraform state says exists.
    Desired,
    /// What the cloud APIs say exists.
    Live,
}

impl Side {
    pub(crate) fn as_sql(self) -> &'static str {
        match self {
            Side::Desired => "desired",
            Side::Live => "live",
        }
    }
}

/// How a finished scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanStatus {
    /// Every source and every lister completed.
    Complete,
    /// Some listers or sources failed: their resource types are unknown for this scan.
    Partial,
    /// Nothing usable came out of the scan.
    Failed,
}

impl ScanStatus {
    pub(crate) fn as_sql(self) -> &'static str {
        match self {
            ScanStatus::Complete => "complete",
            ScanStatus::Partial => "partial",
            ScanStatus::Failed => "failed",
        }
    }
}

/// Where a scan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanState {
    Running,
    Finished {
        ended_at: DateTime<Utc>,
        status: ScanStatus,
    },
}

/// What [`Writer::finish_scan`] records.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOutcome {
    pub ended_at: DateTime<Utc>,
    pub status: ScanStatus,
    /// Per source (its origin label), the version that was read: enough for the
    /// next scan to tell that the source has not changed and skip reading it.
    pub source_versions: Vec<(String, serde_json::Value)>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A scan as the store knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRow {
    pub id: ScanId,
    pub target: TargetId,
    pub started_at: DateTime<Utc>,
    pub state: ScanState,
    /// Empty while the scan runs.
    pub source_versions: Vec<(String, serde_json::Value)>,
    /// Empty while the scan runs.
    pub diagnostics: Vec<Diagnostic>,
}

impl ScanRow {
    /// How the scan ended, `None` while it runs.
    pub fn status(&self) -> Option<ScanStatus> {
        match self.state {
            ScanState::Running => None,
            ScanState::Finished { status, .. } => Some(status),
        }
    }

    /// When the scan ended, `None` while it runs.
    pub fn ended_at(&self) -> Option<DateTime<Utc>> {
        match self.state {
            ScanState::Running => None,
            ScanState::Finished { ended_at, .. } => Some(ended_at),
        }
    }
}

/// What one [`Writer::store_resources`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Resources received.
    pub resources: usize,
    /// Resource versions stored for the first time (the rest were already there).
    pub new_versions: usize,
    /// Snapshots stored for the first time: 0 when every origin held exactly
    /// what it held in an earlier scan.
    pub new_snapshots: usize,
}

/// Why the store could not do what was asked. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the store directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the store file {}: {source}", path.display())]
    CreateFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the store {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{} is not a SQLite database; driftd did not change it: point `[store] path` at \
         another file, or move this one aside to start an empty store",
        path.display()
    )]
    NotADatabase { path: PathBuf },
    #[error(
        "{} is a SQLite database but not a driftd store; driftd did not change it: \
         point `[store] path` at another file",
        path.display()
    )]
    Foreign { path: PathBuf },
    #[error(
        "the store {} has schema version {found}, newer than the {supported} this driftd \
         supports (it was written by a newer driftd); driftd did not change the file: \
         upgrade driftd",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("cannot upgrade the store {}: {source}; the upgrade was rolled back", path.display())]
    Migrate { path: PathBuf, source: MigrateError },
    #[error("the store {} stays in journal mode {mode:?}: driftd needs WAL (is it on a network filesystem?)", path.display())]
    NoWal { path: PathBuf, mode: String },
    #[error("there is no target {0} in the store")]
    UnknownTarget(TargetId),
    #[error("there is no scan {0} in the store")]
    UnknownScan(ScanId),
    #[error("scan {0} has already finished: its record cannot change")]
    ScanFinished(ScanId),
    #[error("the store holds an unreadable {what}: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("store query failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The database. Cheap to share behind an `Arc`; every call locks one connection.
pub struct Store {
    /// The database file, `None` in memory.
    path: Option<PathBuf>,
    writer: Mutex<Connection>,
    /// `None` in memory, where a second connection would see a different database.
    reader: Option<Mutex<Connection>>,
    /// Each origin's last snapshot, so a scan need not look up every member.
    cache: cache::SnapshotCache,
    /// Per target, the scan id below which the last prune left nothing to do.
    pruned_below: Mutex<std::collections::HashMap<TargetId, i64>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `path`, creating it (and its directory, 0700) if
    /// missing, and upgrading its schema if an older driftd wrote it.
    ///
    /// A new file is created with mode 0600. A file that is not a driftd store,
    /// or that a newer driftd wrote, is refused before anything is written to it.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        create_parent_dir(&path)?;
        create_file(&path)?;
        let open_err = |source| open_error(&path, source);

        let mut writer = connect(&path).map_err(open_err)?;
        check_identity(&writer, &path)?;
        // From here on the file is known to be ours and not too new: changing it is fine.
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal { path, mode });
        }
        writer
            .pragma_update(None, "synchronous", "normal")
            .map_err(open_err)?;
        // A large transaction (the first scan of 100,000 resources) grows the
        // WAL to hundreds of megabytes; without a limit it keeps that size
        // for good. With one, the next checkpoint that restarts it trims it.
        writer
            .pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
            .map_err(open_err)?;
        upgrade(&mut writer, &path)?;

        let reader = connect(&path).map_err(open_err)?;
        reader
            .pragma_update(None, "synchronous", "normal")
            .map_err(open_err)?;
        // The reader never writes; make a slip an error instead of a second writer.
        reader
            .pragma_update(None, "query_only", true)
            .map_err(open_err)?;

        Ok(Store {
            path: Some(path),
            writer: Mutex::new(writer),
            reader: Some(Mutex::new(reader)),
            cache: cache::SnapshotCache::default(),
            pruned_below: Mutex::default(),
        })
    }

    /// A fresh store in memory, for tests and dry runs. Reads and writes share one connection.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let open_err = |source| open_error(&path, source);
        let mut conn = Connection::open_in_memory().map_err(open_err)?;
        configure(&conn).map_err(open_err)?;
        upgrade(&mut conn, &path)?;
        Ok(Store {
            path: None,
            writer: Mutex::new(conn),
            reader: None,
            cache: cache::SnapshotCache::default(),
            pruned_below: Mutex::default(),
        })
    }

    /// The database file, `None` for a store in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` on a consistent snapshot of the last committed state.
    ///
    /// Do not call `read` or `write` from inside `f`: in memory that deadlocks,
    /// and on disk the inner call would not see the outer one's view.
    pub fn read<T, E>(&self, f: impl FnOnce(&Reader<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = lock(self.reader.as_ref().unwrap_or(&self.writer));
        // A transaction, so that several queries in `f` see one snapshot.
        // It changes nothing and is rolled back when dropped.
        let tx = conn.transaction().map_err(StoreError::from)?;
        f(&Reader::new(&tx))
    }

    /// Runs `f` in one write transaction that commits only if `f` returns `Ok`;
    /// on `Err` (or a panic) everything `f` did is rolled back.
    ///
    /// Do not call `read` or `write` from inside `f` (see [`Store::read`]).
    pub fn write<T, E>(&self, f: impl FnOnce(&Writer<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = lock(&self.writer);
        // IMMEDIATE takes the write lock now: a deferred transaction that
        // read first could fail to upgrade its lock instead of waiting.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        // Left over from a closure that panicked.
        self.cache.discard();
        let value = f(&Writer::new(&tx, &self.cache)).inspect_err(|_| self.cache.discard())?;
        tx.commit()
            .inspect_err(|_| self.cache.discard())
            .map_err(StoreError::from)?;
        self.cache.commit();
        Ok(value)
    }
}

impl Store {
    /// Moves the write-ahead log into the database file (at a clean stop,
    /// so the file alone is the whole store).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn pruned_below(&self, target: TargetId) -> i64 {
        let map = self
            .pruned_below
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(&target).copied().unwrap_or(0)
    }

    fn set_pruned_below(&self, target: TargetId, scan: i64) {
        let mut map = self
            .pruned_below
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.insert(target, scan);
    }
}

/// A panic inside a closure rolled its transaction back while unwinding, so
/// the connection behind a poisoned lock is in a clean state.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

fn create_parent_dir(path: &Path) -> Result<(), StoreError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates the database file with mode 0600 if it does not exist, so SQLite
/// never creates it with the process umask. SQLite gives the `-wal` and
/// `-shm` files the database file's mode.
fn create_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::CreateFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    // The bundled SQLite treats names starting with `file:` as URIs; keep a
    // relative path that happens to start so a plain file name.
    let path = if path.is_relative() && path.as_os_str().as_encoded_bytes().starts_with(b"file:") {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    };
    // Without CREATE: `create_file` made the file with the right mode.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
}

/// Per-connection settings that change nothing in the file.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// Refuses, without writing anything, a file that is not a driftd store at a
/// version this binary knows. An empty file is a new store.
fn check_identity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let open_err = |source| open_error(path, source);
    let version = schema_version(conn).map_err(open_err)?;
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(open_err)?;
    if application_id != migrate::APPLICATION_ID {
        let has_objects: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master)", [], |row| {
                row.get(0)
            })
            .map_err(open_err)?;
        if application_id != 0 || version != 0 || has_objects {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
            });
        }
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

fn upgrade(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    match migrate_to(conn, SCHEMA_VERSION) {
        Ok(from) if from != SCHEMA_VERSION => {
            tracing::info!(
                store = %path.display(),
                from,
                to = SCHEMA_VERSION,
                "upgraded the store schema"
            );
            Ok(())
        }
        Ok(_) => Ok(()),
        // Another process may have upgraded the file since `check_identity`.
        Err(MigrateError::TooNew { found }) => Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        }),
        Err(source) => Err(StoreError::Migrate {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn open_error(path: &Path, source: rusqlite::Error) -> StoreError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase {
            path: path.to_path_buf(),
        },
        _ => StoreError::Open {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// The hash under which the store keeps this resource's content
/// (`resource_versions.hash`): findings point at versions by it.
pub fn version_hash(resource: &crate::model::Resource) -> [u8; 32] {
    content::encode(resource).1
}
