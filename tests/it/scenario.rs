//! Drift scenarios end to end: Terraform writes a real state against moto, a
//! person changes things through the AWS API, and `driftd scan` must report
//! exactly what `terraform plan -refresh-only` reports (Terraform is the
//! referee for changed and missing), plus the unmanaged resources Terraform
//! cannot see.

use crate::support::moto::{MotoServer, REGION};
use crate::support::terraform::{DriftKind, Workspace};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

pub(crate) fn write_config(dir: &Path, state: &Path, endpoint: &str) -> std::path::PathBuf {
    write_config_with(dir, state, endpoint, "")
}

/// `extra` is TOML put before the target (e.g. an `[aws]` section). Without a
/// `[findings]` section in it, new drift is re-read at once (no delay), so a
/// scenario's scans cost what they did before findings existed.
pub(crate) fn write_config_with(
    dir: &Path,
    state: &Path,
    endpoint: &str,
    extra: &str,
) -> std::path::PathBuf {
    let extra = if extra.contains("[findings]") {
        extra.to_string()
    } else {
        format!("{extra}\n[findings]\nreread_delay_seconds = 0\n")
    };
    let config = dir.join("driftd.toml");
    std::fs::write(
        &config,
        format!(
            r#"[store]
path = "{db}"
{extra}

[[target]]
name = "network"
environment = "test"
  [[target.state]]
  type = "file"
  path = "{state}"
  [target.aws]
  regions = ["{REGION}"]
  endpoint_url = "{endpoint}"
  [[target.aws.account]]
  id = "123456789012"
"#,
            db = dir.join("driftd.db").display(),
            state = state.display(),
        ),
    )
    .unwrap();
    config
}

/// Runs `driftd scan` as a user would; returns (exit code, JSON report).
pub(crate) fn scan(config: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args([
            "scan",
            "-c",
            config.to_str().unwrap(),
            "-t",
            "network",
            "--format",
            "json",
        ])
        // The standard credential chain, as on a real host; nothing else from the environment.
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", config.parent().unwrap())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    crate::support::assert_scan_result_schema(&report);
    (out.status.code().unwrap(), report)
}

/// driftd's changed and missing drifts as `address -> kind`, in the referee's terms.
/// driftd compares the state's `tags_all` with the live tags under `tags`; Terraform
/// names both attributes, so `tags_all` is folded into `tags` on its side too.
pub(crate) fn driftd_view(report: &Value) -> BTreeMap<String, DriftKind> {
    let mut out = BTreeMap::new();
    for d in report["live"]["drift"]["drifts"].as_array().unwrap() {
        match d["kind"].as_str().unwrap() {
            "changed" => {
                let attrs: BTreeSet<String> = d["changes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| {
                        let path = c["path"].as_str().unwrap();
                        path.split(['.', '[']).next().unwrap().to_string()
                    })
                    .collect();
                out.insert(
                    d["address"].as_str().unwrap().to_string(),
                    DriftKind::Changed(attrs),
                );
            }
            "missing" => {
                out.insert(
                    d["address"].as_str().unwrap().to_string(),
                    DriftKind::Deleted,
                );
            }
            _ => {}
        }
    }
    out
}

pub(crate) fn referee_view(ws: &mut Workspace) -> BTreeMap<String, DriftKind> {
    ws.plan_refresh_only_json()
        .into_iter()
        .map(|d| {
            let kind = match d.kind() {
                DriftKind::Changed(mut attrs) => {
                    if attrs.remove("tags_all") {
                        attrs.insert("tags".to_string());
                    }
                    DriftKind::Changed(attrs)
                }
                k => k,
            };
            (d.address, kind)
        })
        .collect()
}

