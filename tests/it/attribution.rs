//! Attribution end to end through LookupEvents: findings built from a real
//! state and live shapes, searches started as a scan starts them, passes
//! against the project's LookupEvents emulator serving the real Invictus
//! records (the 2023 attack simulation where Terraform created the targets
//! and a person changed them out of band), shifted into the last 90 days.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use driftd::attribution::Channel;
use driftd::attribution::run::{PassContext, attribute_target};
use driftd::clock::ManualClock;
use driftd::config::{AttributionSettings, AwsAccount, AwsScope, CloudTrailSource, Target};
use driftd::live::{Coverage, Listing, LiveInventory};
use driftd::model::{Origin, Resource};
use driftd::secrets::SecretKey;
use driftd::store::{AttributionStatus, Store};

use crate::support::cloudtrail::{CloudTrailEmulator, invictus_records};
use crate::support::moto::MotoServer;
use crate::support::searches::scan;

const ACCOUNT: &str = "123837392027";
const REGION: &str = "us-east-1";
const GROUP: &str = "sg-04cfb7a4712d75b00";
const DB: &str = "terraform-20230710121504061500000001";

/// The corpus's 12:00 on 2023-07-10, moved to three hours ago (whole seconds).
fn shift() -> Duration {
    let base: DateTime<Utc> = "2023-07-10T12:00:00Z".parse().unwrap();
    let target = Utc::now() - Duration::hours(3);
    Duration::seconds((target - base).num_seconds())
}

fn at(shift: Duration, hhmmss: &str) -> DateTime<Utc> {
    format!("2023-07-10T{hhmmss}Z")
        .parse::<DateTime<Utc>>()
        .unwrap()
        + shift
}

fn rule(port: i64, description: &str) -> Value {
    json!({"cidr_blocks": ["0.0.0.0/0"], "description": description, "from_port": port,
           "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp",
           "security_groups": [], "self": false, "to_port": port})
}

fn group(ingress: Vec<Value>) -> Value {
    json!({"arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{GROUP}"),
           "description": "Allow TLS inbound traffic", "egress": [], "id": GROUP,
           "ingress": ingress, "name": "stratus-red-team-open-sg-sg", "name_prefix": "",
           "owner_id": ACCOUNT, "revoke_rules_on_delete": false, "tags": {}, "tags_all": {},
           "timeouts": null, "vpc_id": "vpc-0e8a3bdf4ef4cb8d4"})
}

fn database() -> Value {
    json!({"id": DB, "identifier": DB, "arn": format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{DB}"),
           "engine": "mysql", "instance_class": "db.t3.micro", "allocated_storage": 10})
}

/// A Terraform v4 state of these managed resources, parsed as driftd reads states.
fn state(resources: &[(&str, &str, Value)], key: &SecretKey) -> Vec<Resource> {
    let resources: Vec<Value> = resources
        .iter()
        .map(|(t, name, attrs)| {
            json!({"mode": "managed", "type": t, "name": name,
                   "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                   "instances": [{"schema_version": 1, "attributes": attrs,
                                  "sensitive_attributes": []}]})
        })
        .collect();
    let text = json!({"version": 4, "terraform_version": "1.1.2", "serial": 3,
                      "lineage": "5f1b1a5e-0000-4000-8000-000000000001", "outputs": {},
                      "resources": resources})
    .to_string();
    driftd::state::parse_state(
        text.as_bytes(),
        &Origin::from("file:terraform.tfstate"),
        key,
    )
    .expect("the test state parses")
    .resources
}

fn live(resources: &[(&str, Value)], key: &SecretKey) -> LiveInventory {
    let origin = Origin::from(format!("aws:{ACCOUNT}:{REGION}"));
    let mut inventory = LiveInventory::default();
    for t in ["aws_security_group", "aws_db_instance"] {
        inventory.coverage.push(Coverage {
            resource_type: t.into(),
            account: ACCOUNT.into(),
            region: REGION.into(),
            listing: Listing::Complete,
            listed: resources.iter().filter(|(rt, _)| *rt == t).count(),
        });
    }
    for (t, attrs) in resources {
        let id = attrs["id"].as_str().unwrap().to_string();
        let sensitive = driftd::aws::types::rules(t).map_or(&[][..], |r| r.sensitive);
        inventory.resources.push(driftd::live::live_resource(
            t,
            id,
            attrs.clone(),
            sensitive,
            &origin,
            key,
        ));
    }
    inventory
}

