//! The bulk reads of the report pages: a scan's findings with their tier
//! and actor in one query, per-target counts, the audit log filtered.
//! Per-finding reads (history, evidence, deliveries) are elsewhere.

use super::content::Unpacker;
use super::{Reader, StoreError, TargetId};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One finding as a scan page lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    pub id: String,
    pub kind: String,
    pub resource_type: String,
    pub resource_id: String,
    pub address: Option<String>,
    /// Its state now (open, acknowledged, accepted, snoozed, resolved).
    pub state: String,
    /// Seen often enough (or re-read) to be shown and notified.
    pub confirmed: bool,
    pub ignored_by: Option<String>,
    pub attributes: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// 1 to 3, when tiers are configured.
    pub tier: Option<u8>,
    pub rule: Option<String>,
    /// `found`, `pending`, `unknown`, or `off` (no search).
    pub attribution: String,
    /// Who, when `attribution` is `found`.
    pub actor: Option<String>,
    /// console, cli, terraform, cloudformation, aws_service, sdk, unknown.
    pub channel: Option<String>,
}

/// Open findings of one target, by tier and by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpenCounts {
    pub total: u64,
    /// "1", "2", "3", or "none".
    pub by_tier: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
}

impl Reader<'_> {
    /// The findings a scan saw (as they stand now), highest tier first, then
    /// by type and address. A finding counts as seen in scan `s` when its
    /// sightings span `s` and it was not resolved (and not yet reopened) at
    /// `s`. Ignored and unconfirmed findings are included and marked.
    pub fn scan_finding_rows(
        &self,
        target: TargetId,
        scan: i64,
    ) -> Result<Vec<FindingRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.id, f.kind, f.resource_type, f.resource_id, f.address, f.state, f.visible,
                    f.ignored_by, f.attributes, f.first_seen, f.last_seen, p.tier, p.rule,
                    a.status, v.event_id
               FROM findings f
               LEFT JOIN finding_policy p ON p.finding_id = f.id
               LEFT JOIN attributions a ON a.finding_id = f.id
               LEFT JOIN evidence v ON v.finding_id = f.id AND v.explains = 1
              WHERE f.target_id = ?1 AND f.first_scan <= ?2 AND f.last_scan >= ?2
                AND NOT EXISTS (
                    SELECT 1 FROM finding_events r
                     WHERE r.finding_id = f.id AND r.event = 'resolved'
                       AND r.scan_id <= ?2
                       AND NOT EXISTS (
                           SELECT 1 FROM finding_events o
                            WHERE o.finding_id = f.id AND o.event = 'reopened'
                              AND o.scan_id > r.scan_id AND o.scan_id <= ?2))
              ORDER BY coalesce(p.tier, 0) DESC, f.resource_type, coalesce(f.address, f.resource_id), f.id",
        )?;
        let mut rows = stmt.query(params![target.0, scan])?;
        let mut actors = ActorCache::default();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let attributes: String = row.get(8)?;
            let status: Option<String> = row.get(13)?;
            let event: Option<String> = row.get(14)?;
            let (actor, channel) = match &event {
                Some(e) => actors.get(self, e)?,
                None => (None, None),
            };
            out.push(FindingRow {
                id: row.get(0)?,
                kind: row.get(1)?,
                resource_type: row.get(2)?,
                resource_id: row.get(3)?,
                address: row.get(4)?,
                state: row.get(5)?,
                confirmed: row.get(6)?,
                ignored_by: row.get(7)?,
                attributes: serde_json::from_str(&attributes).unwrap_or_default(),
                first_seen: row.get(9)?,
                last_seen: row.get(10)?,
                tier: row.get::<_, Option<i64>>(11)?.map(|t| t as u8),
                rule: row.get(12)?,
                attribution: match (&event, status) {
                    (Some(_), _) => "found".to_string(),
                    (None, Some(s)) if s == "found" => "unknown".to_string(),
                    (None, Some(s)) => s,
                    (None, None) => "off".to_string(),
                },
                actor,
                channel,
            });
        }
        Ok(out)
    }

    /// Open findings needing attention (visible, not ignored), per target.
    pub fn open_counts(&self) -> Result<HashMap<i64, OpenCounts>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.target_id, p.tier, f.kind, count(*)
               FROM findings f LEFT JOIN finding_policy p ON p.finding_id = f.id
              WHERE f.state IN ('open', 'acknowledged') AND f.visible = 1
                AND f.ignored_by IS NULL
              GROUP BY 1, 2, 3",
        )?;
        let mut rows = stmt.query([])?;
        let mut out: HashMap<i64, OpenCounts> = HashMap::new();
        while let Some(row) = rows.next()? {
            let target: i64 = row.get(0)?;
            let tier: Option<i64> = row.get(1)?;
            let kind: String = row.get(2)?;
            let n: i64 = row.get(3)?;
            let c = out.entry(target).or_default();
            c.total += n as u64;
            *c.by_tier
                .entry(tier.map_or("none".to_string(), |t| t.to_string()))
                .or_default() += n as u64;
            *c.by_kind.entry(kind).or_default() += n as u64;
        }
        Ok(out)
    }

    /// Findings of one resource (any state), newest sighting first.
    pub fn resource_finding_ids(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM findings WHERE resource_type = ?1 AND resource_id = ?2
             ORDER BY last_seen DESC, id",
        )?;
        let rows = stmt.query_map(params![resource_type, resource_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The versions of a resource driftd recorded when its drift changed
    /// (each finding event keeps the state's and the cloud's version),
    /// newest first: (time, event, finding id, scan, desired hash, live hash).
    pub fn resource_versions_seen(
        &self,
        resource_type: &str,
        resource_id: &str,
        limit: usize,
    ) -> Result<Vec<VersionSeen>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.at, e.event, e.finding_id, e.scan_id,
                    lower(hex(e.desired_version)), lower(hex(e.live_version)), e.details
               FROM finding_events e JOIN findings f ON f.id = e.finding_id
              WHERE f.resource_type = ?1 AND f.resource_id = ?2
                AND (e.desired_version IS NOT NULL OR e.live_version IS NOT NULL)
              ORDER BY e.at DESC, e.id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![resource_type, resource_id, limit as i64], |r| {
            let details: String = r.get(6)?;
            Ok(VersionSeen {
                at: r.get(0)?,
                event: r.get(1)?,
                finding_id: r.get(2)?,
                scan_id: r.get(3)?,
                desired: r.get(4)?,
                live: r.get(5)?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A resource's versions at one finding event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionSeen {
    pub at: String,
    pub event: String,
    pub finding_id: String,
    pub scan_id: Option<i64>,
    /// The state's version (SHA-256, hex), when the state has the resource.
    pub desired: Option<String>,
    /// The cloud's version, when it exists there.
    pub live: Option<String>,
    /// What the event recorded beyond its kind (new values).
    pub details: serde_json::Value,
}

/// Each explaining event's actor, decoded once however many findings it explains.
#[derive(Default)]
struct ActorCache {
    unpacker: Option<Unpacker>,
    seen: HashMap<String, (Option<String>, Option<String>)>,
}

impl ActorCache {
    fn get(
        &mut self,
        r: &Reader<'_>,
        event_id: &str,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        if let Some(v) = self.seen.get(event_id) {
            return Ok(v.clone());
        }
        let packed: Option<Vec<u8>> = r
            .conn
            .prepare_cached("SELECT raw FROM trail_events WHERE event_id = ?1")?
            .query_row([event_id], |row| row.get(0))
            .optional()?;
        let value = match packed {
            None => (None, None),
            Some(p) => {
                let unpacker = self.unpacker.get_or_insert_with(Unpacker::new);
                let actor = super::attribution::decode_event(unpacker, event_id, &p)?.actor();
                (
                    Some(actor.display()),
                    Some(actor.channel.as_str().to_string()),
                )
            }
        };
        self.seen.insert(event_id.to_string(), value.clone());
        Ok(value)
    }
}

/// Which audit rows the audit page shows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Substrings (case-insensitive) each row must contain, when given.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub subject: Option<String>,
    /// Rows before this sequence number (the next page); `None`: the newest.
    pub before: Option<i64>,
    pub limit: usize,
}

impl Reader<'_> {
    /// Audit rows, newest first.
    pub fn audit_filtered(&self, f: &AuditFilter) -> Result<Vec<super::AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, actor, action, subject, details FROM audit_log
              WHERE (?1 IS NULL OR instr(lower(actor), lower(?1)) > 0)
                AND (?2 IS NULL OR instr(lower(action), lower(?2)) > 0)
                AND (?3 IS NULL OR instr(lower(subject), lower(?3)) > 0)
                AND (?4 IS NULL OR seq < ?4)
              ORDER BY seq DESC LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![f.actor, f.action, f.subject, f.before, f.limit as i64],
            |r| {
                let at: String = r.get(1)?;
                let details: String = r.get(5)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    at,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    details,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, actor, action, subject, details) = row?;
            let at = chrono::DateTime::parse_from_rfc3339(&at)
                .map_err(|e| StoreError::Corrupt {
                    what: format!("the time of audit row {seq}"),
                    reason: e.to_string(),
                })?
                .with_timezone(&chrono::Utc);
            out.push(super::AuditEntry {
                seq,
                record: super::AuditRecord {
                    at,
                    actor,
                    action,
                    subject,
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                },
            });
        }
        Ok(out)
    }
}

