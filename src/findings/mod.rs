//! Findings over time: the pure lifecycle that turns each scan's drift into
//! findings with stable ids, states and events, and the human decisions on
//! them. No IO here: [`ops`] runs these against the store, for the CLI now
//! and the report pages later.
//!
//! A finding is one drift kind on one resource for one set of top-level
//! attributes, within one target. It becomes *visible* (shown and notifiable)
//! once it has been seen in `confirm_after` consecutive complete observations,
//! or at once when a re-read of its resource in the same scan confirmed it, so
//! an in-flight apply or eventual consistency never pages anyone. It is
//! *resolved* only by a scan whose listings of its resource type completed
//! without it: a partial scan never resolves what it could not read. A drift
//! an ignore rule covers is still tracked and counted, marked with the rule.

pub mod ops;

use crate::model::ResourceKey;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

/// The actor of what driftd itself does.
pub const DRIFTD: &str = "driftd";

/// What kind of drift a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Changed,
    Unmanaged,
    Missing,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Changed => "changed",
            Kind::Unmanaged => "unmanaged",
            Kind::Missing => "missing",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Changed, Kind::Unmanaged, Kind::Missing]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Open,
    /// Someone is on it.
    Acknowledged,
    /// The change is intended (to be codified, not reverted); the reason is on the finding.
    Accepted,
    /// Out of sight until `until`.
    Snoozed {
        until: DateTime<Utc>,
    },
    /// No longer seen, by a scan that could have seen it.
    Resolved {
        scan_id: i64,
    },
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Open => "open",
            State::Acknowledged => "acknowledged",
            State::Accepted => "accepted",
            State::Snoozed { .. } => "snoozed",
            State::Resolved { .. } => "resolved",
        }
    }

    /// Not resolved: still drifting as far as driftd knows.
    pub fn is_active(&self) -> bool {
        !matches!(self, State::Resolved { .. })
    }
}

/// A resource version's hash in the store (`resource_versions.hash`).
pub type VersionHash = [u8; 32];

/// One drift as a scan observed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub kind: Kind,
    pub key: ResourceKey,
    /// The Terraform address, when a state names the resource.
    pub address: Option<String>,
    /// Top-level attributes (changed drift only; empty otherwise).
    pub attributes: BTreeSet<String>,
    /// The differing values as reports show them (secrets already
    /// "sensitive"), `{path: {recorded, live}}`: a new value is a new event.
    pub changes: serde_json::Value,
    /// The ignore rule that covers this drift, if one does.
    pub ignored_by: Option<String>,
    /// A re-read of the resource later in the same scan saw the same drift.
    pub confirmed_by_reread: bool,
    pub desired_version: Option<VersionHash>,
    pub live_version: Option<VersionHash>,
}

/// The stable id: target, kind, resource key and attribute set, hashed; 16 hex digits.
pub fn finding_id(
    target: &str,
    kind: Kind,
    key: &ResourceKey,
    attributes: &BTreeSet<String>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        target,
        kind.as_str(),
        &key.provider,
        &key.resource_type,
        &key.id,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for a in attributes {
        h.update(a.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// A finding and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: String,
    pub target: String,
    pub kind: Kind,
    pub key: ResourceKey,
    pub address: Option<String>,
    pub attributes: BTreeSet<String>,
    #[serde(flatten)]
    pub state: State,
    /// Who put it in its state: a person, or `driftd`.
    pub state_by: String,
    /// Why (required for accepted and snoozed).
    pub state_reason: Option<String>,
    pub state_at: DateTime<Utc>,
    /// Consecutive complete scans that saw it (restarts when it reopens).
    pub seen: u32,
    /// Shown and notifiable: seen `confirm_after` times in a row, or confirmed by a re-read.
    pub visible: bool,
    /// The ignore rule that covered it at its last sighting.
    pub ignored_by: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub first_scan: i64,
    pub last_scan: i64,
    pub changes: serde_json::Value,
    #[serde(skip)]
    pub desired_version: Option<VersionHash>,
    #[serde(skip)]
    pub live_version: Option<VersionHash>,
}

impl Finding {
    /// Whether notifications and the default listing show it now: visible,
    /// not ignored, not resolved, not accepted, not snoozed.
    pub fn needs_attention(&self) -> bool {
        self.visible
            && self.ignored_by.is_none()
            && matches!(self.state, State::Open | State::Acknowledged)
    }
}

/// Declares [`EventKind`] with its stored names, in one list.
macro_rules! event_kinds {
    ($($kind:ident = $name:literal,)*) => {
        /// What happened to a finding.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum EventKind {
            $(#[serde(rename = $name)] $kind,)*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: &[EventKind] = &[$(EventKind::$kind,)*];

            /// The name stored in `finding_events.event` and shown in output.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$kind => $name,)*
                }
            }
        }
    };
}

