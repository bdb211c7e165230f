//! DynamoDB tables, in the attribute shape hashicorp/aws 5.100.0 writes into
//! state.
//!
//! `ListTables` returns only names. A table's settings come from four calls
//! the API forces per table: `DescribeTable` (keys, indexes, capacity,
//! streams, encryption, replicas), `DescribeContinuousBackups`
//! (`point_in_time_recovery`), `DescribeTimeToLive` (`ttl`) and
//! `ListTagsOfResource`. The last three run at once per table, and a few
//! tables are read at a time.
//!
//! Replicas: the provider reads each replica's point-in-time recovery and
//! stream from the replica's own region and keeps `propagate_tags` from the
//! configuration. A listing of one region does not see those, so they are
//! left out of the comparison (see [`normalize_table`]); the replica set
//! itself (regions, ARNs, KMS keys) is compared.

use super::net::normalize_tags;
use super::per_resource::each_bounded;
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::{TypeRules, never_default};
use aws_sdk_dynamodb::types::{
    KeySchemaElement, KeyType, OnDemandThroughput, PointInTimeRecoveryStatus, Projection,
    SseStatus, TableDescription, Tag, TimeToLiveDescription, TimeToLiveStatus,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

static RULES_DYNAMODB_TABLE: TypeRules = TypeRules {
    resource_type: "aws_dynamodb_table",
    global: false,
    // Create-time arguments: where the table was restored or imported from.
    // AWS keeps no such setting on the table.
    ignore: &[
        "import_table",
        "restore_date_time",
        "restore_source_name",
        "restore_source_table_arn",
        "restore_to_latest_time",
    ],
    sensitive: &[],
    sets: &[
        "attribute",
        "global_secondary_index",
        "global_secondary_index.non_key_attributes",
        "local_secondary_index",
        "replica",
    ],
    normalize: normalize_table,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static DYNAMODB_TABLE: TypeDef = TypeDef {
    rules: &RULES_DYNAMODB_TABLE,
    actions: &[
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:ListTables",
        "dynamodb:ListTagsOfResource",
    ],
    list: list_tables,
};

/// The largest page `ListTables` serves.
const PAGE_SIZE: i32 = 100;

/// Replica fields the provider reads from the replica's region or keeps from
/// the configuration: not comparable from this region's listing.
const REPLICA_FIELDS_NOT_LISTED: [&str; 4] = [
    "point_in_time_recovery",
    "propagate_tags",
    "stream_arn",
    "stream_label",
];

fn normalize_table(desired: &mut Value, live: &mut Value) {
    normalize_tags(desired, live);
    for tree in [desired, live] {
        if let Some(replicas) = tree.get_mut("replica").and_then(Value::as_array_mut) {
            for replica in replicas.iter_mut().filter_map(Value::as_object_mut) {
                for field in REPLICA_FIELDS_NOT_LISTED {
                    replica.remove(field);
                }
            }
        }
    }
}

/// Id: the table name.
fn list_tables(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let names: Vec<String> = ctx
            .dynamodb()
            .list_tables()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("dynamodb:ListTables", e))?;
        let ddb = ctx.dynamodb().clone();
        each_bounded(names, move |name| {
            let ddb = ddb.clone();
            async move { read_table(&ddb, name).await }
        })
        .await
    })
}

