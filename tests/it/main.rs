//! The one integration-test binary: every test module links once.

mod sources;
mod support;
