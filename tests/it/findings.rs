//! Findings over time, end to end: Terraform writes a real state against moto,
//! a person changes things through the AWS API, `driftd scan` runs again and
//! again, and the findings go new → confirmed → resolved → reopened, with the
//! human decisions and the audit chain around them.

use crate::scenario::{open_ssh_to_the_world, scan, tag, write_config_with};
use crate::support::moto::MotoServer;
use crate::support::terraform::Workspace;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a `driftd` command with the config; returns (exit code, stdout, stderr).
pub(crate) fn driftd(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(args)
        .args(["-c", config.to_str().unwrap()])
        .env_remove("DRIFTD_CONFIG")
        .env("USER", "ci-runner")
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(config: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (code, stdout, stderr) = driftd(config, &all);
    assert_eq!(code, 0, "driftd {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn listed(config: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["findings", "list"];
    args.extend(extra);
    json(config, &args)["findings"].as_array().unwrap().clone()
}

fn events(config: &Path, id: &str) -> Vec<String> {
    json(config, &["findings", "show", id])["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The network fixture applied on a fresh moto, its state refreshed (in
/// sync), and a config for it with `extra` TOML.
fn network_in_sync(extra: &str) -> (MotoServer, Workspace, tempfile::TempDir, PathBuf) {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint_url();
    let mut ws = Workspace::new("network", &endpoint);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(dir.path(), &ws.state_path(), &endpoint, extra);
    tokio::task::block_in_place(|| {
        ws.init();
        ws.apply();
        ws.refresh_only_apply();
    });
    (moto, ws, dir, config)
}

async fn set_cost_center(ec2: &aws_sdk_ec2::Client, vpc: &str, value: Option<&str>) {
    match value {
        Some(v) => {
            ec2.create_tags()
                .resources(vpc)
                .tags(tag("cost-center", v))
                .send()
                .await
                .unwrap();
        }
        None => {
            ec2.delete_tags()
                .resources(vpc)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("cost-center")
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_live_through_scans_and_human_decisions() {
    // No re-read: confirmation by consecutive scans only (the default count, 2).
    let (moto, ws, dir, config) = network_in_sync("[findings]\nreread = false\n");
    let scan = |config: &Path| tokio::task::block_in_place(|| scan(config));
    let (code, report) = scan(&config);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["live"]["findings"]["active"], 0);

    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = ws.resource_id("aws_vpc.main");

    // New: seen once, tracked but not shown.
    set_cost_center(&ec2, &vpc, Some("42")).await;
    let (code, report) = scan(&config);
    assert_eq!(code, 2);
    let f = &report["live"]["findings"];
    assert_eq!(
        (f["opened"].clone(), f["confirmed"].clone()),
        (1.into(), 0.into()),
        "{f}"
    );
    assert_eq!(f["needing_attention"], 0);
    assert_eq!(
        listed(&config, &[]),
        Vec::<Value>::new(),
        "unconfirmed findings are not listed"
    );
    let all = listed(&config, &["--all"]);
    assert_eq!(all.len(), 1, "{all:#?}");
    let id = all[0]["id"].as_str().unwrap().to_string();
    assert_eq!(all[0]["visible"], false);
    assert_eq!(all[0]["kind"], "changed");
    assert_eq!(all[0]["address"], "aws_vpc.main");
    assert_eq!(all[0]["attributes"], serde_json::json!(["tags"]));

    // Confirmed by the second consecutive scan.
    let (_, report) = scan(&config);
    assert_eq!(report["live"]["findings"]["confirmed"], 1);
    assert_eq!(report["live"]["findings"]["needing_attention"], 1);
    let shown = listed(&config, &[]);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["id"], id.as_str());
    assert_eq!(shown[0]["state"], "open");

    // Someone is on it (a prefix of the id is enough).
    let (code, stdout, stderr) = driftd(&config, &["ack", &id[..6], "--by", "alice"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("acknowledged (by alice)"), "{stdout}");

    // Fixed by hand: resolved by the next complete scan.
    set_cost_center(&ec2, &vpc, None).await;
    let (code, report) = scan(&config);
    assert_eq!(code, 0);
    assert_eq!(report["live"]["findings"]["resolved"], 1);
    assert_eq!(listed(&config, &["--state", "resolved"]).len(), 1);

    // It comes back (another value): the same finding, reopened with its history.
    set_cost_center(&ec2, &vpc, Some("43")).await;
    let (_, report) = scan(&config);
    assert_eq!(report["live"]["findings"]["reopened"], 1);
    assert_eq!(report["live"]["findings"]["opened"], 0);
    let (_, report) = scan(&config);
    assert_eq!(report["live"]["findings"]["confirmed"], 1);

    // Its value changes again: an event on the same finding, not a new finding.
    set_cost_center(&ec2, &vpc, Some("44")).await;
    let (_, report) = scan(&config);
    assert_eq!(report["live"]["findings"]["value_changed"], 1);
    assert_eq!(report["live"]["findings"]["active"], 1);
    let shown = json(&config, &["findings", "show", &id]);
    assert_eq!(
        shown["finding"]["changes"]["tags[\"cost-center\"]"]["live"],
        serde_json::json!({"value": "44"}),
        "{shown:#}"
    );

    // Decisions, each with who and why.
    let (code, _, stderr) = driftd(&config, &["accept", &id, "--by", "bob"]);
    assert_ne!(code, 0, "accept needs --reason");
    assert!(stderr.contains("--reason"), "{stderr}");
    let (code, _, stderr) = driftd(&config, &["accept", &id, "--reason", "  "]);
    assert_eq!(code, 1);
    assert!(stderr.contains("a reason is required"), "{stderr}");
    let (code, stdout, stderr) = driftd(
        &config,
        &[
            "accept",
            &id,
            "--reason",
            "hotfix INC-7, to codify",
            "--by",
            "bob",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("accepted (by bob: hotfix INC-7, to codify)"),
        "{stdout}"
    );
    let (code, _, stderr) = driftd(
        &config,
        &["snooze", &id, "--until", "7d", "--reason", "change freeze"],
    );
    assert_eq!(code, 0, "{stderr}");
    let snoozed = json(&config, &["findings", "show", &id]);
    assert_eq!(snoozed["finding"]["state"], "snoozed");
    assert_eq!(
        snoozed["finding"]["state_by"], "ci-runner",
        "the OS user without --by"
    );
    let (code, _, stderr) = driftd(&config, &["reopen", &id, "--by", "carol"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = driftd(&config, &["reopen", &id, "--by", "carol"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("already open"), "{stderr}");
    let (code, _, stderr) = driftd(&config, &["ack", "ffffffffffffffff"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no finding has the id"), "{stderr}");

    assert_eq!(
        events(&config, &id),
        [
            "opened",
            "confirmed",
            "acknowledged",
            "resolved",
            "reopened",
            "confirmed",
            "value_changed",
            "accepted",
            "snoozed",
            "reopened_by_human"
        ]
    );

    // The audit log holds the four decisions, chained.
    let audit = json(&config, &["audit", "list"]);
    let actions: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("alice", "finding.acknowledged"),
            ("bob", "finding.accepted"),
            ("ci-runner", "finding.snoozed"),
            ("carol", "finding.reopened_by_human")
        ]
    );
    assert_eq!(audit[1]["details"]["reason"], "hotfix INC-7, to codify");
    let (code, stdout, stderr) = driftd(&config, &["audit", "verify"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 row(s), chain verified"), "{stdout}");

    tamper_with_the_audit_log(&dir.path().join("driftd.db"), &config);
}

/// Someone with write access to the database rewrites a reason: the
/// triggers stop a plain UPDATE, so they drop the trigger first; `verify`
/// still finds the row.
fn tamper_with_the_audit_log(db: &Path, config: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let refused = conn.execute("UPDATE audit_log SET details = '{}' WHERE seq = 2", []);
    assert!(
        refused.unwrap_err().to_string().contains("append-only"),
        "the table refuses updates"
    );
    assert!(
        conn.execute("DELETE FROM audit_log WHERE seq = 3", [])
            .is_err()
    );
    conn.execute_batch(
        "DROP TRIGGER audit_log_append_only_update;
         UPDATE audit_log SET details = replace(details, 'INC-7', 'INC-8') WHERE seq = 2;",
    )
    .unwrap();
    drop(conn);
    let (code, _, stderr) = driftd(config, &["audit", "verify"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("BROKEN at row 2"), "{stderr}");
    assert!(stderr.contains("edited"), "{stderr}");
    let check = {
        let (_, stdout, _) = driftd(config, &["audit", "verify", "--format", "json"]);
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    assert_eq!(check["broken_at"]["seq"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reread_confirms_new_drift_in_the_same_scan() {
    let (moto, ws, _dir, config) =
        network_in_sync("[findings]\nreread = true\nreread_delay_seconds = 0\n");
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let web = ws.resource_id("aws_security_group.web");
    open_ssh_to_the_world(&ec2, &web).await;
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(code, 2);
    let f = &report["live"]["findings"];
    assert_eq!(f["opened"], 1, "{f}");
    assert_eq!(f["confirmed"], 1, "{f}");
    assert_eq!(f["confirmed_by_reread"], 1, "{f}");
    let shown = listed(&config, &[]);
    assert_eq!(shown.len(), 1, "visible at once: {shown:#?}");
    assert_eq!(shown[0]["address"], "aws_security_group.web");
}

/// The library with a clock the test moves: a snooze ends at its time, and an
/// ignore rule's expiry brings back what it hid, as the same finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snoozes_end_and_ignore_rules_expire_on_the_clock() {
    use chrono::{DateTime, Duration, Utc};
    use driftd::clock::{Clock, ManualClock};
    use driftd::findings::{Decision, ops};
    use std::sync::Arc;

    let (moto, ws, _dir, config) = network_in_sync(
        r#"[findings]
reread_delay_seconds = 0

[[ignore]]
name = "finops-tags"
resource_type = "aws_vpc"
attribute = "tags"
reason = "cost tags are set by the FinOps tool"
owner = "platform-team"
expires = "2030-01-01T02:00:00Z"
"#,
    );
    let config = driftd::config::Config::load(&config).unwrap();
    let target = config.target("network").unwrap().clone();
    let t0: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let key = driftd::secrets::SecretKey::from_bytes([7; 32]);
    let store = Arc::new(driftd::store::Store::open(&config.store.path).unwrap());
    let ctx = driftd::scan::ScanContext {
        store: store.clone(),
        fetcher: Arc::new(driftd::sources::Fetcher::new(Default::default())),
        key: key.clone(),
        clock: clock.clone(),
        retention: None,
    };
    let mut options = driftd::scan::LiveOptions {
        ignore_rules: config.ignore.clone(),
        ..Default::default()
    };
    options.findings.reread_after = Some(std::time::Duration::ZERO);
    options.collect.credentials = Some(MotoServer::credentials_provider());
    let scan = || async {
        let report = driftd::scan::scan_target(&ctx, &target, Some(&options))
            .await
            .unwrap();
        report.live.unwrap()
    };

    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = ws.resource_id("aws_vpc.main");
    let web = ws.resource_id("aws_security_group.web");
    set_cost_center(&ec2, &vpc, Some("42")).await;
    let live = scan().await;
    assert_eq!(live.drift.drifts, vec![], "the tag change is hidden");
    assert_eq!(live.ignored.changes, 1, "{:?}", live.ignored);
    assert_eq!(live.ignored.by_rule["finops-tags"].changes, 1);
    assert_eq!(live.findings.active, 1, "but tracked: {:?}", live.findings);
    assert_eq!(live.findings.ignored, 1);
    assert_eq!(live.findings.needing_attention, 0);
    assert_eq!(
        live.findings.confirmed_by_reread, 0,
        "hidden drift is not re-read"
    );

    // An SSH rule opened by hand: confirmed at once by the re-read, then snoozed.
    open_ssh_to_the_world(&ec2, &web).await;
    clock.advance(Duration::minutes(10));
    let live = scan().await;
    assert_eq!(live.findings.confirmed_by_reread, 1, "{:?}", live.findings);
    assert_eq!(live.findings.needing_attention, 1);
    let sg = store
        .read(|r| {
            r.findings(&driftd::store::FindingFilter::default())
                .map(|all| all.into_iter().find(|f| f.key.id == web).unwrap())
        })
        .unwrap();
    ops::apply(
        &store,
        &key,
        &sg.id,
        Decision::Snooze {
            until: t0 + Duration::hours(1),
            reason: "change window until 01:00".into(),
        },
        "alice",
        clock.now(),
    )
    .unwrap();

    clock.set(t0 + Duration::minutes(30));
    let live = scan().await;
    assert_eq!(live.findings.needing_attention, 0, "snoozed");
    assert_eq!(live.findings.snooze_ended, 0);

    clock.set(t0 + Duration::minutes(70));
    let live = scan().await;
    assert_eq!(live.findings.snooze_ended, 1, "{:?}", live.findings);
    assert_eq!(live.findings.needing_attention, 1);
    let (f, _) = ops::show(&store, &sg.id).unwrap();
    assert_eq!(f.state, driftd::findings::State::Open);

    // The rule expires: what it hid is reported, as the finding it already was.
    clock.set(t0 + Duration::hours(3));
    let report = driftd::scan::scan_target(&ctx, &target, Some(&options))
        .await
        .unwrap();
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.to_string().contains("finops-tags") && d.to_string().contains("expired")),
        "{:?}",
        report.diagnostics
    );
    let live = report.live.unwrap();
    assert_eq!(live.ignored.changes, 0);
    assert_eq!(live.drift.drifts.len(), 2, "{:#?}", live.drift.drifts);
    assert_eq!(
        live.findings.opened, 0,
        "the same findings: {:?}",
        live.findings
    );
    assert_eq!(live.findings.ignored, 0);
    assert_eq!(live.findings.needing_attention, 2);
}
