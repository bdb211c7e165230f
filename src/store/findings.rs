//! Findings, their events, and the hash-chained audit log (schema/0002_findings.sql).

use super::dao::time_to_sql;
use super::{Reader, StoreError, TargetId, Writer};
use crate::findings::{Event, EventKind, Finding, Kind, State, VersionHash};
use crate::model::ResourceKey;
use crate::secrets::SecretKey;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use std::collections::BTreeSet;

/// Which findings a listing returns.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// One target's, by name; `None` for every target.
    pub target: Option<String>,
    /// Only these states (`open`, `acknowledged`, …); empty for all.
    pub states: Vec<String>,
    /// Include findings not yet confirmed (seen once, not re-read).
    pub include_unconfirmed: bool,
    /// Include findings an ignore rule covers.
    pub include_ignored: bool,
    /// At most this many, newest sighting first; 0 for no limit.
    pub limit: usize,
}

/// One audit-log row to append.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    /// A person (from `--by` or the OS user) or `driftd`.
    pub actor: String,
    /// What was done: `finding.accept`, `config.reload`, `notification.sent`, …
    pub action: String,
    /// What it was done to: a finding id, a config file, …
    pub subject: String,
    /// A JSON object with the rest (reason, snooze end, …). Never a secret.
    pub details: serde_json::Value,
}

/// An audit-log row as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(flatten)]
    pub record: AuditRecord,
}

/// What [`Reader::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditCheck {
    /// Rows checked.
    pub rows: u64,
    /// The first row where the chain breaks, and how; `None` when it holds.
    pub broken_at: Option<AuditBreak>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditBreak {
    pub seq: i64,
    pub reason: String,
}

const FINDING_COLUMNS: &str = "f.id, t.name, f.kind, f.provider, f.resource_type, f.resource_id, \
     f.address, f.attributes, f.state, f.state_by, f.state_reason, f.state_at, f.snoozed_until, \
     f.resolved_scan, f.seen, f.visible, f.ignored_by, f.first_seen, f.last_seen, f.first_scan, \
     f.last_scan, f.changes, f.desired_version, f.live_version";

const EVENT_COLUMNS: &str = "finding_id, event, at, scan_id, actor, reason, details, \
     desired_version, live_version";

