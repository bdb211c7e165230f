//! Attribution against the store and CloudTrail: start a search for each new
//! sighting (in the scan's write transaction), then passes that fetch what
//! the searches need (LookupEvents within the rate limit, or a trail bucket's
//! objects not read before) and join.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::lookup::{Lookup, LookupError, Query};
use super::matching::{self, Subject, Window};
use super::plan::{self, Choice, Need, SWEEP};
use super::table;
use super::trail_s3::{ObjectEvents, ReadOptions, TrailLocation, TrailReader};
use crate::config::{AttributionSettings, AwsScope, Target};
use crate::findings::Finding;
use crate::model::Resource;
use crate::store::{
    AttributionCandidate, AttributionRow, AttributionStatus, Fetch, FindingLookup, Store,
    StoreError, TargetId, Writer,
};

/// Where a resource's events are recorded, and what names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub account: String,
    pub region: String,
}

/// Starts a search for every active finding of `target` whose latest sighting
/// (opening, reopening, new value) has none: runs in the scan's write
/// transaction, where the scan's resources are at hand. Returns how many.
pub fn start_searches(
    w: &Writer<'_>,
    target: TargetId,
    scope: &AwsScope,
    desired: &[Resource],
    live: &[Resource],
    settings: &AttributionSettings,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let candidates = w.attribution_candidates(target)?;
    if candidates.is_empty() {
        return Ok(0);
    }
    let mut by_key: HashMap<&crate::model::ResourceKey, (Option<&Resource>, Option<&Resource>)> =
        HashMap::new();
    for r in desired {
        if r.address.mode == crate::model::Mode::Managed {
            by_key.entry(&r.key).or_default().0 = Some(r);
        }
    }
    for r in live {
        by_key.entry(&r.key).or_default().1 = Some(r);
    }
    let mut started = 0;
    for candidate in candidates {
        let FindingLookup::Found(finding) = w.finding(&candidate.finding_id)? else {
            continue;
        };
        let (d, l) = by_key.get(&finding.key).copied().unwrap_or_default();
        let row = new_search(&candidate, &finding, d, l, scope, settings, now);
        w.save_attribution(&row)?;
        started += 1;
    }
    Ok(started)
}

/// The search for one sighting (pure).
pub fn new_search(
    candidate: &AttributionCandidate,
    finding: &Finding,
    desired: Option<&Resource>,
    live: Option<&Resource>,
    scope: &AwsScope,
    settings: &AttributionSettings,
    now: DateTime<Utc>,
) -> AttributionRow {
    let resource = live.or(desired);
    let attributes: Value = resource
        .map(|r| r.attributes.to_value())
        .unwrap_or(Value::Null);
    let resource_type = &*finding.key.resource_type;
    let place = place(resource_type, live, desired, &attributes, scope);
    // The attributes the rules bind and the lookup names, nothing else.
    let mut wanted: Vec<&str> = table::rules_for(resource_type)
        .flat_map(|r| r.subject.iter().map(|(_, a)| *a))
        .collect();
    let lookup = table::lookup_for(resource_type);
    wanted.extend(lookup.iter().flat_map(|l| l.resource_names.iter().copied()));
    let mut subject = Map::new();
    for name in wanted {
        if name != "id"
            && let Some(v) = attributes
                .get(name)
                .filter(|v| v.is_string() || v.is_number())
        {
            subject.insert(name.to_string(), v.clone());
        }
    }
    let subject = Value::Object(subject);
    let probe = Subject {
        resource_type,
        id: &finding.key.id,
        attributes: &subject,
        kind: finding.kind,
        changed: &finding.attributes,
    };
    let lookup_name = lookup
        .and_then(|l| {
            l.resource_names
                .iter()
                .find_map(|a| matching::attribute_text(&probe, a))
        })
        .unwrap_or_else(|| finding.key.id.clone());
    let end = candidate.scan_ended + settings.clock_skew;
    let start = match candidate.previous_scan_started {
        Some(previous) => previous - settings.clock_skew,
        None => candidate.scan_ended - settings.first_scan_lookback,
    };
    AttributionRow {
        finding_id: finding.id.clone(),
        status: AttributionStatus::Pending,
        account: place.account,
        region: place.region,
        lookup_name,
        subject,
        window: Window { start, end },
        scan_id: candidate.scan_id,
        give_up_at: candidate.scan_ended + settings.retry_for,
        next_attempt: now,
        attempts: 0,
        checked_at: None,
        last_error: None,
    }
}

