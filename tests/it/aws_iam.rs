//! IAM collectors against a real emulator (moto): objects created with the SDK
//! the way a person would, listed by driftd, compared whole with the shape
//! hashicorp/aws 5.100.0 writes into state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aws_sdk_iam::types::Tag;
use driftd::aws::types::iam;
use driftd::aws::{CollectOptions, TypeDef};
use driftd::config::{AwsAccount, AwsScope};
use driftd::live::{Coverage, GLOBAL, Listing};
use driftd::secrets::SecretKey;
use serde_json::{Value, json};

use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const READ_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"]}]}"#;
const DENY_LOGS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Deny", "Action": "logs:CreateLogGroup", "Resource": "*"}]
}"#;
const DESCRIBE_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#;
const AWS_MANAGED: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

/// moto with the AWS-managed policies loaded, as real accounts have them.
fn start_moto() -> MotoServer {
    MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
}

async fn iam_client(moto: &MotoServer) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&moto.sdk_config().await)
}

/// What the collector returned for one type: `(id, attributes)` by id, and coverage.
struct Listed {
    objects: BTreeMap<String, Value>,
    coverage: Vec<Coverage>,
    iam_requests: u64,
}

async fn collect(moto: &MotoServer, def: &'static TypeDef) -> Listed {
    let scope = AwsScope {
        // Two regions: a global type must still be listed once.
        regions: vec![REGION.to_string(), "eu-west-1".to_string()],
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
        max_attempts: 1,
        ..CollectOptions::default()
    };
    let key = SecretKey::from_bytes([7; 32]);
    let (inventory, stats) = driftd::aws::collect(&scope, &[def], &options, &key).await;
    let mut objects = BTreeMap::new();
    for r in &inventory.resources {
        assert_eq!(&*r.key.resource_type, def.rules.resource_type);
        assert_eq!(&*r.origin, format!("aws:{ACCOUNT_ID}:{GLOBAL}"));
        let previous = objects.insert(r.key.id.clone(), r.attributes.to_value());
        assert!(previous.is_none(), "{} listed twice", r.key.id);
    }
    Listed {
        objects,
        coverage: inventory.coverage,
        iam_requests: stats.snapshot().get("iam").map_or(0, |s| s.requests),
    }
}

/// The listing is complete, once per account, labelled `global`.
fn assert_listed_once(listed: &Listed, resource_type: &str) {
    assert_eq!(
        listed.coverage,
        vec![Coverage {
            resource_type: resource_type.to_string(),
            account: ACCOUNT_ID.to_string(),
            region: GLOBAL.to_string(),
            listing: Listing::Complete,
            listed: listed.objects.len(),
        }]
    );
}

