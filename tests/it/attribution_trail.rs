//! Attribution from a trail bucket, end to end: moto serves a trail bucket
//! holding the real invictus CloudTrail log objects (a stratus-red-team run
//! that opened port 22 on a security group Terraform had just created), two
//! scans of that group go through the store as `scan_target` writes them
//! (diff, findings, searches started in the scan's transaction), and
//! attribution passes read the bucket instead of LookupEvents.
//!
//! The records are from 2023-07-10: the passes run on a `ManualClock` set
//! to that day (a bucket has no 90-day limit).

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use driftd::attribution::Channel;
use driftd::attribution::matching::{Evidence, Window};
use driftd::attribution::run::{PassContext, PassReport, attribute_target, start_searches};
use driftd::clock::ManualClock;
use driftd::config::{
    AttributionSettings, AwsAccount, AwsScope, CloudTrailSource, StateSourceSpec, Target,
    TrailBucket,
};
use driftd::diff::{DiffOptions, Drift};
use driftd::findings::{Kind, Policy, ScanInfo};
use driftd::live::{Coverage, Listing, LiveInventory};
use driftd::model::{Origin, Resource};
use driftd::secrets::SecretKey;
use driftd::store::{AttributionStatus, ScanOutcome, ScanStatus, Side, Store};
use serde_json::{Value, json};

use crate::support::corpus_dir;
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::moto::MotoServer;

/// The account every invictus record is from.
const ACCOUNT: &str = "123837392027";
const REGION: &str = "us-east-1";
const GROUP: &str = "sg-04cfb7a4712d75b00";
const BUCKET: &str = "org-audit-trail";
const PREFIX: &str = "cloudtrail";

/// The three ingress calls on the group, by `eventID` (read from the corpus).
const TERRAFORM_443: &str = "7e96f0e7-4d78-423d-b3f5-391370685b30"; // 12:10:05
const OPEN_22: &str = "74bd84b4-6729-4895-b2a4-e2beb7c6b377"; // 12:10:08
const REVOKE_22: &str = "8733f811-267d-4c46-8e5b-000fe7c6a9f2"; // 12:11:57

/// The group as the 12:10 apply left it (Terraform 1.1.2, hashicorp/aws
/// 3.76.1, stratus-red-team's `default_tags`): the 443 rule of the
/// `AuthorizeSecurityGroupIngress` at 12:10:05, the egress rule of the
/// `AuthorizeSecurityGroupEgress` at 12:10:06.
const STATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.1.2",
  "serial": 4,
  "lineage": "0d2bb8a4-56f1-5b1e-9b0e-6c3a1f0e2d7a",
  "outputs": {},
  "resources": [
    {
      "mode": "managed",
      "type": "aws_security_group",
      "name": "sg",
      "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
      "instances": [
        {
          "schema_version": 1,
          "attributes": {
            "arn": "arn:aws:ec2:us-east-1:123837392027:security-group/sg-04cfb7a4712d75b00",
            "description": "Allow TLS inbound traffic",
            "egress": [
              {
                "cidr_blocks": ["0.0.0.0/0"],
                "description": "",
                "from_port": 0,
                "ipv6_cidr_blocks": ["::/0"],
                "prefix_list_ids": [],
                "protocol": "-1",
                "security_groups": [],
                "self": false,
                "to_port": 0
              }
            ],
            "id": "sg-04cfb7a4712d75b00",
            "ingress": [
              {
                "cidr_blocks": ["0.0.0.0/0"],
                "description": "TLS from Internet",
                "from_port": 443,
                "ipv6_cidr_blocks": [],
                "prefix_list_ids": [],
                "protocol": "tcp",
                "security_groups": [],
                "self": false,
                "to_port": 443
              }
            ],
            "name": "stratus-red-team-open-sg-sg",
            "name_prefix": "",
            "owner_id": "123837392027",
            "revoke_rules_on_delete": false,
            "tags": {"Name": "stratus-red-team-open-sg-sg"},
            "tags_all": {"Name": "stratus-red-team-open-sg-sg", "StratusRedTeam": "true"},
            "timeouts": null,
            "vpc_id": "vpc-0e568b18707c87afa"
          },
          "sensitive_attributes": [],
          "private": "eyJlMmJmYjczMC1lY2FhLTExZTYtOGY4OC0zNDM2M2JjN2M0YzAiOnsiY3JlYXRlIjo2MDAwMDAwMDAwMDAsImRlbGV0ZSI6OTAwMDAwMDAwMDAwfSwic2NoZW1hX3ZlcnNpb24iOiIxIn0="
        }
      ]
    }
  ]
}"#;

