//! Tests of the test harness itself, against real moto and real Terraform:
//! every fixture applies; what Terraform's refresh-only plan reports right
//! after a first apply is pinned down (so the project knows which "changed
//! outside of Terraform" lines are apply artefacts, not drift); after
//! `apply -refresh-only` the plan is empty; and one change made through the
//! AWS API the way a person would is named by `resource_drift` exactly (the
//! resource and its top-level attributes, or its deletion). That makes
//! Terraform a referee driftd can be compared with.
//!
//! Also the fault proxy, with the real AWS SDK through it to moto.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{IpPermission, IpRange, Tag};

use crate::support::fault_proxy::{Call, Fault, FaultProxy, identify};
use crate::support::moto::{MotoServer, REGION};
use crate::support::terraform::{
    DriftKind, RefreshPlan, Workspace, find_plugin_mirror, find_terraform_binary,
    parse_resource_drift, summarize,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Applies a fixture and checks the refresh-only plan of the fresh state
/// against `after_first_apply`; accepts that drift and checks the plan is
/// then empty. Returns the workspace, ready for a scenario.
fn applied(moto: &MotoServer, fixture: &str, after_first_apply: &[&str]) -> Workspace {
    let mut workspace = Workspace::new(fixture, &moto.endpoint_url());
    workspace.init();
    workspace.apply();
    let first = workspace.plan_refresh_only();
    assert_eq!(
        first.summary(),
        after_first_apply,
        "what Terraform reports as changed outside of it right after applying fixture {fixture}"
    );
    if !first.drift.is_empty() {
        workspace.apply_refresh_plan(&first);
    }
    let settled = workspace.plan_refresh_only_json();
    assert_eq!(
        summarize(&settled),
        Vec::<String>::new(),
        "fixture {fixture}: a refresh-only plan after apply -refresh-only must be empty"
    );
    workspace
}

/// The referee across the scenarios of one fixture. Scenarios are not
/// accepted into the state between each other (each acceptance is another
/// 10-20 s of provider CPU): every scenario must add exactly its own
/// resources and attributes to what the earlier ones left.
struct Referee {
    /// address -> top-level attributes (or "deleted") expected so far.
    expected: BTreeMap<String, BTreeSet<String>>,
}

impl Referee {
    fn new() -> Referee {
        Referee {
            expected: BTreeMap::new(),
        }
    }

    /// Plans and checks the drift is the earlier scenarios' plus `added`
    /// (`"aws_vpc.main: tags, tags_all"`, `"aws_subnet.a: deleted"`).
    fn check(&mut self, workspace: &mut Workspace, scenario: &str, added: &[&str]) -> RefreshPlan {
        for line in added {
            let (address, attributes) = line.split_once(": ").expect("ADDRESS: attr, attr");
            self.expected
                .entry(address.to_owned())
                .or_default()
                .extend(attributes.split(", ").map(str::to_owned));
        }
        let expected: Vec<String> = self
            .expected
            .iter()
            .map(|(address, attributes)| {
                let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
                format!("{address}: {}", attributes.join(", "))
            })
            .collect();
        let plan = workspace.plan_refresh_only();
        assert_eq!(
            plan.summary(),
            expected,
            "fixture {}, scenario {scenario}: the drift Terraform reports (earlier scenarios' plus {added:?})",
            workspace.fixture()
        );
        plan
    }
}
fn report_timings(workspace: &Workspace) {
    let timings: Vec<String> = workspace
        .timings()
        .iter()
        .map(|(label, took)| format!("{label} {:.1}s", took.as_secs_f64()))
        .collect();
    eprintln!(
        "fixture {} timings: {}",
        workspace.fixture(),
        timings.join(", ")
    );
}

#[test]
fn network_fixture_refresh_only_plan_names_each_console_change() {
    let moto = MotoServer::start();
    let mut workspace = applied(
        &moto,
        "network",
        &[
            // The NAT gateway associates the EIP after the EIP was created.
            "aws_eip.nat: association_id, network_interface, private_dns, private_ip",
            // null in the state, [] when read.
            "aws_nat_gateway.main: secondary_allocation_ids",
            // moto reads "tcp" back as "6" and adds icmp_code/icmp_type 0.
            "aws_network_acl.private: egress, ingress",
            // The separate aws_route shows up in the table's inline routes.
            "aws_route_table.public: route",
            // The separate rule resources show up in the group's inline rules;
            // the inline-rule group "web" is not reported.
            "aws_security_group.app: egress, ingress",
        ],
    );
    let rt = runtime();
    let ec2 = aws_sdk_ec2::Client::new(&rt.block_on(moto.sdk_config()));
    let mut referee = Referee::new();

    // Someone opens SSH to the world on the group with inline rules.
    let web = workspace.resource_id("aws_security_group.web");
    rt.block_on(
        ec2.authorize_security_group_ingress()
            .group_id(&web)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send(),
    )
    .expect("authorize port 22 on the web group");
    let plan = referee.check(
        &mut workspace,
        "ssh opened",
        &["aws_security_group.web: ingress"],
    );
    let ingress = &plan.drift_of("aws_security_group.web").unwrap().after["ingress"];
    assert!(
        ingress
            .as_array()
            .unwrap()
            .iter()
            .any(|rule| rule["from_port"] == 22
                && rule["cidr_blocks"] == serde_json::json!(["0.0.0.0/0"])),
        "the refreshed ingress has the new rule: {ingress}"
    );

    // Someone tags the VPC in the console.
    let vpc = workspace.resource_id("aws_vpc.main");
    rt.block_on(
        ec2.create_tags()
            .resources(&vpc)
            .tags(Tag::builder().key("cost-center").value("1234").build())
            .send(),
    )
    .expect("tag the vpc");
    let plan = referee.check(
        &mut workspace,
        "vpc tagged",
        &["aws_vpc.main: tags, tags_all"],
    );
    assert_eq!(
        plan.drift_of("aws_vpc.main").unwrap().after["tags"]["cost-center"],
        "1234"
    );

    // Someone deletes the private subnet. moto keeps the ACL association, so
    // the ACL is not reported (AWS would drop the association). The deleted
    // resource is "delete" with after = null, not an update.
    let private = workspace.resource_id("aws_subnet.private");
    rt.block_on(ec2.delete_subnet().subnet_id(&private).send())
        .expect("delete the private subnet");
    let plan = referee.check(
        &mut workspace,
        "subnet deleted",
        &["aws_subnet.private: deleted"],
    );
    let deleted = plan.drift_of("aws_subnet.private").unwrap();
    assert_eq!(
        (deleted.resource_type.as_str(), deleted.actions.as_slice()),
        ("aws_subnet", ["delete".to_owned()].as_slice())
    );
    report_timings(&workspace);
}

#[test]
fn iam_fixture_refresh_only_plan_names_each_console_change() {
    // AWS managed policies exist in moto only on request.
    let moto = MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let mut workspace = applied(
        &moto,
        "iam",
        &[
            // null in the state, {} when read (default_tags are set).
            "aws_iam_instance_profile.app: tags",
            "aws_iam_openid_connect_provider.github: tags",
            // The attachment made after the policy was created.
            "aws_iam_policy.read_config: attachment_count, tags",
            // The separate aws_iam_role_policy and attachment show up in the
            // role's inline_policy and managed_policy_arns.
            "aws_iam_role.app: inline_policy, managed_policy_arns",
        ],
    );
    let rt = runtime();
    let iam = aws_sdk_iam::Client::new(&rt.block_on(moto.sdk_config()));
    let mut referee = Referee::new();

    // Someone adds an inline policy to the role.
    rt.block_on(
        iam.put_role_policy()
            .role_name("driftd-app")
            .policy_name("debug")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            )
            .send(),
    )
    .expect("put an inline role policy");
    let plan = referee.check(
        &mut workspace,
        "inline policy added",
        &["aws_iam_role.app: inline_policy"],
    );
    let inline = &plan.drift_of("aws_iam_role.app").unwrap().after["inline_policy"];
    assert!(
        inline
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "debug"),
        "the refreshed inline_policy has the new policy: {inline}"
    );

    // Someone attaches an AWS managed policy to the role.
    rt.block_on(
        iam.attach_role_policy()
            .role_name("driftd-app")
            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send(),
    )
    .expect("attach ReadOnlyAccess");
    let plan = referee.check(
        &mut workspace,
        "managed policy attached",
        &["aws_iam_role.app: managed_policy_arns"],
    );
    let arns = &plan.drift_of("aws_iam_role.app").unwrap().after["managed_policy_arns"];
    assert!(
        arns.as_array()
            .unwrap()
            .iter()
            .any(|a| a == "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        "{arns}"
    );
    report_timings(&workspace);
}

