//! RDS: DB instances, DB subnet groups, DB parameter groups and Aurora clusters.
//!
//! Instances and clusters come with their tags (`TagList`) from
//! `DescribeDBInstances` / `DescribeDBClusters`, so a region of any size is a
//! few paged calls. Subnet groups and parameter groups carry no tags in their
//! describe calls: `ListTagsForResource` is the only way, one call per group
//! (a few groups at a time), and a parameter group's user-set parameters need
//! `DescribeDBParameters` (paged, `Source=user`, what the provider reads too).
//!
//! The same API also serves other engines and other Terraform types, which are
//! not listed here (they would be reported as unmanaged `aws_db_instance`s):
//! - instances that are members of a cluster (`DBClusterIdentifier` set) are
//!   `aws_rds_cluster_instance`s (Neptune and DocumentDB instances too);
//! - clusters whose engine is `neptune` or `docdb` are `aws_neptune_cluster` /
//!   `aws_docdb_cluster`.
//!
//! Write-only and Terraform-only arguments are ignored: passwords,
//! `apply_immediately`, `skip_final_snapshot`, `final_snapshot_identifier`,
//! `delete_automated_backups`, `allow_major_version_upgrade`, the create-time
//! sources (`snapshot_identifier`, `restore_to_point_in_time`, `s3_import`,
//! `source_region`), and `manage_master_user_password` /
//! `master_user_secret_kms_key_id`, which the provider passes through from
//! the configuration: whether AWS manages the master password shows in
//! `master_user_secret`, which is compared (hashed, as its name is secret-like).
//! A cluster's `db_instance_parameter_group_name` and write-forwarding flags
//! are not returned by `DescribeDBClusters` at all.
//!
//! The `*_prefix` attributes are mapped as the provider derives them from a
//! generated name, but not compared: the name itself is.
//!
//! `latest_restorable_time` moves every few minutes and `status` with every
//! backup or maintenance: they say what the database is doing, not how it is
//! configured, and are mapped but never compared.
//!
//! Calls per region: `DescribeDBInstances` and `DescribeDBClusters` (paged);
//! `DescribeDBSubnetGroups` (paged) plus one `ListTagsForResource` per group;
//! `DescribeDBParameterGroups` (paged) plus, per group, one
//! `ListTagsForResource` and the pages of `DescribeDBParameters` (none for
//! the `default.*` groups, which AWS does not let anyone modify).
//!
//! moto 5.1.22 serves all four types, with these differences from AWS (the
//! tests pin each): every DB instance gets the same `DbiResourceId`, which is
//! the provider's id since 5.0, so only one instance per emulator can be
//! managed by Terraform; `DescribeDBParameters` ignores `Source` and returns
//! parameters without their `Source` (it only stores user-set ones, so its
//! answer is AWS's `Source=user` answer, but the provider's refresh, which
//! keeps only `user` parameters, drops them all); `LatestRestorableTime` is
//! the time of the call.

use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::{Fold, TypeRules, never_default};
use aws_sdk_rds::types::{DbCluster, DbInstance, DbParameterGroup, DbSubnetGroup, Parameter, Tag};
use serde_json::{Map, Value, json};
use std::future::Future;

use super::net::normalize_tags;

/// Largest page the RDS describe calls serve (`MaxRecords`).
const PAGE_SIZE: i32 = 100;

/// Groups whose per-group calls (tags, parameters) run at once.
const DETAIL_CONCURRENCY: usize = 4;

// ---------------------------------------------------------------------------
// aws_db_instance

static RULES_DB_INSTANCE: TypeRules = TypeRules {
    resource_type: "aws_db_instance",
    global: false,
    ignore: &[
        "allow_major_version_upgrade",
        "apply_immediately",
        "blue_green_update",
        "delete_automated_backups",
        "final_snapshot_identifier",
        "identifier_prefix",
        "latest_restorable_time",
        "manage_master_user_password",
        "master_user_secret_kms_key_id",
        "password",
        "password_wo",
        "password_wo_version",
        "restore_to_point_in_time",
        "s3_import",
        "skip_final_snapshot",
        "snapshot_identifier",
        "status",
        "timeouts",
        "upgrade_storage_config",
    ],
    sensitive: &[],
    sets: &["enabled_cloudwatch_logs_exports", "vpc_security_group_ids"],
    normalize: normalize_db_instance,
    is_default: never_default,
    desired_parts: Some(db_instance_by_resource_id),
    folds: &[],
};

pub static DB_INSTANCE: TypeDef = TypeDef {
    rules: &RULES_DB_INSTANCE,
    actions: &["rds:DescribeDBInstances"],
    list: list_db_instances,
};

/// Providers before 5.0 (the 0.12-era `aws-kong-rds-alb-partially-destroyed`
/// state, and `aws-rds-sensitive-tf19`, written by 4.x) used the identifier
/// as an instance's id; since 5.0 it is the `DbiResourceId`, which those
/// states hold as `resource_id`. Such an instance is the live object of that
/// resource id, its `id` the one the provider's state upgrade gives it.
fn db_instance_by_resource_id(attributes: &Value) -> Option<Vec<(String, Value)>> {
    let id = attributes["id"].as_str()?;
    let resource_id = attributes["resource_id"].as_str()?;
    if id == resource_id || resource_id.is_empty() {
        return None;
    }
    let mut attributes = attributes.clone();
    attributes["id"] = json!(resource_id);
    Some(vec![(resource_id.to_string(), attributes)])
}

