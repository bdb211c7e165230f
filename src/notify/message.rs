//! The message every sink renders: plain data, built once per delivery and
//! kept with it, so a retry sends the same thing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A finding became visible (confirmed), or came back after it resolved.
    New,
    /// Its tier rose (a new value, an actor that changes the rule), or it
    /// was not acknowledged in time and goes to the next step.
    Escalated,
    /// Someone acknowledged it in driftd.
    Acknowledged,
    /// Someone accepted it as intended.
    Accepted,
    /// It is no longer seen.
    Resolved,
    /// Findings still open, summed up once per period.
    Digest,
    /// A channel could not be reached: deliveries to it are dead-lettered.
    ChannelFailed,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::New => "new",
            MessageKind::Escalated => "escalated",
            MessageKind::Acknowledged => "acknowledged",
            MessageKind::Accepted => "accepted",
            MessageKind::Resolved => "resolved",
            MessageKind::Digest => "digest",
            MessageKind::ChannelFailed => "channel_failed",
        }
    }
}

/// One message. Exactly one of `subject`, `digest` and `failure` is set,
/// according to `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub kind: MessageKind,
    /// When driftd decided to send it.
    pub at: DateTime<Utc>,
    /// A one-line summary every sink can use as a title or subject, e.g.
    /// `[tier 3] changed aws_security_group sg-0abc (ingress) in prod-network`.
    pub title: String,
    /// Key that stays the same for every message about one finding (the
    /// PagerDuty `dedup_key`): `driftd/<finding id>`; for a digest,
    /// `driftd/digest/<route>/<period>`; for a failed channel,
    /// `driftd/channel/<name>`.
    pub dedup_key: String,
    /// The finding's page in the report, when `[notify] report_url` is set.
    pub url: Option<String>,
    pub subject: Option<Subject>,
    pub digest: Option<Digest>,
    pub failure: Option<ChannelFailure>,
}

/// A finding, as a message tells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub finding_id: String,
    /// `changed`, `unmanaged` or `missing`.
    pub drift: String,
    /// Where: the target, its environment, the cloud account and region.
    pub target: String,
    pub environment: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub resource_type: String,
    pub resource_id: String,
    /// The Terraform address, when a state names it.
    pub address: Option<String>,
    /// What drifted, old → new (changed drift only). Values are rendered
    /// JSON, secrets already "(sensitive)"; long values are cut with `…` by
    /// [`Change::new`], never mid-character.
    pub changes: Vec<Change>,
    /// More changed paths than `changes` holds.
    pub more_changes: usize,
    pub tier: TierLine,
    pub actor: ActorLine,
    /// Resources that depend on this one, transitively.
    pub blast_radius: usize,
    /// A few of them by address, for the message.
    pub dependents: Vec<String>,
    pub first_seen: DateTime<Utc>,
    /// `open`, `acknowledged`, ... now.
    pub state: String,
    /// Who acknowledged, accepted or resolved it, and why, for those kinds.
    pub state_by: Option<String>,
    pub state_reason: Option<String>,
    /// The commands that act on it (`driftd ack <id>`, ...).
    pub commands: Vec<String>,
}

/// One changed attribute path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    /// What the state records (`None`: absent).
    pub old: Option<String>,
    /// What the cloud has now (`None`: absent).
    pub new: Option<String>,
}

/// Longest value a message carries; the report page has the rest.
pub const VALUE_LIMIT: usize = 300;

impl Change {
    /// A change with values rendered compactly, secrets shown as
    /// "(sensitive)" and long values cut at a character boundary.
    pub fn new(
        path: &str,
        old: Option<&serde_json::Value>,
        new: Option<&serde_json::Value>,
    ) -> Change {
        Change {
            path: path.to_string(),
            old: old.map(render_value),
            new: new.map(render_value),
        }
    }
}

/// A value as a message shows it.
pub fn render_value(v: &serde_json::Value) -> String {
    let text = match v {
        serde_json::Value::String(s) if crate::secrets::is_hashed(s) => {
            return "(sensitive)".into();
        }
        serde_json::Value::String(s) => s.clone(),
        other => mask_hashes(other).to_string(),
    };
    truncate(&text, VALUE_LIMIT)
}