fn scope(moto: &MotoServer, cloudtrail: &CloudTrailEmulator) -> AwsScope {
    AwsScope {
        regions: vec![REGION.into()],
        accounts: vec![AwsAccount {
            id: ACCOUNT.into(),
            role_arn: None,
            external_id: None,
        }],
        profile: None,
        endpoint_url: Some(moto.endpoint_url()),
        cloudtrail: CloudTrailSource {
            bucket: None,
            endpoint_url: Some(cloudtrail.endpoint_url()),
        },
    }
}

struct World {
    _moto: MotoServer,
    cloudtrail: CloudTrailEmulator,
    store: Arc<Store>,
    target: Target,
    clock: Arc<ManualClock>,
    shift: Duration,
    key: SecretKey,
}

async fn world() -> World {
    let moto = MotoServer::start_with_env(&[("MOTO_ACCOUNT_ID", ACCOUNT)]);
    let cloudtrail = CloudTrailEmulator::start().await;
    cloudtrail.map_access_key(MotoServer::credentials().access_key_id(), ACCOUNT);
    let shift = shift();
    let report = cloudtrail.load_shifted(invictus_records(), shift);
    assert_eq!(report.records, 2900);
    let target = Target {
        name: "stratus".into(),
        environment: "test".into(),
        states: vec![],
        aws: Some(scope(&moto, &cloudtrail)),
        driftignore: None,
        schedule: None,
    };
    World {
        _moto: moto,
        cloudtrail,
        store: Arc::new(Store::open_in_memory().unwrap()),
        target,
        clock: Arc::new(ManualClock::new(Utc::now())),
        shift,
        key: SecretKey::random(),
    }
}

fn pass_context(w: &World) -> PassContext {
    PassContext {
        store: w.store.clone(),
        clock: w.clock.clone(),
        settings: AttributionSettings::default(),
        collect: driftd::aws::CollectOptions {
            credentials: Some(MotoServer::credentials_provider()),
            ..Default::default()
        },
    }
}

