//! The outbox worker: routes notify events into deliveries, queues digests,
//! and delivers what is due, with retries, per-channel rate limits, a
//! dead-letter state and an audit row for every attempt.
//!
//! Crash safety (DESIGN.md invariant 5): every step is a store transaction.
//! Routing marks the event routed and queues its deliveries together;
//! delivery keys are unique, so routing twice queues nothing twice. A
//! delivery is marked delivered after the receiver confirmed it; a crash in
//! between sends it again, with the same delivery id / PagerDuty `dedup_key`
//! / Message-ID, so receivers that deduplicate see it once.

use super::build;
use super::route::{self, Input};
use super::sinks;
use super::{Action, Delivery, Message, MessageKind, Retry, SendError, Sink};
use crate::clock::Clock;
use crate::config::Config;
use crate::secrets::SecretKey;
use crate::store::{AuditRecord, DeliveryRow, NewDelivery, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What sending one delivery came to.
type Outcome = (DeliveryRow, Result<serde_json::Value, SendError>);

/// Outcomes recorded together at most this many...
const FLUSH_AT: usize = 64;
/// ...or after this long.
const FLUSH_EVERY: Duration = Duration::from_millis(20);

/// Deliveries claimed per round.
pub const BATCH: usize = 500;
/// Deliveries in flight at once, across channels.
pub const IN_FLIGHT: usize = 64;
/// First retry after this; doubled per attempt, capped at [`MAX_BACKOFF`].
pub const BASE_BACKOFF: Duration = Duration::from_secs(10);
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassStats {
    pub events_routed: usize,
    pub queued: usize,
    pub digests: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
    pub cancelled: usize,
}

impl std::ops::AddAssign for PassStats {
    fn add_assign(&mut self, o: PassStats) {
        self.events_routed += o.events_routed;
        self.queued += o.queued;
        self.digests += o.digests;
        self.delivered += o.delivered;
        self.retrying += o.retrying;
        self.dead += o.dead;
        self.cancelled += o.cancelled;
    }
}

/// Why the worker could not go on (the store failed; deliveries themselves never fail a pass).
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a delivery task failed: {0}")]
    Task(String),
    #[error("{0}")]
    Lock(String),
}

/// A channel's pacing: at most `rate` deliveries per second.
#[derive(Debug)]
struct Pace {
    every: Duration,
    next: tokio::time::Instant,
}

pub struct Outbox {
    /// Held while this worker delivers: one worker per store (the daemon,
    /// or `driftd outbox run`), released by the OS if the process dies.
    _lock: Option<std::fs::File>,
    store: Arc<Store>,
    key: SecretKey,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    sinks: HashMap<String, Arc<dyn Sink>>,
    pace: Arc<Mutex<HashMap<String, Pace>>>,
}

impl Outbox {
    pub fn new(
        store: Arc<Store>,
        key: SecretKey,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
    ) -> Outbox {
        Outbox {
            _lock: None,
            store,
            key,
            config,
            clock,
            sinks: HashMap::new(),
            pace: Arc::default(),
        }
    }

