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
        cloudtrail: Default::default(),
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

// ---------------------------------------------------------------------------
// Objects made with the SDK

/// What the provider writes for an instance moto launched with only an image
/// and a type in `subnet` (the defaults), before the per-test fields.
fn instance_defaults(i: &aws_sdk_ec2::types::Instance) -> Value {
    let id = i.instance_id().unwrap();
    let eni = &i.network_interfaces()[0];
    let first = json!({
        "ami": "ami-1e749f67",
        "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:instance/{id}"),
        "associate_public_ip_address": eni.association().is_some(),
        "availability_zone": i.placement().unwrap().availability_zone().unwrap(),
        "capacity_reservation_specification": [],
        "cpu_core_count": null,
        "cpu_options": [],
        "cpu_threads_per_core": null,
        "credit_specification": [],
        "disable_api_stop": false,
        "disable_api_termination": false,
        "ebs_block_device": [],
        "ebs_optimized": false,
        "enable_primary_ipv6": null,
        "enclave_options": [],
        "hibernation": false,
        "host_id": "",
        "host_resource_group_arn": null,
        "iam_instance_profile": "",
        "id": id,
        "instance_initiated_shutdown_behavior": "stop",
        "instance_lifecycle": "",
        "instance_market_options": [],
        "instance_state": "running",
        "instance_type": "t3.micro",
        "ipv6_address_count": 0,
        "ipv6_addresses": [],
        "key_name": "",
        "launch_template": [],
        "maintenance_options": [],
        "metadata_options": [{
            "http_endpoint": "enabled",
            "http_protocol_ipv6": "disabled",
            "http_put_response_hop_limit": 1,
            "http_tokens": "optional",
            "instance_metadata_tags": "disabled",
        }],
        "monitoring": false,
        "network_interface": [{
            "delete_on_termination": eni.attachment().unwrap().delete_on_termination().unwrap(),
            "device_index": 0,
            "network_card_index": 0,
            "network_interface_id": eni.network_interface_id().unwrap(),
        }],
    });
    let rest = json!({
        "outpost_arn": "",
        "placement_group": "",
        "placement_partition_number": 0,
        "primary_network_interface_id": eni.network_interface_id().unwrap(),
        "private_dns": i.private_dns_name().unwrap(),
        "private_dns_name_options": [],
        "private_ip": i.private_ip_address().unwrap(),
        "public_dns": i.public_dns_name().unwrap_or_default(),
        "public_ip": i.public_ip_address().unwrap_or_default(),
        "root_block_device": [],
        "secondary_private_ips": [],
        "security_groups": i.security_groups().iter().map(|g| g.group_name().unwrap()).collect::<Vec<_>>(),
        "source_dest_check": true,
        "spot_instance_request_id": "",
        "subnet_id": i.subnet_id().unwrap(),
        "tags": {},
        "tags_all": {},
        "tenancy": "default",
        "user_data": null,
        "user_data_base64": null,
        "volume_tags": {},
        "vpc_security_group_ids": i.security_groups().iter().map(|g| g.group_id().unwrap()).collect::<Vec<_>>(),
    });
    merge(first, rest)
}

