//! Findings over time (issue 4, first part): the pure lifecycle that turns each
//! scan's drift into findings with stable ids, states and events. No IO: the
//! store keeps what this returns, the CLI and the report pages call it.
//!
//! A finding is one drift kind on one resource for one set of top-level
//! attributes. It becomes *visible* (and notifiable) once it has been seen in
//! `confirm_after` consecutive complete observations, so an in-flight apply or
//! eventual consistency never pages anyone. It is *resolved* only by a scan
//! whose listing of its resource completed without it: a partial scan never
//! resolves what it could not read.

use crate::model::ResourceKey;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

/// What kind of drift a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Changed,
    Unmanaged,
    Missing,
}

/// Where a finding stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Open,
    /// Someone is on it.
    Acknowledged,
    /// The change is intended (to be codified, not reverted).
    Accepted {
        reason: String,
    },
    /// Hidden until `until`.
    Snoozed {
        until: DateTime<Utc>,
        reason: String,
    },
    /// No longer seen, by a scan that could have seen it.
    Resolved {
        at: DateTime<Utc>,
        scan_id: i64,
    },
}

/// One drift as a scan observed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub kind: Kind,
    pub key: ResourceKey,
    /// Top-level attributes (changed drift only; empty otherwise).
    pub attributes: BTreeSet<String>,
    /// The live values of those attributes, as the report shows them (sensitive
    /// values are already "(sensitive)"): a new value is a new event.
    pub live: serde_json::Value,
}

impl Observation {
    /// The stable id: the same drift has the same id in every scan.
    pub fn id(&self) -> String {
        finding_id(self.kind, &self.key, &self.attributes)
    }
}

