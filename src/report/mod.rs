//! The drift report: HTML pages and their JSON, served by the daemon
//! (`web.rs`) or written as static files (`export.rs`).

pub mod attrdiff;
pub mod data;
pub mod export;
pub mod html;
pub mod svg;
pub mod web;