#[test]
fn s3_fixture_refresh_only_plan_names_suspended_versioning() {
    let moto = MotoServer::start();
    // Terraform talks to moto through the fault proxy (with no faults): this
    // also proves the proxy passes a real client's SigV4, path-style S3, STS
    // and IAM requests through untouched, and counts what a refresh costs.
    let proxy = FaultProxy::start(&moto.endpoint_url());
    let mut workspace = Workspace::new("s3", &proxy.endpoint_url());
    workspace.init();
    workspace.apply();
    let first = workspace.plan_refresh_only();
    assert_eq!(
        first.summary(),
        [
            // The bucket's deprecated inline attributes pick up the separate
            // resources' settings.
            "aws_s3_bucket.logs: policy, server_side_encryption_configuration, versioning",
            // bucket_key_enabled: null in the state, false when read.
            "aws_s3_bucket_server_side_encryption_configuration.logs: rule",
        ],
        "what Terraform reports right after applying fixture s3"
    );
    let prior = &first.json["prior_state"]["values"]["root_module"]["resources"];
    assert_eq!(prior.as_array().map(Vec::len), Some(5), "{prior}");
    // The full `apply -refresh-only` (plans again), once in the suite.
    workspace.refresh_only_apply();
    assert_eq!(
        workspace.plan_refresh_only().summary(),
        Vec::<String>::new()
    );

    let rt = runtime();
    let s3 = rt.block_on(moto.s3_client());
    let mut referee = Referee::new();
    rt.block_on(
        s3.put_bucket_versioning()
            .bucket("driftd-fixture-logs")
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send(),
    )
    .expect("suspend versioning");
    proxy.reset_counts();
    let plan = referee.check(
        &mut workspace,
        "versioning suspended",
        &[
            // Both the bucket's inline view and the separate resource see it.
            "aws_s3_bucket.logs: versioning",
            "aws_s3_bucket_versioning.logs: versioning_configuration",
        ],
    );
    assert_eq!(
        plan.drift_of("aws_s3_bucket_versioning.logs")
            .unwrap()
            .after["versioning_configuration"][0]["status"],
        "Suspended"
    );
    let state = workspace.state_json();
    assert_eq!(state["version"], 4, "a real provider state");

    // What one refresh-only plan of 5 resources asked of AWS.
    let counts = proxy.counts();
    eprintln!("fixture s3: calls of one refresh-only plan: {counts:?}");
    // The provider learns the account id from iam:GetUser (with static
    // credentials for a user), not sts:GetCallerIdentity.
    assert_eq!(proxy.count("iam", "GetUser"), 1, "{counts:?}");
    assert!(
        proxy.count("s3", "GET /driftd-fixture-logs?versioning") >= 2,
        "the bucket and aws_s3_bucket_versioning both read versioning: {counts:?}"
    );
    assert_eq!(proxy.service_count("unsigned"), 0, "{counts:?}");

    report_timings(&workspace);
}

