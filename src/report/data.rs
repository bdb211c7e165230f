//! What each page shows, read from the store: one struct per page, which is
//! also the page's JSON at `/api/...`. No HTML here (`html.rs` renders it).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::attribution::event::Actor;
use crate::findings::{Event, Finding};
use crate::notify::message::ActorLine;
use crate::secrets::SecretKey;
use crate::store::{
    AuditCheck, AuditEntry, AuditFilter, DeliveryRow, FindingLookup, FindingRow, OpenCounts,
    Reader, ScanDay, ScanId, ScanRow, ScanSummary, Side, StoreError, TargetRow, VersionSeen,
};

use super::attrdiff::{AttrDiff, attribute_diffs};

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A scan as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct ScanBrief {
    pub id: i64,
    pub target: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
    /// running, complete, partial, failed.
    pub status: String,
    /// Why it was partial or failed: the diagnostics that say so, and the
    /// listings that did not complete.
    pub reasons: Vec<String>,
    pub summary: Option<ScanSummary>,
}

impl ScanBrief {
    fn new(target: &str, row: &ScanRow, summary: Option<ScanSummary>) -> ScanBrief {
        let ended_at = row.ended_at();
        let status = row
            .status()
            .map_or("running".to_string(), |s| s.as_sql().to_string());
        let mut reasons: Vec<String> = match status.as_str() {
            "partial" | "failed" => row
                .diagnostics
                .iter()
                .filter(|d| d.severity == crate::diag::Severity::Error)
                .map(|d| format!("{}: {}", d.subject, d.message))
                .collect(),
            _ => Vec::new(),
        };
        if let Some(s) = &summary {
            reasons.extend(s.incomplete.iter().cloned());
        }
        ScanBrief {
            id: row.id.0,
            target: target.to_string(),
            started_at: row.started_at,
            ended_at,
            duration_seconds: ended_at
                .map(|e| (e - row.started_at).num_milliseconds() as f64 / 1000.0),
            status,
            reasons,
            summary,
        }
    }
}

/// The overview: every target.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub generated_at: DateTime<Utc>,
    pub targets: Vec<TargetOverview>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetOverview {
    pub name: String,
    pub environment: String,
    pub last_scan: Option<ScanBrief>,
    /// The last scan that compared with the cloud, when the last one did not.
    pub last_compared: Option<ScanBrief>,
    pub open: OpenCounts,
    /// One entry per day with a scan, over the last `trend_days`.
    pub trend: Vec<ScanDay>,
}

/// How many days of history the overview's trend covers.
pub const TREND_DAYS: i64 = 366;

pub fn overview(
    r: &Reader<'_>,
    now: DateTime<Utc>,
    only: Option<&str>,
) -> Result<Overview, StoreError> {
    let mut open = r.open_counts()?;
    let since = (now - Duration::days(TREND_DAYS - 1)).date_naive();
    let mut targets = Vec::new();
    for t in r.targets()? {
        if only.is_some_and(|o| o != t.name) {
            continue;
        }
        let recent = r.recent_scans(t.id, 1)?;
        let last_scan = recent
            .first()
            .map(|(row, summary)| ScanBrief::new(&t.name, row, summary.clone()));
        let last_compared = match &last_scan {
            Some(s) if s.summary.is_none() => last_compared_scan(r, &t)?,
            _ => None,
        };
        targets.push(TargetOverview {
            open: open.remove(&t.id.0).unwrap_or_default(),
            trend: r.scan_days(t.id, since)?,
            name: t.name,
            environment: t.environment,
            last_scan,
            last_compared,
        });
    }
    Ok(Overview {
        generated_at: now,
        targets,
    })
}

fn last_compared_scan(r: &Reader<'_>, t: &TargetRow) -> Result<Option<ScanBrief>, StoreError> {
    for (row, summary) in r.recent_scans(t.id, 50)? {
        if summary.is_some() {
            return Ok(Some(ScanBrief::new(&t.name, &row, summary)));
        }
    }
    Ok(None)
}

/// A scan: its totals and the findings it saw.
#[derive(Debug, Clone, Serialize)]
pub struct ScanPage {
    pub scan: ScanBrief,
    pub environment: String,
    pub diagnostics: Vec<crate::diag::Diagnostic>,
    /// Earlier and later scans of the target, when there are.
    pub previous: Option<i64>,
    pub next: Option<i64>,
    pub findings: Vec<FindingRow>,
}

