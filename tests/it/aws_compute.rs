//! EC2 compute types against a real AWS emulator (moto): instances, EBS
//! volumes, launch templates and key pairs made with the SDK the way a person
//! would, listed by driftd and compared whole with the attributes the
//! hashicorp/aws 5.100.0 provider writes into state; and the `compute`
//! Terraform fixture applied to moto, whose state must show no drift against
//! the live mapping, and whose out-of-band changes driftd must name as
//! Terraform's refresh-only plan does.

use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};
use crate::support::terraform::{DriftKind, Workspace};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, BlockDeviceMapping, EbsBlockDevice, HttpTokensState,
    InstanceMetadataOptionsRequest, InstanceType, LaunchTemplateBlockDeviceMappingRequest,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateInstanceMetadataOptionsRequest,
    RequestLaunchTemplateData, ResourceType, ShutdownBehavior, Tag, TagSpecification, VolumeType,
};
use driftd::aws::types::compute;
use driftd::aws::{CollectOptions, TypeDef, collect};
use driftd::config::{AwsAccount, AwsScope};
use driftd::diff::{DiffOptions, DiffReport, Drift, diff};
use driftd::live::{Listing, LiveInventory, TypeRules};
use driftd::model::Origin;
use driftd::secrets::SecretKey;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

const COMPUTE: &[&TypeDef] = &[
    &compute::INSTANCE,
    &compute::EBS_VOLUME,
    &compute::LAUNCH_TEMPLATE,
    &compute::KEY_PAIR,
];

fn key() -> SecretKey {
    SecretKey::from_bytes([9; 32])
}

async fn list(moto: &MotoServer) -> LiveInventory {
    let scope = AwsScope {
        regions: vec![REGION.to_string()],
        accounts: vec![AwsAccount {
            id: ACCOUNT_ID.to_string(),
            role_arn: None,
            external_id: None,
        }],
        profile: None,
        endpoint_url: Some(moto.endpoint_url()),
    };
    let options = CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        call_timeout: Duration::from_secs(20),
        ..CollectOptions::default()
    };
    let (inventory, _) = collect(&scope, COMPUTE, &options, &key()).await;
    for c in &inventory.coverage {
        assert_eq!(c.listing, Listing::Complete, "{c:?}");
    }
    inventory
}

async fn ec2(moto: &MotoServer) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&moto.sdk_config().await)
}

/// The live objects of one type, by id.
fn objects(inventory: &LiveInventory, resource_type: &str) -> BTreeMap<String, Value> {
    inventory
        .resources
        .iter()
        .filter(|r| &*r.key.resource_type == resource_type)
        .map(|r| (r.key.id.clone(), r.attributes.to_value()))
        .collect()
}

fn rules(resource_type: &str) -> &'static TypeRules {
    COMPUTE
        .iter()
        .find(|d| d.rules.resource_type == resource_type)
        .unwrap()
        .rules
}

fn rules_lookup(resource_type: &str) -> Option<&'static TypeRules> {
    COMPUTE
        .iter()
        .find(|d| d.rules.resource_type == resource_type)
        .map(|d| d.rules)
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn tagged(kind: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    let mut spec = TagSpecification::builder().resource_type(kind);
    for (k, v) in tags {
        spec = spec.tags(tag(k, v));
    }
    spec.build()
}

// ---------------------------------------------------------------------------
// Schema

/// The schema attributes driftd does not map, per type: Terraform-only
/// arguments and values the API never returns (each is in the type's `ignore`).
fn unmapped(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "aws_instance" => &[
            "ephemeral_block_device",
            "get_password_data",
            "password_data",
            "timeouts",
            "user_data_replace_on_change",
        ],
        "aws_ebs_volume" => &["final_snapshot", "timeouts"],
        "aws_launch_template" => &["name_prefix", "update_default_version"],
        "aws_key_pair" => &["key_name_prefix"],
        other => panic!("{other}"),
    }
}

fn schema_block(resource_type: &str) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-provider-schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    schema["resource_schemas"][resource_type]["block"].clone()
}

fn names(block: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for part in ["attributes", "block_types"] {
        if let Some(o) = block[part].as_object() {
            names.extend(o.keys().cloned());
        }
    }
    names
}

