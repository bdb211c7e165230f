//! The storage surface: every query driftd runs, as methods on [`Reader`]
//! (inside [`Store::read`](super::Store::read)) and [`Writer`] (inside
//! [`Store::write`](super::Store::write)).

use super::content::{self, Hash};
use super::{
    ScanId, ScanOutcome, ScanRow, ScanState, ScanStatus, Side, StoreError, StoreStats, TargetId,
    TargetRow,
};
use crate::diag::{Diagnostic, Severity};
use crate::model::{Origin, Resource};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;

/// Read access, on a snapshot of the last commit.
pub struct Reader<'a> {
    pub(super) conn: &'a Connection,
}

/// Write access, inside one transaction. Everything a [`Reader`] can do, too
/// (and it sees this transaction's own writes).
pub struct Writer<'a> {
    reader: Reader<'a>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(conn: &'a Connection) -> Self {
        Reader { conn }
    }
}

impl<'a> Writer<'a> {
    pub(super) fn new(conn: &'a Connection) -> Self {
        Writer {
            reader: Reader { conn },
        }
    }
}

impl<'a> Deref for Writer<'a> {
    type Target = Reader<'a>;

    fn deref(&self) -> &Reader<'a> {
        &self.reader
    }
}

const SCAN_COLUMNS: &str =
    "id, target_id, started_at, ended_at, status, source_versions, diagnostics";

impl Reader<'_> {
    /// Every target, by name.
    pub fn targets(&self) -> Result<Vec<TargetRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, environment FROM targets ORDER BY name")?;
        let rows = stmt.query_map([], target_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The target called `name`, if the store knows it.
    pub fn target_by_name(&self, name: &str) -> Result<Option<TargetRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, environment FROM targets WHERE name = ?1")?;
        Ok(stmt.query_row([name], target_row).optional()?)
    }

    /// One scan.
    pub fn scan(&self, scan: ScanId) -> Result<Option<ScanRow>, StoreError> {
        let sql = format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let row = stmt.query_row([scan.0], RawScan::from_row).optional()?;
        row.map(RawScan::decode).transpose()
    }

    /// The target's most recent scan, running or finished.
    pub fn last_scan(&self, target: TargetId) -> Result<Option<ScanRow>, StoreError> {
        Ok(self.scans(target, 1)?.pop())
    }

    /// The target's `limit` most recent scans, newest first.
    pub fn scans(&self, target: TargetId, limit: usize) -> Result<Vec<ScanRow>, StoreError> {
        let sql = format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE target_id = ?1 ORDER BY id DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![target.0, limit], RawScan::from_row)?;
        rows.map(|row| row.map_err(StoreError::from).and_then(RawScan::decode))
            .collect()
    }

    /// The source versions recorded by the target's last complete scan, by
    /// origin: a source whose version is unchanged need not be read again.
    /// Empty when the target has no complete scan.
    pub fn latest_source_versions(
        &self,
        target: TargetId,
    ) -> Result<HashMap<String, serde_json::Value>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, source_versions FROM scans
             WHERE target_id = ?1 AND status = 'complete' ORDER BY id DESC LIMIT 1",
        )?;
        let row: Option<(i64, String)> = stmt
            .query_row([target.0], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let Some((scan, text)) = row else {
            return Ok(HashMap::new());
        };
        let versions: Vec<(String, serde_json::Value)> =
            decode_json(&text, || format!("source versions of scan {scan}"))?;
        Ok(versions.into_iter().collect())
    }

    /// The resources a scan stored for one side, origins included: equal to
    /// what was given to [`Writer::store_resources`], ordered by origin, then
    /// address, key and deposed key.
    pub fn scan_resources(&self, scan: ScanId, side: Side) -> Result<Vec<Resource>, StoreError> {
        self.scan_is_running(scan)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT ss.origin, rv.hash, rv.content
             FROM scan_snapshots ss
             JOIN snapshot_members m ON m.snapshot_hash = ss.snapshot_hash
             JOIN resource_versions rv ON rv.hash = m.version_hash
             WHERE ss.scan_id = ?1 AND ss.side = ?2
             ORDER BY ss.origin, m.position",
        )?;
        let mut rows = stmt.query(params![scan.0, side.as_sql()])?;
        let mut resources = Vec::new();
        // One shared `Arc<str>` per origin, as the sources hand them out.
        let mut origin: Option<Origin> = None;
        while let Some(row) = rows.next()? {
            let name: String = row.get(0)?;
            if origin.as_deref() != Some(name.as_str()) {
                origin = Some(Origin::from(name));
            }
            let text: String = row.get(2)?;
            let resource =
                content::decode(&text, origin.clone().expect("set above")).map_err(|e| {
                    let hash: Vec<u8> = row.get(1).unwrap_or_default();
                    StoreError::Corrupt {
                        what: format!("resource version {}", hex::encode(hash)),
                        reason: e.to_string(),
                    }
                })?;
            resources.push(resource);
        }
        // Stable: equal resources from one origin keep their hash order.
        resources.sort_by(|a, b| {
            (&a.origin, &a.address, &a.key, &a.deposed)
                .cmp(&(&b.origin, &b.address, &b.key, &b.deposed))
        });
        Ok(resources)
    }

    /// Whether the scan is still running; an error if there is no such scan.
    fn scan_is_running(&self, scan: ScanId) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status = 'running' FROM scans WHERE id = ?1")?;
        let running: Option<bool> = stmt.query_row([scan.0], |row| row.get(0)).optional()?;
        running.ok_or(StoreError::UnknownScan(scan))
    }
}