/// The account and region whose trail records changes to the resource.
fn place(
    resource_type: &str,
    live: Option<&Resource>,
    desired: Option<&Resource>,
    attributes: &Value,
    scope: &AwsScope,
) -> Place {
    let first_account = scope
        .accounts
        .first()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let first_region = scope
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".to_string());
    let global = table::lookup_for(resource_type).is_some_and(|l| l.global)
        || crate::aws::types::rules(resource_type).is_some_and(|r| r.global);
    // A live resource's origin is `aws:<account>:<region>`.
    let from_origin = live.and_then(|r| {
        let origin: &str = &r.origin;
        let mut parts = origin.splitn(3, ':');
        if parts.next() != Some("aws") {
            return None;
        }
        Some((parts.next()?.to_string(), parts.next()?.to_string()))
    });
    // Else what the resource itself says: its ARN, `region`, availability zone.
    let (arn_account, stated_region) = live
        .or(desired)
        .map(|r| crate::diff::place_of(r, attributes))
        .unwrap_or_default();
    let account = from_origin
        .as_ref()
        .map(|(a, _)| a.clone())
        .or_else(|| arn_account.map(str::to_string))
        .unwrap_or(first_account);
    let region = if global {
        // Global services record their events in us-east-1.
        "us-east-1".to_string()
    } else {
        from_origin
            .map(|(_, r)| r)
            .filter(|r| r != crate::live::GLOBAL)
            .or(stated_region)
            .unwrap_or(first_region)
    };
    Place { account, region }
}

/// How a pass reaches CloudTrail.
pub struct PassContext {
    pub store: Arc<Store>,
    pub clock: Arc<dyn crate::clock::Clock>,
    pub settings: AttributionSettings,
    /// Credentials and call settings, as for the collectors.
    pub collect: crate::aws::CollectOptions,
}

/// What one pass did, for output and the benchmark.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// Searches looked at.
    pub searched: usize,
    pub found: usize,
    pub unknown: usize,
    pub pending: usize,
    /// LookupEvents calls made, and how many were throttled.
    pub calls: u64,
    pub throttled: u64,
    /// Trail bucket objects fetched and stored (a target with
    /// `[target.aws.cloudtrail] bucket`), and those in the windows' delivery
    /// ranges skipped because an earlier pass read them.
    pub objects_read: usize,
    pub objects_already_read: usize,
    /// Write events newly stored.
    pub new_events: usize,
    /// Per account/region: the plan chosen and both plans' estimated costs.
    pub plans: Vec<PlanReport>,
    /// Why some could not look (each also on its search's `last_error`).
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub account: String,
    pub region: String,
    pub choice: Choice,
    pub lookup_calls: u64,
    pub sweep_calls: Option<u64>,
    /// Calls actually made.
    pub calls: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("an attribution task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One pass over a target's due searches: fetch what they need (minus what
/// was fetched before), join, and move each search on: `found` once an event
/// explains it and CloudTrail's delivery delay has passed since its window,
/// `unknown` once its retry time is over with nothing found, else pending
/// and due again after `retry_every`.
pub async fn attribute_target(ctx: &PassContext, target: &Target) -> Result<PassReport, PassError> {
    let mut report = PassReport::default();
    let Some(scope) = target.aws.as_ref() else {
        return Ok(report);
    };
    if !ctx.settings.enabled {
        return Ok(report);
    }
    let now = ctx.clock.now();
    let store = ctx.store.clone();
    let name = target.name.clone();
    let due = tokio::task::spawn_blocking(move || {
        store.read(|r| {
            let Some(t) = r.target_by_name(&name)? else {
                return Ok(Vec::new());
            };
            r.attributions_due(t.id, now)
        })
    })
    .await??;
    let mut groups: BTreeMap<(String, String), Vec<AttributionRow>> = BTreeMap::new();
    for row in due {
        groups
            .entry((row.account.clone(), row.region.clone()))
            .or_default()
            .push(row);
    }
    let stats = Arc::new(crate::aws::CallStats::default());
    let mut configs: HashMap<String, Result<aws_config::SdkConfig, String>> = HashMap::new();
    for ((account, region), rows) in groups {
        let config = match configs.get(&account) {
            Some(c) => c.clone(),
            None => {
                let c = account_config(scope, &account, &ctx.collect, &stats).await;
                configs.insert(account.clone(), c.clone());
                c
            }
        };
        let errors = match (config, &scope.cloudtrail.bucket) {
            (Ok(config), Some(bucket)) => {
                let reader = trail_reader(&config, scope, bucket);
                fetch_group_from_bucket(ctx, &reader, &account, &region, &rows, now, &mut report)
                    .await
            }
            (Ok(config), None) => {
                let lookup = Lookup::new(&config, &account, &region);
                let result = fetch_group(ctx, &lookup, &rows, now, &mut report).await;
                report.calls += lookup.calls();
                report.throttled += lookup.throttled();
                result.err().into_iter().collect()
            }
            (Err(e), _) => vec![e],
        };
        // Each search keeps the first problem, and how many more there were.
        let error = errors.first().map(|first| match errors.len() {
            1 => first.clone(),
            n => format!("{first} (and {} more)", n - 1),
        });
        report.errors.extend(errors);
        let store = ctx.store.clone();
        let settings = ctx.settings.clone();
        let (account, region) = (account.clone(), region.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            store.write(|w| join_group(w, &account, &region, rows, error, &settings, now))
        })
        .await??;
        report.searched += outcome.searched;
        report.found += outcome.found;
        report.unknown += outcome.unknown;
        report.pending += outcome.pending;
    }
    Ok(report)
}