/// Settings AWS returns for every DB instance (its endpoint's zone, the
/// backup target, the Database Insights mode, the engine's support policy,
/// the network type) but moto 5.1.22 leaves out: a live `""` is unknown, not
/// drift.
const INSTANCE_ALWAYS_RETURNED: &[&str] = &[
    "backup_target",
    "database_insights_mode",
    "engine_lifecycle_support",
    "hosted_zone_id",
    "network_type",
];

/// A configured `engine_version` of `16` or `16.3` stands for whatever minor
/// version AWS runs (`engine_version_actual`); the provider keeps the
/// configured spelling while it is a prefix of the actual version.
///
/// Attributes the provider no longer has are dropped from the state: the
/// database `name` (renamed `db_name` in 5.0; the 0.12-era kong state holds
/// only `name`, which the live `db_name` is compared against instead) and
/// `security_group_names` (EC2-Classic DB security groups, removed in 5.0).
fn normalize_db_instance(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    keep_engine_version_prefix(desired, live);
    super::net::drop_unreturned(desired, live, INSTANCE_ALWAYS_RETURNED);
    if let Some(d) = desired.as_object_mut() {
        if let Some(name) = d.remove("name")
            && !d.contains_key("db_name")
        {
            d.insert("db_name".to_string(), name);
        }
        d.remove("security_group_names");
    }
}

fn keep_engine_version_prefix(desired: &Value, live: &mut Value) {
    let (Some(wanted), Some(actual)) = (
        desired.get("engine_version").and_then(Value::as_str),
        live.get("engine_version_actual").and_then(Value::as_str),
    ) else {
        return;
    };
    if is_version_prefix(wanted, actual) {
        live["engine_version"] = json!(wanted);
    }
}

/// `16` and `16.3` are prefixes of `16.3`; `16.1` is not a prefix of `16.10`.
fn is_version_prefix(prefix: &str, version: &str) -> bool {
    version == prefix || (version.starts_with(prefix) && version[prefix.len()..].starts_with('.'))
}

fn list_db_instances(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let instances = ctx
            .rds()
            .describe_db_instances()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("rds:DescribeDBInstances", e))?;
        Ok(instances
            .iter()
            // Cluster members are `aws_rds_cluster_instance`s (see the module doc).
            .filter(|i| i.db_cluster_identifier().is_none())
            .map(|i| {
                let attributes = db_instance_attributes(i);
                LiveObject {
                    id: attributes["id"].as_str().unwrap_or_default().to_string(),
                    attributes,
                }
            })
            .collect())
    })
}

