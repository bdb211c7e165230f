//! Route 53, DynamoDB, SQS, SNS and ECR against a real AWS emulator (moto):
//! objects made with the SDK the way a person would, listed by driftd and
//! compared whole with the attributes hashicorp/aws 5.100.0 writes into state;
//! and a real `terraform apply` (fixture `misc`) whose state must show no
//! drift, equal the live mapping after a refresh, and whose out-of-band
//! changes driftd must name as Terraform's refresh-only plan does.

use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};
use crate::support::terraform::{DriftKind, Workspace};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, PointInTimeRecoverySpecification, Projection, ProjectionType,
    ProvisionedThroughput, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, TagResourceType, Vpc, VpcRegion,
};
use aws_sdk_sqs::types::QueueAttributeName;
use driftd::aws::types::{dynamodb, ecr, messaging, route53};
use driftd::aws::{CallStats, CollectOptions, TypeDef, collect};
use driftd::config::{AwsAccount, AwsScope};
use driftd::diff::{DiffOptions, DiffReport, Drift, diff};
use driftd::live::{GLOBAL, Listing, LiveInventory, TypeRules};
use driftd::model::Origin;
use driftd::secrets::SecretKey;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

const MISC: [&TypeDef; 6] = [
    &route53::ROUTE53_ZONE,
    &route53::ROUTE53_RECORD,
    &dynamodb::DYNAMODB_TABLE,
    &messaging::SQS_QUEUE,
    &messaging::SNS_TOPIC,
    &ecr::ECR_REPOSITORY,
];

/// The live-only marker of AWS-created objects (never a schema attribute).
const DEFAULT_MARKER: &str = driftd::aws::types::net::DEFAULT_MARKER;

fn rules(resource_type: &str) -> Option<&'static TypeRules> {
    MISC.iter()
        .find(|d| d.rules.resource_type == resource_type)
        .map(|d| d.rules)
}

