//! A real attribution pass at scale (BENCHMARKS.md, "Attribution: a real
//! pass"): 500 security groups drifted between two scans an hour apart, in
//! one account and region, with 20,000 write events in that hour. One
//! `attribute_target` pass runs against the project's LookupEvents emulator
//! (its 2 calls/s throttling on the wall clock, as the service does) and moto
//! for STS; the bench prints the plan's estimates, the calls actually made
//! and throttled as driftd and the emulator each counted them, the minimum
//! possible, the wall time, and how many of the 500 were found. Then the same
//! with 20 drifted groups, where per-resource lookups are cheaper.
//!
//! Events: 500 `AuthorizeSecurityGroupIngress` calls, one on each drifted
//! group, copied from the real Invictus record; 19,500 copies of the other
//! real Invictus write events. Each gets a fresh `eventID` and an
//! `eventTime` spread evenly across the hour.
//!
//! `cargo bench --bench attribution_pass` (about 4 minutes: the sweep is
//! paced under the service's limit). Needs moto (`.ci/setup`).

#[path = "../tests/it/support/cloudtrail.rs"]
#[allow(dead_code)]
mod cloudtrail;
#[path = "../tests/it/support/moto.rs"]
#[allow(dead_code)]
mod moto;
#[path = "../tests/it/support/searches.rs"]
mod searches;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use cloudtrail::{CloudTrailEmulator, invictus_records};
use driftd::attribution::plan::PAGE;
use driftd::attribution::run::{PassContext, PassReport, attribute_target};
use driftd::clock::SystemClock;
use driftd::config::{AttributionSettings, AwsAccount, AwsScope, CloudTrailSource, Target};
use driftd::live::{Coverage, Listing, LiveInventory};
use driftd::model::{Origin, Resource};
use driftd::secrets::SecretKey;
use driftd::store::Store;
use moto::MotoServer;
use searches::scan;

const ACCOUNT: &str = "123837392027";
const REGION: &str = "us-east-1";
const GROUPS: usize = 500;
const EVENTS: usize = 20_000;

/// What `cloudtrail.rs` needs from the tests' support module.
fn corpus_dir() -> PathBuf {
    match std::env::var("DRIFTD_CORPUS") {
        Ok(p) => PathBuf::from(p),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn group_id(i: usize) -> String {
    format!("sg-{i:017x}")
}

fn group(i: usize, open_ssh: bool) -> Value {
    let rule = |port: i64| {
        json!({"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": port,
               "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp",
               "security_groups": [], "self": false, "to_port": port})
    };
    let ingress = if open_ssh {
        vec![rule(443), rule(22)]
    } else {
        vec![rule(443)]
    };
    let id = group_id(i);
    json!({"arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{id}"),
           "description": "bench", "egress": [], "id": id, "ingress": ingress,
           "name": format!("bench-{i}"), "name_prefix": "", "owner_id": ACCOUNT,
           "revoke_rules_on_delete": false, "tags": {}, "tags_all": {},
           "timeouts": null, "vpc_id": "vpc-0e8a3bdf4ef4cb8d4"})
}

fn desired(groups: usize, key: &SecretKey) -> Vec<Resource> {
    let resources: Vec<Value> = (0..groups)
        .map(|i| {
            json!({"mode": "managed", "type": "aws_security_group", "name": format!("g{i}"),
                   "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                   "instances": [{"schema_version": 1, "attributes": group(i, false),
                                  "sensitive_attributes": []}]})
        })
        .collect();
    let text = json!({"version": 4, "terraform_version": "1.9.8", "serial": 1,
                      "lineage": "5f1b1a5e-0000-4000-8000-0000000000be", "outputs": {},
                      "resources": resources})
    .to_string();
    driftd::state::parse_state(text.as_bytes(), &Origin::from("file:bench.tfstate"), key)
        .unwrap()
        .resources
}

fn live(groups: usize, open_ssh: bool, key: &SecretKey) -> LiveInventory {
    let origin = Origin::from(format!("aws:{ACCOUNT}:{REGION}"));
    let sensitive =
        driftd::aws::types::rules("aws_security_group").map_or(&[][..], |r| r.sensitive);
    LiveInventory {
        coverage: vec![Coverage {
            resource_type: "aws_security_group".into(),
            account: ACCOUNT.into(),
            region: REGION.into(),
            listing: Listing::Complete,
            listed: groups,
        }],
        resources: (0..groups)
            .map(|i| {
                driftd::live::live_resource(
                    "aws_security_group",
                    group_id(i),
                    group(i, open_ssh),
                    sensitive,
                    &origin,
                    key,
                )
            })
            .collect(),
    }
}

/// 20,000 write events in `(start, end)`: one `AuthorizeSecurityGroupIngress`
/// per drifted group, the rest copies of the corpus's other write events.
fn events(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Value> {
    let writes: Vec<Value> = invictus_records()
        .into_iter()
        .filter(|r| {
            r["readOnly"] == json!(false)
                && r["managementEvent"] != json!(false)
                && r["eventCategory"].as_str().unwrap_or("Management") == "Management"
        })
        .collect();
    let template = writes
        .iter()
        .find(|r| r["eventName"] == "AuthorizeSecurityGroupIngress")
        .unwrap()
        .clone();
    let others: Vec<&Value> = writes
        .iter()
        .filter(|r| r["eventName"] != "AuthorizeSecurityGroupIngress")
        .collect();
    let step = (end - start).num_milliseconds() / (EVENTS as i64 + 1);
    let mut out = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        // Every 40th event is one of the 500 groups' changes.
        let mut record = if n % (EVENTS / GROUPS) == 0 {
            let id = group_id(n / (EVENTS / GROUPS));
            let mut r = template.clone();
            r["requestParameters"]["groupId"] = json!(id);
            r["responseElements"]["securityGroupRuleSet"]["items"][0]["groupId"] = json!(id);
            r
        } else {
            others[n % others.len()].clone()
        };
        let at = start + Duration::milliseconds(step * (n as i64 + 1));
        // Whole seconds, as CloudTrail writes them.
        let at = at - Duration::milliseconds(at.timestamp_subsec_millis() as i64);
        record["eventTime"] = json!(at.to_rfc3339_opts(SecondsFormat::Secs, true));
        record["eventID"] = json!(format!("00000000-0000-4000-8000-{n:012}"));
        record["requestID"] = json!(format!("bench-{n}"));
        record["recipientAccountId"] = json!(ACCOUNT);
        record["awsRegion"] = json!(REGION);
        out.push(record);
    }
    out
}

