//! Real Terraform against a local moto: the referee for *changed* and
//! *missing* drift.
//!
//! [`Terraform::discover`] finds the `terraform` binary (`DRIFTD_TERRAFORM`,
//! else `PATH`) and a provider filesystem mirror holding hashicorp/aws
//! (`DRIFTD_TF_PLUGIN_MIRROR`, else searched under `/opt`, `/usr/local` and
//! `/root`). Either missing fails the test with what to install or set: the
//! drift scenarios are never skipped.
//!
//! A [`Workspace`] is a temporary directory holding one fixture from
//! `tests/fixtures/tf/<name>/`, a generated `provider.tf` pointing the aws
//! provider at a moto endpoint, and a CLI config of its own. Every command
//! runs with a cleared environment (no `~/.terraformrc`, no `~/.aws`, no
//! plugin cache, no checkpoint calls) and `-parallelism=1`, because moto
//! answers 500s under concurrent writes. A failed command panics with its
//! stdout and stderr.
//!
//! Costs, measured on the 2-core project machine: every command that loads
//! the aws provider spends 5–10 s of CPU in the provider's schema alone, so
//! [`Workspace::plan_refresh_only`] keeps its plan file and
//! [`Workspace::apply_refresh_plan`] applies that file instead of planning
//! again.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The region the generated provider block uses (moto's default).
pub const REGION: &str = super::moto::REGION;

/// Tags every fixture gets through the provider's `default_tags`, so that
/// `tags_all` differs from `tags` everywhere. `fixture` is the fixture name.
pub const DEFAULT_TAG_KEYS: [&str; 2] = ["managed_by", "fixture"];

/// The services the generated provider block sends to the endpoint. A
/// fixture that uses another service must add it here, or the provider
/// would call real AWS with test credentials (and fail).
const ENDPOINT_SERVICES: [&str; 14] = [
    "dynamodb", "ec2", "ecr", "elbv2", "iam", "kms", "lambda", "logs", "rds", "route53", "s3",
    "sns", "sqs", "sts",
];

/// Where Terraform and the aws provider are on this machine.
#[derive(Debug, Clone)]
pub struct Terraform {
    /// The `terraform` executable.
    pub binary: PathBuf,
    /// The filesystem mirror root: the folder that holds `registry.terraform.io`.
    pub plugin_mirror: PathBuf,
}

impl Terraform {
    /// Finds Terraform and the provider mirror once per test process.
    /// Panics with what to install or set when either is missing.
    pub fn discover() -> &'static Terraform {
        static FOUND: OnceLock<Terraform> = OnceLock::new();
        FOUND.get_or_init(|| {
            let path = std::env::var_os("PATH")
                .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
                .unwrap_or_default();
            let binary = find_terraform_binary(std::env::var_os("DRIFTD_TERRAFORM"), &path)
                .unwrap_or_else(|message| panic!("{message}"));
            let plugin_mirror = find_plugin_mirror(
                std::env::var_os("DRIFTD_TF_PLUGIN_MIRROR"),
                &MIRROR_SEARCH_ROOTS.map(PathBuf::from),
            )
            .unwrap_or_else(|message| panic!("{message}"));
            Terraform {
                binary,
                plugin_mirror,
            }
        })
    }
}

/// Where a provider mirror is looked for when `DRIFTD_TF_PLUGIN_MIRROR` is unset.
pub const MIRROR_SEARCH_ROOTS: [&str; 3] = ["/opt", "/usr/local", "/root"];

/// `DRIFTD_TERRAFORM` (given as `explicit`), else `terraform` in one of the
/// `PATH` directories; the error says what to install or set.
pub fn find_terraform_binary(
    explicit: Option<OsString>,
    path: &[PathBuf],
) -> Result<PathBuf, String> {
    if let Some(binary) = explicit {
        let binary = PathBuf::from(binary);
        if binary.is_file() {
            return Ok(binary);
        }
        return Err(format!(
            "DRIFTD_TERRAFORM is set to {}, which is not a file: point it at a terraform binary (1.11)",
            binary.display()
        ));
    }
    path.iter()
        .map(|dir| dir.join("terraform"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            "terraform not found on PATH: install Terraform 1.11 \
             (https://developer.hashicorp.com/terraform/install) or set DRIFTD_TERRAFORM to its binary"
                .to_owned()
        })
}