async fn account_config(
    scope: &AwsScope,
    account: &str,
    collect: &crate::aws::CollectOptions,
    stats: &Arc<crate::aws::CallStats>,
) -> Result<aws_config::SdkConfig, String> {
    let Some(acc) = scope.accounts.iter().find(|a| a.id == account) else {
        return Err(format!(
            "account {account} is not in the target's [target.aws] accounts: add it to look up its CloudTrail events"
        ));
    };
    let config = crate::aws::account_config(scope, acc, collect, stats)
        .await
        .map_err(|e| format!("CloudTrail in account {account}: {e}"))?;
    Ok(match &scope.cloudtrail.endpoint_url {
        Some(url) => config.into_builder().endpoint_url(url).build(),
        None => config,
    })
}

/// A reader of the target's trail bucket with the account's credentials:
/// the bucket's own region, and path-style addressing when an endpoint is
/// set (S3-compatible stores and emulators need it).
fn trail_reader(
    config: &aws_config::SdkConfig,
    scope: &AwsScope,
    bucket: &crate::config::TrailBucket,
) -> TrailReader {
    let endpoint = scope
        .cloudtrail
        .endpoint_url
        .as_ref()
        .or(scope.endpoint_url.as_ref());
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .region(aws_sdk_s3::config::Region::new(bucket.region.clone()))
            .force_path_style(endpoint.is_some())
            .build(),
    );
    TrailReader::new(
        client,
        TrailLocation::new(
            bucket.bucket.clone(),
            &bucket.prefix,
            bucket.organization_id.as_deref(),
        ),
        ReadOptions::default(),
    )
}

