//! EC2 compute: instances, EBS volumes, launch templates and key pairs, mapped
//! into the attribute shape the hashicorp/aws 5.100.0 provider writes into
//! state.
//!
//! Calls, per account and region:
//! - `DescribeInstances` and `DescribeVolumes` are made once and shared
//!   ([`RegionContext::shared`]): an instance's `root_block_device` and
//!   `ebs_block_device` need the volumes (size, type, IOPS, encryption), and
//!   the volume listing needs the instances to tell the volumes launched with
//!   an instance from the ones made on their own.
//! - Per instance, four `DescribeInstanceAttribute` calls (disableApiStop,
//!   disableApiTermination, instanceInitiatedShutdownBehavior, userData): the
//!   API has no batch form. A few instances at a time, like the VPC attributes.
//! - `DescribeInstanceCreditSpecifications` with up to 1000 instance ids per
//!   call, for burstable instances only (the API errors for others; without
//!   ids it only returns the `unlimited` ones).
//! - `DescribeSpotInstanceRequests` for the spot requests of spot instances,
//!   only when there are some.
//! - `DescribeLaunchTemplates` (shared: an instance's `launch_template.name`)
//!   and one `DescribeLaunchTemplateVersions` listing with `$Latest` and no
//!   template id: the latest version of every template, which is the version
//!   the provider reads.
//! - `DescribeKeyPairs` with `IncludePublicKey` (the one call, no paging).
//!
//! moto 5.1.22 serves all of these. Its quirks, seen in the tests: a volume's
//! `Attachments[].DeleteOnTermination` is always false (the instance's block
//! device mapping has the true value, so that is the one read); gp3 volumes
//! have no `Throughput`; key pairs' public keys end with a newline.