impl Reader<'_> {
    /// A target's findings that are not resolved, plus those of `ids` (resolved
    /// or not): what reconciling one scan needs, without loading a year of
    /// resolved findings.
    pub fn findings_to_reconcile(
        &self,
        target: TargetId,
        ids: &[String],
    ) -> Result<Vec<Finding>, StoreError> {
        let ids = serde_json::to_string(ids).expect("strings serialise");
        let sql = format!(
            "SELECT {FINDING_COLUMNS} FROM findings f JOIN targets t ON t.id = f.target_id
             WHERE f.target_id = ?1
               AND (f.state != 'resolved' OR f.id IN (SELECT value FROM json_each(?2)))
             ORDER BY f.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![target.0, ids], finding_row)?;
        rows.map(flatten).collect()
    }

    /// Findings as a listing shows them, newest sighting first.
    pub fn findings(&self, filter: &FindingFilter) -> Result<Vec<Finding>, StoreError> {
        let states = serde_json::to_string(&filter.states).expect("strings serialise");
        let sql = format!(
            "SELECT {FINDING_COLUMNS} FROM findings f JOIN targets t ON t.id = f.target_id
             WHERE (?1 IS NULL OR t.name = ?1)
               AND (?2 = '[]' OR f.state IN (SELECT value FROM json_each(?2)))
               AND (?3 OR f.visible)
               AND (?4 OR f.ignored_by IS NULL)
             ORDER BY f.last_seen DESC, f.id
             LIMIT ?5"
        );
        let limit = if filter.limit == 0 {
            -1
        } else {
            filter.limit as i64
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                filter.target,
                states,
                filter.include_unconfirmed,
                filter.include_ignored,
                limit
            ],
            finding_row,
        )?;
        rows.map(flatten).collect()
    }

    /// The finding with this id, or with this unique id prefix (at least 4
    /// characters, as people copy ids from reports).
    pub fn finding(&self, id: &str) -> Result<FindingLookup, StoreError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(FindingLookup::NotFound);
        }
        let sql = format!(
            "SELECT {FINDING_COLUMNS} FROM findings f JOIN targets t ON t.id = f.target_id
             WHERE f.id >= ?1 AND f.id < ?1 || 'g' ORDER BY f.id LIMIT 2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut found: Vec<Finding> = stmt
            .query_map([&id], finding_row)?
            .map(flatten)
            .collect::<Result<_, _>>()?;
        Ok(match found.len() {
            0 => FindingLookup::NotFound,
            1 => FindingLookup::Found(Box::new(found.remove(0))),
            _ => FindingLookup::Ambiguous,
        })
    }

    /// A finding's history, oldest first.
    pub fn finding_events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM finding_events WHERE finding_id = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([id], event_row)?;
        rows.map(flatten).collect()
    }

    /// Findings per state name, over every target (or one).
    pub fn finding_counts(
        &self,
        target: Option<&str>,
    ) -> Result<Vec<(String, u64, u64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.state, count(*), sum(f.ignored_by IS NOT NULL)
             FROM findings f JOIN targets t ON t.id = f.target_id
             WHERE ?1 IS NULL OR t.name = ?1
             GROUP BY f.state ORDER BY f.state",
        )?;
        let rows = stmt.query_map([target], |row| {
            Ok((
                row.get(0)?,
                row.get::<_, i64>(1)? as u64,
                row.get::<_, i64>(2)? as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Audit-log rows after `after` (a seq), oldest first, at most `limit`.
    pub fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, actor, action, subject, details FROM audit_log
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, actor, action, subject, details) = row?;
            out.push(AuditEntry {
                seq,
                record: AuditRecord {
                    at: parse_time(&at, "audit_log.at")?,
                    actor,
                    action,
                    subject,
                    details: parse_json(&details, "audit_log.details")?,
                },
            });
        }
        Ok(out)
    }

    /// Walks the audit chain from the first row: each row's `prev_hash` must
    /// be the row before's `hash` (zeros for the first), its seq one more, and
    /// its `hash` the MAC of its fields under `key`. Reports the first break.
    pub fn verify_audit(&self, key: &SecretKey) -> Result<AuditCheck, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash
             FROM audit_log ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut prev = [0u8; 32];
        let mut expected_seq = 1i64;
        let mut checked = 0u64;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let fields: [String; 5] = [
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ];
            let prev_hash: Vec<u8> = row.get(6)?;
            let hash: Vec<u8> = row.get(7)?;
            checked += 1;
            let broken = |reason: String| {
                Ok(AuditCheck {
                    rows: checked,
                    broken_at: Some(AuditBreak { seq, reason }),
                })
            };
            if seq != expected_seq {
                return broken(format!(
                    "row {seq} follows row {}: rows are missing or were inserted",
                    expected_seq - 1
                ));
            }
            if prev_hash != prev {
                return broken(
                    "its prev_hash is not the hash of the row before: a row before it was \
                     removed or replaced"
                        .into(),
                );
            }
            if hash != audit_mac(key, &prev, seq, &fields) {
                return broken(
                    "its contents do not match its hash: the row was edited after it was written \
                     (or the install key is not the one that wrote it)"
                        .into(),
                );
            }
            prev = hash.try_into().expect("the schema checks length 32");
            expected_seq += 1;
        }
        Ok(AuditCheck {
            rows: checked,
            broken_at: None,
        })
    }
}

/// The outcome of looking a finding up by id or prefix.
#[derive(Debug, Clone, PartialEq)]
pub enum FindingLookup {
    Found(Box<Finding>),
    NotFound,
    /// The prefix matches more than one finding.
    Ambiguous,
}