/// Reads the objects of a group's windows from the trail bucket, minus
/// those read before, storing each object's write events (all of them: a
/// later window may need those outside this one) and its key in one
/// transaction as it comes, so a pass holds a few objects' events at a time
/// and an object is recorded only with its events. No planning: the bucket
/// has no rate limit and objects read before are skipped. A window read
/// without a problem is recorded as fetched, up to what has settled.
/// Returns the problems, each naming the bucket and the key or folder.
async fn fetch_group_from_bucket(
    ctx: &PassContext,
    reader: &TrailReader,
    account: &str,
    region: &str,
    rows: &[AttributionRow],
    now: DateTime<Utc>,
    report: &mut PassReport,
) -> Vec<String> {
    let location = reader.location();
    let bucket = location.bucket.clone();
    let label = format!("s3://{}/{}", location.bucket, location.prefix);
    let settled = now - ctx.settings.delivery_delay;
    let mut errors = Vec::new();
    // Keys handed over in this pass, stored or not: never fetched twice in one
    // pass (windows' delivery ranges overlap). One that failed to store is
    // not recorded, so the next pass reads it again.
    let mut this_pass: HashSet<String> = HashSet::new();
    for window in plan::union(rows.iter().map(|r| r.window).collect()) {
        let Some(keys) = reader.key_range(account, region, window) else {
            continue;
        };
        let mut already_read = match read(&ctx.store, {
            let bucket = bucket.clone();
            move |r| r.trail_objects_read_in(&bucket, keys.start.as_str()..keys.end.as_str())
        })
        .await
        {
            Ok(keys) => keys,
            Err(e) => {
                errors.push(format!(
                    "{label}: reading the objects read before failed: {e}"
                ));
                continue;
            }
        };
        already_read.extend(this_pass.iter().cloned());
        // The part of the window that has settled: recorded as fetched.
        let covered = Window::new(window.start, window.end.min(settled));
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<ObjectEvents>(1);
        let store_each = async {
            let (mut stored, mut new, mut in_window) = (0usize, 0usize, 0u64);
            let mut failed = Vec::new();
            while let Some(ObjectEvents { object, events }) = receiver.recv().await {
                let key = object.key.clone();
                let in_this = events.iter().filter(|e| covered.contains(e.time)).count() as u64;
                let bucket = bucket.clone();
                let written = write(&ctx.store, move |w| {
                    let new = w.store_trail_events(&events)?;
                    let etag = object.etag.unwrap_or_default();
                    let records = object.records as u64;
                    w.record_trail_objects(&bucket, &[(object.key, etag, records)], now)?;
                    Ok(new)
                })
                .await;
                match written {
                    Ok(n) => {
                        stored += 1;
                        new += n;
                        in_window += in_this;
                    }
                    Err(e) => failed.push(format!(
                        "storing the events of s3://{}/{key} failed: {e}; it is read again at the next pass",
                        location.bucket
                    )),
                }
            }
            (stored, new, in_window, failed)
        };
        let (trail_read, (stored, new, in_window, failed)) = tokio::join!(
            reader.read_each(account, region, window, &already_read, sender),
            store_each
        );
        this_pass.extend(trail_read.objects.iter().map(|o| o.key.clone()));
        report.objects_read += stored;
        report.objects_already_read += trail_read.already_read;
        report.new_events += new;
        let complete = trail_read.complete() && failed.is_empty();
        errors.extend(trail_read.errors.iter().map(ToString::to_string));
        errors.extend(failed);
        if complete && covered.start <= covered.end {
            let (account, region, lookup) =
                (account.to_string(), region.to_string(), label.clone());
            // GetObject calls: a bucket has no call budget to plan around.
            let calls = trail_read.objects.len() as u64;
            let recorded = write(&ctx.store, move |w| {
                w.record_trail_fetch(&Fetch {
                    account: &account,
                    region: &region,
                    lookup: &lookup,
                    window: covered,
                    events: in_window,
                    calls,
                    at: now,
                })
            })
            .await;
            if let Err(e) = recorded {
                errors.push(format!("{label}: recording the read failed: {e}"));
            }
        }
    }
    errors
}

