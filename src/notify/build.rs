//! Builds messages from the store: the finding, its tier and facts, its
//! attribution and evidence. Read-only.

use super::message::{
    ActorLine, Change, ChannelFailure, Digest, DigestLine, Message, MessageKind, Subject, TierLine,
};
use crate::findings::Finding;
use crate::policy::{Facts, TierDecision, tier_name};
use crate::store::{AttributionStatus, Reader, StoreError};
use chrono::{DateTime, Utc};

/// Changed paths a message lists; the report page has the rest.
pub const CHANGES_SHOWN: usize = 20;

/// The report page of a finding, when `[notify] report_url` is set.
pub fn finding_url(report_url: Option<&str>, finding_id: &str) -> Option<String> {
    report_url.map(|base| format!("{base}/findings/{finding_id}"))
}

/// The message about a finding, as of now. `None` when the finding is gone.
pub fn finding_message(
    r: &Reader<'_>,
    finding_id: &str,
    kind: MessageKind,
    tier_now: Option<u8>,
    environment: &str,
    report_url: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Message>, StoreError> {
    let f = match r.finding(finding_id)? {
        crate::store::FindingLookup::Found(f) => *f,
        _ => return Ok(None),
    };
    let (facts, decision) = match r.finding_policy(finding_id)? {
        Some((facts, d)) => (Some(facts), d),
        None => (
            None,
            TierDecision {
                tier: tier_now.unwrap_or(1),
                rule: None,
                why: "decided before tiers were recorded".into(),
            },
        ),
    };
    let actor = actor_line(r, finding_id)?;
    let subject = subject(&f, facts.as_ref(), &decision, actor, environment);
    Ok(Some(Message {
        kind,
        at: now,
        title: title(kind, &subject),
        dedup_key: format!("driftd/{}", f.id),
        url: finding_url(report_url, &f.id),
        subject: Some(subject),
        digest: None,
        failure: None,
    }))
}

fn subject(
    f: &Finding,
    facts: Option<&Facts>,
    d: &TierDecision,
    actor: ActorLine,
    environment: &str,
) -> Subject {
    let mut changes: Vec<Change> = f
        .changes
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(path, v)| Change::from_finding(path, v.get("recorded"), v.get("live")))
                .collect()
        })
        .unwrap_or_default();
    let more_changes = changes.len().saturating_sub(CHANGES_SHOWN);
    changes.truncate(CHANGES_SHOWN);
    let id = &f.id;
    Subject {
        finding_id: f.id.clone(),
        drift: f.kind.as_str().into(),
        target: f.target.clone(),
        environment: facts.map_or(environment, |x| &x.environment).to_string(),
        account: facts.and_then(|x| x.account.clone()),
        region: facts.and_then(|x| x.region.clone()),
        resource_type: f.key.resource_type.to_string(),
        resource_id: f.key.id.to_string(),
        address: f.address.clone(),
        changes,
        more_changes,
        tier: TierLine {
            tier: d.tier,
            name: tier_name(d.tier).into(),
            rule: d.rule.clone(),
            why: d.why.clone(),
        },
        actor,
        blast_radius: facts.map_or(0, |x| x.blast_radius),
        dependents: facts.map(|x| x.dependents.clone()).unwrap_or_default(),
        first_seen: f.first_seen,
        state: f.state.name().into(),
        state_by: (f.state_by != crate::findings::DRIFTD).then(|| f.state_by.clone()),
        state_reason: f.state_reason.clone(),
        commands: vec![
            format!("driftd findings show {id}"),
            format!("driftd ack {id}"),
            format!("driftd accept {id} --reason \"<why this change is intended>\""),
            format!("driftd snooze {id} --until <time> --reason \"<why>\""),
        ],
    }
}

/// `[tier 3] changed aws_security_group sg-0abc (ingress) in prod-network`,
/// with what happened first for follow-ups.
fn title(kind: MessageKind, s: &Subject) -> String {
    let what = format!(
        "{} {} {}{} in {}",
        s.drift,
        s.resource_type,
        s.resource_id,
        if s.changes.is_empty() {
            String::new()
        } else {
            let mut tops: Vec<&str> = s
                .changes
                .iter()
                .map(|c| c.path.split(['.', '[']).next().unwrap_or(&c.path))
                .collect();
            tops.dedup();
            format!(" ({})", super::message::truncate(&tops.join(", "), 60))
        },
        s.target
    );
    let by = s
        .state_by
        .as_deref()
        .map(|b| format!(" by {b}"))
        .unwrap_or_default();
    match kind {
        MessageKind::New => format!("[tier {}] {what}", s.tier.tier),
        MessageKind::Escalated => format!("[tier {}, escalated] {what}", s.tier.tier),
        MessageKind::Acknowledged => format!("[acknowledged{by}] {what}"),
        MessageKind::Accepted => format!("[accepted{by}] {what}"),
        MessageKind::Resolved => format!("[resolved] {what}"),
        MessageKind::Digest | MessageKind::ChannelFailed => what,
    }
}

