//! The one integration-test binary: every test module links once.

mod config;
mod graph;
mod state;
mod store;
mod support;
