//! Attribution: which recorded API calls explain a finding, and who made
//! them (DESIGN.md "Attribution", invariant 3: no guessed actor).
//!
//! `event` reads CloudTrail records, `table` says which events can change
//! which resources, `matching` joins the two for a finding (pure).

pub mod event;
pub mod table;

pub use event::{Actor, Channel, TrailEvent};
