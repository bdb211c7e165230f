//! The storage surface: every query driftd runs, as methods on [`Reader`]
//! (inside [`Store::read`](super::Store::read)) and [`Writer`] (inside
//! [`Store::write`](super::Store::write)).

use super::cache::{CachedSnapshot, SnapshotCache};
use super::content::{self, EncodedResource, Hash, Packer, Unpacker};
use super::members;
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
use std::sync::Arc;

/// Read access, on a snapshot of the last commit.
pub struct Reader<'a> {
    pub(super) conn: &'a Connection,
}

/// Write access, inside one transaction. Everything a [`Reader`] can do, too
/// (and it sees this transaction's own writes).
pub struct Writer<'a> {
    reader: Reader<'a>,
    /// Recent snapshots per origin; what this transaction adds is staged
    /// and kept only once it commits.
    cache: &'a SnapshotCache,
}

impl<'a> Reader<'a> {
    pub(super) fn new(conn: &'a Connection) -> Self {
        Reader { conn }
    }
}

impl<'a> Writer<'a> {
    pub(super) fn new(conn: &'a Connection, cache: &'a SnapshotCache) -> Self {
        Writer {
            reader: Reader { conn },
            cache,
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
    /// address, key and deposed key (then content hash). Empty for an old scan
    /// whose snapshots retention removed.
    pub fn scan_resources(&self, scan: ScanId, side: Side) -> Result<Vec<Resource>, StoreError> {
        self.scan_is_running(scan)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT origin, snapshot_id FROM scan_snapshots
             WHERE scan_id = ?1 AND side = ?2 ORDER BY origin",
        )?;
        let pointers: Vec<(String, i64)> = stmt
            .query_map(params![scan.0, side.as_sql()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut version = self
            .conn
            .prepare_cached("SELECT hash, content FROM resource_versions WHERE id = ?1")?;
        let mut unpacker = Unpacker::new();
        let mut resources: Vec<(Hash, Resource)> = Vec::new();
        for (name, snapshot) in pointers {
            // One shared `Arc<str>` per origin, as the sources hand them out.
            let origin = Origin::from(name);
            let ids = self.snapshot_ids(snapshot)?;
            // Repeated ids (equal contents) are adjacent: each is read once.
            let mut previous: Option<(i64, usize)> = None;
            for id in ids {
                if let Some((last, index)) = previous
                    && last == id
                {
                    let again = resources[index].clone();
                    resources.push(again);
                    continue;
                }
                let (hash, packed): (Hash, Vec<u8>) = version
                    .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?
                    .ok_or_else(|| StoreError::Corrupt {
                        what: format!("snapshot {snapshot}"),
                        reason: format!("it holds resource version {id}, which is missing"),
                    })?;
                let corrupt = |reason: String| StoreError::Corrupt {
                    what: format!("resource version {}", hex::encode(hash)),
                    reason,
                };
                let text = unpacker.unpack(&packed).map_err(corrupt)?;
                let resource =
                    content::decode(&text, origin.clone()).map_err(|e| corrupt(e.to_string()))?;
                previous = Some((id, resources.len()));
                resources.push((hash, resource));
            }
        }
        resources.sort_by(|(ha, a), (hb, b)| {
            (&a.origin, &a.address, &a.key, &a.deposed, ha)
                .cmp(&(&b.origin, &b.address, &b.key, &b.deposed, hb))
        });
        Ok(resources.into_iter().map(|(_, r)| r).collect())
    }

    /// The member ids of a snapshot, ascending, its base applied.
    pub(super) fn snapshot_ids(&self, snapshot: i64) -> Result<Vec<i64>, StoreError> {
        let (base, blob) = self.snapshot_row(snapshot)?;
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!("snapshot {snapshot}"),
            reason,
        };
        match base {
            None => members::decode_full(&blob).map_err(corrupt),
            Some(base) => {
                let (None, base_blob) = self.snapshot_row(base)? else {
                    return Err(corrupt(format!("its base {base} is not a key snapshot")));
                };
                let base_ids = members::decode_full(&base_blob).map_err(corrupt)?;
                members::decode_diff(&base_ids, &blob).map_err(corrupt)
            }
        }
    }

    /// A snapshot's base and members blob.
    fn snapshot_row(&self, snapshot: i64) -> Result<(Option<i64>, Vec<u8>), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT base_id, members FROM snapshots WHERE id = ?1")?;
        stmt.query_row([snapshot], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt {
                what: format!("snapshot {snapshot}"),
                reason: "it is missing".into(),
            })
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
        self.count_scan_day(scan, outcome.ended_at, outcome.status.as_sql())?;
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
        let encoded: Vec<EncodedResource> = resources.iter().map(EncodedResource::new).collect();
        self.store_encoded(scan, side, &encoded)
    }

    /// [`Writer::store_resources`] for resources encoded beforehand.
    pub fn store_encoded(
        &self,
        scan: ScanId,
        side: Side,
        resources: &[EncodedResource],
    ) -> Result<StoreStats, StoreError> {
        self.require_running(scan)?;
        // Resources come in runs from one source sharing one `Arc<str>`: a
        // pointer comparison groups most of them, the map the few runs.
        let mut runs: Vec<(&Origin, Vec<&EncodedResource>)> = Vec::new();
        for resource in resources {
            match runs.last_mut() {
                Some((origin, run)) if Arc::ptr_eq(origin, &resource.origin) => run.push(resource),
                _ => runs.push((&resource.origin, vec![resource])),
            }
        }
        let mut by_origin: BTreeMap<&str, Vec<&EncodedResource>> = BTreeMap::new();
        for (origin, run) in runs {
            by_origin.entry(origin).or_default().extend(run);
        }
        let mut stats = StoreStats {
            resources: resources.len(),
            ..StoreStats::default()
        };
        let mut current = self.conn.prepare_cached(
            "SELECT snapshot_id FROM scan_snapshots
             WHERE scan_id = ?1 AND side = ?2 AND origin = ?3",
        )?;
        let mut find_snapshot = self
            .conn
            .prepare_cached("SELECT id FROM snapshots WHERE hash = ?1")?;
        let mut point = self.conn.prepare_cached(
            "INSERT INTO scan_snapshots (scan_id, side, origin, snapshot_id)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scan_id, side, origin) DO UPDATE SET snapshot_id = excluded.snapshot_id",
        )?;
        let mut packer: Option<Packer> = None;

        for (origin, incoming) in by_origin {
            // Per member: its hash, its version id once known, and which
            // incoming resource it is (`NOT_INCOMING` for earlier members).
            let mut members: Vec<Member> = incoming
                .iter()
                .enumerate()
                .map(|(i, r)| (r.hash, None, i))
                .collect();
            let earlier: Option<i64> = current
                .query_row(params![scan.0, side.as_sql(), origin], |row| row.get(0))
                .optional()?;
            if let Some(earlier) = earlier {
                let ids = self.snapshot_ids(earlier)?;
                for (hash, id) in self.version_hashes(&ids)? {
                    members.push((hash, Some(id), NOT_INCOMING));
                }
            }
            members.sort_unstable_by(|a, b| by_hash(&a.0, &b.0));
            let hashes: Vec<Hash> = members.iter().map(|m| m.0).collect();
            let snapshot_hash = content::snapshot_hash(&hashes);
            drop(hashes);

            let existing: Option<i64> = find_snapshot
                .query_row([&snapshot_hash[..]], |row| row.get(0))
                .optional()?;
            let snapshot = match existing {
                Some(id) => id,
                None => {
                    stats.new_snapshots += 1;
                    let previous = self.previous_snapshot(scan, side, origin)?;
                    self.resolve_ids(
                        &mut members,
                        previous.as_deref(),
                        &incoming,
                        &mut packer,
                        &mut stats,
                    )?;
                    let with_ids: Vec<(Hash, i64)> = members
                        .iter()
                        .map(|&(hash, id, _)| {
                            (hash, id.expect("resolve_ids gave every member an id"))
                        })
                        .collect();
                    self.insert_snapshot(
                        side,
                        origin,
                        snapshot_hash,
                        with_ids,
                        previous.as_deref(),
                    )?
                }
            };
            point.execute(params![scan.0, side.as_sql(), origin, snapshot])?;
        }
        Ok(stats)
    }

    /// Gives every member a version id: from the origin's previous snapshot
    /// (a merge of two lists sorted by hash), else from the table, else by
    /// storing the version.
    fn resolve_ids(
        &self,
        members: &mut [Member],
        previous: Option<&CachedSnapshot>,
        incoming: &[&EncodedResource],
        packer: &mut Option<Packer>,
        stats: &mut StoreStats,
    ) -> Result<(), StoreError> {
        if let Some(previous) = previous {
            let known = &previous.members;
            let mut k = 0;
            for member in members.iter_mut().filter(|m| m.1.is_none()) {
                while k < known.len() && by_hash(&known[k].0, &member.0).is_lt() {
                    k += 1;
                }
                if k < known.len() && known[k].0 == member.0 {
                    member.1 = Some(known[k].1);
                }
            }
        }
        let mut find_version = self
            .conn
            .prepare_cached("SELECT id FROM resource_versions WHERE hash = ?1")?;
        let mut insert_version = self.conn.prepare_cached(
            "INSERT INTO resource_versions
             (hash, provider, resource_type, resource_id, address, content)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             RETURNING id",
        )?;
        let mut last: Option<(Hash, i64)> = None;
        for member in members.iter_mut().filter(|m| m.1.is_none()) {
            // Equal contents are adjacent (sorted by hash): one lookup.
            if let Some((hash, id)) = last
                && hash == member.0
            {
                member.1 = Some(id);
                continue;
            }
            let found: Option<i64> = find_version
                .query_row([&member.0[..]], |row| row.get(0))
                .optional()?;
            let id = match found {
                Some(id) => id,
                None => {
                    // Earlier members came with their ids.
                    let resource = incoming[member.2];
                    let packed = packer
                        .get_or_insert_with(Packer::new)
                        .pack(&resource.content);
                    stats.new_versions += 1;
                    insert_version.query_row(
                        params![
                            member.0,
                            resource.key.provider,
                            resource.key.resource_type,
                            resource.key.id,
                            resource.address,
                            packed,
                        ],
                        |row| row.get(0),
                    )?
                }
            };
            member.1 = Some(id);
            last = Some((member.0, id));
        }
        Ok(())
    }

    /// Stores a new snapshot, as a difference from the key snapshot of the
    /// origin's previous snapshot when that difference is small, else whole.
    fn insert_snapshot(
        &self,
        side: Side,
        origin: &str,
        hash: Hash,
        members: Vec<(Hash, i64)>,
        previous: Option<&CachedSnapshot>,
    ) -> Result<i64, StoreError> {
        let mut ids: Vec<i64> = members.iter().map(|m| m.1).collect();
        ids.sort_unstable();
        let diff = previous.and_then(|p| {
            let (blob, entries) = members::encode_diff(&p.key_ids, &ids);
            (entries <= max_diff_entries(ids.len()))
                .then(|| (p.key_id, Arc::clone(&p.key_ids), blob))
        });
        let resources = i64::try_from(ids.len()).expect("fewer than 2^63 resources");
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO snapshots (hash, resources, base_id, members) VALUES (?1, ?2, ?3, ?4)
             RETURNING id",
        )?;
        let (id, key_id, key_ids) = match diff {
            Some((key_id, key_ids, blob)) => {
                let id: i64 =
                    insert.query_row(params![hash, resources, key_id, blob], |row| row.get(0))?;
                (id, key_id, key_ids)
            }
            None => {
                let blob = members::encode_full(&ids);
                let id: i64 = insert
                    .query_row(params![hash, resources, None::<i64>, blob], |row| {
                        row.get(0)
                    })?;
                (id, id, Arc::new(ids))
            }
        };
        self.cache.stage(
            side,
            origin,
            CachedSnapshot {
                id,
                hash,
                members,
                key_id,
                key_ids,
            },
        );
        Ok(id)
    }