fn print_pass(label: &str, report: &PassReport, emulated: cloudtrail::CallCounts, wall: f64) {
    println!("{label}:");
    for plan in &report.plans {
        println!(
            "  plan estimates: lookups {} calls, sweep {} calls; chosen {:?}",
            plan.lookup_calls,
            plan.sweep_calls
                .map_or("unknown (probe first)".to_string(), |c| c.to_string()),
            plan.choice
        );
    }
    println!(
        "  calls made: {} (driftd) / {} served + {} throttled (emulator); wall {wall:.1} s",
        report.calls, emulated.served, emulated.throttled
    );
    println!(
        "  searched {}, found {}, pending {}, unknown {}, errors {:?}",
        report.searched, report.found, report.pending, report.unknown, report.errors
    );
}

struct World {
    moto: MotoServer,
    cloudtrail: CloudTrailEmulator,
    key: SecretKey,
    /// The hour between the two scans.
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// Two scans an hour apart (`groups` groups, all drifted in the second),
/// then one pass with its wall time.
async fn run(
    world: &World,
    name: &str,
    groups: usize,
) -> (PassReport, cloudtrail::CallCounts, f64) {
    let target = Target {
        name: name.into(),
        environment: "bench".into(),
        states: vec![],
        aws: Some(AwsScope {
            regions: vec![REGION.into()],
            accounts: vec![AwsAccount {
                id: ACCOUNT.into(),
                role_arn: None,
                external_id: None,
            }],
            profile: None,
            endpoint_url: Some(world.moto.endpoint_url()),
            cloudtrail: CloudTrailSource {
                bucket: None,
                endpoint_url: Some(world.cloudtrail.endpoint_url()),
            },
        }),
        driftignore: None,
        schedule: None,
    };
    let store = Arc::new(Store::open_in_memory().unwrap());
    let state = desired(groups, &world.key);
    // The search window is [first scan start − skew, second scan end + skew]:
    // exactly the hour the events are in.
    let settings = AttributionSettings::default();
    let skew = settings.clock_skew;
    let first = world.start + skew;
    scan(
        &store,
        &target,
        &settings,
        (first, first + Duration::seconds(1)),
        &state,
        &live(groups, false, &world.key),
    );
    let last = world.end - skew;
    let started = scan(
        &store,
        &target,
        &settings,
        (last - Duration::seconds(1), last),
        &state,
        &live(groups, true, &world.key),
    );
    assert_eq!(started, groups, "every drifted group gets a search");
    let ctx = PassContext {
        store,
        clock: Arc::new(SystemClock),
        settings: AttributionSettings::default(),
        collect: driftd::aws::CollectOptions {
            credentials: Some(MotoServer::credentials_provider()),
            ..Default::default()
        },
    };
    let before = world.cloudtrail.counts(ACCOUNT, REGION);
    let timer = Instant::now();
    let report = attribute_target(&ctx, &target).await.unwrap();
    let wall = timer.elapsed().as_secs_f64();
    let after = world.cloudtrail.counts(ACCOUNT, REGION);
    let emulated = cloudtrail::CallCounts {
        served: after.served - before.served,
        throttled: after.throttled - before.throttled,
    };
    (report, emulated, wall)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let moto = MotoServer::start_with_env(&[("MOTO_ACCOUNT_ID", ACCOUNT)]);
    let cloudtrail = CloudTrailEmulator::start().await;
    cloudtrail.map_access_key(MotoServer::credentials().access_key_id(), ACCOUNT);
    // Settled: the window ended longer ago than CloudTrail's delivery delay,
    // so one pass decides every search.
    let end = Utc::now() - Duration::minutes(20);
    let end = end - Duration::nanoseconds(end.timestamp_subsec_nanos() as i64);
    let start = end - Duration::hours(1);
    let loaded = cloudtrail.load(events(start, end));
    assert_eq!(loaded.management, EVENTS, "{loaded:?}");
    let world = World {
        moto,
        cloudtrail,
        key: SecretKey::random(),
        start,
        end,
    };
    println!(
        "attribution pass: {GROUPS} drifted groups, one account/region, 1 h window, {EVENTS} write events"
    );
    println!(
        "  minimum possible: {} calls (every write event of the hour, {PAGE} a page)",
        (EVENTS as u64).div_ceil(PAGE)
    );
    let (report, emulated, wall) = run(&world, "bench-500", GROUPS).await;
    print_pass("500 groups", &report, emulated, wall);
    assert_eq!(report.found, GROUPS, "every group's change is found");

    let (report, emulated, wall) = run(&world, "bench-20", 20).await;
    print_pass("20 groups", &report, emulated, wall);
    assert_eq!(report.found, 20);
}
