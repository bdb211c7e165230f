//! CloudTrail events, what was fetched, and evidence (schema/0004_attribution.sql).

use super::content::{Packer, Unpacker};
use super::dao::time_to_sql;
use super::{Reader, StoreError, TargetId, Writer};
use crate::attribution::TrailEvent;
use crate::attribution::matching::{Evidence, Window};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use std::collections::HashSet;

/// Where the search for a finding's actor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionStatus {
    /// Still looking: CloudTrail delivers events late.
    Pending,
    /// An event explains it and the window has settled.
    Found,
    /// Nothing explains it and the retry time is over.
    Unknown,
}

impl AttributionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributionStatus::Pending => "pending",
            AttributionStatus::Found => "found",
            AttributionStatus::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Option<AttributionStatus> {
        Some(match s {
            "pending" => AttributionStatus::Pending,
            "found" => AttributionStatus::Found,
            "unknown" => AttributionStatus::Unknown,
            _ => return None,
        })
    }
}

/// One finding's attribution search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributionRow {
    pub finding_id: String,
    pub status: AttributionStatus,
    pub account: String,
    pub region: String,
    /// The `ResourceName` LookupEvents is asked for.
    pub lookup_name: String,
    /// The resource attributes the event table binds.
    pub subject: serde_json::Value,
    pub window: Window,
    /// The scan whose sighting started this search.
    pub scan_id: i64,
    pub give_up_at: DateTime<Utc>,
    pub next_attempt: DateTime<Utc>,
    pub attempts: u32,
    pub checked_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A span whose events were fetched completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedSpan {
    /// `*` (a sweep of write events), a ResourceName, or `s3://bucket/prefix`.
    pub lookup: String,
    pub window: Window,
}

/// What a fetch of one span did, to record it.
#[derive(Debug, Clone)]
pub struct Fetch<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub lookup: &'a str,
    pub window: Window,
    pub events: u64,
    pub calls: u64,
    pub at: DateTime<Utc>,
}

/// A finding that attribution should look at: active, and either never
/// searched or reopened/changed since its last search.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionCandidate {
    pub finding_id: String,
    /// The scan of the sighting to explain: the finding's opening, its
    /// reopening or its last new value.
    pub scan_id: i64,
    /// When that scan ended (started, if it has not ended).
    pub scan_ended: DateTime<Utc>,
    /// When the previous complete scan of the target started, if any: the
    /// resource still matched then.
    pub previous_scan_started: Option<DateTime<Utc>>,
}

fn parse_time(text: &str, what: impl FnOnce() -> String) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what: what(),
            reason: e.to_string(),
        })
}

const ATTRIBUTION_COLUMNS: &str = "finding_id, status, account, region, lookup_name, \
     window_start, window_end, scan_id, give_up_at, next_attempt, attempts, checked_at, last_error, \
     subject";

fn attribution_row(row: &Row<'_>) -> Result<AttributionRow, StoreError> {
    let finding_id: String = row.get(0)?;
    let time = |i: usize| -> Result<DateTime<Utc>, StoreError> {
        let text: String = row.get(i)?;
        parse_time(&text, || format!("attribution of finding {finding_id}"))
    };
    let status: String = row.get(1)?;
    let checked_at: Option<String> = row.get(11)?;
    Ok(AttributionRow {
        status: AttributionStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
            what: format!("attribution of finding {finding_id}"),
            reason: format!("unknown status {status:?}"),
        })?,
        account: row.get(2)?,
        region: row.get(3)?,
        lookup_name: row.get(4)?,
        window: Window {
            start: time(5)?,
            end: time(6)?,
        },
        scan_id: row.get(7)?,
        give_up_at: time(8)?,
        next_attempt: time(9)?,
        attempts: row.get(10)?,
        checked_at: checked_at
            .map(|t| parse_time(&t, || format!("attribution of finding {finding_id}")))
            .transpose()?,
        last_error: row.get(12)?,
        subject: {
            let text: String = row.get(13)?;
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                what: format!("attribution subject of finding {finding_id}"),
                reason: e.to_string(),
            })?
        },
        finding_id,
    })
}