fn date(d: &aws_smithy_types::DateTime) -> String {
    chrono::DateTime::from_timestamp(d.secs(), 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The attribute names the 5.100.0 provider schema declares for a type.
fn schema_attributes(resource_type: &str) -> BTreeSet<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-provider-schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let block = &schema["resource_schemas"][resource_type]["block"];
    assert!(block.is_object(), "{resource_type} is not in the schema");
    let mut names: BTreeSet<String> = BTreeSet::new();
    for key in ["attributes", "block_types"] {
        if let Some(map) = block[key].as_object() {
            names.extend(map.keys().cloned());
        }
    }
    names
}

/// Every mapped attribute exists in the schema, and the schema attributes not
/// mapped are exactly `not_mapped` (Terraform-only arguments).
fn assert_schema(resource_type: &str, objects: &BTreeMap<String, Value>, not_mapped: &[&str]) {
    let schema = schema_attributes(resource_type);
    let mut mapped = BTreeSet::new();
    for attributes in objects.values() {
        mapped.extend(attributes.as_object().unwrap().keys().cloned());
    }
    let unknown: Vec<_> = mapped.difference(&schema).collect();
    assert!(
        unknown.is_empty(),
        "{resource_type}: not in the schema: {unknown:?}"
    );
    let missing: BTreeSet<&str> = schema.difference(&mapped).map(String::as_str).collect();
    assert_eq!(
        missing,
        not_mapped.iter().copied().collect(),
        "{resource_type}: schema attributes not mapped"
    );
}

#[tokio::test]
async fn roles_with_inline_policies_and_attachments() {
    let moto = start_moto();
    let iam = iam_client(&moto).await;

    let boundary = iam
        .create_policy()
        .policy_name("boundary")
        .policy_document(DESCRIBE_EC2)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let logs = iam
        .create_policy()
        .policy_name("logs")
        .path("/team/")
        .policy_document(READ_S3)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let app = iam
        .create_role()
        .role_name("app")
        .path("/svc/")
        .description("runs the app")
        .max_session_duration(7200)
        .permissions_boundary(boundary.arn().unwrap())
        .assume_role_policy_document(TRUST)
        .tags(tag("team", "payments"))
        .tags(tag("env", "prod"))
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let plain = iam
        .create_role()
        .role_name("plain")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    for (name, document) in [("read-s3", READ_S3), ("deny-logs", DENY_LOGS)] {
        iam.put_role_policy()
            .role_name("app")
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .unwrap();
    }
    for arn in [logs.arn().unwrap(), AWS_MANAGED] {
        iam.attach_role_policy()
            .role_name("app")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }

    // aws_iam_role
    let roles = collect(&moto, &iam::IAM_ROLE).await;
    assert_listed_once(&roles, "aws_iam_role");
    let expected_app = json!({
        "arn": format!("arn:aws:iam::{ACCOUNT_ID}:role/svc/app"),
        "assume_role_policy": TRUST,
        "create_date": date(app.create_date()),
        "description": "runs the app",
        "id": "app",
        "inline_policy": [
            {"name": "read-s3", "policy": READ_S3},
            {"name": "deny-logs", "policy": DENY_LOGS},
        ],
        "managed_policy_arns": [logs.arn().unwrap(), AWS_MANAGED],
        "max_session_duration": 7200,
        "name": "app",
        "path": "/svc/",
        "permissions_boundary": boundary.arn().unwrap(),
        "tags": {"env": "prod", "team": "payments"},
        "tags_all": {"env": "prod", "team": "payments"},
        "unique_id": app.role_id(),
    });
    let expected_plain = json!({
        "arn": format!("arn:aws:iam::{ACCOUNT_ID}:role/plain"),
        "assume_role_policy": TRUST,
        "create_date": date(plain.create_date()),
        "description": "",
        "id": "plain",
        "inline_policy": [],
        "managed_policy_arns": [],
        "max_session_duration": 3600,
        "name": "plain",
        "path": "/",
        "permissions_boundary": "",
        "tags": {},
        "tags_all": {},
        "unique_id": plain.role_id(),
    });
    assert_eq!(
        sorted_sets(roles.objects.clone(), &iam::IAM_ROLE),
        sorted_sets(
            BTreeMap::from([
                ("app".to_string(), expected_app),
                ("plain".to_string(), expected_plain)
            ]),
            &iam::IAM_ROLE
        )
    );
    assert_schema(
        "aws_iam_role",
        &roles.objects,
        &["force_detach_policies", "name_prefix"],
    );
    // ListRoles and GetAccountAuthorizationDetails, one page each: nothing per role.
    assert_eq!(roles.iam_requests, 2);

    // aws_iam_role_policy
    let policies = collect(&moto, &iam::IAM_ROLE_POLICY).await;
    assert_listed_once(&policies, "aws_iam_role_policy");
    assert_eq!(
        policies.objects,
        BTreeMap::from([
            (
                "app:deny-logs".to_string(),
                json!({"id": "app:deny-logs", "name": "deny-logs", "policy": DENY_LOGS, "role": "app"})
            ),
            (
                "app:read-s3".to_string(),
                json!({"id": "app:read-s3", "name": "read-s3", "policy": READ_S3, "role": "app"})
            ),
        ])
    );
    assert_schema("aws_iam_role_policy", &policies.objects, &["name_prefix"]);
    assert_eq!(policies.iam_requests, 1);

    // aws_iam_role_policy_attachment: keyed by role and policy ARN (the state's
    // id is made up by the provider at create time).
    let attachments = collect(&moto, &iam::IAM_ROLE_POLICY_ATTACHMENT).await;
    assert_listed_once(&attachments, "aws_iam_role_policy_attachment");
    let attachment = |arn: &str| {
        let id = format!("app/{arn}");
        (
            id.clone(),
            json!({"id": id, "policy_arn": arn, "role": "app"}),
        )
    };
    assert_eq!(
        attachments.objects,
        BTreeMap::from([attachment(logs.arn().unwrap()), attachment(AWS_MANAGED)])
    );
    assert_schema("aws_iam_role_policy_attachment", &attachments.objects, &[]);
    assert_eq!(attachments.iam_requests, 1);
}

/// Set-valued attributes in one order, for whole-object comparison.
fn sorted_sets(mut objects: BTreeMap<String, Value>, def: &TypeDef) -> BTreeMap<String, Value> {
    for attributes in objects.values_mut() {
        for set in def.rules.sets {
            if let Some(items) = attributes.get_mut(*set).and_then(Value::as_array_mut) {
                items.sort_by_key(|v| v.to_string());
            }
        }
    }
    objects
}

#[tokio::test]
async fn roles_listed_over_several_pages() {
    let moto = start_moto();
    let iam = iam_client(&moto).await;
    // ListRoles serves at most 1000 roles a page.
    let count = 1003;
    for n in 0..count {
        iam.create_role()
            .role_name(format!("role-{n:04}"))
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .unwrap();
    }
    let roles = collect(&moto, &iam::IAM_ROLE).await;
    assert_listed_once(&roles, "aws_iam_role");
    assert_eq!(roles.objects.len(), count);
    assert!(roles.objects.contains_key("role-1002"));
    // Two ListRoles pages and GetAccountAuthorizationDetails: every role was in
    // both listings, none needed GetRole.
    assert_eq!(roles.iam_requests, 3);
    assert_eq!(roles.objects["role-1002"]["max_session_duration"], 3600);
}

#[tokio::test]
async fn customer_managed_policies_only() {
    let moto = start_moto();
    let iam = iam_client(&moto).await;
    let tagged = iam
        .create_policy()
        .policy_name("logs")
        .path("/team/")
        .description("read the log bucket")
        .policy_document(READ_S3)
        .tags(tag("owner", "sre"))
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let versioned = iam
        .create_policy()
        .policy_name("ec2")
        .policy_document(DENY_LOGS)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    // A second version made the default: its document is the policy's.
    iam.create_policy_version()
        .policy_arn(versioned.arn().unwrap())
        .policy_document(DESCRIBE_EC2)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("app")
        .policy_arn(tagged.arn().unwrap())
        .send()
        .await
        .unwrap();

    let listed = collect(&moto, &iam::IAM_POLICY).await;
    assert_listed_once(&listed, "aws_iam_policy");
    let logs_arn = format!("arn:aws:iam::{ACCOUNT_ID}:policy/team/logs");
    let ec2_arn = format!("arn:aws:iam::{ACCOUNT_ID}:policy/ec2");
    assert_eq!(
        listed.objects,
        BTreeMap::from([
            (
                ec2_arn.clone(),
                json!({
                    "arn": ec2_arn,
                    "attachment_count": 0,
                    "description": "",
                    "id": ec2_arn,
                    "name": "ec2",
                    "path": "/",
                    "policy": DESCRIBE_EC2,
                    "policy_id": versioned.policy_id(),
                    "tags": {},
                    "tags_all": {},
                })
            ),
            (
                logs_arn.clone(),
                json!({
                    "arn": logs_arn,
                    "attachment_count": 1,
                    "description": "read the log bucket",
                    "id": logs_arn,
                    "name": "logs",
                    "path": "/team/",
                    "policy": READ_S3,
                    "policy_id": tagged.policy_id(),
                    "tags": {"owner": "sre"},
                    "tags_all": {"owner": "sre"},
                })
            ),
        ]),
        "AWS-managed policies (moto loads hundreds) are never listed"
    );
    assert_schema("aws_iam_policy", &listed.objects, &["name_prefix"]);
    // GetAccountAuthorizationDetails, ListPolicies (moto leaves policy names and
    // ids out of the details; AWS does not, and then it is not called), then
    // ListPolicyTags per policy.
    assert_eq!(listed.iam_requests, 4);
}

#[tokio::test]
async fn users_and_their_inline_policies() {
    let moto = start_moto();
    let iam = iam_client(&moto).await;
    let alice = iam
        .create_user()
        .user_name("alice")
        .path("/people/")
        .tags(tag("team", "sre"))
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    let bob = iam
        .create_user()
        .user_name("bob")
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    for (name, document) in [("read-s3", READ_S3), ("deny-logs", DENY_LOGS)] {
        iam.put_user_policy()
            .user_name("alice")
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .unwrap();
    }

    let users = collect(&moto, &iam::IAM_USER).await;
    assert_listed_once(&users, "aws_iam_user");
    assert_eq!(
        users.objects,
        BTreeMap::from([
            (
                "alice".to_string(),
                json!({
                    "arn": format!("arn:aws:iam::{ACCOUNT_ID}:user/people/alice"),
                    "id": "alice",
                    "name": "alice",
                    "path": "/people/",
                    // moto 5.1.22 ignores user permissions boundaries.
                    "permissions_boundary": "",
                    "tags": {"team": "sre"},
                    "tags_all": {"team": "sre"},
                    "unique_id": alice.user_id(),
                })
            ),
            (
                "bob".to_string(),
                json!({
                    "arn": format!("arn:aws:iam::{ACCOUNT_ID}:user/bob"),
                    "id": "bob",
                    "name": "bob",
                    "path": "/",
                    "permissions_boundary": "",
                    "tags": {},
                    "tags_all": {},
                    "unique_id": bob.user_id(),
                })
            ),
        ])
    );
    assert_schema("aws_iam_user", &users.objects, &["force_destroy"]);
    assert_eq!(users.iam_requests, 1);

    let policies = collect(&moto, &iam::IAM_USER_POLICY).await;
    assert_listed_once(&policies, "aws_iam_user_policy");
    assert_eq!(
        policies.objects,
        BTreeMap::from([
            (
                "alice:deny-logs".to_string(),
                json!({"id": "alice:deny-logs", "name": "deny-logs", "policy": DENY_LOGS, "user": "alice"})
            ),
            (
                "alice:read-s3".to_string(),
                json!({"id": "alice:read-s3", "name": "read-s3", "policy": READ_S3, "user": "alice"})
            ),
        ])
    );
    assert_schema("aws_iam_user_policy", &policies.objects, &["name_prefix"]);
}

#[tokio::test]
async fn groups_instance_profiles_and_openid_connect_providers() {
    let moto = start_moto();
    let iam = iam_client(&moto).await;
    let mut expected_groups = BTreeMap::new();
    for (name, path) in [("devs", "/eng/"), ("ops", "/")] {
        let group = iam
            .create_group()
            .group_name(name)
            .path(path)
            .send()
            .await
            .unwrap()
            .group
            .unwrap();
        expected_groups.insert(
            name.to_string(),
            json!({
                "arn": group.arn(),
                "id": name,
                "name": name,
                "path": path,
                "unique_id": group.group_id(),
            }),
        );
    }
    let groups = collect(&moto, &iam::IAM_GROUP).await;
    assert_listed_once(&groups, "aws_iam_group");
    assert_eq!(groups.objects, expected_groups);
    assert_schema("aws_iam_group", &groups.objects, &[]);

    iam.create_role()
        .role_name("node")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    let web = iam
        .create_instance_profile()
        .instance_profile_name("web")
        .path("/nodes/")
        .tags(tag("tier", "web"))
        .send()
        .await
        .unwrap()
        .instance_profile
        .unwrap();
    iam.add_role_to_instance_profile()
        .instance_profile_name("web")
        .role_name("node")
        .send()
        .await
        .unwrap();
    let empty = iam
        .create_instance_profile()
        .instance_profile_name("empty")
        .send()
        .await
        .unwrap()
        .instance_profile
        .unwrap();
    let profiles = collect(&moto, &iam::IAM_INSTANCE_PROFILE).await;
    assert_listed_once(&profiles, "aws_iam_instance_profile");
    assert_eq!(
        profiles.objects,
        BTreeMap::from([
            (
                "empty".to_string(),
                json!({
                    "arn": empty.arn(),
                    "create_date": date(empty.create_date()),
                    "id": "empty",
                    "name": "empty",
                    "path": "/",
                    "role": null,
                    "tags": {},
                    "tags_all": {},
                    "unique_id": empty.instance_profile_id(),
                })
            ),
            (
                "web".to_string(),
                json!({
                    "arn": web.arn(),
                    "create_date": date(web.create_date()),
                    "id": "web",
                    "name": "web",
                    "path": "/nodes/",
                    "role": "node",
                    "tags": {"tier": "web"},
                    "tags_all": {"tier": "web"},
                    "unique_id": web.instance_profile_id(),
                })
            ),
        ])
    );
    assert_schema(
        "aws_iam_instance_profile",
        &profiles.objects,
        &["name_prefix"],
    );
    // ListInstanceProfiles, then ListInstanceProfileTags per profile.
    assert_eq!(profiles.iam_requests, 3);

    let arn = iam
        .create_open_id_connect_provider()
        .url("https://oidc.eks.eu-west-1.amazonaws.com/id/B55D11B7B9D026CF47CB1FE6BD35151A")
        .client_id_list("sts.amazonaws.com")
        .client_id_list("kubernetes")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .thumbprint_list("06b25927c42a721631c1efd9431e648fa62e1e39")
        .tags(tag("Name", "eks-irsa"))
        .send()
        .await
        .unwrap()
        .open_id_connect_provider_arn
        .unwrap();
    let providers = collect(&moto, &iam::IAM_OPENID_CONNECT_PROVIDER).await;
    assert_listed_once(&providers, "aws_iam_openid_connect_provider");
    assert_eq!(
        arn,
        format!(
            "arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/B55D11B7B9D026CF47CB1FE6BD35151A"
        )
    );
    assert_eq!(
        sorted_sets(providers.objects.clone(), &iam::IAM_OPENID_CONNECT_PROVIDER),
        BTreeMap::from([(
            arn.clone(),
            json!({
                "arn": arn,
                "client_id_list": ["kubernetes", "sts.amazonaws.com"],
                "id": arn,
                "tags": {"Name": "eks-irsa"},
                "tags_all": {"Name": "eks-irsa"},
                "thumbprint_list": [
                    "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
                    "06b25927c42a721631c1efd9431e648fa62e1e39"
                ],
                "url": "oidc.eks.eu-west-1.amazonaws.com/id/B55D11B7B9D026CF47CB1FE6BD35151A",
            })
        )])
    );
    assert_schema("aws_iam_openid_connect_provider", &providers.objects, &[]);
}

// ---------------------------------------------------------------------------
// The referee: a state the real provider (hashicorp/aws 5.100.0) wrote against
// moto equals the live mapping, after the role's folds. Until the harness's
// `support::terraform` lands on main, this runs Terraform with a minimal local
// helper.

/// One IAM estate as a person would write it: every type, paths, tags,
/// descriptions, inline and attached (customer and AWS-managed) policies.
const IAM_CONFIG: &str = r#"
resource "aws_iam_policy" "boundary" {
  name   = "boundary"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "ec2:Describe*", Resource = "*" }] })
}
resource "aws_iam_policy" "logs" {
  name        = "logs"
  path        = "/team/"
  description = "read the log bucket"
  policy      = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = ["s3:GetObject", "s3:ListBucket"], Resource = ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"] }] })
  tags        = { owner = "sre" }
}
resource "aws_iam_role" "app" {
  name                 = "app"
  path                 = "/svc/"
  description          = "runs the app"
  max_session_duration = 7200
  permissions_boundary = aws_iam_policy.boundary.arn
  assume_role_policy   = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }] })
  tags                 = { team = "payments" }
}
resource "aws_iam_role" "node" {
  name               = "node"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }] })
}
resource "aws_iam_role_policy" "read_s3" {
  name   = "read-s3"
  role   = aws_iam_role.app.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "*" }] })
}
resource "aws_iam_role_policy" "deny_logs" {
  name   = "deny-logs"
  role   = aws_iam_role.app.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "logs:CreateLogGroup", Resource = "*" }] })
}
resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.logs.arn
}
resource "aws_iam_role_policy_attachment" "read_only" {
  role       = aws_iam_role.app.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}
