//! CloudWatch Logs log groups against a real AWS emulator (moto): groups made
//! with the SDK the way a person would, listed by driftd and compared whole
//! with the attributes the hashicorp/aws 5.100.0 provider writes; then a real
//! `terraform apply` whose state must show no drift, equal the live mapping
//! after a refresh, and drift exactly where Terraform's refresh-only plan does.
//!
//! The helpers at the top are shared by the Lambda and ELBv2 tests.

use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};
use crate::support::terraform::{DriftKind, Workspace};
use driftd::aws::types::logs;
use driftd::aws::{CollectOptions, TypeDef, collect};
use driftd::config::{AwsAccount, AwsScope};
use driftd::diff::{DiffOptions, Drift, diff};
use driftd::live::{Listing, LiveInventory};
use driftd::model::Origin;
use driftd::secrets::SecretKey;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

pub fn key() -> SecretKey {
    SecretKey::from_bytes([9; 32])
}

pub fn scope(moto: &MotoServer) -> AwsScope {
    AwsScope {
        regions: vec![REGION.to_string()],
        accounts: vec![AwsAccount {
            id: ACCOUNT_ID.to_string(),
            role_arn: None,
            external_id: None,
        }],
        profile: None,
        endpoint_url: Some(moto.endpoint_url()),
        cloudtrail: Default::default(),
    }
}

pub fn options() -> CollectOptions {
    CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        call_timeout: Duration::from_secs(20),
        ..CollectOptions::default()
    }
}

/// Lists `types` in moto; every listing must complete.
pub async fn list(moto: &MotoServer, types: &[&'static TypeDef]) -> LiveInventory {
    let (inventory, _) = collect(&scope(moto), types, &options(), &key()).await;
    for c in &inventory.coverage {
        assert_eq!(c.listing, Listing::Complete, "{}", c.resource_type);
    }
    inventory
}

/// The live objects of one type, by id.
pub fn objects(inventory: &LiveInventory, resource_type: &str) -> BTreeMap<String, Value> {
    inventory
        .resources
        .iter()
        .filter(|r| &*r.key.resource_type == resource_type)
        .map(|r| (r.key.id.clone(), r.attributes.to_value()))
        .collect()
}

pub fn object(inventory: &LiveInventory, resource_type: &str, id: &str) -> Value {
    objects(inventory, resource_type)
        .remove(id)
        .unwrap_or_else(|| panic!("{resource_type} {id} was not listed"))
}

/// Every live attribute is in the provider schema, and the schema attributes
/// left out are exactly the type's `ignore` list (its Terraform-only arguments).
pub fn assert_schema(inventory: &LiveInventory, def: &TypeDef) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-provider-schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let t = def.rules.resource_type;
    let block = &schema["resource_schemas"][t]["block"];
    let mut in_schema = BTreeSet::new();
    for part in ["attributes", "block_types"] {
        if let Some(o) = block[part].as_object() {
            in_schema.extend(o.keys().cloned());
        }
    }
    let mut mapped = BTreeSet::new();
    for (id, attributes) in objects(inventory, t) {
        for k in attributes.as_object().unwrap().keys() {
            assert!(
                in_schema.contains(k),
                "{t} {id}: `{k}` is not in the schema"
            );
            mapped.insert(k.clone());
        }
    }
    let left_out: BTreeSet<&str> = in_schema
        .iter()
        .filter(|k| !mapped.contains(*k))
        .map(String::as_str)
        .collect();
    let ignored: BTreeSet<&str> = def.rules.ignore.iter().copied().collect();
    assert_eq!(
        left_out, ignored,
        "{t}: what is not mapped is what the diff ignores"
    );
    for set in def.rules.sets {
        let mut node = block;
        let mut parts = set.split('.').peekable();
        let mut is_set = false;
        while let Some(part) = parts.next() {
            if parts.peek().is_some() {
                node = &node["block_types"][part]["block"];
            } else {
                is_set = node["attributes"][part]["type"].get(0) == Some(&json!("set"))
                    || node["block_types"][part]["nesting_mode"] == "set";
            }
        }
        assert!(is_set, "{t}.{set} is not a set in the schema");
    }
}

