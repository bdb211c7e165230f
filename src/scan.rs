//! One scan of a target's desired side: fetch every state source (skipping
//! the ones whose version did not change), parse, build the graph, store.
//!
//! This is the IO shell around the pure core; the daemon and the CLI both call it.

use crate::config::{StateSourceSpec, Target};
use crate::diag::Diagnostic;
use crate::graph::ResourceGraph;
use crate::model::{Mode, Origin, Resource};
use crate::secrets::SecretKey;
use crate::sources::{Fetcher, SourceVersion};
use crate::state::parse_state;
use crate::store::{ScanOutcome, ScanStatus, Side, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// What one state source gave in this scan.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub origin: String,
    /// Serial, ETag or version id: what tells this version apart.
    pub version: Option<SourceVersion>,
    /// False when the version had not changed and the stored resources were reused.
    pub reread: bool,
    pub managed: usize,
    pub data_sources: usize,
    /// Why the source could not be used, if it could not.
    pub error: Option<String>,
}

/// Resources of one type.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeCount {
    pub managed: usize,
    pub data_sources: usize,
}

/// The result of a desired-side scan.
#[derive(Debug, Clone, Serialize)]
pub struct DesiredScan {
    pub target: String,
    pub environment: String,
    pub scan_id: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub status: ScanStatus,
    pub sources: Vec<SourceReport>,
    pub managed: usize,
    pub data_sources: usize,
    pub by_type: BTreeMap<String, TypeCount>,
    pub graph_edges: usize,
    /// Resource rows written and, of those, distinct versions not stored before.
    pub stored: StoredCounts,
    /// The live side and the diff, when the target has a cloud scope and every
    /// state source was read (nothing is diffed before that: invariant 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveReport>,
    pub diagnostics: Vec<Diagnostic>,
}

/// What the live side of a scan found, and how it compares with the states.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    /// Live resources listed, over every type, account and region.
    pub resources: usize,
    /// Every listing: complete, or unknown with the reason.
    pub coverage: Vec<crate::live::Coverage>,
    /// API requests per service (retries included) and throttled answers.
    pub api_calls: BTreeMap<&'static str, crate::aws::ServiceCalls>,
    pub drift: crate::diff::DiffReport,
    /// What ignore rules hid from `drift` (its counts are of what is still
    /// reported): counted here, and tracked as ignored findings.
    pub ignored: crate::ignore::IgnoredCounts,
    /// What the drift did to the target's findings.
    pub findings: FindingsReport,
}

/// How one scan changed a target's findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FindingsReport {
    /// First seen in this scan.
    pub opened: usize,
    /// Became visible (and notifiable) in this scan.
    pub confirmed: usize,
    /// Of those, confirmed at once by re-reading their resource types.
    pub confirmed_by_reread: usize,
    /// No longer seen.
    pub resolved: usize,
    /// Seen again after being resolved.
    pub reopened: usize,
    /// Seen again with different values.
    pub value_changed: usize,
    /// Snoozes that ended.
    pub snooze_ended: usize,
    /// Findings of the target that are open or acknowledged and visible, after this scan.
    pub needing_attention: usize,
    /// Findings of the target that are not resolved, after this scan (visible or not,
    /// ignored or not, accepted and snoozed included).
    pub active: usize,
    /// Of the active findings, those an ignore rule covers.
    pub ignored: usize,
}

/// How the live side is scanned.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    pub collect: crate::aws::CollectOptions,
    /// AWS default objects count as unmanaged too.
    pub strict: bool,
    /// How new drift becomes a visible finding.
    pub findings: FindingsOptions,
    /// The config's `[[ignore]]` rules (those for other targets are skipped).
    pub ignore_rules: Vec<crate::ignore::IgnoreRule>,
    /// Start an attribution search for each new sighting (`[attribution]`);
    /// `None` when attribution is off.
    pub attribution: Option<crate::config::AttributionSettings>,
    /// Record notify events (and tiers) for what changed; `None`: notify nothing.
    pub notify: Option<NotifyOptions>,
}