use super::net::tags;
use super::s;
use crate::aws::types::net::{DEFAULT_MARKER, drop_unreturned, normalize_tags};
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef, partition};
use crate::live::{Fold, TypeRules, never_default};
use aws_sdk_ec2::types::{
    Filter, Instance, InstanceAttributeName, LaunchTemplate, LaunchTemplateVersion,
    ResponseLaunchTemplateData, Tag, Volume,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

// ---------------------------------------------------------------------------
// aws_instance

/// A live-only attribute of `aws_ebs_volume`: the instance the volume is
/// attached to. The instance's fold (below) names it as the parent id, so a
/// volume attached to a managed instance is part of that instance (its
/// `root_block_device` / `ebs_block_device`), never an unmanaged volume. The
/// colon keeps it out of every provider schema; it is in `ignore`.
pub const ATTACHED_INSTANCE: &str = "driftd:attached_instance";

static RULES_INSTANCE: TypeRules = TypeRules {
    resource_type: "aws_instance",
    global: false,
    // `ephemeral_block_device` never appears in DescribeInstances (instance
    // store devices are not listed), so the provider keeps the configuration's
    // value. `get_password_data` and `user_data_replace_on_change` are
    // Terraform-only; `password_data` needs GetPasswordData and is a secret
    // (the encrypted Windows password): not read.
    ignore: &[
        "ephemeral_block_device",
        "get_password_data",
        "password_data",
        "user_data_replace_on_change",
        DEFAULT_MARKER,
    ],
    sensitive: &[],
    sets: &[
        "ebs_block_device",
        "network_interface",
        "secondary_private_ips",
        "security_groups",
        "vpc_security_group_ids",
    ],
    normalize: normalize_instance,
    is_default: marked_default,
    desired_parts: None,
    folds: &[
        // A volume attached with `aws_volume_attachment` shows up in the
        // instance's `ebs_block_device` once the provider refreshes it (and
        // not right after the apply that attached it): it is compared through
        // the attachment, not as part of the instance.
        Fold {
            child_types: &["aws_volume_attachment"],
            parent_id_attribute: "instance_id",
            children_are_parts: true,
            remove_child: remove_attached_volume,
        },
        // A live volume attached to a managed instance is part of it.
        Fold {
            child_types: &["aws_ebs_volume"],
            parent_id_attribute: ATTACHED_INSTANCE,
            children_are_parts: true,
            remove_child: remove_nothing,
        },
    ],
};

pub static INSTANCE: TypeDef = TypeDef {
    rules: &RULES_INSTANCE,
    actions: &[
        "ec2:DescribeInstances",
        "ec2:DescribeVolumes",
        "ec2:DescribeInstanceAttribute",
        "ec2:DescribeInstanceCreditSpecifications",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeSpotInstanceRequests",
    ],
    list: list_instances,
};

/// Instances launched by an Auto Scaling group (which EKS managed node groups
/// and ECS capacity providers are), an EC2 Fleet or a Spot Fleet carry these
/// AWS tags. They are real compute, but the group that launched them is what
/// a configuration manages: Terraform never holds them, they come and go with
/// scaling, and reporting each as unmanaged would turn every scale-out into an
/// alert. So they are treated like AWS's own objects: skipped unless the
/// target is `strict` (and the group itself is what coverage should count).
const LAUNCHED_BY_GROUP_TAGS: &[&str] = &[
    "aws:autoscaling:groupName",
    "aws:ec2:fleet-id",
    "aws:ec2spot:fleet-request-id",
];

fn marked_default(live: &Value) -> bool {
    live.get(DEFAULT_MARKER) == Some(&Value::Bool(true))
}

fn remove_nothing(_: &mut Value, _: &mut Value, _: &str, _: &Value) {}

fn remove_attached_volume(
    desired: &mut Value,
    live: &mut Value,
    _child_type: &str,
    attachment: &Value,
) {
    let Some(volume) = attachment.get("volume_id").and_then(Value::as_str) else {
        return;
    };
    for parent in [desired, live] {
        if let Some(Value::Array(devices)) = parent.get_mut("ebs_block_device") {
            devices.retain(|d| d.get("volume_id").and_then(Value::as_str) != Some(volume));
        }
    }
}

/// What the provider stores depends on the configuration, which the live side
/// cannot know; the state says which form was used:
/// - `network_interface`: only the device indexes the configuration declares
///   (other attachments are other resources');
/// - `user_data` (SHA-1 hex of the content) or `user_data_base64`: whichever
///   the state holds;
/// - `security_groups` (names) is only stored when the configuration used it;
/// - `volume_tags` and the block devices' `tags` exclude each other;
/// - `launch_template.version` keeps `$Latest`/`$Default` as written;
/// - block devices' `tags_all` holds the provider's `default_tags`, compared
///   like the resource's own `tags_all`.
fn normalize_instance(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    // AWS returns these blocks for every instance; a response without them
    // (an emulator) does not know them.
    drop_unreturned(
        desired,
        live,
        &[
            "capacity_reservation_specification",
            "cpu_core_count",
            "cpu_threads_per_core",
            "cpu_options",
            "enclave_options",
        ],
    );
    // Providers before 4.x wrote null for an instance outside a partition
    // placement group; 5.x writes 0.
    for side in [&mut *desired, &mut *live] {
        if side.get("placement_partition_number") == Some(&Value::Null) {
            side["placement_partition_number"] = json!(0);
        }
    }
    let configured_indexes: Vec<Value> = desired
        .get("network_interface")
        .and_then(Value::as_array)
        .map(|nis| {
            nis.iter()
                .filter_map(|n| n.get("device_index").cloned())
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Array(nis)) = live.get_mut("network_interface") {
        nis.retain(|n| {
            n.get("device_index")
                .is_some_and(|i| configured_indexes.iter().any(|c| numbers_equal(c, i)))
        });
    }
    if is_empty(desired.get("user_data_base64")) {
        remove(live, "user_data_base64");
    } else {
        remove(live, "user_data");
    }
    if is_empty(desired.get("security_groups"))
        && let Some(groups) = live.get_mut("security_groups")
    {
        *groups = json!([]);
    }
    let volume_tags_configured = !is_empty(desired.get("volume_tags"));
    if !volume_tags_configured {
        remove(live, "volume_tags");
    }
    if let Some(version) = desired
        .pointer("/launch_template/0/version")
        .and_then(Value::as_str)
        && version.starts_with('$')
        && let Some(Value::Object(template)) = live.pointer_mut("/launch_template/0")
    {
        template.insert("version".into(), version.into());
    }
    for side in [desired, live] {
        for block in ["root_block_device", "ebs_block_device"] {
            let Some(Value::Array(devices)) = side.get_mut(block) else {
                continue;
            };
            for device in devices.iter_mut().filter_map(Value::as_object_mut) {
                if volume_tags_configured {
                    device.remove("tags");
                    device.remove("tags_all");
                } else if let Some(all) = device.remove("tags_all")
                    && !is_empty(Some(&all))
                {
                    device.insert("tags".into(), all);
                }
            }
        }
    }
}

/// DescribeInstanceAttribute calls in flight at once, across instances.
const ATTRIBUTE_CONCURRENCY: usize = 8;

/// The four attributes DescribeInstances does not carry.
#[derive(Debug, Default, Clone)]
struct InstanceAttributes {
    disable_api_stop: bool,
    disable_api_termination: bool,
    shutdown_behavior: String,
    /// Base64 as the API returns it; `None` when the instance has none.
    user_data: Option<String>,
}

fn list_instances(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let instances = shared_instances(ctx).await?;
        let volumes = shared_volumes(ctx).await?;
        let templates = shared_launch_templates(ctx).await?;
        let live: Vec<&Instance> = instances.iter().filter(|i| !is_terminated(i)).collect();

        let ids: Vec<String> = live
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        let attributes = instance_attributes(ctx, &ids).await?;

        let burstable: Vec<String> = live
            .iter()
            .filter(|i| i.instance_type().is_some_and(|t| is_burstable(t.as_str())))
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        let mut credits: HashMap<String, String> = HashMap::new();
        for chunk in burstable.chunks(1000) {
            let specs = ctx
                .ec2()
                .describe_instance_credit_specifications()
                .set_instance_ids(Some(chunk.to_vec()))
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| {
                    CollectError::from_sdk("ec2:DescribeInstanceCreditSpecifications", e)
                })?;
            for spec in specs {
                if let (Some(id), Some(c)) = (spec.instance_id(), spec.cpu_credits()) {
                    credits.insert(id.to_string(), c.to_string());
                }
            }
        }

        let spot_request_ids: Vec<String> = live
            .iter()
            .filter_map(|i| i.spot_instance_request_id().map(str::to_string))
            .collect();
        let mut spot_requests = HashMap::new();
        for chunk in spot_request_ids.chunks(1000) {
            let requests = ctx
                .ec2()
                .describe_spot_instance_requests()
                .filters(
                    Filter::builder()
                        .name("spot-instance-request-id")
                        .set_values(Some(chunk.to_vec()))
                        .build(),
                )
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| CollectError::from_sdk("ec2:DescribeSpotInstanceRequests", e))?;
            for r in requests {
                if let Some(id) = r.spot_instance_request_id() {
                    spot_requests.insert(id.to_string(), r.clone());
                }
            }
        }

        let volumes_by_id: HashMap<&str, &Volume> = volumes
            .iter()
            .filter_map(|v| Some((v.volume_id()?, v)))
            .collect();
        let template_names: HashMap<&str, &str> = templates
            .iter()
            .filter_map(|t| Some((t.launch_template_id()?, t.launch_template_name()?)))
            .collect();

        let mut out = Vec::with_capacity(live.len());
        for instance in live {
            let id = instance.instance_id().unwrap_or_default().to_string();
            let Some(attrs) = attributes.get(&id) else {
                continue;
            };
            let attributes = instance_object(
                ctx,
                instance,
                attrs,
                credits.get(&id).map(String::as_str),
                instance
                    .spot_instance_request_id()
                    .and_then(|r| spot_requests.get(r)),
                &volumes_by_id,
                &template_names,
            );
            out.push(LiveObject { id, attributes });
        }
        Ok(out)
    })
}

/// A terminated instance stays visible for about an hour; it no longer exists
/// (the provider reads it as gone).
fn is_terminated(instance: &Instance) -> bool {
    instance
        .state()
        .and_then(|s| s.name())
        .is_some_and(|n| n.as_str() == "terminated")
}

/// The families with burstable performance (CPU credits). The provider asks
/// DescribeInstanceTypes for `BurstablePerformanceSupported`; the answer is
/// these families, so no call is spent on it.
fn is_burstable(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    matches!(family, "t2" | "t3" | "t3a" | "t4g")
}