/// `DRIFTD_TF_PLUGIN_MIRROR` (given as `explicit`), else the folder above
/// `registry.terraform.io` of the first `terraform-provider-aws_*` under
/// `roots`; the error says what to install or set.
pub fn find_plugin_mirror(
    explicit: Option<OsString>,
    roots: &[PathBuf],
) -> Result<PathBuf, String> {
    if let Some(mirror) = explicit {
        let mirror = PathBuf::from(mirror);
        if mirror.join("registry.terraform.io/hashicorp/aws").is_dir() {
            return Ok(mirror);
        }
        return Err(format!(
            "DRIFTD_TF_PLUGIN_MIRROR is set to {}, which has no registry.terraform.io/hashicorp/aws: \
             point it at a provider filesystem mirror root (the folder that holds registry.terraform.io)",
            mirror.display()
        ));
    }
    for root in roots {
        if let Some(provider) = find_provider_binary(root, 0) {
            let mirror = provider
                .ancestors()
                .find(|dir| {
                    dir.file_name()
                        .is_some_and(|n| n == "registry.terraform.io")
                })
                .and_then(Path::parent);
            if let Some(mirror) = mirror {
                return Ok(mirror.to_path_buf());
            }
        }
    }
    Err(format!(
        "no hashicorp/aws provider mirror found (searched {roots:?} for terraform-provider-aws_*): \
         put the provider in a filesystem mirror (`terraform providers mirror DIR` with a config \
         requiring hashicorp/aws 5.100.0) and set DRIFTD_TF_PLUGIN_MIRROR=DIR"
    ))
}

/// Depth-first search for `terraform-provider-aws_*` under a mirror layout
/// (`registry.terraform.io/hashicorp/aws/<version>/<os_arch>/` is 5 levels
/// below the root). Skips trees that are large and never hold a mirror.
fn find_provider_binary(dir: &Path, depth: usize) -> Option<PathBuf> {
    const MAX_DEPTH: usize = 7;
    const SKIP: [&str; 8] = [
        ".cargo",
        ".rustup",
        ".cache",
        ".npm",
        "target",
        "node_modules",
        ".git",
        "site-packages",
    ];
    let entries = std::fs::read_dir(dir).ok()?;
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_file() && name.starts_with("terraform-provider-aws_") {
            return Some(entry.path());
        }
        if kind.is_dir() && !SKIP.contains(&name.as_ref()) {
            subdirs.push(entry.path());
        }
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    subdirs.sort();
    subdirs
        .iter()
        .find_map(|sub| find_provider_binary(sub, depth + 1))
}

/// One resource Terraform reports in `resource_drift` of a refresh-only plan.
#[derive(Debug, Clone)]
pub struct ResourceDrift {
    /// `aws_vpc.main`, `module.net.aws_subnet.a["x"]`.
    pub address: String,
    /// `aws_vpc`.
    pub resource_type: String,
    /// `change.actions`: `["update"]` or `["delete"]`.
    pub actions: Vec<String>,
    /// `change.before` (the state) and `change.after` (what the refresh read;
    /// null when the resource is gone).
    pub before: Value,
    pub after: Value,
}

/// What a drift amounts to, at the granularity the scenarios compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftKind {
    /// The resource is gone from the cloud (*missing*).
    Deleted,
    /// Top-level attributes whose values differ between state and cloud.
    Changed(BTreeSet<String>),
}

impl ResourceDrift {
    pub fn kind(&self) -> DriftKind {
        if self.actions.iter().any(|a| a == "delete") || self.after.is_null() {
            return DriftKind::Deleted;
        }
        DriftKind::Changed(changed_top_level_attributes(&self.before, &self.after))
    }
}

impl fmt::Display for ResourceDrift {
    /// `aws_vpc.main: tags, tags_all` or `aws_subnet.a: deleted`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            DriftKind::Deleted => write!(f, "{}: deleted", self.address),
            DriftKind::Changed(attributes) => {
                let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
                write!(f, "{}: {}", self.address, attributes.join(", "))
            }
        }
    }
}

/// The drift as sorted one-line summaries (see [`ResourceDrift`]'s
/// `Display`), for `assert_eq!` against an expected list.
pub fn summarize(drift: &[ResourceDrift]) -> Vec<String> {
    let mut lines: Vec<String> = drift.iter().map(ToString::to_string).collect();
    lines.sort();
    lines
}

/// Top-level keys whose values differ (a key absent on one side counts as null).
pub fn changed_top_level_attributes(before: &Value, after: &Value) -> BTreeSet<String> {
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    before
        .keys()
        .chain(after.keys())
        .filter(|key| {
            before.get(*key).unwrap_or(&Value::Null) != after.get(*key).unwrap_or(&Value::Null)
        })
        .cloned()
        .collect()
}