impl LiveOptions {
    /// Everything the config says about the live side, findings, ignore
    /// rules, attribution and notifications (the CLI and the daemon alike).
    pub fn from_config(config: &crate::config::Config, strict: bool) -> LiveOptions {
        LiveOptions {
            collect: config.aws.collect_options(),
            strict,
            findings: FindingsOptions {
                policy: crate::findings::Policy {
                    confirm_after: config.findings.confirm_after,
                },
                reread_after: config
                    .findings
                    .reread
                    .then_some(config.findings.reread_delay),
            },
            ignore_rules: config.ignore.clone(),
            attribution: config
                .attribution
                .enabled
                .then(|| config.attribution.clone()),
            notify: Some(NotifyOptions {
                policy: config.policy.clone(),
                wait_for_actor: config.notify.wait_for_actor,
                record_events: !config.routes.is_empty(),
            }),
        }
    }
}

/// What a scan needs to record notify events.
#[derive(Debug, Clone)]
pub struct NotifyOptions {
    pub policy: crate::config::PolicyConfig,
    /// `[notify] wait_for_actor` (used only when attribution is on).
    pub wait_for_actor: chrono::Duration,
    /// Record notify events (there are routes to take them); tiers are
    /// decided and kept either way.
    pub record_events: bool,
}

/// How new drift becomes a visible finding.
#[derive(Debug, Clone)]
pub struct FindingsOptions {
    pub policy: crate::findings::Policy,
    /// Re-read the resource types of drift not yet confirmed, this long after
    /// the first read, in the same scan; `None` to wait for the next scans.
    pub reread_after: Option<std::time::Duration>,
}