/// An instance as hashicorp/aws 5.100.0 writes it. Since 5.0 its `id` is the
/// `DbiResourceId` (`db-…`), not the identifier. Strings the API leaves out
/// are `""`, numbers `0`, booleans `false` (how the SDK's `d.Set` of a nil
/// pointer lands in state); the blocks it cannot read back are Terraform-only.
pub fn db_instance_attributes(i: &DbInstance) -> Value {
    let identifier = i.db_instance_identifier().unwrap_or_default();
    let endpoint = i.endpoint();
    let address = endpoint.and_then(|e| e.address()).unwrap_or_default();
    let port = endpoint
        .and_then(|e| e.port())
        .or(i.db_instance_port())
        .unwrap_or(0);
    let domain = i.domain_memberships().first();
    let tags = tag_map(i.tag_list());
    let engine_version = i.engine_version().unwrap_or_default();
    let listener: Vec<Value> = i
        .listener_endpoint()
        .map(|e| {
            vec![json!({
                "address": e.address().unwrap_or_default(),
                "hosted_zone_id": e.hosted_zone_id().unwrap_or_default(),
                "port": e.port().unwrap_or(0),
            })]
        })
        .unwrap_or_default();
    // Two halves: one `json!` this size exceeds the macro recursion limit.
    let mut attributes = json!({
        "address": address,
        "allocated_storage": i.allocated_storage().unwrap_or(0),
        "arn": i.db_instance_arn().unwrap_or_default(),
        "auto_minor_version_upgrade": i.auto_minor_version_upgrade().unwrap_or(false),
        "availability_zone": i.availability_zone().unwrap_or_default(),
        "backup_retention_period": i.backup_retention_period().unwrap_or(0),
        "backup_target": i.backup_target().unwrap_or_default(),
        "backup_window": i.preferred_backup_window().unwrap_or_default(),
        "ca_cert_identifier": i.ca_certificate_identifier().unwrap_or_default(),
        "character_set_name": i.character_set_name().unwrap_or_default(),
        "copy_tags_to_snapshot": i.copy_tags_to_snapshot().unwrap_or(false),
        "custom_iam_instance_profile": i.custom_iam_instance_profile().unwrap_or_default(),
        "customer_owned_ip_enabled": i.customer_owned_ip_enabled().unwrap_or(false),
        "database_insights_mode": i.database_insights_mode().map(|m| m.as_str()).unwrap_or_default(),
        "db_name": i.db_name().unwrap_or_default(),
        "db_subnet_group_name": i
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_name())
            .unwrap_or_default(),
        "dedicated_log_volume": i.dedicated_log_volume().unwrap_or(false),
        "deletion_protection": i.deletion_protection().unwrap_or(false),
        "domain": domain.and_then(|d| d.domain()).unwrap_or_default(),
        "domain_auth_secret_arn": domain.and_then(|d| d.auth_secret_arn()).unwrap_or_default(),
        "domain_dns_ips": domain.map(|d| d.dns_ips()).unwrap_or_default(),
        "domain_fqdn": domain.and_then(|d| d.fqdn()).unwrap_or_default(),
        "domain_iam_role_name": domain.and_then(|d| d.iam_role_name()).unwrap_or_default(),
        "domain_ou": domain.and_then(|d| d.ou()).unwrap_or_default(),
        "enabled_cloudwatch_logs_exports": i.enabled_cloudwatch_logs_exports(),
        "endpoint": if address.is_empty() { String::new() } else { format!("{address}:{port}") },
        "engine": i.engine().unwrap_or_default(),
        "engine_lifecycle_support": i.engine_lifecycle_support().unwrap_or_default(),
        "engine_version": engine_version,
        "engine_version_actual": engine_version,
        "hosted_zone_id": endpoint.and_then(|e| e.hosted_zone_id()).unwrap_or_default(),
        "iam_database_authentication_enabled": i.iam_database_authentication_enabled().unwrap_or(false),
        "id": i.dbi_resource_id().unwrap_or(identifier),
        "identifier": identifier,
        "identifier_prefix": name_prefix_from_name(identifier),
        "instance_class": i.db_instance_class().unwrap_or_default(),
        "iops": i.iops().unwrap_or(0),
        "kms_key_id": i.kms_key_id().unwrap_or_default(),
    });
    merge(
        &mut attributes,
        json!({
            "latest_restorable_time": i.latest_restorable_time().map(rfc3339).unwrap_or_default(),
            "license_model": i.license_model().unwrap_or_default(),
            "listener_endpoint": listener,
            "maintenance_window": i.preferred_maintenance_window().unwrap_or_default(),
            "master_user_secret": master_user_secret(i.master_user_secret()),
            "max_allocated_storage": i.max_allocated_storage().unwrap_or(0),
            "monitoring_interval": i.monitoring_interval().unwrap_or(0),
            "monitoring_role_arn": i.monitoring_role_arn().unwrap_or_default(),
            "multi_az": i.multi_az().unwrap_or(false),
            "nchar_character_set_name": i.nchar_character_set_name().unwrap_or_default(),
            "network_type": i.network_type().unwrap_or_default(),
            "option_group_name": i
                .option_group_memberships()
                .first()
                .and_then(|o| o.option_group_name())
                .unwrap_or_default(),
            "parameter_group_name": i
                .db_parameter_groups()
                .first()
                .and_then(|p| p.db_parameter_group_name())
                .unwrap_or_default(),
            "performance_insights_enabled": i.performance_insights_enabled().unwrap_or(false),
            "performance_insights_kms_key_id": i.performance_insights_kms_key_id().unwrap_or_default(),
            "performance_insights_retention_period": i.performance_insights_retention_period().unwrap_or(0),
            "port": port,
            "publicly_accessible": i.publicly_accessible().unwrap_or(false),
            "replica_mode": i.replica_mode().map(|m| m.as_str()).unwrap_or_default(),
            "replicas": i.read_replica_db_instance_identifiers(),
            "replicate_source_db": i.read_replica_source_db_instance_identifier().unwrap_or_default(),
            "resource_id": i.dbi_resource_id().unwrap_or_default(),
            "status": i.db_instance_status().unwrap_or_default(),
            "storage_encrypted": i.storage_encrypted().unwrap_or(false),
            "storage_throughput": i.storage_throughput().unwrap_or(0),
            "storage_type": i.storage_type().unwrap_or_default(),
            "tags": tags,
            "tags_all": tags,
            "timezone": i.timezone().unwrap_or_default(),
            "username": i.master_username().unwrap_or_default(),
            "vpc_security_group_ids": i
                .vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id())
                .collect::<Vec<_>>(),
        }),
    );
    attributes
}

/// Adds `more`'s attributes to `attributes`.
fn merge(attributes: &mut Value, more: Value) {
    if let (Some(a), Value::Object(more)) = (attributes.as_object_mut(), more) {
        a.extend(more);
    }
}