/// Fetches what a group's searches need, within the pass's call budget.
async fn fetch_group(
    ctx: &PassContext,
    lookup: &Lookup,
    rows: &[AttributionRow],
    now: DateTime<Utc>,
    report: &mut PassReport,
) -> Result<(), String> {
    let needs: Vec<Need> = rows
        .iter()
        .map(|r| Need {
            name: r.lookup_name.clone(),
            window: r.window,
        })
        .collect();
    let Some(span) = needs.iter().map(|n| n.window).reduce(|a, b| Window {
        start: a.start.min(b.start),
        end: a.end.max(b.end),
    }) else {
        return Ok(());
    };
    // Events newer than this may still be on their way: fetched, not settled.
    let settled = now - ctx.settings.delivery_delay;
    let budget = ctx.settings.max_calls_per_pass;
    let mut first_plan: Option<plan::Plan> = None;
    let mut rate: Option<f64> = None;
    // Spans read in this pass, settled or not: never read twice in one pass.
    let mut this_pass: Vec<crate::store::FetchedSpan> = Vec::new();
    loop {
        let (fetched, known_rate) = read(&ctx.store, {
            let (account, region) = (lookup.account.clone(), lookup.region.clone());
            move |r| {
                Ok((
                    r.trail_fetched(&account, &region, span)?,
                    r.trail_write_rate(&account, &region)?,
                ))
            }
        })
        .await?;
        let mut fetched = fetched;
        fetched.extend(this_pass.iter().cloned());
        let p = plan::plan(&needs, &fetched, rate.or(known_rate));
        first_plan.get_or_insert_with(|| p.clone());
        let outcome = match p.choice {
            Choice::Nothing => break,
            Choice::Lookups => {
                let mut result = Ok(());
                for (name, w) in &p.lookups {
                    if lookup.calls() >= budget {
                        break;
                    }
                    result = fetch_span(
                        ctx,
                        lookup,
                        Query::Resource(name.clone()),
                        name,
                        *w,
                        settled,
                        None,
                        report,
                    )
                    .await
                    .map(|(_, read)| this_pass.extend(read));
                    if result.is_err() {
                        break;
                    }
                }
                result.map(|_| true)
            }
            Choice::Sweep => {
                let mut result = Ok(());
                for w in &p.sweep {
                    if lookup.calls() >= budget {
                        break;
                    }
                    result =
                        fetch_span(ctx, lookup, Query::Sweep, SWEEP, *w, settled, None, report)
                            .await
                            .map(|(_, read)| this_pass.extend(read));
                    if result.is_err() {
                        break;
                    }
                }
                result.map(|_| true)
            }
            Choice::Probe => {
                // The newest span first: a finding is most often recent.
                let w = *p.sweep.last().expect("a probe has a span");
                fetch_span(
                    ctx,
                    lookup,
                    Query::Sweep,
                    SWEEP,
                    w,
                    settled,
                    Some(1),
                    report,
                )
                .await
                .map(|(page_rate, read)| {
                    this_pass.extend(read);
                    rate = Some(page_rate.unwrap_or(0.0));
                    false
                })
            }
        };
        match outcome {
            Err(e) => {
                push_plan(report, lookup, first_plan.take());
                return Err(e.to_string());
            }
            // A probe learned the rate: plan again with it.
            Ok(false) => continue,
            Ok(true) => break,
        }
    }
    push_plan(report, lookup, first_plan);
    Ok(())
}

fn push_plan(report: &mut PassReport, lookup: &Lookup, p: Option<plan::Plan>) {
    if let Some(p) = p {
        report.plans.push(PlanReport {
            account: lookup.account.clone(),
            region: lookup.region.clone(),
            choice: p.choice,
            lookup_calls: p.lookup_calls,
            sweep_calls: p.sweep_calls,
            calls: lookup.calls(),
        });
    }
}

/// Fetches one span and stores its write events; records the part of the
/// span that was read completely and has settled. Returns, with `max_pages`,
/// the write-event rate the pages showed when they did not reach the end,
/// and the part read completely (settled or not).
#[allow(clippy::too_many_arguments)]
async fn fetch_span(
    ctx: &PassContext,
    lookup: &Lookup,
    query: Query,
    label: &str,
    w: Window,
    settled: DateTime<Utc>,
    max_pages: Option<u64>,
    report: &mut PassReport,
) -> Result<(Option<f64>, Option<crate::store::FetchedSpan>), LookupError> {
    let fetched = lookup.fetch(&query, w, max_pages).await?;
    for why in &fetched.unreadable {
        tracing::warn!(account = %lookup.account, region = %lookup.region, "unreadable CloudTrail record: {why}");
    }
    // Read completely: all of it, or (newest first) from the oldest event on.
    let (covered, rate) = if fetched.complete {
        (Some(w), None)
    } else {
        let oldest = fetched.oldest.unwrap_or(w.end);
        let newest = fetched.newest.unwrap_or(w.end);
        let rate = plan::rate_from_page(oldest, newest, fetched.events.len() as u64);
        (
            Some(Window {
                start: oldest + Duration::seconds(1),
                end: w.end,
            }),
            Some(rate),
        )
    };
    let read_now = covered.map(|c| crate::store::FetchedSpan {
        lookup: label.to_string(),
        window: c,
    });
    let covered = covered
        .map(|c| Window {
            start: c.start,
            end: c.end.min(settled),
        })
        .filter(|c| c.start <= c.end);
    let store = ctx.store.clone();
    let (account, region, label) = (
        lookup.account.clone(),
        lookup.region.clone(),
        label.to_string(),
    );
    let now = ctx.clock.now();
    let events = fetched.events;
    let calls = fetched.calls;
    let new = tokio::task::spawn_blocking(move || {
        store.write(|wr| {
            let new = wr.store_trail_events(&events)?;
            if let Some(c) = covered {
                let in_span = events.iter().filter(|e| c.contains(e.time)).count() as u64;
                wr.record_trail_fetch(&Fetch {
                    account: &account,
                    region: &region,
                    lookup: &label,
                    window: c,
                    events: in_span,
                    calls,
                    at: now,
                })?;
            }
            Ok::<_, StoreError>(new)
        })
    })
    .await
    .map_err(|e| store_failure(lookup, e.to_string()))?
    .map_err(|e| store_failure(lookup, e.to_string()))?;
    report.new_events += new;
    Ok((rate, read_now))
}