event_kinds! {
    Opened = "opened",
    Confirmed = "confirmed",
    ValueChanged = "value_changed",
    Resolved = "resolved",
    Reopened = "reopened",
    SnoozeEnded = "snooze_ended",
    Acknowledged = "acknowledged",
    Accepted = "accepted",
    Snoozed = "snoozed",
    ReopenedByHuman = "reopened_by_human",
}

impl EventKind {
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// One entry of a finding's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub finding_id: String,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    /// The scan that caused it; `None` for a human decision.
    pub scan_id: Option<i64>,
    pub actor: String,
    pub reason: Option<String>,
    /// What the event needs beyond its kind: new values, the snooze's end.
    pub details: serde_json::Value,
    #[serde(skip)]
    pub desired_version: Option<VersionHash>,
    #[serde(skip)]
    pub live_version: Option<VersionHash>,
}

/// The scan being reconciled.
#[derive(Debug, Clone, Copy)]
pub struct ScanInfo {
    pub scan_id: i64,
    pub at: DateTime<Utc>,
}

/// How findings behave.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Consecutive complete observations before a finding is visible (default 2).
    pub confirm_after: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { confirm_after: 2 }
    }
}

/// Updates one target's `findings` with one scan's observations, and returns
/// what happened, in a stable order, plus the indexes of the findings that
/// changed (new ones included), so the caller writes only those.
///
/// `could_see(key)` says whether the scan's listings of the key's resource
/// type completed: a finding not observed is resolved only then.
pub fn reconcile(
    target: &str,
    findings: &mut Vec<Finding>,
    observed: &[Observation],
    scan: ScanInfo,
    could_see: impl Fn(&ResourceKey) -> bool,
    policy: &Policy,
) -> Reconciled {
    let mut events = Vec::new();
    let mut by_id: HashMap<String, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.clone(), i))
        .collect();
    let mut seen_now = vec![false; findings.len()];
    let mut touched = vec![false; findings.len()];
    let event = |f: &Finding, kind: EventKind, details: serde_json::Value| Event {
        finding_id: f.id.clone(),
        kind,
        at: scan.at,
        scan_id: Some(scan.scan_id),
        actor: DRIFTD.to_string(),
        reason: None,
        details,
        desired_version: f.desired_version,
        live_version: f.live_version,
    };
    for o in observed {
        let id = finding_id(target, o.kind, &o.key, &o.attributes);
        let i = match by_id.get(&id) {
            Some(&i) if seen_now[i] => continue, // the same drift twice in one scan
            Some(&i) => i,
            None => {
                findings.push(Finding {
                    id: id.clone(),
                    target: target.to_string(),
                    kind: o.kind,
                    key: o.key.clone(),
                    address: o.address.clone(),
                    attributes: o.attributes.clone(),
                    state: State::Open,
                    state_by: DRIFTD.to_string(),
                    state_reason: None,
                    state_at: scan.at,
                    seen: 0,
                    visible: false,
                    ignored_by: o.ignored_by.clone(),
                    first_seen: scan.at,
                    last_seen: scan.at,
                    first_scan: scan.scan_id,
                    last_scan: scan.scan_id,
                    changes: o.changes.clone(),
                    desired_version: o.desired_version,
                    live_version: o.live_version,
                });
                seen_now.push(false);
                touched.push(true);
                let i = findings.len() - 1;
                by_id.insert(id, i);
                let details = serde_json::json!({ "changes": o.changes });
                events.push(event(&findings[i], EventKind::Opened, details));
                i
            }
        };
        seen_now[i] = true;
        touched[i] = true;
        let f = &mut findings[i];
        f.desired_version = o.desired_version;
        f.live_version = o.live_version;
        f.address = o.address.clone().or(f.address.take());
        if let State::Resolved { .. } = f.state {
            set_state(f, State::Open, DRIFTD, None, scan.at);
            f.seen = 0;
            f.visible = false;
            let details = serde_json::json!({ "changes": o.changes });
            events.push(event(f, EventKind::Reopened, details));
        } else if f.changes != o.changes {
            let details = serde_json::json!({ "changes": o.changes, "before": f.changes });
            events.push(event(f, EventKind::ValueChanged, details));
            // An acceptance was for the values the person saw, not for new ones.
            if f.state == State::Accepted {
                set_state(f, State::Open, DRIFTD, None, scan.at);
            }
        }
        f.changes = o.changes.clone();
        f.ignored_by = o.ignored_by.clone();
        f.seen += 1;
        f.last_seen = scan.at;
        f.last_scan = scan.scan_id;
        if !f.visible && (f.seen >= policy.confirm_after || o.confirmed_by_reread) {
            f.visible = true;
            let by = if f.seen >= policy.confirm_after {
                serde_json::json!({ "by": "consecutive_scans", "scans": f.seen })
            } else {
                serde_json::json!({ "by": "reread" })
            };
            events.push(event(f, EventKind::Confirmed, by));
        }
    }
    for (i, f) in findings.iter_mut().enumerate() {
        if seen_now[i] || !f.state.is_active() {
            continue;
        }
        if could_see(&f.key) {
            set_state(
                f,
                State::Resolved {
                    scan_id: scan.scan_id,
                },
                DRIFTD,
                None,
                scan.at,
            );
            f.seen = 0;
            touched[i] = true;
            events.push(event(f, EventKind::Resolved, serde_json::json!({})));
        } else if f.seen > 0 {
            // Not read this scan: unknown, so it stays as it was; but the run
            // of consecutive sightings is broken.
            f.seen = 0;
            touched[i] = true;
        }
    }
    for (i, f) in findings.iter_mut().enumerate() {
        if let State::Snoozed { until } = f.state
            && until <= scan.at
        {
            let details = serde_json::json!({ "until": until });
            set_state(f, State::Open, DRIFTD, None, scan.at);
            touched[i] = true;
            events.push(event(f, EventKind::SnoozeEnded, details));
        }
    }
    Reconciled {
        events,
        changed: touched
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.then_some(i))
            .collect(),
    }
}