fn master_user_secret(secret: Option<&aws_sdk_rds::types::MasterUserSecret>) -> Vec<Value> {
    secret
        .map(|s| {
            vec![json!({
                "kms_key_id": s.kms_key_id().unwrap_or_default(),
                "secret_arn": s.secret_arn().unwrap_or_default(),
                "secret_status": s.secret_status().unwrap_or_default(),
            })]
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// aws_rds_cluster

static RULES_RDS_CLUSTER: TypeRules = TypeRules {
    resource_type: "aws_rds_cluster",
    global: false,
    ignore: &[
        "allow_major_version_upgrade",
        "apply_immediately",
        "cluster_identifier_prefix",
        "db_instance_parameter_group_name",
        "delete_automated_backups",
        "enable_global_write_forwarding",
        "enable_local_write_forwarding",
        "final_snapshot_identifier",
        "manage_master_user_password",
        "master_password",
        "master_password_wo",
        "master_password_wo_version",
        "master_user_secret_kms_key_id",
        "restore_to_point_in_time",
        "s3_import",
        "skip_final_snapshot",
        "snapshot_identifier",
        "source_region",
        "timeouts",
    ],
    sensitive: &[],
    sets: &[
        "availability_zones",
        "cluster_members",
        "enabled_cloudwatch_logs_exports",
        "iam_roles",
        "vpc_security_group_ids",
    ],
    normalize: normalize_rds_cluster,
    is_default: never_default,
    desired_parts: None,
    folds: &[Fold {
        child_types: &["aws_rds_cluster_instance"],
        parent_id_attribute: "cluster_identifier",
        children_are_parts: false,
        remove_child: remove_cluster_member,
    }],
};

pub static RDS_CLUSTER: TypeDef = TypeDef {
    rules: &RULES_RDS_CLUSTER,
    actions: &["rds:DescribeDBClusters"],
    list: list_rds_clusters,
};

/// Besides tags and the engine version (see [`normalize_db_instance`]): the
/// provider stores `database_name` only when the API returns one (a known API
/// gap), so a live `""` says nothing.
///
/// A `scaling_configuration` block whose every field is null configures
/// nothing and is no block: AWS returns `ScalingConfigurationInfo` for
/// Serverless v1 clusters only, the provider then stores `[]` for the others
/// (the 0.13-era `aws-eks-lon-kinbal-tf013` state), and moto 5.1.22 sends an
/// empty `<ScalingConfigurationInfo/>` for every cluster.
fn normalize_rds_cluster(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    for tree in [&mut *desired, &mut *live] {
        if let Some(blocks) = tree
            .get_mut("scaling_configuration")
            .and_then(Value::as_array_mut)
        {
            blocks.retain(|b| {
                b.as_object()
                    .is_none_or(|o| !o.values().all(Value::is_null))
            });
        }
    }
    keep_engine_version_prefix(desired, live);
    if let Some(live) = live.as_object_mut()
        && live.get("database_name") == Some(&json!(""))
    {
        live.remove("database_name");
    }
}

/// An `aws_rds_cluster_instance` joins its cluster after the cluster's state
/// was written (`cluster_members = []`): its membership is its own, compared
/// through it, not as a change of the cluster. A member no state knows still
/// shows in `cluster_members`.
fn remove_cluster_member(desired: &mut Value, live: &mut Value, _: &str, child: &Value) {
    let Some(member) = child["identifier"].as_str() else {
        return;
    };
    for tree in [desired, live] {
        if let Some(list) = tree
            .get_mut("cluster_members")
            .and_then(Value::as_array_mut)
        {
            list.retain(|m| m.as_str() != Some(member));
        }
    }
}

fn list_rds_clusters(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let clusters = ctx
            .rds()
            .describe_db_clusters()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("rds:DescribeDBClusters", e))?;
        Ok(clusters
            .iter()
            // Neptune and DocumentDB clusters are other types (see the module doc).
            .filter(|c| !matches!(c.engine(), Some("neptune" | "docdb")))
            .map(|c| LiveObject {
                id: c.db_cluster_identifier().unwrap_or_default().to_string(),
                attributes: rds_cluster_attributes(c),
            })
            .collect())
    })
}