    /// The snapshot the origin had in the target's previous scan, with its
    /// members: from the cache of recent snapshots if it still holds, else
    /// read from the database (a daemon's first scan after a start).
    fn previous_snapshot(
        &self,
        scan: ScanId,
        side: Side,
        origin: &str,
    ) -> Result<Option<Arc<CachedSnapshot>>, StoreError> {
        let mut exists = self
            .conn
            .prepare_cached("SELECT 1 FROM snapshots WHERE id = ?1 AND hash = ?2")?;
        if let Some(cached) = self.cache.get(side, origin)
            && exists.exists(params![cached.id, cached.hash])?
        {
            // Ids are never reused (AUTOINCREMENT): the row is the one cached,
            // and while it exists so do its members and its key snapshot.
            return Ok(Some(cached));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT ss.snapshot_id FROM scans s
             JOIN scan_snapshots ss ON ss.scan_id = s.id AND ss.side = ?3 AND ss.origin = ?4
             WHERE s.target_id = (SELECT target_id FROM scans WHERE id = ?1) AND s.id < ?2
             ORDER BY s.id DESC LIMIT 1",
        )?;
        let Some(snapshot): Option<i64> = stmt
            .query_row(params![scan.0, scan.0, side.as_sql(), origin], |row| {
                row.get(0)
            })
            .optional()?
        else {
            return Ok(None);
        };
        let (base, _) = self.snapshot_row(snapshot)?;
        let key_id = base.unwrap_or(snapshot);
        let key_ids = Arc::new(self.snapshot_ids(key_id)?);
        let ids = self.snapshot_ids(snapshot)?;
        let mut members = self.version_hashes(&ids)?;
        members.sort_unstable();
        let hash: Hash = self.conn.query_row(
            "SELECT hash FROM snapshots WHERE id = ?1",
            [snapshot],
            |row| row.get(0),
        )?;
        Ok(Some(Arc::new(CachedSnapshot {
            id: snapshot,
            hash,
            members,
            key_id,
            key_ids,
        })))
    }

