//! The driftd binary as a user runs it: exit codes, messages, output formats.

use crate::support::corpus_dir;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn driftd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(args)
        .env_remove("DRIFTD_CONFIG")
        .env_remove("DRIFTD_LOG")
        .output()
        .expect("the driftd binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn corpus_state(rel: &str) -> PathBuf {
    corpus_dir().join("terraform-state").join(rel)
}

/// A config with one file-sourced target per (name, state path).
fn write_config(dir: &Path, targets: &[(&str, &[&Path])]) -> PathBuf {
    let mut toml = format!("[store]\npath = \"{}\"\n", dir.join("driftd.db").display());
    for (name, states) in targets {
        toml.push_str(&format!(
            "\n[[target]]\nname = \"{name}\"\nenvironment = \"test\"\n"
        ));
        for s in *states {
            toml.push_str(&format!(
                "  [[target.state]]\n  type = \"file\"\n  path = \"{}\"\n",
                s.display()
            ));
        }
        toml.push_str("  [target.aws]\n  regions = [\"eu-west-1\"]\n  [[target.aws.account]]\n  id = \"123456789012\"\n");
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[test]
fn help_documents_exit_codes() {
    let out = driftd(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(
        help.contains("Exit codes:")
            && help.contains("0  success")
            && help.contains("1  error")
            && help.contains("2  scan: drift found"),
        "{help}"
    );
}

#[test]
fn validate_exit_codes_and_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(dir.path(), &[("a", &[Path::new("x.tfstate")])]);
    let out = driftd(&["validate", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    assert_eq!(
        driftd(&["validate", "--config", example.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[target]]\nname = \"Bad Name\"\nenviron = \"x\"\n").unwrap();
    let out = driftd(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 3, "every problem is reported: {err}");
    assert!(
        lines.iter().all(|l| l.starts_with(bad.to_str().unwrap())),
        "each names the file: {err}"
    );
    assert!(err.contains(":2:8: target[0].name:"), "{err}");
    assert!(
        err.contains(
            ":3:1: target[0].environ: unknown field `environ` (did you mean `environment`?)"
        ),
        "{err}"
    );

    let out = driftd(&[
        "validate",
        dir.path().join("missing.toml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing.toml"));
}

#[test]
fn scan_prints_the_inventory_and_skips_unchanged_states() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("eks.tfstate");
    std::fs::copy(corpus_state("aws/aws-eks-lon-kinbal-tf013.tfstate"), &state).unwrap();
    let config = write_config(dir.path(), &[("eks", &[&state])]);
    let scan = || {
        let out = driftd(&[
            "scan",
            "--config",
            config.to_str().unwrap(),
            "--target",
            "eks",
            "--format",
            "json",
            "--desired-only",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let report = serde_json::from_slice::<Value>(&out.stdout).unwrap();
        crate::support::assert_scan_result_schema(&report);
        report
    };
    let first = scan();
    assert_eq!(first["schema_version"], 1);
    assert_eq!(first["status"], "complete");
    assert_eq!(
        (first["managed"].as_u64(), first["data_sources"].as_u64()),
        (Some(56), Some(11))
    );
    assert_eq!(
        first["by_type"]["aws_iam_role_policy_attachment"]["managed"],
        8
    );
    assert_eq!(first["sources"][0]["reread"], true);
    assert_eq!(first["sources"][0]["version"]["serial"], 64);
    assert_eq!(first["stored"]["new_versions"], 67);

    // The schema is strict enough to catch the code and it drifting apart.
    let mut renamed = first.clone();
    renamed["state"] = renamed["status"].take();
    renamed.as_object_mut().unwrap().remove("status");
    let mut bad_status = first.clone();
    bad_status["status"] = "done".into();
    for broken in [renamed, bad_status] {
        assert!(!crate::support::scan_result_schema_errors(&broken).is_empty());
    }

    let second = scan();
    assert_eq!(
        second["sources"][0]["reread"], false,
        "an unchanged state is not re-read"
    );
    assert_eq!(second["managed"], 56, "its resources come from the store");
    assert_eq!(second["stored"]["new_versions"], 0);

    // Terraform rewrites the state: one attribute changes, the serial goes up.
    let mut raw: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    raw["serial"] = 65.into();
    let vpc = raw["resources"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["type"] == "aws_vpc")
        .unwrap();
    vpc["instances"][0]["attributes"]["tags"]["team"] = "platform".into();
    std::fs::write(&state, serde_json::to_string_pretty(&raw).unwrap()).unwrap();
    let third = scan();
    assert_eq!(third["sources"][0]["reread"], true);
    assert_eq!(third["sources"][0]["version"]["serial"], 65);
    assert_eq!(
        third["stored"]["new_versions"], 1,
        "only the changed resource is a new version"
    );
}

#[test]
fn scan_table_output() {
    let dir = tempfile::tempdir().unwrap();
    let state = corpus_state("aws/aws-kong-vpc-sg-tf012.tfstate");
    let config = write_config(dir.path(), &[("kong", &[&state])]);
    let out = driftd(&[
        "scan",
        "-c",
        config.to_str().unwrap(),
        "-t",
        "kong",
        "--desired-only",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.starts_with("target kong (test): scan 1 complete in "),
        "{table}"
    );
    assert!(
        table.contains("\naws_subnet           6        0\n"),
        "{table}"
    );
    assert!(
        table.contains("9 managed and 0 data source instance(s) of 4 type(s)"),
        "{table}"
    );
}

#[test]
fn a_bad_source_makes_the_scan_partial_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = corpus_state("aws/aws-iam-role-tf012.tfstate");
    let v3 = corpus_state("v3/v3-aws-iam-tf0.8.tfstate");
    let missing = dir.path().join("gone.tfstate");
    let config = write_config(dir.path(), &[("mixed", &[&good, &v3, &missing])]);
    let out = driftd(&[
        "scan",
        "-c",
        config.to_str().unwrap(),
        "-t",
        "mixed",
        "--format",
        "json",
        "--desired-only",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::support::assert_scan_result_schema(&report);
    assert_eq!(report["status"], "partial");
    assert_eq!(report["managed"], 3, "the good state is still read");
    let err = text(&out.stderr);
    assert!(
        err.contains("format version 3 is written by Terraform older than 0.12"),
        "{err}"
    );
    assert!(err.contains("gone.tfstate"), "{err}");

    let out = driftd(&[
        "scan",
        "-c",
        config.to_str().unwrap(),
        "-t",
        "nope",
        "--desired-only",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no target named \"nope\"; the targets are: mixed"));
}

#[test]
fn state_show_never_prints_secrets() {
    let path = corpus_state("aws/aws-rds-sensitive-tf19.tfstate");
    let out = driftd(&["state", "show", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (shown["managed"].as_u64(), shown["data_sources"].as_u64()),
        (Some(5), Some(3))
    );
    let db = shown["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "aws_db_instance")
        .unwrap();
    assert!(
        db["sensitive_paths"]
            .as_array()
            .unwrap()
            .contains(&Value::from("password"))
    );
    assert_eq!(db["status"], "ready");
    let null = shown["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "null_resource")
        .unwrap();
    assert_eq!(null["status"], "tainted");

    let table = driftd(&["state", "show", path.to_str().unwrap()]);
    assert!(
        text(&table.stdout).contains("aws_db_instance."),
        "{}",
        text(&table.stdout)
    );

    let out = driftd(&[
        "state",
        "show",
        corpus_state("edge-cases/dot-terraform-backend-config-not-a-state.tfstate")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("backend configuration"),
        "{}",
        text(&out.stderr)
    );
}

/// Live progress and the closing summary are drawn for a person at a terminal
/// (stderr is a pseudo-terminal here, made by util-linux `script`), and never
/// when the output is piped, as under systemd.
#[test]
fn progress_and_summary_only_on_a_terminal() {
    let moto = crate::support::moto::MotoServer::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("empty.tfstate");
    std::fs::write(
        &state,
        r#"{"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"l","outputs":{},"resources":[]}"#,
    )
    .unwrap();
    let config = dir.path().join("driftd.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"{}\"\n[[target]]\nname = \"lab\"\nenvironment = \"test\"\n\
             [[target.state]]\ntype = \"file\"\npath = \"{}\"\n[target.aws]\nregions = [\"us-east-1\"]\n\
             endpoint_url = \"{}\"\n[[target.aws.account]]\nid = \"123456789012\"\n",
            dir.path().join("driftd.db").display(),
            state.display(),
            moto.endpoint_url()
        ),
    )
    .unwrap();
    let command = |program: &str| {
        let mut c = Command::new(program);
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", dir.path());
        c
    };
    let args = [
        "scan",
        "-c",
        config.to_str().unwrap(),
        "-t",
        "lab",
        "--format",
        "table",
    ];

    let piped = command(env!("CARGO_BIN_EXE_driftd"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(0), "{}", text(&piped.stderr));
    assert_eq!(text(&piped.stderr), "", "nothing is drawn when piped");
    assert!(text(&piped.stdout).contains("no drift"));

    let line = std::iter::once(env!("CARGO_BIN_EXE_driftd"))
        .chain(args)
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let tty = command("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .output()
        .expect("util-linux `script` (scripts/setup-test-deps installs it)");
    let screen = text(&tty.stdout);
    assert_eq!(tty.status.code(), Some(0), "{screen}");
    assert!(screen.contains("listing the cloud"), "{screen}");
    assert!(screen.contains("123456789012 us-east-1"), "{screen}");
    assert!(screen.contains("123456789012 global"), "{screen}");
    assert!(screen.contains("result    in sync (exit 0)"), "{screen}");
    assert!(
        screen.contains("0 changed, 0 unmanaged, 0 missing"),
        "{screen}"
    );
}

#[test]
fn db_stats_and_prune_show_what_retention_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("eks.tfstate");
    std::fs::copy(corpus_state("aws/aws-eks-lon-kinbal-tf013.tfstate"), &state).unwrap();
    let config = write_config(dir.path(), &[("eks", &[&state])]);
    let mut text_config = std::fs::read_to_string(&config).unwrap();
    text_config.push_str("\n[retention]\nkeep_scans = 2\n");
    std::fs::write(&config, text_config).unwrap();
    let config = config.to_str().unwrap();

    let out = driftd(&["db", "stats", "--config", config]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("there is no store at"),
        "{}",
        text(&out.stderr)
    );

    // Four scans, the VPC's tags different in each: four VPC versions.
    let mut raw: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    for n in 0..4 {
        raw["serial"] = (100 + n).into();
        let vpc = raw["resources"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|r| r["type"] == "aws_vpc")
            .unwrap();
        vpc["instances"][0]["attributes"]["tags"]["n"] = n.to_string().into();
        std::fs::write(&state, serde_json::to_string_pretty(&raw).unwrap()).unwrap();
        let out = driftd(&[
            "scan",
            "--config",
            config,
            "--target",
            "eks",
            "--desired-only",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }

    // Each scan pruned: two scans left, and the versions only they hold.
    let out = driftd(&["db", "stats", "--config", config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["schema_version"], 1);
    assert_eq!(stats["targets"][0]["name"], "eks");
    assert_eq!(stats["targets"][0]["scans"], 2);
    assert_eq!(stats["targets"][0]["scans_with_snapshots"], 2);
    // 66 unchanged resources and the VPC as the two kept scans saw it, plus
    // as the first scan saw it: the key snapshot the later snapshots are
    // stored against holds it.
    assert_eq!(stats["resource_versions"], 66 + 2 + 1, "{stats:#}");
    assert_eq!(stats["key_snapshots"], 1);
    let rows = |table: &str| {
        stats["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == table)
            .unwrap_or_else(|| panic!("no table {table}: {stats:#}"))["rows"]
            .clone()
    };
    assert_eq!(rows("scans"), 2);
    assert_eq!(rows("resource_versions"), 69);
    assert!(stats["file_bytes"].as_u64().unwrap() > 0);
    assert!(stats["oldest_scan"].is_string());

    let out = driftd(&["db", "stats", "--config", config]);
    let shown = text(&out.stdout);
    for expected in [
        "store ",
        "resource versions: 69",
        "TARGET",
        "eks",
        "TABLE",
        "finding_events",
    ] {
        assert!(shown.contains(expected), "{expected:?} in:\n{shown}");
    }

    // Nothing more to prune by hand; the report says so.
    let out = driftd(&["db", "prune", "--config", config, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["keep_scans"], 2);
    assert_eq!(report["pruned"]["scans_deleted"], 0);
    assert_eq!(report["pruned"]["versions_deleted"], 0);
    assert_eq!(report["after"]["resource_versions"], 69);
    let out = driftd(&["db", "prune", "--config", config]);
    assert!(
        text(&out.stdout).contains("0 scans deleted"),
        "{}",
        text(&out.stdout)
    );
}
