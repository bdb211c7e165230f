//! Retention: what the store forgets, so that it does not grow without bound.
//!
//! Per target, the newest `keep_scans` scans are kept in full. An older scan
//! is deleted, unless a finding event names it as the scan that opened,
//! reopened or resolved a finding: then its row stays (status, diagnostics,
//! source versions) and only its snapshot pointers go. The target's last
//! complete scan always stays in full (the next scan reuses its resources for
//! sources that did not change), and so do running scans.
//!
//! Then whatever nothing points to any more is collected: snapshots no scan
//! points to and no other snapshot is based on, and resource versions that
//! no snapshot holds and no finding or finding event names (findings keep
//! the exact versions they were about, for as long as they exist).
//!
//! Work is done in short write transactions of at most `batch_rows` deleted
//! rows each, so a prune never holds the write lock for long: a scan that
//! wants to store its results waits for one batch, not for the whole prune.

use super::content::Hash;
use super::dao::Writer;
use super::{Store, StoreError};
use rusqlite::{OptionalExtension, params};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How much history the store keeps (`[retention]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Per target, the newest scans kept in full (rows and snapshots); at least 1.
    pub keep_scans: u32,
    /// Rows deleted per write transaction.
    pub batch_rows: u32,
    /// Days of CloudTrail events, fetched spans and trail objects kept
    /// (events that are evidence for a finding stay as long as it does).
    /// LookupEvents reaches back 90 days, so the default is a little more.
    pub trail_days: u32,
    /// Days finished deliveries and routed notify events are kept (the
    /// audit log keeps every attempt for ever).
    pub outbox_days: u32,
}

impl Default for RetentionPolicy {
    /// 1,000 scans: a week at one scan every 10 minutes.
    fn default() -> Self {
        RetentionPolicy {
            keep_scans: 1_000,
            batch_rows: 2_000,
            trail_days: 100,
            outbox_days: 90,
        }
    }
}

/// What one prune removed, and how long it held the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PruneStats {
    /// Scans deleted, row and all.
    pub scans_deleted: u64,
    /// Old scans kept because a finding event names them, whose snapshot
    /// pointers were removed.
    pub scans_thinned: u64,
    /// Snapshot pointers (`scan_snapshots` rows) removed.
    pub scan_snapshots_deleted: u64,
    pub snapshots_deleted: u64,
    pub versions_deleted: u64,
    /// CloudTrail events older than `trail_days` that no evidence names.
    pub trail_events_deleted: u64,
    /// Fetched spans and trail object records older than `trail_days`.
    pub trail_records_deleted: u64,
    /// Finished deliveries and routed notify events older than `outbox_days`.
    pub outbox_rows_deleted: u64,
    /// Write transactions the prune took.
    pub transactions: u64,
    /// The longest of them: how long a scan could have waited for the prune.
    #[serde(serialize_with = "millis")]
    pub longest_transaction: Duration,
    /// The whole prune.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

impl PruneStats {
    /// Whether the prune removed anything.
    pub fn removed_anything(&self) -> bool {
        self.scans_deleted
            + self.scans_thinned
            + self.scan_snapshots_deleted
            + self.snapshots_deleted
            + self.versions_deleted
            + self.trail_events_deleted
            + self.trail_records_deleted
            + self.outbox_rows_deleted
            > 0
    }
}

/// Snapshots deleted per transaction: deleting a key snapshot checks each
/// of its members (100,000 for a large origin) against the snapshots left.
const SNAPSHOTS_PER_BATCH: u32 = 100;

/// The finding events that make a scan worth keeping.
const LIFECYCLE_EVENTS: &str = "('opened', 'resolved', 'reopened')";

/// What one batch of scan pruning did.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanBatch {
    pub scans_deleted: u64,
    pub scans_thinned: u64,
    pub scan_snapshots_deleted: u64,
    /// The oldest scan id the next batch need look at.
    pub next: i64,
    /// Whether there may be more to do for this target.
    pub more: bool,
}

impl Writer<'_> {
    /// Prunes up to `policy.batch_rows` old scans of `target` with ids at or
    /// above `from` (scans below it were pruned before), oldest first.
    pub fn prune_scans(
        &self,
        policy: &RetentionPolicy,
        target: super::TargetId,
        from: i64,
    ) -> Result<ScanBatch, StoreError> {
        let keep = i64::from(policy.keep_scans.max(1));
        let conn = self.conn;
        let mut cutoff = conn.prepare_cached(
            "SELECT id FROM scans WHERE target_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2",
        )?;
        let Some(cutoff): Option<i64> = cutoff
            .query_row(params![target.0, keep - 1], |row| row.get(0))
            .optional()?
        else {
            return Ok(ScanBatch {
                next: from,
                ..ScanBatch::default()
            });
        };
        let mut last_complete = conn.prepare_cached(
            "SELECT id FROM scans WHERE target_id = ?1 AND status = 'complete'
             ORDER BY id DESC LIMIT 1",
        )?;
        let last_complete: i64 = last_complete
            .query_row([target.0], |row| row.get(0))
            .optional()?
            .unwrap_or(-1);
        // Old scans with work left: snapshot pointers to remove, or no
        // finding event that keeps the row. Done ones are never selected
        // again, so the loop in `Store::prune` ends.
        let eventful = format!(
            "EXISTS (SELECT 1 FROM finding_events e
                     WHERE e.scan_id = s.id AND e.event IN {LIFECYCLE_EVENTS})"
        );
        let sql = format!(
            "SELECT s.id, {eventful}
             FROM scans s
             WHERE s.target_id = ?1 AND s.id >= ?2 AND s.id < ?3
               AND s.status != 'running' AND s.id != ?4
               AND (EXISTS (SELECT 1 FROM scan_snapshots ss WHERE ss.scan_id = s.id)
                    OR NOT {eventful})
             ORDER BY s.id LIMIT ?5"
        );
        let mut old = conn.prepare_cached(&sql)?;
        let batch: Vec<(i64, bool)> = old
            .query_map(
                params![target.0, from, cutoff, last_complete, policy.batch_rows],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?
            .collect::<Result<_, _>>()?;
        let mut unpoint = conn.prepare_cached("DELETE FROM scan_snapshots WHERE scan_id = ?1")?;
        let mut delete = conn.prepare_cached("DELETE FROM scans WHERE id = ?1")?;
        let mut out = ScanBatch {
            more: batch.len() as u64 == u64::from(policy.batch_rows),
            ..ScanBatch::default()
        };
        for &(scan, eventful) in &batch {
            let pointers = unpoint.execute([scan])? as u64;
            out.scan_snapshots_deleted += pointers;
            if eventful {
                out.scans_thinned += 1;
            } else {
                delete.execute([scan])?;
                out.scans_deleted += 1;
            }
        }
        // Everything below `next` is done, except the last complete scan,
        // which a later complete scan will make prunable.
        out.next = match batch.last() {
            Some(&(last, _)) if out.more => last + 1,
            _ => cutoff.max(from),
        };
        if (from..out.next).contains(&last_complete) {
            out.next = last_complete;
        }
        Ok(out)
    }

    /// Deletes up to `limit` snapshots that no scan points to and no other
    /// snapshot is based on, and then the versions only they held that no
    /// finding or finding event names, in the same transaction (so nothing
    /// is left behind if the process stops between the two). Returns the
    /// snapshots and the versions deleted.
    pub fn prune_snapshots(&self, limit: u32) -> Result<(u64, u64), StoreError> {
        let mut unused = self.conn.prepare_cached(
            "SELECT s.id, s.base_id, s.members FROM snapshots s
             WHERE NOT EXISTS (SELECT 1 FROM scan_snapshots ss WHERE ss.snapshot_id = s.id)
               AND NOT EXISTS (SELECT 1 FROM snapshots d WHERE d.base_id = s.id)
             LIMIT ?1",
        )?;
        let mut delete = self
            .conn
            .prepare_cached("DELETE FROM snapshots WHERE id = ?1")?;
        let mut candidates: Vec<i64> = Vec::new();
        let mut deleted = 0;
        let doomed: Vec<(i64, Option<i64>, Vec<u8>)> = unused
            .query_map([limit], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (id, base, blob) in doomed {
            candidates.extend(ids_held_by(id, base, &blob)?);
            deleted += delete.execute([id])? as u64;
        }
        if candidates.is_empty() {
            return Ok((deleted, 0));
        }
        candidates.sort_unstable();
        candidates.dedup();
        // Drop the candidates another snapshot still holds: one pass over the
        // snapshots left, each list merged with the sorted candidates.
        // Newest first: the snapshots after a deleted one usually hold most
        // of its versions, and the pass stops once every candidate is held.
        let mut all = self
            .conn
            .prepare_cached("SELECT id, base_id, members FROM snapshots ORDER BY id DESC")?;
        let mut rows = all.query([])?;
        // `unheld` shrinks as snapshots are read; each list is compared by
        // walking the shorter one and searching the longer.
        let mut unheld = candidates;
        while let Some(row) = rows.next()? {
            let ids = ids_held_by(
                row.get(0)?,
                row.get(1)?,
                row.get_ref(2)?.as_blob().map_err(|e| StoreError::Corrupt {
                    what: "a snapshot's member list".into(),
                    reason: e.to_string(),
                })?,
            )?;
            drop_held(&mut unheld, &ids);
            if unheld.is_empty() {
                break;
            }
        }
        drop(rows);
        let versions = self.delete_versions(&unheld, i64::MAX)?;
        Ok((deleted, versions))
    }

    /// The ids of every resource version some snapshot holds, and the highest
    /// snapshot id looked at: key snapshots' whole lists and the ids other
    /// snapshots add to their key.
    fn versions_in_snapshots(&self) -> Result<(HashSet<i64>, i64), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, base_id, members FROM snapshots ORDER BY id")?;
        let mut rows = stmt.query([])?;
        let mut held = HashSet::new();
        let mut last = 0;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            held.extend(ids_held_by(id, row.get(1)?, &row.get::<_, Vec<u8>>(2)?)?);
            last = id;
        }
        Ok((held, last))
    }

    /// Resource versions no snapshot holds: candidates for deletion, to be
    /// checked against findings by [`Writer::delete_versions`].
    pub fn unheld_versions(&self) -> Result<(Vec<i64>, i64), StoreError> {
        let (held, last_snapshot) = self.versions_in_snapshots()?;
        // The hash index covers the id: a scan of it reads no contents.
        let mut all = self.conn.prepare_cached(
            "SELECT id FROM resource_versions INDEXED BY sqlite_autoindex_resource_versions_1",
        )?;
        let unheld = all
            .query_map([], |row| row.get::<_, i64>(0))?
            .filter(|id| id.as_ref().map_or(true, |id| !held.contains(id)))
            .collect::<Result<Vec<i64>, _>>()?;
        Ok((unheld, last_snapshot))
    }

    /// Deletes the `candidates` that no finding or finding event names and no
    /// snapshot newer than `last_snapshot` holds (one stored since the
    /// candidates were found). Returns how many it deleted.
    pub fn delete_versions(
        &self,
        candidates: &[i64],
        last_snapshot: i64,
    ) -> Result<u64, StoreError> {
        let mut newer = self
            .conn
            .prepare_cached("SELECT id, base_id, members FROM snapshots WHERE id > ?1")?;
        let mut held: HashSet<i64> = HashSet::new();
        let mut rows = newer.query([last_snapshot])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            held.extend(ids_held_by(id, row.get(1)?, &row.get::<_, Vec<u8>>(2)?)?);
        }
        let mut hash_of = self
            .conn
            .prepare_cached("SELECT hash FROM resource_versions WHERE id = ?1")?;
        let mut named = self.conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM findings WHERE desired_version = ?1)
                 OR EXISTS (SELECT 1 FROM findings WHERE live_version = ?1)
                 OR EXISTS (SELECT 1 FROM finding_events WHERE desired_version = ?1)
                 OR EXISTS (SELECT 1 FROM finding_events WHERE live_version = ?1)",
        )?;
        let mut delete = self
            .conn
            .prepare_cached("DELETE FROM resource_versions WHERE id = ?1")?;
        let mut deleted = 0;
        for &id in candidates.iter().filter(|id| !held.contains(id)) {
            let Some(hash): Option<Hash> = hash_of.query_row([id], |row| row.get(0)).optional()?
            else {
                continue;
            };
            if named.query_row([&hash[..]], |row| row.get(0))? {
                continue;
            }
            deleted += delete.execute([id])? as u64;
        }
        Ok(deleted)
    }
}

/// Removes from `unheld` (ascending, distinct) every id that `ids`
/// (ascending) holds, in O(shorter · log longer).
fn drop_held(unheld: &mut Vec<i64>, ids: &[i64]) {
    if ids.is_empty() || unheld.is_empty() {
        return;
    }
    if unheld.len() <= ids.len() {
        unheld.retain(|id| ids.binary_search(id).is_err());
    } else {
        let mut held = vec![false; unheld.len()];
        for id in ids {
            if let Ok(i) = unheld.binary_search(id) {
                held[i] = true;
            }
        }
        let mut flags = held.into_iter();
        unheld.retain(|_| !flags.next().expect("one flag per id"));
    }
}

/// The version ids a snapshot holds beyond its base: all of a key
/// snapshot's, the added ones of a difference (the rest are its base's).
fn ids_held_by(snapshot: i64, base: Option<i64>, blob: &[u8]) -> Result<Vec<i64>, StoreError> {
    let decoded = match base {
        None => super::members::decode_full(blob),
        Some(_) => super::members::decode_diff_parts(blob).map(|(_, added)| added),
    };
    decoded.map_err(|reason| StoreError::Corrupt {
        what: format!("snapshot {snapshot}"),
        reason,
    })
}

impl Store {
    /// Deletes every resource version that no snapshot holds and no finding
    /// or finding event names, in transactions of at most `batch_rows`
    /// deletes. [`Store::prune`] already removes the versions of the
    /// snapshots it deletes; this full pass also finds versions left by a
    /// finding that was deleted. It reads every snapshot and the whole
    /// version index (tens of milliseconds per 100,000 versions).
    pub fn sweep_versions(&self, policy: &RetentionPolicy) -> Result<PruneStats, StoreError> {
        let started = Instant::now();
        let mut stats = PruneStats::default();
        let t = Instant::now();
        let (candidates, last_snapshot) = self.write(|w| w.unheld_versions())?;
        stats.transactions += 1;
        stats.longest_transaction = t.elapsed();
        for chunk in candidates.chunks(policy.batch_rows.max(1) as usize) {
            let t = Instant::now();
            stats.versions_deleted += self.write(|w| w.delete_versions(chunk, last_snapshot))?;
            stats.transactions += 1;
            stats.longest_transaction = stats.longest_transaction.max(t.elapsed());
        }
        stats.elapsed = started.elapsed();
        Ok(stats)
    }

    /// Applies `policy` to every target, in short write transactions, and
    /// collects what nothing points to any more.
    pub fn prune(&self, policy: &RetentionPolicy) -> Result<PruneStats, StoreError> {
        let started = Instant::now();
        let mut stats = PruneStats::default();
        let timed = |stats: &mut PruneStats, took: Duration| {
            stats.transactions += 1;
            stats.longest_transaction = stats.longest_transaction.max(took);
        };
        let batch = policy.batch_rows.max(1);

        let targets = self.read(|r| r.targets())?;
        for target in targets {
            let mut from = self.pruned_below(target.id);
            loop {
                let t = Instant::now();
                let step = self.write(|w| w.prune_scans(policy, target.id, from))?;
                timed(&mut stats, t.elapsed());
                stats.scans_deleted += step.scans_deleted;
                stats.scans_thinned += step.scans_thinned;
                stats.scan_snapshots_deleted += step.scan_snapshots_deleted;
                from = step.next;
                if !step.more {
                    break;
                }
            }
            self.set_pruned_below(target.id, from);
        }

        // Deleting the last difference based on a key snapshot makes the key
        // unused in turn: go on until a round finds nothing.
        loop {
            let t = Instant::now();
            let (snapshots, versions) =
                self.write(|w| w.prune_snapshots(batch.min(SNAPSHOTS_PER_BATCH)))?;
            timed(&mut stats, t.elapsed());
            stats.snapshots_deleted += snapshots;
            stats.versions_deleted += versions;
            if snapshots == 0 {
                break;
            }
        }

        let horizon = chrono::Utc::now() - chrono::Duration::days(i64::from(policy.trail_days));
        loop {
            let t = Instant::now();
            let (events, spans, objects) = self.write(|w| w.prune_trail(horizon, batch))?;
            timed(&mut stats, t.elapsed());
            stats.trail_events_deleted += events;
            stats.trail_records_deleted += spans + objects;
            if events < u64::from(batch) {
                break;
            }
        }

        let horizon = chrono::Utc::now() - chrono::Duration::days(i64::from(policy.outbox_days));
        loop {
            let t = Instant::now();
            let (deliveries, events) = self.write(|w| w.prune_outbox(horizon, batch))?;
            timed(&mut stats, t.elapsed());
            stats.outbox_rows_deleted += deliveries + events;
            if deliveries < u64::from(batch) && events < u64::from(batch) {
                break;
            }
        }
        stats.elapsed = started.elapsed();
        if stats.removed_anything() {
            tracing::info!(
                scans_deleted = stats.scans_deleted,
                scans_thinned = stats.scans_thinned,
                snapshots_deleted = stats.snapshots_deleted,
                versions_deleted = stats.versions_deleted,
                trail_events_deleted = stats.trail_events_deleted,
                longest_transaction_ms = stats.longest_transaction.as_millis() as u64,
                "pruned the store"
            );
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::drop_held;

    #[test]
    fn drop_held_walks_either_list() {
        for (unheld, ids, left) in [
            (vec![1, 3, 5, 7], vec![3, 4, 7, 7, 9], vec![1, 5]),
            (vec![2, 4], vec![1, 2, 3, 5, 6, 7, 8, 9], vec![4]),
            (
                vec![1, 2, 3, 4, 5, 6, 7, 8],
                vec![2, 8],
                vec![1, 3, 4, 5, 6, 7],
            ),
            (vec![1], vec![], vec![1]),
        ] {
            let mut u = unheld.clone();
            drop_held(&mut u, &ids);
            assert_eq!(u, left, "{unheld:?} minus {ids:?}");
        }
    }
}