async fn instance_attributes(
    ctx: &RegionContext,
    ids: &[String],
) -> Result<HashMap<String, InstanceAttributes>, CollectError> {
    let ec2 = ctx.ec2();
    let permits = Arc::new(tokio::sync::Semaphore::new(ATTRIBUTE_CONCURRENCY));
    let mut calls = tokio::task::JoinSet::new();
    for id in ids {
        for attribute in [
            InstanceAttributeName::DisableApiStop,
            InstanceAttributeName::DisableApiTermination,
            InstanceAttributeName::InstanceInitiatedShutdownBehavior,
            InstanceAttributeName::UserData,
        ] {
            let ec2 = ec2.clone();
            let id = id.clone();
            let permits = permits.clone();
            calls.spawn(async move {
                let _permit = permits
                    .acquire_owned()
                    .await
                    .expect("semaphore never closed");
                let answer = ec2
                    .describe_instance_attribute()
                    .instance_id(&id)
                    .attribute(attribute)
                    .send()
                    .await;
                (id, answer)
            });
        }
    }
    let mut out: HashMap<String, InstanceAttributes> = HashMap::with_capacity(ids.len());
    while let Some(joined) = calls.join_next().await {
        let (id, answer) = joined.expect("an instance attribute call does not panic");
        let answer =
            answer.map_err(|e| CollectError::from_sdk("ec2:DescribeInstanceAttribute", e))?;
        let entry = out.entry(id).or_default();
        if let Some(v) = answer.disable_api_stop().and_then(|v| v.value()) {
            entry.disable_api_stop = v;
        }
        if let Some(v) = answer.disable_api_termination().and_then(|v| v.value()) {
            entry.disable_api_termination = v;
        }
        if let Some(v) = answer
            .instance_initiated_shutdown_behavior()
            .and_then(|v| v.value())
        {
            entry.shutdown_behavior = v.to_string();
        }
        if let Some(v) = answer
            .user_data()
            .and_then(|v| v.value())
            .filter(|v| !v.is_empty())
        {
            entry.user_data = Some(v.to_string());
        }
    }
    Ok(out)
}