/// The four calls behind one table; `None` when it was deleted since it was listed.
async fn read_table(
    ddb: &aws_sdk_dynamodb::Client,
    name: String,
) -> Result<Option<LiveObject>, CollectError> {
    let table = match ddb.describe_table().table_name(&name).send().await {
        Ok(out) => match out.table {
            Some(table) => table,
            None => return Ok(None),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(CollectError::from_sdk("dynamodb:DescribeTable", e)),
    };
    let arn = table.table_arn().unwrap_or_default().to_string();
    let backups = async {
        ddb.describe_continuous_backups()
            .table_name(&name)
            .send()
            .await
            .map(Some)
            .or_else(|e| {
                if is_not_found(&e) {
                    Ok(None)
                } else {
                    Err(CollectError::from_sdk(
                        "dynamodb:DescribeContinuousBackups",
                        e,
                    ))
                }
            })
    };
    let ttl = async {
        ddb.describe_time_to_live()
            .table_name(&name)
            .send()
            .await
            .map(Some)
            .or_else(|e| {
                if is_not_found(&e) {
                    Ok(None)
                } else {
                    Err(CollectError::from_sdk("dynamodb:DescribeTimeToLive", e))
                }
            })
    };
    let tags = async {
        let mut tags: Vec<Tag> = Vec::new();
        let mut next: Option<String> = None;
        loop {
            match ddb
                .list_tags_of_resource()
                .resource_arn(&arn)
                .set_next_token(next.take())
                .send()
                .await
            {
                Ok(page) => {
                    tags.extend(page.tags.unwrap_or_default());
                    match page.next_token {
                        Some(token) if !token.is_empty() => next = Some(token),
                        _ => return Ok(Some(tags)),
                    }
                }
                Err(e) if is_not_found(&e) => return Ok(None),
                Err(e) => return Err(CollectError::from_sdk("dynamodb:ListTagsOfResource", e)),
            }
        }
    };
    let (backups, ttl, tags) = tokio::try_join!(backups, ttl, tags)?;
    let (Some(backups), Some(ttl), Some(tags)) = (backups, ttl, tags) else {
        return Ok(None);
    };
    let recovery = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description());
    let point_in_time_recovery = json!([{
        "enabled": recovery.and_then(|r| r.point_in_time_recovery_status())
            == Some(&PointInTimeRecoveryStatus::Enabled),
        "recovery_period_in_days": recovery.and_then(|r| r.recovery_period_in_days()).unwrap_or(0),
    }]);
    Ok(Some(LiveObject {
        id: name,
        attributes: table_attributes(
            &table,
            point_in_time_recovery,
            ttl.time_to_live_description(),
            &tags,
        ),
    }))
}

fn is_not_found<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().is_some_and(|s| {
        matches!(
            s.code(),
            Some("ResourceNotFoundException" | "TableNotFoundException")
        )
    })
}

