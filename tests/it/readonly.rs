//! Invariant 1, no write to a cloud: the source calls no mutating AWS operation,
//! and the shipped IAM policy grants exactly the read actions the collectors use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Operation prefixes that only read.
const READ_PREFIXES: &[&str] = &[
    "describe_",
    "list_",
    "get_",
    "lookup_",
    "head_",
    "search_",
    "batch_get_",
];

/// The AWS SDK crates this package depends on, found in Cargo.lock, and where their
/// sources were unpacked by cargo.
fn sdk_client_dirs() -> Vec<PathBuf> {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let mut crates = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = \"") {
            name = Some(n.trim_end_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = \"")
            && let Some(n) = name.take().filter(|n| n.starts_with("aws-sdk-"))
        {
            crates.push(format!("{n}-{}", v.trim_end_matches('"')));
        }
    }
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let registries: Vec<PathBuf> = std::fs::read_dir(cargo_home.join("registry/src"))
        .expect("cargo's registry sources exist after a build")
        .map(|e| e.unwrap().path())
        .collect();
    crates
        .iter()
        .map(|c| {
            registries
                .iter()
                .map(|r| r.join(c).join("src/client"))
                .find(|p| p.is_dir())
                .unwrap_or_else(|| {
                    panic!("sources of {c} not found under {}", cargo_home.display())
                })
        })
        .collect()
}

/// Every operation of every SDK client we depend on that does not only read.
fn mutating_operations() -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for dir in sdk_client_dirs() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if !READ_PREFIXES.iter().any(|p| name.starts_with(p)) && name != "customize" {
                ops.insert(name);
            }
        }
    }
    ops
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Finds `.op(` calls of the given operations in the given sources.
///
/// One-word operations (DynamoDB's `query` and `scan`, Lambda's `invoke`,
/// SNS's `publish`) share their names with everyday methods (SQLite's and
/// reqwest's `query`): they are looked for only in files that talk to AWS
/// (name an SDK crate or take a `RegionContext`). Every multi-word operation is
/// looked for everywhere.
fn calls_of(ops: &BTreeSet<String>, files: &[PathBuf]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let talks_to_aws = text.contains("aws_sdk_") || text.contains("RegionContext");
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find('.') {
                rest = &rest[at + 1..];
                let ident: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if rest[ident.len()..].starts_with('(')
                    && ops.contains(&ident)
                    && (talks_to_aws || ident.contains('_'))
                {
                    found.push(format!("{}:{}: .{ident}(", file.display(), n + 1));
                }
            }
        }
    }
    found
}

#[test]
fn source_calls_no_mutating_aws_operation() {
    let ops = mutating_operations();
    assert!(
        ops.contains("authorize_security_group_ingress") && ops.contains("put_role_policy"),
        "{} ops",
        ops.len()
    );
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let calls = calls_of(&ops, &files);
    assert!(
        calls.is_empty(),
        "driftd must not call mutating AWS operations:\n{}",
        calls.join("\n")
    );
}

#[test]
fn the_scan_would_catch_a_mutating_call() {
    let ops = mutating_operations();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.rs");
    std::fs::write(
        &file,
        "async fn f(c: &Client) { c.ec2().modify_vpc_attribute().send().await; }\n",
    )
    .unwrap();
    assert_eq!(calls_of(&ops, &[file]).len(), 1);

    // DynamoDB's Query and Scan read a table's data, which driftd never does.
    let lister = dir.path().join("dynamodb.rs");
    std::fs::write(
        &lister,
        "fn f(ctx: &RegionContext) { ctx.dynamodb().scan().table_name(\"t\"); }\n",
    )
    .unwrap();
    assert_eq!(calls_of(&ops, &[lister]).len(), 1);
    // ... while SQLite's `query` elsewhere is not an AWS call.
    let store = dir.path().join("dao.rs");
    std::fs::write(&store, "fn f(s: &Statement) { s.query([]); }\n").unwrap();
    assert_eq!(calls_of(&ops, &[store]), Vec::<String>::new());
}

#[test]
fn iam_policy_grants_exactly_the_collectors_actions() {
    let mut expected: BTreeSet<String> = driftd::aws::types::ALL
        .iter()
        .flat_map(|d| d.actions.iter().map(|a| a.to_string()))
        .collect();
    expected.insert("sts:GetCallerIdentity".to_string());
    for action in &expected {
        let op = action.split_once(':').map(|(_, op)| op).unwrap_or_default();
        assert!(
            ["Describe", "List", "Get", "Lookup", "Head"]
                .iter()
                .any(|p| op.starts_with(p)),
            "{action} is not a read action"
        );
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/aws-iam-policy.json");
    let wanted = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DriftdReadOnlyInventory",
            "Effect": "Allow",
            "Action": expected.iter().collect::<Vec<_>>(),
            "Resource": "*"
        }]
    });
    let actual: serde_json::Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    assert_eq!(
        actual,
        wanted,
        "packaging/aws-iam-policy.json is out of step with the collectors; write exactly:\n{}",
        serde_json::to_string_pretty(&wanted).unwrap()
    );
}