impl Default for FindingsOptions {
    fn default() -> Self {
        FindingsOptions {
            policy: crate::findings::Policy::default(),
            reread_after: Some(std::time::Duration::from_secs(15)),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct StoredCounts {
    pub resources: usize,
    pub new_versions: usize,
}

/// Everything one scan needs from the outside; shared by the CLI and the daemon.
pub struct ScanContext {
    pub store: Arc<Store>,
    pub fetcher: Arc<Fetcher>,
    pub key: SecretKey,
    /// Where "now" comes from (snooze ends, scan times).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Prune the store by this policy after each scan (`[retention]`);
    /// `None` keeps everything.
    pub retention: Option<crate::store::RetentionPolicy>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a scan task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Scans a target. The desired side: every state source is fetched (or, when its
/// version did not change since the last complete scan, its stored resources are
/// reused), parsed and put in the graph. A source that fails does not fail the scan:
/// the scan is `partial` (or `failed` when no source could be read) and says which
/// source and why. Then, when `live` is given, the target has an AWS scope and every
/// source was read, the live side is listed and diffed. Both sides are stored in the
/// same scan; a listing that failed makes the scan partial.
pub async fn scan_target(
    ctx: &ScanContext,
    target: &Target,
    live: Option<&LiveOptions>,
) -> Result<DesiredScan, ScanError> {
    let started_at = ctx.clock.now();
    let store = ctx.store.clone();
    let (name, environment) = (target.name.clone(), target.environment.clone());
    let (target_id, scan_id, known) = tokio::task::spawn_blocking(move || {
        store.write(|w| {
            let target_id = w.upsert_target(&name, &environment)?;
            let known = w.latest_source_versions(target_id)?;
            let scan_id = w.begin_scan(target_id, started_at)?;
            Ok::<_, StoreError>((target_id, scan_id, known))
        })
    })
    .await??;
    let known: HashMap<String, SourceVersion> = known
        .into_iter()
        .filter_map(|(origin, v)| serde_json::from_value(v).ok().map(|v| (origin, v)))
        .collect();

    let mut diagnostics = Vec::new();
    let mut sources = Vec::new();
    let mut resources: Vec<Resource> = Vec::new();
    let mut unchanged: Vec<usize> = Vec::new(); // indexes into `sources` to fill from the last scan
    for spec in &target.states {
        match ctx.fetcher.fetch(spec, &known).await {
            Err(e) => {
                let origin = e
                    .origin()
                    .map(str::to_string)
                    .unwrap_or_else(|| describe(spec));
                diagnostics.push(Diagnostic::error(origin.clone(), e.to_string()));
                sources.push(SourceReport {
                    origin,
                    version: None,
                    reread: false,
                    managed: 0,
                    data_sources: 0,
                    error: Some(e.to_string()),
                });
            }
            Ok(objects) => {
                for object in objects {
                    let mut report = SourceReport {
                        origin: object.origin.clone(),
                        version: Some(object.version),
                        reread: object.content.is_some(),
                        managed: 0,
                        data_sources: 0,
                        error: None,
                    };
                    match object.content {
                        None => unchanged.push(sources.len()),
                        Some(bytes) => {
                            let key = ctx.key.clone();
                            let origin: Origin = Origin::from(object.origin.as_str());
                            let parsed = tokio::task::spawn_blocking(move || {
                                let mut parsed = parse_state(&bytes, &origin, &key);
                                if let Ok(state) = &mut parsed {
                                    // `aws_alb` is matched as the `aws_lb` it is.
                                    crate::aws::types::canonicalize_types(&mut state.resources);
                                    // Secrets the provider does not mark sensitive
                                    // (Lambda environments): hashed before anything keeps them.
                                    crate::aws::types::redact_declared(&mut state.resources, &key);
                                }
                                parsed
                            })
                            .await?;
                            match parsed {
                                Ok(state) => {
                                    report.managed = state.managed().count();
                                    report.data_sources = state.data_sources().count();
                                    diagnostics.extend(state.diagnostics);
                                    resources.extend(state.resources);
                                }
                                Err(e) => {
                                    diagnostics.push(Diagnostic::error(
                                        object.origin.clone(),
                                        e.to_string(),
                                    ));
                                    report.error = Some(e.to_string());
                                    report.version = None;
                                }
                            }
                        }
                    }
                    sources.push(report);
                }
            }
        }
    }

    if !unchanged.is_empty() {
        // Unchanged sources: their resources are the ones the last complete scan stored.
        let store = ctx.store.clone();
        let previous = tokio::task::spawn_blocking(move || {
            store.read(|r| {
                let last = r
                    .scans(target_id, 50)?
                    .into_iter()
                    .find(|s| s.status() == Some(ScanStatus::Complete));
                match last {
                    Some(scan) => r.scan_resources(scan.id, Side::Desired),
                    None => Ok(Vec::new()),
                }
            })
        })
        .await??;
        let mut by_origin: HashMap<&str, Vec<&Resource>> = HashMap::new();
        for r in &previous {
            by_origin.entry(&r.origin).or_default().push(r);
        }
        for &i in &unchanged {
            let reused = by_origin
                .get(sources[i].origin.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            sources[i].managed = reused.iter().filter(|r| r.is_managed()).count();
            sources[i].data_sources = reused.len() - sources[i].managed;
            resources.extend(reused.iter().map(|r| (*r).clone()));
        }
    }

    let failed = sources.iter().filter(|s| s.error.is_some()).count();
    let mut status = if failed == 0 {
        ScanStatus::Complete
    } else if failed < sources.len() {
        ScanStatus::Partial
    } else {
        ScanStatus::Failed
    };

    let mut live_resources: Vec<Resource> = Vec::new();
    let mut observations: Option<Vec<crate::findings::Observation>> = None;
    let mut live_report = match (&target.aws, live) {
        (Some(_), Some(options))
            if status == ScanStatus::Complete && ignore_error(target, options).is_some() =>
        {
            let e = ignore_error(target, options).expect("checked by the guard");
            diagnostics.push(Diagnostic::error(
                target.name.clone(),
                format!(
                    "not compared with the cloud: {e}; fix the file (`driftd validate` shows every \
                     problem): comparing without it would report what it hides as new drift"
                ),
            ));
            status = ScanStatus::Partial;
            None
        }
        (Some(scope), Some(options)) if status == ScanStatus::Complete => {
            let ignore = crate::ignore::IgnoreSet::load(
                &target.name,
                target.driftignore.as_deref(),
                &options.ignore_rules,
            )
            .expect("ignore_error found no error");
            let (inventory, stats) =
                crate::aws::collect(scope, crate::aws::types::ALL, &options.collect, &ctx.key)
                    .await;
            let diff_options = crate::diff::DiffOptions {
                strict: options.strict,
            };
            // The diff is CPU work (about a second per 100,000 resources): off the runtime.
            let (desired_back, inventory, drift) = tokio::task::spawn_blocking(move || {
                let drift = crate::diff::diff(
                    &resources,
                    &inventory,
                    &crate::aws::types::rules,
                    &diff_options,
                );
                (resources, inventory, drift)
            })
            .await?;
            resources = desired_back;
            if inventory.is_partial() {
                status = ScanStatus::Partial;
            }
            let mut drift = drift;
            let ignored = apply_ignore(
                &mut drift,
                &ignore,
                ctx.clock.now(),
                &resources,
                &inventory.resources,
            );
            diagnostics.extend(ignored.diagnostics);
            let ignored_pairs = ignored_observations(ignored.ignored);
            let mut observed = crate::findings::observe(&drift.drifts, &ignored_pairs);
            fill_versions(&mut observed, &resources, &inventory.resources);
            if let Some(delay) = options.findings.reread_after
                && !observed.is_empty()
            {
                let store = ctx.store.clone();
                let ids: Vec<String> = observed.iter().map(|o| id_of(&target.name, o)).collect();
                let known = tokio::task::spawn_blocking(move || {
                    store.read(|r| r.findings_to_reconcile(target_id, &ids))
                })
                .await??;
                let visible: HashSet<String> = known
                    .into_iter()
                    .filter(|f| f.visible && f.state.is_active())
                    .map(|f| f.id)
                    .collect();
                // Hidden drift is tracked, not shown: no need to hurry its confirmation.
                let unconfirmed: Vec<usize> = (0..observed.len())
                    .filter(|&i| {
                        observed[i].ignored_by.is_none()
                            && !visible.contains(&id_of(&target.name, &observed[i]))
                    })
                    .collect();
                if !unconfirmed.is_empty() {
                    tokio::time::sleep(delay).await;
                    let confirmed = reread(
                        ctx,
                        scope,
                        options,
                        &ignore,
                        &target.name,
                        &resources,
                        &unconfirmed
                            .iter()
                            .map(|&i| (i, &observed[i]))
                            .collect::<Vec<_>>(),
                    )
                    .await?;
                    for i in confirmed {
                        observed[i].confirmed_by_reread = true;
                    }
                }
            }
            let report = LiveReport {
                resources: inventory.resources.len(),
                coverage: inventory.coverage,
                api_calls: stats.snapshot(),
                drift,
                ignored: ignored.counts,
                findings: FindingsReport::default(),
            };
            live_resources = inventory.resources;
            observations = Some(observed);
            Some(report)
        }
        (Some(_), Some(_)) => {
            diagnostics.push(Diagnostic::warning(
                target.name.clone(),
                "not compared with the cloud: a state source could not be read, and nothing is diffed \
                 until every state of a target has been read (otherwise its resources would look unmanaged)",
            ));
            None
        }
        _ => None,
    };

    let (graph, graph_diagnostics) = ResourceGraph::build(&resources);
    diagnostics.extend(graph_diagnostics);
    let graph_edges = graph.edge_count();

    let mut by_type: BTreeMap<String, TypeCount> = BTreeMap::new();
    for r in &resources {
        let count = by_type.entry(r.key.resource_type.to_string()).or_default();
        match r.address.mode {
            Mode::Managed => count.managed += 1,
            Mode::Data => count.data_sources += 1,
        }
    }
    let managed = by_type.values().map(|c| c.managed).sum();
    let data_sources = by_type.values().map(|c| c.data_sources).sum();

    let ended_at = ctx.clock.now();
    let outcome = ScanOutcome {
        ended_at,
        status,
        source_versions: sources
            .iter()
            .filter_map(|s| {
                Some((
                    s.origin.clone(),
                    serde_json::to_value(s.version.as_ref()?).ok()?,
                ))
            })
            .collect(),
        diagnostics: diagnostics.clone(),
    };
    let store = ctx.store.clone();
    let target_name = target.name.clone();
    let policy = live.map(|l| l.findings.policy).unwrap_or_default();
    let notify = live.and_then(|l| l.notify.clone());
    let environment = target.environment.clone();
    let attribution = live
        .and_then(|l| l.attribution.clone())
        .zip(target.aws.clone());
    // Types whose every listing completed: a finding of another type that this
    // scan did not see stays as it was (invariant 2).
    let complete_types: HashSet<String> = live_report
        .as_ref()
        .map(|l| complete_types(&l.coverage))
        .unwrap_or_default();
    let summary = live_report.as_ref().map(|l| scan_summary(l, managed));
    let (stats, findings_report) = tokio::task::spawn_blocking(move || {
        store.write(|w| {
            let stats = w.store_resources(scan_id, Side::Desired, &resources)?;
            if !live_resources.is_empty() {
                w.store_resources(scan_id, Side::Live, &live_resources)?;
            }
            w.finish_scan(scan_id, &outcome)?;
            let notify_ctx = notify
                .as_ref()
                .map(|n| crate::notify::enqueue::ScanContext {
                    environment: &environment,
                    policy: &n.policy,
                    wait_for_actor: if attribution.is_some() {
                        n.wait_for_actor
                    } else {
                        chrono::Duration::zero()
                    },
                    desired: &resources,
                    graph: &graph,
                    live: &live_resources,
                    now: ended_at,
                    record_events: n.record_events,
                });
            let findings = match observations {
                Some(observed) => Some(update_findings_notifying(
                    w,
                    target_id,
                    &target_name,
                    &observed,
                    crate::findings::ScanInfo {
                        scan_id: scan_id.0,
                        at: ended_at,
                    },
                    &complete_types,
                    &policy,
                    notify_ctx.as_ref(),
                )?),
                None => None,
            };
            if let Some(mut summary) = summary {
                summary.needing_attention = findings.as_ref().map_or(0, |f| f.needing_attention);
                w.record_scan_summary(scan_id, ended_at, &summary)?;
            }
            if let (Some(report), Some((settings, scope))) = (findings.as_ref(), &attribution)
                && report.active > 0
            {
                crate::attribution::run::start_searches(
                    w,
                    target_id,
                    scope,
                    &resources,
                    &live_resources,
                    settings,
                    ended_at,
                )?;
            }
            Ok::<_, StoreError>((stats, findings))
        })
    })
    .await??;
    if let (Some(report), Some(findings)) = (live_report.as_mut(), findings_report) {
        report.findings = findings;
    }

    // Retention after every scan: at 100,000 resources a prune takes about a
    // millisecond (BENCHMARKS.md, "Findings history"). The scan is stored
    // already; a prune that fails is retried after the next one.
    if let Some(policy) = ctx.retention {
        let store = ctx.store.clone();
        match tokio::task::spawn_blocking(move || store.prune(&policy)).await? {
            Ok(_) => {}
            Err(e) => tracing::warn!(target = %target.name, error = %e, "pruning the store failed"),
        }
    }

    Ok(DesiredScan {
        target: target.name.clone(),
        environment: target.environment.clone(),
        scan_id: scan_id.0,
        started_at,
        ended_at,
        status,
        sources,
        managed,
        data_sources,
        by_type,
        graph_edges,
        live: live_report,
        stored: StoredCounts {
            resources: stats.resources,
            new_versions: stats.new_versions,
        },
        diagnostics,
    })
}

/// A label for a source that failed before it could name itself.
fn describe(spec: &StateSourceSpec) -> String {
    match spec {
        StateSourceSpec::File { path } => path.display().to_string(),
        StateSourceSpec::Glob { pattern } => pattern.clone(),
        StateSourceSpec::S3(s) => format!("s3://{}/{}", s.bucket, s.key),
        StateSourceSpec::Http(h) => h.url.clone(),
        StateSourceSpec::Hcp(h) => format!("hcp:{}/{}", h.organization, h.workspace),
    }
}

fn id_of(target: &str, o: &crate::findings::Observation) -> String {
    crate::findings::finding_id(target, o.kind, &o.key, &o.attributes)
}

/// The resource types every listing of which completed.
pub fn complete_types(coverage: &[crate::live::Coverage]) -> HashSet<String> {
    let mut complete: HashMap<&str, bool> = HashMap::new();
    for c in coverage {
        *complete.entry(&c.resource_type).or_insert(true) &=
            c.listing == crate::live::Listing::Complete;
    }
    complete
        .into_iter()
        .filter(|&(_, ok)| ok)
        .map(|(t, _)| t.to_string())
        .collect()
}

/// Points each observation at the stored versions of its resource on both sides.
pub fn fill_versions(
    observed: &mut [crate::findings::Observation],
    desired: &[Resource],
    live: &[Resource],
) {
    let mut wanted: HashMap<&crate::model::ResourceKey, Vec<usize>> = HashMap::new();
    for (i, o) in observed.iter().enumerate() {
        wanted.entry(&o.key).or_default().push(i);
    }
    let mut found: Vec<(usize, bool, [u8; 32])> = Vec::new();
    for (side_live, resources) in [(false, desired), (true, live)] {
        for r in resources {
            if r.address.mode != Mode::Managed && !side_live {
                continue;
            }
            if let Some(indexes) = wanted.get(&r.key) {
                let hash = crate::store::version_hash(r);
                found.extend(indexes.iter().map(|&i| (i, side_live, hash)));
            }
        }
    }
    for (i, side_live, hash) in found {
        if side_live {
            observed[i].live_version = Some(hash);
        } else {
            observed[i].desired_version = Some(hash);
        }
    }
}

/// Reconciles the target's findings with one scan's observations, in the
/// scan's write transaction, and says what changed.
pub fn update_findings(
    w: &crate::store::Writer<'_>,
    target: crate::store::TargetId,
    target_name: &str,
    observed: &[crate::findings::Observation],
    scan: crate::findings::ScanInfo,
    complete_types: &HashSet<String>,
    policy: &crate::findings::Policy,
) -> Result<FindingsReport, StoreError> {
    update_findings_notifying(
        w,
        target,
        target_name,
        observed,
        scan,
        complete_types,
        policy,
        None,
    )
}

/// [`update_findings`], and the notify events of what changed, with each
/// new finding's facts and tier (`notify`: `None` records none).
#[allow(clippy::too_many_arguments)]
pub fn update_findings_notifying(
    w: &crate::store::Writer<'_>,
    target: crate::store::TargetId,
    target_name: &str,
    observed: &[crate::findings::Observation],
    scan: crate::findings::ScanInfo,
    complete_types: &HashSet<String>,
    policy: &crate::findings::Policy,
    notify: Option<&crate::notify::enqueue::ScanContext<'_>>,
) -> Result<FindingsReport, StoreError> {
    use crate::findings::{EventKind, Finding};
    let ids: Vec<String> = observed.iter().map(|o| id_of(target_name, o)).collect();
    let mut findings = w.findings_to_reconcile(target, &ids)?;
    let done = crate::findings::reconcile(
        target_name,
        &mut findings,
        observed,
        scan,
        |key| complete_types.contains(&*key.resource_type),
        policy,
    );
    w.save_findings(target, done.changed.iter().map(|&i| &findings[i]))?;
    let sighted: Vec<&str> = done
        .sighted
        .iter()
        .map(|&i| findings[i].id.as_str())
        .collect();
    w.record_sightings(&sighted, scan.at, scan.scan_id)?;
    w.add_finding_events(&done.events)?;
    if let Some(ctx) = notify {
        crate::notify::enqueue::from_scan(w, &findings, &done.events, ctx)?;
    }
    let count = |kind: EventKind| done.events.iter().filter(|e| e.kind == kind).count();
    let active: Vec<&Finding> = findings.iter().filter(|f| f.state.is_active()).collect();
    Ok(FindingsReport {
        opened: count(EventKind::Opened),
        confirmed: count(EventKind::Confirmed),
        confirmed_by_reread: done
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Confirmed && e.details["by"] == "reread")
            .count(),
        resolved: count(EventKind::Resolved),
        reopened: count(EventKind::Reopened),
        value_changed: count(EventKind::ValueChanged),
        snooze_ended: count(EventKind::SnoozeEnded),
        needing_attention: active.iter().filter(|f| f.needs_attention()).count(),
        active: active.len(),
        ignored: active.iter().filter(|f| f.ignored_by.is_some()).count(),
    })
}

/// The resource types to list again to re-read resources of `types`: those
/// types, plus every type folded into them or that they fold into (a security
/// group's rules are part of its comparison).
fn reread_types(types: &HashSet<&str>) -> Vec<&'static crate::aws::TypeDef> {
    let all = crate::aws::types::ALL;
    let mut wanted: HashSet<&str> = types.clone();
    loop {
        let before = wanted.len();
        for def in all {
            let t = def.rules.resource_type;
            for fold in def.rules.folds {
                let touches =
                    wanted.contains(t) || fold.child_types.iter().any(|c| wanted.contains(c));
                if touches {
                    wanted.insert(t);
                    wanted.extend(fold.child_types.iter().copied());
                }
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    all.iter()
        .copied()
        .filter(|d| wanted.contains(d.rules.resource_type))
        .collect()
}

/// Lists again the resource types of the `unconfirmed` observations and diffs
/// them again; returns the observations the second read saw exactly as the
/// first (same finding, same values): those are confirmed at once.
async fn reread(
    ctx: &ScanContext,
    scope: &crate::config::AwsScope,
    options: &LiveOptions,
    ignore: &crate::ignore::IgnoreSet,
    target: &str,
    desired: &[Resource],
    unconfirmed: &[(usize, &crate::findings::Observation)],
) -> Result<Vec<usize>, ScanError> {
    let types: HashSet<&str> = unconfirmed
        .iter()
        .map(|(_, o)| &*o.key.resource_type)
        .collect();
    let defs = reread_types(&types);
    let names: HashSet<&str> = defs.iter().map(|d| d.rules.resource_type).collect();
    let mut collect = options.collect.clone();
    collect.progress = None;
    let (inventory, _) = crate::aws::collect(scope, &defs, &collect, &ctx.key).await;
    let desired: Vec<Resource> = desired
        .iter()
        .filter(|r| names.contains(&*r.key.resource_type))
        .cloned()
        .collect();
    let diff_options = crate::diff::DiffOptions {
        strict: options.strict,
    };
    let ignore = ignore.clone();
    let now = ctx.clock.now();
    let again = tokio::task::spawn_blocking(move || {
        let mut drift = crate::diff::diff(
            &desired,
            &inventory,
            &crate::aws::types::rules,
            &diff_options,
        );
        let ignored = apply_ignore(&mut drift, &ignore, now, &desired, &inventory.resources);
        crate::findings::observe(&drift.drifts, &ignored_observations(ignored.ignored))
    })
    .await?;
    let again: HashMap<String, &serde_json::Value> = again
        .iter()
        .map(|o| (id_of(target, o), &o.changes))
        .collect();
    Ok(unconfirmed
        .iter()
        .filter(|(_, o)| again.get(&id_of(target, o)) == Some(&&o.changes))
        .map(|&(i, _)| i)
        .collect())
}

/// Why the target's ignore rules cannot be used now (its `.driftignore` became
/// unreadable or invalid since the config was validated), if they cannot.
fn ignore_error(target: &Target, options: &LiveOptions) -> Option<crate::ignore::IgnoreError> {
    crate::ignore::IgnoreSet::load(
        &target.name,
        target.driftignore.as_deref(),
        &options.ignore_rules,
    )
    .err()
}

/// Hidden drift as (drift, the labels of the rules that hid it).
fn ignored_observations(
    ignored: Vec<crate::ignore::IgnoredDrift>,
) -> Vec<(crate::diff::Drift, String)> {
    ignored
        .into_iter()
        .map(|i| (i.drift, i.rules.into_iter().collect::<Vec<_>>().join(", ")))
        .collect()
}

/// Takes what `ignore` hides out of `drift` and fixes its counts (coverage
/// included) to be those of what is still reported.
fn apply_ignore(
    drift: &mut crate::diff::DiffReport,
    ignore: &crate::ignore::IgnoreSet,
    now: DateTime<Utc>,
    desired: &[Resource],
    live: &[Resource],
) -> crate::ignore::Filtered {
    let drifts = std::mem::take(&mut drift.drifts);
    // Tags for rules with `tags`: the state's for a managed resource, the
    // cloud's for an unmanaged one (only for resources that drifted).
    let keys: HashSet<&crate::model::ResourceKey> = drifts.iter().map(|d| d.key()).collect();
    let mut tags: HashMap<crate::model::ResourceKey, serde_json::Map<String, serde_json::Value>> =
        HashMap::new();
    if !ignore.is_empty() {
        for r in live.iter().chain(desired.iter().filter(|r| r.is_managed())) {
            if !keys.contains(&r.key) {
                continue;
            }
            let attrs = r.attributes.to_value();
            let found = ["tags_all", "tags"].iter().find_map(|a| {
                attrs
                    .get(*a)
                    .and_then(|t| t.as_object())
                    .filter(|t| !t.is_empty())
            });
            if let Some(t) = found {
                // The state's (chained last) wins over the cloud's for a managed resource.
                tags.insert(r.key.clone(), t.clone());
            }
        }
    }
    let mut filtered = crate::ignore::filter(drifts, ignore, now, |k| tags.get(k));
    drift.drifts = std::mem::take(&mut filtered.kept);
    let c = &filtered.counts;
    drift.changed -= c.changed.min(drift.changed);
    drift.missing -= c.missing.min(drift.missing);
    drift.unmanaged -= c.unmanaged.min(drift.unmanaged);
    let seen = drift.managed + drift.unmanaged;
    drift.coverage = if seen == 0 {
        1.0
    } else {
        drift.managed as f64 / seen as f64
    };
    filtered
}

/// The totals the report pages show of a scan that compared with the cloud
/// (open findings are filled in once the findings are updated).
fn scan_summary(live: &LiveReport, in_states: usize) -> crate::store::ScanSummary {
    let drift = &live.drift;
    crate::store::ScanSummary {
        listed: live.resources,
        in_states,
        managed: drift.managed,
        unmanaged: drift.unmanaged,
        missing: drift.missing,
        changed: drift.changed,
        ignored: live.ignored.drifts,
        not_checked: drift.not_checked.values().sum(),
        unknown: drift.unknown_resources,
        coverage: drift.coverage,
        incomplete: drift
            .unknown
            .iter()
            .map(|c| {
                let why = match &c.listing {
                    crate::live::Listing::Unknown { reason } => reason.as_str(),
                    crate::live::Listing::Complete => "incomplete",
                };
                format!("{} in {}/{}: {why}", c.resource_type, c.account, c.region)
            })
            .collect(),
        needing_attention: 0,
    }
}
