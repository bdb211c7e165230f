//! Partial scans end to end: `driftd scan` through the project's fault proxy in
//! front of moto. A listing that is denied, throttled past its retries, or
//! slower than the call timeout makes its type unknown for the scan: nothing of
//! that type is reported missing or unmanaged, the scan says it is partial and
//! why, and every other type is still compared.
//!
//! The control scan (no faults) sees the same cloud and reports the missing
//! subnet and the unmanaged role and bucket, which proves the faulted scan
//! hides them because of the faults and not because it cannot see them.

use crate::scenario::{driftd_view, referee_view, scan, unmanaged, write_config_with};
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::moto::MotoServer;
use crate::support::terraform::{DriftKind, Workspace};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Two attempts of at most one second each: the faults below outlast them.
const TUNING: &str = "[aws]\nmax_attempts = 2\ncall_timeout_seconds = 1\n";

/// `resource_type -> reason` of every listing the report says is unknown.
fn unknown_listings(report: &Value) -> BTreeMap<String, String> {
    report["live"]["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "unknown")
        .map(|c| {
            (
                c["resource_type"].as_str().unwrap().to_string(),
                c["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_listings_make_their_types_unknown_never_missing_or_unmanaged() {
    let moto = MotoServer::start();
    let mut ws = Workspace::new("network", &moto.endpoint_url());
    let ws_ref = &mut ws;
    tokio::task::block_in_place(|| {
        ws_ref.init();
        ws_ref.apply();
        ws_ref.refresh_only_apply();
    });

    // Out of band: a subnet deleted, an IAM role and a bucket
    // created, a tag added to the VPC.
    let config = moto.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    ec2.create_tags()
        .resources(ws.resource_id("aws_vpc.main"))
        .tags(crate::scenario::tag("owner", "someone-by-hand"))
        .send()
        .await
        .unwrap();
    let private = ws.resource_id("aws_subnet.private");
    ec2.delete_subnet()
        .subnet_id(&private)
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("hand-made")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let s3 = moto.s3_client().await;
    s3.create_bucket()
        .bucket("hand-made-bucket")
        .send()
        .await
        .unwrap();

    let proxy = FaultProxy::start(&moto.endpoint_url());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(dir.path(), &ws.state_path(), &proxy.endpoint_url(), TUNING);

    // Control: no faults. driftd names what Terraform names, plus what
    // Terraform cannot see.
    let ws_ref = &mut ws;
    let referee = tokio::task::block_in_place(|| referee_view(ws_ref));
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(driftd_view(&report), referee, "{report:#}");
    assert_eq!(
        referee.get("aws_subnet.private"),
        Some(&DriftKind::Deleted),
        "the referee saw the subnet go: {referee:?}"
    );
    assert_eq!(
        unmanaged(&report),
        BTreeSet::from([
            "aws_iam_role.hand-made".to_string(),
            "aws_s3_bucket.hand-made-bucket".to_string(),
        ])
    );
    assert_eq!(report["status"], "complete");
    let findings_before = report["live"]["findings"]["active"].clone();
    assert_eq!(findings_before, 4, "tag, subnet, role, bucket: {report:#}");

    // Denied: every IAM call. Throttled past both attempts: EC2's
    // DescribeSubnets. Slower than the timeout, both attempts: every S3 call.
    proxy.fault("iam", Fault::Deny);
    proxy.fault_operation("ec2", "DescribeSubnets", Fault::Throttle { times: 100 });
    proxy.fault("s3", Fault::Delay(Duration::from_secs(3)));
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(report["status"], "partial", "{report:#}");
    let drift = &report["live"]["drift"];
    assert_eq!(drift["partial"], true);

    let unknown = unknown_listings(&report);
    let iam_types: Vec<&str> = unknown
        .keys()
        .filter(|t| t.starts_with("aws_iam_"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        iam_types.len(),
        9,
        "every IAM type is unknown: {unknown:#?}"
    );
    for t in iam_types {
        assert!(
            unknown[t].contains("AccessDenied"),
            "{t}: the reason says access was denied: {}",
            unknown[t]
        );
    }
    assert!(
        unknown["aws_subnet"].contains("ec2:DescribeSubnets")
            && unknown["aws_subnet"].contains("throttl"),
        "{}",
        unknown["aws_subnet"]
    );
    let s3_types: Vec<&str> = unknown
        .keys()
        .filter(|t| t.starts_with("aws_s3_"))
        .map(String::as_str)
        .collect();
    assert_eq!(s3_types.len(), 5, "every S3 type is unknown: {unknown:#?}");
    for t in s3_types {
        assert!(
            unknown[t].contains("s3:ListBuckets") && unknown[t].contains("timeout"),
            "{t}: {}",
            unknown[t]
        );
    }
    assert_eq!(
        unknown.len(),
        15,
        "only the faulted listings are unknown: {unknown:#?}"
    );

    // Findings of the types it could not read are neither resolved nor new.
    let findings = &report["live"]["findings"];
    assert_eq!(findings["resolved"], 0, "{findings}");
    assert_eq!(findings["opened"], 0, "{findings}");
    assert_eq!(findings["active"], findings_before, "{findings}");

    // Nothing of an unknown type is missing or unmanaged ...
    assert_eq!(unmanaged(&report), BTreeSet::new(), "{report:#}");
    let view = driftd_view(&report);
    assert!(!view.contains_key("aws_subnet.private"), "{view:?}");
    // ... and the types that were listed are still compared: the VPC's new tag.
    let without_unknown: BTreeMap<String, DriftKind> = referee
        .into_iter()
        .filter(|(address, _)| !address.starts_with("aws_subnet."))
        .collect();
    assert_eq!(view, without_unknown, "{report:#}");
    assert!(
        matches!(view.get("aws_vpc.main"), Some(DriftKind::Changed(_))),
        "{view:?}"
    );
    assert_eq!(code, 2, "drift found, even in a partial scan");
    assert!(
        drift["unknown_resources"].as_u64().unwrap() >= 2,
        "the subnets in state are unknown: {drift:#}"
    );
    // Retries happened and were counted: two attempts for each throttled call.
    assert!(
        proxy.count("ec2", "DescribeSubnets") >= 2,
        "{:?}",
        proxy.counts()
    );
    assert!(
        report["live"]["api_calls"]["ec2"]["throttled"]
            .as_u64()
            .unwrap()
            >= 2
    );

    // The same faults with the drift accepted into the state and the strays
    // gone: nothing to report, but the scan is partial: exit 3, not 0.
    let ws_ref = &mut ws;
    tokio::task::block_in_place(|| ws_ref.refresh_only_apply());
    iam.delete_role()
        .role_name("hand-made")
        .send()
        .await
        .unwrap();
    s3.delete_bucket()
        .bucket("hand-made-bucket")
        .send()
        .await
        .unwrap();
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(
        report["live"]["drift"]["drifts"],
        Value::Array(vec![]),
        "{report:#}"
    );
    assert_eq!(code, 3, "partial scan without drift: {report:#}");
    // The VPC's listing completed: its finding is resolved. The role, the
    // bucket and the subnet are gone, but their listings did not complete:
    // their findings stay until a scan that can see.
    let findings = &report["live"]["findings"];
    assert_eq!(findings["resolved"], 1, "{findings}");
    assert_eq!(findings["active"], 3, "{findings}");

    proxy.clear_faults();
    let (code, report) = tokio::task::block_in_place(|| scan(&config));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["live"]["findings"]["resolved"], 3, "{report:#}");
    assert_eq!(report["live"]["findings"]["active"], 0);
}