fn instance_object(
    ctx: &RegionContext,
    instance: &Instance,
    attrs: &InstanceAttributes,
    cpu_credits: Option<&str>,
    spot_request: Option<&aws_sdk_ec2::types::SpotInstanceRequest>,
    volumes: &HashMap<&str, &Volume>,
    template_names: &HashMap<&str, &str>,
) -> Value {
    let id = instance.instance_id().unwrap_or_default();
    let placement = instance.placement();
    let primary = instance.network_interfaces().iter().find(|n| {
        n.attachment()
            .and_then(|a| a.device_index())
            .is_some_and(|i| i == 0)
    });
    let root_name = instance.root_device_name();
    let mut root_block_device = Vec::new();
    let mut ebs_block_device = Vec::new();
    let mut root_volume_tags = None;
    for mapping in instance.block_device_mappings() {
        let Some(ebs) = mapping.ebs() else { continue };
        let Some(volume) = ebs.volume_id().and_then(|v| volumes.get(v)) else {
            continue;
        };
        let mut device = json!({
            "delete_on_termination": ebs.delete_on_termination().unwrap_or(false),
            "device_name": s(mapping.device_name()),
            "encrypted": volume.encrypted().unwrap_or(false),
            "iops": volume.iops().unwrap_or(0),
            "kms_key_id": s(volume.kms_key_id()),
            "tags": tags(volume.tags()),
            "tags_all": tags(volume.tags()),
            "throughput": volume.throughput().unwrap_or(0),
            "volume_id": s(volume.volume_id()),
            "volume_size": volume.size().unwrap_or(0),
            "volume_type": volume.volume_type().map(|t| t.as_str()).unwrap_or_default(),
        });
        if mapping.device_name().is_some() && mapping.device_name() == root_name {
            root_volume_tags = Some(tags(volume.tags()));
            root_block_device.push(device);
        } else {
            device["snapshot_id"] = s(volume.snapshot_id());
            ebs_block_device.push(device);
        }
    }
    let network_interface: Vec<Value> = instance
        .network_interfaces()
        .iter()
        .filter_map(|n| {
            let a = n.attachment()?;
            Some(json!({
                "delete_on_termination": a.delete_on_termination().unwrap_or(false),
                "device_index": a.device_index().unwrap_or(0),
                "network_card_index": a.network_card_index().unwrap_or(0),
                "network_interface_id": s(n.network_interface_id()),
            }))
        })
        .collect();
    let ipv6: Vec<&str> = primary
        .map(|p| {
            p.ipv6_addresses()
                .iter()
                .filter_map(|a| a.ipv6_address())
                .collect()
        })
        .unwrap_or_default();
    let enable_primary_ipv6 = primary
        .filter(|p| !p.ipv6_addresses().is_empty())
        .map(|p| {
            Value::Bool(
                p.ipv6_addresses()
                    .iter()
                    .any(|a| a.is_primary_ipv6() == Some(true)),
            )
        })
        .unwrap_or(Value::Null);
    let secondary_private_ips: Vec<&str> = primary
        .map(|p| {
            p.private_ip_addresses()
                .iter()
                .filter(|a| a.primary() != Some(true))
                .filter_map(|a| a.private_ip_address())
                .collect()
        })
        .unwrap_or_default();
    let cpu = instance.cpu_options();
    let template_id = tag_value(instance.tags(), "aws:ec2launchtemplate:id");
    let launch_template = match template_id {
        Some(template) => json!([{
            "id": template,
            "name": template_names.get(template).copied().unwrap_or_default(),
            "version": tag_value(instance.tags(), "aws:ec2launchtemplate:version").unwrap_or_default(),
        }]),
        None => json!([]),
    };
    let user_data = attrs.user_data.as_deref();
    let lifecycle = instance
        .instance_lifecycle()
        .map(|l| l.as_str())
        .unwrap_or_default();
    let instance_market_options = if lifecycle == "spot" {
        let spot_options = match spot_request {
            Some(r) => json!([{
                "instance_interruption_behavior": r.instance_interruption_behavior().map(|b| b.as_str()).unwrap_or_default(),
                "max_price": s(r.spot_price()),
                "spot_instance_type": r.r#type().map(|t| t.as_str()).unwrap_or_default(),
                "valid_until": r.valid_until().map(rfc3339).unwrap_or_default(),
            }]),
            None => json!([]),
        };
        json!([{"market_type": "spot", "spot_options": spot_options}])
    } else {
        json!([])
    };
    let launched_by_group = instance
        .tags()
        .iter()
        .any(|t| t.key().is_some_and(|k| LAUNCHED_BY_GROUP_TAGS.contains(&k)));
    let subnet = primary.and_then(|p| p.subnet_id()).or(instance.subnet_id());
    let mut attributes = json!({
        "ami": s(instance.image_id()),
        "arn": arn(ctx, "instance", id),
        "associate_public_ip_address": match primary {
            Some(p) => p.association().is_some(),
            None => instance.public_ip_address().is_some(),
        },
        "availability_zone": s(placement.and_then(|p| p.availability_zone())),
        "capacity_reservation_specification": match instance.capacity_reservation_specification() {
            Some(c) => json!([{
                "capacity_reservation_preference": c.capacity_reservation_preference().map(|p| p.as_str()).unwrap_or_default(),
                "capacity_reservation_target": match c.capacity_reservation_target() {
                    Some(t) => json!([{
                        "capacity_reservation_id": s(t.capacity_reservation_id()),
                        "capacity_reservation_resource_group_arn": s(t.capacity_reservation_resource_group_arn()),
                    }]),
                    None => json!([]),
                },
            }]),
            None => json!([]),
        },
        "cpu_core_count": cpu.and_then(|c| c.core_count()),
        "cpu_options": match cpu {
            Some(c) => json!([{
                "amd_sev_snp": c.amd_sev_snp().map(|a| a.as_str()).unwrap_or_default(),
                "core_count": c.core_count().unwrap_or(0),
                "threads_per_core": c.threads_per_core().unwrap_or(0),
            }]),
            None => json!([]),
        },
        "cpu_threads_per_core": cpu.and_then(|c| c.threads_per_core()),
        "credit_specification": match cpu_credits {
            Some(c) => json!([{"cpu_credits": c}]),
            None => json!([]),
        },
        "disable_api_stop": attrs.disable_api_stop,
        "disable_api_termination": attrs.disable_api_termination,
        "ebs_block_device": ebs_block_device,
        "ebs_optimized": instance.ebs_optimized().unwrap_or(false),
        "enable_primary_ipv6": enable_primary_ipv6,
        "enclave_options": match instance.enclave_options() {
            Some(e) => json!([{"enabled": e.enabled().unwrap_or(false)}]),
            None => json!([]),
        },
        "hibernation": instance.hibernation_options().and_then(|h| h.configured()).unwrap_or(false),
        "host_id": s(placement.and_then(|p| p.host_id())),
        "host_resource_group_arn": placement.and_then(|p| p.host_resource_group_arn()),
        "iam_instance_profile": instance
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .map(instance_profile_name)
            .unwrap_or_default(),
        "id": id,
        "instance_initiated_shutdown_behavior": attrs.shutdown_behavior,
        "instance_lifecycle": lifecycle,
        "instance_market_options": instance_market_options,
        "instance_state": instance.state().and_then(|s| s.name()).map(|n| n.as_str()).unwrap_or_default(),
        "instance_type": instance.instance_type().map(|t| t.as_str()).unwrap_or_default(),
        "ipv6_address_count": ipv6.len(),
        "ipv6_addresses": ipv6,
        "key_name": s(instance.key_name()),
        "launch_template": launch_template,
        "maintenance_options": match instance.maintenance_options() {
            Some(m) => json!([{"auto_recovery": m.auto_recovery().map(|a| a.as_str()).unwrap_or_default()}]),
            None => json!([]),
        },
        "metadata_options": match instance.metadata_options() {
            Some(m) => json!([{
                "http_endpoint": m.http_endpoint().map(|v| v.as_str()).unwrap_or_default(),
                "http_protocol_ipv6": m.http_protocol_ipv6().map(|v| v.as_str()).unwrap_or_default(),
                "http_put_response_hop_limit": m.http_put_response_hop_limit().unwrap_or(0),
                "http_tokens": m.http_tokens().map(|v| v.as_str()).unwrap_or_default(),
                "instance_metadata_tags": m.instance_metadata_tags().map(|v| v.as_str()).unwrap_or_default(),
            }]),
            None => json!([]),
        },
        "monitoring": instance
            .monitoring()
            .and_then(|m| m.state())
            .is_some_and(|s| matches!(s.as_str(), "enabled" | "pending")),
        "network_interface": network_interface,
        "outpost_arn": s(instance.outpost_arn()),
        "placement_group": s(placement.and_then(|p| p.group_name())),
        "placement_partition_number": placement.and_then(|p| p.partition_number()).unwrap_or(0),
        "primary_network_interface_id": s(primary.and_then(|p| p.network_interface_id())),
        "private_dns": s(instance.private_dns_name()),
    });
    let rest = json!({
        "private_dns_name_options": match instance.private_dns_name_options() {
            Some(o) => json!([{
                "enable_resource_name_dns_a_record": o.enable_resource_name_dns_a_record().unwrap_or(false),
                "enable_resource_name_dns_aaaa_record": o.enable_resource_name_dns_aaaa_record().unwrap_or(false),
                "hostname_type": o.hostname_type().map(|h| h.as_str()).unwrap_or_default(),
            }]),
            None => json!([]),
        },
        "private_ip": s(instance.private_ip_address()),
        "public_dns": s(instance.public_dns_name()),
        "public_ip": s(instance.public_ip_address()),
        "root_block_device": root_block_device,
        "secondary_private_ips": secondary_private_ips,
        "security_groups": instance.security_groups().iter().filter_map(|g| g.group_name()).collect::<Vec<_>>(),
        "source_dest_check": primary
            .and_then(|p| p.source_dest_check())
            .or(instance.source_dest_check())
            .unwrap_or(true),
        "spot_instance_request_id": s(instance.spot_instance_request_id()),
        "subnet_id": s(subnet),
        "tags": tags(instance.tags()),
        "tags_all": tags(instance.tags()),
        "tenancy": placement.and_then(|p| p.tenancy()).map(|t| t.as_str()).unwrap_or_default(),
        "user_data": user_data.map(user_data_hash),
        "user_data_base64": user_data,
        "volume_tags": root_volume_tags.unwrap_or_else(|| json!({})),
        "vpc_security_group_ids": if subnet.is_some() {
            instance.security_groups().iter().filter_map(|g| g.group_id()).collect::<Vec<_>>()
        } else {
            Vec::new()
        },
    });
    if let (Value::Object(a), Value::Object(r)) = (&mut attributes, rest) {
        a.extend(r);
    }
    if launched_by_group {
        attributes[DEFAULT_MARKER] = Value::Bool(true);
    }
    attributes
}

/// The name in an instance profile ARN (`arn:aws:iam::1:instance-profile/path/name`).
fn instance_profile_name(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or_default().to_string()
}

/// What the provider stores as `user_data`: the SHA-1 hex digest of the
/// content (the API's base64 decoded; used as is when it does not decode).
pub fn user_data_hash(base64: &str) -> String {
    let content =
        aws_smithy_types::base64::decode(base64).unwrap_or_else(|_| base64.as_bytes().to_vec());
    hex::encode(sha1(&content))
}

// ---------------------------------------------------------------------------
// aws_ebs_volume

/// A live-only attribute: the volume was created with an instance (its root
/// device, or a device of its launch mapping that is deleted with it).
const LAUNCHED_WITH_INSTANCE: &str = "driftd:launched_with_instance";

static RULES_EBS_VOLUME: TypeRules = TypeRules {
    resource_type: "aws_ebs_volume",
    global: false,
    // `final_snapshot` is Terraform-only (a snapshot on destroy).
    ignore: &["final_snapshot", ATTACHED_INSTANCE, LAUNCHED_WITH_INSTANCE],
    sensitive: &[],
    sets: &[],
    normalize: normalize_tags,
    is_default: launched_with_instance,
    desired_parts: None,
    folds: &[],
};

