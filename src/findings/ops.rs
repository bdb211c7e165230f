//! Findings against the store: the operations the CLI calls now and the
//! report pages will call later. Each decision is one write transaction that
//! updates the finding, appends its event and appends the audit row, so the
//! three never disagree.

use super::{Decision, DecisionError, Event, Finding, decide};
use crate::secrets::SecretKey;
use crate::store::{AuditRecord, FindingLookup, Store, StoreError};
use chrono::{DateTime, Utc};

/// Why an operation on a finding failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("no finding has the id {0}: list them with `driftd findings list --all`")]
    NotFound(String),
    #[error("more than one finding starts with {0}: give more of the id")]
    Ambiguous(String),
    #[error("{0}")]
    Refused(#[from] DecisionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Looks a finding up by id or unique prefix.
pub fn find(store: &Store, id: &str) -> Result<Finding, OpError> {
    store.read(|r| match r.finding(id)? {
        FindingLookup::Found(f) => Ok(*f),
        FindingLookup::NotFound => Err(OpError::NotFound(id.to_string())),
        FindingLookup::Ambiguous => Err(OpError::Ambiguous(id.to_string())),
    })
}

/// A finding and its history, oldest event first.
pub fn show(store: &Store, id: &str) -> Result<(Finding, Vec<Event>), OpError> {
    store.read(|r| {
        let f = match r.finding(id)? {
            FindingLookup::Found(f) => *f,
            FindingLookup::NotFound => return Err(OpError::NotFound(id.to_string())),
            FindingLookup::Ambiguous => return Err(OpError::Ambiguous(id.to_string())),
        };
        let events = r.finding_events(&f.id)?;
        Ok((f, events))
    })
}

/// A finding's attribution as `findings show` presents it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttributionView {
    #[serde(flatten)]
    pub search: crate::store::AttributionRow,
    /// The explaining event's actor, if one explains it.
    pub actor: Option<crate::attribution::Actor>,
    pub evidence: Vec<EvidenceView>,
}

/// One event of the evidence, with its record (secrets stripped).
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvidenceView {
    #[serde(flatten)]
    pub evidence: crate::attribution::matching::Evidence,
    pub source_ip: Option<String>,
    pub channel: crate::attribution::Channel,
    pub raw: serde_json::Value,
}

/// A finding's attribution search and evidence, if a search was started.
pub fn attribution(store: &Store, finding_id: &str) -> Result<Option<AttributionView>, OpError> {
    Ok(store.read(|r| {
        let Some(search) = r.attribution(finding_id)? else {
            return Ok::<_, StoreError>(None);
        };
        let mut evidence = Vec::new();
        for e in r.evidence(finding_id)? {
            let raw = r
                .trail_event(&e.event_id)?
                .map(|t| t.raw)
                .unwrap_or(serde_json::Value::Null);
            evidence.push(EvidenceView {
                source_ip: e.actor.source_ip.clone(),
                channel: e.actor.channel,
                evidence: e,
                raw,
            });
        }
        let actor = evidence
            .iter()
            .find(|e| e.evidence.explains)
            .map(|e| e.evidence.actor.clone());
        Ok(Some(AttributionView {
            search,
            actor,
            evidence,
        }))
    })?)
}

/// Records a human decision (ack, accept, snooze, reopen) by `actor` at `now`:
/// the finding's new state, its event and an audit row, in one transaction.
pub fn apply(
    store: &Store,
    key: &SecretKey,
    id: &str,
    decision: Decision,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(Finding, Event), OpError> {
    store.write(|w| {
        let mut f = match w.finding(id)? {
            FindingLookup::Found(f) => *f,
            FindingLookup::NotFound => return Err(OpError::NotFound(id.to_string())),
            FindingLookup::Ambiguous => return Err(OpError::Ambiguous(id.to_string())),
        };
        let target = w
            .target_by_name(&f.target)?
            .ok_or_else(|| StoreError::Corrupt {
                what: format!("finding {}", f.id),
                reason: format!("its target {:?} is not in the store", f.target),
            })?;
        let event = decide(&mut f, decision, actor, now)?;
        w.save_findings(target.id, [&f])?;
        w.add_finding_events(std::slice::from_ref(&event))?;
        crate::notify::enqueue::from_decision(w, &f, &event)?;
        let mut details = serde_json::json!({
            "target": f.target,
            "resource": f.key.to_string(),
            "kind": f.kind.as_str(),
        });
        if let Some(reason) = &event.reason {
            details["reason"] = reason.clone().into();
        }
        if let super::State::Snoozed { until } = f.state {
            details["until"] = until.to_rfc3339().into();
        }
        w.append_audit(
            key,
            &AuditRecord {
                at: now,
                actor: event.actor.clone(),
                action: format!("finding.{}", event.kind.as_str()),
                subject: f.id.clone(),
                details,
            },
        )?;
        Ok((f, event))
    })
}

/// Who is acting: `--by` when given, else the OS user running the command.
pub fn actor(by: Option<&str>) -> Option<String> {
    by.map(str::to_string)
        .or_else(|| std::env::var("SUDO_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