/// Every live attribute (nested blocks too) is in the provider schema; the
/// top-level schema attributes left out are exactly the documented ones, which
/// the rules ignore; every declared set is a set in the schema.
fn assert_schema(inventory: &LiveInventory) {
    fn walk(block: &Value, live: &Value, path: &str) {
        let known = names(block);
        for (k, v) in live.as_object().unwrap() {
            if k.starts_with("driftd:") {
                continue;
            }
            assert!(
                known.contains(k),
                "{path}.{k} is not in the provider schema"
            );
            if let Some(nested) = block["block_types"].get(k) {
                for element in v.as_array().unwrap_or_else(|| panic!("{path}.{k}: {v}")) {
                    walk(&nested["block"], element, &format!("{path}.{k}"));
                }
            }
        }
    }
    for def in COMPUTE {
        let t = def.rules.resource_type;
        let block = schema_block(t);
        let live = objects(inventory, t);
        assert!(!live.is_empty(), "no {t} listed");
        let mut mapped = BTreeSet::new();
        for (id, attributes) in &live {
            walk(&block, attributes, &format!("{t} {id}"));
            mapped.extend(attributes.as_object().unwrap().keys().cloned());
        }
        let left_out: Vec<String> = names(&block).difference(&mapped).cloned().collect();
        assert_eq!(left_out, unmapped(t), "{t}: schema attributes not mapped");
        for name in unmapped(t) {
            assert!(
                *name == "timeouts" || def.rules.ignore.contains(name),
                "{t}: {name} is not mapped but compared"
            );
        }
        for set in def.rules.sets {
            let mut b = &block;
            let parts: Vec<&str> = set.split('.').collect();
            for part in &parts[..parts.len() - 1] {
                b = &b["block_types"][*part]["block"];
            }
            let last = parts[parts.len() - 1];
            assert!(
                b["attributes"][last]["type"].get(0) == Some(&json!("set"))
                    || b["block_types"][last]["nesting_mode"] == "set",
                "{t}.{set} is not a set in the schema"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Terraform as referee

/// The desired side: every managed resource of the state, parsed as driftd does.
fn desired(ws: &Workspace) -> Vec<driftd::model::Resource> {
    let bytes = std::fs::read(ws.state_path()).unwrap();
    driftd::state::parse_state(&bytes, &Origin::from("compute"), &key())
        .unwrap()
        .resources
}

fn compute_diff(ws: &Workspace, live: &LiveInventory) -> DiffReport {
    diff(&desired(ws), live, &rules_lookup, &DiffOptions::default())
}

/// driftd's drift in the referee's terms: address -> changed top-level
/// attributes (`tags_all` named `tags`, as driftd compares them) or deleted.
fn driftd_view(report: &DiffReport) -> BTreeMap<String, DriftKind> {
    let mut out = BTreeMap::new();
    for d in &report.drifts {
        match d {
            Drift::Changed {
                address, changes, ..
            } => {
                let attributes = changes.iter().map(|c| c.attribute().to_string()).collect();
                out.insert(address.to_string(), DriftKind::Changed(attributes));
            }
            Drift::Missing { address, .. } => {
                out.insert(address.to_string(), DriftKind::Deleted);
            }
            Drift::Unmanaged { .. } => {}
        }
    }
    out
}

fn unmanaged(report: &DiffReport) -> BTreeSet<String> {
    report
        .drifts
        .iter()
        .filter_map(|d| match d {
            Drift::Unmanaged { key } => Some(format!("{}.{}", key.resource_type, key.id)),
            _ => None,
        })
        .collect()
}

/// A state resource's attributes and its live counterpart, as the diff sees
/// them: normalised, ignored attributes dropped, sets in one order.
fn comparable(rules: &TypeRules, mut desired: Value, mut live: Value) -> (Value, Value) {
    (rules.normalize)(&mut desired, &mut live);
    // What the normalisation took out of the live side (a form the
    // configuration did not use) is not compared, as in the diff.
    let live_keys: BTreeSet<String> = live.as_object().unwrap().keys().cloned().collect();
    desired
        .as_object_mut()
        .unwrap()
        .retain(|k, v| live_keys.contains(k) || !v.is_null());
    for side in [&mut desired, &mut live] {
        let o = side.as_object_mut().unwrap();
        for name in rules.ignore.iter().chain(&["timeouts"]) {
            o.remove(*name);
        }
        o.retain(|k, _| !k.starts_with("driftd:"));
        for set in rules.sets.iter().filter(|s| !s.contains('.')) {
            if let Some(Value::Array(items)) = o.get_mut(*set) {
                items.sort_by_key(|v| v.to_string());
            }
        }
        // Nested blocks' tags: `tags_all` is the one that holds every tag.
        for block in ["root_block_device", "ebs_block_device"] {
            if let Some(Value::Array(devices)) = o.get_mut(block) {
                for d in devices {
                    if let Some(d) = d.as_object_mut() {
                        d.remove("tags_all");
                    }
                }
            }
        }
    }
    (desired, live)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_state_equals_the_live_mapping_and_drift_matches_terraforms() {
    let moto = MotoServer::start();
    let mut ws = Workspace::new("compute", &moto.endpoint_url());
    let ws_ref = &mut ws;
    tokio::task::block_in_place(|| {
        ws_ref.init();
        ws_ref.apply();
    });

    // (i) The raw state right after the apply: no drift at all. The root
    // volume created with the instance is neither a change nor unmanaged.
    let live = list(&moto).await;
    let report = compute_diff(&ws, &live);
    assert!(report.drifts.is_empty(), "{:#?}", report.drifts);
    assert_eq!(report.managed, 4, "{report:#?}");
    assert_eq!(report.unmanaged, 0);
    assert_eq!(
        objects(&live, "aws_ebs_volume").len(),
        2,
        "data and root volumes"
    );

    // (ii) After a refresh the state holds what the provider reads: equal to
    // the live mapping attribute by attribute (ignored ones aside).
    let ws_ref = &mut ws;
    tokio::task::block_in_place(|| ws_ref.refresh_only_apply());
    let state = ws.state_json();
    let mut compared = 0;
    for r in state["resources"].as_array().unwrap() {
        let t = r["type"].as_str().unwrap();
        let Some(rules) = rules_lookup(t) else {
            continue;
        };
        let wanted = r["instances"][0]["attributes"].clone();
        let id = wanted["id"].as_str().unwrap().to_string();
        let got = objects(&live, t)
            .remove(&id)
            .unwrap_or_else(|| panic!("{t} {id} not listed"));
        let (wanted, got) = comparable(rules, wanted, got);
        assert_eq!(
            got, wanted,
            "{t} {id}: live (left) differs from the refreshed state (right)"
        );
        compared += 1;
    }
    assert_eq!(compared, 4);
    let report = compute_diff(&ws, &live);
    assert!(report.drifts.is_empty(), "{:#?}", report.drifts);

    // A person resizes the instance (stop, change the type, start), deletes
    // the key pair, and makes a volume and a launch template by hand.
    let c = ec2(&moto).await;
    let instance = ws.resource_id("aws_instance.app");
    c.stop_instances()
        .instance_ids(&instance)
        .send()
        .await
        .unwrap();
    c.modify_instance_attribute()
        .instance_id(&instance)
        .instance_type(AttributeValue::builder().value("t3.small").build())
        .send()
        .await
        .unwrap();
    c.start_instances()
        .instance_ids(&instance)
        .send()
        .await
        .unwrap();
    c.delete_key_pair()
        .key_name("driftd-deployer")
        .send()
        .await
        .unwrap();
    let stray_volume = c
        .create_volume()
        .availability_zone("us-east-1b")
        .size(5)
        .send()
        .await
        .unwrap()
        .volume_id
        .unwrap();
    let stray_template = c
        .create_launch_template()
        .launch_template_name("by-hand")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id("ami-1e749f67")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .launch_template
        .unwrap()
        .launch_template_id
        .unwrap();

    let ws_ref = &mut ws;
    let plan = tokio::task::block_in_place(|| ws_ref.plan_refresh_only());
    let referee: BTreeMap<String, DriftKind> = plan
        .drift
        .iter()
        .map(|d| {
            let kind = match d.kind() {
                DriftKind::Changed(mut attributes) => {
                    if attributes.remove("tags_all") {
                        attributes.insert("tags".to_string());
                    }
                    DriftKind::Changed(attributes)
                }
                k => k,
            };
            (d.address.clone(), kind)
        })
        .collect();
    assert_eq!(
        referee,
        BTreeMap::from([
            (
                "aws_instance.app".to_string(),
                DriftKind::Changed(BTreeSet::from(["instance_type".to_string()]))
            ),
            ("aws_key_pair.deployer".to_string(), DriftKind::Deleted),
        ]),
        "what Terraform reports"
    );
    let live = list(&moto).await;
    let report = compute_diff(&ws, &live);
    assert_eq!(driftd_view(&report), referee, "{:#?}", report.drifts);
    let changed = report
        .drifts
        .iter()
        .find_map(|d| match d {
            Drift::Changed { changes, .. } => Some(changes.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        serde_json::to_value(&changed).unwrap(),
        json!([{"path": "instance_type", "recorded": {"value": "t3.micro"}, "live": {"value": "t3.small"}}])
    );
    assert_eq!(
        unmanaged(&report),
        BTreeSet::from([
            format!("aws_ebs_volume.{stray_volume}"),
            format!("aws_launch_template.{stray_template}"),
        ]),
        "Terraform cannot see these; driftd does"
    );
}