/// One scan's drifts as observations, plus the drifts an ignore rule covers
/// (with the rule's label): tracked and counted, never shown as drift.
/// Resource versions are left for the caller to fill in.
pub fn observe(
    drifts: &[crate::diff::Drift],
    ignored: &[(crate::diff::Drift, String)],
) -> Vec<Observation> {
    use crate::diff::Drift;
    let one = |d: &Drift, ignored_by: Option<&String>| {
        let (kind, address, attributes, changes) = match d {
            Drift::Changed {
                address, changes, ..
            } => (
                Kind::Changed,
                Some(address.to_string()),
                changes.iter().map(|c| c.attribute().to_string()).collect(),
                serde_json::Value::Object(
                    changes
                        .iter()
                        .map(|c| {
                            (
                                c.path.to_string(),
                                serde_json::json!({ "recorded": c.recorded, "live": c.live }),
                            )
                        })
                        .collect(),
                ),
            ),
            Drift::Missing { address, .. } => (
                Kind::Missing,
                Some(address.to_string()),
                BTreeSet::new(),
                serde_json::Value::Null,
            ),
            Drift::Unmanaged { .. } => (
                Kind::Unmanaged,
                None,
                BTreeSet::new(),
                serde_json::Value::Null,
            ),
        };
        Observation {
            kind,
            key: d.key().clone(),
            address,
            attributes,
            changes,
            ignored_by: ignored_by.cloned(),
            confirmed_by_reread: false,
            desired_version: None,
            live_version: None,
        }
    };
    drifts
        .iter()
        .map(|d| one(d, None))
        .chain(ignored.iter().map(|(d, rule)| one(d, Some(rule))))
        .collect()
}

