//! The one integration-test binary: every test module links once.

mod aws_iam;
mod aws_misc;
mod aws_net;
mod aws_sg;
mod cli;
mod config;
mod diff;
mod graph;
mod harness;
mod readonly;
mod scenario;
mod sources;
mod state;
mod store;
mod support;