impl Reader<'_> {
    /// The stored write events of one account and region within `window`,
    /// oldest first.
    pub fn trail_events(
        &self,
        account: &str,
        region: &str,
        window: Window,
    ) -> Result<Vec<TrailEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, raw FROM trail_events
             WHERE account = ?1 AND region = ?2 AND event_time BETWEEN ?3 AND ?4
             ORDER BY event_time, event_id",
        )?;
        let mut rows = stmt.query(params![
            account,
            region,
            time_to_sql(window.start),
            time_to_sql(window.end)
        ])?;
        let mut unpacker = Unpacker::new();
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let packed: Vec<u8> = row.get(1)?;
            events.push(decode_event(&mut unpacker, &id, &packed)?);
        }
        Ok(events)
    }

    /// The spans fetched for these lookups (and sweeps, which cover every
    /// lookup) in one account and region that overlap `window`.
    pub fn trail_fetched(
        &self,
        account: &str,
        region: &str,
        window: Window,
    ) -> Result<Vec<FetchedSpan>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT lookup, span_start, span_end FROM trail_fetched
             WHERE account = ?1 AND region = ?2 AND span_end >= ?3 AND span_start <= ?4",
        )?;
        let mut rows = stmt.query(params![
            account,
            region,
            time_to_sql(window.start),
            time_to_sql(window.end)
        ])?;
        let mut spans = Vec::new();
        while let Some(row) = rows.next()? {
            let lookup: String = row.get(0)?;
            let start: String = row.get(1)?;
            let end: String = row.get(2)?;
            let what = || format!("fetched span of {account}/{region}");
            spans.push(FetchedSpan {
                lookup,
                window: Window {
                    start: parse_time(&start, what)?,
                    end: parse_time(&end, what)?,
                },
            });
        }
        Ok(spans)
    }

    /// Write events per hour seen by past sweeps of one account and region
    /// (the planner's estimate of what a sweep costs), if it ever swept.
    pub fn trail_write_rate(&self, account: &str, region: &str) -> Result<Option<f64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT span_start, span_end, events FROM trail_fetched
             WHERE account = ?1 AND region = ?2 AND lookup = '*'
             ORDER BY id DESC LIMIT 20",
        )?;
        let mut rows = stmt.query(params![account, region])?;
        let (mut seconds, mut events) = (0i64, 0u64);
        while let Some(row) = rows.next()? {
            let start: String = row.get(0)?;
            let end: String = row.get(1)?;
            let n: i64 = row.get(2)?;
            let what = || format!("fetched span of {account}/{region}");
            let span = parse_time(&end, what)? - parse_time(&start, what)?;
            seconds += span.num_seconds();
            events += u64::try_from(n).unwrap_or(0);
        }
        // Spans shorter than ten minutes in total say little about a rate.
        Ok((seconds >= 600).then(|| events as f64 * 3600.0 / seconds as f64))
    }

    /// The keys of trail objects already read from `bucket` within `keys`
    /// (a read's key range: `trail_s3::key_range`).
    pub fn trail_objects_read_in(
        &self,
        bucket: &str,
        keys: std::ops::Range<&str>,
    ) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key FROM trail_objects WHERE bucket = ?1 AND key >= ?2 AND key < ?3",
        )?;
        let rows = stmt.query_map(params![bucket, keys.start, keys.end], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One finding's attribution search, if it has one.
    pub fn attribution(&self, finding_id: &str) -> Result<Option<AttributionRow>, StoreError> {
        let sql = format!("SELECT {ATTRIBUTION_COLUMNS} FROM attributions WHERE finding_id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([finding_id])?;
        rows.next()?.map(attribution_row).transpose()
    }

    /// A target's searches still open (pending) whose next attempt is due.
    pub fn attributions_due(
        &self,
        target: TargetId,
        now: DateTime<Utc>,
    ) -> Result<Vec<AttributionRow>, StoreError> {
        let sql = format!(
            "SELECT {ATTRIBUTION_COLUMNS} FROM attributions a
             WHERE a.status = 'pending' AND a.next_attempt <= ?2
               AND a.finding_id IN (SELECT id FROM findings WHERE target_id = ?1
                                    AND state != 'resolved')
             ORDER BY a.finding_id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![target.0, time_to_sql(now)])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(attribution_row(row)?);
        }
        Ok(out)
    }

    /// A target's active findings whose latest sighting to explain (opening,
    /// reopening, new value) has no search yet.
    pub fn attribution_candidates(
        &self,
        target: TargetId,
    ) -> Result<Vec<AttributionCandidate>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "WITH latest AS (
                 SELECT e.finding_id, max(e.scan_id) AS scan_id
                 FROM finding_events e JOIN findings f ON f.id = e.finding_id
                 WHERE f.target_id = ?1 AND f.state != 'resolved' AND e.scan_id IS NOT NULL
                   AND e.event IN ('opened', 'reopened', 'value_changed')
                 GROUP BY e.finding_id)
             SELECT l.finding_id, l.scan_id, coalesce(s.ended_at, s.started_at),
                    (SELECT p.started_at FROM scans p
                     WHERE p.target_id = ?1 AND p.id < l.scan_id AND p.status = 'complete'
                     ORDER BY p.id DESC LIMIT 1)
             FROM latest l JOIN scans s ON s.id = l.scan_id
             LEFT JOIN attributions a ON a.finding_id = l.finding_id
             WHERE a.finding_id IS NULL OR a.scan_id < l.scan_id
             ORDER BY l.finding_id",
        )?;
        let mut rows = stmt.query([target.0])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let finding_id: String = row.get(0)?;
            let started: String = row.get(2)?;
            let previous: Option<String> = row.get(3)?;
            let what = || format!("scan times of finding {finding_id}");
            out.push(AttributionCandidate {
                scan_id: row.get(1)?,
                scan_ended: parse_time(&started, what)?,
                previous_scan_started: previous.map(|p| parse_time(&p, what)).transpose()?,
                finding_id,
            });
        }
        Ok(out)
    }

    /// The events tied to a finding, oldest first.
    pub fn evidence(&self, finding_id: &str) -> Result<Vec<Evidence>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.event_id, t.raw, v.explains FROM evidence v
             JOIN trail_events t ON t.event_id = v.event_id
             WHERE v.finding_id = ?1 ORDER BY v.ordinal",
        )?;
        let mut rows = stmt.query([finding_id])?;
        let mut unpacker = Unpacker::new();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let packed: Vec<u8> = row.get(1)?;
            let explains: bool = row.get(2)?;
            let event = decode_event(&mut unpacker, &id, &packed)?;
            out.push(Evidence {
                actor: event.actor(),
                event_id: event.event_id,
                time: event.time,
                source: event.source,
                name: event.name,
                error_code: event.error_code,
                explains,
            });
        }
        Ok(out)
    }

    /// One stored event's record (secrets stripped), for `findings show`.
    pub fn trail_event(&self, event_id: &str) -> Result<Option<TrailEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT raw FROM trail_events WHERE event_id = ?1")?;
        let packed: Option<Vec<u8>> = stmt.query_row([event_id], |r| r.get(0)).optional()?;
        packed
            .map(|p| decode_event(&mut Unpacker::new(), event_id, &p))
            .transpose()
    }
}