/// `kind`, resource key and attribute set, hashed: 16 hex digits.
pub fn finding_id(kind: Kind, key: &ResourceKey, attributes: &BTreeSet<String>) -> String {
    let mut h = Sha256::new();
    for part in [
        format!("{kind:?}"),
        key.provider.to_string(),
        key.resource_type.to_string(),
        key.id.clone(),
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

/// A finding and what is known of its history.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub id: String,
    pub kind: Kind,
    pub key: ResourceKey,
    pub attributes: BTreeSet<String>,
    pub state: State,
    /// Consecutive complete scans that saw it (reset when it resolves).
    pub seen: u32,
    /// Shown and notifiable: seen `confirm_after` times in a row, or confirmed by a re-read.
    pub visible: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub live: serde_json::Value,
}

/// Something that happened to a finding, for its history and the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Opened { id: String },
    Confirmed { id: String },
    ValueChanged { id: String, live: serde_json::Value },
    Resolved { id: String },
    Reopened { id: String },
    SnoozeEnded { id: String },
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

/// Updates `findings` with one scan's observations. `could_see(key)` says
/// whether the scan's listing that should hold `key` completed: a finding not
/// observed is resolved only then. Returns what happened, in a stable order.
pub fn reconcile(
    findings: &mut Vec<Finding>,
    observed: &[Observation],
    scan: ScanInfo,
    could_see: impl Fn(&ResourceKey) -> bool,
    policy: &Policy,
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut by_id: HashMap<String, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.clone(), i))
        .collect();
    let mut seen_now = vec![false; findings.len()];
    for o in observed {
        let id = o.id();
        match by_id.get(&id) {
            Some(&i) => {
                seen_now[i] = true;
                let f = &mut findings[i];
                if let State::Resolved { .. } = f.state {
                    f.state = State::Open;
                    f.seen = 0;
                    f.visible = false;
                    events.push(Event::Reopened { id: id.clone() });
                }
                if let State::Snoozed { until, .. } = f.state
                    && until <= scan.at
                {
                    f.state = State::Open;
                    events.push(Event::SnoozeEnded { id: id.clone() });
                }
                f.seen += 1;
                f.last_seen = scan.at;
                if f.live != o.live {
                    f.live = o.live.clone();
                    events.push(Event::ValueChanged {
                        id: id.clone(),
                        live: o.live.clone(),
                    });
                }
                if !f.visible && f.seen >= policy.confirm_after {
                    f.visible = true;
                    events.push(Event::Confirmed { id: id.clone() });
                }
            }
            None => {
                let visible = policy.confirm_after <= 1;
                findings.push(Finding {
                    id: id.clone(),
                    kind: o.kind,
                    key: o.key.clone(),
                    attributes: o.attributes.clone(),
                    state: State::Open,
                    seen: 1,
                    visible,
                    first_seen: scan.at,
                    last_seen: scan.at,
                    live: o.live.clone(),
                });
                seen_now.push(true);
                by_id.insert(id.clone(), findings.len() - 1);
                events.push(Event::Opened { id: id.clone() });
                if visible {
                    events.push(Event::Confirmed { id });
                }
            }
        }
    }
    for (i, f) in findings.iter_mut().enumerate() {
        if seen_now[i] || matches!(f.state, State::Resolved { .. }) {
            continue;
        }
        if could_see(&f.key) {
            f.state = State::Resolved {
                at: scan.at,
                scan_id: scan.scan_id,
            };
            f.seen = 0;
            events.push(Event::Resolved { id: f.id.clone() });
        }
        // Not listed completely this scan: unknown, so it stays as it was.
    }
    events
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
            attributes: BTreeSet::from(["ingress".to_string()]),
            live: value,
        }
    }

    fn scan(n: i64) -> ScanInfo {
        ScanInfo {
            scan_id: n,
            at: DateTime::from_timestamp(1_800_000_000 + n * 600, 0).unwrap(),
        }
    }

    #[test]
    fn the_id_is_stable_and_tells_kinds_and_attribute_sets_apart() {
        let a = changed("sg-1", json!(1));
        assert_eq!(
            a.id(),
            changed("sg-1", json!(2)).id(),
            "the value is not part of it"
        );
        let mut b = a.clone();
        b.attributes.insert("tags".into());
        assert_ne!(a.id(), b.id());
        let mut c = a.clone();
        c.kind = Kind::Missing;
        assert_ne!(a.id(), c.id());
        assert_eq!(a.id().len(), 16);
    }

    #[test]
    fn new_then_confirmed_then_resolved_then_reopened() {
        let policy = Policy::default();
        let mut findings = Vec::new();
        let o = changed("sg-1", json!("22 open"));
        let e = reconcile(
            &mut findings,
            std::slice::from_ref(&o),
            scan(1),
            |_| true,
            &policy,
        );
        assert_eq!(e, vec![Event::Opened { id: o.id() }]);
        assert!(!findings[0].visible, "one sighting is not enough");

        let e = reconcile(
            &mut findings,
            std::slice::from_ref(&o),
            scan(2),
            |_| true,
            &policy,
        );
        assert_eq!(e, vec![Event::Confirmed { id: o.id() }]);
        assert!(findings[0].visible);

        // A partial scan that could not list security groups resolves nothing.
        let e = reconcile(&mut findings, &[], scan(3), |_| false, &policy);
        assert_eq!(e, vec![]);
        assert_eq!(findings[0].state, State::Open);

        let e = reconcile(&mut findings, &[], scan(4), |_| true, &policy);
        assert_eq!(e, vec![Event::Resolved { id: o.id() }]);
        assert_eq!(
            findings[0].state,
            State::Resolved {
                at: scan(4).at,
                scan_id: 4
            }
        );

        // It comes back: the same finding, reopened, confirmed again.
        let e = reconcile(
            &mut findings,
            std::slice::from_ref(&o),
            scan(5),
            |_| true,
            &policy,
        );
        assert_eq!(e, vec![Event::Reopened { id: o.id() }]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].first_seen, scan(1).at);
    }

    #[test]
    fn a_new_live_value_is_an_event_not_a_new_finding() {
        let policy = Policy::default();
        let mut findings = Vec::new();
        reconcile(
            &mut findings,
            &[changed("sg-1", json!(1))],
            scan(1),
            |_| true,
            &policy,
        );
        let e = reconcile(
            &mut findings,
            &[changed("sg-1", json!(2))],
            scan(2),
            |_| true,
            &policy,
        );
        let id = changed("sg-1", json!(0)).id();
        assert_eq!(
            e,
            vec![
                Event::ValueChanged {
                    id: id.clone(),
                    live: json!(2)
                },
                Event::Confirmed { id }
            ]
        );
        assert_eq!(findings.len(), 1);
    }

    #[test]
    fn a_snooze_ends_at_its_time() {
        let policy = Policy { confirm_after: 1 };
        let mut findings = Vec::new();
        let o = changed("sg-1", json!(1));
        reconcile(
            &mut findings,
            std::slice::from_ref(&o),
            scan(1),
            |_| true,
            &policy,
        );
        findings[0].state = State::Snoozed {
            until: scan(3).at,
            reason: "change window".into(),
        };
        let e = reconcile(
            &mut findings,
            std::slice::from_ref(&o),
            scan(2),
            |_| true,
            &policy,
        );
        assert_eq!(e, vec![]);
        let e = reconcile(
            &mut findings,
            std::slice::from_ref(&o),
            scan(3),
            |_| true,
            &policy,
        );
        assert_eq!(e, vec![Event::SnoozeEnded { id: o.id() }]);
        assert_eq!(findings[0].state, State::Open);
    }
}