/// moto answers Route 53 record values as `<Value><![CDATA[192.0.2.1]]></Value>`;
/// the Rust SDK's XML decoder skips CDATA sections and reads `""` (real Route 53
/// escapes the text instead; see `moto_route53_values_need_the_cdata_proxy`).
/// driftd lists through this proxy, which forwards everything to moto and
/// rewrites CDATA sections as escaped text. Terraform talks to moto directly.
async fn start_cdata_proxy(upstream: String) -> String {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let client = client.clone();
        let upstream = upstream.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut forward = client
                .request(parts.method, format!("{upstream}{path}"))
                .body(body);
            for (name, value) in &parts.headers {
                if name != "host" && name != "content-length" {
                    forward = forward.header(name, value);
                }
            }
            let answer = forward.send().await.unwrap();
            let mut response = axum::response::Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    response = response.header(name, value);
                }
            }
            let body = unwrap_cdata(&answer.bytes().await.unwrap());
            response.body(axum::body::Body::from(body)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// `<![CDATA[a&b]]>` → `a&amp;b`; bodies without CDATA are returned as they are.
fn unwrap_cdata(body: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec();
    };
    if !text.contains("<![CDATA[") {
        return body.to_vec();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<![CDATA[") {
        out.push_str(&rest[..start]);
        let inner = &rest[start + 9..];
        let end = inner.find("]]>").expect("a CDATA section ends");
        out.push_str(
            &inner[..end]
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
        );
        rest = &inner[end + 3..];
    }
    out.push_str(rest);
    out.into_bytes()
}

async fn list(moto: &MotoServer) -> LiveInventory {
    let endpoint = start_cdata_proxy(moto.endpoint_url()).await;
    list_at(endpoint).await
}

async fn list_at(endpoint: String) -> LiveInventory {
    let (inventory, _) = collect_at(endpoint).await;
    for c in &inventory.coverage {
        assert_eq!(c.listing, Listing::Complete, "{c:?}");
    }
    inventory
}

/// Lists the misc types at `endpoint`; every listing reported, whatever its outcome.
async fn collect_at(endpoint: String) -> (LiveInventory, std::sync::Arc<CallStats>) {
    let scope = AwsScope {
        regions: vec![REGION.to_string()],
        accounts: vec![AwsAccount {
            id: ACCOUNT_ID.to_string(),
            role_arn: None,
            external_id: None,
        }],
        profile: None,
        endpoint_url: Some(endpoint),
        cloudtrail: Default::default(),
    };
    let options = CollectOptions {
        credentials: Some(MotoServer::credentials_provider()),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(10),
        ..CollectOptions::default()
    };
    let (inventory, stats) =
        collect(&scope, &MISC, &options, &SecretKey::from_bytes([7; 32])).await;
    for c in &inventory.coverage {
        let expected_region = if c.resource_type.starts_with("aws_route53") {
            GLOBAL
        } else {
            REGION
        };
        assert_eq!(c.region, expected_region, "{c:?}");
    }
    assert_eq!(inventory.coverage.len(), MISC.len());
    (inventory, stats)
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

fn object(inventory: &LiveInventory, resource_type: &str, id: &str) -> Value {
    objects(inventory, resource_type)
        .remove(id)
        .unwrap_or_else(|| panic!("{resource_type} {id} was not listed"))
}

/// Sets (the type's `sets`, top level and one level down) in one order, so
/// whole objects compare with `assert_eq!`.
fn sorted_sets(mut v: Value, resource_type: &str) -> Value {
    let rules = rules(resource_type).unwrap();
    for path in rules.sets {
        let parts: Vec<&str> = path.split('.').collect();
        match parts.as_slice() {
            [top] => sort_array(&mut v[*top]),
            [top, inner] => {
                if let Some(items) = v[*top].as_array_mut() {
                    for item in items {
                        sort_array(&mut item[*inner]);
                    }
                }
            }
            _ => {}
        }
    }
    for path in rules.sets.iter().filter(|p| !p.contains('.')) {
        sort_array(&mut v[*path]);
    }
    v
}

fn sort_array(v: &mut Value) {
    if let Some(items) = v.as_array_mut() {
        items.sort_by_key(|i| i.to_string());
    }
}

/// Every live attribute is in the provider schema; the schema attributes left
/// out are exactly the ones the type ignores (plus `timeouts`, always ignored).
fn assert_schema(inventory: &LiveInventory) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-provider-schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for def in MISC {
        let t = def.rules.resource_type;
        let block = &schema["resource_schemas"][t]["block"];
        let mut in_schema = BTreeSet::new();
        for part in ["attributes", "block_types"] {
            if let Some(names) = block[part].as_object() {
                in_schema.extend(names.keys().cloned());
            }
        }
        let listed = objects(inventory, t);
        assert!(!listed.is_empty(), "no {t} listed");
        let mut mapped = BTreeSet::new();
        for (id, attributes) in &listed {
            for key in attributes.as_object().unwrap().keys() {
                if key == DEFAULT_MARKER {
                    continue;
                }
                assert!(
                    in_schema.contains(key),
                    "{t} {id}: `{key}` is not in the schema"
                );
                mapped.insert(key.clone());
            }
        }
        let left_out: BTreeSet<&str> = in_schema
            .iter()
            .filter(|k| !mapped.contains(*k))
            .map(String::as_str)
            .collect();
        let mut expected: BTreeSet<&str> = def
            .rules
            .ignore
            .iter()
            .copied()
            .filter(|k| *k != DEFAULT_MARKER)
            .collect();
        if in_schema.contains("timeouts") {
            expected.insert("timeouts");
        }
        assert_eq!(left_out, expected, "{t}: schema attributes not mapped");
        for set in def.rules.sets {
            let (top, inner) = set
                .split_once('.')
                .map_or((*set, None), |(a, b)| (a, Some(b)));
            let (ty, nesting) = match inner {
                None => (
                    &block["attributes"][top]["type"],
                    &block["block_types"][top]["nesting_mode"],
                ),
                Some(inner) => {
                    let nested = &block["block_types"][top]["block"];
                    (
                        &nested["attributes"][inner]["type"],
                        &nested["block_types"][inner]["nesting_mode"],
                    )
                }
            };
            assert!(
                ty.get(0) == Some(&json!("set")) || nesting == "set",
                "{t}.{set} is not a set in the schema"
            );
        }
    }
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// SDK-made objects, compared whole

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_made_objects_map_into_the_provider_shape() {
    let moto = MotoServer::start();
    let config = moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let ecr_client = aws_sdk_ecr::Client::new(&config);
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let r53 = aws_sdk_route53::Client::new(&config);
    let ec2 = aws_sdk_ec2::Client::new(&config);

    // --- SQS
    let minimal_url = sqs
        .create_queue()
        .queue_name("minimal")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let full_url = sqs
        .create_queue()
        .queue_name("full")
        .attributes(QueueAttributeName::VisibilityTimeout, "45")
        .attributes(QueueAttributeName::DelaySeconds, "5")
        .attributes(QueueAttributeName::MaximumMessageSize, "2048")
        .attributes(QueueAttributeName::MessageRetentionPeriod, "86400")
        .attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "10")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:minimal","maxReceiveCount":3}"#,
        )
        .tags("team", "queues")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let fifo_url = sqs
        .create_queue()
        .queue_name("orders.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    // --- SNS
    let minimal_topic = sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let full_topic = sns
        .create_topic()
        .name("events.fifo")
        .attributes("FifoTopic", "true")
        .attributes("ContentBasedDeduplication", "true")
        .attributes("DisplayName", "Events")
        .tags(
            aws_sdk_sns::types::Tag::builder()
                .key("team")
                .value("events")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();

    // --- ECR
    let plain_repo = ecr_client
        .create_repository()
        .repository_name("team/plain")
        .send()
        .await
        .unwrap()
        .repository
        .unwrap();
    let locked_repo = ecr_client
        .create_repository()
        .repository_name("locked")
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .image_scanning_configuration(
            aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .tags(
            aws_sdk_ecr::types::Tag::builder()
                .key("team")
                .value("images")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .repository
        .unwrap();

    // --- DynamoDB
    let attribute = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    ddb.create_table()
        .table_name("sessions")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .send()
        .await
        .unwrap();
    let orders = ddb
        .create_table()
        .table_name("orders")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(3)
                .build()
                .unwrap(),
        )
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("sk", ScalarAttributeType::N))
        .attribute_definitions(attribute("gsk", ScalarAttributeType::S))
        .attribute_definitions(attribute("lsk", ScalarAttributeType::B))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by-gsk")
                .key_schema(key("gsk", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes("b")
                        .non_key_attributes("a")
                        .build(),
                )
                .provisioned_throughput(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(2)
                        .write_capacity_units(1)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by-lsk")
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("lsk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("team")
                .value("data")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .table_description
        .unwrap();
    ddb.update_time_to_live()
        .table_name("orders")
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    ddb.update_continuous_backups()
        .table_name("orders")
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // --- Route 53
    let public = r53
        .create_hosted_zone()
        .name("example.org.")
        .caller_reference("public")
        .hosted_zone_config(HostedZoneConfig::builder().comment("public zone").build())
        .send()
        .await
        .unwrap();
    let public_id = public
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let mut public_ns: Vec<String> = public.delegation_set().unwrap().name_servers().to_vec();
    let public_primary = public_ns[0].clone();
    public_ns.sort();
    r53.change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(&public_id)
        .add_tags(
            aws_sdk_route53::types::Tag::builder()
                .key("team")
                .value("dns")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.50.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let private = r53
        .create_hosted_zone()
        .name("corp.internal")
        .caller_reference("private")
        .vpc(
            Vpc::builder()
                .vpc_id(&vpc)
                .vpc_region(VpcRegion::UsEast1)
                .build(),
        )
        // moto answers 500 to a zone config without a comment.
        .hosted_zone_config(
            HostedZoneConfig::builder()
                .comment("")
                .private_zone(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let private_id = private
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let record = |name: &str, kind: RrType, ttl: i64, values: &[&str]| {
        let mut set = ResourceRecordSet::builder()
            .name(name)
            .r#type(kind)
            .ttl(ttl);
        for v in values {
            set = set.resource_records(ResourceRecord::builder().value(*v).build().unwrap());
        }
        set
    };
    let changes = vec![
        record(
            "www.example.org.",
            RrType::A,
            300,
            &["192.0.2.1", "192.0.2.2"],
        )
        .build()
        .unwrap(),
        record("*.example.org.", RrType::Cname, 60, &["www.example.org"])
            .build()
            .unwrap(),
        record("app.example.org.", RrType::A, 30, &["192.0.2.9"])
            .set_identifier("blue")
            .weight(70)
            .build()
            .unwrap(),
        ResourceRecordSet::builder()
            .name("example.org.")
            .r#type(RrType::A)
            .alias_target(
                AliasTarget::builder()
                    .hosted_zone_id(&public_id)
                    .dns_name("WWW.example.org.")
                    .evaluate_target_health(false)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    ];
    r53.change_resource_record_sets()
        .hosted_zone_id(&public_id)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(
                    changes
                        .into_iter()
                        .map(|set| {
                            Change::builder()
                                .action(ChangeAction::Create)
                                .resource_record_set(set)
                                .build()
                                .unwrap()
                        })
                        .collect(),
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    r53.change_resource_record_sets()
        .hosted_zone_id(&private_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(
                            record("svc.corp.internal.", RrType::Txt, 300, &["\"hello world\""])
                                .build()
                                .unwrap(),
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

    let inventory = list(&moto).await;
    assert_schema(&inventory);

    // --- SQS, whole
    let queue = |url: &str, name: &str| {
        json!({
            "arn": format!("arn:aws:sqs:us-east-1:123456789012:{name}"),
            "content_based_deduplication": false,
            "deduplication_scope": "",
            "delay_seconds": 0,
            "fifo_queue": false,
            "fifo_throughput_limit": "",
            "id": url,
            "kms_data_key_reuse_period_seconds": 300,
            "kms_master_key_id": "",
            // AWS's default since 2025 (1 MiB); Terraform sends its own 262144.
            "max_message_size": 1048576,
            "message_retention_seconds": 345600,
            "name": name,
            "policy": "",
            "receive_wait_time_seconds": 0,
            "redrive_allow_policy": "",
            "redrive_policy": "",
            "sqs_managed_sse_enabled": true,
            "tags": {},
            "tags_all": {},
            "url": url,
            "visibility_timeout_seconds": 30,
        })
    };
    assert_eq!(
        object(&inventory, "aws_sqs_queue", &minimal_url),
        queue(&minimal_url, "minimal")
    );
    let mut full = queue(&full_url, "full");
    for (k, v) in [
        ("delay_seconds", json!(5)),
        ("max_message_size", json!(2048)),
        ("message_retention_seconds", json!(86400)),
        ("receive_wait_time_seconds", json!(10)),
        ("visibility_timeout_seconds", json!(45)),
        ("tags", tags(&[("team", "queues")])),
        ("tags_all", tags(&[("team", "queues")])),
    ] {
        full[k] = v;
    }
    let live_full = object(&inventory, "aws_sqs_queue", &full_url);
    let redrive: Value =
        serde_json::from_str(live_full["redrive_policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        redrive,
        json!({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:minimal", "maxReceiveCount": 3})
    );
    full["redrive_policy"] = live_full["redrive_policy"].clone();
    assert_eq!(live_full, full);
    let mut fifo = queue(&fifo_url, "orders.fifo");
    for (k, v) in [
        ("fifo_queue", json!(true)),
        ("content_based_deduplication", json!(true)),
        ("deduplication_scope", json!("queue")),
        ("fifo_throughput_limit", json!("perQueue")),
    ] {
        fifo[k] = v;
    }
    assert_eq!(object(&inventory, "aws_sqs_queue", &fifo_url), fifo);

    // --- SNS, whole (the default policy AWS writes is kept, as the provider does)
    let topic = |arn: &str, name: &str| {
        let mut t = serde_json::Map::new();
        for k in [
            "application_failure_feedback_role_arn",
            "application_success_feedback_role_arn",
            "archive_policy",
            "beginning_archive_time",
            "delivery_policy",
            "display_name",
            "fifo_throughput_scope",
            "firehose_failure_feedback_role_arn",
            "firehose_success_feedback_role_arn",
            "http_failure_feedback_role_arn",
            "http_success_feedback_role_arn",
            "kms_master_key_id",
            "lambda_failure_feedback_role_arn",
            "lambda_success_feedback_role_arn",
            "sqs_failure_feedback_role_arn",
            "sqs_success_feedback_role_arn",
            "tracing_config",
        ] {
            t.insert(k.into(), json!(""));
        }
        for k in [
            "application_success_feedback_sample_rate",
            "firehose_success_feedback_sample_rate",
            "http_success_feedback_sample_rate",
            "lambda_success_feedback_sample_rate",
            "signature_version",
            "sqs_success_feedback_sample_rate",
        ] {
            t.insert(k.into(), json!(0));
        }
        t.insert("content_based_deduplication".into(), json!(false));
        t.insert("fifo_topic".into(), json!(false));
        t.insert("arn".into(), json!(arn));
        t.insert("id".into(), json!(arn));
        t.insert("name".into(), json!(name));
        t.insert("owner".into(), json!(ACCOUNT_ID));
        t.insert("tags".into(), json!({}));
        t.insert("tags_all".into(), json!({}));
        Value::Object(t)
    };
    let mut live_minimal_topic = object(&inventory, "aws_sns_topic", &minimal_topic);
    let policy: Value =
        serde_json::from_str(live_minimal_topic["policy"].as_str().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Resource"], json!(minimal_topic));
    live_minimal_topic["policy"] = json!("");
    let mut expected = topic(&minimal_topic, "alerts");
    expected["policy"] = json!("");
    assert_eq!(live_minimal_topic, expected);
    let mut live_full_topic = object(&inventory, "aws_sns_topic", &full_topic);
    live_full_topic["policy"] = json!("");
    let mut expected = topic(&full_topic, "events.fifo");
    for (k, v) in [
        ("policy", json!("")),
        ("fifo_topic", json!(true)),
        ("content_based_deduplication", json!(true)),
        ("display_name", json!("Events")),
        ("tags", tags(&[("team", "events")])),
        ("tags_all", tags(&[("team", "events")])),
    ] {
        expected[k] = v;
    }
    assert_eq!(live_full_topic, expected);

    // --- ECR, whole
    let repository = |r: &aws_sdk_ecr::types::Repository| {
        json!({
            "arn": r.repository_arn().unwrap(),
            "encryption_configuration": [{"encryption_type": "AES256", "kms_key": ""}],
            "id": r.repository_name().unwrap(),
            "image_scanning_configuration": [{"scan_on_push": false}],
            "image_tag_mutability": "MUTABLE",
            "name": r.repository_name().unwrap(),
            "registry_id": ACCOUNT_ID,
            "repository_url": r.repository_uri().unwrap(),
            "tags": {},
            "tags_all": {},
        })
    };
    assert_eq!(
        object(&inventory, "aws_ecr_repository", "team/plain"),
        repository(&plain_repo)
    );
    let mut expected = repository(&locked_repo);
    expected["image_scanning_configuration"] = json!([{"scan_on_push": true}]);
    expected["image_tag_mutability"] = json!("IMMUTABLE");
    expected["tags"] = tags(&[("team", "images")]);
    expected["tags_all"] = tags(&[("team", "images")]);
    assert_eq!(object(&inventory, "aws_ecr_repository", "locked"), expected);

    // --- DynamoDB, whole
    assert_eq!(
        object(&inventory, "aws_dynamodb_table", "sessions"),
        json!({
            "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/sessions",
            "attribute": [{"name": "pk", "type": "S"}],
            "billing_mode": "PAY_PER_REQUEST",
            "deletion_protection_enabled": false,
            "global_secondary_index": [],
            "hash_key": "pk",
            "id": "sessions",
            "local_secondary_index": [],
            "name": "sessions",
            "on_demand_throughput": [],
            "point_in_time_recovery": [{"enabled": false, "recovery_period_in_days": 0}],
            "range_key": null,
            "read_capacity": 0,
            "replica": [],
            "server_side_encryption": [],
            "stream_arn": "",
            "stream_enabled": false,
            "stream_label": "",
            "stream_view_type": "",
            "table_class": "STANDARD",
            "tags": {},
            "tags_all": {},
            "ttl": [{"attribute_name": "", "enabled": false}],
            "write_capacity": 0,
        })
    );
    assert_eq!(
        sorted_sets(
            object(&inventory, "aws_dynamodb_table", "orders"),
            "aws_dynamodb_table"
        ),
        sorted_sets(
            json!({
                "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
                "attribute": [
                    {"name": "pk", "type": "S"},
                    {"name": "sk", "type": "N"},
                    {"name": "gsk", "type": "S"},
                    {"name": "lsk", "type": "B"},
                ],
                "billing_mode": "PROVISIONED",
                "deletion_protection_enabled": false,
                "global_secondary_index": [{
                    "hash_key": "gsk",
                    "name": "by-gsk",
                    "non_key_attributes": ["a", "b"],
                    "on_demand_throughput": [],
                    "projection_type": "INCLUDE",
                    "range_key": "",
                    "read_capacity": 2,
                    "write_capacity": 1,
                }],
                "hash_key": "pk",
                "id": "orders",
                "local_secondary_index": [{
                    "name": "by-lsk",
                    "non_key_attributes": [],
                    "projection_type": "KEYS_ONLY",
                    "range_key": "lsk",
                }],
                "name": "orders",
                "on_demand_throughput": [],
                "point_in_time_recovery": [{"enabled": true, "recovery_period_in_days": 0}],
                "range_key": "sk",
                "read_capacity": 5,
                "replica": [],
                "server_side_encryption": [],
                "stream_arn": orders.latest_stream_arn().unwrap(),
                "stream_enabled": true,
                "stream_label": orders.latest_stream_label().unwrap(),
                "stream_view_type": "NEW_IMAGE",
                "table_class": "STANDARD",
                "tags": {"team": "data"},
                "tags_all": {"team": "data"},
                "ttl": [{"attribute_name": "expires", "enabled": true}],
                "write_capacity": 3,
            }),
            "aws_dynamodb_table"
        )
    );

    // --- Route 53 zones, whole
    assert_eq!(
        object(&inventory, "aws_route53_zone", &public_id),
        json!({
            "arn": format!("arn:aws:route53:::hostedzone/{public_id}"),
            "comment": "public zone",
            "delegation_set_id": "",
            "id": public_id,
            "name": "example.org",
            "name_servers": public_ns,
            "primary_name_server": public_primary,
            "tags": {"team": "dns"},
            "tags_all": {"team": "dns"},
            "vpc": [],
            "zone_id": public_id,
        })
    );
    let live_private = object(&inventory, "aws_route53_zone", &private_id);
    let private_ns = live_private["name_servers"].clone();
    assert!(
        private_ns.as_array().is_some_and(|ns| !ns.is_empty()),
        "a private zone's name servers come from its apex NS record: {live_private}"
    );
    assert_eq!(
        live_private,
        json!({
            "arn": format!("arn:aws:route53:::hostedzone/{private_id}"),
            "comment": "",
            "delegation_set_id": "",
            "id": private_id,
            "name": "corp.internal",
            "name_servers": private_ns,
            "primary_name_server": private_ns[0],
            "tags": {},
            "tags_all": {},
            "vpc": [{"vpc_id": vpc, "vpc_region": "us-east-1"}],
            "zone_id": private_id,
        })
    );

    // --- Route 53 records, whole
    let records = objects(&inventory, "aws_route53_record");
    let plain = |zone: &str, name: &str, kind: &str, ttl: i64, values: Value| {
        json!({
            "alias": [],
            "cidr_routing_policy": [],
            "failover_routing_policy": [],
            "fqdn": name,
            "geolocation_routing_policy": [],
            "geoproximity_routing_policy": [],
            "health_check_id": "",
            "id": format!("{zone}_{name}_{kind}"),
            "latency_routing_policy": [],
            "multivalue_answer_routing_policy": false,
            "name": name,
            "records": values,
            "set_identifier": "",
            "ttl": ttl,
            "type": kind,
            "weighted_routing_policy": [],
            "zone_id": zone,
            DEFAULT_MARKER: false,
        })
    };
    let record_of = |id: &str| {
        sorted_sets(
            records
                .get(id)
                .unwrap_or_else(|| panic!("record {id} not listed: {:?}", records.keys()))
                .clone(),
            "aws_route53_record",
        )
    };
    let www = format!("{public_id}_www.example.org_A");
    assert_eq!(
        record_of(&www),
        plain(
            &public_id,
            "www.example.org",
            "A",
            300,
            json!(["192.0.2.1", "192.0.2.2"])
        )
    );
    let wildcard = format!("{public_id}_*.example.org_CNAME");
    assert_eq!(
        record_of(&wildcard),
        plain(
            &public_id,
            "*.example.org",
            "CNAME",
            60,
            json!(["www.example.org"])
        )
    );
    let mut weighted = plain(&public_id, "app.example.org", "A", 30, json!(["192.0.2.9"]));
    weighted["id"] = json!(format!("{public_id}_app.example.org_A_blue"));
    weighted["set_identifier"] = json!("blue");
    weighted["weighted_routing_policy"] = json!([{"weight": 70}]);
    assert_eq!(
        record_of(&format!("{public_id}_app.example.org_A_blue")),
        weighted
    );
    let mut alias = plain(&public_id, "example.org", "A", 0, json!([]));
    alias["alias"] =
        json!([{"evaluate_target_health": false, "name": "www.example.org", "zone_id": public_id}]);
    assert_eq!(record_of(&format!("{public_id}_example.org_A")), alias);
    assert_eq!(
        record_of(&format!("{private_id}_svc.corp.internal_TXT")),
        plain(
            &private_id,
            "svc.corp.internal",
            "TXT",
            300,
            json!(["hello world"])
        )
    );
    // The SOA and apex NS records AWS made are listed, and are AWS's own.
    let defaults: BTreeSet<String> = records
        .iter()
        .filter(|(_, r)| (route53::ROUTE53_RECORD.rules.is_default)(r))
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(
        defaults,
        BTreeSet::from([
            format!("{public_id}_example.org_NS"),
            format!("{public_id}_example.org_SOA"),
            format!("{private_id}_corp.internal_NS"),
            format!("{private_id}_corp.internal_SOA"),
        ])
    );
    assert_eq!(records.len(), 9);
}

/// The moto quirk behind [`start_cdata_proxy`]: listed straight from moto,
/// every Route 53 record value reads empty. If this fails, moto or the SDK
/// changed, and the proxy can go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_route53_values_need_the_cdata_proxy() {
    let moto = MotoServer::start();
    let r53 = aws_sdk_route53::Client::new(&moto.sdk_config().await);
    let zone = r53
        .create_hosted_zone()
        .name("example.net")
        .caller_reference("cdata")
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let direct = list_at(moto.endpoint_url()).await;
    let ns = object(
        &direct,
        "aws_route53_record",
        &format!("{zone_id}_example.net_NS"),
    );
    assert!(
        ns["records"].as_array().unwrap().iter().all(|v| v == ""),
        "moto's CDATA values read empty: {ns}"
    );
    let proxied = list(&moto).await;
    let ns = object(
        &proxied,
        "aws_route53_record",
        &format!("{zone_id}_example.net_NS"),
    );
    assert!(
        ns["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.as_str().is_some_and(|v| v.starts_with("ns-"))),
        "{ns}"
    );
}

/// `ListResourceRecordSets` pages by (name, type, identifier), not by token:
/// a zone with more records than one page holds is read whole, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_sets_are_read_over_several_pages() {
    let moto = MotoServer::start();
    let r53 = aws_sdk_route53::Client::new(&moto.sdk_config().await);
    let zone = r53
        .create_hosted_zone()
        .name("many.example")
        .caller_reference("many")
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    // 350 records: more than the 300 a page holds.
    let changes: Vec<Change> = (0..350)
        .map(|n| {
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(
                    ResourceRecordSet::builder()
                        .name(format!("host{n:03}.many.example."))
                        .r#type(RrType::A)
                        .ttl(60)
                        .resource_records(
                            ResourceRecord::builder()
                                .value(format!("10.0.{}.{}", n / 250, n % 250))
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        })
        .collect();
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let proxy = FaultProxy::start(&start_cdata_proxy(moto.endpoint_url()).await);
    let (inventory, _) = collect_at(proxy.endpoint_url()).await;
    assert!(!inventory.is_partial(), "{:?}", inventory.coverage);
    let records = objects(&inventory, "aws_route53_record");
    assert_eq!(records.len(), 352, "350 records, the SOA and the NS");
    assert_eq!(
        records[&format!("{zone_id}_host349.many.example_A")]["records"],
        json!(["10.0.1.99"])
    );
    // Two pages of records for the zone, read once for both Route 53 types.
    let record_pages = proxy
        .counts()
        .iter()
        .filter(|(call, _)| call.service == "route53" && call.operation.contains("/rrset"))
        .map(|(_, n)| *n)
        .sum::<usize>();
    assert_eq!(record_pages, 2, "{:#?}", proxy.counts());
}

/// A detail call that fails makes its type's listing unknown, never a short
/// list; the other types are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_detail_call_makes_the_listing_unknown() {
    let moto = MotoServer::start();
    let config = moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    for name in ["a", "b", "c"] {
        sqs.create_queue().queue_name(name).send().await.unwrap();
    }
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    ddb.create_table()
        .table_name("t")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let proxy = FaultProxy::start(&moto.endpoint_url());
    proxy.fault_operation("sqs", "ListQueueTags", Fault::Deny);
    proxy.fault_operation("dynamodb", "DescribeTimeToLive", Fault::Deny);
    let (inventory, _) = collect_at(proxy.endpoint_url()).await;
    for c in &inventory.coverage {
        match c.resource_type.as_str() {
            "aws_sqs_queue" | "aws_dynamodb_table" => {
                let Listing::Unknown { reason } = &c.listing else {
                    panic!("{c:?}");
                };
                assert!(
                    reason.contains("sqs:ListQueueTags")
                        || reason.contains("dynamodb:DescribeTimeToLive"),
                    "{reason}"
                );
            }
            _ => assert_eq!(c.listing, Listing::Complete, "{c:?}"),
        }
    }
    assert!(objects(&inventory, "aws_sqs_queue").is_empty());
    assert!(objects(&inventory, "aws_dynamodb_table").is_empty());
}

// ---------------------------------------------------------------------------
// Terraform as referee

/// The managed resources of a state, parsed as driftd reads states.
fn desired(ws: &Workspace) -> Vec<driftd::model::Resource> {
    let bytes = std::fs::read(ws.state_path()).unwrap();
    let state = driftd::state::parse_state(
        &bytes,
        &Origin::from("file:terraform.tfstate"),
        &SecretKey::from_bytes([7; 32]),
    )
    .unwrap();
    state.resources
}

/// driftd's diff of a state against a listing, with the misc types' rules only
/// (the fixture's VPC is another family's).
fn drift(ws: &Workspace, live: &LiveInventory) -> DiffReport {
    diff(&desired(ws), live, &rules, &DiffOptions::default())
}

/// Changed and missing drift as `address -> kind`, in the referee's terms.
fn changed_and_missing(report: &DiffReport) -> BTreeMap<String, DriftKind> {
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

/// `type id attribute: state … live …` for every live attribute that differs
/// from the state after both sides went through the type's normalisation
/// (ignored attributes and the always-ignored `id`/`timeouts` left out; `tags`
/// against the state's configured tags, `tags_all` against every tag).
fn state_differences(ws: &Workspace, inventory: &LiveInventory) -> (Vec<String>, usize) {
    let state = ws.state_json();
    let mut found = Vec::new();
    let mut compared = 0;
    for r in state["resources"].as_array().unwrap() {
        let t = r["type"].as_str().unwrap();
        let Some(rules) = rules(t) else { continue };
        for instance in r["instances"].as_array().unwrap() {
            let mut desired = instance["attributes"].clone();
            let id = desired["id"].as_str().unwrap().to_string();
            let key = match rules.desired_parts {
                Some(parts) => parts(&desired).unwrap().remove(0).0,
                None => id.clone(),
            };
            let mut live = object(inventory, t, &key);
            (rules.normalize)(&mut desired, &mut live);
            let desired = sorted_sets(desired, t);
            let live = sorted_sets(live, t);
            for (name, live_value) in live.as_object().unwrap() {
                if rules.ignore.contains(&name.as_str()) || name == "id" {
                    continue;
                }
                let state_value = desired.get(name).unwrap_or(&Value::Null);
                let empty =
                    |v: &Value| v.is_null() || v == "" || v == &json!([]) || v == &json!({});
                // JSON text (policies) is compared as JSON: the diff compares
                // policies by meaning, and AWS spells them its own way.
                let as_json = |v: &Value| {
                    v.as_str()
                        .and_then(|t| serde_json::from_str::<Value>(t).ok())
                        .filter(Value::is_object)
                };
                let same_json =
                    as_json(state_value).is_some() && as_json(state_value) == as_json(live_value);
                if state_value != live_value
                    && !(empty(state_value) && empty(live_value))
                    && !same_json
                {
                    found.push(format!(
                        "{t} {id} {name}: state {state_value} live {live_value}"
                    ));
                }
            }
            compared += 1;
        }
    }
    (found, compared)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_is_the_referee_for_changed_missing_and_unmanaged() {
    let moto = MotoServer::start();
    let mut ws = Workspace::new("misc", &moto.endpoint_url());
    tokio::task::block_in_place(|| {
        ws.init();
        ws.apply();
    });

    // Right after the apply: the raw state shows no drift at all.
    let live = list(&moto).await;
    let report = drift(&ws, &live);
    assert!(report.drifts.is_empty(), "{:#?}", report.drifts);
    assert_eq!(report.managed, 18, "{report:#?}");
    assert!(report.diagnostics.is_empty(), "{:#?}", report.diagnostics);

    // After a refresh the state's attributes are the live mapping's.
    let plan = tokio::task::block_in_place(|| ws.plan_refresh_only());
    // Terraform's own refresh only turns the `null`s its create wrote into
    // empty values (`tags = {}`, `records = []`): nothing really changed.
    let empty = |v: &Value| v.is_null() || v == &json!({}) || v == &json!([]);
    for d in &plan.drift {
        let DriftKind::Changed(attributes) = d.kind() else {
            panic!("{d}");
        };
        for a in attributes {
            assert!(empty(&d.before[&a]) && empty(&d.after[&a]), "{d}: {a}");
        }
    }
    tokio::task::block_in_place(|| ws.apply_refresh_plan(&plan));
    let (found, compared) = state_differences(&ws, &live);
    assert!(
        found.is_empty(),
        "refreshed state differs:\n{}",
        found.join("\n")
    );
    assert_eq!(compared, 18);
    assert_schema(&live);

    // A person changes one thing of each type through the API, deletes a
    // queue, and creates one outside Terraform.
    let config = moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let ecr_client = aws_sdk_ecr::Client::new(&config);
    let r53 = aws_sdk_route53::Client::new(&config);
    sqs.set_queue_attributes()
        .queue_url(ws.resource_id("aws_sqs_queue.full"))
        .attributes(QueueAttributeName::VisibilityTimeout, "120")
        .send()
        .await
        .unwrap();
    sqs.delete_queue()
        .queue_url(ws.resource_id("aws_sqs_queue.minimal"))
        .send()
        .await
        .unwrap();
    let stray = sqs
        .create_queue()
        .queue_name("made-by-hand")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    ddb.tag_resource()
        .resource_arn("arn:aws:dynamodb:us-east-1:123456789012:table/driftd-full")
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("cost-center")
                .value("42")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    sns.set_topic_attributes()
        .topic_arn(ws.resource_id("aws_sns_topic.full"))
        .attribute_name("DisplayName")
        .attribute_value("Renamed by hand")
        .send()
        .await
        .unwrap();
    ecr_client
        .put_image_scanning_configuration()
        .repository_name("driftd/minimal")
        .image_scanning_configuration(
            aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let zone = ws.resource_id("aws_route53_zone.public");
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Upsert)
                        .resource_record_set(
                            ResourceRecordSet::builder()
                                .name("app.example.com.")
                                .r#type(RrType::A)
                                .set_identifier("blue")
                                .weight(90)
                                .ttl(600)
                                .resource_records(
                                    ResourceRecord::builder()
                                        .value("192.0.2.20")
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
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
    r53.update_hosted_zone_comment()
        .id(&zone)
        .comment("edited in the console")
        .send()
        .await
        .unwrap();

    let referee: BTreeMap<String, DriftKind> =
        tokio::task::block_in_place(|| ws.plan_refresh_only())
            .drift
            .into_iter()
            .map(|d| {
                let kind = match d.kind() {
                    // driftd compares every tag under `tags`; Terraform names
                    // `tags_all` (default tags included) too.
                    DriftKind::Changed(mut attributes) => {
                        if attributes.remove("tags_all") {
                            attributes.insert("tags".to_string());
                        }
                        DriftKind::Changed(attributes)
                    }
                    other => other,
                };
                (d.address, kind)
            })
            .collect();
    let changed =
        |names: &[&str]| DriftKind::Changed(names.iter().map(|s| s.to_string()).collect());
    assert_eq!(
        referee,
        BTreeMap::from([
            ("aws_dynamodb_table.full".to_string(), changed(&["tags"])),
            (
                "aws_ecr_repository.minimal".to_string(),
                changed(&["image_scanning_configuration"])
            ),
            (
                "aws_route53_record.weighted_blue".to_string(),
                changed(&["ttl"])
            ),
            ("aws_route53_zone.public".to_string(), changed(&["comment"])),
            ("aws_sns_topic.full".to_string(), changed(&["display_name"])),
            (
                "aws_sqs_queue.full".to_string(),
                changed(&["visibility_timeout_seconds"])
            ),
            ("aws_sqs_queue.minimal".to_string(), DriftKind::Deleted),
        ]),
        "what the referee saw"
    );
    let live = list(&moto).await;
    let report = drift(&ws, &live);
    assert_eq!(
        changed_and_missing(&report),
        referee,
        "driftd names what Terraform names:\n{:#?}",
        report.drifts
    );
    assert_eq!(
        unmanaged(&report),
        BTreeSet::from([format!("aws_sqs_queue.{stray}")]),
        "only the hand-made queue is unmanaged (the zones' SOA and NS records are AWS's own)"
    );
}
