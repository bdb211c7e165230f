//! PagerDuty Events API v2 (`POST /v2/enqueue`): a finding is one alert,
//! keyed by the message's `dedup_key`, so PagerDuty groups its trigger,
//! acknowledge and resolve, and drops a repeated trigger into the open alert
//! (the outbox may resend one the receiver had already taken).
//!
//! What PagerDuty documents and its OpenAPI does not say: `payload` is required
//! for a trigger, `summary` is at most 1,024 characters, `dedup_key` at most
//! 255, and a whole event at most 512 KB. 202 is delivered; 400 means the event
//! is invalid (never retried); 429 and 5xx are transient (`http::send`).

use crate::config::{ChannelConfig, ChannelKind};
use crate::notify::{
    Action, Delivery, Digest, Message, MessageKind, SendError, SendFuture, Sink, Subject, http,
    message::truncate,
};
use serde::Serialize;
use serde_json::json;

/// PagerDuty's limit on `payload.summary`.
pub const SUMMARY_LIMIT: usize = 1024;
/// PagerDuty's limit on `dedup_key`.
pub const DEDUP_KEY_LIMIT: usize = 255;
/// PagerDuty's limit on a whole event.
pub const EVENT_LIMIT_BYTES: usize = 512 * 1024;
/// Digest findings a digest event lists; the report page has them all.
pub const DIGEST_LINES: usize = 50;

pub struct PagerDutySink {
    name: String,
    events_url: String,
    routing_key: String,
    client: reqwest::Client,
}

impl PagerDutySink {
    pub fn new(channel: &ChannelConfig) -> Result<PagerDutySink, String> {
        let ChannelKind::PagerDuty {
            routing_key,
            events_url,
        } = &channel.kind
        else {
            return Err("not a pagerduty channel".into());
        };
        Ok(PagerDutySink {
            name: channel.name.clone(),
            events_url: events_url.clone(),
            routing_key: super::secret(routing_key)?,
            client: http::client(channel.timeout),
        })
    }
}

impl Sink for PagerDutySink {
    fn kind(&self) -> &'static str {
        "pagerduty"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let what = format!("pagerduty {}", self.name);
            let event = render(&self.routing_key, delivery.action, delivery.message)
                .map_err(|e| SendError::permanent(format!("{what}: {e}")))?;
            let request = self
                .client
                .post(&self.events_url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(event);
            let (_, body) = http::send(&what, request).await?;
            // PagerDuty answers `{status, message, dedup_key}`; the key it
            // confirms is the one that counts (it is ours, echoed).
            let confirmed = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("dedup_key")?.as_str().map(str::to_string))
                .unwrap_or_else(|| delivery.message.dedup_key.clone());
            Ok(json!({ "dedup_key": confirmed }))
        })
    }
}

/// PagerDuty's `event_action` for a delivery. `Notify` on a message that says
/// a finding was acknowledged, accepted or resolved follows the message: a
/// trigger would page someone about something that is over.
pub fn event_action(action: Action, kind: MessageKind) -> &'static str {
    match (action, kind) {
        (Action::Acknowledge, _) | (Action::Notify, MessageKind::Acknowledged) => "acknowledge",
        (Action::Resolve, _) | (Action::Notify, MessageKind::Accepted | MessageKind::Resolved) => {
            "resolve"
        }
        (Action::Notify, _) => "trigger",
    }
}

/// PagerDuty's severity for a trigger: from the tier for a finding; a digest
/// is information (routes should not send digests to PagerDuty at all); a
/// channel that stopped working is an error.
pub fn severity(message: &Message) -> &'static str {
    match (&message.subject, message.kind) {
        (_, MessageKind::ChannelFailed) => "error",
        (_, MessageKind::Digest) => "info",
        (Some(subject), _) => match subject.tier.tier {
            3.. => "critical",
            2 => "warning",
            _ => "info",
        },
        (None, _) => "info",
    }
}