fn at(h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 7, 10, h, mi, s).unwrap()
}

/// A real trail log object: its key in the bucket and its JSON.
struct LogObject {
    key: String,
    /// `YYYYMMDDTHHmmZ`: when CloudTrail delivered it.
    stamp: String,
    json: Vec<u8>,
}

/// Every invictus file, at the key CloudTrail gives it in the account's
/// folder. The corpus names its files for account 218007301253 while every
/// record in them is 123837392027's; a trail names an object for the
/// account of its folder, so the name's account is 123837392027 here (the
/// rest of the name as in the corpus).
fn invictus() -> Vec<LogObject> {
    let dir = corpus_dir().join("cloudtrail/invictus-aws-dataset");
    let mut objects: Vec<LogObject> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            let name = name.replacen("218007301253_", &format!("{ACCOUNT}_"), 1);
            LogObject {
                key: format!("{PREFIX}/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2023/07/10/{name}.gz"),
                stamp: name.split('_').nth(3).unwrap().to_string(),
                json: std::fs::read(&path).unwrap(),
            }
        })
        .collect();
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(objects.len(), 55, "the invictus corpus changed");
    objects
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The `eventID`s of an object's write records, read independently of
/// driftd (every invictus record has `readOnly`).
fn write_event_ids(json: &[u8]) -> Vec<String> {
    let file: Value = serde_json::from_slice(json).unwrap();
    file["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["readOnly"] == json!(false))
        .map(|r| r["eventID"].as_str().unwrap().to_string())
        .collect()
}

async fn upload(s3: &aws_sdk_s3::Client, objects: &[&LogObject]) {
    for object in objects {
        s3.put_object()
            .bucket(BUCKET)
            .key(&object.key)
            .body(gzip(&object.json).into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {}: {e:?}", object.key));
    }
}

/// The keys GetObject was sent for through `proxy` since its counts were
/// reset (the SDK sends `GET /bucket/key?x-id=GetObject`).
fn fetched(proxy: &FaultProxy) -> BTreeSet<String> {
    let prefix = format!("GET /{BUCKET}/");
    proxy
        .calls()
        .into_iter()
        .filter_map(|call| {
            let path = call.operation.strip_prefix(&prefix)?;
            path.strip_suffix("?x-id").map(str::to_string)
        })
        .collect()
}

fn key() -> SecretKey {
    SecretKey::from_bytes([9; 32])
}

/// moto as account 123837392027 (so the pass's identity check holds), a
/// trail bucket in it, and a fault proxy in front of it for the bucket.
struct Trail {
    moto: MotoServer,
    proxy: FaultProxy,
    objects: Vec<LogObject>,
}

impl Trail {
    async fn start() -> Trail {
        let moto = MotoServer::start_with_env(&[("MOTO_ACCOUNT_ID", ACCOUNT)]);
        let s3 = moto.s3_client().await;
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        let proxy = FaultProxy::start(&moto.endpoint_url());
        Trail {
            moto,
            proxy,
            objects: invictus(),
        }
    }

    /// Puts the objects delivered in `stamps` (inclusive) into the bucket.
    async fn deliver(&self, from: &str, to: &str) -> Vec<&LogObject> {
        let delivered: Vec<&LogObject> = self
            .objects
            .iter()
            .filter(|o| (from..=to).contains(&o.stamp.as_str()))
            .collect();
        upload(&self.moto.s3_client().await, &delivered).await;
        delivered
    }

    /// A target scanning the account in moto, reading CloudTrail from the
    /// bucket through the proxy.
    fn target(&self) -> Target {
        Target {
            name: "stratus".to_string(),
            environment: "prod".to_string(),
            states: vec![StateSourceSpec::File {
                path: "stratus.tfstate".into(),
            }],
            aws: Some(AwsScope {
                regions: vec![REGION.to_string()],
                accounts: vec![AwsAccount {
                    id: ACCOUNT.to_string(),
                    role_arn: None,
                    external_id: None,
                }],
                profile: None,
                endpoint_url: Some(self.moto.endpoint_url()),
                cloudtrail: CloudTrailSource {
                    bucket: Some(TrailBucket {
                        bucket: BUCKET.to_string(),
                        prefix: PREFIX.to_string(),
                        organization_id: None,
                        region: REGION.to_string(),
                    }),
                    endpoint_url: Some(self.proxy.endpoint_url()),
                },
            }),
            driftignore: None,
            schedule: None,
        }
    }
}

/// One scan as `scan_target` stores it, without AWS listings: the state's
/// resources, the live group given, the diff, findings (confirmed at the
/// first sighting) and the searches for new sightings, in one transaction.
fn scan(
    store: &Store,
    target: &Target,
    desired: &[Resource],
    live_group: Value,
    at: DateTime<Utc>,
    settings: &AttributionSettings,
) -> Vec<Drift> {
    let rules = driftd::aws::types::rules("aws_security_group").unwrap();
    let live = driftd::live::live_resource(
        "aws_security_group",
        GROUP.to_string(),
        live_group,
        rules.sensitive,
        &Origin::from(format!("aws:{ACCOUNT}:{REGION}")),
        &key(),
    );
    let inventory = LiveInventory {
        resources: vec![live],
        coverage: vec![Coverage {
            resource_type: "aws_security_group".to_string(),
            account: ACCOUNT.to_string(),
            region: REGION.to_string(),
            listing: Listing::Complete,
            listed: 1,
        }],
    };
    let report = driftd::diff::diff(
        desired,
        &inventory,
        &driftd::aws::types::rules,
        &DiffOptions::default(),
    );
    let mut observed = driftd::findings::observe(&report.drifts, &[]);
    driftd::scan::fill_versions(&mut observed, desired, &inventory.resources);
    let scope = target.aws.as_ref().unwrap();
    store
        .write(|w| {
            let target_id = w.upsert_target(&target.name, &target.environment)?;
            let scan_id = w.begin_scan(target_id, at)?;
            w.store_resources(scan_id, Side::Desired, desired)?;
            w.store_resources(scan_id, Side::Live, &inventory.resources)?;
            w.finish_scan(
                scan_id,
                &ScanOutcome {
                    ended_at: at,
                    status: ScanStatus::Complete,
                    source_versions: Vec::new(),
                    diagnostics: Vec::new(),
                },
            )?;
            let findings = driftd::scan::update_findings(
                w,
                target_id,
                &target.name,
                &observed,
                ScanInfo {
                    scan_id: scan_id.0,
                    at,
                },
                &driftd::scan::complete_types(&inventory.coverage),
                &Policy { confirm_after: 1 },
            )?;
            if findings.active > 0 {
                start_searches(
                    w,
                    target_id,
                    scope,
                    desired,
                    &inventory.resources,
                    settings,
                    at,
                )?;
            }
            Ok::<_, driftd::store::StoreError>(())
        })
        .unwrap();
    report.drifts
}

/// The port-22 rule stratus-red-team added at 12:10:08, as a listing shows it.
fn ssh_rule() -> Value {
    json!({
        "cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 22,
        "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp",
        "security_groups": [], "self": false, "to_port": 22
    })
}

/// The state's group, and the two scans: at 12:10:06, after the apply, in
/// sync; at 12:11:00, with the port-22 rule. Returns the finding's id.
fn two_scans(store: &Store, target: &Target, settings: &AttributionSettings) -> String {
    let mut state =
        driftd::state::parse_state(STATE.as_bytes(), &Origin::from("stratus.tfstate"), &key())
            .unwrap();
    driftd::aws::types::canonicalize_types(&mut state.resources);
    driftd::aws::types::redact_declared(&mut state.resources, &key());
    let desired = state.resources;
    assert_eq!(desired.len(), 1);
    // The live group as the cloud lists it: every tag in `tags` too.
    let mut live = desired[0].attributes.to_value();
    live["tags"] = live["tags_all"].clone();

    let first = scan(
        store,
        target,
        &desired,
        live.clone(),
        at(12, 10, 6),
        settings,
    );
    assert_eq!(first, vec![], "in sync after the apply");
    live["ingress"].as_array_mut().unwrap().push(ssh_rule());
    let second = scan(store, target, &desired, live, at(12, 11, 0), settings);
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(
        matches!(&second[0], Drift::Changed { key, .. } if key.id == GROUP),
        "{second:?}"
    );
    driftd::findings::finding_id(
        &target.name,
        Kind::Changed,
        &desired[0].key,
        &BTreeSet::from(["ingress".to_string()]),
    )
}

fn context(store: &Arc<Store>, clock: &Arc<ManualClock>) -> PassContext {
    PassContext {
        store: store.clone(),
        clock: clock.clone(),
        settings: AttributionSettings::default(),
        collect: driftd::aws::CollectOptions {
            credentials: Some(MotoServer::credentials_provider()),
            ..Default::default()
        },
    }
}

/// (eventID, explains) of a finding's evidence, oldest first.
fn evidence_ids(evidence: &[Evidence]) -> Vec<(&str, bool)> {
    evidence
        .iter()
        .map(|e| (e.event_id.as_str(), e.explains))
        .collect()
}

/// The search is found, and its evidence is the three ingress calls with
/// the one at 12:10:08 explaining.
fn assert_found(store: &Store, finding: &str) -> Vec<Evidence> {
    let search = store.read(|r| r.attribution(finding)).unwrap().unwrap();
    assert_eq!(search.status, AttributionStatus::Found);
    assert_eq!(search.last_error, None);
    let evidence = store.read(|r| r.evidence(finding)).unwrap();
    assert_eq!(
        evidence_ids(&evidence),
        [(TERRAFORM_443, false), (OPEN_22, true), (REVOKE_22, false)]
    );
    evidence
}

fn ok(report: &PassReport) {
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trail_bucket_names_who_opened_port_22_and_no_object_is_read_twice() {
    let trail = Trail::start().await;
    let target = trail.target();
    let store = Arc::new(Store::open_in_memory().unwrap());
    let settings = AttributionSettings::default();
    let finding = two_scans(&store, &target, &settings);
    let search = store.read(|r| r.attribution(&finding)).unwrap().unwrap();
    // From the scan before (less the clock skew) to a clock skew after the
    // sighting: the Terraform call at 12:10:05 is in it, the revoke at
    // 12:11:57 too.
    let window = Window::new(at(12, 9, 6), at(12, 12, 0));
    assert_eq!(search.window, window);
    assert_eq!(
        (search.account.as_str(), search.region.as_str()),
        (ACCOUNT, REGION)
    );

    // At 12:21 the objects delivered up to 12:20 are in the bucket (and
    // those of the hour before, which no window here reaches).
    let first_delivery = trail.deliver("20230710T1145Z", "20230710T1220Z").await;
    let clock = Arc::new(ManualClock::new(at(12, 21, 0)));
    let ctx = context(&store, &clock);
    let first = attribute_target(&ctx, &target).await.unwrap();
    ok(&first);
    // Exactly the objects delivered from the window's first minute on.
    let in_range: BTreeSet<String> = first_delivery
        .iter()
        .filter(|o| o.stamp.as_str() >= "20230710T1209Z")
        .map(|o| o.key.clone())
        .collect();
    assert_eq!(in_range.len(), 21);
    assert_eq!(fetched(&trail.proxy), in_range);
    assert_eq!((first.objects_read, first.objects_already_read), (21, 0));
    assert_eq!(
        (first.calls, first.searched),
        (0, 1),
        "no LookupEvents call"
    );
    // Every write event of those objects is stored, those outside the
    // window too (a later window may need them).
    let first_ids: HashSet<String> = first_delivery
        .iter()
        .filter(|o| in_range.contains(&o.key))
        .flat_map(|o| write_event_ids(&o.json))
        .collect();
    assert_eq!(first.new_events, first_ids.len());
    let whole_day = Window::new(at(0, 0, 0), at(23, 59, 59));
    let stored = store
        .read(|r| r.trail_events(ACCOUNT, REGION, whole_day))
        .unwrap();
    let stored_ids: HashSet<String> = stored.into_iter().map(|e| e.event_id).collect();
    assert_eq!(stored_ids, first_ids);
    assert!(stored_ids.len() > 200, "{}", stored_ids.len());
    // The evidence is there already, but CloudTrail may still deliver
    // events of the window: pending, and nothing recorded as fetched yet.
    let search = store.read(|r| r.attribution(&finding)).unwrap().unwrap();
    assert_eq!(search.status, AttributionStatus::Pending);
    assert_eq!(search.last_error, None);
    let evidence = store.read(|r| r.evidence(&finding)).unwrap();
    assert_eq!(
        evidence_ids(&evidence),
        [(TERRAFORM_443, false), (OPEN_22, true), (REVOKE_22, false)]
    );
    assert_eq!(
        store
            .read(|r| r.trail_fetched(ACCOUNT, REGION, window))
            .unwrap(),
        []
    );

    // By 13:00 the rest has been delivered; the search is due again.
    let late_delivery = trail.deliver("20230710T1225Z", "20230710T1240Z").await;
    trail.proxy.reset_counts();
    clock.set(at(13, 0, 0));
    let second = attribute_target(&ctx, &target).await.unwrap();
    ok(&second);
    let late: BTreeSet<String> = late_delivery.iter().map(|o| o.key.clone()).collect();
    assert_eq!(late.len(), 21);
    assert_eq!(fetched(&trail.proxy), late, "only what was delivered since");
    assert!(fetched(&trail.proxy).is_disjoint(&in_range));
    assert_eq!((second.objects_read, second.objects_already_read), (21, 21));
    let late_ids: HashSet<String> = late_delivery
        .iter()
        .flat_map(|o| write_event_ids(&o.json))
        .filter(|id| !first_ids.contains(id))
        .collect();
    assert_eq!(second.new_events, late_ids.len());
    assert_eq!((second.searched, second.found), (1, 1));

    let evidence = assert_found(&store, &finding);
    let [terraform, open, revoke] = &evidence[..] else {
        unreachable!()
    };
    assert_eq!(open.time, at(12, 10, 8));
    assert_eq!(open.name, "AuthorizeSecurityGroupIngress");
    assert_eq!(open.actor.identity_type.as_deref(), Some("IAMUser"));
    assert_eq!(
        open.actor.principal.as_deref(),
        Some("arn:aws:iam::123837392027:user/bert-jan")
    );
    assert_eq!(open.actor.person.as_deref(), Some("bert-jan"));
    assert_eq!(open.actor.channel, Channel::Sdk);
    assert!(
        open.actor
            .user_agent
            .as_deref()
            .is_some_and(|a| a.starts_with("stratus-red-team_")),
        "{:?}",
        open.actor.user_agent
    );
    assert!(!open.actor.iac);
    // Terraform's own call, by the same user: applied from code.
    assert_eq!(terraform.time, at(12, 10, 5));
    assert_eq!(terraform.actor.person.as_deref(), Some("bert-jan"));
    assert_eq!(terraform.actor.channel, Channel::Terraform);
    assert!(terraform.actor.iac);
    // After the sighting: listed, never the explanation.
    assert_eq!(revoke.time, at(12, 11, 57));
    assert_eq!(revoke.name, "RevokeSecurityGroupIngress");

    // The settled window is recorded as read from the bucket.
    let spans = store
        .read(|r| r.trail_fetched(ACCOUNT, REGION, window))
        .unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0].lookup, format!("s3://{BUCKET}/{PREFIX}"));
    assert_eq!(spans[0].window, window);

    // Found: nothing is due, nothing is read.
    trail.proxy.reset_counts();
    clock.set(at(13, 30, 0));
    let third = attribute_target(&ctx, &target).await.unwrap();
    assert_eq!((third.searched, third.objects_read), (0, 0));
    assert!(trail.proxy.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_that_cannot_be_read_keeps_the_search_pending_and_is_read_next_time() {
    let trail = Trail::start().await;
    let target = trail.target();
    let store = Arc::new(Store::open_in_memory().unwrap());
    let finding = two_scans(&store, &target, &AttributionSettings::default());
    let delivered = trail.deliver("20230710T1145Z", "20230710T1240Z").await;
    // The object holding the group's calls, denied to driftd's credentials.
    let denied = delivered
        .iter()
        .find(|o| write_event_ids(&o.json).iter().any(|id| id == OPEN_22))
        .unwrap();
    trail.proxy.fault_operation(
        "s3",
        &format!("GET /{BUCKET}/{}?x-id", denied.key),
        Fault::Deny,
    );
    let clock = Arc::new(ManualClock::new(at(13, 0, 0)));
    let ctx = context(&store, &clock);

    let first = attribute_target(&ctx, &target).await.unwrap();
    assert_eq!(first.errors.len(), 1, "{:?}", first.errors);
    let error = &first.errors[0];
    assert!(
        error.starts_with(&format!(
            "cannot read s3://{BUCKET}/{}: AccessDenied",
            denied.key
        )),
        "{error}"
    );
    assert!(error.contains("s3:GetObject"), "{error}");
    assert_eq!(first.objects_read, 41, "the window's other objects");
    let search = store.read(|r| r.attribution(&finding)).unwrap().unwrap();
    assert_eq!(search.status, AttributionStatus::Pending);
    assert_eq!(search.last_error.as_deref(), Some(error.as_str()));
    // The calls up to the sighting were in the object not read: the revoke
    // after it is all there is, and explains for now, but a search whose
    // read had a problem is never found.
    assert_eq!(
        evidence_ids(&store.read(|r| r.evidence(&finding)).unwrap()),
        [(REVOKE_22, true)]
    );
    // Not read completely: not recorded as fetched.
    assert_eq!(
        store
            .read(|r| r.trail_fetched(ACCOUNT, REGION, search.window))
            .unwrap(),
        []
    );

    // Access granted; at the next attempt only that object is fetched.
    trail.proxy.clear_faults();
    trail.proxy.reset_counts();
    clock.set(at(13, 5, 0));
    let second = attribute_target(&ctx, &target).await.unwrap();
    ok(&second);
    assert_eq!(fetched(&trail.proxy), BTreeSet::from([denied.key.clone()]));
    assert_eq!((second.objects_read, second.objects_already_read), (1, 41));
    assert_found(&store, &finding);
}
