//! S3 collectors against a real emulator (moto): buckets made with the SDK the
//! way a person would, listed by driftd, compared whole with the shape
//! hashicorp/aws 5.100.0 writes into state; and Terraform as the referee.

use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};
use crate::support::terraform::{DriftKind, Workspace};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};
use driftd::aws::types::s3;
use driftd::aws::{CollectOptions, TypeDef};
use driftd::config::{AwsAccount, AwsScope};
use driftd::live::{Listing, LiveInventory};
use driftd::secrets::SecretKey;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

const S3_TYPES: [&TypeDef; 5] = [
    &s3::BUCKET,
    &s3::BUCKET_POLICY,
    &s3::BUCKET_VERSIONING,
    &s3::BUCKET_ENCRYPTION,
    &s3::BUCKET_PUBLIC_ACCESS_BLOCK,
];

const OTHER_REGION: &str = "eu-west-1";

fn scope(moto: &MotoServer, regions: &[&str]) -> AwsScope {
    AwsScope {
        regions: regions.iter().map(|r| r.to_string()).collect(),
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

async fn collect(moto: &MotoServer, regions: &[&str]) -> (LiveInventory, u64) {
    let options = CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        ..CollectOptions::default()
    };
    let key = SecretKey::from_bytes([3; 32]);
    let (inventory, stats) =
        driftd::aws::collect(&scope(moto, regions), &S3_TYPES, &options, &key).await;
    let s3_requests = stats.snapshot().get("s3").map_or(0, |s| s.requests);
    (inventory, s3_requests)
}

/// `(origin, attributes)` by id for one type; panics on an id listed twice.
fn objects(inventory: &LiveInventory, resource_type: &str) -> BTreeMap<String, (String, Value)> {
    let mut out = BTreeMap::new();
    for r in inventory
        .resources
        .iter()
        .filter(|r| &*r.key.resource_type == resource_type)
    {
        let previous = out.insert(
            r.key.id.clone(),
            (r.origin.to_string(), r.attributes.to_value()),
        );
        assert!(
            previous.is_none(),
            "{resource_type} {} listed twice",
            r.key.id
        );
    }
    out
}

fn attributes(inventory: &LiveInventory, resource_type: &str) -> BTreeMap<String, Value> {
    objects(inventory, resource_type)
        .into_iter()
        .map(|(id, (_, a))| (id, a))
        .collect()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn s3_client(moto: &MotoServer) -> aws_sdk_s3::Client {
    moto.s3_client().await
}

const DENY_INSECURE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::full/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;

/// Three buckets as people make them: `plain` (defaults), `full` (every
/// configuration the provider reads), `abroad` (in another region).
async fn build_buckets(s3c: &aws_sdk_s3::Client) {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, BucketLoggingStatus, CorsConfiguration, CorsRule,
        ErrorDocument, ExpirationStatus, IndexDocument, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter, LoggingEnabled, Transition, TransitionStorageClass,
        WebsiteConfiguration,
    };
    s3c.create_bucket().bucket("plain").send().await.unwrap();
    // `plain` receives `full`'s access logs.
    s3c.put_bucket_acl()
        .bucket("plain")
        .acl(aws_sdk_s3::types::BucketCannedAcl::from(
            "log-delivery-write",
        ))
        .send()
        .await
        .unwrap();
    s3c.create_bucket()
        .bucket("abroad")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3c.create_bucket().bucket("full").send().await.unwrap();
    s3c.put_bucket_tagging()
        .bucket("full")
        .tagging(
            Tagging::builder()
                .tag_set(tag("team", "data"))
                .tag_set(tag("env", "prod"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3c.put_bucket_versioning()
        .bucket("full")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3c.put_bucket_encryption()
        .bucket("full")
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::AwsKms)
                                .kms_master_key_id("alias/data")
                                .build()
                                .unwrap(),
                        )
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3c.put_public_access_block()
        .bucket("full")
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(false)
                .ignore_public_acls(true)
                .restrict_public_buckets(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3c.put_bucket_policy()
        .bucket("full")
        .policy(DENY_INSECURE)
        .send()
        .await
        .unwrap();
    s3c.put_bucket_cors()
        .bucket("full")
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(
                    CorsRule::builder()
                        .allowed_methods("GET")
                        .allowed_methods("PUT")
                        .allowed_origins("https://example.com")
                        .allowed_headers("*")
                        .expose_headers("ETag")
                        .max_age_seconds(300)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3c.put_bucket_lifecycle_configuration()
        .bucket("full")
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("logs")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
                        .expiration(LifecycleExpiration::builder().days(365).build())
                        .transitions(
                            Transition::builder()
                                .days(30)
                                .storage_class(TransitionStorageClass::StandardIa)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3c.put_bucket_website()
        .bucket("full")
        .website_configuration(
            WebsiteConfiguration::builder()
                .index_document(
                    IndexDocument::builder()
                        .suffix("index.html")
                        .build()
                        .unwrap(),
                )
                .error_document(ErrorDocument::builder().key("error.html").build().unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3c.put_bucket_logging()
        .bucket("full")
        .bucket_logging_status(
            BucketLoggingStatus::builder()
                .logging_enabled(
                    LoggingEnabled::builder()
                        .target_bucket("plain")
                        .target_prefix("full/")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The attributes every bucket has, for one bucket in one region.
fn bucket(name: &str, region: &str, zone: &str) -> Value {
    let mut bucket = json!({
        "acceleration_status": "",
        "arn": format!("arn:aws:s3:::{name}"),
        "bucket": name,
        "bucket_domain_name": format!("{name}.s3.amazonaws.com"),
        "bucket_regional_domain_name": format!("{name}.s3.{region}.amazonaws.com"),
        "cors_rule": [],
        "grant": [{"id": MOTO_OWNER, "permissions": ["FULL_CONTROL"], "type": "CanonicalUser", "uri": ""}],
        "hosted_zone_id": zone,
        "id": name,
        "lifecycle_rule": [],
        "logging": [],
        "object_lock_configuration": [],
        "object_lock_enabled": false,
        "policy": "",
        "region": region,
        "replication_configuration": [],
        // moto has no GetBucketRequestPayment (see the module doc).
        "request_payer": "",
        "server_side_encryption_configuration": [],
        "tags": {},
        "tags_all": {},
        "versioning": [{"enabled": false, "mfa_delete": false}],
        "website": [],
        "website_domain": null,
        "website_endpoint": null,
    });
    // Live-only, never compared (see `s3::OWNER_MARKER`).
    bucket[s3::OWNER_MARKER] = json!(MOTO_OWNER);
    bucket
}

/// moto's canonical id of the account owner.
const MOTO_OWNER: &str = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";

fn merge(mut base: Value, over: Value) -> Value {
    for (k, v) in over.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn schema_attributes(resource_type: &str) -> BTreeSet<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-provider-schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let block = &schema["resource_schemas"][resource_type]["block"];
    assert!(block.is_object(), "{resource_type} is not in the schema");
    let mut names = BTreeSet::new();
    for key in ["attributes", "block_types"] {
        if let Some(map) = block[key].as_object() {
            names.extend(map.keys().cloned());
        }
    }
    names
}

/// Every mapped attribute is in the provider schema; the schema attributes
/// not mapped are exactly the type's ignored ones (plus `timeouts`).
fn assert_schema(def: &TypeDef, objects: &BTreeMap<String, Value>) {
    let t = def.rules.resource_type;
    let schema = schema_attributes(t);
    let mut mapped = BTreeSet::new();
    for attributes in objects.values() {
        // Live-only markers (`driftd:…`) are no attributes of the schema.
        mapped.extend(
            attributes
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| !k.contains(':'))
                .cloned(),
        );
    }
    let unknown: Vec<_> = mapped.difference(&schema).collect();
    assert!(unknown.is_empty(), "{t}: not in the schema: {unknown:?}");
    let missing: BTreeSet<&str> = schema.difference(&mapped).map(String::as_str).collect();
    let mut expected: BTreeSet<&str> = def
        .rules
        .ignore
        .iter()
        .copied()
        .filter(|k| !k.contains(':'))
        .collect();
    if schema.contains("timeouts") {
        expected.insert("timeouts");
    }
    assert_eq!(missing, expected, "{t}: schema attributes not mapped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_and_their_configurations_map_into_the_provider_shape() {
    let moto = MotoServer::start();
    let s3c = s3_client(&moto).await;
    build_buckets(&s3c).await;

    let (inventory, requests) = collect(&moto, &[REGION, OTHER_REGION]).await;
    for c in &inventory.coverage {
        assert_eq!(c.listing, Listing::Complete, "{c:?}");
    }
    // Each bucket once, in its own region's listing.
    let origins: BTreeMap<String, String> = objects(&inventory, "aws_s3_bucket")
        .into_iter()
        .map(|(id, (origin, _))| (id, origin))
        .collect();
    assert_eq!(
        origins,
        BTreeMap::from([
            (
                "abroad".to_string(),
                format!("aws:{ACCOUNT_ID}:{OTHER_REGION}")
            ),
            ("full".to_string(), format!("aws:{ACCOUNT_ID}:{REGION}")),
            ("plain".to_string(), format!("aws:{ACCOUNT_ID}:{REGION}")),
        ])
    );

    let sorted = |mut buckets: BTreeMap<String, Value>| {
        buckets
            .values_mut()
            .for_each(|b| sort_sets(b, s3::BUCKET.rules.sets));
        buckets
    };
    let buckets = attributes(&inventory, "aws_s3_bucket");
    assert_eq!(
        sorted(buckets.clone()),
        sorted(BTreeMap::from([
            (
                "abroad".to_string(),
                bucket("abroad", OTHER_REGION, "Z1BKCTXD74EZPE")
            ),
            (
                "full".to_string(),
                merge(
                    bucket("full", REGION, "Z3AQBSTGFYJSTF"),
                    json!({
                        "cors_rule": [{
                            "allowed_headers": ["*"],
                            "allowed_methods": ["GET", "PUT"],
                            "allowed_origins": ["https://example.com"],
                            "expose_headers": ["ETag"],
                            "max_age_seconds": 300,
                        }],
                        "lifecycle_rule": [{
                            "abort_incomplete_multipart_upload_days": 0,
                            "enabled": true,
                            "expiration": [{"date": "", "days": 365, "expired_object_delete_marker": false}],
                            "id": "logs",
                            "noncurrent_version_expiration": [],
                            "noncurrent_version_transition": [],
                            "prefix": "logs/",
                            "tags": {},
                            "transition": [{"date": "", "days": 30, "storage_class": "STANDARD_IA"}],
                        }],
                        "logging": [{"target_bucket": "plain", "target_prefix": "full/"}],
                        "policy": DENY_INSECURE,
                        "server_side_encryption_configuration": [{"rule": [{
                            "apply_server_side_encryption_by_default": [{"kms_master_key_id": "alias/data", "sse_algorithm": "aws:kms"}],
                            "bucket_key_enabled": true,
                        }]}],
                        "tags": {"env": "prod", "team": "data"},
                        "tags_all": {"env": "prod", "team": "data"},
                        "versioning": [{"enabled": true, "mfa_delete": false}],
                        "website": [{
                            "error_document": "error.html",
                            "index_document": "index.html",
                            "redirect_all_requests_to": "",
                            "routing_rules": "",
                        }],
                        "website_domain": "s3-website-us-east-1.amazonaws.com",
                        "website_endpoint": "full.s3-website-us-east-1.amazonaws.com",
                    })
                )
            ),
            (
                "plain".to_string(),
                merge(
                    bucket("plain", REGION, "Z3AQBSTGFYJSTF"),
                    // moto's `log-delivery-write` grants WRITE only (AWS adds
                    // READ_ACP; grouping by grantee is unit-tested in s3.rs).
                    json!({"grant": [
                        {"id": MOTO_OWNER, "permissions": ["FULL_CONTROL"], "type": "CanonicalUser", "uri": ""},
                        {"id": "", "permissions": ["WRITE"], "type": "Group", "uri": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
                    ]})
                )
            ),
        ]))
    );
    assert_schema(&s3::BUCKET, &buckets);

    let policies = attributes(&inventory, "aws_s3_bucket_policy");
    assert_eq!(
        policies,
        BTreeMap::from([(
            "full".to_string(),
            json!({"bucket": "full", "id": "full", "policy": DENY_INSECURE})
        )])
    );
    assert_schema(&s3::BUCKET_POLICY, &policies);

    // Every bucket has a versioning state; a never-versioned one is `Disabled`.
    let versioning = attributes(&inventory, "aws_s3_bucket_versioning");
    let state = |bucket: &str, status: &str| {
        (
            bucket.to_string(),
            json!({"bucket": bucket, "id": bucket, "versioning_configuration": [{"mfa_delete": "", "status": status}]}),
        )
    };
    assert_eq!(
        versioning,
        BTreeMap::from([
            state("abroad", "Disabled"),
            state("full", "Enabled"),
            state("plain", "Disabled"),
        ])
    );
    assert_schema(&s3::BUCKET_VERSIONING, &versioning);
    assert!((s3::BUCKET_VERSIONING.rules.is_default)(
        &versioning["plain"]
    ));
    assert!(!(s3::BUCKET_VERSIONING.rules.is_default)(
        &versioning["full"]
    ));

    let encryption = attributes(
        &inventory,
        "aws_s3_bucket_server_side_encryption_configuration",
    );
    assert_eq!(
        encryption,
        BTreeMap::from([(
            "full".to_string(),
            json!({"bucket": "full", "id": "full", "rule": [{
                "apply_server_side_encryption_by_default": [{"kms_master_key_id": "alias/data", "sse_algorithm": "aws:kms"}],
                "bucket_key_enabled": true,
            }]})
        )])
    );
    assert_schema(&s3::BUCKET_ENCRYPTION, &encryption);
    assert!(!(s3::BUCKET_ENCRYPTION.rules.is_default)(
        &encryption["full"]
    ));

    let blocks = attributes(&inventory, "aws_s3_bucket_public_access_block");
    assert_eq!(
        blocks,
        BTreeMap::from([(
            "full".to_string(),
            json!({
                "block_public_acls": true,
                "block_public_policy": false,
                "bucket": "full",
                "id": "full",
                "ignore_public_acls": true,
                "restrict_public_buckets": false,
            })
        )])
    );
    assert_schema(&s3::BUCKET_PUBLIC_ACCESS_BLOCK, &blocks);

    // Per region: ListBuckets, then GetBucketLocation per bucket (moto gives
    // no BucketRegion); per bucket in the region, the bucket's 13 Get calls
    // and GetPublicAccessBlock. Versioning, policy and encryption are read
    // once for the types that share them.
    assert_eq!(requests, 2 * (1 + 3) + 3 * (13 + 1));
}

// ---------------------------------------------------------------------------
// Terraform as the referee.

/// driftd's diff of a state against a fresh listing of the S3 types.
async fn diff_state(moto: &MotoServer, state: &Value) -> driftd::diff::DiffReport {
    let (inventory, _) = collect(moto, &[REGION]).await;
    let bytes = serde_json::to_vec(state).unwrap();
    let key = SecretKey::from_bytes([3; 32]);
    let parsed =
        driftd::state::parse_state(&bytes, &driftd::model::Origin::from("s3-family"), &key)
            .expect("the provider's state parses");
    driftd::diff::diff(
        &parsed.resources,
        &inventory,
        &driftd::aws::types::rules,
        &driftd::diff::DiffOptions::default(),
    )
}

/// The drifts as `address: attributes`, `address: missing`, or `type.id: unmanaged`.
fn summary(report: &driftd::diff::DiffReport) -> Vec<String> {
    let mut out: Vec<String> = report
        .drifts
        .iter()
        .map(|d| match d {
            driftd::diff::Drift::Changed {
                address, changes, ..
            } => {
                let attributes: BTreeSet<&str> = changes.iter().map(|c| c.attribute()).collect();
                format!(
                    "{address}: {}",
                    attributes.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
            driftd::diff::Drift::Missing { address, .. } => format!("{address}: deleted"),
            driftd::diff::Drift::Unmanaged { key } => {
                format!("{}.{}: unmanaged", key.resource_type, key.id)
            }
        })
        .collect();
    out.sort();
    out
}

/// Every state resource of the S3 types as `(address, type, attributes)`.
fn state_resources(state: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for r in state["resources"].as_array().unwrap() {
        let t = r["type"].as_str().unwrap();
        for i in r["instances"].as_array().unwrap() {
            out.push((
                format!("{t}.{}", r["name"].as_str().unwrap()),
                t.to_string(),
                i["attributes"].clone(),
            ));
        }
    }
    out
}

/// Sorts the arrays at the type's set paths, so two spellings of one set compare equal.
fn sort_sets(value: &mut Value, sets: &[&str]) {
    for path in sets {
        sort_at(value, &path.split('.').collect::<Vec<_>>());
    }
}

fn sort_at(value: &mut Value, path: &[&str]) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|i| sort_at(i, path)),
        Value::Object(m) => {
            if let Some((first, rest)) = path.split_first()
                && let Some(v) = m.get_mut(*first)
            {
                if rest.is_empty() {
                    if let Value::Array(items) = v {
                        items.sort_by_key(|i| i.to_string());
                    }
                } else {
                    sort_at(v, rest);
                }
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_states_equal_the_live_mapping_and_drift_matches_terraform() {
    let moto = MotoServer::start();
    let mut ws = Workspace::new("s3-family", &moto.endpoint_url());
    tokio::task::block_in_place(|| {
        ws.init();
        ws.apply();
    });

    // (i) Right after the apply the buckets' inline copies are stale (the
    // separate resources came later): the folds hide that.
    let report = diff_state(&moto, &ws.state_json()).await;
    assert_eq!(summary(&report), Vec::<String>::new(), "{report:#?}");
    assert_eq!(report.managed, 8, "{report:#?}");
    assert_eq!(report.unknown_resources, 0);

    // (ii) After a refresh, every state resource equals its live mapping
    // (ignored attributes aside), attribute for attribute.
    let plan = tokio::task::block_in_place(|| ws.plan_refresh_only());
    tokio::task::block_in_place(|| ws.apply_refresh_plan(&plan));
    let state = ws.state_json();
    let (inventory, _) = collect(&moto, &[REGION]).await;
    for (address, t, mut wanted) in state_resources(&state) {
        // The CORS, lifecycle and website resources have no rules in driftd:
        // they are checked through the buckets' inline copies.
        let Some(def) = S3_TYPES.iter().find(|d| d.rules.resource_type == t) else {
            continue;
        };
        let id = wanted["id"].as_str().unwrap().to_string();
        let mut got = attributes(&inventory, &t)
            .remove(&id)
            .unwrap_or_else(|| panic!("{address} ({id}) is not listed"));
        (def.rules.normalize)(&mut wanted, &mut got);
        for tree in [&mut wanted, &mut got] {
            let object = tree.as_object_mut().unwrap();
            // The state's `tags` are the configuration's alone; the cloud only
            // knows every tag, which both sides hold in `tags_all`.
            for name in def.rules.ignore.iter().chain(&["timeouts", "tags"]) {
                object.remove(*name);
            }
            sort_sets(tree, def.rules.sets);
        }
        assert_eq!(
            got, wanted,
            "{address}: live (left) differs from the refreshed state (right)"
        );
    }
    let report = diff_state(&moto, &state).await;
    assert_eq!(summary(&report), Vec::<String>::new(), "{report:#?}");

    // (iii) A person suspends versioning, deletes the public access block,
    // retags a bucket and creates a bucket by hand.
    let s3c = s3_client(&moto).await;
    s3c.put_bucket_versioning()
        .bucket("driftd-fixture-logs")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3c.delete_public_access_block()
        .bucket("driftd-fixture-logs")
        .send()
        .await
        .unwrap();
    s3c.put_bucket_tagging()
        .bucket("driftd-fixture-plain")
        .tagging(
            Tagging::builder()
                .tag_set(tag("owner", "platform"))
                .tag_set(tag("managed_by", "terraform"))
                .tag_set(tag("fixture", "s3-family"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3c.create_bucket()
        .bucket("made-by-hand")
        .send()
        .await
        .unwrap();

    let referee: BTreeMap<String, DriftKind> =
        tokio::task::block_in_place(|| ws.plan_refresh_only())
            .drift
            .into_iter()
            .map(|d| (d.address.clone(), d.kind()))
            .collect();
    let changed =
        |names: &[&str]| DriftKind::Changed(names.iter().map(|n| n.to_string()).collect());
    assert_eq!(
        referee,
        BTreeMap::from([
            // Terraform also sees the suspension through the bucket's
            // deprecated inline copy; driftd compares it once, through the
            // aws_s3_bucket_versioning that manages it.
            ("aws_s3_bucket.logs".to_string(), changed(&["versioning"])),
            (
                "aws_s3_bucket.plain".to_string(),
                changed(&["tags", "tags_all"])
            ),
            (
                "aws_s3_bucket_public_access_block.logs".to_string(),
                DriftKind::Deleted
            ),
            (
                "aws_s3_bucket_versioning.logs".to_string(),
                changed(&["versioning_configuration"])
            ),
        ])
    );
    let report = diff_state(&moto, &state).await;
    assert_eq!(
        summary(&report),
        [
            // driftd puts the state's tags_all under `tags`.
            "aws_s3_bucket.plain: tags",
            "aws_s3_bucket_public_access_block.logs: deleted",
            "aws_s3_bucket_versioning.logs: versioning_configuration",
            "aws_s3_bucket.made-by-hand: unmanaged",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    // The hand-made bucket's never-enabled versioning is S3's default, not a
    // second unmanaged resource.
    assert_eq!(report.defaults_skipped, 1, "{report:#?}");
}

// ---------------------------------------------------------------------------
// Paging and failures, against a stand-in S3 (moto ignores `max-buckets`
// and the `bucket-region` filter, and never pages).

#[derive(Default)]
struct FakeS3 {
    /// Fail the second ListBuckets page with a 500.
    fail_second_page: bool,
    /// The query of every ListBuckets call.
    list_queries: std::sync::Mutex<Vec<BTreeMap<String, String>>>,
    /// Every other S3 request, as `METHOD /path?query`.
    others: std::sync::Mutex<Vec<String>>,
}

const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

async fn fake_s3(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<FakeS3>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let xml = |status: u16, text: String| {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/xml")],
            text,
        )
            .into_response()
    };
    if method == axum::http::Method::POST && body.contains("Action=GetCallerIdentity") {
        return xml(
            200,
            format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
                 <Arn>arn:aws:iam::{ACCOUNT_ID}:user/test</Arn><UserId>AIDATEST</UserId><Account>{ACCOUNT_ID}</Account>\
                 </GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ),
        );
    }
    let query: BTreeMap<String, String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect();
    if uri.path() == "/" {
        let token = query.get("continuation-token").cloned();
        state.list_queries.lock().unwrap().push(query);
        let bucket = |name: &str, region: &str| {
            format!(
                "<Bucket><Name>{name}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate>\
                 <BucketRegion>{region}</BucketRegion></Bucket>"
            )
        };
        let (buckets, next) = match token.as_deref() {
            None => (
                // A region filter an endpoint does not honour must not matter.
                [
                    bucket("alpha", REGION),
                    bucket("elsewhere", OTHER_REGION),
                    bucket("beta", REGION),
                ]
                .concat(),
                "<ContinuationToken>page-2</ContinuationToken>",
            ),
            Some("page-2") if state.fail_second_page => {
                return xml(
                    500,
                    "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>".into(),
                );
            }
            Some("page-2") => (
                [bucket("gone", REGION), bucket("omega", REGION)].concat(),
                "",
            ),
            Some(other) => panic!("unexpected continuation token {other}"),
        };
        return xml(
            200,
            format!(
                "<ListAllMyBucketsResult xmlns=\"{S3_XMLNS}\"><Owner><ID>o</ID></Owner>\
                 <Buckets>{buckets}</Buckets>{next}</ListAllMyBucketsResult>"
            ),
        );
    }
    state
        .others
        .lock()
        .unwrap()
        .push(format!("{method} /{}", uri.path().trim_matches('/')));
    let bucket = uri.path().trim_matches('/');
    if !query.contains_key("versioning") {
        return xml(
            400,
            format!("<Error><Code>Unexpected</Code><Message>{uri}</Message></Error>"),
        );
    }
    match bucket {
        // Deleted between ListBuckets and its Get calls.
        "gone" => xml(
            404,
            "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>\
             <BucketName>gone</BucketName></Error>"
                .into(),
        ),
        "alpha" => xml(
            200,
            format!("<VersioningConfiguration xmlns=\"{S3_XMLNS}\"><Status>Enabled</Status></VersioningConfiguration>"),
        ),
        _ => xml(200, format!("<VersioningConfiguration xmlns=\"{S3_XMLNS}\"/>")),
    }
}

async fn collect_from_fake(fake: FakeS3) -> (LiveInventory, std::sync::Arc<FakeS3>) {
    let state = std::sync::Arc::new(fake);
    let app = axum::Router::new()
        .fallback(fake_s3)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let scope = AwsScope {
        regions: vec![REGION.to_string()],
        accounts: vec![AwsAccount {
            id: ACCOUNT_ID.to_string(),
            role_arn: None,
            external_id: None,
        }],
        profile: None,
        endpoint_url: Some(url),
        cloudtrail: Default::default(),
    };
    let options = CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        max_attempts: 1,
        ..CollectOptions::default()
    };
    let (inventory, _) = driftd::aws::collect(
        &scope,
        &[&s3::BUCKET_VERSIONING],
        &options,
        &SecretKey::from_bytes([3; 32]),
    )
    .await;
    (inventory, state)
}

#[tokio::test]
async fn every_page_of_buckets_is_read_and_each_region_keeps_its_own() {
    let (inventory, fake) = collect_from_fake(FakeS3::default()).await;
    assert_eq!(inventory.coverage.len(), 1);
    assert_eq!(inventory.coverage[0].listing, Listing::Complete);
    let versioning = attributes(&inventory, "aws_s3_bucket_versioning");
    let status: BTreeMap<&str, &str> = versioning
        .iter()
        .map(|(id, a)| {
            (
                id.as_str(),
                a["versioning_configuration"][0]["status"].as_str().unwrap(),
            )
        })
        .collect();
    // `gone` was deleted after the listing: left out, not a failure.
    assert_eq!(
        status,
        BTreeMap::from([
            ("alpha", "Enabled"),
            ("beta", "Disabled"),
            ("omega", "Disabled")
        ])
    );
    let queries = fake.list_queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 2, "{queries:?}");
    for (i, q) in queries.iter().enumerate() {
        assert_eq!(
            q.get("max-buckets").map(String::as_str),
            Some("10000"),
            "{q:?}"
        );
        assert_eq!(
            q.get("bucket-region").map(String::as_str),
            Some(REGION),
            "{q:?}"
        );
        let token = q.get("continuation-token").map(String::as_str);
        assert_eq!(token, [None, Some("page-2")][i], "{q:?}");
    }
    // The answer named every bucket's region: no GetBucketLocation, and no
    // call at all for the bucket of another region.
    let mut others = fake.others.lock().unwrap().clone();
    others.sort();
    assert_eq!(
        others,
        ["GET /alpha", "GET /beta", "GET /gone", "GET /omega"]
    );
}

#[tokio::test]
async fn a_failed_page_of_buckets_makes_the_listing_unknown_not_short() {
    let (inventory, _) = collect_from_fake(FakeS3 {
        fail_second_page: true,
        ..FakeS3::default()
    })
    .await;
    assert!(inventory.resources.is_empty());
    match &inventory.coverage[0].listing {
        Listing::Unknown { reason } => assert!(reason.contains("s3:ListBuckets"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_get_makes_only_the_types_that_need_it_unknown() {
    use crate::support::fault_proxy::{Fault, FaultProxy};
    let moto = MotoServer::start();
    build_buckets(&s3_client(&moto).await).await;
    let proxy = FaultProxy::start(&moto.endpoint_url());
    proxy.fault_operation("s3", "GET /full?policy", Fault::Deny);
    let options = CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        max_attempts: 1,
        ..CollectOptions::default()
    };
    let mut scope = scope(&moto, &[REGION]);
    scope.endpoint_url = Some(proxy.endpoint_url());
    let (inventory, _) =
        driftd::aws::collect(&scope, &S3_TYPES, &options, &SecretKey::from_bytes([3; 32])).await;
    let verdicts: BTreeMap<&str, bool> = inventory
        .coverage
        .iter()
        .map(|c| (c.resource_type.as_str(), c.listing == Listing::Complete))
        .collect();
    assert_eq!(
        verdicts,
        BTreeMap::from([
            ("aws_s3_bucket", false),
            ("aws_s3_bucket_policy", false),
            ("aws_s3_bucket_public_access_block", true),
            ("aws_s3_bucket_server_side_encryption_configuration", true),
            ("aws_s3_bucket_versioning", true),
        ])
    );
    let reason = format!("{:?}", inventory.coverage[0].listing);
    assert!(
        reason.contains("s3:GetBucketPolicy") && reason.contains("AccessDenied"),
        "{reason}"
    );
    // The denied call was made once for both types that need it.
    assert_eq!(proxy.count("s3", "GET /full?policy"), 1);
}