impl Reader<'_> {
    /// The target's scans just before and just after `scan`.
    pub fn neighbour_scans(
        &self,
        target: TargetId,
        scan: i64,
    ) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let before = self
            .conn
            .prepare_cached("SELECT max(id) FROM scans WHERE target_id = ?1 AND id < ?2")?
            .query_row(params![target.0, scan], |r| r.get(0))?;
        let after = self
            .conn
            .prepare_cached("SELECT min(id) FROM scans WHERE target_id = ?1 AND id > ?2")?
            .query_row(params![target.0, scan], |r| r.get(0))?;
        Ok((before, after))
    }
}

impl Reader<'_> {
    /// The attributes of a stored resource version (SHA-256, hex), as the
    /// state or the cloud had them (secrets already hashed); `None` when
    /// retention removed it.
    pub fn version_attributes(
        &self,
        hash_hex: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let Ok(hash) = hex::decode(hash_hex) else {
            return Ok(None);
        };
        let packed: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT content FROM resource_versions WHERE hash = ?1")?
            .query_row([hash], |r| r.get(0))
            .optional()?;
        let Some(packed) = packed else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!("resource version {hash_hex}"),
            reason,
        };
        let text = Unpacker::new().unpack(&packed).map_err(corrupt)?;
        let content: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        Ok(content.get("attributes").cloned())
    }
}
