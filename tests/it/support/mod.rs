//! Shared test helpers: corpus location, temporary dirs, local servers.

pub mod api_receiver;
pub mod botocore;
pub mod browser;
pub mod chat_receiver;
pub mod chat_schemas;
pub mod cloudtrail;
pub mod fault_proxy;
pub mod hcp;
pub mod http_backend;
pub mod moto;
pub mod notify;
pub mod pd_receiver;
pub mod searches;
pub mod sink_worker;
pub mod smtp;
pub mod terraform;
pub mod webhook_receiver;

use std::path::{Path, PathBuf};

/// `../shared/corpus` beside the checkout (tests read the corpus in place).
/// Overridable with `DRIFTD_CORPUS` for unusual layouts.
pub fn corpus_dir() -> PathBuf {
    if let Ok(p) = std::env::var("DRIFTD_CORPUS") {
        return PathBuf::from(p);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(
        dir.is_dir(),
        "the test corpus is missing at {}: check out the repository beside shared/ or set DRIFTD_CORPUS",
        dir.display()
    );
    dir
}

/// Every file below `dir`, at any depth, sorted.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
}

/// Fails unless `report` (what `driftd scan --format json` printed) is valid
/// under `schema/scan-result.schema.json`, listing every violation.
pub fn assert_scan_result_schema(report: &serde_json::Value) {
    let errors = scan_result_schema_errors(report);
    assert!(
        errors.is_empty(),
        "the scan result does not follow schema/scan-result.schema.json:\n{}\n{report:#}",
        errors.join("\n")
    );
}

/// Every violation of `schema/scan-result.schema.json` in `report`.
pub fn scan_result_schema_errors(report: &serde_json::Value) -> Vec<String> {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/scan-result.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{} is not a valid JSON Schema: {e}", path.display()))
    });
    validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}
