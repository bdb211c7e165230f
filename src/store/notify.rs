//! Tiers, notify events and the outbox (schema/0005_notify.sql).

use super::dao::time_to_sql;
use super::{Reader, StoreError, Writer};
use crate::notify::{Action, Message, MessageKind};
use crate::policy::{Facts, TierDecision};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

/// What a notify event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// The finding became visible (confirmed, reopened and confirmed, a snooze ended).
    New,
    /// A visible finding's live value changed again: its tier may rise.
    ValueChanged,
    Acknowledged,
    Accepted,
    Resolved,
}

impl NotifyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::New => "new",
            NotifyKind::ValueChanged => "value_changed",
            NotifyKind::Acknowledged => "acknowledged",
            NotifyKind::Accepted => "accepted",
            NotifyKind::Resolved => "resolved",
        }
    }

    fn parse(s: &str) -> Option<NotifyKind> {
        [
            NotifyKind::New,
            NotifyKind::ValueChanged,
            NotifyKind::Acknowledged,
            NotifyKind::Accepted,
            NotifyKind::Resolved,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A notify event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotifyEvent {
    pub finding_id: String,
    pub kind: NotifyKind,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub not_before: DateTime<Utc>,
}

/// A recorded notify event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotifyEventRow {
    pub id: i64,
    pub finding_id: String,
    pub kind: NotifyKind,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub not_before: DateTime<Utc>,
    pub routed: bool,
    pub outcome: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Failed for good (a refusal, or too many attempts): `driftd outbox retry`.
    Dead,
    /// Not needed any more (an escalation after an ack, a message about a
    /// finding that resolved before it went out).
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        Some(match s {
            "pending" => DeliveryState::Pending,
            "delivered" => DeliveryState::Delivered,
            "dead" => DeliveryState::Dead,
            "cancelled" => DeliveryState::Cancelled,
            _ => return None,
        })
    }
}

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub key: String,
    pub channel: String,
    pub route: Option<String>,
    pub finding_id: Option<String>,
    pub event_id: Option<i64>,
    pub kind: MessageKind,
    pub action: Action,
    pub tier: Option<u8>,
    pub created_at: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub only_if_open: bool,
    /// The message, when it is fixed at queueing time (a digest).
    pub message: Option<Message>,
}

/// A delivery in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub key: String,
    pub channel: String,
    pub route: Option<String>,
    pub finding_id: Option<String>,
    pub event_id: Option<i64>,
    pub kind: MessageKind,
    pub action: Action,
    pub tier: Option<u8>,
    pub created_at: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub only_if_open: bool,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt: DateTime<Utc>,
    pub last_error: Option<String>,
    pub last_status: Option<u16>,
    #[serde(skip)]
    pub message: Option<Message>,
    pub receipt: Option<serde_json::Value>,
    pub done_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, key, channel, route, finding_id, event_id, kind, action, tier, \
     created_at, not_before, only_if_open, state, attempts, next_attempt, last_error, last_status, \
     message, receipt, done_at";

fn corrupt(what: String, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: reason.to_string(),
    }
}

fn time(text: &str, what: impl FnOnce() -> String) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(what(), format!("time {text:?}: {e}")))
}

