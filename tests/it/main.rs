//! The one integration-test binary: every test module links once.

mod aws_compute;
mod aws_elb;
mod aws_iam;
mod aws_kms;
mod aws_lambda;
mod aws_logs;
mod aws_misc;
mod aws_net;
mod aws_rds;
mod aws_s3;
mod aws_sg;
mod cli;
mod config;
mod corpus_live;
mod diff;
mod graph;
mod harness;
mod partial;
mod readonly;
mod retention;
mod scenario;
mod sources;
mod state;
mod store;
mod support;