/// Reads `resource_drift` from `terraform show -json PLAN` output.
pub fn parse_resource_drift(plan: &Value) -> Vec<ResourceDrift> {
    let Some(entries) = plan.get("resource_drift").and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|entry| {
            let text = |key: &str| {
                entry
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("resource_drift entry without {key}: {entry}"))
                    .to_owned()
            };
            let change = entry.get("change").unwrap_or(&Value::Null);
            ResourceDrift {
                address: text("address"),
                resource_type: text("type"),
                actions: change
                    .get("actions")
                    .and_then(Value::as_array)
                    .map(|actions| {
                        actions
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                before: change.get("before").cloned().unwrap_or(Value::Null),
                after: change.get("after").cloned().unwrap_or(Value::Null),
            }
        })
        .collect()
}

/// A refresh-only plan: what Terraform says changed outside of it, and the
/// saved plan file that [`Workspace::apply_refresh_plan`] can apply.
#[derive(Debug)]
pub struct RefreshPlan {
    pub drift: Vec<ResourceDrift>,
    /// The whole `terraform show -json` document.
    pub json: Value,
    pub file: PathBuf,
}

impl RefreshPlan {
    /// See [`summarize`].
    pub fn summary(&self) -> Vec<String> {
        summarize(&self.drift)
    }

    /// The drift of one address, if Terraform reported it.
    pub fn drift_of(&self, address: &str) -> Option<&ResourceDrift> {
        self.drift.iter().find(|d| d.address == address)
    }
}

/// A fixture in a temporary directory, applied against one endpoint.
pub struct Workspace {
    terraform: &'static Terraform,
    fixture: String,
    /// Holds the configuration, `.terraform/`, the state, and the CLI config.
    dir: tempfile::TempDir,
    /// Wall time of every command run so far: (`init`, 1.8 s), ...
    timings: Vec<(String, Duration)>,
    plans: usize,
}

impl Workspace {
    /// Copies `tests/fixtures/tf/<fixture>/` and writes `provider.tf` (every
    /// service in [`ENDPOINT_SERVICES`] at `endpoint`, path-style S3, static
    /// test credentials, [`REGION`], `default_tags` with [`DEFAULT_TAG_KEYS`])
    /// and the CLI config. Does not run Terraform.
    pub fn new(fixture: &str, endpoint: &str) -> Workspace {
        let terraform = Terraform::discover();
        let source = fixture_dir(fixture);
        assert!(
            source.join("main.tf").is_file(),
            "no Terraform fixture at {}",
            source.display()
        );
        let dir = tempfile::Builder::new()
            .prefix(&format!("driftd-tf-{fixture}-"))
            .tempdir()
            .expect("temporary directory for a Terraform workspace");
        copy_dir(&source, dir.path());
        let provider = provider_tf(fixture, endpoint);
        std::fs::write(dir.path().join("provider.tf"), provider).expect("write provider.tf");
        std::fs::write(
            dir.path().join(".terraformrc"),
            cli_config(&terraform.plugin_mirror),
        )
        .expect("write the Terraform CLI config");
        Workspace {
            terraform,
            fixture: fixture.to_owned(),
            dir,
            timings: Vec::new(),
            plans: 0,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn fixture(&self) -> &str {
        &self.fixture
    }

    /// `terraform init` from the filesystem mirror only.
    pub fn init(&mut self) {
        self.run("init", &["init", "-input=false", "-no-color"]);
    }

    /// `terraform apply -parallelism=1 -auto-approve`.
    pub fn apply(&mut self) {
        self.run(
            "apply",
            &[
                "apply",
                "-parallelism=1",
                "-auto-approve",
                "-input=false",
                "-no-color",
            ],
        );
    }

    /// `terraform apply -refresh-only -auto-approve`: plans again, then
    /// writes what the cloud says into the state. [`Workspace::apply_refresh_plan`]
    /// does the same from a plan already made, for half the CPU.
    pub fn refresh_only_apply(&mut self) {
        self.run(
            "apply -refresh-only",
            &[
                "apply",
                "-refresh-only",
                "-parallelism=1",
                "-auto-approve",
                "-input=false",
                "-no-color",
            ],
        );
    }

    /// `terraform plan -refresh-only -out=FILE` then `terraform show -json FILE`.
    pub fn plan_refresh_only(&mut self) -> RefreshPlan {
        self.plans += 1;
        let file = self.dir().join(format!("refresh-{}.tfplan", self.plans));
        let out = format!("-out={}", file.display());
        self.run(
            "plan -refresh-only",
            &[
                "plan",
                "-refresh-only",
                "-parallelism=1",
                "-input=false",
                "-no-color",
                &out,
            ],
        );
        let shown = self.run(
            "show -json",
            &["show", "-json", "-no-color", &file.to_string_lossy()],
        );
        let json: Value = serde_json::from_slice(&shown.stdout)
            .unwrap_or_else(|e| panic!("terraform show -json {}: not JSON: {e}", file.display()));
        RefreshPlan {
            drift: parse_resource_drift(&json),
            json,
            file,
        }
    }

    /// The `resource_drift` of a fresh refresh-only plan.
    pub fn plan_refresh_only_json(&mut self) -> Vec<ResourceDrift> {
        self.plan_refresh_only().drift
    }

    /// Applies a saved refresh-only plan: the drift it found becomes state.
    /// Terraform refuses (and this panics) when the state changed since.
    pub fn apply_refresh_plan(&mut self, plan: &RefreshPlan) {
        self.run(
            "apply refresh plan",
            &[
                "apply",
                "-parallelism=1",
                "-input=false",
                "-no-color",
                &plan.file.to_string_lossy(),
            ],
        );
    }

    /// The local state file (`terraform.tfstate`), as Terraform wrote it.
    pub fn state_path(&self) -> PathBuf {
        self.dir().join("terraform.tfstate")
    }

    pub fn state_json(&self) -> Value {
        let path = self.state_path();
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("read the state {}: {e}", path.display()));
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("the state {} is not JSON: {e}", path.display()))
    }