impl Writer<'_> {
    /// Inserts or updates findings of `target`.
    pub fn save_findings<'f>(
        &self,
        target: TargetId,
        findings: impl IntoIterator<Item = &'f Finding>,
    ) -> Result<usize, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO findings (id, target_id, kind, provider, resource_type, resource_id,
                 address, attributes, state, state_by, state_reason, state_at, snoozed_until,
                 resolved_scan, seen, visible, ignored_by, first_seen, last_seen, first_scan,
                 last_scan, changes, desired_version, live_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)
             ON CONFLICT (id) DO UPDATE SET
                 address = excluded.address, state = excluded.state,
                 state_by = excluded.state_by, state_reason = excluded.state_reason,
                 state_at = excluded.state_at, snoozed_until = excluded.snoozed_until,
                 resolved_scan = excluded.resolved_scan, seen = excluded.seen,
                 visible = excluded.visible, ignored_by = excluded.ignored_by,
                 last_seen = excluded.last_seen, last_scan = excluded.last_scan,
                 changes = excluded.changes, desired_version = excluded.desired_version,
                 live_version = excluded.live_version",
        )?;
        let mut n = 0;
        for f in findings {
            let (snoozed_until, resolved_scan) = match f.state {
                State::Snoozed { until } => (Some(time_to_sql(until)), None),
                State::Resolved { scan_id } => (None, Some(scan_id)),
                _ => (None, None),
            };
            stmt.execute(params![
                f.id,
                target.0,
                f.kind.as_str(),
                &*f.key.provider,
                &*f.key.resource_type,
                f.key.id,
                f.address,
                serde_json::to_string(&f.attributes).expect("strings serialise"),
                f.state.name(),
                f.state_by,
                f.state_reason,
                time_to_sql(f.state_at),
                snoozed_until,
                resolved_scan,
                f.seen,
                f.visible,
                f.ignored_by,
                time_to_sql(f.first_seen),
                time_to_sql(f.last_seen),
                f.first_scan,
                f.last_scan,
                f.changes.to_string(),
                f.desired_version.as_ref().map(|h| &h[..]),
                f.live_version.as_ref().map(|h| &h[..]),
            ])?;
            n += 1;
        }
        Ok(n)
    }

    /// Appends events to their findings' histories.
    pub fn add_finding_events(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "INSERT INTO finding_events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ))?;
        for e in events {
            stmt.execute(params![
                e.finding_id,
                e.kind.as_str(),
                time_to_sql(e.at),
                e.scan_id,
                e.actor,
                e.reason,
                e.details.to_string(),
                e.desired_version.as_ref().map(|h| &h[..]),
                e.live_version.as_ref().map(|h| &h[..]),
            ])?;
        }
        Ok(())
    }

    /// Appends one row to the audit log, chained to the last one; returns its seq.
    pub fn append_audit(&self, key: &SecretKey, record: &AuditRecord) -> Result<i64, StoreError> {
        let last: Option<(i64, Vec<u8>)> = self
            .conn
            .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let (seq, prev) = match last {
            Some((seq, hash)) => (
                seq + 1,
                <[u8; 32]>::try_from(hash).map_err(|_| StoreError::Corrupt {
                    what: format!("audit_log row {seq}"),
                    reason: "its hash is not 32 bytes".into(),
                })?,
            ),
            None => (1, [0u8; 32]),
        };
        let fields = [
            time_to_sql(record.at),
            record.actor.clone(),
            record.action.clone(),
            record.subject.clone(),
            record.details.to_string(),
        ];
        let hash = audit_mac(key, &prev, seq, &fields);
        self.conn
            .prepare_cached(
                "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                seq,
                fields[0],
                fields[1],
                fields[2],
                fields[3],
                fields[4],
                &prev[..],
                &hash[..]
            ])?;
        Ok(seq)
    }
}

fn audit_mac(key: &SecretKey, prev: &[u8; 32], seq: i64, fields: &[String; 5]) -> [u8; 32] {
    let seq = seq.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![&seq];
    parts.extend(fields.iter().map(|f| f.as_bytes()));
    key.audit_mac(prev, &parts)
}