resource "aws_iam_user" "alice" {
  name = "alice"
  path = "/people/"
  tags = { team = "sre" }
}
resource "aws_iam_user" "bob" {
  name = "bob"
}
resource "aws_iam_user_policy" "alice" {
  name   = "s3"
  user   = aws_iam_user.alice.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "s3:*", Resource = "*" }] })
}
resource "aws_iam_group" "devs" {
  name = "devs"
  path = "/eng/"
}
resource "aws_iam_instance_profile" "web" {
  name = "web"
  path = "/nodes/"
  role = aws_iam_role.node.name
  tags = { tier = "web" }
}
resource "aws_iam_instance_profile" "empty" {
  name = "empty"
}
resource "aws_iam_openid_connect_provider" "eks" {
  url             = "https://oidc.eks.eu-west-1.amazonaws.com/id/B55D11B7B9D026CF47CB1FE6BD35151A"
  client_id_list  = ["sts.amazonaws.com", "kubernetes"]
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280", "06b25927c42a721631c1efd9431e648fa62e1e39"]
  tags            = { Name = "eks-irsa" }
}
"#;

/// The provider filesystem mirror: `DRIFTD_TF_PLUGIN_MIRROR`, else the folder
/// above `registry.terraform.io` found under `/opt`, `/usr/local` or `/root`.
fn plugin_mirror() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("DRIFTD_TF_PLUGIN_MIRROR") {
        return dir.into();
    }
    fn search(dir: &Path, depth: usize) -> Option<std::path::PathBuf> {
        if dir.join("registry.terraform.io/hashicorp/aws").is_dir() {
            return Some(dir.to_path_buf());
        }
        if depth == 0 {
            return None;
        }
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .find_map(|e| search(&e.path(), depth - 1))
    }
    ["/opt", "/usr/local", "/root"]
        .iter()
        .find_map(|root| search(Path::new(root), 3))
        .expect(
            "no hashicorp/aws provider mirror under /opt, /usr/local or /root: \
             set DRIFTD_TF_PLUGIN_MIRROR to the folder above registry.terraform.io",
        )
}

