//! driftd: Terraform drift detection. State vs live cloud, attributed to an
//! actor, routed by tier. Read-only towards every cloud.
//!
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod attribution;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod diag;
pub mod diff;
pub mod findings;
pub mod graph;
pub mod ignore;
pub mod live;
pub mod model;
pub mod notify;
mod output;
pub mod policy;
pub mod progress;
pub mod report;
pub mod scan;
pub mod secrets;
pub mod sources;
pub mod state;
pub mod store;