fn finding_row(row: &Row<'_>) -> rusqlite::Result<Result<Finding, StoreError>> {
    let id: String = row.get(0)?;
    let text = |i: usize| row.get::<_, String>(i);
    let kind = text(2)?;
    let state_name = text(8)?;
    let snoozed_until: Option<String> = row.get(12)?;
    let resolved_scan: Option<i64> = row.get(13)?;
    let attributes = text(7)?;
    let changes = text(21)?;
    let times = [text(11)?, text(17)?, text(18)?];
    let versions = [
        row.get::<_, Option<Vec<u8>>>(22)?,
        row.get::<_, Option<Vec<u8>>>(23)?,
    ];
    let key = ResourceKey {
        provider: text(3)?.into(),
        resource_type: text(4)?.into(),
        id: text(5)?,
    };
    let (address, target, state_by, state_reason, ignored_by): (
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
    ) = (row.get(6)?, text(1)?, text(9)?, row.get(10)?, row.get(16)?);
    let (seen, visible, first_scan, last_scan): (u32, bool, i64, i64) =
        (row.get(14)?, row.get(15)?, row.get(19)?, row.get(20)?);
    Ok((|| {
        let what = |field: &str| format!("finding {id}: {field}");
        let corrupt = |field: &str, reason: String| StoreError::Corrupt {
            what: what(field),
            reason,
        };
        let kind = Kind::parse(&kind).ok_or_else(|| corrupt("kind", kind.clone()))?;
        let state = match (state_name.as_str(), snoozed_until, resolved_scan) {
            ("open", ..) => State::Open,
            ("acknowledged", ..) => State::Acknowledged,
            ("accepted", ..) => State::Accepted,
            ("snoozed", Some(until), _) => State::Snoozed {
                until: parse_time(&until, &what("snoozed_until"))?,
            },
            ("resolved", _, Some(scan_id)) => State::Resolved { scan_id },
            (other, ..) => return Err(corrupt("state", other.to_string())),
        };
        let attributes: BTreeSet<String> =
            serde_json::from_str(&attributes).map_err(|e| corrupt("attributes", e.to_string()))?;
        let [v0, v1] = versions;
        Ok(Finding {
            id: id.clone(),
            target,
            kind,
            key,
            address,
            attributes,
            state,
            state_by,
            state_reason,
            state_at: parse_time(&times[0], &what("state_at"))?,
            seen,
            visible,
            ignored_by,
            first_seen: parse_time(&times[1], &what("first_seen"))?,
            last_seen: parse_time(&times[2], &what("last_seen"))?,
            first_scan,
            last_scan,
            changes: parse_json(&changes, &what("changes"))?,
            desired_version: version(v0),
            live_version: version(v1),
        })
    })())
}

fn event_row(row: &Row<'_>) -> rusqlite::Result<Result<Event, StoreError>> {
    let finding_id: String = row.get(0)?;
    let kind: String = row.get(1)?;
    let at: String = row.get(2)?;
    let details: String = row.get(6)?;
    let (scan_id, actor, reason): (Option<i64>, String, Option<String>) =
        (row.get(3)?, row.get(4)?, row.get(5)?);
    let versions: [Option<Vec<u8>>; 2] = [row.get(7)?, row.get(8)?];
    Ok((|| {
        let what = format!("event of finding {finding_id}");
        let kind = EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
            what: what.clone(),
            reason: format!("unknown event {kind:?}"),
        })?;
        let [v0, v1] = versions;
        Ok(Event {
            finding_id: finding_id.clone(),
            kind,
            at: parse_time(&at, &what)?,
            scan_id,
            actor,
            reason,
            details: parse_json(&details, &what)?,
            desired_version: version(v0),
            live_version: version(v1),
        })
    })())
}

fn flatten<T>(r: rusqlite::Result<Result<T, StoreError>>) -> Result<T, StoreError> {
    r.map_err(StoreError::from)?
}

fn version(bytes: Option<Vec<u8>>) -> Option<VersionHash> {
    bytes.and_then(|b| b.try_into().ok())
}

fn parse_time(text: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what: what.to_string(),
            reason: format!("time {text:?}: {e}"),
        })
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    })
}