/// driftd's diff of a Terraform workspace's state against the live listing, as
/// sorted lines in the referee's terms: `address: attr, …` for changed,
/// `address: deleted` for missing, `unmanaged type.id` for unmanaged.
pub async fn driftd_says(
    moto: &MotoServer,
    ws: &Workspace,
    types: &[&'static TypeDef],
) -> Vec<String> {
    let bytes = std::fs::read(ws.state_path()).unwrap();
    let desired = driftd::state::parse_state(&bytes, &Origin::from("terraform.tfstate"), &key())
        .unwrap()
        .resources;
    let inventory = list(moto, types).await;
    let report = diff(
        &desired,
        &inventory,
        &driftd::aws::types::rules,
        &DiffOptions::default(),
    );
    let mut lines: Vec<String> = report
        .drifts
        .iter()
        .map(|d| match d {
            Drift::Changed {
                address, changes, ..
            } => {
                let attributes: BTreeSet<&str> = changes.iter().map(|c| c.attribute()).collect();
                format!(
                    "{address}: {}",
                    attributes.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
            Drift::Missing { address, .. } => format!("{address}: deleted"),
            Drift::Unmanaged { key } => format!("unmanaged {}.{}", key.resource_type, key.id),
        })
        .collect();
    lines.sort();
    lines
}

/// Terraform's refresh-only plan in the same terms as [`driftd_says`]: driftd
/// compares the state's tags with the live ones under `tags`, so Terraform's
/// `tags_all` is folded into `tags`.
pub fn terraform_says(ws: &mut Workspace) -> Vec<String> {
    let mut lines: Vec<String> = ws
        .plan_refresh_only_json()
        .into_iter()
        .map(|d| match d.kind() {
            DriftKind::Deleted => format!("{}: deleted", d.address),
            DriftKind::Changed(mut attributes) => {
                if attributes.remove("tags_all") {
                    attributes.insert("tags".to_string());
                }
                format!(
                    "{}: {}",
                    d.address,
                    attributes.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
        })
        .collect();
    lines.sort();
    lines
}

/// After a refresh, each state instance of `def`'s type equals its live
/// object attribute for attribute, except the ignored (Terraform-only) ones.
pub async fn assert_refreshed_state_equals_live(
    moto: &MotoServer,
    ws: &Workspace,
    def: &'static TypeDef,
) -> usize {
    let inventory = list(moto, &[def]).await;
    let live = objects(&inventory, def.rules.resource_type);
    let state = ws.state_json();
    let mut compared = 0;
    for r in state["resources"].as_array().unwrap() {
        if r["type"] != def.rules.resource_type || r["mode"] != "managed" {
            continue;
        }
        for instance in r["instances"].as_array().unwrap() {
            let mut recorded = instance["attributes"].clone();
            let id = recorded["id"].as_str().unwrap().to_string();
            let mut live = live
                .get(&id)
                .unwrap_or_else(|| panic!("{id} is in the state but not listed"))
                .clone();
            // Provider default tags are in the state's `tags_all` only.
            (def.rules.normalize)(&mut recorded, &mut live);
            for name in def.rules.ignore {
                recorded.as_object_mut().unwrap().remove(*name);
                live.as_object_mut().unwrap().remove(*name);
            }
            // Sensitive attributes are hashed on both sides (the scan hashes
            // the state's as it reads it): compare them hashed.
            let declared: Vec<driftd::model::AttrPath> = def
                .rules
                .sensitive
                .iter()
                .map(|name| {
                    driftd::model::AttrPath(vec![driftd::model::PathStep::Attr(name.to_string())])
                })
                .collect();
            driftd::state::redact(&mut recorded, &declared, &key());
            sort_sets(&mut recorded, def.rules.sets);
            sort_sets(&mut live, def.rules.sets);
            assert_eq!(
                recorded, live,
                "{} {id}: the refreshed state differs from the live mapping",
                def.rules.resource_type
            );
            compared += 1;
        }
    }
    compared
}

/// Sorts set-typed attributes (dotted paths through one-element blocks).
pub fn sort_sets(v: &mut Value, sets: &[&str]) {
    for set in sets {
        sort_at(v, &set.split('.').collect::<Vec<_>>());
    }
}

fn sort_at(v: &mut Value, path: &[&str]) {
    match v {
        Value::Array(items) => {
            for item in items.iter_mut() {
                sort_at(item, path);
            }
            if path.is_empty() {
                items.sort_by_key(|a| a.to_string());
            }
        }
        Value::Object(o) if !path.is_empty() => {
            if let Some(child) = o.get_mut(path[0]) {
                sort_at(child, &path[1..]);
            }
        }
        _ => {}
    }
}

async fn logs_client(moto: &MotoServer) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&moto.sdk_config().await)
}

fn group_arn(name: &str) -> String {
    format!("arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_groups_map_into_the_provider_shape() {
    let moto = MotoServer::start();
    let c = logs_client(&moto).await;
    // Minimal: never expires, no tags.
    c.create_log_group()
        .log_group_name("/app/minimal")
        .send()
        .await
        .unwrap();
    // Configured: retention and tags (one of them AWS's own).
    c.create_log_group()
        .log_group_name("/app/configured")
        .tags("team", "api")
        .tags("cost-center", "42")
        .send()
        .await
        .unwrap();
    c.put_retention_policy()
        .log_group_name("/app/configured")
        .retention_in_days(30)
        .send()
        .await
        .unwrap();
    // Created by a service (Lambda's group): an AWS default object.
    c.create_log_group()
        .log_group_name("/aws/lambda/worker")
        .send()
        .await
        .unwrap();

    // Enough groups for three pages of 50.
    for i in 0..105 {
        c.create_log_group()
            .log_group_name(format!("/bulk/{i:03}"))
            .send()
            .await
            .unwrap();
    }

    let (inventory, stats) = collect(&scope(&moto), &[&logs::LOG_GROUP], &options(), &key()).await;
    assert_eq!(inventory.coverage[0].listing, Listing::Complete);
    assert_eq!(objects(&inventory, "aws_cloudwatch_log_group").len(), 108);
    // Three pages, then one tag read per group (the API has no batched one).
    assert_eq!(stats.snapshot()["logs"].requests, 3 + 108);
    assert_eq!(
        object(&inventory, "aws_cloudwatch_log_group", "/app/minimal"),
        json!({
            "arn": group_arn("/app/minimal"),
            "id": "/app/minimal",
            "kms_key_id": "",
            // moto 5.1.22 does not return the class; AWS says STANDARD.
            "log_group_class": "",
            "name": "/app/minimal",
            "retention_in_days": 0,
            "tags": {},
            "tags_all": {},
        })
    );
    assert_eq!(
        object(&inventory, "aws_cloudwatch_log_group", "/app/configured"),
        json!({
            "arn": group_arn("/app/configured"),
            "id": "/app/configured",
            "kms_key_id": "",
            "log_group_class": "",
            "name": "/app/configured",
            "retention_in_days": 30,
            "tags": {"team": "api", "cost-center": "42"},
            "tags_all": {"team": "api", "cost-center": "42"},
        })
    );
    let rules = logs::LOG_GROUP.rules;
    let service = object(&inventory, "aws_cloudwatch_log_group", "/aws/lambda/worker");
    assert!(
        (rules.is_default)(&service),
        "service-made groups are AWS's"
    );
    assert!(!(rules.is_default)(&object(
        &inventory,
        "aws_cloudwatch_log_group",
        "/app/minimal"
    )));
    assert_schema(&inventory, &logs::LOG_GROUP);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_groups_after_terraform_drift_where_terraform_says() {
    let moto = MotoServer::start();
    let mut ws = Workspace::new("logs", &moto.endpoint_url());
    tokio::task::block_in_place(|| {
        ws.init();
        ws.apply();
    });
    let types: &[&'static TypeDef] = &[&logs::LOG_GROUP];

    // The raw state right after apply matches the cloud.
    assert_eq!(driftd_says(&moto, &ws, types).await, Vec::<String>::new());
    // And after a refresh, the state is exactly the live mapping.
    tokio::task::block_in_place(|| ws.refresh_only_apply());
    assert_eq!(
        assert_refreshed_state_equals_live(&moto, &ws, &logs::LOG_GROUP).await,
        2
    );

    // A person shortens the retention, deletes a group, makes two by hand
    // (one under `/aws/`, as Lambda does on a first invocation).
    let c = logs_client(&moto).await;
    c.put_retention_policy()
        .log_group_name("/app/api")
        .retention_in_days(3)
        .send()
        .await
        .unwrap();
    c.delete_log_group()
        .log_group_name("/app/plain")
        .send()
        .await
        .unwrap();
    c.create_log_group()
        .log_group_name("/app/stray")
        .send()
        .await
        .unwrap();
    c.create_log_group()
        .log_group_name("/aws/lambda/by-hand")
        .send()
        .await
        .unwrap();

    let referee = tokio::task::block_in_place(|| terraform_says(&mut ws));
    assert_eq!(
        referee,
        vec![
            "aws_cloudwatch_log_group.app: retention_in_days".to_string(),
            "aws_cloudwatch_log_group.plain: deleted".to_string(),
        ]
    );
    let mut expected = referee.clone();
    expected.push("unmanaged aws_cloudwatch_log_group./app/stray".to_string());
    expected.sort();
    assert_eq!(driftd_says(&moto, &ws, types).await, expected);
}