pub fn scan_page(r: &Reader<'_>, scan: i64) -> Result<ScanPage, PageError> {
    let row = r
        .scan(ScanId(scan))?
        .ok_or_else(|| PageError::NotFound(format!("no scan {scan} in the store")))?;
    let target = r
        .targets()?
        .into_iter()
        .find(|t| t.id == row.target)
        .ok_or_else(|| PageError::NotFound(format!("scan {scan} has no target")))?;
    let summary = r.scan_summary(row.id)?;
    let findings = r.scan_finding_rows(target.id, scan)?;
    let (previous, next) = r.neighbour_scans(target.id, scan)?;
    Ok(ScanPage {
        scan: ScanBrief::new(&target.name, &row, summary),
        environment: target.environment,
        diagnostics: row.diagnostics.clone(),
        previous,
        next,
        findings,
    })
}

/// A CloudTrail event tied to a finding.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceItem {
    pub event_id: String,
    pub time: DateTime<Utc>,
    pub name: String,
    pub source: String,
    pub actor: String,
    pub identity_type: Option<String>,
    pub channel: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    /// The event that explains the finding's current value.
    pub explains: bool,
    /// The record as CloudTrail gave it, secrets stripped, pretty-printed.
    pub raw: String,
}

/// The tier and why.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    pub tier: u8,
    pub tier_name: &'static str,
    pub rule: Option<String>,
    pub why: String,
}