    /// The `id` attribute of a managed resource in the state, by address
    /// (`aws_vpc.main`; no modules, no count/for_each).
    pub fn resource_id(&self, address: &str) -> String {
        let (kind, name) = address
            .split_once('.')
            .unwrap_or_else(|| panic!("{address} is not TYPE.NAME"));
        let state = self.state_json();
        state["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["mode"] == "managed" && r["type"] == kind && r["name"] == name)
            .and_then(|r| r["instances"][0]["attributes"]["id"].as_str())
            .unwrap_or_else(|| {
                panic!(
                    "{address} has no id in the state of fixture {}",
                    self.fixture
                )
            })
            .to_owned()
    }

    /// Wall time of every command so far, in order.
    pub fn timings(&self) -> &[(String, Duration)] {
        &self.timings
    }

    /// Runs terraform in the workspace with a clean environment; panics with
    /// the command, its exit status, stdout and stderr when it fails.
    fn run(&mut self, label: &str, args: &[&str]) -> Output {
        let started = Instant::now();
        let output = Command::new(&self.terraform.binary)
            .args(args)
            .current_dir(self.dir())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            // The provider must not read the developer's ~/.aws.
            .env("HOME", self.dir())
            .env("TF_CLI_CONFIG_FILE", self.dir().join(".terraformrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_INPUT", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.terraform.binary.display()));
        self.timings.push((label.to_owned(), started.elapsed()));
        if !output.status.success() {
            panic!(
                "terraform {} failed ({}) in fixture {} at {}\n--- stderr\n{}\n--- stdout\n{}",
                args.join(" "),
                output.status,
                self.fixture,
                self.dir().display(),
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout),
            );
        }
        output
    }
}

/// `tests/fixtures/tf/<name>`.
pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tf")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    let entries = std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("read the fixture {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.expect("fixture directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("fixture file type").is_dir() {
            std::fs::create_dir_all(&target).expect("create a fixture subdirectory");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// The aws provider block of every fixture.
///
/// `skip_requesting_account_id = false`: moto answers STS
/// GetCallerIdentity, and the provider needs the account id for ARNs.
/// `skip_region_validation`: the provider's region list is irrelevant here.
pub fn provider_tf(fixture: &str, endpoint: &str) -> String {
    let endpoints: String = ENDPOINT_SERVICES
        .iter()
        .map(|service| format!("    {service} = {endpoint:?}\n"))
        .collect();
    let default_tags: BTreeMap<&str, &str> = BTreeMap::from([
        (DEFAULT_TAG_KEYS[0], "terraform"),
        (DEFAULT_TAG_KEYS[1], fixture),
    ]);
    let default_tags: String = default_tags
        .iter()
        .map(|(key, value)| format!("      {key} = {value:?}\n"))
        .collect();
    format!(
        r#"# Written by the driftd test harness (tests/it/support/terraform.rs).
provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "testing"
  secret_key                  = "testing"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false

  endpoints {{
{endpoints}  }}

  default_tags {{
    tags = {{
{default_tags}    }}
  }}
}}
"#
    )
}

/// A CLI config that installs hashicorp/aws from the mirror only (never the
/// network), with no plugin cache and no checkpoint calls.
pub fn cli_config(mirror: &Path) -> String {
    format!(
        r#"disable_checkpoint = true

provider_installation {{
  filesystem_mirror {{
    path    = {mirror:?}
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }}
}}
"#,
        mirror = mirror.to_string_lossy()
    )
}
