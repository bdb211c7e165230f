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
use std::collections::{BTreeMap, HashMap};
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
}

/// How the live side is scanned.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    pub collect: crate::aws::CollectOptions,
    /// AWS default objects count as unmanaged too.
    pub strict: bool,
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
    let started_at = Utc::now();
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
    let live_report = match (&target.aws, live) {
        (Some(scope), Some(options)) if status == ScanStatus::Complete => {
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
            let report = LiveReport {
                resources: inventory.resources.len(),
                coverage: inventory.coverage,
                api_calls: stats.snapshot(),
                drift,
            };
            live_resources = inventory.resources;
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
    drop(graph);

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

    let ended_at = Utc::now();
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
    let stats = tokio::task::spawn_blocking(move || {
        store.write(|w| {
            let stats = w.store_resources(scan_id, Side::Desired, &resources)?;
            if !live_resources.is_empty() {
                w.store_resources(scan_id, Side::Live, &live_resources)?;
            }
            w.finish_scan(scan_id, &outcome)?;
            Ok::<_, StoreError>(stats)
        })
    })
    .await??;

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