fn terraform(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("terraform on PATH (1.11)");
    assert!(
        output.status.success(),
        "terraform {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Compares one state resource with its live counterpart the way the diff must:
/// ignored attributes dropped, sets in one order, policy JSON parsed.
fn comparable(def: &TypeDef, mut attributes: Value) -> Value {
    let object = attributes.as_object_mut().unwrap();
    for name in def.rules.ignore {
        object.remove(*name);
    }
    for (name, value) in object.iter_mut() {
        if ["policy", "assume_role_policy"].contains(&name.as_str()) {
            *value = serde_json::from_str(value.as_str().unwrap()).unwrap();
        }
        if name == "inline_policy" {
            for p in value.as_array_mut().unwrap() {
                p["policy"] = serde_json::from_str(p["policy"].as_str().unwrap()).unwrap();
            }
        }
    }
    let mut objects = BTreeMap::from([(String::new(), attributes)]);
    objects = sorted_sets(objects, def);
    objects.remove("").unwrap()
}

#[tokio::test]
async fn terraform_state_equals_the_live_mapping() {
    let moto = start_moto();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto.endpoint_url();
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
            plugin_mirror().display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("provider.tf"),
        format!(
            r#"terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws", version = "5.100.0" }}
  }}
}}
provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {{
    iam = "{endpoint}"
    sts = "{endpoint}"
  }}
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("main.tf"), IAM_CONFIG).unwrap();
    terraform(dir.path(), &["init", "-input=false"]);
    terraform(
        dir.path(),
        &["apply", "-auto-approve", "-input=false", "-parallelism=1"],
    );
    // Right after the apply the role's `inline_policy` and `managed_policy_arns`
    // are still empty in state (the role was created before its policies): the
    // folds must hide that. After a refresh they hold copies: same result.
    assert_state_matches_live(&moto, dir.path(), true).await;
    terraform(
        dir.path(),
        &[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-parallelism=1",
        ],
    );
    assert_state_matches_live(&moto, dir.path(), false).await;
}

