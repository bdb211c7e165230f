//! KMS collectors against a real emulator (moto): keys and aliases made with
//! the SDK, listed by driftd and compared whole with the shape hashicorp/aws
//! 5.100.0 writes; then a real `terraform apply` whose state must show no
//! drift against the live mapping, and out-of-band changes (rotation turned
//! on, a key scheduled for deletion, an alias made by hand) that driftd and
//! Terraform must both name.

use aws_sdk_kms::types::{
    KeyManagerType, KeyMetadata, KeySpec, KeyState, KeyUsageType, OriginType, Tag,
};
use driftd::aws::TypeDef;
use driftd::aws::types::kms;
use serde_json::{Value, json};

use crate::aws_rds::{
    assert_same, assert_schema, assert_state_equals_live, collect_at, collect_types, drift, find,
    listing, objects, referee, summary,
};
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};
use crate::support::terraform::Workspace;
use driftd::live::Listing;

const KMS_TYPES: &[&TypeDef] = &[&kms::KMS_KEY, &kms::KMS_ALIAS];

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Id": "key-app",
  "Statement": [{
    "Sid": "Root",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": "kms:*",
    "Resource": "*"
  }]
}"#;

async fn kms_client(moto: &MotoServer) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&moto.sdk_config().await)
}

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_types_map_into_the_provider_shape() {
    let moto = MotoServer::start();
    let client = kms_client(&moto).await;

    let minimal = client
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let app = client
        .create_key()
        .description("application data")
        .policy(POLICY)
        .tags(
            Tag::builder()
                .tag_key("Name")
                .tag_value("app")
                .build()
                .unwrap(),
        )
        .tags(
            Tag::builder()
                .tag_key("team")
                .tag_value("data")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    client
        .enable_key_rotation()
        .key_id(&app)
        .send()
        .await
        .unwrap();
    let signing = client
        .create_key()
        .key_usage(KeyUsageType::SignVerify)
        .key_spec(KeySpec::Rsa2048)
        .multi_region(true)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    client.disable_key().key_id(&signing).send().await.unwrap();
    let doomed = client
        .create_key()
        .description("scheduled for deletion")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    client
        .schedule_key_deletion()
        .key_id(&doomed)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .alias_name("alias/app")
        .target_key_id(&app)
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .alias_name("alias/app-20261121123638356400000001")
        .target_key_id(&minimal)
        .send()
        .await
        .unwrap();

    let inventory = collect_types(&moto, KMS_TYPES).await;
    let keys = objects(&inventory, "aws_kms_key");
    assert_eq!(
        keys.len(),
        3,
        "the key pending deletion is not listed: {keys:#?}"
    );
    let default_policy = |o: &Value| o["policy"].clone();

    let live_minimal = find(&inventory, "aws_kms_key", "id", &minimal);
    assert_same(
        "aws_kms_key",
        &live_minimal,
        &json!({
            "arn": key_arn(&minimal),
            "custom_key_store_id": "",
            "customer_master_key_spec": "SYMMETRIC_DEFAULT",
            "description": "",
            "enable_key_rotation": false,
            "id": minimal,
            "is_enabled": true,
            "key_id": minimal,
            // moto leaves `KeyUsage` out when `CreateKey` did not name it
            // (AWS answers `ENCRYPT_DECRYPT`); the provider stores what it gets.
            "key_usage": "",
            "multi_region": false,
            // moto's default key policy: the account root may do everything.
            "policy": default_policy(&live_minimal),
            "rotation_period_in_days": 0,
            "tags": {},
            "tags_all": {},
            "xks_key_id": "",
        }),
        &[],
    );
    let policy: Value = serde_json::from_str(live_minimal["policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Principal"],
        json!({"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:root")})
    );

    let live_app = find(&inventory, "aws_kms_key", "id", &app);
    assert_same(
        "aws_kms_key",
        &live_app,
        &json!({
            "arn": key_arn(&app),
            "custom_key_store_id": "",
            "customer_master_key_spec": "SYMMETRIC_DEFAULT",
            "description": "application data",
            "enable_key_rotation": true,
            "id": app,
            "is_enabled": true,
            "key_id": app,
            "key_usage": "",
            "multi_region": false,
            "policy": POLICY,
            "rotation_period_in_days": 0,
            "tags": {"Name": "app", "team": "data"},
            "tags_all": {"Name": "app", "team": "data"},
            "xks_key_id": "",
        }),
        &[],
    );

    let live_signing = find(&inventory, "aws_kms_key", "id", &signing);
    assert_same(
        "aws_kms_key",
        &live_signing,
        &json!({
            "arn": key_arn(&signing),
            "custom_key_store_id": "",
            "customer_master_key_spec": "RSA_2048",
            "description": "",
            "enable_key_rotation": false,
            "id": signing,
            "is_enabled": false,
            "key_id": signing,
            "key_usage": "SIGN_VERIFY",
            "multi_region": true,
            "policy": default_policy(&live_signing),
            "rotation_period_in_days": 0,
            "tags": {},
            "tags_all": {},
            "xks_key_id": "",
        }),
        &[],
    );

    let alias = find(&inventory, "aws_kms_alias", "id", "alias/app");
    assert_same(
        "aws_kms_alias",
        &alias,
        &json!({
            "arn": format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:alias/app"),
            "id": "alias/app",
            "name": "alias/app",
            "name_prefix": "",
            "target_key_arn": key_arn(&app),
            "target_key_id": app,
        }),
        &[],
    );
    let prefixed = find(
        &inventory,
        "aws_kms_alias",
        "id",
        "alias/app-20261121123638356400000001",
    );
    assert_eq!(prefixed["name_prefix"], "alias/app-");
    assert_eq!(prefixed["target_key_id"], json!(minimal));

    // moto lists AWS's reserved aliases (`alias/aws/ebs`, …): AWS's own.
    let aliases = objects(&inventory, "aws_kms_alias");
    let aws_owned: Vec<&Value> = aliases
        .iter()
        .filter(|a| a["name"].as_str().unwrap().starts_with("alias/aws/"))
        .collect();
    assert!(!aws_owned.is_empty());
    for a in aws_owned {
        assert!((kms::KMS_ALIAS.rules.is_default)(a), "{a}");
    }
    assert!(!(kms::KMS_ALIAS.rules.is_default)(&alias));
    for k in &keys {
        assert!(!(kms::KMS_KEY.rules.is_default)(k), "customer keys: {k}");
    }

    assert_schema(
        &kms::KMS_KEY,
        &keys,
        &[
            "bypass_policy_lockout_safety_check",
            "deletion_window_in_days",
            "timeouts",
        ],
    );
    assert_schema(&kms::KMS_ALIAS, &aliases, &[]);
}