impl Writer<'_> {
    /// Records a target from the config (or updates its environment) and returns its id.
    pub fn upsert_target(&self, name: &str, environment: &str) -> Result<TargetId, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO targets (name, environment) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET environment = excluded.environment
             RETURNING id",
        )?;
        Ok(TargetId(
            stmt.query_row([name, environment], |row| row.get(0))?,
        ))
    }

    /// Starts a scan of `target`; it stays `running` until [`Writer::finish_scan`].
    pub fn begin_scan(
        &self,
        target: TargetId,
        started_at: DateTime<Utc>,
    ) -> Result<ScanId, StoreError> {
        let mut exists = self
            .conn
            .prepare_cached("SELECT 1 FROM targets WHERE id = ?1")?;
        if !exists.exists([target.0])? {
            return Err(StoreError::UnknownTarget(target));
        }
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO scans (target_id, started_at, status) VALUES (?1, ?2, 'running')
             RETURNING id",
        )?;
        Ok(ScanId(stmt.query_row(
            params![target.0, time_to_sql(started_at)],
            |row| row.get(0),
        )?))
    }

    /// Ends a running scan. A finished scan's record never changes.
    pub fn finish_scan(&self, scan: ScanId, outcome: &ScanOutcome) -> Result<(), StoreError> {
        self.require_running(scan)?;
        let source_versions = serde_json::to_string(&outcome.source_versions)
            .expect("JSON values and strings serialise");
        let diagnostics =
            serde_json::to_string(&outcome.diagnostics).expect("diagnostics serialise");
        let mut stmt = self.conn.prepare_cached(
            "UPDATE scans SET ended_at = ?2, status = ?3, source_versions = ?4, diagnostics = ?5
             WHERE id = ?1",
        )?;
        stmt.execute(params![
            scan.0,
            time_to_sql(outcome.ended_at),
            outcome.status.as_sql(),
            source_versions,
            diagnostics,
        ])?;
        Ok(())
    }

    /// Records the resources a running scan read for one side.
    ///
    /// Each resource's content (everything but its origin) is stored once
    /// across all scans; the resources of each origin form a snapshot, also
    /// stored once; the scan points to one snapshot per origin. Calling this
    /// again for the same scan and side adds to what it holds.
    pub fn store_resources(
        &self,
        scan: ScanId,
        side: Side,
        resources: &[Resource],
    ) -> Result<StoreStats, StoreError> {
        self.require_running(scan)?;
        let encoded: Vec<(String, Hash)> = resources.iter().map(content::encode).collect();
        let mut by_origin: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, resource) in resources.iter().enumerate() {
            by_origin.entry(&resource.origin).or_default().push(i);
        }

        let mut stats = StoreStats {
            resources: resources.len(),
            ..StoreStats::default()
        };
        let mut current = self.conn.prepare_cached(
            "SELECT snapshot_hash FROM scan_snapshots
             WHERE scan_id = ?1 AND side = ?2 AND origin = ?3",
        )?;
        let mut insert_snapshot = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO snapshots (hash, resources) VALUES (?1, ?2)")?;
        let mut insert_version = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO resource_versions
             (hash, provider, resource_type, resource_id, address, content)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut insert_member = self.conn.prepare_cached(
            "INSERT INTO snapshot_members (snapshot_hash, position, version_hash)
             VALUES (?1, ?2, ?3)",
        )?;
        let mut point = self.conn.prepare_cached(
            "INSERT INTO scan_snapshots (scan_id, side, origin, snapshot_hash)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scan_id, side, origin) DO UPDATE SET snapshot_hash = excluded.snapshot_hash",
        )?;

        for (origin, indexes) in by_origin {
            let mut members: Vec<Hash> = indexes.iter().map(|&i| encoded[i].1).collect();
            let earlier: Option<Vec<u8>> = current
                .query_row(params![scan.0, side.as_sql(), origin], |row| row.get(0))
                .optional()?;
            if let Some(earlier) = earlier {
                members.extend(self.snapshot_members(&earlier)?);
            }
            members.sort_unstable();
            let snapshot = content::snapshot_hash(&members);
            let count = i64::try_from(members.len()).expect("fewer than 2^63 resources");
            if insert_snapshot.execute(params![snapshot, count])? == 1 {
                stats.new_snapshots += 1;
                // Versions first: members refer to them. Versions carried over
                // from an earlier call are stored already.
                for &i in &indexes {
                    let (text, hash) = &encoded[i];
                    let resource = &resources[i];
                    stats.new_versions += insert_version.execute(params![
                        hash,
                        resource.key.provider,
                        resource.key.resource_type,
                        resource.key.id,
                        resource.address.to_string(),
                        text,
                    ])?;
                }
                for (position, member) in members.iter().enumerate() {
                    let position = i64::try_from(position).expect("fewer than 2^63 resources");
                    insert_member.execute(params![snapshot, position, member])?;
                }
            }
            point.execute(params![scan.0, side.as_sql(), origin, snapshot])?;
        }
        Ok(stats)
    }

    fn require_running(&self, scan: ScanId) -> Result<(), StoreError> {
        match self.scan_is_running(scan)? {
            true => Ok(()),
            false => Err(StoreError::ScanFinished(scan)),
        }
    }

    fn snapshot_members(&self, snapshot: &[u8]) -> Result<Vec<Hash>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT version_hash FROM snapshot_members WHERE snapshot_hash = ?1 ORDER BY position",
        )?;
        let rows = stmt.query_map([snapshot], |row| row.get::<_, [u8; 32]>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn target_row(row: &Row<'_>) -> rusqlite::Result<TargetRow> {
    Ok(TargetRow {
        id: TargetId(row.get(0)?),
        name: row.get(1)?,
        environment: row.get(2)?,
    })
}

/// A `scans` row as SQLite returns it, before its text columns are parsed.
struct RawScan {
    id: i64,
    target_id: i64,
    started_at: String,
    ended_at: Option<String>,
    status: String,
    source_versions: String,
    diagnostics: String,
}

impl RawScan {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawScan> {
        Ok(RawScan {
            id: row.get(0)?,
            target_id: row.get(1)?,
            started_at: row.get(2)?,
            ended_at: row.get(3)?,
            status: row.get(4)?,
            source_versions: row.get(5)?,
            diagnostics: row.get(6)?,
        })
    }

    fn decode(self) -> Result<ScanRow, StoreError> {
        let id = ScanId(self.id);
        let state = match (self.status.as_str(), self.ended_at) {
            ("running", _) => ScanState::Running,
            (status, Some(ended_at)) => ScanState::Finished {
                ended_at: time_from_sql(&ended_at, id)?,
                status: status_from_sql(status, id)?,
            },
            // The schema's CHECK rules this out.
            (_, None) => {
                return Err(StoreError::Corrupt {
                    what: format!("scan {id}"),
                    reason: "finished without an end time".into(),
                });
            }
        };
        let diagnostics: Vec<StoredDiagnostic> =
            decode_json(&self.diagnostics, || format!("diagnostics of scan {id}"))?;
        Ok(ScanRow {
            id,
            target: TargetId(self.target_id),
            started_at: time_from_sql(&self.started_at, id)?,
            state,
            source_versions: decode_json(&self.source_versions, || {
                format!("source versions of scan {id}")
            })?,
            diagnostics: diagnostics.into_iter().map(Diagnostic::from).collect(),
        })
    }
}

/// `Diagnostic` as `finish_scan` wrote it (its `Serialize` shape).
#[derive(Deserialize)]
struct StoredDiagnostic {
    severity: StoredSeverity,
    subject: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum StoredSeverity {
    Warning,
    Error,
}

impl From<StoredDiagnostic> for Diagnostic {
    fn from(d: StoredDiagnostic) -> Diagnostic {
        let severity = match d.severity {
            StoredSeverity::Warning => Severity::Warning,
            StoredSeverity::Error => Severity::Error,
        };
        Diagnostic {
            severity,
            subject: d.subject,
            message: d.message,
        }
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what(),
        reason: e.to_string(),
    })
}

fn status_from_sql(text: &str, scan: ScanId) -> Result<ScanStatus, StoreError> {
    match text {
        "complete" => Ok(ScanStatus::Complete),
        "partial" => Ok(ScanStatus::Partial),
        "failed" => Ok(ScanStatus::Failed),
        other => Err(StoreError::Corrupt {
            what: format!("status of scan {scan}"),
            reason: format!("unknown status {other:?}"),
        }),
    }
}

/// Fixed-width UTC with nanoseconds: exact round trip, and text order is time order.
pub(super) fn time_to_sql(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn time_from_sql(text: &str, scan: ScanId) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what: format!("time {text:?} of scan {scan}"),
            reason: e.to_string(),
        })
}
