//! Attribution: which recorded API calls explain a finding, and who made
//! them (DESIGN.md "Attribution", invariant 3: no guessed actor).
//!
//! `event` reads CloudTrail records, `table` says which events can change
//! which resources, `matching` joins the two for a finding, `plan` chooses
//! the LookupEvents calls (all pure); `lookup` makes them under the rate
//! limit, `trail_s3` reads a trail's log objects in S3 instead, and `run`
//! starts searches in a scan and runs passes.

pub mod event;
pub mod lookup;
pub mod matching;
pub mod plan;
pub mod run;
pub mod table;
pub mod trail_s3;

pub use event::{Actor, Channel, TrailEvent};