#[test]
fn compute_fixture_refresh_only_plan_names_a_resized_volume() {
    let moto = MotoServer::start();
    let mut workspace = applied(
        &moto,
        "compute",
        &[
            // root_block_device[0].tags: null in the state, {} when read.
            "aws_instance.app: root_block_device",
            // null in the state, {} or [] when read.
            "aws_key_pair.deployer: tags",
            "aws_launch_template.app: security_group_names, tags",
            "aws_security_group.app: tags",
            "aws_subnet.app: tags",
        ],
    );
    let rt = runtime();
    let ec2 = aws_sdk_ec2::Client::new(&rt.block_on(moto.sdk_config()));
    let mut referee = Referee::new();
    let volume = workspace.resource_id("aws_ebs_volume.data");
    rt.block_on(ec2.modify_volume().volume_id(&volume).size(30).send())
        .expect("grow the data volume");
    let plan = referee.check(
        &mut workspace,
        "volume resized",
        &["aws_ebs_volume.data: size"],
    );
    assert_eq!(
        plan.drift_of("aws_ebs_volume.data").unwrap().after["size"],
        30
    );
    report_timings(&workspace);
}

// The fault proxy.

/// An SDK config through the proxy with fast retries. The attempt timeout
/// leaves room for moto's first answer of a service (it loads on demand).
async fn proxied_config(proxy: &FaultProxy, max_attempts: u32) -> SdkConfig {
    proxied_config_with_timeout(proxy, max_attempts, Duration::from_secs(10)).await
}