pub static EBS_VOLUME: TypeDef = TypeDef {
    rules: &RULES_EBS_VOLUME,
    actions: &["ec2:DescribeVolumes", "ec2:DescribeInstances"],
    list: list_volumes,
};

/// A root volume, or one RunInstances created from a block device mapping
/// (`DeleteOnTermination`, which AttachVolume never sets), belongs to its
/// instance (`root_block_device` / `ebs_block_device`), never to an
/// `aws_ebs_volume`: it is not reported as an unmanaged volume, managed
/// instance or not (an unmanaged instance is reported itself). A volume
/// attached to a managed instance any other way is folded into that instance.
fn launched_with_instance(live: &Value) -> bool {
    live.get(LAUNCHED_WITH_INSTANCE) == Some(&Value::Bool(true))
}

fn list_volumes(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let volumes = shared_volumes(ctx).await?;
        let instances = shared_instances(ctx).await?;
        let mut launched: HashSet<&str> = HashSet::new();
        for instance in instances.iter() {
            for mapping in instance.block_device_mappings() {
                let Some(ebs) = mapping.ebs() else { continue };
                let is_root = mapping.device_name().is_some()
                    && mapping.device_name() == instance.root_device_name();
                if is_root || ebs.delete_on_termination() == Some(true) {
                    launched.extend(ebs.volume_id());
                }
            }
        }
        Ok(volumes
            .iter()
            .filter(|v| v.state().is_none_or(|s| s.as_str() != "deleted"))
            .map(|v| {
                let id = v.volume_id().unwrap_or_default().to_string();
                let mut attributes = json!({
                    "arn": v.volume_arn().map(str::to_string).unwrap_or_else(|| arn(ctx, "volume", &id)),
                    "availability_zone": s(v.availability_zone()),
                    "create_time": v.create_time().map(rfc3339).unwrap_or_default(),
                    "encrypted": v.encrypted().unwrap_or(false),
                    "id": id,
                    "iops": v.iops().unwrap_or(0),
                    "kms_key_id": s(v.kms_key_id()),
                    "multi_attach_enabled": v.multi_attach_enabled().unwrap_or(false),
                    "outpost_arn": s(v.outpost_arn()),
                    "size": v.size().unwrap_or(0),
                    "snapshot_id": s(v.snapshot_id()),
                    "tags": tags(v.tags()),
                    "tags_all": tags(v.tags()),
                    "throughput": v.throughput().unwrap_or(0),
                    "type": v.volume_type().map(|t| t.as_str()).unwrap_or_default(),
                });
                if let Some(instance) = v.attachments().iter().find_map(|a| a.instance_id()) {
                    attributes[ATTACHED_INSTANCE] = instance.into();
                }
                if launched.contains(id.as_str()) {
                    attributes[LAUNCHED_WITH_INSTANCE] = Value::Bool(true);
                }
                LiveObject { id, attributes }
            })
            .collect())
    })
}

// ---------------------------------------------------------------------------
// aws_launch_template

static RULES_LAUNCH_TEMPLATE: TypeRules = TypeRules {
    resource_type: "aws_launch_template",
    global: false,
    // `name_prefix` and `update_default_version` are Terraform-only.
    ignore: &["name_prefix", "update_default_version"],
    sensitive: &[],
    sets: &[
        "instance_requirements.accelerator_manufacturers",
        "instance_requirements.accelerator_names",
        "instance_requirements.accelerator_types",
        "instance_requirements.allowed_instance_types",
        "instance_requirements.cpu_manufacturers",
        "instance_requirements.excluded_instance_types",
        "instance_requirements.instance_generations",
        "instance_requirements.local_storage_types",
        "license_specification",
        "network_interfaces.ipv4_addresses",
        "network_interfaces.ipv4_prefixes",
        "network_interfaces.ipv6_addresses",
        "network_interfaces.ipv6_prefixes",
        "network_interfaces.security_groups",
        "security_group_names",
        "vpc_security_group_ids",
    ],
    normalize: normalize_tags,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static LAUNCH_TEMPLATE: TypeDef = TypeDef {
    rules: &RULES_LAUNCH_TEMPLATE,
    actions: &[
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeLaunchTemplateVersions",
    ],
    list: list_launch_templates,
};

fn list_launch_templates(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let templates = shared_launch_templates(ctx).await?;
        if templates.is_empty() {
            return Ok(Vec::new());
        }
        // Without a template id, `$Latest` answers the latest version of
        // every template: one listing instead of one call per template.
        let versions = ctx
            .ec2()
            .describe_launch_template_versions()
            .versions("$Latest")
            .max_results(200)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeLaunchTemplateVersions", e))?;
        let latest: HashMap<&str, &LaunchTemplateVersion> = versions
            .iter()
            .filter_map(|v| Some((v.launch_template_id()?, v)))
            .collect();
        let mut out = Vec::with_capacity(templates.len());
        for template in templates.iter() {
            let id = template.launch_template_id().unwrap_or_default();
            // A template created after the versions were listed: it appears
            // in the next scan rather than with made-up data.
            let Some(version) = latest.get(id) else {
                continue;
            };
            out.push(LiveObject {
                id: id.to_string(),
                attributes: launch_template_object(ctx, template, version),
            });
        }
        Ok(out)
    })
}

/// `true`/`false` as the provider writes an optional boolean of a launch
/// template's data (a string, `""` when unset).
fn bool_string(v: Option<bool>) -> Value {
    Value::String(v.map(|b| b.to_string()).unwrap_or_default())
}

fn one_or_none(v: Option<Value>) -> Value {
    match v {
        Some(v) => json!([v]),
        None => json!([]),
    }
}

fn launch_template_object(
    ctx: &RegionContext,
    template: &LaunchTemplate,
    version: &LaunchTemplateVersion,
) -> Value {
    let id = template.launch_template_id().unwrap_or_default();
    let empty = ResponseLaunchTemplateData::builder().build();
    let data = version.launch_template_data().unwrap_or(&empty);
    let mut attributes = launch_template_data(data);
    let extra = json!({
        "arn": arn(ctx, "launch-template", id),
        "default_version": template.default_version_number().unwrap_or(0),
        "description": s(version.version_description()),
        "id": id,
        "latest_version": template.latest_version_number().unwrap_or(0),
        "name": s(template.launch_template_name()),
        "tags": tags(template.tags()),
        "tags_all": tags(template.tags()),
    });
    if let (Value::Object(a), Value::Object(e)) = (&mut attributes, extra) {
        a.extend(e);
    }
    attributes
}