/// A cluster as hashicorp/aws 5.100.0 writes it (id = cluster identifier).
/// `global_cluster_identifier` comes with the cluster (`GlobalClusterIdentifier`),
/// which spares the provider's extra `DescribeGlobalClusters` call.
pub fn rds_cluster_attributes(c: &DbCluster) -> Value {
    let identifier = c.db_cluster_identifier().unwrap_or_default();
    let tags = tag_map(c.tag_list());
    let engine_version = c.engine_version().unwrap_or_default();
    let domain = c.domain_memberships().first();
    let certificate = c.certificate_details();
    // The provider copies each field the API returns; an absent one is null.
    let scaling: Vec<Value> = c
        .scaling_configuration_info()
        .map(|s| {
            vec![json!({
                "auto_pause": s.auto_pause(),
                "max_capacity": s.max_capacity(),
                "min_capacity": s.min_capacity(),
                "seconds_before_timeout": s.seconds_before_timeout(),
                "seconds_until_auto_pause": s.seconds_until_auto_pause(),
                "timeout_action": s.timeout_action(),
            })]
        })
        .unwrap_or_default();
    let serverless_v2: Vec<Value> = c
        .serverless_v2_scaling_configuration()
        .map(|s| {
            vec![json!({
                "max_capacity": s.max_capacity(),
                "min_capacity": s.min_capacity(),
                "seconds_until_auto_pause": s.seconds_until_auto_pause(),
            })]
        })
        .unwrap_or_default();
    let mut attributes = json!({
        "allocated_storage": c.allocated_storage().unwrap_or(0),
        "arn": c.db_cluster_arn().unwrap_or_default(),
        "availability_zones": c.availability_zones(),
        "backtrack_window": c.backtrack_window().unwrap_or(0),
        "backup_retention_period": c.backup_retention_period().unwrap_or(0),
        "ca_certificate_identifier": certificate.and_then(|d| d.ca_identifier()).unwrap_or_default(),
        "ca_certificate_valid_till": certificate.and_then(|d| d.valid_till()).map(rfc3339).unwrap_or_default(),
        "cluster_identifier": identifier,
        "cluster_identifier_prefix": name_prefix_from_name(identifier),
        "cluster_members": c
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier())
            .collect::<Vec<_>>(),
        "cluster_resource_id": c.db_cluster_resource_id().unwrap_or_default(),
        "cluster_scalability_type": c.cluster_scalability_type().map(|t| t.as_str()).unwrap_or_default(),
        "copy_tags_to_snapshot": c.copy_tags_to_snapshot().unwrap_or(false),
        "database_insights_mode": c.database_insights_mode().map(|m| m.as_str()).unwrap_or_default(),
        "database_name": c.database_name().unwrap_or_default(),
        "db_cluster_instance_class": c.db_cluster_instance_class().unwrap_or_default(),
        "db_cluster_parameter_group_name": c.db_cluster_parameter_group().unwrap_or_default(),
        "db_subnet_group_name": c.db_subnet_group().unwrap_or_default(),
        "db_system_id": c.db_system_id().unwrap_or_default(),
        "deletion_protection": c.deletion_protection().unwrap_or(false),
        "domain": domain.and_then(|d| d.domain()).unwrap_or_default(),
        "domain_iam_role_name": domain.and_then(|d| d.iam_role_name()).unwrap_or_default(),
        "enable_http_endpoint": c.http_endpoint_enabled().unwrap_or(false),
        "enabled_cloudwatch_logs_exports": c.enabled_cloudwatch_logs_exports(),
        "endpoint": c.endpoint().unwrap_or_default(),
        "engine": c.engine().unwrap_or_default(),
        "engine_lifecycle_support": c.engine_lifecycle_support().unwrap_or_default(),
        "engine_mode": c.engine_mode().unwrap_or_default(),
        "engine_version": engine_version,
        "engine_version_actual": engine_version,
        "global_cluster_identifier": c.global_cluster_identifier().unwrap_or_default(),
        "hosted_zone_id": c.hosted_zone_id().unwrap_or_default(),
        "iam_database_authentication_enabled": c.iam_database_authentication_enabled().unwrap_or(false),
        "iam_roles": c
            .associated_roles()
            .iter()
            .filter_map(|r| r.role_arn())
            .collect::<Vec<_>>(),
        "id": identifier,
    });
    merge(
        &mut attributes,
        json!({
            "iops": c.iops().unwrap_or(0),
            "kms_key_id": c.kms_key_id().unwrap_or_default(),
            "master_user_secret": master_user_secret(c.master_user_secret()),
            "master_username": c.master_username().unwrap_or_default(),
            "monitoring_interval": c.monitoring_interval().unwrap_or(0),
            "monitoring_role_arn": c.monitoring_role_arn().unwrap_or_default(),
            "network_type": c.network_type().unwrap_or_default(),
            "performance_insights_enabled": c.performance_insights_enabled().unwrap_or(false),
            "performance_insights_kms_key_id": c.performance_insights_kms_key_id().unwrap_or_default(),
            "performance_insights_retention_period": c.performance_insights_retention_period().unwrap_or(0),
            "port": c.port().unwrap_or(0),
            "preferred_backup_window": c.preferred_backup_window().unwrap_or_default(),
            "preferred_maintenance_window": c.preferred_maintenance_window().unwrap_or_default(),
            "reader_endpoint": c.reader_endpoint().unwrap_or_default(),
            "replication_source_identifier": c.replication_source_identifier().unwrap_or_default(),
            "scaling_configuration": scaling,
            "serverlessv2_scaling_configuration": serverless_v2,
            "storage_encrypted": c.storage_encrypted().unwrap_or(false),
            "storage_type": c.storage_type().unwrap_or_default(),
            "tags": tags,
            "tags_all": tags,
            "vpc_security_group_ids": c
                .vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id())
                .collect::<Vec<_>>(),
        }),
    );
    // The provider writes `engine_mode` as the API spells it; older clusters
    // from before engine modes have none and are `provisioned`.
    if attributes["engine_mode"] == "" {
        attributes["engine_mode"] = json!("provisioned");
    }
    attributes
}

// ---------------------------------------------------------------------------
// aws_db_subnet_group