async fn proxied_config_with_timeout(
    proxy: &FaultProxy,
    max_attempts: u32,
    attempt_timeout: Duration,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(proxy.endpoint_url())
        .credentials_provider(MotoServer::credentials())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        )
        .load()
        .await
}

fn call(service: &str, operation: &str) -> Call {
    Call {
        service: service.to_owned(),
        operation: operation.to_owned(),
    }
}

#[tokio::test]
async fn fault_proxy_denies_with_each_protocols_real_error() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint_url());
    proxy.fault("ec2", Fault::Deny);
    proxy.fault_operation("iam", "ListRoles", Fault::Deny);
    proxy.fault("sts", Fault::Deny);
    let config = proxied_config(&proxy, 3).await;

    let ec2 = aws_sdk_ec2::Client::new(&config);
    let error = ec2.describe_vpcs().send().await.expect_err("denied");
    assert_eq!(error.code(), Some("UnauthorizedOperation"), "{error:?}");
    assert!(error.message().unwrap().contains("ec2:DescribeVpcs"));

    let iam = aws_sdk_iam::Client::new(&config);
    let error = iam.list_roles().send().await.expect_err("denied");
    assert_eq!(error.code(), Some("AccessDenied"), "{error:?}");
    // Only ListRoles is denied: another IAM operation goes through to moto.
    iam.list_users()
        .send()
        .await
        .expect("ListUsers is not denied");

    let sts = aws_sdk_sts::Client::new(&config);
    let error = sts.get_caller_identity().send().await.expect_err("denied");
    assert_eq!(error.code(), Some("AccessDenied"), "{error:?}");

    // JSON protocols (no JSON-protocol SDK is a dependency): a signed request
    // with X-Amz-Target gets AccessDeniedException.
    proxy.fault("logs", Fault::Deny);
    let response = reqwest::Client::new()
        .post(proxy.endpoint_url())
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20261121/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=00",
        )
        .header("x-amz-target", "Logs_20140328.DescribeLogGroups")
        .header("content-type", "application/x-amz-json-1.1")
        .body("{}")
        .send()
        .await
        .expect("the proxy answers");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("a JSON error");
    assert_eq!(body["__type"], "AccessDeniedException");

    // Denied requests are counted too; none reached moto.
    assert_eq!(proxy.count("ec2", "DescribeVpcs"), 1);
    assert_eq!(proxy.count("iam", "ListRoles"), 1);
    assert_eq!(proxy.count("iam", "ListUsers"), 1);
    assert_eq!(proxy.count("sts", "GetCallerIdentity"), 1);
    assert_eq!(proxy.count("logs", "DescribeLogGroups"), 1);
}