    fn require_running(&self, scan: ScanId) -> Result<(), StoreError> {
        match self.scan_is_running(scan)? {
            true => Ok(()),
            false => Err(StoreError::ScanFinished(scan)),
        }
    }

    /// `(hash, id)` of each id, in the order given.
    fn version_hashes(&self, ids: &[i64]) -> Result<Vec<(Hash, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash FROM resource_versions WHERE id = ?1")?;
        ids.iter()
            .map(|&id| {
                let hash = stmt.query_row([id], |row| row.get(0)).optional()?;
                hash.map(|h| (h, id)).ok_or_else(|| StoreError::Corrupt {
                    what: format!("resource version {id}"),
                    reason: "a snapshot holds it but it is missing".into(),
                })
            })
            .collect()
    }
}

/// Hash order, faster than comparing whole arrays: SHA-256 outputs almost
/// never share their first eight bytes.
fn by_hash(a: &Hash, b: &Hash) -> std::cmp::Ordering {
    let prefix = |h: &Hash| u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    prefix(a).cmp(&prefix(b)).then_with(|| a.cmp(b))
}

/// A snapshot member being stored: its hash, its version id once known, and
/// its index among the resources being stored.
type Member = (Hash, Option<i64>, usize);

/// The index of a member that an earlier call stored (it has its id).
const NOT_INCOMING: usize = usize::MAX;

/// The largest difference stored against a key snapshot; beyond it the
/// next snapshot is a new key. Differences grow with every change since the
/// key and each later snapshot repeats them, while a key costs about a byte
/// per member: with K bytes per key, c changed members per scan and b bytes
/// per listed id, the bytes per scan (K·2c/T + T·b/2) are least near
/// T = √(4cK/b). At 100,000 members (K ≈ 150 KB), 7 changes per scan and
/// b ≈ 2.5 that is about 1,300: a sixty-fourth of the members. Retention
/// reads every kept snapshot when it collects versions, so this also keeps
/// a prune short (BENCHMARKS.md, "Findings history").
fn max_diff_entries(members: usize) -> usize {
    members / 64 + 64
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