static RULES_DB_SUBNET_GROUP: TypeRules = TypeRules {
    resource_type: "aws_db_subnet_group",
    global: false,
    ignore: &["name_prefix"],
    sensitive: &[],
    sets: &["subnet_ids", "supported_network_types"],
    normalize: normalize_db_subnet_group,
    is_default: is_default_subnet_group,
    desired_parts: None,
    folds: &[],
};

pub static DB_SUBNET_GROUP: TypeDef = TypeDef {
    rules: &RULES_DB_SUBNET_GROUP,
    actions: &["rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"],
    list: list_db_subnet_groups,
};

/// AWS returns `SupportedNetworkTypes` for every subnet group (at least
/// `IPV4`); moto 5.1.22 leaves it out: a live `[]` is unknown, not drift.
fn normalize_db_subnet_group(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    super::net::drop_unreturned(desired, live, &["supported_network_types"]);
}

/// AWS creates the subnet group `default` (over the default VPC's subnets).
fn is_default_subnet_group(live: &Value) -> bool {
    live["name"] == "default"
}

fn list_db_subnet_groups(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let groups = ctx
            .rds()
            .describe_db_subnet_groups()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("rds:DescribeDBSubnetGroups", e))?;
        let rds = ctx.rds().clone();
        let tagged = bounded(groups, DETAIL_CONCURRENCY, move |group| {
            let rds = rds.clone();
            async move {
                let tags = resource_tags(&rds, group.db_subnet_group_arn()).await?;
                Ok(tags.map(|tags| (group, tags)))
            }
        })
        .await?;
        Ok(tagged
            .into_iter()
            .flatten()
            .map(|(group, tags)| LiveObject {
                id: group.db_subnet_group_name().unwrap_or_default().to_string(),
                attributes: db_subnet_group_attributes(&group, &tags),
            })
            .collect())
    })
}

pub fn db_subnet_group_attributes(g: &DbSubnetGroup, tags: &[Tag]) -> Value {
    let name = g.db_subnet_group_name().unwrap_or_default();
    let tags = tag_map(tags);
    json!({
        "arn": g.db_subnet_group_arn().unwrap_or_default(),
        "description": g.db_subnet_group_description().unwrap_or_default(),
        "id": name,
        "name": name,
        "name_prefix": name_prefix_from_name(name),
        "subnet_ids": g
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_identifier())
            .collect::<Vec<_>>(),
        "supported_network_types": g.supported_network_types(),
        "tags": tags,
        "tags_all": tags,
        "vpc_id": g.vpc_id().unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------
// aws_db_parameter_group

static RULES_DB_PARAMETER_GROUP: TypeRules = TypeRules {
    resource_type: "aws_db_parameter_group",
    global: false,
    // `skip_destroy` only steers Terraform's destroy.
    ignore: &["name_prefix", "skip_destroy"],
    sensitive: &[],
    sets: &["parameter"],
    normalize: normalize_db_parameter_group,
    is_default: is_default_parameter_group,
    desired_parts: None,
    folds: &[],
};

pub static DB_PARAMETER_GROUP: TypeDef = TypeDef {
    rules: &RULES_DB_PARAMETER_GROUP,
    actions: &[
        "rds:DescribeDBParameterGroups",
        "rds:DescribeDBParameters",
        "rds:ListTagsForResource",
    ],
    list: list_db_parameter_groups,
};

/// The groups AWS creates per engine family are named `default.<family>`.
fn is_default_parameter_group(live: &Value) -> bool {
    live["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("default."))
}

/// The provider lowercases parameter names and apply methods when it reads
/// them, but an older state (or one written right after create) may hold them
/// as configured; a missing `apply_method` is the provider's default,
/// `immediate`.
fn normalize_db_parameter_group(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    for side in [&mut *desired, &mut *live] {
        let Some(parameters) = side.get_mut("parameter").and_then(Value::as_array_mut) else {
            continue;
        };
        for p in parameters {
            for key in ["name", "apply_method"] {
                if let Some(s) = p.get(key).and_then(Value::as_str) {
                    p[key] = json!(s.to_lowercase());
                }
            }
            if p.get("apply_method").is_none_or(|m| m.is_null() || m == "") {
                p["apply_method"] = json!("immediate");
            }
        }
    }
}

fn list_db_parameter_groups(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let groups = ctx
            .rds()
            .describe_db_parameter_groups()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("rds:DescribeDBParameterGroups", e))?;
        let rds = ctx.rds().clone();
        let detailed = bounded(groups, DETAIL_CONCURRENCY, move |group| {
            let rds = rds.clone();
            async move {
                let name = group.db_parameter_group_name().unwrap_or_default();
                // AWS refuses to modify a default group: it has no user parameters.
                let parameters = if name.starts_with("default.") {
                    Some(Vec::new())
                } else {
                    user_parameters(&rds, name).await?
                };
                let tags = resource_tags(&rds, group.db_parameter_group_arn()).await?;
                Ok(parameters.zip(tags).map(|(p, t)| (group, p, t)))
            }
        })
        .await?;
        Ok(detailed
            .into_iter()
            .flatten()
            .map(|(group, parameters, tags)| LiveObject {
                id: group
                    .db_parameter_group_name()
                    .unwrap_or_default()
                    .to_string(),
                attributes: db_parameter_group_attributes(&group, &parameters, &tags),
            })
            .collect())
    })
}