#[tokio::test]
async fn fault_proxy_throttles_twice_and_the_sdk_retries_through() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint_url());
    proxy.fault_operation("ec2", "DescribeVpcs", Fault::Throttle { times: 2 });
    proxy.fault_operation("iam", "ListRoles", Fault::Throttle { times: 2 });
    let config = proxied_config(&proxy, 3).await;

    let vpcs = aws_sdk_ec2::Client::new(&config)
        .describe_vpcs()
        .send()
        .await
        .expect("the third attempt passes");
    assert!(!vpcs.vpcs().is_empty(), "moto's default VPC came back");
    assert_eq!(proxy.count("ec2", "DescribeVpcs"), 3);

    aws_sdk_iam::Client::new(&config)
        .list_roles()
        .send()
        .await
        .expect("the third attempt passes");
    assert_eq!(proxy.count("iam", "ListRoles"), 3);

    // With two attempts only, the throttling error is what the caller sees.
    proxy.clear_faults();
    proxy.fault_operation("ec2", "DescribeSubnets", Fault::Throttle { times: 2 });
    let config = proxied_config(&proxy, 2).await;
    let error = aws_sdk_ec2::Client::new(&config)
        .describe_subnets()
        .send()
        .await
        .expect_err("still throttled");
    assert_eq!(error.code(), Some("RequestLimitExceeded"), "{error:?}");
    assert_eq!(proxy.count("ec2", "DescribeSubnets"), 2);
}

#[tokio::test]
async fn fault_proxy_delay_makes_the_sdk_time_out() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint_url());
    proxy.fault("sts", Fault::Delay(Duration::from_secs(30)));
    let config = proxied_config_with_timeout(&proxy, 1, Duration::from_millis(500)).await;

    let started = Instant::now();
    let error = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("times out");
    assert!(
        matches!(error, SdkError::TimeoutError(_)),
        "expected the attempt timeout, got {error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // Other services are not delayed.
    let config = proxied_config(&proxy, 1).await;
    aws_sdk_ec2::Client::new(&config)
        .describe_vpcs()
        .send()
        .await
        .expect("ec2 is not delayed");
}

#[tokio::test]
async fn fault_proxy_counts_per_operation_and_adds_latency() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint_url());
    let config = proxied_config(&proxy, 3).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );

    ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    ec2.describe_subnets()
        .send()
        .await
        .expect("DescribeSubnets");
    iam.list_roles().send().await.expect("ListRoles");
    s3.create_bucket()
        .bucket("counted")
        .send()
        .await
        .expect("CreateBucket");
    s3.get_bucket_versioning()
        .bucket("counted")
        .send()
        .await
        .expect("GetBucketVersioning");

    let counts: Vec<(Call, usize)> = proxy.counts().into_iter().collect();
    assert_eq!(
        counts,
        [
            (call("ec2", "DescribeSubnets"), 1),
            (call("ec2", "DescribeVpcs"), 2),
            (call("iam", "ListRoles"), 1),
            (call("s3", "GET /counted?versioning"), 1),
            (call("s3", "PUT /counted"), 1),
        ]
    );
    assert_eq!(proxy.service_count("ec2"), 3);
    assert_eq!(
        proxy.calls()[..3],
        [
            call("ec2", "DescribeVpcs"),
            call("ec2", "DescribeVpcs"),
            call("ec2", "DescribeSubnets"),
        ],
        "in arrival order"
    );

    proxy.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    assert!(started.elapsed() >= Duration::from_millis(300));
    proxy.set_latency(Duration::ZERO);
    proxy.reset_counts();
    assert_eq!(proxy.counts().len(), 0);
}

// Pure parts, without Terraform or moto.

#[test]
fn resource_drift_is_read_from_show_json_with_top_level_attributes() {
    let plan = serde_json::json!({
        "format_version": "1.2",
        "resource_drift": [
            {
                "address": "aws_vpc.main", "mode": "managed", "type": "aws_vpc", "name": "main",
                "change": {
                    "actions": ["update"],
                    "before": {"id": "vpc-1", "tags": {"Name": "a"}, "cidr_block": "10.0.0.0/16", "ipv6": null},
                    "after": {"id": "vpc-1", "tags": {"Name": "a", "team": "x"}, "cidr_block": "10.0.0.0/16", "extra": "new"}
                }
            },
            {
                "address": "aws_subnet.a", "mode": "managed", "type": "aws_subnet", "name": "a",
                "change": {"actions": ["delete"], "before": {"id": "subnet-1"}, "after": null}
            }
        ]
    });
    let drift = parse_resource_drift(&plan);
    assert_eq!(drift[0].resource_type, "aws_vpc");
    // A key null on one side and absent on the other is not a change.
    assert_eq!(
        drift[0].kind(),
        DriftKind::Changed(BTreeSet::from(["extra".to_owned(), "tags".to_owned()]))
    );
    assert_eq!(drift[1].kind(), DriftKind::Deleted);
    assert_eq!(
        summarize(&drift),
        ["aws_subnet.a: deleted", "aws_vpc.main: extra, tags"]
    );
    assert!(parse_resource_drift(&serde_json::json!({"format_version": "1.2"})).is_empty());
}

