//! KMS collectors (filled in below).
