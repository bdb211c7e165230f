//! The one integration-test binary: every test module links once.

mod aws_iam;
mod aws_net;
mod cli;
mod config;
mod graph;
mod readonly;
mod sources;
mod state;
mod store;
mod support;