/// Every page of a group's user-set parameters; `None` when the group was
/// deleted since it was listed.
async fn user_parameters(
    rds: &aws_sdk_rds::Client,
    name: &str,
) -> Result<Option<Vec<Parameter>>, CollectError> {
    let mut pages = rds
        .describe_db_parameters()
        .db_parameter_group_name(name)
        .source("user")
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    let mut parameters = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => parameters.extend(page.parameters.unwrap_or_default()),
            Err(e) if is_code(&e, "DBParameterGroupNotFound") => return Ok(None),
            Err(e) => return Err(CollectError::from_sdk("rds:DescribeDBParameters", e)),
        }
    }
    Ok(Some(parameters))
}

pub fn db_parameter_group_attributes(
    g: &DbParameterGroup,
    parameters: &[Parameter],
    tags: &[Tag],
) -> Value {
    let name = g.db_parameter_group_name().unwrap_or_default();
    let tags = tag_map(tags);
    let parameters: Vec<Value> = parameters
        .iter()
        .filter_map(|p| {
            Some(json!({
                "apply_method": p.apply_method().map(|m| m.as_str().to_lowercase()).unwrap_or_default(),
                "name": p.parameter_name()?.to_lowercase(),
                "value": p.parameter_value().unwrap_or_default(),
            }))
        })
        .collect();
    json!({
        "arn": g.db_parameter_group_arn().unwrap_or_default(),
        "description": g.description().unwrap_or_default(),
        "family": g.db_parameter_group_family().unwrap_or_default(),
        "id": name,
        "name": name,
        "name_prefix": name_prefix_from_name(name),
        "parameter": parameters,
        "tags": tags,
        "tags_all": tags,
    })
}

// ---------------------------------------------------------------------------
// Shared helpers

/// Tags of one RDS resource by ARN; `None` when it was deleted since it was
/// listed (it is then left out, as if the listing had not seen it).
async fn resource_tags(
    rds: &aws_sdk_rds::Client,
    arn: Option<&str>,
) -> Result<Option<Vec<Tag>>, CollectError> {
    let Some(arn) = arn else {
        return Ok(Some(Vec::new()));
    };
    match rds.list_tags_for_resource().resource_name(arn).send().await {
        Ok(out) => Ok(Some(out.tag_list.unwrap_or_default())),
        Err(e)
            if is_code(&e, "DBSubnetGroupNotFoundFault")
                || is_code(&e, "DBParameterGroupNotFound") =>
        {
            Ok(None)
        }
        Err(e) => Err(CollectError::from_sdk("rds:ListTagsForResource", e)),
    }
}

fn is_code<E, R>(err: &aws_smithy_runtime_api::client::result::SdkError<E, R>, code: &str) -> bool
where
    E: aws_sdk_rds::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some(code)
}

/// Runs `call` on every item, at most `limit` at a time, and returns the
/// results in the items' order. The first failure fails the whole listing.
pub(super) async fn bounded<T, R, F, Fut>(
    items: Vec<T>,
    limit: usize,
    call: F,
) -> Result<Vec<R>, CollectError>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, CollectError>> + Send + 'static,
{
    let total = items.len();
    let mut results: Vec<Option<R>> = (0..total).map(|_| None).collect();
    let mut pending = items.into_iter().enumerate();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < limit.max(1) {
            let Some((index, item)) = pending.next() else {
                break;
            };
            let call = call(item);
            running.spawn(async move { (index, call.await) });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (index, result) = joined.expect("a detail call does not panic");
        results[index] = Some(result?);
    }
    Ok(results.into_iter().flatten().collect())
}

/// `{key: value}` of an RDS tag list.
fn tag_map(tags: &[Tag]) -> Map<String, Value> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), json!(t.value().unwrap_or_default()))))
        .collect()
}