fn only_finding(store: &Store, kind: &str) -> driftd::findings::Finding {
    let all = store
        .read(|r| {
            r.findings(&driftd::store::FindingFilter {
                include_unconfirmed: true,
                include_ignored: true,
                ..Default::default()
            })
        })
        .unwrap();
    let mut of_kind: Vec<_> = all
        .into_iter()
        .filter(|f| f.kind.as_str() == kind)
        .collect();
    assert_eq!(of_kind.len(), 1, "{kind} findings: {of_kind:?}");
    of_kind.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_person_who_opened_port_22_is_named_with_the_event() {
    let w = world().await;
    let settings = AttributionSettings::default();
    let s = w.shift;
    let desired = state(
        &[(
            "aws_security_group",
            "open_sg",
            group(vec![rule(443, "TLS from Internet")]),
        )],
        &w.key,
    );
    // Scan 1 just after Terraform's apply: the group matches its state.
    let same = live(
        &[(
            "aws_security_group",
            group(vec![rule(443, "TLS from Internet")]),
        )],
        &w.key,
    );
    let started = scan(
        &w.store,
        &w.target,
        &settings,
        (at(s, "12:10:06"), at(s, "12:10:07")),
        &desired,
        &same,
    );
    assert_eq!(started, 0, "no drift, no search");
    // Scan 2 sees port 22 open to the world.
    let opened = live(
        &[(
            "aws_security_group",
            group(vec![rule(443, "TLS from Internet"), rule(22, "")]),
        )],
        &w.key,
    );
    let started = scan(
        &w.store,
        &w.target,
        &settings,
        (at(s, "12:11:00"), at(s, "12:11:01")),
        &desired,
        &opened,
    );
    assert_eq!(started, 1);
    let finding = only_finding(&w.store, "changed");
    assert!(finding.attributes.contains("ingress"));

    // A pass right after the scan: the event is there, but CloudTrail may
    // still deliver later ones, so the search stays open.
    w.clock.set(at(s, "12:11:30"));
    let ctx = pass_context(&w);
    let report = attribute_target(&ctx, &w.target).await.unwrap();
    assert_eq!(
        (report.searched, report.pending, report.errors.len()),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!(
        report.plans[0].choice,
        driftd::attribution::plan::Choice::Lookups
    );
    let lookups: Vec<_> = w.cloudtrail.calls_of(ACCOUNT, REGION);
    assert!(!lookups.is_empty());
    for call in &lookups {
        assert_eq!(
            call.attributes,
            vec![("ResourceName".to_string(), GROUP.to_string())]
        );
    }
    // A pass after the delivery delay: found; the settled part of the
    // window is not fetched again.
    w.clock.set(at(s, "12:40:00"));
    let before = w.cloudtrail.calls_of(ACCOUNT, REGION).len();
    let report = attribute_target(&ctx, &w.target).await.unwrap();
    assert_eq!((report.found, report.errors.len()), (1, 0), "{report:?}");
    let again = w.cloudtrail.calls_of(ACCOUNT, REGION).len() - before;
    assert!(
        again <= 1,
        "only the unsettled end is read again, {again} calls"
    );

    let view = driftd::findings::ops::attribution(&w.store, &finding.id)
        .unwrap()
        .unwrap();
    assert_eq!(view.search.status, AttributionStatus::Found);
    let explaining: Vec<_> = view
        .evidence
        .iter()
        .filter(|e| e.evidence.explains)
        .collect();
    assert_eq!(explaining.len(), 1);
    let e = &explaining[0].evidence;
    assert_eq!(e.name, "AuthorizeSecurityGroupIngress");
    assert_eq!(e.event_id, "74bd84b4-6729-4895-b2a4-e2beb7c6b377");
    assert_eq!(e.time, at(s, "12:10:08"));
    assert_eq!(e.actor.identity_type.as_deref(), Some("IAMUser"));
    assert_eq!(e.actor.person.as_deref(), Some("bert-jan"));
    assert_eq!(
        e.actor.principal.as_deref(),
        Some("arn:aws:iam::123837392027:user/bert-jan")
    );
    assert_eq!(
        e.actor.channel,
        Channel::Sdk,
        "its user agent is stratus-red-team's"
    );
    assert!(!e.actor.iac);
    assert_eq!(e.actor.source_ip.as_deref(), Some("192.168.10.20"));
    // Terraform's own 443 rule is evidence of an apply, not the explanation;
    // the revoke after the scan saw the rule does not explain it either.
    let names: Vec<(&str, bool, bool)> = view
        .evidence
        .iter()
        .map(|v| {
            (
                v.evidence.name.as_str(),
                v.evidence.explains,
                v.evidence.actor.iac,
            )
        })
        .collect();
    assert!(
        names.contains(&("AuthorizeSecurityGroupIngress", false, true)),
        "{names:?}"
    );
    assert!(
        names.contains(&("RevokeSecurityGroupIngress", false, false)),
        "{names:?}"
    );
    // The raw records are kept, secrets stripped.
    assert_eq!(explaining[0].raw["requestParameters"]["groupId"], GROUP);

    // Nothing is due any more: a third pass makes no call.
    let before = w.cloudtrail.calls_of(ACCOUNT, REGION).len();
    let report = attribute_target(&ctx, &w.target).await.unwrap();
    assert_eq!(report.searched, 0);
    assert_eq!(w.cloudtrail.calls_of(ACCOUNT, REGION).len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_deletion_of_the_database_is_the_console_session() {
    let w = world().await;
    let settings = AttributionSettings::default();
    let s = w.shift;
    let desired = state(&[("aws_db_instance", "db", database())], &w.key);
    let present = live(&[("aws_db_instance", database())], &w.key);
    scan(
        &w.store,
        &w.target,
        &settings,
        (at(s, "12:25:00"), at(s, "12:25:01")),
        &desired,
        &present,
    );
    let gone = live(&[], &w.key);
    assert_eq!(
        scan(
            &w.store,
            &w.target,
            &settings,
            (at(s, "12:29:30"), at(s, "12:29:31")),
            &desired,
            &gone
        ),
        1
    );
    let finding = only_finding(&w.store, "missing");
    w.clock.set(at(s, "12:50:00"));
    let report = attribute_target(&pass_context(&w), &w.target)
        .await
        .unwrap();
    assert_eq!((report.found, report.errors.len()), (1, 0), "{report:?}");
    let view = driftd::findings::ops::attribution(&w.store, &finding.id)
        .unwrap()
        .unwrap();
    let deletes: Vec<_> = view
        .evidence
        .iter()
        .filter(|e| e.evidence.name == "DeleteDBInstance")
        .collect();
    // The console call deleted it; Terraform's call at the same second
    // failed (already being deleted): an attempt, never the explanation.
    assert_eq!(deletes.len(), 2, "{:?}", view.evidence);
    let console = deletes
        .iter()
        .find(|e| e.evidence.explains)
        .expect("one explains");
    assert_eq!(
        console.evidence.event_id,
        "b5232796-c668-4d71-a006-d9cabb3d607d"
    );
    assert_eq!(console.evidence.actor.person.as_deref(), Some("bert-jan"));
    assert_eq!(console.channel, Channel::Console);
    assert_eq!(console.source_ip.as_deref(), Some("10.8.8.10"));
    assert!(console.evidence.error_code.is_none());
    let attempt = deletes.iter().find(|e| !e.evidence.explains).unwrap();
    assert_eq!(
        attempt.evidence.error_code.as_deref(),
        Some("InvalidDBInstanceStateFault")
    );
    assert!(
        attempt.evidence.actor.iac,
        "Terraform's call is an IaC apply"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn terraforms_creation_of_an_unmanaged_group_is_an_iac_apply() {
    let w = world().await;
    let settings = AttributionSettings::default();
    let s = w.shift;
    // This target's state does not hold the group: another workspace's apply made it.
    let desired: Vec<Resource> = Vec::new();
    scan(
        &w.store,
        &w.target,
        &settings,
        (at(s, "12:05:00"), at(s, "12:05:01")),
        &desired,
        &live(&[], &w.key),
    );
    let created = live(
        &[(
            "aws_security_group",
            group(vec![rule(443, "TLS from Internet")]),
        )],
        &w.key,
    );
    assert_eq!(
        scan(
            &w.store,
            &w.target,
            &settings,
            (at(s, "12:10:30"), at(s, "12:10:31")),
            &desired,
            &created
        ),
        1
    );
    let finding = only_finding(&w.store, "unmanaged");
    w.clock.set(at(s, "12:40:00"));
    let report = attribute_target(&pass_context(&w), &w.target)
        .await
        .unwrap();
    assert_eq!((report.found, report.errors.len()), (1, 0), "{report:?}");
    let view = driftd::findings::ops::attribution(&w.store, &finding.id)
        .unwrap()
        .unwrap();
    let actor = view.actor.expect("an event explains it");
    assert_eq!(actor.channel, Channel::Terraform);
    assert!(actor.iac);
    let explaining = view.evidence.iter().find(|e| e.evidence.explains).unwrap();
    assert_eq!(explaining.evidence.name, "CreateSecurityGroup");
    assert_eq!(
        explaining.evidence.event_id,
        "7475937c-a863-44ce-9878-81e8a268e966"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_evidence_the_actor_stays_unknown_after_the_retry_time() {
    let w = world().await;
    let settings = AttributionSettings::default();
    let s = w.shift;
    // A group no record names.
    let mut other = group(vec![]);
    other["id"] = json!("sg-0000000000000abcd");
    let desired: Vec<Resource> = Vec::new();
    scan(
        &w.store,
        &w.target,
        &settings,
        (at(s, "12:05:00"), at(s, "12:05:01")),
        &desired,
        &live(&[], &w.key),
    );
    scan(
        &w.store,
        &w.target,
        &settings,
        (at(s, "12:10:30"), at(s, "12:10:31")),
        &desired,
        &live(&[("aws_security_group", other)], &w.key),
    );
    let finding = only_finding(&w.store, "unmanaged");
    let ctx = pass_context(&w);
    w.clock.set(at(s, "12:40:00"));
    let report = attribute_target(&ctx, &w.target).await.unwrap();
    assert_eq!(
        report.pending, 1,
        "still looking within the hour: {report:?}"
    );
    let view = driftd::findings::ops::attribution(&w.store, &finding.id)
        .unwrap()
        .unwrap();
    assert!(view.actor.is_none() && view.evidence.is_empty());
    w.clock.set(at(s, "13:20:00"));
    let report = attribute_target(&ctx, &w.target).await.unwrap();
    assert_eq!(report.unknown, 1, "{report:?}");
    let view = driftd::findings::ops::attribution(&w.store, &finding.id)
        .unwrap()
        .unwrap();
    assert_eq!(view.search.status, AttributionStatus::Unknown);
    assert!(view.actor.is_none(), "never a guessed actor");
}
