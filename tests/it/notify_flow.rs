//! Tiers, routing, escalation, quiet hours, digests and dead letters, end to
//! end: findings reconciled by the real scan path (which records notify
//! events and tiers in its transaction), the outbox worker on a clock the
//! test moves, and real HTTP receivers that check every request against the
//! published schemas and fail the first deliveries (500, then 429 with
//! `Retry-After`).

use crate::support::api_receiver::{Failure, Receiver};
use crate::support::pd_receiver::{PagerDuty, ROUTING_KEY};
use crate::support::webhook_receiver::Webhook;
use chrono::{DateTime, Duration, TimeZone, Utc};
use driftd::clock::{Clock, ManualClock};
use driftd::config::Config;
use driftd::findings::{Decision, Kind, Observation, Policy, ScanInfo};
use driftd::graph::ResourceGraph;
use driftd::model::ResourceKey;
use driftd::notify::enqueue::ScanContext;
use driftd::notify::outbox::Outbox;
use driftd::secrets::SecretKey;
use driftd::store::{DeliveryState, OutboxFilter, ScanOutcome, ScanStatus, Store};
use serde_json::json;
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

pub const HOOK_SECRET: &str = "whsec-test-3c1f0a";

/// A config with two targets, tier rules, and the routes under test.
pub fn config(dir: &Path, pd: &str, hook: &str, escalation: &str, extra: &str) -> Config {
    std::fs::write(dir.join("pd.key"), ROUTING_KEY).unwrap();
    std::fs::write(dir.join("hook.secret"), HOOK_SECRET).unwrap();
    std::fs::write(dir.join("empty.tfstate"), "{}").unwrap();
    let text = format!(
        r#"
[store]
path = "driftd.db"

[[target]]
name = "prod-network"
environment = "prod"
[[target.state]]
type = "file"
path = "empty.tfstate"
[target.aws]
regions = ["eu-west-1"]
[[target.aws.account]]
id = "111111111111"

[[target]]
name = "dev-sandbox"
environment = "dev"
[[target.state]]
type = "file"
path = "empty.tfstate"
[target.aws]
regions = ["eu-west-1"]
[[target.aws.account]]
id = "111111111111"

[policy]
default_tier = 1

[[policy.rule]]
name = "prod-network-rules"
tier = 3
environments = ["prod"]
resource_types = ["aws_security_group"]
attributes = ["ingress"]

[[policy.rule]]
name = "prod-default"
tier = 2
environments = ["prod"]

[[channel]]
name = "pagerduty"
type = "pagerduty"
routing_key = {{ file = "pd.key" }}
events_url = "{pd}"

[[channel]]
name = "hook"
type = "webhook"
url = "{hook}"
secret = {{ file = "hook.secret" }}
rate_per_second = 1000

[[channel]]
name = "escalation"
type = "webhook"
url = "{escalation}"
secret = {{ file = "hook.secret" }}

[[route]]
name = "page"
tiers = [3]
channels = ["pagerduty", "hook"]
escalate_after_minutes = 30
escalate_to = ["escalation"]

[[route]]
name = "review"
tiers = [2]
channels = ["hook"]
quiet_hours = "22:00-07:00"
timezone = "Europe/Amsterdam"

[[route]]
name = "inform"
tiers = [1]
channels = ["hook"]
immediate = false
digest = "hourly"
{extra}
"#
    );
    let path = dir.join("driftd.toml");
    std::fs::write(&path, &text).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("{e:?}"))
}

/// A changed drift of `attribute` on `id`.
pub fn changed(resource_type: &str, id: &str, attribute: &str) -> Observation {
    Observation {
        kind: Kind::Changed,
        key: ResourceKey {
            provider: "aws".into(),
            resource_type: resource_type.into(),
            id: id.into(),
        },
        address: Some(format!("{resource_type}.this")),
        attributes: BTreeSet::from([attribute.to_string()]),
        changes: json!({ attribute: {"recorded": {"value": []}, "live": {"value": [{"from_port": 22, "cidr_blocks": ["0.0.0.0/0"]}]}} }),
        ignored_by: None,
        confirmed_by_reread: false,
        desired_version: None,
        live_version: None,
    }
}