/// The provider derives `*_prefix` from a name that ends in Terraform's
/// 26-digit unique suffix (`name_prefix = "app-"` gives
/// `app-20261121123638356400000001`); any other name has `""`.
pub(super) fn name_prefix_from_name(name: &str) -> String {
    const SUFFIX: usize = 26;
    if name.len() > SUFFIX
        && name.is_char_boundary(name.len() - SUFFIX)
        && name[name.len() - SUFFIX..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    {
        name[..name.len() - SUFFIX].to_string()
    } else {
        String::new()
    }
}

/// Timestamps as the provider formats them (`time.RFC3339`, UTC, no fraction).
fn rfc3339(t: &aws_smithy_types::DateTime) -> String {
    chrono::DateTime::from_timestamp(t.secs(), 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_prefixes_come_only_from_generated_names() {
        assert_eq!(
            name_prefix_from_name("ndh-db-20250627212145854400000001"),
            "ndh-db-"
        );
        assert_eq!(name_prefix_from_name("ndh-db-subnet"), "");
        assert_eq!(name_prefix_from_name("20250627212145854400000001"), "");
    }

    #[test]
    fn engine_versions_match_by_prefix() {
        assert!(is_version_prefix("16", "16.3"));
        assert!(is_version_prefix("16.3", "16.3"));
        assert!(!is_version_prefix("16.1", "16.10"));
        assert!(!is_version_prefix("15", "16.3"));
        let mut live = json!({"engine_version": "16.3", "engine_version_actual": "16.3"});
        normalize_db_instance(&mut json!({"engine_version": "16"}), &mut live);
        assert_eq!(live["engine_version"], "16");
    }

    #[test]
    fn parameter_spellings_and_default_apply_method_are_one() {
        let mut desired = json!({"parameter": [
            {"name": "Log_Min_Duration_Statement", "value": "500", "apply_method": null},
        ]});
        let mut live = json!({"parameter": [
            {"name": "log_min_duration_statement", "value": "500", "apply_method": "immediate"},
        ]});
        normalize_db_parameter_group(&mut desired, &mut live);
        assert_eq!(desired["parameter"], live["parameter"]);
    }

    #[test]
    fn a_pre_5_0_instance_id_is_its_identifier_and_matches_by_resource_id() {
        // aws-rds-sensitive-tf19 / the 0.12-era kong state: id = identifier.
        let old = json!({"id": "mysql", "identifier": "mysql", "resource_id": "db-Y37SH4"});
        let parts = db_instance_by_resource_id(&old).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0, "db-Y37SH4");
        assert_eq!(parts[0].1["id"], "db-Y37SH4");
        assert_eq!(parts[0].1["identifier"], "mysql");
        // Since 5.0 the id is the resource id: matched as itself.
        let new = json!({"id": "db-Y37SH4", "identifier": "mysql", "resource_id": "db-Y37SH4"});
        assert!(db_instance_by_resource_id(&new).is_none());
    }

    #[test]
    fn the_old_name_attribute_is_db_name_and_unreturned_settings_are_unknown() {
        let mut desired = json!({
            "name": "box_storage",
            "security_group_names": [],
            "backup_target": "region",
            "network_type": "IPV4",
        });
        let mut live = json!({"db_name": "box_storage", "backup_target": "", "network_type": ""});
        normalize_db_instance(&mut desired, &mut live);
        assert_eq!(desired, json!({"db_name": "box_storage"}));
        assert_eq!(live, json!({"db_name": "box_storage"}));
        // A returned value is compared: `outposts` vs `region` still shows.
        let mut desired = json!({"backup_target": "region"});
        let mut live = json!({"backup_target": "outposts"});
        normalize_db_instance(&mut desired, &mut live);
        assert_ne!(desired, live);
        // Both spellings in one state (4.x writes `db_name` and `name`).
        let mut desired = json!({"db_name": "a", "name": "a"});
        normalize_db_instance(&mut desired, &mut json!({}));
        assert_eq!(desired, json!({"db_name": "a"}));
    }

    #[test]
    fn unreturned_subnet_group_network_types_are_unknown() {
        let mut desired = json!({"supported_network_types": ["IPV4"]});
        let mut live = json!({"supported_network_types": []});
        normalize_db_subnet_group(&mut desired, &mut live);
        assert_eq!(desired, live);
        let mut desired = json!({"supported_network_types": ["IPV4"]});
        let mut live = json!({"supported_network_types": ["IPV4", "DUAL"]});
        normalize_db_subnet_group(&mut desired, &mut live);
        assert_ne!(desired, live);
    }

    #[test]
    fn an_empty_scaling_configuration_is_no_block() {
        let empty = json!([{"auto_pause": null, "max_capacity": null, "min_capacity": null,
            "seconds_before_timeout": null, "seconds_until_auto_pause": null, "timeout_action": null}]);
        let mut desired = json!({"scaling_configuration": []});
        let mut live = json!({"scaling_configuration": empty});
        normalize_rds_cluster(&mut desired, &mut live);
        assert_eq!(desired, live);
        let mut desired = json!({"scaling_configuration": []});
        let mut live = json!({"scaling_configuration": [{"auto_pause": true, "max_capacity": 16,
            "min_capacity": 2, "seconds_before_timeout": 300, "seconds_until_auto_pause": 300,
            "timeout_action": "RollbackCapacityChange"}]});
        normalize_rds_cluster(&mut desired, &mut live);
        assert_ne!(desired, live);
    }

    #[test]
    fn members_managed_as_cluster_instances_fold_out_of_the_cluster() {
        let mut desired = json!({"cluster_members": [], "database_name": "app"});
        let mut live = json!({"cluster_members": ["one", "stray"], "database_name": ""});
        normalize_rds_cluster(&mut desired, &mut live);
        assert!(live.get("database_name").is_none());
        remove_cluster_member(
            &mut desired,
            &mut live,
            "aws_rds_cluster_instance",
            &json!({"identifier": "one", "cluster_identifier": "aurora"}),
        );
        assert_eq!(live["cluster_members"], json!(["stray"]));
    }
}