/// The version data, as the provider flattens it.
fn launch_template_data(d: &ResponseLaunchTemplateData) -> Value {
    let mut attributes = json!({
        "block_device_mappings": d.block_device_mappings().iter().map(|m| json!({
            "device_name": s(m.device_name()),
            "no_device": s(m.no_device()),
            "virtual_name": s(m.virtual_name()),
            "ebs": one_or_none(m.ebs().map(|e| json!({
                "delete_on_termination": bool_string(e.delete_on_termination()),
                "encrypted": bool_string(e.encrypted()),
                "iops": e.iops().unwrap_or(0),
                "kms_key_id": s(e.kms_key_id()),
                "snapshot_id": s(e.snapshot_id()),
                "throughput": e.throughput().unwrap_or(0),
                "volume_initialization_rate": e.volume_initialization_rate().unwrap_or(0),
                "volume_size": e.volume_size().unwrap_or(0),
                "volume_type": e.volume_type().map(|t| t.as_str()).unwrap_or_default(),
            }))),
        })).collect::<Vec<_>>(),
        "capacity_reservation_specification": one_or_none(d.capacity_reservation_specification().map(|c| json!({
            "capacity_reservation_preference": c.capacity_reservation_preference().map(|p| p.as_str()).unwrap_or_default(),
            "capacity_reservation_target": one_or_none(c.capacity_reservation_target().map(|t| json!({
                "capacity_reservation_id": s(t.capacity_reservation_id()),
                "capacity_reservation_resource_group_arn": s(t.capacity_reservation_resource_group_arn()),
            }))),
        }))),
        "cpu_options": one_or_none(d.cpu_options().map(|c| json!({
            "amd_sev_snp": c.amd_sev_snp().map(|a| a.as_str()).unwrap_or_default(),
            "core_count": c.core_count().unwrap_or(0),
            "threads_per_core": c.threads_per_core().unwrap_or(0),
        }))),
        "credit_specification": one_or_none(d.credit_specification().map(|c| json!({
            "cpu_credits": s(c.cpu_credits()),
        }))),
        "disable_api_stop": d.disable_api_stop().unwrap_or(false),
        "disable_api_termination": d.disable_api_termination().unwrap_or(false),
        "ebs_optimized": bool_string(d.ebs_optimized()),
        "elastic_gpu_specifications": d.elastic_gpu_specifications().iter().map(|g| json!({
            "type": s(g.r#type()),
        })).collect::<Vec<_>>(),
        "elastic_inference_accelerator": d.elastic_inference_accelerators().iter().take(1).map(|a| json!({
            "type": s(a.r#type()),
        })).collect::<Vec<_>>(),
        "enclave_options": one_or_none(d.enclave_options().map(|e| json!({
            "enabled": e.enabled().unwrap_or(false),
        }))),
        "hibernation_options": one_or_none(d.hibernation_options().map(|h| json!({
            "configured": h.configured().unwrap_or(false),
        }))),
        "iam_instance_profile": one_or_none(d.iam_instance_profile().map(|p| json!({
            "arn": s(p.arn()),
            "name": s(p.name()),
        }))),
        "image_id": s(d.image_id()),
        "instance_initiated_shutdown_behavior": d.instance_initiated_shutdown_behavior().map(|b| b.as_str()).unwrap_or_default(),
        "instance_market_options": one_or_none(d.instance_market_options().map(|m| json!({
            "market_type": m.market_type().map(|t| t.as_str()).unwrap_or_default(),
            "spot_options": one_or_none(m.spot_options().map(|o| json!({
                "block_duration_minutes": o.block_duration_minutes().unwrap_or(0),
                "instance_interruption_behavior": o.instance_interruption_behavior().map(|b| b.as_str()).unwrap_or_default(),
                "max_price": s(o.max_price()),
                "spot_instance_type": o.spot_instance_type().map(|t| t.as_str()).unwrap_or_default(),
                "valid_until": o.valid_until().map(rfc3339).unwrap_or_default(),
            }))),
        }))),
        "instance_requirements": one_or_none(d.instance_requirements().map(instance_requirements)),
        "instance_type": d.instance_type().map(|t| t.as_str()).unwrap_or_default(),
        "kernel_id": s(d.kernel_id()),
        "key_name": s(d.key_name()),
        "license_specification": d.license_specifications().iter().map(|l| json!({
            "license_configuration_arn": s(l.license_configuration_arn()),
        })).collect::<Vec<_>>(),
        "maintenance_options": one_or_none(d.maintenance_options().map(|m| json!({
            "auto_recovery": m.auto_recovery().map(|a| a.as_str()).unwrap_or_default(),
        }))),
        "metadata_options": one_or_none(d.metadata_options().map(|m| json!({
            "http_endpoint": m.http_endpoint().map(|v| v.as_str()).unwrap_or_default(),
            "http_protocol_ipv6": m.http_protocol_ipv6().map(|v| v.as_str()).unwrap_or_default(),
            "http_put_response_hop_limit": m.http_put_response_hop_limit().unwrap_or(0),
            "http_tokens": m.http_tokens().map(|v| v.as_str()).unwrap_or_default(),
            "instance_metadata_tags": m.instance_metadata_tags().map(|v| v.as_str()).unwrap_or_default(),
        }))),
        "monitoring": one_or_none(d.monitoring().map(|m| json!({
            "enabled": m.enabled().unwrap_or(false),
        }))),
        "network_interfaces": d.network_interfaces().iter().map(launch_template_network_interface).collect::<Vec<_>>(),
    });
    let rest = json!({
        "placement": one_or_none(d.placement().map(|p| json!({
            "affinity": s(p.affinity()),
            "availability_zone": s(p.availability_zone()),
            "group_name": s(p.group_name()),
            "host_id": s(p.host_id()),
            "host_resource_group_arn": s(p.host_resource_group_arn()),
            "partition_number": p.partition_number().unwrap_or(0),
            "spread_domain": s(p.spread_domain()),
            "tenancy": p.tenancy().map(|t| t.as_str()).unwrap_or_default(),
        }))),
        "private_dns_name_options": one_or_none(d.private_dns_name_options().map(|o| json!({
            "enable_resource_name_dns_a_record": o.enable_resource_name_dns_a_record().unwrap_or(false),
            "enable_resource_name_dns_aaaa_record": o.enable_resource_name_dns_aaaa_record().unwrap_or(false),
            "hostname_type": o.hostname_type().map(|h| h.as_str()).unwrap_or_default(),
        }))),
        "ram_disk_id": s(d.ram_disk_id()),
        "security_group_names": d.security_groups(),
        "tag_specifications": d.tag_specifications().iter().map(|t| json!({
            "resource_type": t.resource_type().map(|r| r.as_str()).unwrap_or_default(),
            "tags": tags(t.tags()),
        })).collect::<Vec<_>>(),
        "user_data": s(d.user_data()),
        "vpc_security_group_ids": d.security_group_ids(),
    });
    if let (Value::Object(a), Value::Object(r)) = (&mut attributes, rest) {
        a.extend(r);
    }
    attributes
}

fn launch_template_network_interface(
    n: &aws_sdk_ec2::types::LaunchTemplateInstanceNetworkInterfaceSpecification,
) -> Value {
    json!({
        "associate_carrier_ip_address": bool_string(n.associate_carrier_ip_address()),
        "associate_public_ip_address": bool_string(n.associate_public_ip_address()),
        "connection_tracking_specification": one_or_none(n.connection_tracking_specification().map(|c| json!({
            "tcp_established_timeout": c.tcp_established_timeout().unwrap_or(0),
            "udp_stream_timeout": c.udp_stream_timeout().unwrap_or(0),
            "udp_timeout": c.udp_timeout().unwrap_or(0),
        }))),
        "delete_on_termination": bool_string(n.delete_on_termination()),
        "description": s(n.description()),
        "device_index": n.device_index().unwrap_or(0),
        "ena_srd_specification": one_or_none(n.ena_srd_specification().map(|e| json!({
            "ena_srd_enabled": e.ena_srd_enabled().unwrap_or(false),
            "ena_srd_udp_specification": one_or_none(e.ena_srd_udp_specification().map(|u| json!({
                "ena_srd_udp_enabled": u.ena_srd_udp_enabled().unwrap_or(false),
            }))),
        }))),
        "interface_type": s(n.interface_type()),
        "ipv4_address_count": n.secondary_private_ip_address_count().unwrap_or(0),
        "ipv4_addresses": n.private_ip_addresses().iter().filter_map(|a| a.private_ip_address()).collect::<Vec<_>>(),
        "ipv4_prefix_count": n.ipv4_prefix_count().unwrap_or(0),
        "ipv4_prefixes": n.ipv4_prefixes().iter().filter_map(|p| p.ipv4_prefix()).collect::<Vec<_>>(),
        "ipv6_address_count": n.ipv6_address_count().unwrap_or(0),
        "ipv6_addresses": n.ipv6_addresses().iter().filter_map(|a| a.ipv6_address()).collect::<Vec<_>>(),
        "ipv6_prefix_count": n.ipv6_prefix_count().unwrap_or(0),
        "ipv6_prefixes": n.ipv6_prefixes().iter().filter_map(|p| p.ipv6_prefix()).collect::<Vec<_>>(),
        "network_card_index": n.network_card_index().unwrap_or(0),
        "network_interface_id": s(n.network_interface_id()),
        "primary_ipv6": bool_string(n.primary_ipv6()),
        "private_ip_address": s(n.private_ip_address()),
        "security_groups": n.groups(),
        "subnet_id": s(n.subnet_id()),
    })
}

/// A `{min, max}` range block; an unset bound is 0, as the provider leaves it.
fn range<T: Into<Value> + Default>(min: Option<T>, max: Option<T>) -> Value {
    json!({
        "max": max.unwrap_or_default().into(),
        "min": min.unwrap_or_default().into(),
    })
}

fn instance_requirements(r: &aws_sdk_ec2::types::InstanceRequirements) -> Value {
    fn names<T: AsRef<str>>(v: &[T]) -> Vec<&str> {
        v.iter().map(AsRef::as_ref).collect()
    }
    json!({
        "accelerator_count": one_or_none(r.accelerator_count().map(|v| range(v.min(), v.max()))),
        "accelerator_manufacturers": r.accelerator_manufacturers().iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "accelerator_names": r.accelerator_names().iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "accelerator_total_memory_mib": one_or_none(r.accelerator_total_memory_mib().map(|v| range(v.min(), v.max()))),
        "accelerator_types": r.accelerator_types().iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "allowed_instance_types": names(r.allowed_instance_types()),
        "bare_metal": r.bare_metal().map(|v| v.as_str()).unwrap_or_default(),
        "baseline_ebs_bandwidth_mbps": one_or_none(r.baseline_ebs_bandwidth_mbps().map(|v| range(v.min(), v.max()))),
        "burstable_performance": r.burstable_performance().map(|v| v.as_str()).unwrap_or_default(),
        "cpu_manufacturers": r.cpu_manufacturers().iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "excluded_instance_types": names(r.excluded_instance_types()),
        "instance_generations": r.instance_generations().iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "local_storage": r.local_storage().map(|v| v.as_str()).unwrap_or_default(),
        "local_storage_types": r.local_storage_types().iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "max_spot_price_as_percentage_of_optimal_on_demand_price": r.max_spot_price_as_percentage_of_optimal_on_demand_price().unwrap_or(0),
        "memory_gib_per_vcpu": one_or_none(r.memory_gib_per_v_cpu().map(|v| range(v.min(), v.max()))),
        "memory_mib": one_or_none(r.memory_mib().map(|v| range(v.min(), v.max()))),
        "network_bandwidth_gbps": one_or_none(r.network_bandwidth_gbps().map(|v| range(v.min(), v.max()))),
        "network_interface_count": one_or_none(r.network_interface_count().map(|v| range(v.min(), v.max()))),
        "on_demand_max_price_percentage_over_lowest_price": r.on_demand_max_price_percentage_over_lowest_price().unwrap_or(0),
        "require_hibernate_support": r.require_hibernate_support().unwrap_or(false),
        "spot_max_price_percentage_over_lowest_price": r.spot_max_price_percentage_over_lowest_price().unwrap_or(0),
        "total_local_storage_gb": one_or_none(r.total_local_storage_gb().map(|v| range(v.min(), v.max()))),
        "vcpu_count": one_or_none(r.v_cpu_count().map(|v| range(v.min(), v.max()))),
    })
}

// ---------------------------------------------------------------------------
// aws_key_pair

static RULES_KEY_PAIR: TypeRules = TypeRules {
    resource_type: "aws_key_pair",
    global: false,
    // `key_name_prefix` is Terraform-only.
    ignore: &["key_name_prefix"],
    sensitive: &[],
    sets: &[],
    normalize: normalize_key_pair,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static KEY_PAIR: TypeDef = TypeDef {
    rules: &RULES_KEY_PAIR,
    actions: &["ec2:DescribeKeyPairs"],
    list: list_key_pairs,
};

/// The provider stores the public key it was given (trimmed); EC2 answers it
/// in OpenSSH form, possibly with another comment or a trailing newline. The
/// key is its type and base64 body: the comment is not compared.
fn normalize_key_pair(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    for side in [desired, live] {
        if let Some(key) = side.get("public_key").and_then(Value::as_str) {
            let key: Vec<&str> = key.split_whitespace().take(2).collect();
            side["public_key"] = key.join(" ").into();
        }
    }
}

fn list_key_pairs(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        // DescribeKeyPairs has no paging: one answer holds every key pair.
        let output = ctx
            .ec2()
            .describe_key_pairs()
            .include_public_key(true)
            .send()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeKeyPairs", e))?;
        Ok(output
            .key_pairs()
            .iter()
            .map(|k| {
                let name = k.key_name().unwrap_or_default().to_string();
                let attributes = json!({
                    "arn": arn(ctx, "key-pair", &name),
                    "fingerprint": s(k.key_fingerprint()),
                    "id": name,
                    "key_name": name,
                    "key_pair_id": s(k.key_pair_id()),
                    "key_type": k.key_type().map(|t| t.as_str()).unwrap_or_default(),
                    "public_key": k.public_key().map(str::trim).unwrap_or_default(),
                    "tags": tags(k.tags()),
                    "tags_all": tags(k.tags()),
                });
                LiveObject {
                    id: name,
                    attributes,
                }
            })
            .collect())
    })
}

// ---------------------------------------------------------------------------
// Shared calls

/// Every instance of the region, read once per scan.
async fn shared_instances(ctx: &RegionContext) -> Result<Arc<Vec<Instance>>, CollectError> {
    ctx.shared("ec2:DescribeInstances", || async {
        let reservations = ctx
            .ec2()
            .describe_instances()
            .max_results(1000)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeInstances", e))?;
        Ok(reservations
            .into_iter()
            .flat_map(|r| r.instances.unwrap_or_default())
            .collect())
    })
    .await
}

/// Every EBS volume of the region, read once per scan.
async fn shared_volumes(ctx: &RegionContext) -> Result<Arc<Vec<Volume>>, CollectError> {
    ctx.shared("ec2:DescribeVolumes", || async {
        ctx.ec2()
            .describe_volumes()
            .max_results(500)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeVolumes", e))
    })
    .await
}

/// Every launch template of the region, read once per scan.
async fn shared_launch_templates(
    ctx: &RegionContext,
) -> Result<Arc<Vec<LaunchTemplate>>, CollectError> {
    ctx.shared("ec2:DescribeLaunchTemplates", || async {
        ctx.ec2()
            .describe_launch_templates()
            .max_results(200)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("ec2:DescribeLaunchTemplates", e))
    })
    .await
}

