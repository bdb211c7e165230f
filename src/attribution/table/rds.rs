//! RDS (`aws::types::rds`). An instance is keyed by its `DbiResourceId` but
//! requests name it by identifier, so instance rules bind `identifier`;
//! clusters, subnet groups and parameter groups are keyed by their names.
//! Tags are set through `AddTagsToResource` on the resource's ARN.

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const RDS: &str = "rds.amazonaws.com";

const INSTANCE: &[(&str, &str)] = &[("requestParameters.dBInstanceIdentifier", "identifier")];
const CLUSTER: &[(&str, &str)] = &[("requestParameters.dBClusterIdentifier", "id")];
const SUBNET_GROUP: &[(&str, &str)] = &[("requestParameters.dBSubnetGroupName", "id")];
const PARAMETER_GROUP: &[(&str, &str)] = &[("requestParameters.dBParameterGroupName", "id")];
const TAGGED: &[(&str, &str)] = &[("requestParameters.resourceName", "arn")];

/// What `ModifyDBInstance` can change.
const INSTANCE_SETTINGS: &[&str] = &[
    "allocated_storage",
    "auto_minor_version_upgrade",
    "backup_retention_period",
    "backup_target",
    "backup_window",
    "ca_cert_identifier",
    "copy_tags_to_snapshot",
    "customer_owned_ip_enabled",
    "database_insights_mode",
    "db_subnet_group_name",
    "dedicated_log_volume",
    "deletion_protection",
    "domain",
    "domain_auth_secret_arn",
    "domain_dns_ips",
    "domain_fqdn",
    "domain_iam_role_name",
    "domain_ou",
    "enabled_cloudwatch_logs_exports",
    "engine_version",
    "engine_version_actual",
    "iam_database_authentication_enabled",
    "identifier",
    "instance_class",
    "iops",
    "license_model",
    "maintenance_window",
    "master_user_secret",
    "max_allocated_storage",
    "monitoring_interval",
    "monitoring_role_arn",
    "multi_az",
    "network_type",
    "option_group_name",
    "parameter_group_name",
    "performance_insights_enabled",
    "performance_insights_kms_key_id",
    "performance_insights_retention_period",
    "port",
    "publicly_accessible",
    "replica_mode",
    "storage_throughput",
    "storage_type",
    "vpc_security_group_ids",
];

/// What `ModifyDBCluster` can change.
const CLUSTER_SETTINGS: &[&str] = &[
    "allocated_storage",
    "backtrack_window",
    "backup_retention_period",
    "ca_certificate_identifier",
    "cluster_identifier",
    "copy_tags_to_snapshot",
    "database_insights_mode",
    "db_cluster_instance_class",
    "db_cluster_parameter_group_name",
    "deletion_protection",
    "domain",
    "domain_iam_role_name",
    "enable_http_endpoint",
    "enabled_cloudwatch_logs_exports",
    "engine_mode",
    "engine_version",
    "engine_version_actual",
    "iam_database_authentication_enabled",
    "iops",
    "master_user_secret",
    "monitoring_interval",
    "monitoring_role_arn",
    "network_type",
    "performance_insights_enabled",
    "performance_insights_kms_key_id",
    "performance_insights_retention_period",
    "port",
    "preferred_backup_window",
    "preferred_maintenance_window",
    "scaling_configuration",
    "serverlessv2_scaling_configuration",
    "storage_type",
    "vpc_security_group_ids",
];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_db_instance ---
    rule(RDS, "CreateDBInstance", "aws_db_instance", Create, INSTANCE),
    rule(RDS, "CreateDBInstanceReadReplica", "aws_db_instance", Create, INSTANCE),
    rule(RDS, "RestoreDBInstanceFromDBSnapshot", "aws_db_instance", Create, INSTANCE),
    rule(RDS, "RestoreDBInstanceToPointInTime", "aws_db_instance", Create, &[("requestParameters.targetDBInstanceIdentifier", "identifier")]),
    rule(RDS, "DeleteDBInstance", "aws_db_instance", Delete, INSTANCE),
    rule(RDS, "ModifyDBInstance", "aws_db_instance", Modify(INSTANCE_SETTINGS), INSTANCE),
    rule(RDS, "AddTagsToResource", "aws_db_instance", TAGS, TAGGED),
    rule(RDS, "RemoveTagsFromResource", "aws_db_instance", TAGS, TAGGED),
    // --- aws_db_subnet_group ---
    rule(RDS, "CreateDBSubnetGroup", "aws_db_subnet_group", Create, SUBNET_GROUP),
    rule(RDS, "DeleteDBSubnetGroup", "aws_db_subnet_group", Delete, SUBNET_GROUP),
    rule(RDS, "ModifyDBSubnetGroup", "aws_db_subnet_group", Modify(&["description", "subnet_ids", "supported_network_types", "vpc_id"]), SUBNET_GROUP),
    rule(RDS, "AddTagsToResource", "aws_db_subnet_group", TAGS, TAGGED),
    rule(RDS, "RemoveTagsFromResource", "aws_db_subnet_group", TAGS, TAGGED),
    // --- aws_db_parameter_group ---
    rule(RDS, "CreateDBParameterGroup", "aws_db_parameter_group", Create, PARAMETER_GROUP),
    rule(RDS, "DeleteDBParameterGroup", "aws_db_parameter_group", Delete, PARAMETER_GROUP),
    rule(RDS, "ModifyDBParameterGroup", "aws_db_parameter_group", Modify(&["parameter"]), PARAMETER_GROUP),
    rule(RDS, "ResetDBParameterGroup", "aws_db_parameter_group", Modify(&["parameter"]), PARAMETER_GROUP),
    rule(RDS, "AddTagsToResource", "aws_db_parameter_group", TAGS, TAGGED),
    rule(RDS, "RemoveTagsFromResource", "aws_db_parameter_group", TAGS, TAGGED),
    // --- aws_rds_cluster ---
    rule(RDS, "CreateDBCluster", "aws_rds_cluster", Create, CLUSTER),
    rule(RDS, "RestoreDBClusterFromSnapshot", "aws_rds_cluster", Create, CLUSTER),
    rule(RDS, "RestoreDBClusterToPointInTime", "aws_rds_cluster", Create, CLUSTER),
    rule(RDS, "DeleteDBCluster", "aws_rds_cluster", Delete, CLUSTER),
    rule(RDS, "ModifyDBCluster", "aws_rds_cluster", Modify(CLUSTER_SETTINGS), CLUSTER),
    rule(RDS, "AddRoleToDBCluster", "aws_rds_cluster", Modify(&["iam_roles"]), CLUSTER),
    rule(RDS, "RemoveRoleFromDBCluster", "aws_rds_cluster", Modify(&["iam_roles"]), CLUSTER),
    rule(RDS, "AddTagsToResource", "aws_rds_cluster", TAGS, TAGGED),
    rule(RDS, "RemoveTagsFromResource", "aws_rds_cluster", TAGS, TAGGED),
];

#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_db_instance", &["identifier"], false),
    lookup("aws_db_subnet_group", &["name", "id"], false),
    lookup("aws_db_parameter_group", &["name", "id"], false),
    lookup("aws_rds_cluster", &["cluster_identifier", "id"], false),
];