fn mask_hashes(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) if crate::secrets::is_hashed(s) => Value::String("(sensitive)".into()),
        Value::Array(a) => Value::Array(a.iter().map(mask_hashes).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), mask_hashes(v))).collect())
        }
        other => other.clone(),
    }
}

/// `text` cut to at most `limit` characters, ending in `…` when cut.
pub fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit.saturating_sub(1)) {
        Some((i, _)) if text.chars().count() > limit => format!("{}…", &text[..i]),
        _ => text.to_string(),
    }
}

/// The tier, and what decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierLine {
    /// 1 inform, 2 propose, 3 advise and page.
    pub tier: u8,
    /// `inform`, `propose` or `advise`.
    pub name: String,
    /// The rule that set it (`None`: the default tier).
    pub rule: Option<String>,
    /// Why, in words: the rule's matches, the security finding, the blast radius.
    pub why: String,
}

/// Who changed it and how, or that nobody knows yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorLine {
    /// `found`, `pending` (still looking) or `unknown` (looked, nothing
    /// explains it; never guessed).
    pub status: String,
    /// One line: `alice@corp (AssumedRole via AWSReservedSSO_Admin, console, from 203.0.113.7)`,
    /// or `unknown — still looking`.
    pub summary: String,
    pub principal: Option<String>,
    pub person: Option<String>,
    pub identity_type: Option<String>,
    /// console, cli, terraform, cloudformation, aws_service, sdk, unknown.
    pub channel: Option<String>,
    pub source_ip: Option<String>,
    /// Applied from code (Terraform, CloudFormation, the pipeline).
    pub iac: bool,
    pub event_name: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub event_id: Option<String>,
}

impl ActorLine {
    /// Nothing explains it yet.
    pub fn pending() -> ActorLine {
        ActorLine::without("pending", "unknown — still looking")
    }

    /// Nothing explained it within the retry time, or attribution is off.
    pub fn unknown(summary: &str) -> ActorLine {
        ActorLine::without("unknown", summary)
    }

    fn without(status: &str, summary: &str) -> ActorLine {
        ActorLine {
            status: status.into(),
            summary: summary.into(),
            principal: None,
            person: None,
            identity_type: None,
            channel: None,
            source_ip: None,
            iac: false,
            event_name: None,
            event_time: None,
            event_id: None,
        }
    }
}

/// Findings still open for one route, summed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub route: String,
    /// The period it covers, e.g. `2026-11-21T14:00:00Z/PT1H`.
    pub period: String,
    /// Every open finding the route had sent, highest tier first.
    pub findings: Vec<DigestLine>,
    /// Counts by tier: `[tier 1, tier 2, tier 3]`.
    pub by_tier: [usize; 3],
}

/// One finding in a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestLine {
    pub finding_id: String,
    pub tier: u8,
    pub drift: String,
    pub target: String,
    pub resource_type: String,
    pub resource_id: String,
    pub address: Option<String>,
    pub state: String,
    pub first_seen: DateTime<Utc>,
    /// The actor's one-line summary.
    pub actor: String,
    pub url: Option<String>,
}

/// The lines of a digest: highest tier first, then oldest first.
pub fn digest_lines(mut lines: Vec<DigestLine>) -> (Vec<DigestLine>, [usize; 3]) {
    let mut by_tier = [0; 3];
    for l in &lines {
        by_tier[usize::from(l.tier.clamp(1, 3) - 1)] += 1;
    }
    lines.sort_by(|a, b| {
        b.tier
            .cmp(&a.tier)
            .then(a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.finding_id.cmp(&b.finding_id))
    });
    (lines, by_tier)
}

/// A channel whose deliveries failed for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelFailure {
    pub channel: String,
    /// Deliveries to it now dead-lettered (`driftd outbox list --dead`).
    pub dead: usize,
    /// The last error, as the worker recorded it.
    pub last_error: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_masked_and_cut_at_a_character() {
        let hashed = format!("{}{}", crate::secrets::SENSITIVE_PREFIX, "ab".repeat(32));
        assert_eq!(render_value(&json!(hashed)), "(sensitive)");
        assert_eq!(
            render_value(&json!({"password": hashed, "port": 22})),
            r#"{"password":"(sensitive)","port":22}"#
        );
        let long = "é".repeat(400);
        let cut = render_value(&json!(long));
        assert_eq!(cut.chars().count(), VALUE_LIMIT);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
    }
}