/// Who and how, from the explaining event; or why nobody is named.
pub fn actor_line(r: &Reader<'_>, finding_id: &str) -> Result<ActorLine, StoreError> {
    let evidence = r.evidence(finding_id)?;
    if let Some(e) = evidence.iter().find(|e| e.explains) {
        let a = &e.actor;
        let mut how = vec![
            a.identity_type
                .clone()
                .unwrap_or_else(|| "unknown identity".into()),
        ];
        how.push(a.channel.as_str().into());
        if let Some(ip) = &a.source_ip {
            how.push(format!("from {ip}"));
        }
        let mut summary = format!("{} ({})", a.display(), how.join(", "));
        if a.iac {
            summary.push_str(": applied from code that does not match this state");
        }
        summary.push_str(&format!(" — {} at {}", e.name, e.time.to_rfc3339()));
        return Ok(ActorLine {
            status: "found".into(),
            summary,
            principal: a.principal.clone(),
            person: a.person.clone(),
            identity_type: a.identity_type.clone(),
            channel: Some(a.channel.as_str().into()),
            source_ip: a.source_ip.clone(),
            iac: a.iac,
            event_name: Some(e.name.clone()),
            event_time: Some(e.time),
            event_id: Some(e.event_id.clone()),
        });
    }
    Ok(match r.attribution(finding_id)? {
        Some(a) if a.status == AttributionStatus::Pending => ActorLine::pending(),
        Some(a) => ActorLine::unknown(&format!(
            "unknown — no CloudTrail event in account {} region {} explains it",
            a.account, a.region
        )),
        None => ActorLine::unknown("unknown — attribution is off for this target"),
    })
}

/// The digest of a route: every open finding it takes, highest tier first.
pub fn digest_message(
    route: &str,
    period_start: DateTime<Utc>,
    period: &str,
    lines: Vec<DigestLine>,
    now: DateTime<Utc>,
) -> Message {
    let (findings, by_tier) = super::message::digest_lines(lines);
    let n = findings.len();
    Message {
        kind: MessageKind::Digest,
        at: now,
        title: format!(
            "driftd digest for {route}: {n} open finding{} (tier 3: {}, tier 2: {}, tier 1: {})",
            if n == 1 { "" } else { "s" },
            by_tier[2],
            by_tier[1],
            by_tier[0]
        ),
        dedup_key: format!("driftd/digest/{route}/{}", period_start.to_rfc3339()),
        url: None,
        subject: None,
        digest: Some(Digest {
            route: route.into(),
            period: period.into(),
            findings,
            by_tier,
        }),
        failure: None,
    }
}

/// A digest line for a finding.
pub fn digest_line(f: &Finding, tier: u8, actor: String, report_url: Option<&str>) -> DigestLine {
    DigestLine {
        finding_id: f.id.clone(),
        tier,
        drift: f.kind.as_str().into(),
        target: f.target.clone(),
        resource_type: f.key.resource_type.to_string(),
        resource_id: f.key.id.to_string(),
        address: f.address.clone(),
        state: f.state.name().into(),
        first_seen: f.first_seen,
        actor,
        url: finding_url(report_url, &f.id),
    }
}

/// The message that a channel's deliveries are failing for good.
pub fn channel_failed_message(
    channel: &str,
    dead: usize,
    last_error: &str,
    now: DateTime<Utc>,
) -> Message {
    Message {
        kind: MessageKind::ChannelFailed,
        at: now,
        title: format!("driftd cannot deliver to channel {channel}"),
        dedup_key: format!("driftd/channel/{channel}"),
        url: None,
        subject: None,
        digest: None,
        failure: Some(ChannelFailure {
            channel: channel.into(),
            dead,
            last_error: last_error.into(),
        }),
    }
}