pub(crate) fn unmanaged(report: &Value) -> BTreeSet<String> {
    report["live"]["drift"]["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "unmanaged")
        .map(|d| {
            format!(
                "{}.{}",
                d["key"]["resource_type"].as_str().unwrap(),
                d["key"]["id"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_scenarios_match_terraform_and_find_unmanaged() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint_url();
    let mut ws = Workspace::new("network", &endpoint);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &ws.state_path(), &endpoint);
    let ws_ref = &mut ws;
    tokio::task::block_in_place(|| {
        ws_ref.init();
        ws_ref.apply();
    });
    // Right after the first apply, the state still lacks what sibling resources
    // filled in (the groups' inline rules); Terraform's refresh-only plan calls
    // that "changed outside of Terraform", but it is not drift.
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(
        report["live"]["drift"]["drifts"],
        Value::Array(vec![]),
        "the raw state of a first apply is in sync: {report:#}"
    );
    assert_eq!(code, 0);
    let ws_ref = &mut ws;
    tokio::task::block_in_place(|| ws_ref.refresh_only_apply());

    // In sync: nothing to report, exit 0.
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(
        report["live"]["drift"]["drifts"],
        Value::Array(vec![]),
        "{report:#}"
    );
    assert_eq!(code, 0);
    assert_eq!(report["live"]["drift"]["managed"], 15);

    // A person changes things by hand.
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc = ws.resource_id("aws_vpc.main");
    let web = ws.resource_id("aws_security_group.web");
    ec2.create_tags()
        .resources(&vpc)
        .tags(tag("cost-center", "42"))
        .send()
        .await
        .unwrap();
    open_ssh_to_the_world(&ec2, &web).await;
    let stray = ec2
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .send()
        .await
        .unwrap();
    let stray_vpc = stray.vpc().unwrap().vpc_id().unwrap().to_string();

    let ws_ref = &mut ws;
    let referee = tokio::task::block_in_place(|| referee_view(ws_ref));
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(code, 2, "drift found");
    assert_eq!(
        driftd_view(&report),
        referee,
        "driftd must name what Terraform names:\n{report:#}"
    );
    assert_eq!(
        referee.keys().cloned().collect::<Vec<_>>(),
        vec![
            "aws_security_group.web".to_string(),
            "aws_vpc.main".to_string()
        ],
        "the referee saw both changes"
    );
    // Terraform cannot see the stray VPC; driftd reports it and nothing else
    // (its default security group, route table and network ACL are AWS's own).
    assert_eq!(
        unmanaged(&report),
        BTreeSet::from([format!("aws_vpc.{stray_vpc}")])
    );
}

/// What a person does in a hurry: tcp/22 from 0.0.0.0/0 on a security group.
pub(crate) async fn open_ssh_to_the_world(ec2: &aws_sdk_ec2::Client, group: &str) {
    ec2.authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

pub(crate) fn tag(key: &str, value: &str) -> aws_sdk_ec2::types::Tag {
    aws_sdk_ec2::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
}

/// IAM, the way people change it by hand: an inline policy added to a role
/// and a managed policy attached to it, both reported on the role, as
/// Terraform's refresh-only plan reports them; a hand-made user is unmanaged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_scenarios_match_terraform() {
    let moto = MotoServer::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let endpoint = moto.endpoint_url();
    let mut ws = Workspace::new("iam", &endpoint);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &ws.state_path(), &endpoint);
    let ws_ref = &mut ws;
    tokio::task::block_in_place(|| {
        ws_ref.init();
        ws_ref.apply();
    });
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(
        report["live"]["drift"]["drifts"],
        Value::Array(vec![]),
        "the raw state of a first apply is in sync: {report:#}"
    );
    assert_eq!(code, 0);
    let ws_ref = &mut ws;
    tokio::task::block_in_place(|| ws_ref.refresh_only_apply());

    let iam = aws_sdk_iam::Client::new(&moto.sdk_config().await);
    let role = ws.resource_id("aws_iam_role.app");
    iam.put_role_policy()
        .role_name(&role)
        .policy_name("hotfix")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name(&role)
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    iam.create_user().user_name("by-hand").send().await.unwrap();

    let ws_ref = &mut ws;
    let referee = tokio::task::block_in_place(|| referee_view(ws_ref));
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(code, 2, "drift found: {report:#}");
    assert_eq!(
        referee.get("aws_iam_role.app"),
        Some(&DriftKind::Changed(BTreeSet::from([
            "inline_policy".to_string(),
            "managed_policy_arns".to_string()
        ]))),
        "the referee saw both: {referee:?}"
    );
    assert_eq!(
        driftd_view(&report),
        referee,
        "driftd must name what Terraform names:\n{report:#}"
    );
    assert_eq!(
        unmanaged(&report),
        BTreeSet::from(["aws_iam_user.by-hand".to_string()])
    );
}
