//! Notification benchmark (BENCHMARKS.md, "Notifications"): 10,000 new
//! findings in one scan, routed and delivered through the outbox to local
//! receivers (a signed webhook and PagerDuty's Events API shape, both on
//! 127.0.0.1, answering at once), with the channels' rate limits set high;
//! then the digest of the 10,000 open findings.
//!
//! The scan is the real reconcile-and-notify path
//! (`scan::update_findings_notifying`, tiers decided in its transaction);
//! the worker is `notify::outbox::Outbox` with the real sinks.
//!
//! `cargo bench --bench notify`. Environment: `DRIFTD_NOTIFY_FINDINGS`
//! (default 10,000).

use axum::Router;
use axum::http::StatusCode;
use chrono::{Duration as Span, Utc};
use driftd::clock::{Clock, ManualClock};
use driftd::config::Config;
use driftd::findings::{Kind, Observation, Policy, ScanInfo};
use driftd::graph::ResourceGraph;
use driftd::model::ResourceKey;
use driftd::notify::enqueue::ScanContext;
use driftd::notify::outbox::Outbox;
use driftd::secrets::SecretKey;
use driftd::store::{ScanOutcome, ScanStatus, Store};
use serde_json::json;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

async fn receiver(count: Arc<AtomicUsize>, status: StatusCode) -> String {
    let app = Router::new().fallback(move || {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::Relaxed);
            (
                status,
                r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn main() {
    let n: usize = std::env::var("DRIFTD_NOTIFY_FINDINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hook_count = Arc::new(AtomicUsize::new(0));
    let pd_count = Arc::new(AtomicUsize::new(0));
    let (hook, pd) = runtime.block_on(async {
        (
            receiver(hook_count.clone(), StatusCode::OK).await,
            receiver(pd_count.clone(), StatusCode::ACCEPTED).await,
        )
    });
    std::fs::write(
        dir.path().join("pd.key"),
        "e93facc04764012d7bfb002500d5d1a6",
    )
    .unwrap();
    std::fs::write(dir.path().join("hook.secret"), "bench-secret").unwrap();
    let text = format!(
        r#"
[store]
path = "driftd.db"
[[target]]
name = "prod-network"
environment = "prod"
[[target.state]]
type = "file"
path = "none.tfstate"
[target.aws]
regions = ["eu-west-1"]
[[target.aws.account]]
id = "111111111111"
[[policy.rule]]
name = "prod"
tier = 3
environments = ["prod"]
[[channel]]
name = "hook"
type = "webhook"
url = "{hook}/hook"
secret = {{ file = "hook.secret" }}
rate_per_second = 10000
[[channel]]
name = "pagerduty"
type = "pagerduty"
routing_key = {{ file = "pd.key" }}
events_url = "{pd}/v2/enqueue"
rate_per_second = 10000
[[route]]
name = "page"
tiers = [3]
channels = ["hook", "pagerduty"]
digest = "hourly"
"#
    );
    let config = Config::parse(&dir.path().join("driftd.toml"), &text).unwrap();
    let store = Arc::new(Store::open(&config.store.path).unwrap());
    let now = Utc::now();
    let clock = Arc::new(ManualClock::new(now));

    // One scan with n new drifts, confirmed at once.
    let observed: Vec<Observation> = (0..n)
        .map(|i| Observation {
            kind: Kind::Changed,
            key: ResourceKey {
                provider: "aws".into(),
                resource_type: "aws_security_group".into(),
                id: format!("sg-{i:017x}"),
            },
            address: Some(format!("aws_security_group.sg[{i}]")),
            attributes: BTreeSet::from(["ingress".to_string()]),
            changes: json!({"ingress": {"recorded": {"value": []}, "live": {"value": [{"from_port": 22, "cidr_blocks": ["0.0.0.0/0"]}]}}}),
            ignored_by: None,
            confirmed_by_reread: true,
            desired_version: None,
            live_version: None,
        })
        .collect();
    let types: HashSet<String> = HashSet::from(["aws_security_group".to_string()]);
    let (graph, _) = ResourceGraph::build(&[]);
    let t = Instant::now();
    store
        .write(|w| {
            let target = w.upsert_target("prod-network", "prod")?;
            let scan = w.begin_scan(target, now)?;
            w.finish_scan(
                scan,
                &ScanOutcome {
                    ended_at: now,
                    status: ScanStatus::Complete,
                    source_versions: vec![],
                    diagnostics: vec![],
                },
            )?;
            driftd::scan::update_findings_notifying(
                w,
                target,
                "prod-network",
                &observed,
                ScanInfo {
                    scan_id: scan.0,
                    at: now,
                },
                &types,
                &Policy { confirm_after: 2 },
                Some(&ScanContext {
                    environment: "prod",
                    policy: &config.policy,
                    wait_for_actor: Span::zero(),
                    desired: &[],
                    graph: &graph,
                    live: &[],
                    now,
                    record_events: true,
                }),
            )
        })
        .unwrap();
    let scan_took = t.elapsed();

    let mut outbox = Outbox::new(
        store.clone(),
        SecretKey::random(),
        Arc::new(config.clone()),
        clock.clone(),
    );
    // Routing only (the digest period starts after the findings: no digest yet).
    clock.set(now);
    let t = Instant::now();
    let routed = outbox.route_due().unwrap();
    let route_took = t.elapsed();
    let t = Instant::now();
    let delivered = runtime.block_on(outbox.deliver_due()).unwrap();
    let deliver_took = t.elapsed();
    assert_eq!(delivered.delivered, 2 * n, "{delivered:?}");
    assert_eq!(
        hook_count.load(Ordering::Relaxed) + pd_count.load(Ordering::Relaxed),
        2 * n
    );

    // The digest of every open finding: gathered, rendered as the webhook
    // body, sent.
    clock.set(now + Span::hours(1));
    let t = Instant::now();
    let digests = outbox.queue_digests().unwrap();
    let digest_took = t.elapsed();
    assert_eq!(digests.digests, 2);
    let t = Instant::now();
    let sent = runtime.block_on(outbox.deliver_due()).unwrap();
    let digest_send_took = t.elapsed();
    assert_eq!(sent.delivered, 2);

    let per_second = (2 * n) as f64 / deliver_took.as_secs_f64();
    println!("| step | time | rate |");
    println!("|---|---|---|");
    println!(
        "| scan: reconcile {n} new findings, decide tiers, record notify events | {:.2} s | |",
        scan_took.as_secs_f64()
    );
    println!(
        "| route {} events into {} deliveries | {:.2} s | {:.0} events/s |",
        routed.events_routed,
        routed.queued,
        route_took.as_secs_f64(),
        routed.events_routed as f64 / route_took.as_secs_f64()
    );
    println!(
        "| deliver {} (webhook + PagerDuty), each recorded with its audit row | {:.2} s | **{per_second:.0} deliveries/s** |",
        2 * n,
        deliver_took.as_secs_f64()
    );
    println!(
        "| digest of {n} open findings: gather + build the message | {:.3} s | |",
        digest_took.as_secs_f64()
    );
    println!(
        "| digest: render and send to both channels | {:.3} s | |",
        digest_send_took.as_secs_f64()
    );
    let _ = clock.now();
}