/// moto has no AWS-managed keys: the mapping of one is checked on
/// `DescribeKey` output built by hand, as AWS returns it for `aws/s3`.
#[test]
fn aws_managed_keys_are_aws_defaults() {
    let metadata = KeyMetadata::builder()
        .key_id("0e0f0a0b-1111-2222-3333-444455556666")
        .arn("arn:aws:kms:eu-west-1:111122223333:key/0e0f0a0b-1111-2222-3333-444455556666")
        .description("Default key that protects my S3 objects when no other key is defined")
        .enabled(true)
        .key_manager(KeyManagerType::Aws)
        .key_state(KeyState::Enabled)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .key_spec(KeySpec::SymmetricDefault)
        .origin(OriginType::AwsKms)
        .multi_region(false)
        .build()
        .unwrap();
    assert!(kms::is_kms_key(&metadata));
    let live = kms::kms_key_attributes(&metadata, "{}", Some((true, Some(365))), &[]);
    assert!((kms::KMS_KEY.rules.is_default)(&live));
    assert_eq!(live["enable_key_rotation"], true);
    assert_eq!(live["rotation_period_in_days"], 365);
    assert_eq!(live["description"], metadata.description().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_kms_state_matches_the_live_mapping_and_drift_matches_terraform() {
    let moto = MotoServer::start();
    let mut ws = Workspace::new("kms", &moto.endpoint_url());
    tokio::task::block_in_place(|| {
        ws.init();
        ws.apply();
    });

    // (i) Right after apply: the raw state shows no drift.
    let live = collect_types(&moto, KMS_TYPES).await;
    let report = drift(&ws.state_path(), KMS_TYPES, &live);
    assert_eq!(summary(&report), Vec::<String>::new(), "{report:#?}");
    assert_eq!(report.managed, 4);

    // (ii) After a refresh the state holds exactly the live mapping.
    tokio::task::block_in_place(|| ws.refresh_only_apply());
    let live = collect_types(&moto, KMS_TYPES).await;
    assert_state_equals_live(&ws, KMS_TYPES, &live);
    assert_eq!(
        summary(&drift(&ws.state_path(), KMS_TYPES, &live)),
        Vec::<String>::new()
    );

    // Out of band: rotation turned on for the minimal key, the app key
    // scheduled for deletion, an alias made by hand on the minimal key.
    let client = kms_client(&moto).await;
    let minimal = ws.resource_id("aws_kms_key.minimal");
    let app = ws.resource_id("aws_kms_key.app");
    client
        .enable_key_rotation()
        .key_id(&minimal)
        .send()
        .await
        .unwrap();
    client
        .schedule_key_deletion()
        .key_id(&app)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .alias_name("alias/by-hand")
        .target_key_id(&minimal)
        .send()
        .await
        .unwrap();

    let live = collect_types(&moto, KMS_TYPES).await;
    assert_eq!(
        summary(&drift(&ws.state_path(), KMS_TYPES, &live)),
        vec![
            "changed aws_kms_key.minimal: enable_key_rotation".to_string(),
            "missing aws_kms_key.app".to_string(),
            "unmanaged aws_kms_alias.alias/by-hand".to_string(),
        ]
    );
    // Terraform, as referee: the same key and attribute changed, the key
    // pending deletion gone. (Its alias still names the key, as in AWS.)
    let plan = tokio::task::block_in_place(|| ws.plan_refresh_only());
    assert_eq!(
        referee(&plan, KMS_TYPES),
        vec![
            "aws_kms_key.app: deleted".to_string(),
            "aws_kms_key.minimal: enable_key_rotation".to_string(),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_costs_four_calls_and_a_failed_one_makes_keys_unknown() {
    let moto = MotoServer::start();
    let client = kms_client(&moto).await;
    for n in 0..6 {
        client
            .create_key()
            .description(format!("key {n}"))
            .send()
            .await
            .unwrap();
    }
    let proxy = FaultProxy::start(&moto.endpoint_url());
    let inventory = collect_at(&proxy.endpoint_url(), KMS_TYPES).await;
    assert_eq!(listing(&inventory, "aws_kms_key"), Listing::Complete);
    assert_eq!(objects(&inventory, "aws_kms_key").len(), 6);
    assert_eq!(proxy.count("kms", "ListKeys"), 1);
    for operation in [
        "DescribeKey",
        "GetKeyPolicy",
        "GetKeyRotationStatus",
        "ListResourceTags",
    ] {
        assert_eq!(proxy.count("kms", operation), 6, "{operation}");
    }
    assert_eq!(proxy.count("kms", "ListAliases"), 1);

    proxy.fault_operation("kms", "GetKeyRotationStatus", Fault::Deny);
    let inventory = collect_at(&proxy.endpoint_url(), KMS_TYPES).await;
    match listing(&inventory, "aws_kms_key") {
        Listing::Unknown { reason } => {
            assert!(reason.contains("kms:GetKeyRotationStatus"), "{reason}")
        }
        Listing::Complete => panic!("a failed rotation call must not give a short listing"),
    }
    assert!(objects(&inventory, "aws_kms_key").is_empty());
    assert_eq!(listing(&inventory, "aws_kms_alias"), Listing::Complete);
}
