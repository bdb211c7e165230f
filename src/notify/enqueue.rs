//! Notify events, written in the transaction that changed the finding
//! (DESIGN.md invariant 5): a scan's reconcile, or a human decision.

use crate::findings::{Event, EventKind, Finding};
use crate::graph::ResourceGraph;
use crate::model::Resource;
use crate::policy::{self, ActorKind, DEPENDENTS_SHOWN, Facts};
use crate::store::{NewNotifyEvent, NotifyKind, StoreError, Writer};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What a scan hands over so its findings' events can be told.
pub struct ScanContext<'a> {
    pub environment: &'a str,
    pub policy: &'a crate::config::PolicyConfig,
    /// How long a new finding below tier 3 waits for its actor (zero when
    /// attribution is off).
    pub wait_for_actor: chrono::Duration,
    /// The scan's desired resources and their graph.
    pub desired: &'a [Resource],
    pub graph: &'a ResourceGraph,
    pub live: &'a [Resource],
    pub now: DateTime<Utc>,
    /// Record notify events; `false` keeps only the facts and tiers.
    pub record_events: bool,
}

/// The notify event a finding event leads to, if any.
pub fn notify_kind(event: &Event, finding: &Finding) -> Option<NotifyKind> {
    if finding.ignored_by.is_some() {
        return None;
    }
    Some(match event.kind {
        EventKind::Confirmed | EventKind::SnoozeEnded => NotifyKind::New,
        EventKind::ValueChanged if finding.visible => NotifyKind::ValueChanged,
        EventKind::Resolved if finding.visible => NotifyKind::Resolved,
        EventKind::Acknowledged | EventKind::Snoozed => NotifyKind::Acknowledged,
        EventKind::Accepted => NotifyKind::Accepted,
        _ => return None,
    })
}

/// Records the notify events of a scan's finding events, with the facts and
/// tier of each finding that became visible or changed value. Returns how
/// many events were recorded.
pub fn from_scan(
    w: &Writer<'_>,
    findings: &[Finding],
    events: &[Event],
    ctx: &ScanContext<'_>,
) -> Result<usize, StoreError> {
    let by_id: HashMap<&str, &Finding> = findings.iter().map(|f| (f.id.as_str(), f)).collect();
    let wanted: Vec<(&Event, &Finding, NotifyKind)> = events
        .iter()
        .filter_map(|e| {
            let f = by_id.get(e.finding_id.as_str())?;
            Some((e, *f, notify_kind(e, f)?))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let needs_facts = wanted
        .iter()
        .any(|(_, _, k)| matches!(k, NotifyKind::New | NotifyKind::ValueChanged));
    let index = needs_facts.then(|| Index::new(ctx.desired, ctx.live));
    let mut out = Vec::with_capacity(wanted.len());
    for (event, f, kind) in wanted {
        let mut not_before = ctx.now;
        if let Some(index) = &index
            && matches!(kind, NotifyKind::New | NotifyKind::ValueChanged)
        {
            let facts = index.facts(f, ctx);
            let actor = actor_kind(w, &f.id)?;
            let decision = policy::decide(&facts, actor, ctx.policy);
            let settled = w
                .attribution(&f.id)?
                .is_some_and(|a| a.status != crate::store::AttributionStatus::Pending);
            if kind == NotifyKind::New && decision.tier < 3 && !settled {
                not_before = ctx.now + ctx.wait_for_actor;
            }
            w.save_finding_policy(&f.id, &facts, &decision, ctx.now)?;
        }
        out.push(NewNotifyEvent {
            finding_id: f.id.clone(),
            kind,
            at: event.at,
            by: None,
            not_before,
        });
    }
    if !ctx.record_events {
        return Ok(0);
    }
    w.add_notify_events(&out)?;
    Ok(out.len())
}

/// Records the notify event of a human decision, in its transaction.
pub fn from_decision(w: &Writer<'_>, finding: &Finding, event: &Event) -> Result<(), StoreError> {
    if let Some(kind) = notify_kind(event, finding) {
        w.add_notify_events(&[NewNotifyEvent {
            finding_id: finding.id.clone(),
            kind,
            at: event.at,
            by: Some(event.actor.clone()),
            not_before: event.at,
        }])?;
    }
    Ok(())
}

/// How the finding's explaining event (if any) was made.
pub fn actor_kind(r: &crate::store::Reader<'_>, finding_id: &str) -> Result<ActorKind, StoreError> {
    let evidence = r.evidence(finding_id)?;
    Ok(ActorKind::of(
        evidence.iter().find(|e| e.explains).map(|e| &e.actor),
    ))
}

/// The scan's resources by key, built once per scan when a finding needs facts.
struct Index<'a> {
    desired: HashMap<(&'a str, &'a str), usize>,
    live: HashMap<(&'a str, &'a str), &'a Resource>,
    resources: &'a [Resource],
}

impl<'a> Index<'a> {
    fn new(desired: &'a [Resource], live: &'a [Resource]) -> Index<'a> {
        Index {
            desired: desired
                .iter()
                .enumerate()
                .map(|(i, r)| ((&*r.key.resource_type, &*r.key.id), i))
                .collect(),
            live: live
                .iter()
                .map(|r| ((&*r.key.resource_type, &*r.key.id), r))
                .collect(),
            resources: desired,
        }
    }

    fn facts(&self, f: &Finding, ctx: &ScanContext<'_>) -> Facts {
        let key = (&*f.key.resource_type, &*f.key.id);
        let desired_index = self.desired.get(&key).copied();
        let desired = desired_index.map(|i| &self.resources[i]);
        let live = self.live.get(&key).copied();
        let desired_value = desired.map(|r| r.attributes.to_value());
        let live_value = live.map(|r| r.attributes.to_value());
        let tags = live_value
            .as_ref()
            .or(desired_value.as_ref())
            .and_then(|v| v.get("tags"))
            .and_then(|t| t.as_object())
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let security = policy::security::signals(&policy::security::Drift {
            resource_type: &f.key.resource_type,
            kind: f.kind.as_str(),
            desired: desired_value.as_ref(),
            live: live_value.as_ref(),
        });
        let dependents = desired_index
            .map(|i| ctx.graph.dependents(i))
            .unwrap_or_default();
        let (account, region) = match live {
            Some(r) => live_place(r.origin.as_ref()),
            None => match (desired, desired_value.as_ref()) {
                (Some(d), Some(v)) => {
                    let (a, r) = crate::diff::place_of(d, v);
                    (a.map(str::to_string), r)
                }
                _ => (None, None),
            },
        };
        let paths = f
            .changes
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_else(|| f.attributes.iter().cloned().collect());
        Facts {
            target: f.target.clone(),
            environment: ctx.environment.to_string(),
            resource_type: f.key.resource_type.to_string(),
            kind: f.kind.as_str().to_string(),
            account,
            region,
            paths,
            tags,
            security,
            blast_radius: dependents.len(),
            dependents: dependents
                .iter()
                .take(DEPENDENTS_SHOWN)
                .map(|&i| self.resources[i].address.to_string())
                .collect(),
        }
    }
}

/// `aws:<account>:<region>`, the origin of live resources.
fn live_place(origin: &str) -> (Option<String>, Option<String>) {
    let mut parts = origin.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("aws"), Some(account), Some(region)) => (Some(account.into()), Some(region.into())),
        _ => (None, None),
    }
}