fn merge(mut base: Value, overrides: Value) -> Value {
    for (k, v) in overrides.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

async fn volume(c: &aws_sdk_ec2::Client, id: &str) -> aws_sdk_ec2::types::Volume {
    c.describe_volumes()
        .volume_ids(id)
        .send()
        .await
        .unwrap()
        .volumes()[0]
        .clone()
}

fn created(v: &aws_sdk_ec2::types::Volume) -> String {
    chrono::DateTime::from_timestamp(v.create_time().unwrap().secs(), 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compute_types_map_into_the_provider_shape() {
    let moto = MotoServer::start();
    let c = ec2(&moto).await;

    // Key pairs: one imported (ed25519, tagged), one made by EC2 (rsa).
    let public_key = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tf/compute/deployer.pub"),
    )
    .unwrap();
    let imported = c
        .import_key_pair()
        .key_name("deployer")
        .public_key_material(aws_smithy_types::Blob::new(public_key.as_bytes()))
        .tag_specifications(tagged(ResourceType::KeyPair, &[("team", "ops")]))
        .send()
        .await
        .unwrap();
    let made = c.create_key_pair().key_name("made").send().await.unwrap();

    // Volumes: minimal, fully configured, and tagged gp3 with throughput.
    let minimal_volume = c
        .create_volume()
        .availability_zone("us-east-1a")
        .size(1)
        .send()
        .await
        .unwrap()
        .volume_id
        .unwrap();
    let io1 = c
        .create_volume()
        .availability_zone("us-east-1b")
        .size(50)
        .volume_type(VolumeType::Io1)
        .iops(500)
        .encrypted(true)
        .tag_specifications(tagged(ResourceType::Volume, &[("Name", "db")]))
        .send()
        .await
        .unwrap()
        .volume_id
        .unwrap();

    // Launch templates: minimal, and fully configured with a second version
    // (the provider reads the latest one).
    let minimal_template = c
        .create_launch_template()
        .launch_template_name("minimal")
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
    let full_data = RequestLaunchTemplateData::builder()
        .image_id("ami-1e749f67")
        .instance_type(InstanceType::M5Large)
        .key_name("deployer")
        .user_data("IyEvYmluL2Jhc2gK")
        .disable_api_termination(true)
        .ebs_optimized(true)
        .instance_initiated_shutdown_behavior(ShutdownBehavior::Terminate)
        .security_group_ids("sg-12345678")
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(aws_sdk_ec2::types::LaunchTemplateHttpTokensState::Required)
                .http_put_response_hop_limit(2)
                .build(),
        )
        .block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name("/dev/sdf")
                .ebs(
                    LaunchTemplateEbsBlockDeviceRequest::builder()
                        .volume_size(30)
                        .volume_type(VolumeType::Gp3)
                        .delete_on_termination(true)
                        .encrypted(true)
                        .build(),
                )
                .build(),
        )
        .tag_specifications(
            aws_sdk_ec2::types::LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .tags(tag("app", "web"))
                .build(),
        )
        .build();
    let full_template = c
        .create_launch_template()
        .launch_template_name("full")
        .version_description("first")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id("ami-1e749f67")
                .build(),
        )
        .tag_specifications(tagged(ResourceType::LaunchTemplate, &[("env", "prod")]))
        .send()
        .await
        .unwrap()
        .launch_template
        .unwrap()
        .launch_template_id
        .unwrap();
    c.create_launch_template_version()
        .launch_template_id(&full_template)
        .version_description("second")
        .launch_template_data(full_data)
        .send()
        .await
        .unwrap();

    // Instances: minimal; fully configured (user data, an extra EBS device,
    // protections, IMDSv2, a non-burstable type); one launched by an Auto
    // Scaling group; one terminated.
    let run = |ty: InstanceType| {
        c.run_instances()
            .image_id("ami-1e749f67")
            .instance_type(ty)
            .min_count(1)
            .max_count(1)
    };
    let minimal = run(InstanceType::T3Micro).send().await.unwrap().instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let full = run(InstanceType::M5Large)
        .key_name("deployer")
        .user_data(aws_smithy_types::base64::encode("#!/bin/bash\necho hi\n"))
        .instance_initiated_shutdown_behavior(ShutdownBehavior::Terminate)
        .monitoring(
            aws_sdk_ec2::types::RunInstancesMonitoringEnabled::builder()
                .enabled(true)
                .build(),
        )
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(HttpTokensState::Required)
                .http_put_response_hop_limit(2)
                .build(),
        )
        .block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name("/dev/sda1")
                .ebs(
                    EbsBlockDevice::builder()
                        .volume_size(12)
                        .volume_type(VolumeType::Gp3)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        )
        .block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name("/dev/sdf")
                .ebs(
                    EbsBlockDevice::builder()
                        .volume_size(20)
                        .volume_type(VolumeType::Gp2)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        )
        .tag_specifications(tagged(ResourceType::Instance, &[("Name", "full")]))
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    // moto ignores `DisableApiTermination` at launch; a person sets it after.
    c.modify_instance_attribute()
        .instance_id(&full)
        .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let scaled = run(InstanceType::T3Micro)
        .tag_specifications(tagged(
            ResourceType::Instance,
            &[("aws:autoscaling:groupName", "web-asg")],
        ))
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let gone = run(InstanceType::T3Micro).send().await.unwrap().instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    c.terminate_instances()
        .instance_ids(&gone)
        .send()
        .await
        .unwrap();

    let described: BTreeMap<String, aws_sdk_ec2::types::Instance> = c
        .describe_instances()
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .flat_map(|r| r.instances().iter().cloned())
        .map(|i| (i.instance_id().unwrap().to_string(), i))
        .collect();
    let inventory = list(&moto).await;
    assert_schema(&inventory);

    // Key pairs.
    let key_pairs = objects(&inventory, "aws_key_pair");
    assert_eq!(
        key_pairs["deployer"],
        json!({
            "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:key-pair/deployer"),
            "fingerprint": imported.key_fingerprint().unwrap(),
            "id": "deployer",
            "key_name": "deployer",
            "key_pair_id": imported.key_pair_id().unwrap(),
            "key_type": "ed25519",
            "public_key": public_key.trim(),
            "tags": {"team": "ops"},
            "tags_all": {"team": "ops"},
        })
    );
    // moto leaves `KeyType` out for the keys it makes (AWS answers `rsa`).
    assert_eq!(key_pairs["made"]["key_type"], "");
    assert_eq!(
        key_pairs["made"]["fingerprint"],
        made.key_fingerprint().unwrap()
    );
    assert_eq!(
        key_pairs["made"]["key_pair_id"],
        made.key_pair_id().unwrap()
    );
    assert!(
        key_pairs["made"]["public_key"]
            .as_str()
            .unwrap()
            .starts_with("ssh-rsa ")
    );

    // Volumes: the two made alone, plus the instances' own (folded or default).
    let volumes = objects(&inventory, "aws_ebs_volume");
    let v = volume(&c, &minimal_volume).await;
    assert_eq!(
        volumes[&minimal_volume],
        json!({
            "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:volume/{minimal_volume}"),
            "availability_zone": "us-east-1a",
            "create_time": created(&v),
            "encrypted": false,
            "id": minimal_volume,
            "iops": v.iops().unwrap_or(0),
            "kms_key_id": "",
            "multi_attach_enabled": false,
            "outpost_arn": "",
            "size": 1,
            "snapshot_id": "",
            "tags": {},
            "tags_all": {},
            "throughput": 0,
            "type": v.volume_type().unwrap().as_str(),
        })
    );
    let v = volume(&c, &io1).await;
    assert_eq!(
        volumes[&io1],
        json!({
            "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:volume/{io1}"),
            "availability_zone": "us-east-1b",
            "create_time": created(&v),
            "encrypted": true,
            "id": io1,
            "iops": 500,
            "kms_key_id": v.kms_key_id().unwrap(),
            "multi_attach_enabled": false,
            "outpost_arn": "",
            "size": 50,
            "snapshot_id": "",
            "tags": {"Name": "db"},
            "tags_all": {"Name": "db"},
            "throughput": 0,
            "type": "io1",
        })
    );
    let full_i = &described[&full];
    let device_volume = |device: &str| -> String {
        full_i
            .block_device_mappings()
            .iter()
            .find(|m| m.device_name() == Some(device))
            .unwrap()
            .ebs()
            .unwrap()
            .volume_id()
            .unwrap()
            .to_string()
    };
    let (root, data) = (device_volume("/dev/sda1"), device_volume("/dev/sdf"));
    for launched in [&root, &data] {
        assert_eq!(volumes[launched][compute::ATTACHED_INSTANCE], full.as_str());
        assert!(
            (rules("aws_ebs_volume").is_default)(&volumes[launched]),
            "{launched} came with its instance"
        );
    }
    assert!(!(rules("aws_ebs_volume").is_default)(&volumes[&io1]));

    // Instances: the terminated one is gone; the scaled one is AWS's.
    let instances = objects(&inventory, "aws_instance");
    assert_eq!(
        instances.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([minimal.clone(), full.clone(), scaled.clone()])
    );
    assert!((rules("aws_instance").is_default)(&instances[&scaled]));
    assert!(!(rules("aws_instance").is_default)(&instances[&minimal]));
    let i = &described[&minimal];
    let root_volume = i.block_device_mappings()[0]
        .ebs()
        .unwrap()
        .volume_id()
        .unwrap();
    let rv = volume(&c, root_volume).await;
    assert_eq!(
        instances[&minimal],
        merge(
            instance_defaults(i),
            json!({
                "credit_specification": [{"cpu_credits": "standard"}],
                "root_block_device": [{
                    "delete_on_termination": true,
                    "device_name": "/dev/sda1",
                    "encrypted": rv.encrypted().unwrap(),
                    "iops": rv.iops().unwrap_or(0),
                    "kms_key_id": rv.kms_key_id().unwrap_or_default(),
                    "tags": {},
                    "tags_all": {},
                    "throughput": 0,
                    "volume_id": root_volume,
                    "volume_size": rv.size().unwrap(),
                    "volume_type": rv.volume_type().unwrap().as_str(),
                }],
            })
        )
    );
    let (rv, dv) = (volume(&c, &root).await, volume(&c, &data).await);
    assert_eq!(
        instances[&full],
        merge(
            instance_defaults(full_i),
            json!({
                "disable_api_termination": true,
                "ebs_block_device": [{
                    "delete_on_termination": true,
                    "device_name": "/dev/sdf",
                    "encrypted": dv.encrypted().unwrap(),
                    "iops": dv.iops().unwrap_or(0),
                    "kms_key_id": dv.kms_key_id().unwrap_or_default(),
                    "snapshot_id": "",
                    "tags": {},
                    "tags_all": {},
                    "throughput": 0,
                    "volume_id": data,
                    "volume_size": 20,
                    "volume_type": "gp2",
                }],
                "instance_initiated_shutdown_behavior": "terminate",
                "instance_type": "m5.large",
                "key_name": "deployer",
                "metadata_options": [{
                    "http_endpoint": "enabled",
                    "http_protocol_ipv6": "disabled",
                    "http_put_response_hop_limit": 2,
                    "http_tokens": "required",
                    "instance_metadata_tags": "disabled",
                }],
                "monitoring": true,
                "root_block_device": [{
                    "delete_on_termination": true,
                    "device_name": "/dev/sda1",
                    "encrypted": rv.encrypted().unwrap(),
                    "iops": rv.iops().unwrap_or(0),
                    "kms_key_id": rv.kms_key_id().unwrap_or_default(),
                    "tags": {},
                    "tags_all": {},
                    "throughput": 0,
                    "volume_id": root,
                    "volume_size": 12,
                    "volume_type": "gp3",
                }],
                "tags": {"Name": "full"},
                "tags_all": {"Name": "full"},
                // The SHA-1 of the content, as the provider stores it.
                "user_data": "e3cf5b39bc793e8151d1893fb3992ebdad89c0d2",
                "user_data_base64": aws_smithy_types::base64::encode("#!/bin/bash\necho hi\n"),
            })
        )
    );

    // Launch templates.
    let templates = objects(&inventory, "aws_launch_template");
    let none = json!([]);
    let template_defaults = |id: &str, name: &str| {
        json!({
            "arn": format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:launch-template/{id}"),
            "block_device_mappings": none, "capacity_reservation_specification": none,
            "cpu_options": none, "credit_specification": none, "default_version": 1,
            "description": "", "disable_api_stop": false, "disable_api_termination": false,
            "ebs_optimized": "", "elastic_gpu_specifications": none,
            "elastic_inference_accelerator": none, "enclave_options": none,
            "hibernation_options": none, "iam_instance_profile": none, "id": id,
            "image_id": "ami-1e749f67", "instance_initiated_shutdown_behavior": "",
            "instance_market_options": none, "instance_requirements": none, "instance_type": "",
            "kernel_id": "", "key_name": "", "latest_version": 1, "license_specification": none,
            "maintenance_options": none, "metadata_options": none, "monitoring": none,
            "name": name, "network_interfaces": none, "placement": none,
            "private_dns_name_options": none, "ram_disk_id": "", "security_group_names": none,
            "tag_specifications": none, "tags": {}, "tags_all": {}, "user_data": "",
            "vpc_security_group_ids": none,
        })
    };
    assert_eq!(
        templates[&minimal_template],
        template_defaults(&minimal_template, "minimal")
    );
    let mut full_expected = merge(
        template_defaults(&full_template, "full"),
        json!({
            "block_device_mappings": [{
                "device_name": "/dev/sdf", "no_device": "", "virtual_name": "",
                "ebs": [{
                    "delete_on_termination": "true", "encrypted": "true", "iops": 0,
                    "kms_key_id": "", "snapshot_id": "", "throughput": 0,
                    "volume_initialization_rate": 0, "volume_size": 30, "volume_type": "gp3",
                }],
            }],
            "description": "second",
            "disable_api_termination": true,
            "ebs_optimized": "true",
            "instance_initiated_shutdown_behavior": "terminate",
            "instance_type": "m5.large",
            "key_name": "deployer",
            "latest_version": 2,
            "metadata_options": [{
                "http_endpoint": "", "http_protocol_ipv6": "", "http_put_response_hop_limit": 2,
                "http_tokens": "required", "instance_metadata_tags": "",
            }],
            "tags": {"env": "prod"},
            "tags_all": {"env": "prod"},
            "user_data": "IyEvYmluL2Jhc2gK",
            "vpc_security_group_ids": ["sg-12345678"],
        }),
    );
    // moto copies the template's own tags into its versions' data.
    full_expected["tag_specifications"] = templates[&full_template]["tag_specifications"].clone();
    assert_eq!(templates[&full_template], full_expected);
    assert!(
        templates[&full_template]["tag_specifications"]
            .as_array()
            .unwrap()
            .contains(&json!({"resource_type": "instance", "tags": {"app": "web"}}))
    );
}