/// The event's JSON: a trigger with the whole payload, or an acknowledge or
/// resolve with only the key. Errs when the message cannot be a valid event
/// (a `dedup_key` PagerDuty would refuse).
pub fn render(routing_key: &str, action: Action, message: &Message) -> Result<String, String> {
    let key_length = message.dedup_key.chars().count();
    if key_length == 0 || key_length > DEDUP_KEY_LIMIT {
        return Err(format!(
            "dedup_key has {key_length} characters; PagerDuty takes 1 to {DEDUP_KEY_LIMIT}"
        ));
    }
    let event_action = event_action(action, message.kind);
    let head = Event {
        routing_key,
        event_action,
        dedup_key: &message.dedup_key,
        payload: None,
        client: None,
        links: Vec::new(),
    };
    if event_action != "trigger" {
        return Ok(to_string(&head));
    }
    let links = message
        .url
        .iter()
        .map(|href| Link {
            href,
            text: "driftd report",
        })
        .collect();
    let mut event = Event {
        payload: Some(payload(message, details(message))),
        client: Some("driftd"),
        links,
        ..head
    };
    let mut text = to_string(&event);
    if text.len() > EVENT_LIMIT_BYTES {
        // Only an unusual message gets here (thousands of changes): keep the
        // page, point to the report for the evidence.
        let short = json!({
            "note": "the details are too long for PagerDuty; see the driftd report",
            "finding": message.subject.as_ref().map(|s| &s.finding_id),
        });
        event.payload = Some(payload(message, short));
        text = to_string(&event);
    }
    Ok(text)
}

fn to_string(event: &Event) -> String {
    serde_json::to_string(event).expect("an event of strings serialises")
}

/// The request body (the OpenAPI's `createV2Event`).
#[derive(Serialize)]
struct Event<'a> {
    routing_key: &'a str,
    event_action: &'static str,
    dedup_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Payload<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link<'a>>,
}

#[derive(Serialize)]
struct Link<'a> {
    href: &'a str,
    text: &'static str,
}

#[derive(Serialize)]
struct Payload<'a> {
    summary: String,
    source: String,
    severity: &'static str,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'a str>,
    custom_details: serde_json::Value,
}

fn payload(message: &Message, custom_details: serde_json::Value) -> Payload<'_> {
    let subject = message.subject.as_ref();
    Payload {
        summary: truncate(&message.title, SUMMARY_LIMIT),
        source: source(message),
        severity: severity(message),
        timestamp: message
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        component: subject.map(|s| s.resource_type.as_str()),
        group: subject.map(|s| s.target.as_str()),
        class: subject.map(|s| s.drift.as_str()),
        custom_details,
    }
}

/// "The unique location of the affected system": `account:region:resource id`
/// for a finding (the parts that are known), the route for a digest, the
/// channel for a failed channel.
fn source(message: &Message) -> String {
    if let Some(s) = &message.subject {
        let parts = [
            s.account.as_deref(),
            s.region.as_deref(),
            Some(&s.resource_id),
        ];
        return parts.into_iter().flatten().collect::<Vec<_>>().join(":");
    }
    if let Some(d) = &message.digest {
        return format!("driftd digest {}", d.route);
    }
    if let Some(f) = &message.failure {
        return format!("driftd channel {}", f.channel);
    }
    "driftd".into()
}

/// `custom_details`: the evidence, as PagerDuty shows it beside the alert.
fn details(message: &Message) -> serde_json::Value {
    if let Some(subject) = &message.subject {
        return subject_details(message, subject);
    }
    if let Some(digest) = &message.digest {
        return digest_details(message, digest);
    }
    match &message.failure {
        Some(f) => json!({
            "channel": f.channel,
            "dead_deliveries": f.dead,
            "last_error": f.last_error,
            "see": "driftd outbox list --dead",
        }),
        None => json!({}),
    }
}

fn subject_details(message: &Message, s: &Subject) -> serde_json::Value {
    let changes: Vec<_> = s
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.path,
                c.old.as_deref().unwrap_or("(absent)"),
                c.new.as_deref().unwrap_or("(absent)")
            )
        })
        .collect();
    let actor = &s.actor;
    let mut details = json!({
        "finding": s.finding_id,
        "kind": message.kind.as_str(),
        "drift": s.drift,
        "target": s.target,
        "environment": s.environment,
        "account": s.account,
        "region": s.region,
        "resource": format!("{} {}", s.resource_type, s.resource_id),
        "address": s.address,
        "changes": changes,
        "more_changes": s.more_changes,
        "tier": format!("{} ({})", s.tier.tier, s.tier.name),
        "tier_rule": s.tier.rule,
        "tier_why": s.tier.why,
        "actor": actor.summary,
        "actor_status": actor.status,
        "principal": actor.principal,
        "person": actor.person,
        "identity_type": actor.identity_type,
        "channel": actor.channel,
        "source_ip": actor.source_ip,
        "iac": actor.iac,
        "event_name": actor.event_name,
        "event_time": actor.event_time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "event_id": actor.event_id,
        "blast_radius": s.blast_radius,
        "dependents": s.dependents,
        "first_seen": s.first_seen.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "state": s.state,
        "state_by": s.state_by,
        "state_reason": s.state_reason,
        "commands": s.commands,
    });
    drop_nulls(&mut details);
    details
}