async fn assert_state_matches_live(moto: &MotoServer, dir: &Path, before_refresh: bool) {
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("terraform.tfstate")).unwrap())
            .unwrap();
    let mut desired: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for r in state["resources"].as_array().unwrap() {
        for i in r["instances"].as_array().unwrap() {
            desired
                .entry(r["type"].as_str().unwrap())
                .or_default()
                .push(i["attributes"].clone());
        }
    }
    if before_refresh {
        let app = desired["aws_iam_role"]
            .iter()
            .find(|r| r["id"] == "app")
            .unwrap();
        assert_eq!(app["managed_policy_arns"], json!([]), "the fold case");
    }
    for def in iam_types() {
        let resource_type = def.rules.resource_type;
        let live = collect(moto, def).await;
        assert_listed_once(&live, resource_type);
        let key = |attributes: &Value| -> String {
            if resource_type == "aws_iam_role_policy_attachment" {
                iam::role_policy_attachment_key(attributes).unwrap()
            } else {
                attributes["id"].as_str().unwrap().to_string()
            }
        };
        let mut live_by_key: BTreeMap<String, Value> =
            live.objects.values().map(|a| (key(a), a.clone())).collect();
        let state_resources = desired.get(resource_type).cloned().unwrap_or_default();
        let state_keys: BTreeSet<String> = state_resources.iter().map(&key).collect();
        assert_eq!(
            live_by_key.keys().cloned().collect::<BTreeSet<_>>(),
            state_keys,
            "{resource_type}: live and state hold different objects"
        );
        for mut wanted in state_resources {
            let id = key(&wanted);
            let mut got = live_by_key.remove(&id).unwrap();
            for fold in def.rules.folds {
                for child_type in fold.child_types {
                    for child in desired.get(child_type).into_iter().flatten() {
                        if child[fold.parent_id_attribute] == wanted["id"] {
                            (fold.remove_child)(&mut wanted, &mut got, child_type, child);
                        }
                    }
                }
            }
            (def.rules.normalize)(&mut wanted, &mut got);
            assert_eq!(
                comparable(def, got),
                comparable(def, wanted),
                "{resource_type} {id}: live (left) differs from the state the provider wrote (right)"
            );
        }
    }
}

fn iam_types() -> [&'static TypeDef; 9] {
    [
        &iam::IAM_ROLE,
        &iam::IAM_ROLE_POLICY,
        &iam::IAM_ROLE_POLICY_ATTACHMENT,
        &iam::IAM_POLICY,
        &iam::IAM_USER,
        &iam::IAM_USER_POLICY,
        &iam::IAM_GROUP,
        &iam::IAM_INSTANCE_PROFILE,
        &iam::IAM_OPENID_CONNECT_PROVIDER,
    ]
}
