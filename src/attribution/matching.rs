//! The join (pure): which events explain a finding, in order, and which one
//! explains its current value.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::{Actor, TrailEvent};
use super::table::{self, Effect, EventRule};
use crate::findings::Kind;

/// The resource a finding is about, as attribution needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub resource_type: &'a str,
    /// The resource id as driftd keys it.
    pub id: &'a str,
    /// Its top-level attributes (the live ones when it exists, else the
    /// state's), Terraform shape.
    pub attributes: &'a Value,
    pub kind: Kind,
    /// The changed top-level attributes (changed findings).
    pub changed: &'a BTreeSet<String>,
}

/// A time window, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Window {
        Window { start, end }
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t <= self.end
    }
}

/// One event that bears on a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub event_id: String,
    pub time: DateTime<Utc>,
    /// `eventSource`.
    pub source: String,
    /// `eventName`.
    pub name: String,
    pub actor: Actor,
    /// `errorCode` when the call failed: an attempt, not the change.
    pub error_code: Option<String>,
    /// The latest successful event that explains the finding's current value.
    pub explains: bool,
}

/// Every event in `window` that explains `subject`, oldest first. The one
/// marked `explains` is the latest successful one at or before `observed_at`
/// (when the scan saw the value); only when there is none, the first
/// successful one after it (the window's end allows for clock skew). Failed
/// calls are kept (someone tried) but are never the explanation. Empty when
/// nothing qualifies: the actor is then unknown, never guessed.
pub fn explain(
    subject: &Subject<'_>,
    events: &[TrailEvent],
    window: Window,
    observed_at: DateTime<Utc>,
    pipeline: &[glob::Pattern],
) -> Vec<Evidence> {
    let rules: Vec<&EventRule> = table::rules_for(subject.resource_type)
        .filter(|r| effect_fits(r.effect, subject))
        .collect();
    if rules.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<Evidence> = events
        .iter()
        .filter(|e| window.contains(e.time) && e.is_write())
        .filter(|e| {
            rules
                .iter()
                .any(|r| r.source == e.source && r.event == e.name && names(r, e, subject))
        })
        .map(|e| {
            let mut actor = e.actor();
            actor.mark_pipeline(pipeline);
            Evidence {
                event_id: e.event_id.clone(),
                time: e.time,
                source: e.source.clone(),
                name: e.name.clone(),
                actor,
                error_code: e.error_code.clone(),
                explains: false,
            }
        })
        .collect();
    found.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    found.dedup_by(|a, b| a.event_id == b.event_id);
    let before = found
        .iter()
        .rposition(|e| e.error_code.is_none() && e.time <= observed_at);
    let after = || found.iter().position(|e| e.error_code.is_none());
    if let Some(i) = before.or_else(after) {
        found[i].explains = true;
    }
    found
}

/// The explaining event, if any.
pub fn explanation(evidence: &[Evidence]) -> Option<&Evidence> {
    evidence.iter().find(|e| e.explains)
}

fn effect_fits(effect: Effect, subject: &Subject<'_>) -> bool {
    match (effect, subject.kind) {
        (Effect::Create, Kind::Unmanaged) => true,
        (Effect::Delete, Kind::Missing) => true,
        (Effect::Modify(attrs), Kind::Changed) => {
            attrs.contains(&"*")
                || subject
                    .changed
                    .iter()
                    .any(|c| attrs.iter().any(|a| top_level(c) == *a))
        }
        _ => false,
    }
}