/// What depends on the resource, from the last scan's state graph.
#[derive(Debug, Clone, Serialize)]
pub struct BlastRadius {
    /// The resource's address (level 0), then its dependents with their level.
    pub nodes: Vec<BlastNode>,
    /// (dependent, dependency) as indexes into `nodes`.
    pub edges: Vec<(usize, usize)>,
    /// Dependents in all (shown or not).
    pub total: usize,
    pub more: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlastNode {
    pub address: String,
    pub resource_type: String,
    pub resource_id: String,
    pub level: u32,
}

/// How many dependents the finding page draws.
const BLAST_SHOWN: usize = 24;

/// A finding: everything known about it.
#[derive(Debug, Clone, Serialize)]
pub struct FindingPage {
    pub finding: Finding,
    pub environment: String,
    pub diff: Vec<AttrDiff>,
    pub history: Vec<Event>,
    pub actor: ActorLine,
    pub evidence: Vec<EvidenceItem>,
    pub policy: Option<PolicyInfo>,
    pub blast_radius: Option<BlastRadius>,
    pub notifications: Vec<DeliveryRow>,
}

pub fn finding_page(r: &Reader<'_>, id: &str) -> Result<FindingPage, PageError> {
    let finding = match r.finding(id)? {
        FindingLookup::Found(f) => *f,
        FindingLookup::NotFound => {
            return Err(PageError::NotFound(format!("no finding {id}")));
        }
        FindingLookup::Ambiguous => {
            return Err(PageError::NotFound(format!(
                "{id} is the start of more than one finding id: give more of it"
            )));
        }
    };
    let target = r
        .target_by_name(&finding.target)?
        .ok_or_else(|| PageError::NotFound(format!("finding {id} has no target")))?;
    let mut evidence = Vec::new();
    for e in r.evidence(&finding.id)? {
        let raw = r
            .trail_event(&e.event_id)?
            .map(|t| serde_json::to_string_pretty(&t.raw).expect("JSON values serialise"))
            .unwrap_or_default();
        evidence.push(evidence_item(e, raw));
    }
    let policy = r.finding_policy(&finding.id)?.map(|(_, d)| PolicyInfo {
        tier: d.tier,
        tier_name: crate::policy::tier_name(d.tier),
        rule: d.rule,
        why: d.why,
    });
    let blast_radius = blast_radius(r, &target, &finding)?;
    Ok(FindingPage {
        diff: attribute_diffs(&finding.changes),
        history: r.finding_events(&finding.id)?,
        actor: crate::notify::build::actor_line(r, &finding.id)?,
        notifications: r.deliveries_for_finding(&finding.id)?,
        environment: target.environment,
        evidence,
        policy,
        blast_radius,
        finding,
    })
}

fn evidence_item(e: crate::attribution::matching::Evidence, raw: String) -> EvidenceItem {
    let a: &Actor = &e.actor;
    EvidenceItem {
        actor: a.display(),
        identity_type: a.identity_type.clone(),
        channel: a.channel.as_str().to_string(),
        source_ip: a.source_ip.clone(),
        user_agent: a.user_agent.clone(),
        event_id: e.event_id,
        time: e.time,
        name: e.name,
        source: e.source,
        error_code: e.error_code,
        explains: e.explains,
        raw,
    }
}

/// The dependents of the finding's resource in the target's last scan
/// that read its states; `None` when the state does not have it (an
/// unmanaged resource) or no scan's resources are kept.
fn blast_radius(
    r: &Reader<'_>,
    target: &TargetRow,
    finding: &Finding,
) -> Result<Option<BlastRadius>, StoreError> {
    if finding.address.is_none() {
        return Ok(None);
    }
    let Some(scan) = r.scans(target.id, 20)?.into_iter().find(|s| {
        s.status()
            .is_some_and(|st| st != crate::store::ScanStatus::Failed)
    }) else {
        return Ok(None);
    };
    let resources = r.scan_resources(scan.id, Side::Desired)?;
    let Some(at) = resources
        .iter()
        .position(|res| res.key == finding.key || Some(res.address.to_string()) == finding.address)
    else {
        return Ok(None);
    };
    let (graph, _) = crate::graph::ResourceGraph::build(&resources);
    let crate::graph::Neighbourhood { shown, edges, more } =
        graph.dependents_by_level(at, BLAST_SHOWN);
    let mut index = std::collections::HashMap::new();
    let mut nodes = Vec::with_capacity(shown.len() + 1);
    for (res, level) in std::iter::once((at, 0)).chain(shown.iter().copied()) {
        index.insert(res, nodes.len());
        let resource = &resources[res];
        nodes.push(BlastNode {
            address: resource.address.to_string(),
            resource_type: resource.key.resource_type.to_string(),
            resource_id: resource.key.id.to_string(),
            level,
        });
    }
    Ok(Some(BlastRadius {
        edges: edges
            .into_iter()
            .filter_map(|(a, b)| Some((*index.get(&a)?, *index.get(&b)?)))
            .collect(),
        total: shown.len() + more,
        more,
        nodes,
    }))
}

/// A resource: its findings and the versions seen with them.
#[derive(Debug, Clone, Serialize)]
pub struct ResourcePage {
    pub resource_type: String,
    pub resource_id: String,
    pub address: Option<String>,
    pub findings: Vec<Finding>,
    pub versions: Vec<VersionSeen>,
    /// Each version's attributes, pretty-printed, secrets masked, by hash
    /// (the newest [`VERSION_CONTENTS`] distinct versions).
    pub contents: std::collections::BTreeMap<String, String>,
}

/// How many distinct versions of a resource its page prints.
pub const VERSION_CONTENTS: usize = 40;

pub fn resource_page(
    r: &Reader<'_>,
    resource_type: &str,
    resource_id: &str,
) -> Result<ResourcePage, PageError> {
    let mut findings = Vec::new();
    for id in r.resource_finding_ids(resource_type, resource_id)? {
        if let FindingLookup::Found(f) = r.finding(&id)? {
            findings.push(*f);
        }
    }
    if findings.is_empty() {
        return Err(PageError::NotFound(format!(
            "driftd has no finding about {resource_type} {resource_id}"
        )));
    }
    let versions = r.resource_versions_seen(resource_type, resource_id, 200)?;
    let mut contents = std::collections::BTreeMap::new();
    for hash in versions
        .iter()
        .flat_map(|v| [v.desired.as_ref(), v.live.as_ref()])
        .flatten()
    {
        if contents.len() >= VERSION_CONTENTS || contents.contains_key(hash) {
            continue;
        }
        if let Some(attributes) = r.version_attributes(hash)? {
            contents.insert(hash.clone(), super::attrdiff::masked_pretty(&attributes));
        }
    }
    Ok(ResourcePage {
        address: findings.iter().find_map(|f| f.address.clone()),
        resource_type: resource_type.to_string(),
        resource_id: resource_id.to_string(),
        versions,
        contents,
        findings,
    })
}

/// The audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The chain checked end to end, now.
    pub verification: AuditCheck,
    /// The `before` of the next (older) page, when there is one.
    pub older: Option<i64>,
}

/// Audit rows a page.
pub const AUDIT_PAGE: usize = 200;

pub fn audit_page(
    r: &Reader<'_>,
    key: &SecretKey,
    filter: &AuditFilter,
) -> Result<AuditPage, StoreError> {
    let mut filter = filter.clone();
    filter.limit = AUDIT_PAGE + 1;
    let mut entries = r.audit_filtered(&filter)?;
    let older = if entries.len() > AUDIT_PAGE {
        entries.truncate(AUDIT_PAGE);
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(AuditPage {
        entries,
        verification: r.verify_audit(key)?,
        older,
    })
}