fn store_failure(lookup: &Lookup, why: String) -> LookupError {
    LookupError {
        account: lookup.account.clone(),
        region: lookup.region.clone(),
        message: format!("storing the events failed: {why}"),
        transient: true,
    }
}

async fn read<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&crate::store::Reader<'_>) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.read(f))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

async fn write<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Writer<'_>) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.write(f))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

#[derive(Debug, Default)]
struct GroupOutcome {
    searched: usize,
    found: usize,
    unknown: usize,
    pending: usize,
}

/// Joins each search of a group with the stored events and moves it on.
fn join_group(
    w: &Writer<'_>,
    account: &str,
    region: &str,
    rows: Vec<AttributionRow>,
    error: Option<String>,
    settings: &AttributionSettings,
    now: DateTime<Utc>,
) -> Result<GroupOutcome, StoreError> {
    let mut outcome = GroupOutcome::default();
    let Some(span) = rows.iter().map(|r| r.window).reduce(|a, b| Window {
        start: a.start.min(b.start),
        end: a.end.max(b.end),
    }) else {
        return Ok(outcome);
    };
    let events = w.trail_events(account, region, span)?;
    for mut row in rows {
        let FindingLookup::Found(finding) = w.finding(&row.finding_id)? else {
            continue;
        };
        let subject = Subject {
            resource_type: &finding.key.resource_type,
            id: &finding.key.id,
            attributes: &row.subject,
            kind: finding.kind,
            changed: &finding.attributes,
        };
        // The window ends a clock skew after the sighting.
        let observed_at = row.window.end - settings.clock_skew;
        let evidence = matching::explain(
            &subject,
            &events,
            row.window,
            observed_at,
            &settings.pipeline_principals,
        );
        w.save_evidence(&row.finding_id, &evidence)?;
        let explained = matching::explanation(&evidence).is_some();
        let settled = now >= row.window.end + settings.delivery_delay;
        row.attempts += 1;
        row.checked_at = Some(now);
        row.last_error = error.clone();
        row.status = if explained && settled && error.is_none() {
            AttributionStatus::Found
        } else if now >= row.give_up_at {
            if explained {
                AttributionStatus::Found
            } else {
                AttributionStatus::Unknown
            }
        } else {
            AttributionStatus::Pending
        };
        row.next_attempt = now + settings.retry_every;
        match row.status {
            AttributionStatus::Found => outcome.found += 1,
            AttributionStatus::Unknown => outcome.unknown += 1,
            AttributionStatus::Pending => outcome.pending += 1,
        }
        outcome.searched += 1;
        w.save_attribution(&row)?;
        // The actor may change the finding's tier (a rule on how it was
        // made): routing decides again, and escalates if the tier rose.
        if row.status == AttributionStatus::Found
            && finding.visible
            && w.finding_policy(&finding.id)?.is_some()
        {
            w.add_notify_events(&[crate::store::NewNotifyEvent {
                finding_id: finding.id.clone(),
                kind: crate::store::NotifyKind::ValueChanged,
                at: now,
                by: None,
                not_before: now,
            }])?;
        }
    }
    Ok(outcome)
}