fn top_level(path: &str) -> &str {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

/// Whether every subject binding of the rule holds for this event.
fn names(rule: &EventRule, event: &TrailEvent, subject: &Subject<'_>) -> bool {
    !rule.subject.is_empty()
        && rule.subject.iter().all(|(path, attribute)| {
            let Some(want) = attribute_text(subject, attribute) else {
                return false;
            };
            event.values_at(path).contains(&want)
        })
}

/// A resource attribute as the text events carry.
pub fn attribute_text(subject: &Subject<'_>, attribute: &str) -> Option<String> {
    if attribute == "id" {
        return Some(subject.id.to_string());
    }
    match subject.attributes.get(attribute)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str, time: &str, name: &str, group: &str, error: Option<&str>) -> TrailEvent {
        let mut raw = json!({"eventID": id, "eventTime": time, "eventSource": "ec2.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "recipientAccountId": "123456789012",
            "readOnly": false, "userAgent": "aws-cli/2.15.0",
            "userIdentity": {"type": "IAMUser", "userName": "alice",
                "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"},
            "requestParameters": {"groupId": group}});
        if let Some(code) = error {
            raw["errorCode"] = json!(code);
        }
        TrailEvent::from_record(raw).unwrap()
    }

    fn window() -> Window {
        Window {
            start: "2026-01-01T00:00:00Z".parse().unwrap(),
            end: "2026-01-01T01:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn latest_successful_event_explains() {
        let changed = BTreeSet::from(["ingress".to_string()]);
        let attrs = json!({});
        let subject = Subject {
            resource_type: "aws_security_group",
            id: "sg-1",
            attributes: &attrs,
            kind: Kind::Changed,
            changed: &changed,
        };
        let events = [
            event(
                "c",
                "2026-01-01T00:30:00Z",
                "AuthorizeSecurityGroupIngress",
                "sg-1",
                Some("Client.UnauthorizedOperation"),
            ),
            event(
                "a",
                "2026-01-01T00:10:00Z",
                "AuthorizeSecurityGroupIngress",
                "sg-1",
                None,
            ),
            event(
                "b",
                "2026-01-01T00:20:00Z",
                "AuthorizeSecurityGroupEgress",
                "sg-1",
                None,
            ),
            event(
                "d",
                "2026-01-01T00:25:00Z",
                "AuthorizeSecurityGroupIngress",
                "sg-2",
                None,
            ),
            event(
                "e",
                "2026-01-01T02:00:00Z",
                "AuthorizeSecurityGroupIngress",
                "sg-1",
                None,
            ),
        ];
        let found = explain(&subject, &events, window(), window().end, &[]);
        let ids: Vec<_> = found
            .iter()
            .map(|e| (e.event_id.as_str(), e.explains))
            .collect();
        // egress does not touch ingress; sg-2 is another group; e is after the window.
        assert_eq!(ids, [("a", true), ("c", false)]);
        assert_eq!(
            found[1].error_code.as_deref(),
            Some("Client.UnauthorizedOperation")
        );
        assert_eq!(
            explanation(&found).unwrap().actor.person.as_deref(),
            Some("alice")
        );
        // An event after the scan saw the value does not explain it.
        let mut later = events.to_vec();
        later.push(event(
            "f",
            "2026-01-01T00:50:00Z",
            "RevokeSecurityGroupIngress",
            "sg-1",
            None,
        ));
        let seen_at = "2026-01-01T00:40:00Z".parse().unwrap();
        let found = explain(&subject, &later, window(), seen_at, &[]);
        let ids: Vec<_> = found
            .iter()
            .map(|e| (e.event_id.as_str(), e.explains))
            .collect();
        assert_eq!(ids, [("a", true), ("c", false), ("f", false)]);
    }

    #[test]
    fn kinds_pick_effects() {
        let none = BTreeSet::new();
        let attrs = json!({});
        let missing = Subject {
            resource_type: "aws_security_group",
            id: "sg-1",
            attributes: &attrs,
            kind: Kind::Missing,
            changed: &none,
        };
        let events = [
            event(
                "a",
                "2026-01-01T00:10:00Z",
                "AuthorizeSecurityGroupIngress",
                "sg-1",
                None,
            ),
            event(
                "b",
                "2026-01-01T00:20:00Z",
                "DeleteSecurityGroup",
                "sg-1",
                None,
            ),
        ];
        let found = explain(&missing, &events, window(), window().end, &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "DeleteSecurityGroup");
        let unknown_type = Subject {
            resource_type: "aws_not_a_type",
            ..missing
        };
        assert!(explain(&unknown_type, &events, window(), window().end, &[]).is_empty());
    }
}