fn message_kind(s: &str) -> Option<MessageKind> {
    [
        MessageKind::New,
        MessageKind::Escalated,
        MessageKind::Acknowledged,
        MessageKind::Accepted,
        MessageKind::Resolved,
        MessageKind::Digest,
        MessageKind::ChannelFailed,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
}

/// The columns of a delivery row as read, before parsing.
type RawDelivery = (
    (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        String,
        String,
    ),
    (
        Option<i64>,
        String,
        String,
        bool,
        String,
        i64,
        String,
        Option<String>,
    ),
    (Option<i64>, Option<String>, Option<String>, Option<String>),
);

fn raw_delivery(row: &Row<'_>) -> rusqlite::Result<RawDelivery> {
    Ok((
        (
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
            row.get(7)?,
        ),
        (
            row.get(8)?,
            row.get(9)?,
            row.get(10)?,
            row.get(11)?,
            row.get(12)?,
            row.get(13)?,
            row.get(14)?,
            row.get(15)?,
        ),
        (row.get(16)?, row.get(17)?, row.get(18)?, row.get(19)?),
    ))
}

fn delivery(raw: RawDelivery) -> Result<DeliveryRow, StoreError> {
    let (
        (id, key, channel, route, finding_id, event_id, kind, action),
        (tier, created_at, not_before, only_if_open, state, attempts, next_attempt, last_error),
        (last_status, message, receipt, done_at),
    ) = raw;
    let what = || format!("outbox row {id}");
    Ok(DeliveryRow {
        kind: message_kind(&kind).ok_or_else(|| corrupt(what(), format!("kind {kind:?}")))?,
        action: Action::parse(&action)
            .ok_or_else(|| corrupt(what(), format!("action {action:?}")))?,
        tier: tier.map(|t| t as u8),
        created_at: time(&created_at, what)?,
        not_before: time(&not_before, what)?,
        only_if_open,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| corrupt(what(), format!("state {state:?}")))?,
        attempts: attempts as u32,
        next_attempt: time(&next_attempt, what)?,
        last_error,
        last_status: last_status.map(|s| s as u16),
        message: message
            .map(|m| serde_json::from_str(&m).map_err(|e| corrupt(what(), e)))
            .transpose()?,
        receipt: receipt
            .map(|r| serde_json::from_str(&r).map_err(|e| corrupt(what(), e)))
            .transpose()?,
        done_at: done_at.map(|t| time(&t, what)).transpose()?,
        id,
        key,
        channel,
        route,
        finding_id,
        event_id,
    })
}

/// Which deliveries `driftd outbox list` shows.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub state: Option<DeliveryState>,
    pub channel: Option<String>,
    pub finding_id: Option<String>,
    pub limit: usize,
}

/// Outbox rows by state, for `/metrics` and `outbox list`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
    pub cancelled: u64,
}

impl Reader<'_> {
    /// A finding's facts and last tier decision.
    pub fn finding_policy(
        &self,
        finding_id: &str,
    ) -> Result<Option<(Facts, TierDecision)>, StoreError> {
        let row: Option<(String, i64, Option<String>, String)> = self
            .conn
            .prepare_cached(
                "SELECT facts, tier, rule, why FROM finding_policy WHERE finding_id = ?1",
            )?
            .query_row([finding_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        row.map(|(facts, tier, rule, why)| {
            let facts = serde_json::from_str(&facts)
                .map_err(|e| corrupt(format!("finding_policy of {finding_id}"), e))?;
            Ok((
                facts,
                TierDecision {
                    tier: tier as u8,
                    rule,
                    why,
                },
            ))
        })
        .transpose()
    }

    /// Pending notify events ready to route at `now`: their wait is over, or
    /// their finding's attribution has settled (found or unknown).
    pub fn notify_events_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<NotifyEventRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id, e.finding_id, e.kind, e.at, e.by, e.not_before, e.state, e.outcome
             FROM notify_events e LEFT JOIN attributions a ON a.finding_id = e.finding_id
             WHERE e.state = 'pending'
               AND (e.not_before <= ?1 OR a.status IN ('found', 'unknown'))
             ORDER BY e.id LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![time_to_sql(now), limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(id, finding_id, kind, at, by, not_before, state, outcome)| {
                    let what = || format!("notify event {id}");
                    Ok(NotifyEventRow {
                        kind: NotifyKind::parse(&kind)
                            .ok_or_else(|| corrupt(what(), format!("kind {kind:?}")))?,
                        at: time(&at, what)?,
                        not_before: time(&not_before, what)?,
                        routed: state == "routed",
                        id,
                        finding_id,
                        by,
                        outcome,
                    })
                },
            )
            .collect()
    }

    /// Every delivery about a finding, oldest first.
    pub fn deliveries_for_finding(&self, finding_id: &str) -> Result<Vec<DeliveryRow>, StoreError> {
        self.deliveries_where("finding_id = ?1 ORDER BY id", params![finding_id])
    }

    /// Whether a delivery with `key` exists.
    pub fn delivery_exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox WHERE key = ?1)")?
            .query_row([key], |r| r.get(0))?)
    }

    pub fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        Ok(self.deliveries_where("id = ?1", params![id])?.pop())
    }

    /// Deliveries for `driftd outbox list`, newest first.
    pub fn outbox(&self, filter: &OutboxFilter) -> Result<Vec<DeliveryRow>, StoreError> {
        self.deliveries_where(
            "(?1 IS NULL OR state = ?1) AND (?2 IS NULL OR channel = ?2)
             AND (?3 IS NULL OR finding_id = ?3) ORDER BY id DESC LIMIT ?4",
            params![
                filter.state.map(DeliveryState::as_str),
                filter.channel,
                filter.finding_id,
                if filter.limit == 0 {
                    -1
                } else {
                    filter.limit as i64
                }
            ],
        )
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
        let mut counts = OutboxCounts::default();
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            let n = n as u64;
            match state.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                "dead" => counts.dead = n,
                _ => counts.cancelled = n,
            }
        }
        Ok(counts)
    }

    /// Findings that need attention with their tier: what digests sum up.
    pub fn open_findings_with_tier(
        &self,
    ) -> Result<Vec<(crate::findings::Finding, u8)>, StoreError> {
        let tiers: std::collections::HashMap<String, u8> = self
            .conn
            .prepare_cached("SELECT finding_id, tier FROM finding_policy")?
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u8))
            })?
            .collect::<Result<_, _>>()?;
        let findings = self.findings(&crate::store::FindingFilter::default())?;
        Ok(findings
            .into_iter()
            .filter(|f| f.needs_attention())
            .filter_map(|f| tiers.get(&f.id).map(|&t| (f, t)))
            .collect())
    }

    fn deliveries_where(
        &self,
        condition: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM outbox WHERE {condition}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let raws = stmt
            .query_map(p, raw_delivery)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(delivery).collect()
    }
}