    /// A reloaded config: channels, routes and settings from now on (the
    /// sinks are built again on their next use; the lock is kept).
    pub fn set_config(&mut self, config: Arc<Config>) {
        self.config = config;
        self.sinks.clear();
        self.pace.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Takes the store's outbox lock (`<store>.outbox.lock`), so no other
    /// process delivers at the same time; a worker that died (even by
    /// `kill -9`) released it, and the rows it had claimed are free again.
    pub fn locked(mut self, store_path: &std::path::Path) -> Result<Outbox, OutboxError> {
        let mut name = store_path.as_os_str().to_owned();
        name.push(".outbox.lock");
        let path = std::path::PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| OutboxError::Lock(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(OutboxError::Lock(format!(
                    "another driftd process (the daemon?) is delivering this store's outbox ({} is locked); \
                     it will send what is queued",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(OutboxError::Lock(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
        }
        self.store.write(|w| w.release_leases())?;
        self._lock = Some(file);
        Ok(self)
    }

    /// Uses `sink` for channel `name` instead of building one from config.
    pub fn with_sink(mut self, name: &str, sink: Arc<dyn Sink>) -> Outbox {
        self.sinks.insert(name.to_string(), sink);
        self
    }

    fn environment_of(&self, target: &str) -> String {
        self.config
            .targets
            .iter()
            .find(|t| t.name == target)
            .map_or_else(String::new, |t| t.environment.clone())
    }

    /// Routes the notify events that are due, each event in one transaction
    /// with the deliveries it queues.
    pub fn route_due(&self) -> Result<PassStats, OutboxError> {
        let now = self.clock.now();
        let mut stats = PassStats::default();
        loop {
            let events = self.store.read(|r| r.notify_events_due(now, 200))?;
            if events.is_empty() {
                return Ok(stats);
            }
            for event in events {
                let queued = self.store.write(|w| {
                    let f = match w.finding(&event.finding_id)? {
                        crate::store::FindingLookup::Found(f) => *f,
                        _ => {
                            w.mark_routed(event.id, "the finding is gone", now)?;
                            return Ok::<_, StoreError>(0);
                        }
                    };
                    let environment = self.environment_of(&f.target);
                    let earlier = w.deliveries_for_finding(&f.id)?;
                    let routed_tier = earlier.iter().filter_map(|d| d.tier).max();
                    let tier = match w.finding_policy(&f.id)? {
                        Some((facts, old)) => {
                            let actor = super::enqueue::actor_kind(w, &f.id)?;
                            let decision =
                                crate::policy::decide(&facts, actor, &self.config.policy);
                            if decision != old {
                                w.save_tier(&f.id, &decision, now)?;
                            }
                            decision.tier
                        }
                        None => self.config.policy.default_tier,
                    };
                    let plan = route::plan(
                        &Input {
                            event: &event,
                            finding: &f,
                            environment: &environment,
                            tier,
                            routed_tier,
                            earlier: &earlier,
                            now,
                        },
                        &self.config.routes,
                    );
                    for (id, why) in &plan.cancel {
                        w.cancel_delivery(*id, why, now)?;
                    }
                    let queued = w.queue_deliveries(&plan.deliveries)?;
                    w.mark_routed(event.id, &plan.outcome, now)?;
                    Ok(queued)
                })?;
                stats.events_routed += 1;
                stats.queued += queued;
            }
        }
    }

    /// Queues each route's digest for the current period, once.
    pub fn queue_digests(&self) -> Result<PassStats, OutboxError> {
        let now = self.clock.now();
        let mut stats = PassStats::default();
        let digest_routes: Vec<_> = self
            .config
            .routes
            .iter()
            .filter(|r| r.digest.is_some())
            .collect();
        if digest_routes.is_empty() {
            return Ok(stats);
        }
        let report_url = self.config.notify.report_url.as_deref();
        for r in digest_routes {
            let every = r.digest.expect("filtered");
            let Some(start) = route::digest_period(every, &r.timezone, now) else {
                continue;
            };
            let key = |channel: &str| format!("digest/{}/{}/{channel}", r.name, start.to_rfc3339());
            let missing: Vec<&String> = self.store.read(|rd| {
                let mut missing = Vec::new();
                for c in &r.channels {
                    if !rd.delivery_exists(&key(c))? {
                        missing.push(c);
                    }
                }
                Ok::<_, StoreError>(missing)
            })?;
            if missing.is_empty() {
                continue;
            }
            let open = self.store.read(|rd| rd.open_findings_with_tier())?;
            let mut lines = Vec::new();
            for (f, tier) in &open {
                let env = self.environment_of(&f.target);
                if route::route_matches(r, f, &env, *tier) {
                    let actor = self.store.read(|rd| build::actor_line(rd, &f.id))?;
                    lines.push(build::digest_line(f, *tier, actor.summary, report_url));
                }
            }
            if lines.is_empty() {
                continue;
            }
            let period = match every {
                crate::config::DigestEvery::Hourly => format!("{}/PT1H", start.to_rfc3339()),
                crate::config::DigestEvery::Daily { .. } => format!("{}/P1D", start.to_rfc3339()),
            };
            let message = build::digest_message(&r.name, start, &period, lines, now);
            let deliveries: Vec<NewDelivery> = missing
                .iter()
                .map(|c| fixed_message(key(c), c, Some(&r.name), &message, now))
                .collect();
            let n = self.store.write(|w| w.queue_deliveries(&deliveries))?;
            stats.digests += n;
            stats.queued += n;
        }
        Ok(stats)
    }

    fn sink(&mut self, channel: &str) -> Result<Arc<dyn Sink>, SendError> {
        if let Some(s) = self.sinks.get(channel) {
            return Ok(s.clone());
        }
        let config = self
            .config
            .channels
            .iter()
            .find(|c| c.name == channel)
            .ok_or_else(|| {
                SendError::transient(format!(
                    "channel {channel} is not in the config any more: add it back, or cancel its deliveries"
                ))
            })?;
        let sink: Arc<dyn Sink> =
            Arc::from(sinks::build(config).map_err(|e| SendError::transient(e.to_string()))?);
        self.sinks.insert(channel.to_string(), sink.clone());
        Ok(sink)
    }

    fn timeout_of(&self, channel: &str) -> Duration {
        self.config
            .channels
            .iter()
            .find(|c| c.name == channel)
            .map_or(Duration::from_secs(10), |c| c.timeout)
    }

    fn rate_of(&self, channel: &str) -> f64 {
        self.config
            .channels
            .iter()
            .find(|c| c.name == channel)
            .map_or(1.0, |c| c.rate_per_second)
    }

    /// Delivers what is due now, in rounds of [`BATCH`], until nothing is due.
    pub async fn deliver_due(&mut self) -> Result<PassStats, OutboxError> {
        let mut stats = PassStats::default();
        loop {
            let now = self.clock.now();
            let lease = now + chrono::Duration::minutes(5);
            let rows = self.store.write(|w| w.claim_due(now, lease, BATCH))?;
            if rows.is_empty() {
                return Ok(stats);
            }
            stats += self.deliver_batch(rows).await?;
        }
    }

    async fn deliver_batch(&mut self, rows: Vec<DeliveryRow>) -> Result<PassStats, OutboxError> {
        let now = self.clock.now();
        let mut stats = PassStats::default();
        // Messages first (read-only), then cancellations and kept messages in one write.
        let mut ready: Vec<(DeliveryRow, Message)> = Vec::with_capacity(rows.len());
        let mut cancel: Vec<(i64, String)> = Vec::new();
        let mut keep: Vec<(i64, Message)> = Vec::new();
        self.store.read(|r| {
            for row in rows {
                if row.only_if_open
                    && let Some(fid) = &row.finding_id
                {
                    let open = match r.finding(fid)? {
                        crate::store::FindingLookup::Found(f) => {
                            matches!(f.state, crate::findings::State::Open) && f.needs_attention()
                        }
                        _ => false,
                    };
                    if !open {
                        cancel.push((
                            row.id,
                            "acknowledged or no longer open before the escalation was due".into(),
                        ));
                        continue;
                    }
                }
                let message = match &row.message {
                    Some(m) => m.clone(),
                    None => {
                        let fid = row.finding_id.as_deref().unwrap_or_default();
                        let env = match r.finding(fid)? {
                            crate::store::FindingLookup::Found(f) => self.environment_of(&f.target),
                            _ => String::new(),
                        };
                        match build::finding_message(
                            r,
                            fid,
                            row.kind,
                            row.tier,
                            &env,
                            self.config.notify.report_url.as_deref(),
                            now,
                        )? {
                            Some(m) => {
                                keep.push((row.id, m.clone()));
                                m
                            }
                            None => {
                                cancel.push((row.id, "the finding no longer exists".into()));
                                continue;
                            }
                        }
                    }
                };
                ready.push((row, message));
            }
            Ok::<_, StoreError>(())
        })?;
        if !cancel.is_empty() || !keep.is_empty() {
            self.store.write(|w| {
                for (id, m) in &keep {
                    w.set_delivery_message(*id, m)?;
                }
                for (id, why) in &cancel {
                    w.cancel_delivery(*id, why, now)?;
                    w.append_audit(
                        &self.key,
                        &audit(
                            now,
                            "notification.cancelled",
                            *id,
                            serde_json::json!({ "why": why }),
                        ),
                    )?;
                }
                Ok::<_, StoreError>(())
            })?;
        }
        stats.cancelled += cancel.len();

        // The receipt of the first message to each (finding, channel), for edits.
        let mut earlier: HashMap<(String, String), serde_json::Value> = HashMap::new();
        let needs_earlier: Vec<&DeliveryRow> = ready
            .iter()
            .map(|(r, _)| r)
            .filter(|r| r.action != Action::Notify && r.finding_id.is_some())
            .collect();
        if !needs_earlier.is_empty() {
            self.store.read(|r| {
                for row in needs_earlier {
                    let fid = row.finding_id.clone().expect("filtered");
                    if let Some(first) = r.deliveries_for_finding(&fid)?.into_iter().find(|d| {
                        d.channel == row.channel
                            && d.action == Action::Notify
                            && d.receipt.is_some()
                    }) {
                        earlier.insert((fid, row.channel.clone()), first.receipt.expect("checked"));
                    }
                }
                Ok::<_, StoreError>(())
            })?;
        }

        // Send, at most IN_FLIGHT at once, each channel at its pace. Each
        // outcome is recorded as soon as it is known (grouped when many
        // complete together), so a crash re-sends at most what was in flight.
        let mut tasks = tokio::task::JoinSet::new();
        let mut done: Vec<Outcome> = Vec::new();
        let mut flushed = std::time::Instant::now();
        for (row, message) in ready {
            let sink = match self.sink(&row.channel) {
                Ok(s) => s,
                Err(e) => {
                    done.push((row, Err(e)));
                    continue;
                }
            };
            let wait = self.slot(&row.channel);
            // A sink bounds its own calls; this bounds a sink that does not.
            let limit = self.timeout_of(&row.channel) + Duration::from_secs(5);
            let receipt = row
                .finding_id
                .as_ref()
                .and_then(|f| earlier.get(&(f.clone(), row.channel.clone())).cloned());
            while tasks.len() >= IN_FLIGHT {
                if let Some(outcome) = tasks.join_next().await {
                    done.push(outcome.map_err(|e| OutboxError::Task(e.to_string()))?);
                }
            }
            while let Some(outcome) = tasks.try_join_next() {
                done.push(outcome.map_err(|e| OutboxError::Task(e.to_string()))?);
            }
            if !done.is_empty() && (done.len() >= FLUSH_AT || flushed.elapsed() >= FLUSH_EVERY) {
                stats += self.record(std::mem::take(&mut done))?;
                flushed = std::time::Instant::now();
            }
            tasks.spawn(async move {
                tokio::time::sleep_until(wait).await;
                let delivery = Delivery {
                    id: &row.key,
                    action: row.action,
                    message: &message,
                    earlier_receipt: receipt.as_ref(),
                };
                let result = match tokio::time::timeout(limit, sink.send(&delivery)).await {
                    Ok(result) => result,
                    Err(_) => Err(SendError::transient(format!(
                        "{}: no answer within {} s",
                        row.channel,
                        limit.as_secs()
                    ))),
                };
                (row, result)
            });
        }
        while let Some(outcome) = tasks.join_next().await {
            done.push(outcome.map_err(|e| OutboxError::Task(e.to_string()))?);
            if done.len() >= FLUSH_AT || flushed.elapsed() >= FLUSH_EVERY || tasks.is_empty() {
                stats += self.record(std::mem::take(&mut done))?;
                flushed = std::time::Instant::now();
            }
        }
        if !done.is_empty() {
            stats += self.record(done)?;
        }
        Ok(stats)
    }

    /// Records outcomes and their audit rows in one transaction; a channel
    /// whose delivery went dead is told about through `dead_letter_to`.
    fn record(&self, outcomes: Vec<Outcome>) -> Result<PassStats, OutboxError> {
        let mut stats = PassStats::default();
        // Record every outcome and its audit row in one transaction.
        let now = self.clock.now();
        let max_attempts = self.config.notify.max_attempts;
        let mut failed_channels: HashMap<String, String> = HashMap::new();
        self.store.write(|w| {
            for (row, result) in &outcomes {
                let attempts = row.attempts + 1;
                let base = serde_json::json!({
                    "channel": row.channel,
                    "kind": row.kind.as_str(),
                    "action": row.action.as_str(),
                    "finding": row.finding_id,
                    "attempt": attempts,
                });
                match result {
                    Ok(receipt) => {
                        w.record_delivered(row.id, attempts, receipt, now)?;
                        w.append_audit(&self.key, &audit(now, "notification.delivered", row.id, base))?;
                        stats.delivered += 1;
                    }
                    Err(e) => {
                        let next = match e.retry {
                            Retry::Later(after) if attempts < max_attempts => {
                                Some(now + backoff(attempts, after, jitter()))
                            }
                            _ => None,
                        };
                        w.record_failure(row.id, attempts, &e.detail, e.status, next, now)?;
                        let mut details = base;
                        details["error"] = e.detail.clone().into();
                        details["status"] = e.status.into();
                        if let Some(next) = next {
                            details["next_attempt"] = next.to_rfc3339().into();
                            w.append_audit(&self.key, &audit(now, "notification.failed", row.id, details))?;
                            stats.retrying += 1;
                        } else {
                            w.append_audit(&self.key, &audit(now, "notification.dead", row.id, details))?;
                            stats.dead += 1;
                            if row.kind != MessageKind::ChannelFailed {
                                failed_channels.insert(row.channel.clone(), e.detail.clone());
                            }
                        }
                    }
                }
            }
            // A channel that is down is a problem someone must hear about,
            // through another channel: once per channel per hour.
            for (channel, error) in &failed_channels {
                let dead = w
                    .outbox(&crate::store::OutboxFilter {
                        state: Some(crate::store::DeliveryState::Dead),
                        channel: Some(channel.clone()),
                        finding_id: None,
                        limit: 0,
                    })?
                    .len();
                let message = build::channel_failed_message(channel, dead, error, now);
                let hour = now.format("%Y-%m-%dT%H");
                let tell: Vec<NewDelivery> = self
                    .config
                    .notify
                    .dead_letter_to
                    .iter()
                    .filter(|c| *c != channel)
                    .map(|c| {
                        let key = format!("channel-failed/{channel}/{hour}/{c}");
                        fixed_message(key, c, None, &message, now)
                    })
                    .collect();
                stats.queued += w.queue_deliveries(&tell)?;
                tracing::error!(channel = %channel, dead, error = %error, "deliveries to a channel are failing for good");
            }
            Ok::<_, StoreError>(())
        })?;
        Ok(stats)
    }

    /// When the next delivery to `channel` may start.
    fn slot(&self, channel: &str) -> tokio::time::Instant {
        let rate = self.rate_of(channel);
        let mut pace = self.pace.lock().expect("pace lock");
        let now = tokio::time::Instant::now();
        let p = pace.entry(channel.to_string()).or_insert_with(|| Pace {
            every: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next: now,
        });
        let at = p.next.max(now);
        p.next = at + p.every;
        at
    }

    /// One pass: route due events, queue due digests, deliver what is due.
    pub async fn run_once(&mut self) -> Result<PassStats, OutboxError> {
        let mut stats = self.route_due()?;
        stats += self.queue_digests()?;
        stats += self.deliver_due().await?;
        Ok(stats)
    }

    /// When something next becomes due (for the caller's sleep).
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, OutboxError> {
        Ok(self.store.write(|w| w.next_due())?)
    }
}

/// A delivery of a message fixed when it is queued (a digest, a channel failure).
fn fixed_message(
    key: String,
    channel: &str,
    route: Option<&str>,
    message: &Message,
    now: DateTime<Utc>,
) -> NewDelivery {
    NewDelivery {
        key,
        channel: channel.to_string(),
        route: route.map(str::to_string),
        finding_id: None,
        event_id: None,
        kind: message.kind,
        action: Action::Notify,
        tier: None,
        created_at: now,
        not_before: now,
        only_if_open: false,
        message: Some(message.clone()),
    }
}

fn audit(at: DateTime<Utc>, action: &str, id: i64, details: serde_json::Value) -> AuditRecord {
    AuditRecord {
        at,
        actor: crate::findings::DRIFTD.into(),
        action: action.into(),
        subject: format!("outbox/{id}"),
        details,
    }
}

/// A factor in [0.8, 1.2).
fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    0.8 + f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) * 0.4
}

/// How long to wait after `attempts` failed attempts: exponential with
/// jitter, capped; never less than the receiver's `Retry-After`.
pub fn backoff(attempts: u32, retry_after: Option<Duration>, jitter: f64) -> chrono::Duration {
    let exp = BASE_BACKOFF.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
    let wait = exp.min(MAX_BACKOFF).mul_f64(jitter);
    let wait = retry_after.map_or(wait, |r| wait.max(r).min(MAX_BACKOFF.max(r)));
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_honours_retry_after() {
        assert_eq!(backoff(1, None, 1.0), chrono::Duration::seconds(10));
        assert_eq!(backoff(2, None, 1.0), chrono::Duration::seconds(20));
        assert_eq!(backoff(4, None, 1.2), chrono::Duration::seconds(96));
        assert_eq!(backoff(30, None, 1.0), chrono::Duration::hours(1));
        assert_eq!(
            backoff(1, Some(Duration::from_secs(120)), 1.0),
            chrono::Duration::seconds(120)
        );
        assert_eq!(
            backoff(3, Some(Duration::from_secs(2)), 1.0),
            chrono::Duration::seconds(40)
        );
        let j = jitter();
        assert!((0.8..1.2).contains(&j));
    }
}