// ---------------------------------------------------------------------------
// Helpers

fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// An EC2 ARN as the provider builds it (the scanned account, not the owner).
fn arn(ctx: &RegionContext, kind: &str, id: &str) -> String {
    format!(
        "arn:{}:ec2:{}:{}:{kind}/{id}",
        partition(&ctx.region),
        ctx.region,
        ctx.account
    )
}

fn rfc3339(t: &aws_smithy_types::DateTime) -> String {
    chrono::DateTime::from_timestamp(t.secs(), 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

fn remove(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// SHA-1, only to reproduce the provider's `user_data` digest: a fingerprint
/// of content driftd never stores, not a security measure.
fn sha1(data: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_known_digests() {
        assert_eq!(
            hex::encode(sha1(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex::encode(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let long = vec![b'a'; 1000];
        assert_eq!(
            hex::encode(sha1(&long)),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }

    #[test]
    fn older_instance_shapes_are_not_drift() {
        // aws-ec2-sg-vpc-module.tfstate (provider 3.x): a null partition
        // number; blocks a response (moto) left out are not known live.
        let mut desired = json!({"placement_partition_number": null, "cpu_core_count": 1, "cpu_threads_per_core": 1, "enclave_options": [{"enabled": false}], "capacity_reservation_specification": [{"capacity_reservation_preference": "open", "capacity_reservation_target": []}], "tags": {}});
        let mut live = json!({"placement_partition_number": 0, "cpu_core_count": null, "cpu_threads_per_core": null, "enclave_options": [], "capacity_reservation_specification": [], "tags": {}});
        normalize_instance(&mut desired, &mut live);
        assert_eq!(desired, live);
        // Returned, they are compared.
        let mut desired = json!({"cpu_core_count": 1, "tags": {}});
        let mut live = json!({"cpu_core_count": 2, "tags": {}});
        normalize_instance(&mut desired, &mut live);
        assert_ne!(desired, live);
    }

    #[test]
    fn user_data_is_stored_as_the_digest_of_its_content() {
        // "#!/bin/bash\necho hi\n" in base64, as DescribeInstanceAttribute answers.
        let b64 = aws_smithy_types::base64::encode("#!/bin/bash\necho hi\n");
        assert_eq!(
            user_data_hash(&b64),
            hex::encode(sha1(b"#!/bin/bash\necho hi\n"))
        );
    }

    #[test]
    fn the_configuration_form_decides_what_is_compared() {
        let mut desired = json!({
            "user_data": "abc", "user_data_base64": null, "security_groups": [],
            "volume_tags": null, "network_interface": [],
            "root_block_device": [{"tags": null, "tags_all": {"env": "x"}}],
            "launch_template": [{"id": "lt-1", "name": "a", "version": "$Latest"}],
            "tags": {}, "tags_all": {},
        });
        let mut live = json!({
            "user_data": "abc", "user_data_base64": "ZGF0YQ==", "security_groups": ["web"],
            "volume_tags": {"env": "x"},
            "network_interface": [{"device_index": 0, "network_interface_id": "eni-1"}],
            "root_block_device": [{"tags": {"env": "x"}, "tags_all": {"env": "x"}}],
            "launch_template": [{"id": "lt-1", "name": "a", "version": "3"}],
            "tags": {}, "tags_all": {},
        });
        normalize_instance(&mut desired, &mut live);
        assert_eq!(live.get("user_data_base64"), None);
        assert_eq!(live.get("volume_tags"), None);
        assert_eq!(live["security_groups"], json!([]));
        assert_eq!(live["network_interface"], json!([]));
        assert_eq!(live["launch_template"][0]["version"], "$Latest");
        assert_eq!(desired["root_block_device"], live["root_block_device"]);
    }

    #[test]
    fn only_burstable_families_have_cpu_credits() {
        assert!(is_burstable("t3.micro"));
        assert!(is_burstable("t4g.nano"));
        assert!(!is_burstable("m5.large"));
        assert!(!is_burstable("t1.micro"));
    }

    #[test]
    fn key_pair_comments_are_not_compared() {
        let mut desired = json!({"public_key": "ssh-ed25519 AAAA driftd-fixture", "tags": {}});
        let mut live = json!({"public_key": "ssh-ed25519 AAAA deployer\n", "tags": {}});
        normalize_key_pair(&mut desired, &mut live);
        assert_eq!(desired, live);
    }
}