#[test]
fn fault_proxy_names_calls_by_signing_scope_and_operation() {
    use axum::http::{HeaderMap, HeaderValue, Method, Uri};
    let signed = |service: &str| {
        let mut headers = HeaderMap::new();
        let value = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/eu-west-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
        );
        headers.insert("authorization", HeaderValue::from_str(&value).unwrap());
        headers
    };
    // Query protocol, Action in the form body.
    let mut headers = signed("iam");
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    let body = b"Action=ListRoles&Version=2010-05-08&MaxItems=100";
    assert_eq!(
        identify(&Method::POST, &Uri::from_static("/"), &headers, body),
        Call {
            service: "iam".into(),
            operation: "ListRoles".into()
        }
    );
    // Query protocol, Action in the URL.
    assert_eq!(
        identify(
            &Method::GET,
            &Uri::from_static("/?Version=2016-11-15&Action=DescribeVpcs"),
            &signed("ec2"),
            b""
        )
        .operation,
        "DescribeVpcs"
    );
    // JSON protocol.
    let mut headers = signed("logs");
    headers.insert(
        "x-amz-target",
        HeaderValue::from_static("Logs_20140328.DescribeLogGroups"),
    );
    assert_eq!(
        identify(&Method::POST, &Uri::from_static("/"), &headers, b"{}"),
        Call {
            service: "logs".into(),
            operation: "DescribeLogGroups".into()
        }
    );
    // REST, and an unsigned request.
    assert_eq!(
        identify(
            &Method::GET,
            &Uri::from_static("/b/?policy"),
            &HeaderMap::new(),
            b""
        ),
        Call {
            service: "unsigned".into(),
            operation: "GET /b?policy".into()
        }
    );
}

#[test]
fn terraform_and_the_provider_mirror_are_found_or_named_as_missing() {
    let root = tempfile::tempdir().expect("temporary directory");
    let empty = root.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();

    let error = find_terraform_binary(None, std::slice::from_ref(&empty)).unwrap_err();
    assert!(
        error.contains("install Terraform") && error.contains("DRIFTD_TERRAFORM"),
        "{error}"
    );
    let error = find_terraform_binary(Some(empty.join("terraform").into()), &[]).unwrap_err();
    assert!(error.contains("DRIFTD_TERRAFORM is set to"), "{error}");
    std::fs::write(empty.join("terraform"), "").unwrap();
    assert_eq!(
        find_terraform_binary(None, std::slice::from_ref(&empty)),
        Ok(empty.join("terraform"))
    );

    let error = find_plugin_mirror(None, std::slice::from_ref(&empty)).unwrap_err();
    assert!(error.contains("DRIFTD_TF_PLUGIN_MIRROR=DIR"), "{error}");
    let error = find_plugin_mirror(Some(empty.clone().into()), &[]).unwrap_err();
    assert!(
        error.contains("has no registry.terraform.io/hashicorp/aws"),
        "{error}"
    );

    // The unpacked layout, some levels below a search root.
    let mirror = root.path().join("opt/tf-plugins");
    let platform = mirror.join("registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64");
    std::fs::create_dir_all(&platform).unwrap();
    std::fs::write(platform.join("terraform-provider-aws_v5.100.0_x5"), "").unwrap();
    assert_eq!(
        find_plugin_mirror(None, &[empty.clone(), root.path().to_path_buf()]),
        Ok(mirror.clone())
    );
    assert_eq!(
        find_plugin_mirror(Some(mirror.clone().into()), &[]),
        Ok(mirror)
    );
}
