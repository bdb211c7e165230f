//! The one integration-test binary: every test module links once.

mod cli;
mod config;
mod diff;
mod graph;
mod readonly;
mod sources;
mod state;
mod store;
mod support;
