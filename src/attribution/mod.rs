//! Attribution: which recorded API calls explain a finding, and who made
//! them (DESIGN.md "Attribution", invariant 3: no guessed actor).
//!
//! `event` reads CloudTrail records, `trail_s3` reads them from a trail's
//! log objects in S3, `table` says which events can change which resources,
//! `matching` joins the two for a finding (pure).

pub mod event;
pub mod table;
pub mod trail_s3;

pub use event::{Actor, Channel, TrailEvent};