impl Writer<'_> {
    /// Records a finding's facts and tier decision.
    pub fn save_finding_policy(
        &self,
        finding_id: &str,
        facts: &Facts,
        decision: &TierDecision,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let facts = serde_json::to_string(facts).expect("facts serialise");
        self.conn
            .prepare_cached(
                "INSERT INTO finding_policy (finding_id, facts, tier, rule, why, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (finding_id) DO UPDATE SET facts = excluded.facts,
                     tier = excluded.tier, rule = excluded.rule, why = excluded.why,
                     decided_at = excluded.decided_at",
            )?
            .execute(params![
                finding_id,
                facts,
                decision.tier,
                decision.rule,
                decision.why,
                time_to_sql(at)
            ])?;
        Ok(())
    }

    /// Records a new tier decision for a finding that has facts.
    pub fn save_tier(
        &self,
        finding_id: &str,
        decision: &TierDecision,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE finding_policy SET tier = ?2, rule = ?3, why = ?4, decided_at = ?5 WHERE finding_id = ?1")?
            .execute(params![finding_id, decision.tier, decision.rule, decision.why, time_to_sql(at)])?;
        Ok(())
    }

    pub fn add_notify_events(&self, events: &[NewNotifyEvent]) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO notify_events (finding_id, kind, at, by, not_before) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for e in events {
            stmt.execute(params![
                e.finding_id,
                e.kind.as_str(),
                time_to_sql(e.at),
                e.by,
                time_to_sql(e.not_before)
            ])?;
        }
        Ok(())
    }

    pub fn mark_routed(
        &self,
        event_id: i64,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE notify_events SET state = 'routed', routed_at = ?2, outcome = ?3 WHERE id = ?1")?
            .execute(params![event_id, time_to_sql(at), outcome])?;
        Ok(())
    }

    /// Queues deliveries; one whose key is queued already is left as it is.
    /// Returns how many were new.
    pub fn queue_deliveries(&self, deliveries: &[NewDelivery]) -> Result<usize, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO outbox (key, channel, route, finding_id, event_id, kind, action, tier,
                 created_at, not_before, only_if_open, next_attempt, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12)
             ON CONFLICT (key) DO NOTHING",
        )?;
        let mut new = 0;
        for d in deliveries {
            new += stmt.execute(params![
                d.key,
                d.channel,
                d.route,
                d.finding_id,
                d.event_id,
                d.kind.as_str(),
                d.action.as_str(),
                d.tier,
                time_to_sql(d.created_at),
                time_to_sql(d.not_before),
                d.only_if_open,
                d.message
                    .as_ref()
                    .map(|m| serde_json::to_string(m).expect("messages serialise")),
            ])?;
        }
        Ok(new)
    }

    /// Claims up to `limit` deliveries due at `now` that no other worker
    /// holds, until `lease_until`, oldest first.
    pub fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let now_text = time_to_sql(now);
        let rows = self.deliveries_where(
            "state = 'pending' AND next_attempt <= ?1 AND not_before <= ?1
               AND (lease_until IS NULL OR lease_until <= ?1)
             ORDER BY next_attempt, id LIMIT ?2",
            params![now_text, limit as i64],
        )?;
        let mut lease = self
            .conn
            .prepare_cached("UPDATE outbox SET lease_until = ?2 WHERE id = ?1")?;
        for r in &rows {
            lease.execute(params![r.id, time_to_sql(lease_until)])?;
        }
        Ok(rows)
    }

    /// Forgets finished deliveries (delivered, dead, cancelled) older than
    /// `horizon`, except those about a finding still active (a later
    /// message may edit the first one), and routed notify events older than
    /// it that no delivery names; at most `limit` rows each. Returns
    /// `(deliveries, events)` removed.
    pub fn prune_outbox(
        &self,
        horizon: DateTime<Utc>,
        limit: u32,
    ) -> Result<(u64, u64), StoreError> {
        let horizon = time_to_sql(horizon);
        let deliveries = self.conn.execute(
            "DELETE FROM outbox WHERE id IN (
                 SELECT o.id FROM outbox o
                 WHERE o.state != 'pending' AND o.done_at < ?1
                   AND (o.finding_id IS NULL OR NOT EXISTS (
                       SELECT 1 FROM findings f WHERE f.id = o.finding_id
                         AND f.state IN ('open', 'acknowledged', 'snoozed')))
                 LIMIT ?2)",
            params![horizon, limit],
        )?;
        let events = self.conn.execute(
            "DELETE FROM notify_events WHERE id IN (
                 SELECT e.id FROM notify_events e
                 WHERE e.state = 'routed' AND e.routed_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.id)
                 LIMIT ?2)",
            params![horizon, limit],
        )?;
        Ok((deliveries as u64, events as u64))
    }

    /// Frees every claimed row: called by a worker that holds the outbox
    /// lock, so any lease left is from a worker that died.
    pub fn release_leases(&self) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET lease_until = NULL WHERE lease_until IS NOT NULL",
            [],
        )?)
    }

    /// The earliest time a pending delivery becomes due (for the worker's sleep).
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT min(max(next_attempt, not_before)) FROM outbox WHERE state = 'pending'",
            )?
            .query_row([], |r| r.get(0))?;
        text.map(|t| time(&t, || "outbox".into())).transpose()
    }

    /// Keeps the message a delivery sends, so a retry sends the same one.
    pub fn set_delivery_message(&self, id: i64, message: &Message) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE outbox SET message = ?2 WHERE id = ?1")?
            .execute(params![
                id,
                serde_json::to_string(message).expect("messages serialise")
            ])?;
        Ok(())
    }

    pub fn record_delivered(
        &self,
        id: i64,
        attempts: u32,
        receipt: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET state = 'delivered', attempts = ?2, receipt = ?3, done_at = ?4,
                     lease_until = NULL, last_error = NULL WHERE id = ?1",
            )?
            .execute(params![id, attempts, receipt.to_string(), time_to_sql(at)])?;
        Ok(())
    }

    /// Records a failed attempt: retried at `next_attempt`, or dead.
    pub fn record_failure(
        &self,
        id: i64,
        attempts: u32,
        error: &str,
        status: Option<u16>,
        next_attempt: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match next_attempt {
            Some(next) => self
                .conn
                .prepare_cached(
                    "UPDATE outbox SET attempts = ?2, last_error = ?3, last_status = ?4,
                         next_attempt = ?5, lease_until = NULL WHERE id = ?1",
                )?
                .execute(params![id, attempts, error, status, time_to_sql(next)])?,
            None => self
                .conn
                .prepare_cached(
                    "UPDATE outbox SET state = 'dead', attempts = ?2, last_error = ?3,
                         last_status = ?4, done_at = ?5, lease_until = NULL WHERE id = ?1",
                )?
                .execute(params![id, attempts, error, status, time_to_sql(at)])?,
        };
        Ok(())
    }

    /// Cancels a pending delivery, saying why.
    pub fn cancel_delivery(&self, id: i64, why: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET state = 'cancelled', last_error = ?2, done_at = ?3,
                     lease_until = NULL WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![id, why, time_to_sql(at)])?;
        Ok(())
    }

    /// Puts a dead or cancelled delivery back in the queue, due at `now`.
    /// Returns false when it is pending or delivered already.
    pub fn retry_delivery(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ?2,
                     not_before = min(not_before, ?2), done_at = NULL, lease_until = NULL
                 WHERE id = ?1 AND state IN ('dead', 'cancelled')",
            )?
            .execute(params![id, time_to_sql(now)])?;
        Ok(changed == 1)
    }
}
