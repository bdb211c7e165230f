//! driftd: Terraform drift detection. State vs live cloud, attributed to an
//! actor, routed by tier. Read-only towards every cloud.
//!
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod config;
pub mod diag;
pub mod model;
pub mod sources;
