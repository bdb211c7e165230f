//! Shared test helpers: corpus location, temporary dirs, local servers.

pub mod fault_proxy;
pub mod hcp;
pub mod http_backend;
pub mod moto;
pub mod terraform;

use std::path::PathBuf;

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