/// A table in the provider's shape. Absent settings are the provider's zero
/// values: `billing_mode` `PROVISIONED`, `table_class` `STANDARD`, capacities
/// 0 for on-demand tables, stream fields `""`, `range_key` null, empty lists
/// for absent blocks; `ttl` and `point_in_time_recovery` always one element.
pub fn table_attributes(
    table: &TableDescription,
    point_in_time_recovery: Value,
    ttl: Option<&TimeToLiveDescription>,
    tags: &[Tag],
) -> Value {
    let name = table.table_name().unwrap_or_default();
    let (hash_key, range_key) = keys(table.key_schema());
    let throughput = table.provisioned_throughput();
    let stream = table.stream_specification();
    let tags: BTreeMap<&str, &str> = tags.iter().map(|t| (t.key(), t.value())).collect();
    let attributes: Vec<Value> = table
        .attribute_definitions()
        .iter()
        .map(|a| json!({"name": a.attribute_name(), "type": a.attribute_type().as_str()}))
        .collect();
    let global_indexes: Vec<Value> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            let (hash, range) = keys(i.key_schema());
            let (projection_type, non_key) = projection(i.projection());
            let throughput = i.provisioned_throughput();
            json!({
                "hash_key": hash.unwrap_or_default(),
                "name": i.index_name().unwrap_or_default(),
                "non_key_attributes": non_key,
                "on_demand_throughput": on_demand(i.on_demand_throughput()),
                "projection_type": projection_type,
                "range_key": range.unwrap_or_default(),
                "read_capacity": throughput.and_then(|t| t.read_capacity_units()).unwrap_or(0),
                "write_capacity": throughput.and_then(|t| t.write_capacity_units()).unwrap_or(0),
            })
        })
        .collect();
    let local_indexes: Vec<Value> = table
        .local_secondary_indexes()
        .iter()
        .map(|i| {
            let (_, range) = keys(i.key_schema());
            let (projection_type, non_key) = projection(i.projection());
            json!({
                "name": i.index_name().unwrap_or_default(),
                "non_key_attributes": non_key,
                "projection_type": projection_type,
                "range_key": range.unwrap_or_default(),
            })
        })
        .collect();
    let replicas: Vec<Value> = table
        .replicas()
        .iter()
        .map(|r| {
            json!({
                "arn": r.replica_arn().unwrap_or_default(),
                "kms_key_arn": r.kms_master_key_id().unwrap_or_default(),
                "region_name": r.region_name().unwrap_or_default(),
            })
        })
        .collect();
    let encryption: Vec<Value> = table
        .sse_description()
        .map(|sse| {
            json!({
                "enabled": sse.status() == Some(&SseStatus::Enabled),
                "kms_key_arn": sse.kms_master_key_arn().unwrap_or_default(),
            })
        })
        .into_iter()
        .collect();
    let ttl = json!([{
        "attribute_name": ttl.and_then(|t| t.attribute_name()).unwrap_or_default(),
        "enabled": ttl.and_then(|t| t.time_to_live_status()) == Some(&TimeToLiveStatus::Enabled),
    }]);
    json!({
        "arn": table.table_arn().unwrap_or_default(),
        "attribute": attributes,
        "billing_mode": table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map_or("PROVISIONED", |m| m.as_str()),
        "deletion_protection_enabled": table.deletion_protection_enabled().unwrap_or(false),
        "global_secondary_index": global_indexes,
        "hash_key": hash_key.unwrap_or_default(),
        "id": name,
        "local_secondary_index": local_indexes,
        "name": name,
        "on_demand_throughput": on_demand(table.on_demand_throughput()),
        "point_in_time_recovery": point_in_time_recovery,
        "range_key": range_key,
        "read_capacity": throughput.and_then(|t| t.read_capacity_units()).unwrap_or(0),
        "replica": replicas,
        "server_side_encryption": encryption,
        "stream_arn": table.latest_stream_arn().unwrap_or_default(),
        "stream_enabled": stream.is_some_and(|s| s.stream_enabled()),
        "stream_label": table.latest_stream_label().unwrap_or_default(),
        "stream_view_type": stream
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str())
            .unwrap_or_default(),
        "table_class": table
            .table_class_summary()
            .and_then(|c| c.table_class())
            .map_or("STANDARD", |c| c.as_str()),
        "tags": tags,
        "tags_all": tags,
        "ttl": ttl,
        "write_capacity": throughput.and_then(|t| t.write_capacity_units()).unwrap_or(0),
    })
}

/// The hash and range key names of a key schema.
fn keys(schema: &[KeySchemaElement]) -> (Option<&str>, Option<&str>) {
    let find = |kind: KeyType| {
        schema
            .iter()
            .find(|k| *k.key_type() == kind)
            .map(|k| k.attribute_name())
    };
    (find(KeyType::Hash), find(KeyType::Range))
}

fn projection(projection: Option<&Projection>) -> (&str, Vec<&str>) {
    (
        projection
            .and_then(|p| p.projection_type())
            .map(|t| t.as_str())
            .unwrap_or_default(),
        projection
            .map(|p| p.non_key_attributes().iter().map(String::as_str).collect())
            .unwrap_or_default(),
    )
}

/// The provider's `on_demand_throughput` block: empty when AWS returns none.
fn on_demand(throughput: Option<&OnDemandThroughput>) -> Vec<Value> {
    throughput
        .map(|t| {
            json!({
                "max_read_request_units": t.max_read_request_units().unwrap_or(0),
                "max_write_request_units": t.max_write_request_units().unwrap_or(0),
            })
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_fields_read_elsewhere_are_not_compared() {
        let mut desired = json!({"replica": [{"arn": "a", "kms_key_arn": "", "point_in_time_recovery": true, "propagate_tags": true, "region_name": "eu-west-1", "stream_arn": "s", "stream_label": "l"}], "tags": null, "tags_all": {}});
        let mut live = json!({"replica": [{"arn": "a", "kms_key_arn": "", "region_name": "eu-west-1"}], "tags": {}, "tags_all": {}});
        normalize_table(&mut desired, &mut live);
        assert_eq!(desired, live);
    }
}