fn digest_details(message: &Message, d: &Digest) -> serde_json::Value {
    let lines: Vec<_> = d
        .findings
        .iter()
        .take(DIGEST_LINES)
        .map(|l| {
            format!(
                "[tier {}] {} {} {} in {} ({}, {})",
                l.tier, l.drift, l.resource_type, l.resource_id, l.target, l.state, l.actor
            )
        })
        .collect();
    let mut details = json!({
        "route": d.route,
        "period": d.period,
        "open_findings": d.findings.len(),
        "tier_3": d.by_tier[2],
        "tier_2": d.by_tier[1],
        "tier_1": d.by_tier[0],
        "findings": lines,
        "more_findings": d.findings.len().saturating_sub(DIGEST_LINES),
        "report": message.url,
    });
    drop_nulls(&mut details);
    details
}

/// Absent facts are left out rather than shown as `null`.
fn drop_nulls(details: &mut serde_json::Value) {
    if let Some(map) = details.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{ActorLine, ChannelFailure, TierLine};
    use chrono::TimeZone;
    use serde_json::Value;

    fn finding(kind: MessageKind, tier: u8) -> Message {
        let at = chrono::Utc
            .with_ymd_and_hms(2022, 1, 11, 12, 15, 0)
            .unwrap();
        Message {
            kind,
            at,
            title: "[tier 3] changed aws_security_group sg-1 (ingress) in prod".into(),
            dedup_key: "driftd/f1".into(),
            url: Some("https://driftd.example.com/findings/f1".into()),
            subject: Some(Subject {
                finding_id: "f1".into(),
                drift: "changed".into(),
                target: "prod".into(),
                environment: "prod".into(),
                account: Some("111111111111".into()),
                region: None,
                resource_type: "aws_security_group".into(),
                resource_id: "sg-1".into(),
                address: None,
                changes: vec![crate::notify::Change::new(
                    "ingress",
                    Some(&json!([])),
                    Some(&json!("0.0.0.0/0")),
                )],
                more_changes: 0,
                tier: TierLine {
                    tier,
                    name: "advise".into(),
                    rule: None,
                    why: "default".into(),
                },
                actor: ActorLine::pending(),
                blast_radius: 0,
                dependents: vec![],
                first_seen: at,
                state: "open".into(),
                state_by: None,
                state_reason: None,
                commands: vec!["driftd ack f1".into()],
            }),
            digest: None,
            failure: None,
        }
    }

    fn rendered(action: Action, message: &Message) -> Value {
        serde_json::from_str(&render("R0UTINGKEY", action, message).unwrap()).unwrap()
    }

    #[test]
    fn severity_follows_the_tier() {
        for (tier, expected) in [(3, "critical"), (2, "warning"), (1, "info")] {
            let event = rendered(Action::Notify, &finding(MessageKind::New, tier));
            assert_eq!(event["payload"]["severity"], expected, "tier {tier}");
        }
    }

    #[test]
    fn a_trigger_carries_where_what_and_who() {
        let event = rendered(Action::Notify, &finding(MessageKind::Escalated, 3));
        assert_eq!(event["event_action"], "trigger");
        assert_eq!(event["dedup_key"], "driftd/f1");
        assert_eq!(event["client"], "driftd");
        assert_eq!(
            event["links"][0]["href"],
            "https://driftd.example.com/findings/f1"
        );
        let payload = &event["payload"];
        // The region is unknown: it is left out, not shown as "None".
        assert_eq!(payload["source"], "111111111111:sg-1");
        assert_eq!(payload["component"], "aws_security_group");
        assert_eq!(payload["group"], "prod");
        assert_eq!(payload["class"], "changed");
        assert_eq!(payload["timestamp"], "2022-01-11T12:15:00Z");
        let details = &payload["custom_details"];
        assert_eq!(details["changes"][0], r#"ingress: [] → 0.0.0.0/0"#);
        assert_eq!(details["actor"], "unknown — still looking");
        assert_eq!(details["commands"][0], "driftd ack f1");
        assert!(details.get("region").is_none(), "{details}");
        assert!(details.get("address").is_none(), "{details}");
    }

    #[test]
    fn acknowledge_and_resolve_carry_only_the_key() {
        let cases = [
            (
                Action::Acknowledge,
                MessageKind::Acknowledged,
                "acknowledge",
            ),
            (Action::Resolve, MessageKind::Resolved, "resolve"),
            (Action::Resolve, MessageKind::Accepted, "resolve"),
            // A worker that asks to notify about a resolved finding must not page.
            (Action::Notify, MessageKind::Resolved, "resolve"),
            (Action::Notify, MessageKind::Accepted, "resolve"),
            (Action::Notify, MessageKind::Acknowledged, "acknowledge"),
        ];
        for (action, kind, expected) in cases {
            let event = rendered(action, &finding(kind, 3));
            assert_eq!(
                event,
                json!({"routing_key": "R0UTINGKEY", "event_action": expected, "dedup_key": "driftd/f1"}),
                "{action:?} {kind:?}"
            );
        }
    }

    #[test]
    fn the_summary_is_cut_to_pagerdutys_limit() {
        let mut message = finding(MessageKind::New, 3);
        message.title = "ü".repeat(SUMMARY_LIMIT + 10);
        let event = rendered(Action::Notify, &message);
        let summary = event["payload"]["summary"].as_str().unwrap();
        assert_eq!(summary.chars().count(), SUMMARY_LIMIT);
        assert!(summary.ends_with('…'));
    }

    #[test]
    fn a_too_long_dedup_key_is_refused_before_sending() {
        let mut message = finding(MessageKind::New, 3);
        message.dedup_key = "k".repeat(DEDUP_KEY_LIMIT + 1);
        let error = render("R0UTINGKEY", Action::Notify, &message).unwrap_err();
        assert!(error.contains("255"), "{error}");
        message.dedup_key = "k".repeat(DEDUP_KEY_LIMIT);
        assert!(render("R0UTINGKEY", Action::Notify, &message).is_ok());
    }

    #[test]
    fn a_huge_finding_still_fits_in_one_event() {
        let mut message = finding(MessageKind::New, 3);
        let change = message.subject.as_ref().unwrap().changes[0].clone();
        let long = crate::notify::Change {
            new: Some("x".repeat(300)),
            ..change
        };
        message.subject.as_mut().unwrap().changes = vec![long; 5_000];
        let text = render("R0UTINGKEY", Action::Notify, &message).unwrap();
        assert!(text.len() <= EVENT_LIMIT_BYTES, "{} bytes", text.len());
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["payload"]["severity"], "critical");
        assert_eq!(event["payload"]["custom_details"]["finding"], "f1");
    }

    #[test]
    fn a_digest_is_information_and_a_failed_channel_an_error() {
        let at = chrono::Utc.with_ymd_and_hms(2022, 1, 11, 12, 0, 0).unwrap();
        let digest = Message {
            kind: MessageKind::Digest,
            at,
            title: "driftd digest: 0 open findings".into(),
            dedup_key: "driftd/digest/prod/2022-01-11T12:00:00Z".into(),
            url: None,
            subject: None,
            digest: Some(Digest {
                route: "prod".into(),
                period: "2022-01-11T12:00:00Z/PT1H".into(),
                findings: vec![],
                by_tier: [0, 0, 0],
            }),
            failure: None,
        };
        let event = rendered(Action::Notify, &digest);
        assert_eq!(event["payload"]["severity"], "info");
        assert_eq!(event["payload"]["source"], "driftd digest prod");
        assert!(event.get("links").is_none(), "{event}");
        let failed = Message {
            kind: MessageKind::ChannelFailed,
            title: "driftd: channel slack is failing".into(),
            dedup_key: "driftd/channel/slack".into(),
            digest: None,
            failure: Some(ChannelFailure {
                channel: "slack".into(),
                dead: 2,
                last_error: "slack slack: HTTP 404".into(),
            }),
            ..digest
        };
        let event = rendered(Action::Notify, &failed);
        assert_eq!(event["payload"]["severity"], "error");
        assert_eq!(event["payload"]["custom_details"]["dead_deliveries"], 2);
        assert!(event["payload"].get("component").is_none());
    }
}