/// One complete scan of `target` at `at` that saw `observed`, through the
/// real reconcile and notify path (confirm after one sighting).
pub fn scan(
    store: &Store,
    config: &Config,
    target: &str,
    at: DateTime<Utc>,
    observed: &[Observation],
) {
    let t = config.target(target).unwrap();
    let types: HashSet<String> = [
        "aws_security_group",
        "aws_db_instance",
        "aws_s3_bucket",
        "aws_iam_role",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let (graph, _) = ResourceGraph::build(&[]);
    store
        .write(|w| {
            let target_id = w.upsert_target(&t.name, &t.environment)?;
            let scan = w.begin_scan(target_id, at)?;
            w.finish_scan(
                scan,
                &ScanOutcome {
                    ended_at: at,
                    status: ScanStatus::Complete,
                    source_versions: vec![],
                    diagnostics: vec![],
                },
            )?;
            driftd::scan::update_findings_notifying(
                w,
                target_id,
                &t.name,
                observed,
                ScanInfo {
                    scan_id: scan.0,
                    at,
                },
                &types,
                &Policy { confirm_after: 1 },
                Some(&ScanContext {
                    environment: &t.environment,
                    policy: &config.policy,
                    wait_for_actor: Duration::zero(),
                    desired: &[],
                    graph: &graph,
                    live: &[],
                    now: at,
                    record_events: true,
                }),
            )
        })
        .unwrap();
}

fn finding_id(store: &Store, resource_id: &str) -> String {
    store
        .read(|r| {
            r.findings(&driftd::store::FindingFilter {
                include_unconfirmed: true,
                ..Default::default()
            })
        })
        .unwrap()
        .into_iter()
        .find(|f| &*f.key.id == resource_id)
        .unwrap_or_else(|| panic!("no finding for {resource_id}"))
        .id
}

/// Runs outbox passes, moving the clock a minute after each, until nothing
/// is due within `horizon` (retries after 500 and 429 included).
async fn settle(outbox: &mut Outbox, clock: &ManualClock, horizon: Duration) {
    let end = clock.now() + horizon;
    loop {
        outbox.run_once().await.unwrap();
        if clock.now() >= end {
            break;
        }
        clock.advance(Duration::seconds(60));
    }
}

/// The `X-Driftd-Event` of every delivery the hook took, in order.
fn events_of(hook: &Receiver<Webhook>) -> Vec<String> {
    hook.api()
        .deliveries
        .iter()
        .map(|d| d["event"].as_str().unwrap().to_string())
        .collect()
}

fn t0() -> DateTime<Utc> {
    // 14:00 in Amsterdam: outside the quiet hours.
    Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap()
}

/// The receivers, the config pointing at them, the store, the clock and
/// the worker a test drives.
struct World {
    _dir: tempfile::TempDir,
    pd: Receiver<PagerDuty>,
    hook: Receiver<Webhook>,
    escalation: Receiver<Webhook>,
    config: Config,
    store: Arc<Store>,
    key: SecretKey,
    clock: Arc<ManualClock>,
    outbox: Outbox,
}

impl World {
    /// `flaky`: PagerDuty and the hook fail their first two deliveries
    /// (500, then 429 with Retry-After); `extra`: config text appended.
    async fn new(pd: PagerDuty, flaky: bool, extra: &str, at: DateTime<Utc>) -> World {
        let failures = || {
            if flaky {
                Failure::issue_script()
            } else {
                Vec::new()
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let pd = Receiver::start(pd, failures()).await;
        let hook = Receiver::start(Webhook::new(Some(HOOK_SECRET)), failures()).await;
        let escalation = Receiver::start(Webhook::new(Some(HOOK_SECRET)), Vec::new()).await;
        let config = config(
            dir.path(),
            &pd.url("/v2/enqueue"),
            &hook.url("/hook"),
            &escalation.url("/esc"),
            extra,
        );
        let store = Arc::new(Store::open(&config.store.path).unwrap());
        let key = SecretKey::random();
        let clock = Arc::new(ManualClock::new(at));
        let outbox = Outbox::new(
            store.clone(),
            key.clone(),
            Arc::new(config.clone()),
            clock.clone(),
        );
        World {
            _dir: dir,
            pd,
            hook,
            escalation,
            config,
            store,
            key,
            clock,
            outbox,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiers_route_page_escalate_acknowledge_and_resolve_with_each_event_delivered_once() {
    let World {
        _dir,
        pd,
        hook,
        escalation,
        config,
        store,
        key,
        clock,
        mut outbox,
    } = World::new(PagerDuty::default(), true, "", t0()).await;

    // A world-open ingress in prod (tier 3, pages), a tag change in prod
    // (tier 2, a review message), a change in dev (tier 1, digest only).
    scan(
        &store,
        &config,
        "prod-network",
        clock.now(),
        &[
            changed("aws_security_group", "sg-0aa", "ingress"),
            changed("aws_security_group", "sg-0bb", "ingress"),
            changed("aws_s3_bucket", "bucket-a", "tags"),
        ],
    );
    scan(
        &store,
        &config,
        "dev-sandbox",
        clock.now(),
        &[changed("aws_iam_role", "role-x", "tags")],
    );
    let (sg_a, sg_b) = (finding_id(&store, "sg-0aa"), finding_id(&store, "sg-0bb"));
    let bucket = finding_id(&store, "bucket-a");

    // Tiers are decided in the scan and say why.
    let (_, d) = store.read(|r| r.finding_policy(&sg_a)).unwrap().unwrap();
    assert_eq!((d.tier, d.rule.as_deref()), (3, Some("prod-network-rules")));
    assert_eq!(
        d.why,
        "rule prod-network-rules: environment prod; type aws_security_group; attribute ingress"
    );
    let (_, d) = store.read(|r| r.finding_policy(&bucket)).unwrap().unwrap();
    assert_eq!(d.tier, 2);
    let role = finding_id(&store, "role-x");
    assert_eq!(
        store
            .read(|r| r.finding_policy(&role))
            .unwrap()
            .unwrap()
            .1
            .tier,
        1
    );

    // 10 minutes: every receiver failed twice and then took each delivery.
    settle(&mut outbox, &clock, Duration::minutes(10)).await;
    pd.assert_no_problems();
    hook.assert_no_problems();
    assert_eq!(pd.failures_left(), 0);
    let mut triggers = pd.api().accepted_actions();
    triggers.sort();
    let mut want = vec![
        ("trigger".to_string(), format!("driftd/{sg_a}")),
        ("trigger".to_string(), format!("driftd/{sg_b}")),
    ];
    want.sort();
    assert_eq!(triggers, want);
    let webhook = hook.api();
    assert_eq!(webhook.repeats, 0, "no delivery was taken twice");
    let events: Vec<(String, String)> = webhook
        .deliveries
        .iter()
        .map(|d| {
            (
                d["event"].as_str().unwrap().to_string(),
                d["message"]["subject"]["resource_id"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    // Two pages and one review message, plus one hourly digest with the dev finding only.
    let mut finding_events: Vec<&(String, String)> =
        events.iter().filter(|(e, _)| e == "finding.new").collect();
    finding_events.sort();
    assert_eq!(
        finding_events,
        [
            &("finding.new".to_string(), "bucket-a".to_string()),
            &("finding.new".to_string(), "sg-0aa".to_string()),
            &("finding.new".to_string(), "sg-0bb".to_string())
        ]
    );
    let digests: Vec<&serde_json::Value> = webhook
        .deliveries
        .iter()
        .filter(|d| d["event"] == "digest")
        .collect();
    assert_eq!(digests.len(), 1, "{events:?}");
    let lines = digests[0]["message"]["digest"]["findings"]
        .as_array()
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["resource_id"], "role-x");
    let page = webhook
        .deliveries
        .iter()
        .find(|d| d["message"]["subject"]["resource_id"] == "sg-0aa")
        .unwrap();
    assert_eq!(page["message"]["subject"]["tier"]["tier"], 3);
    assert_eq!(
        page["message"]["subject"]["actor"]["summary"],
        "unknown — attribution is off for this target"
    );
    assert!(
        page["message"]["subject"]["commands"][1]
            .as_str()
            .unwrap()
            .starts_with(&format!("driftd ack {sg_a}"))
    );

    // sg-0bb is acknowledged before its escalation is due; sg-0aa is not.
    driftd::findings::ops::apply(
        &store,
        &key,
        &sg_b,
        Decision::Acknowledge {
            reason: Some("on it".into()),
        },
        "alice",
        clock.now(),
    )
    .unwrap();
    settle(&mut outbox, &clock, Duration::minutes(30)).await;
    let escalated = escalation.api();
    escalation.assert_no_problems();
    assert_eq!(
        escalated.deliveries.len(),
        1,
        "only the unacknowledged page escalates"
    );
    assert_eq!(escalated.deliveries[0]["event"], "finding.escalated");
    assert_eq!(
        escalated.deliveries[0]["message"]["subject"]["finding_id"],
        sg_a.as_str()
    );
    let cancelled = store
        .read(|r| {
            r.outbox(&OutboxFilter {
                state: Some(DeliveryState::Cancelled),
                ..Default::default()
            })
        })
        .unwrap();
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].finding_id.as_deref(), Some(sg_b.as_str()));
    // The ack went to PagerDuty (and the channel that was told).
    assert!(
        pd.api()
            .accepted_actions()
            .contains(&("acknowledge".to_string(), format!("driftd/{sg_b}")))
    );

    // The next scan no longer sees sg-0aa: it resolves, PagerDuty resolves it.
    scan(
        &store,
        &config,
        "prod-network",
        clock.now(),
        &[
            changed("aws_security_group", "sg-0bb", "ingress"),
            changed("aws_s3_bucket", "bucket-a", "tags"),
        ],
    );
    settle(&mut outbox, &clock, Duration::minutes(5)).await;
    let pd_now = pd.api();
    let for_a: Vec<&str> = pd_now
        .accepted
        .iter()
        .filter(|a| a.dedup_key == format!("driftd/{sg_a}"))
        .map(|a| a.event_action.as_str())
        .collect();
    assert_eq!(for_a, ["trigger", "resolve"]);
    assert_eq!(pd_now.dropped, 0);
    let hook_now = hook.api();
    assert_eq!(hook_now.repeats, 0);
    assert_eq!(
        hook_now
            .deliveries
            .iter()
            .filter(|d| d["event"] == "finding.resolved")
            .count(),
        1
    );
    // Nothing is left pending, nothing died; every attempt is in the audit log.
    let counts = store.read(|r| r.outbox_counts()).unwrap();
    assert_eq!((counts.pending, counts.dead), (0, 0), "{counts:?}");
    let audit = store.read(|r| r.audit_entries(0, 10_000)).unwrap();
    let failed = audit
        .iter()
        .filter(|a| a.record.action == "notification.failed")
        .count();
    assert_eq!(failed, 4, "500 and 429 at each of the two flaky receivers");
    let delivered = audit
        .iter()
        .filter(|a| a.record.action == "notification.delivered")
        .count();
    assert_eq!(delivered as u64, counts.delivered);
    assert!(
        store
            .read(|r| r.verify_audit(&key))
            .unwrap()
            .broken_at
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_a_review_until_morning_but_never_a_page() {
    let World {
        _dir,
        pd,
        hook,
        escalation: _escalation,
        config,
        store,
        key: _,
        clock,
        mut outbox,
    } = World::new(
        PagerDuty::default(),
        false,
        "",
        Utc.with_ymd_and_hms(2026, 11, 21, 22, 30, 0).unwrap(),
    )
    .await;
    scan(
        &store,
        &config,
        "prod-network",
        clock.now(),
        &[
            changed("aws_s3_bucket", "bucket-a", "tags"),
            changed("aws_security_group", "sg-0aa", "ingress"),
        ],
    );
    outbox.run_once().await.unwrap();
    // The page went at once; the tier-2 review waits.
    assert_eq!(pd.api().accepted.len(), 1);
    let sent: Vec<String> = hook
        .api()
        .deliveries
        .iter()
        .map(|d| {
            d["message"]["subject"]["resource_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(sent, ["sg-0aa"]);
    // 06:59 local: still waiting. 07:00 local (06:00Z): sent.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 22, 5, 59, 0).unwrap());
    outbox.run_once().await.unwrap();
    assert_eq!(hook.api().deliveries.len(), 1);
    clock.set(Utc.with_ymd_and_hms(2026, 11, 22, 6, 0, 0).unwrap());
    outbox.run_once().await.unwrap();
    let sent: Vec<String> = hook
        .api()
        .deliveries
        .iter()
        .map(|d| {
            d["message"]["subject"]["resource_id"]
                .as_str()
                .unwrap_or("digest")
                .to_string()
        })
        .collect();
    assert!(sent.contains(&"bucket-a".to_string()), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_finding_is_not_told_twice_within_the_dedup_window() {
    let World {
        _dir,
        pd: _pd,
        hook,
        escalation: _escalation,
        config,
        store,
        key: _,
        clock,
        mut outbox,
    } = World::new(PagerDuty::default(), false, "", t0()).await;
    let bucket = [changed("aws_s3_bucket", "bucket-a", "tags")];
    scan(&store, &config, "prod-network", clock.now(), &bucket);
    outbox.run_once().await.unwrap();
    // Gone, back 10 minutes later, gone, back: within the 60-minute window.
    for _ in 0..2 {
        clock.advance(Duration::seconds(300));
        scan(&store, &config, "prod-network", clock.now(), &[]);
        outbox.run_once().await.unwrap();
        clock.advance(Duration::seconds(300));
        scan(&store, &config, "prod-network", clock.now(), &bucket);
        outbox.run_once().await.unwrap();
    }
    let events = events_of(&hook);
    assert_eq!(
        events.iter().filter(|e| *e == "finding.new").count(),
        1,
        "told once within the window: {events:?}"
    );
    // After the window it is news again.
    clock.advance(Duration::seconds(3700));
    scan(&store, &config, "prod-network", clock.now(), &[]);
    outbox.run_once().await.unwrap();
    scan(&store, &config, "prod-network", clock.now(), &bucket);
    outbox.run_once().await.unwrap();
    let events = events_of(&hook);
    assert_eq!(
        events.iter().filter(|e| *e == "finding.new").count(),
        2,
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_refuses_is_dead_lettered_and_told_through_another() {
    let World {
        _dir,
        pd: _pd,
        hook,
        escalation,
        config,
        store,
        key: _,
        clock,
        mut outbox,
    } = World::new(
        PagerDuty::with_routing_key("0000000000000000000000000000000f"),
        false,
        "\n[notify]\ndead_letter_to = [\"escalation\", \"pagerduty\"]\n",
        t0(),
    )
    .await;
    scan(
        &store,
        &config,
        "prod-network",
        clock.now(),
        &[changed("aws_security_group", "sg-0aa", "ingress")],
    );
    outbox.run_once().await.unwrap();
    let dead = store
        .read(|r| {
            r.outbox(&OutboxFilter {
                state: Some(DeliveryState::Dead),
                ..Default::default()
            })
        })
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].channel, "pagerduty");
    assert_eq!(dead[0].last_status, Some(400));
    // The escalation channel heard that PagerDuty is failing (not PagerDuty itself).
    let told = escalation.api();
    assert_eq!(told.deliveries.len(), 1);
    assert_eq!(told.deliveries[0]["event"], "channel.failed");
    assert_eq!(
        told.deliveries[0]["message"]["failure"]["channel"],
        "pagerduty"
    );
    assert!(!told.deliveries[0].to_string().contains(ROUTING_KEY));
    // The other channel of the route still got the page.
    assert_eq!(hook.api().deliveries.len(), 1);

    // `outbox retry` puts it back; it dies again (the key is still wrong) but is not lost.
    assert!(
        store
            .write(|w| w.retry_delivery(dead[0].id, clock.now()))
            .unwrap()
    );
    assert!(
        !store
            .write(|w| w.retry_delivery(dead[0].id, clock.now()))
            .unwrap(),
        "pending now: nothing to retry"
    );
    outbox.run_once().await.unwrap();
    let again = store.read(|r| r.delivery(dead[0].id)).unwrap().unwrap();
    assert_eq!((again.state, again.attempts), (DeliveryState::Dead, 1));
    // Told once per hour, not once per failure.
    assert_eq!(escalation.api().deliveries.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_forgets_old_deliveries_but_not_those_of_an_open_finding() {
    let World {
        _dir,
        pd: _pd,
        hook: _hook,
        escalation: _escalation,
        config,
        store,
        key: _,
        clock,
        mut outbox,
    } = World::new(PagerDuty::default(), false, "", t0()).await;
    let both = [
        changed("aws_s3_bucket", "bucket-a", "tags"),
        changed("aws_s3_bucket", "bucket-b", "tags"),
    ];
    scan(&store, &config, "prod-network", clock.now(), &both);
    outbox.run_once().await.unwrap();
    scan(&store, &config, "prod-network", clock.now(), &both[..1]);
    outbox.run_once().await.unwrap();
    let (a, b) = (
        finding_id(&store, "bucket-a"),
        finding_id(&store, "bucket-b"),
    );
    // Everything finished two days ago.
    let conn = rusqlite::Connection::open(&config.store.path).unwrap();
    conn.execute(
        "UPDATE outbox SET done_at = '2000-01-01T00:00:00.000000000Z'",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE notify_events SET routed_at = '2000-01-01T00:00:00.000000000Z'",
        [],
    )
    .unwrap();
    let policy = driftd::store::RetentionPolicy {
        outbox_days: 1,
        ..Default::default()
    };
    let stats = store.prune(&policy).unwrap();
    assert!(stats.outbox_rows_deleted >= 3, "{stats:?}");
    let left = |finding: &str| {
        store
            .read(|r| r.deliveries_for_finding(finding))
            .unwrap()
            .len()
    };
    assert_eq!(left(&b), 0, "bucket-b resolved: its deliveries go");
    assert_eq!(left(&a), 1, "bucket-a is open: its first message stays");
    let events: i64 = conn
        .query_row("SELECT count(*) FROM notify_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(events, 1, "only the event bucket-a's delivery names");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_show_names_the_tier_the_rule_and_why() {
    let World {
        _dir,
        pd: _pd,
        hook: _hook,
        escalation: _escalation,
        config,
        store,
        key: _,
        clock,
        outbox: _,
    } = World::new(PagerDuty::default(), false, "", t0()).await;
    scan(
        &store,
        &config,
        "prod-network",
        clock.now(),
        &[changed("aws_security_group", "sg-0aa", "ingress")],
    );
    let id = finding_id(&store, "sg-0aa");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(["findings", "show", &id, "--config"])
        .arg(&config.source)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "tier      3 (advise): rule prod-network-rules: environment prod; type aws_security_group; attribute ingress\n"
        ),
        "{text}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(["findings", "show", &id, "--format", "json", "--config"])
        .arg(&config.source)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["policy"]["tier"], 3);
    assert_eq!(json["policy"]["rule"], "prod-network-rules");
}

/// The actor found after a finding was sent can raise its tier (a rule on
/// how the change was made): the attribution pass records a notify event,
/// routing decides again and escalates to the new tier's routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_found_later_that_raises_the_tier_escalates() {
    let extra = r#"
[[policy.rule]]
name = "console-in-prod"
tier = 3
environments = ["prod"]
actors = ["console"]
"#;
    let World {
        _dir,
        pd,
        hook,
        escalation: _escalation,
        config,
        store,
        key: _,
        clock,
        mut outbox,
    } = World::new(PagerDuty::default(), false, extra, t0()).await;
    scan(
        &store,
        &config,
        "prod-network",
        clock.now(),
        &[changed("aws_s3_bucket", "bucket-a", "tags")],
    );
    outbox.run_once().await.unwrap();
    let id = finding_id(&store, "bucket-a");
    assert_eq!(events_of(&hook), ["finding.new"]);
    assert!(pd.api().accepted.is_empty(), "tier 2 does not page");

    // CloudTrail names an SSO user in the console.
    let record = json!({
        "eventVersion": "1.08",
        "eventID": "5f0c7a1e-2b7d-4a53-9b1e-0c6f1d2e3a4b",
        "eventTime": (clock.now() - Duration::minutes(3)).to_rfc3339(),
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketTagging",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "[Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)]",
        "sessionCredentialFromConsole": "true",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice@corp.example",
            "arn": "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@corp.example",
            "accountId": "111111111111",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef", "userName": "AWSReservedSSO_Admin_0123456789abcdef"}}
        },
        "requestParameters": {"bucketName": "bucket-a", "Tagging": {}},
        "responseElements": null,
        "readOnly": false,
        "recipientAccountId": "111111111111"
    });
    let event = driftd::attribution::TrailEvent::from_record(record.clone()).unwrap();
    store
        .write(|w| {
            w.store_trail_events(std::slice::from_ref(&event))?;
            w.save_evidence(
                &id,
                &[driftd::attribution::matching::Evidence {
                    event_id: event.event_id.clone(),
                    time: event.time,
                    source: event.source.clone(),
                    name: event.name.clone(),
                    actor: driftd::attribution::Actor::from_record(&record),
                    error_code: None,
                    explains: true,
                }],
            )?;
            // What the attribution pass records when it finds the actor.
            w.add_notify_events(&[driftd::store::NewNotifyEvent {
                finding_id: id.clone(),
                kind: driftd::store::NotifyKind::ValueChanged,
                at: clock.now(),
                by: None,
                not_before: clock.now(),
            }])
        })
        .unwrap();
    outbox.run_once().await.unwrap();
    let (_, decision) = store.read(|r| r.finding_policy(&id)).unwrap().unwrap();
    assert_eq!(decision.tier, 3, "{decision:?}");
    assert_eq!(
        decision.why,
        "rule console-in-prod: environment prod; actor console"
    );
    assert_eq!(
        pd.api().accepted_actions(),
        [("trigger".to_string(), format!("driftd/{id}"))]
    );
    let webhook = hook.api();
    let escalated = webhook.deliveries.last().unwrap();
    assert_eq!(escalated["event"], "finding.escalated");
    let actor = escalated["message"]["subject"]["actor"]["summary"]
        .as_str()
        .unwrap();
    assert!(actor.starts_with("alice@corp.example (SSO"), "{actor}");
    assert!(actor.contains("console, from 203.0.113.7"), "{actor}");
}

/// Slack (bot) and Teams through the worker: the new finding is posted,
/// and when it resolves the Slack bot edits its own message (the same
/// `ts`) while Teams gets a follow-up card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_edits_its_message_when_the_finding_resolves_and_teams_follows_up() {
    use crate::support::chat_receiver::{Api, BOT_TOKEN, ChatReceiver, SLACK_CHANNEL_ID};
    let dir = tempfile::tempdir().unwrap();
    let pd = Receiver::start(PagerDuty::default(), Vec::new()).await;
    let hook = Receiver::start(Webhook::new(Some(HOOK_SECRET)), Vec::new()).await;
    let escalation = Receiver::start(Webhook::new(Some(HOOK_SECRET)), Vec::new()).await;
    let slack = ChatReceiver::start(Api::SlackBot).await;
    let teams = ChatReceiver::start(Api::TeamsWorkflow).await;
    std::fs::write(dir.path().join("slack.token"), BOT_TOKEN).unwrap();
    std::fs::write(dir.path().join("teams.url"), teams.webhook_url()).unwrap();
    let extra = format!(
        r#"
[[channel]]
name = "slack"
type = "slack"
token = {{ file = "slack.token" }}
channel = "{SLACK_CHANNEL_ID}"
api_url = "{}"

[[channel]]
name = "teams"
type = "teams"
webhook_url = {{ file = "teams.url" }}

[[route]]
name = "chat"
tiers = [2]
channels = ["slack", "teams"]
"#,
        slack.api_url()
    );
    let config = config(
        dir.path(),
        &pd.url("/v2/enqueue"),
        &hook.url("/hook"),
        &escalation.url("/esc"),
        &extra,
    );
    let store = Arc::new(Store::open(&config.store.path).unwrap());
    let clock = Arc::new(ManualClock::new(t0()));
    let mut outbox = Outbox::new(
        store.clone(),
        SecretKey::random(),
        Arc::new(config.clone()),
        clock.clone(),
    );
    let bucket = [changed("aws_s3_bucket", "bucket-a", "tags")];
    scan(&store, &config, "prod-network", clock.now(), &bucket);
    outbox.run_once().await.unwrap();
    scan(&store, &config, "prod-network", clock.now(), &[]);
    outbox.run_once().await.unwrap();

    assert!(slack.violations().is_empty(), "{:?}", slack.violations());
    assert!(teams.violations().is_empty(), "{:?}", teams.violations());
    let methods: Vec<String> = slack.accepted().iter().map(|a| a.method.clone()).collect();
    assert_eq!(methods, ["chat.postMessage", "chat.update"]);
    assert_eq!(
        slack.message_count(),
        1,
        "the resolve edited the message, it did not post another"
    );
    let id = finding_id(&store, "bucket-a");
    let posted_ts = store
        .read(|r| r.deliveries_for_finding(&id))
        .unwrap()
        .into_iter()
        .find(|d| d.channel == "slack" && d.kind == driftd::notify::MessageKind::New)
        .and_then(|d| d.receipt)
        .unwrap();
    assert_eq!(
        slack.accepted()[1].body["ts"],
        posted_ts["ts"],
        "chat.update names the ts chat.postMessage returned"
    );
    assert_eq!(teams.accepted().len(), 2);
    let counts = store.read(|r| r.outbox_counts()).unwrap();
    assert_eq!((counts.pending, counts.dead), (0, 0), "{counts:?}");
}
