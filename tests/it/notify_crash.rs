//! Crash safety of the outbox (DESIGN.md invariant 5): `driftd outbox run`
//! is killed with SIGKILL at random moments across 50 runs (while routing,
//! while sending, between a receiver's confirmation and the store's record)
//! and then run to the end. Every event is delivered; where the sink has an
//! idempotency key (the webhook's delivery id, PagerDuty's `dedup_key`) no
//! event takes effect twice; nothing is lost, nothing is left half-written.

use crate::notify_flow::{changed, config, scan};
use crate::support::api_receiver::Receiver;
use crate::support::pd_receiver::PagerDuty;
use crate::support::webhook_receiver::Webhook;
use chrono::Utc;
use driftd::store::{DeliveryState, OutboxFilter, Store};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KILLS: usize = 50;
/// New findings before each run, so that every run has work to be killed in.
const PER_RUN: usize = 4;
const FINDINGS: usize = PER_RUN * (KILLS + 1);

/// xorshift64*, seeded from the clock (the seed is printed, to replay a failure).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_loses_nothing_and_doubles_nothing_with_an_idempotency_key() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Receiver::start(PagerDuty::default(), Vec::new()).await;
    let hook = Receiver::start(
        Webhook::new(Some(crate::notify_flow::HOOK_SECRET)),
        Vec::new(),
    )
    .await;
    let escalation = Receiver::start(
        Webhook::new(Some(crate::notify_flow::HOOK_SECRET)),
        Vec::new(),
    )
    .await;
    let config = config(
        dir.path(),
        &pd.url("/v2/enqueue"),
        &hook.url("/hook"),
        &escalation.url("/esc"),
        "",
    );
    let config_path = dir.path().join("driftd.toml");
    let observed: Vec<_> = (0..FINDINGS)
        .map(|i| changed("aws_security_group", &format!("sg-{i:04}"), "ingress"))
        .collect();
    // Each scan sees PER_RUN more drifted groups (the earlier ones are still there).
    let scan_up_to = |n: usize| {
        let store = Store::open(&config.store.path).unwrap();
        scan(&store, &config, "prod-network", Utc::now(), &observed[..n]);
    };

    let seed = std::env::var("DRIFTD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64 | 1);
    eprintln!("crash test seed {seed} (DRIFTD_CRASH_SEED replays it)");
    let mut random = Random(seed);
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_driftd"))
            .args(["outbox", "run", "--config"])
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // PagerDuty is paced at 10 a second: a run's 4 pages take about 0.4 s,
    // plus what earlier runs left; kills within 0.6 s land everywhere in it.
    let mut finished_early = 0;
    for i in 0..KILLS {
        scan_up_to(PER_RUN * (i + 1));
        let mut child = run();
        let at = Duration::from_millis(random.next() % 600);
        let started = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                finished_early += 1;
                break;
            }
            if started.elapsed() >= at {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    scan_up_to(FINDINGS);
    let last = run().wait_with_output().unwrap();
    assert!(
        last.status.success(),
        "the final run failed: {}",
        String::from_utf8_lossy(&last.stderr)
    );
    eprintln!("{finished_early} of {KILLS} runs ended before their kill");

    let store = Store::open(&config.store.path).unwrap();
    let delivered = store
        .read(|r| {
            r.outbox(&OutboxFilter {
                state: Some(DeliveryState::Delivered),
                ..Default::default()
            })
        })
        .unwrap();
    let counts = store.read(|r| r.outbox_counts()).unwrap();
    // Each finding: a page to PagerDuty and the hook; its escalation waits
    // (30 minutes), nothing else is pending, nothing died.
    assert_eq!(counts.delivered as usize, 2 * FINDINGS, "{counts:?}");
    assert_eq!(
        counts.pending as usize, FINDINGS,
        "the escalations: {counts:?}"
    );
    assert_eq!((counts.dead, counts.cancelled), (0, 0), "{counts:?}");

    // The webhook took every delivery once (repeats are the same delivery id).
    let webhook = hook.api();
    hook.assert_no_problems();
    let taken: BTreeSet<String> = webhook.delivery_ids().into_iter().collect();
    let queued: BTreeSet<String> = delivered
        .iter()
        .filter(|d| d.channel == "hook")
        .map(|d| d.key.clone())
        .collect();
    assert_eq!(taken, queued);
    assert_eq!(webhook.deliveries.len(), FINDINGS);
    eprintln!(
        "webhook: {} deliveries sent again after a kill, deduplicated by delivery id",
        webhook.repeats
    );

    // PagerDuty: one alert per finding, never a second one.
    let paged = pd.api();
    pd.assert_no_problems();
    assert_eq!(paged.alerts.len(), FINDINGS);
    let keys: BTreeSet<&str> = paged.alerts.iter().map(|a| a.dedup_key.as_str()).collect();
    assert_eq!(keys.len(), FINDINGS);
    eprintln!(
        "pagerduty: {} triggers for {FINDINGS} alerts",
        paged.accepted.len()
    );

    // Every notify event was routed once; the audit chain holds.
    let key = driftd::secrets::SecretKey::load_or_create(&config.store.key_path).unwrap();
    let check = store.read(|r| r.verify_audit(&key)).unwrap();
    assert!(check.broken_at.is_none(), "{check:?}");
    let audit = store.read(|r| r.audit_entries(0, 100_000)).unwrap();
    let delivered_rows = audit
        .iter()
        .filter(|a| a.record.action == "notification.delivered")
        .count();
    assert_eq!(
        delivered_rows,
        2 * FINDINGS,
        "one audit row per delivery recorded"
    );
}
