//! State sources: where Terraform states are read from (local files and
//! globs, S3, the `http` backend, HCP Terraform / Terraform Enterprise).
//! Filled in by the sources work; see the interface below.