pub(super) fn decode_event(
    unpacker: &mut Unpacker,
    id: &str,
    packed: &[u8],
) -> Result<TrailEvent, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        what: format!("CloudTrail event {id}"),
        reason,
    };
    let text = unpacker.unpack(packed).map_err(corrupt)?;
    let raw = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    TrailEvent::from_record(raw).map_err(|e| corrupt(e.to_string()))
}

impl Writer<'_> {
    /// Stores write events not stored yet; returns how many were new.
    pub fn store_trail_events(&self, events: &[TrailEvent]) -> Result<usize, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO trail_events
                 (event_id, account, region, event_time, event_source, event_name, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id) DO NOTHING",
        )?;
        let mut packer = Packer::new();
        let mut new = 0;
        for e in events {
            new += stmt.execute(params![
                e.event_id,
                e.account,
                e.region,
                time_to_sql(e.time),
                e.source,
                e.name,
                packer.pack(&e.raw.to_string()),
            ])?;
        }
        Ok(new)
    }

    /// Records a span fetched completely.
    pub fn record_trail_fetch(&self, fetch: &Fetch<'_>) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO trail_fetched
                 (account, region, lookup, span_start, span_end, events, calls, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        stmt.execute(params![
            fetch.account,
            fetch.region,
            fetch.lookup,
            time_to_sql(fetch.window.start),
            time_to_sql(fetch.window.end),
            i64::try_from(fetch.events).unwrap_or(i64::MAX),
            i64::try_from(fetch.calls).unwrap_or(i64::MAX),
            time_to_sql(fetch.at),
        ])?;
        Ok(())
    }

    /// Records trail objects read from `bucket`: `(key, etag, records)`.
    pub fn record_trail_objects(
        &self,
        bucket: &str,
        objects: &[(String, String, u64)],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO trail_objects (bucket, key, etag, read_at, records)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (bucket, key) DO UPDATE SET etag = excluded.etag,
                 read_at = excluded.read_at, records = excluded.records",
        )?;
        for (key, etag, records) in objects {
            stmt.execute(params![
                bucket,
                key,
                etag,
                time_to_sql(at),
                i64::try_from(*records).unwrap_or(i64::MAX)
            ])?;
        }
        Ok(())
    }

    /// Forgets CloudTrail data older than `horizon`, at most `limit` events
    /// per call: events no evidence names, fetched spans that end before it
    /// (spans that straddle it now start at it, so what they claim to cover
    /// is still in the store), and the record of trail objects read before
    /// it (a window reaching back that far reads them again). Returns
    /// `(events, spans, objects)` removed; call until `events < limit`.
    pub fn prune_trail(
        &self,
        horizon: DateTime<Utc>,
        limit: u32,
    ) -> Result<(u64, u64, u64), StoreError> {
        let horizon = time_to_sql(horizon);
        let events = self.conn.execute(
            "DELETE FROM trail_events WHERE event_id IN (
                 SELECT t.event_id FROM trail_events t
                 WHERE t.event_time < ?1
                   AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.event_id = t.event_id)
                 LIMIT ?2)",
            params![horizon, limit],
        )?;
        let spans = self.conn.execute(
            "DELETE FROM trail_fetched WHERE span_end < ?1",
            params![horizon],
        )?;
        self.conn.execute(
            "UPDATE trail_fetched SET span_start = ?1 WHERE span_start < ?1",
            params![horizon],
        )?;
        let objects = self.conn.execute(
            "DELETE FROM trail_objects WHERE read_at < ?1",
            params![horizon],
        )?;
        Ok((events as u64, spans as u64, objects as u64))
    }

    /// Creates or replaces a finding's attribution search.
    pub fn save_attribution(&self, row: &AttributionRow) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO attributions (finding_id, status, account, region, lookup_name,
                 window_start, window_end, scan_id, give_up_at, next_attempt, attempts,
                 checked_at, last_error, subject)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (finding_id) DO UPDATE SET status = excluded.status,
                 account = excluded.account, region = excluded.region,
                 lookup_name = excluded.lookup_name, window_start = excluded.window_start,
                 window_end = excluded.window_end, scan_id = excluded.scan_id,
                 give_up_at = excluded.give_up_at, next_attempt = excluded.next_attempt,
                 attempts = excluded.attempts, checked_at = excluded.checked_at,
                 last_error = excluded.last_error, subject = excluded.subject",
        )?;
        stmt.execute(params![
            row.finding_id,
            row.status.as_str(),
            row.account,
            row.region,
            row.lookup_name,
            time_to_sql(row.window.start),
            time_to_sql(row.window.end),
            row.scan_id,
            time_to_sql(row.give_up_at),
            time_to_sql(row.next_attempt),
            row.attempts,
            row.checked_at.map(time_to_sql),
            row.last_error,
            row.subject.to_string(),
        ])?;
        Ok(())
    }

    /// Replaces a finding's evidence (the events must be stored).
    pub fn save_evidence(&self, finding_id: &str, evidence: &[Evidence]) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM evidence WHERE finding_id = ?1")?
            .execute([finding_id])?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO evidence (finding_id, event_id, ordinal, explains) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (i, e) in evidence.iter().enumerate() {
            stmt.execute(params![finding_id, e.event_id, i as i64, e.explains])?;
        }
        Ok(())
    }
}