/// What [`reconcile`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    pub events: Vec<Event>,
    /// Indexes into the findings of those whose record changed.
    pub changed: Vec<usize>,
}

fn set_state(f: &mut Finding, state: State, by: &str, reason: Option<String>, at: DateTime<Utc>) {
    f.state = state;
    f.state_by = by.to_string();
    f.state_reason = reason;
    f.state_at = at;
}

/// A human decision on a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Someone is on it.
    Acknowledge { reason: Option<String> },
    /// The change is intended.
    Accept { reason: String },
    /// Out of sight until `until`.
    Snooze {
        until: DateTime<Utc>,
        reason: String,
    },
    /// Back to open (from acknowledged, accepted, snoozed or resolved).
    Reopen { reason: Option<String> },
}

/// Why a decision was refused. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("a reason is required: say why with --reason")]
    ReasonRequired,
    #[error("the snooze must end in the future (it ends {until}, now is {now})")]
    SnoozeInPast {
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("finding {id} is resolved: driftd no longer sees this drift; nothing to {action}")]
    Resolved { id: String, action: &'static str },
    #[error("finding {id} is already {state}")]
    Already { id: String, state: &'static str },
    #[error("who decides is required: pass --by NAME")]
    ActorRequired,
}

/// Applies a human decision: the new state, and the event that records it.
pub fn decide(
    f: &mut Finding,
    decision: Decision,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Event, DecisionError> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err(DecisionError::ActorRequired);
    }
    let required = |reason: String| {
        let reason = reason.trim().to_string();
        if reason.is_empty() {
            Err(DecisionError::ReasonRequired)
        } else {
            Ok(reason)
        }
    };
    let optional = |reason: Option<String>| {
        reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
    };
    let resolved = |action| DecisionError::Resolved {
        id: f.id.clone(),
        action,
    };
    let (state, kind, reason, details) = match decision {
        Decision::Acknowledge { reason } => {
            if !f.state.is_active() {
                return Err(resolved("acknowledge"));
            }
            if f.state == State::Acknowledged {
                return Err(DecisionError::Already {
                    id: f.id.clone(),
                    state: "acknowledged",
                });
            }
            (
                State::Acknowledged,
                EventKind::Acknowledged,
                optional(reason),
                serde_json::json!({}),
            )
        }
        Decision::Accept { reason } => {
            let reason = required(reason)?;
            if !f.state.is_active() {
                return Err(resolved("accept"));
            }
            (
                State::Accepted,
                EventKind::Accepted,
                Some(reason),
                serde_json::json!({ "changes": f.changes }),
            )
        }
        Decision::Snooze { until, reason } => {
            let reason = required(reason)?;
            if until <= now {
                return Err(DecisionError::SnoozeInPast { until, now });
            }
            if !f.state.is_active() {
                return Err(resolved("snooze"));
            }
            (
                State::Snoozed { until },
                EventKind::Snoozed,
                Some(reason),
                serde_json::json!({ "until": until }),
            )
        }
        Decision::Reopen { reason } => {
            if f.state == State::Open {
                return Err(DecisionError::Already {
                    id: f.id.clone(),
                    state: "open",
                });
            }
            (
                State::Open,
                EventKind::ReopenedByHuman,
                optional(reason),
                serde_json::json!({ "from": f.state.name() }),
            )
        }
    };
    set_state(f, state, actor, reason.clone(), now);
    Ok(Event {
        finding_id: f.id.clone(),
        kind,
        at: now,
        scan_id: None,
        actor: actor.to_string(),
        reason,
        details,
        desired_version: f.desired_version,
        live_version: f.live_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(id: &str) -> ResourceKey {
        ResourceKey {
            provider: "aws".into(),
            resource_type: "aws_security_group".into(),
            id: id.into(),
        }
    }

    fn changed(id: &str, value: serde_json::Value) -> Observation {
        Observation {
            kind: Kind::Changed,
            key: key(id),
            address: Some("aws_security_group.web".into()),
            attributes: BTreeSet::from(["ingress".to_string()]),
            changes: value,
            ignored_by: None,
            confirmed_by_reread: false,
            desired_version: None,
            live_version: None,
        }
    }

    fn id_of(o: &Observation) -> String {
        finding_id("prod", o.kind, &o.key, &o.attributes)
    }

    fn scan(n: i64) -> ScanInfo {
        ScanInfo {
            scan_id: n,
            at: DateTime::from_timestamp(1_800_000_000 + n * 600, 0).unwrap(),
        }
    }

    fn run(
        findings: &mut Vec<Finding>,
        observed: &[Observation],
        n: i64,
        could_see: bool,
        policy: &Policy,
    ) -> Vec<EventKind> {
        reconcile("prod", findings, observed, scan(n), |_| could_see, policy)
            .events
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn the_id_is_stable_and_tells_targets_kinds_and_attribute_sets_apart() {
        let a = changed("sg-1", json!(1));
        assert_eq!(
            id_of(&a),
            id_of(&changed("sg-1", json!(2))),
            "not the value"
        );
        let mut b = a.clone();
        b.attributes.insert("tags".into());
        assert_ne!(id_of(&a), id_of(&b));
        let mut c = a.clone();
        c.kind = Kind::Missing;
        assert_ne!(id_of(&a), id_of(&c));
        assert_ne!(
            id_of(&a),
            finding_id("staging", a.kind, &a.key, &a.attributes)
        );
        assert_eq!(id_of(&a).len(), 16);
    }

    #[test]
    fn new_then_confirmed_then_resolved_then_reopened() {
        use EventKind::*;
        let policy = Policy::default();
        let mut findings = Vec::new();
        let o = changed("sg-1", json!("22 open"));
        let one = std::slice::from_ref(&o);
        assert_eq!(run(&mut findings, one, 1, true, &policy), [Opened]);
        assert!(!findings[0].visible, "one sighting is not enough");
        assert_eq!(findings[0].id, id_of(&o));

        assert_eq!(run(&mut findings, one, 2, true, &policy), [Confirmed]);
        assert!(findings[0].visible);

        // A partial scan that could not list security groups resolves nothing.
        assert_eq!(run(&mut findings, &[], 3, false, &policy), []);
        assert_eq!(findings[0].state, State::Open);

        assert_eq!(run(&mut findings, &[], 4, true, &policy), [Resolved]);
        assert_eq!(findings[0].state, State::Resolved { scan_id: 4 });

        // It comes back: the same finding, reopened, confirmed again.
        assert_eq!(run(&mut findings, one, 5, true, &policy), [Reopened]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].first_seen, scan(1).at);
        assert!(!findings[0].visible);
        assert_eq!(run(&mut findings, one, 6, true, &policy), [Confirmed]);
    }

    #[test]
    fn an_unreadable_scan_breaks_the_run_of_sightings() {
        let policy = Policy::default();
        let mut findings = Vec::new();
        let o = changed("sg-1", json!(1));
        let one = std::slice::from_ref(&o);
        run(&mut findings, one, 1, true, &policy);
        run(&mut findings, &[], 2, false, &policy);
        assert_eq!(run(&mut findings, one, 3, true, &policy), []);
        assert!(!findings[0].visible, "1 + (unknown) + 1 is not 2 in a row");
    }

    #[test]
    fn a_reread_confirms_at_once() {
        let policy = Policy::default();
        let mut findings = Vec::new();
        let mut o = changed("sg-1", json!(1));
        o.confirmed_by_reread = true;
        assert_eq!(
            run(&mut findings, &[o], 1, true, &policy),
            [EventKind::Opened, EventKind::Confirmed]
        );
        assert!(findings[0].visible);
    }

    #[test]
    fn a_new_live_value_is_an_event_not_a_new_finding() {
        let policy = Policy::default();
        let mut findings = Vec::new();
        run(
            &mut findings,
            &[changed("sg-1", json!(1))],
            1,
            true,
            &policy,
        );
        let r = reconcile(
            "prod",
            &mut findings,
            &[changed("sg-1", json!(2))],
            scan(2),
            |_| true,
            &policy,
        );
        assert_eq!(r.events.len(), 2);
        assert_eq!(r.events[0].kind, EventKind::ValueChanged);
        assert_eq!(
            r.events[0].details,
            json!({"changes": 2, "before": 1}),
            "the new value and the one before"
        );
        assert_eq!(r.events[1].kind, EventKind::Confirmed);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].changes, json!(2));
    }

    #[test]
    fn a_snooze_ends_at_its_time_and_an_acceptance_with_new_values() {
        let policy = Policy { confirm_after: 1 };
        let mut findings = Vec::new();
        let o = changed("sg-1", json!(1));
        let one = std::slice::from_ref(&o);
        run(&mut findings, one, 1, true, &policy);
        let now = scan(1).at;
        decide(
            &mut findings[0],
            Decision::Snooze {
                until: scan(3).at,
                reason: "change window".into(),
            },
            "alice",
            now,
        )
        .unwrap();
        assert!(!findings[0].needs_attention());
        assert_eq!(run(&mut findings, one, 2, true, &policy), []);
        assert_eq!(
            run(&mut findings, one, 3, true, &policy),
            [EventKind::SnoozeEnded]
        );
        assert_eq!(findings[0].state, State::Open);
        assert_eq!(findings[0].state_by, DRIFTD);

        let e = decide(
            &mut findings[0],
            Decision::Accept {
                reason: "hotfix, to codify".into(),
            },
            "bob",
            now,
        )
        .unwrap();
        assert_eq!(e.actor, "bob");
        assert_eq!(findings[0].state, State::Accepted);
        // The same values: still accepted. New values: open again.
        assert_eq!(run(&mut findings, one, 4, true, &policy), []);
        assert_eq!(
            run(
                &mut findings,
                &[changed("sg-1", json!(9))],
                5,
                true,
                &policy
            ),
            [EventKind::ValueChanged]
        );
        assert_eq!(findings[0].state, State::Open);
    }

    #[test]
    fn decisions_need_reasons_actors_and_sense() {
        let policy = Policy::default();
        let mut findings = Vec::new();
        run(
            &mut findings,
            &[changed("sg-1", json!(1))],
            1,
            true,
            &policy,
        );
        let f = &mut findings[0];
        let now = scan(1).at;
        let accept = |reason: &str| Decision::Accept {
            reason: reason.into(),
        };
        assert_eq!(
            decide(f, accept("  "), "bob", now),
            Err(DecisionError::ReasonRequired)
        );
        assert_eq!(
            decide(f, accept("x"), " ", now),
            Err(DecisionError::ActorRequired)
        );
        let past = Decision::Snooze {
            until: now,
            reason: "later".into(),
        };
        assert!(matches!(
            decide(f, past, "bob", now),
            Err(DecisionError::SnoozeInPast { .. })
        ));
        assert!(matches!(
            decide(f, Decision::Reopen { reason: None }, "bob", now),
            Err(DecisionError::Already { .. })
        ));
        decide(f, Decision::Acknowledge { reason: None }, "bob", now).unwrap();
        assert_eq!(f.state, State::Acknowledged);
        assert_eq!(f.state_by, "bob");
        let e = decide(f, Decision::Reopen { reason: None }, "carol", now).unwrap();
        assert_eq!(e.details, json!({"from": "acknowledged"}));
        assert_eq!(f.state, State::Open);
    }
}
