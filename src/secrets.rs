//! Secrets: the per-install key and keyed hashes of sensitive values
//! (DESIGN.md invariant 4).
//!
//! Sensitive values are compared by HMAC-SHA256 under a key that never leaves
//! the host: equal plaintexts give equal hashes within one install, so drift in
//! a password is still seen, but the hash is useless elsewhere and the
//! plaintext is never stored, logged, rendered or sent.

use hmac::{KeyInit, Mac};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a sensitive value is replaced with in attributes: this prefix and the hex HMAC.
pub const SENSITIVE_PREFIX: &str = "sensitive:hmac-sha256:";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The per-install HMAC key.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the install key {path}: {source} (check the file's owner and mode 0600)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot create the install key {path}: {source} (check that the directory exists and is writable by driftd)"
    )]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the install key {path} is {len} bytes, expected 32: it is damaged; restore it from backup \
         (deleting it makes every stored sensitive hash look changed once)"
    )]
    BadLength { path: PathBuf, len: usize },
}

impl SecretKey {
    /// Loads the key, or creates it (32 random bytes, mode 0600) if the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<SecretKey, KeyError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| KeyError::BadLength {
                            path: path.to_path_buf(),
                            len: bytes.len(),
                        })?;
                Ok(SecretKey(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::random();
                let create = |e| KeyError::Create {
                    path: path.to_path_buf(),
                    source: e,
                };
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(create)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(create)?;
                file.write_all(&key.0)
                    .and_then(|()| file.sync_all())
                    .map_err(create)?;
                Ok(key)
            }
            Err(e) => Err(KeyError::Read {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }

    /// A key for one-shot commands that store nothing (e.g. `driftd state show`).
    pub fn random() -> SecretKey {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source is available");
        SecretKey(key)
    }

    /// A fixed key for tests and benchmarks.
    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey(bytes)
    }

    /// The replacement for a sensitive value: `sensitive:hmac-sha256:<hex>` over its
    /// canonical JSON text.
    pub fn hash_value(&self, canonical_json: &str) -> String {
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(canonical_json.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(SENSITIVE_PREFIX.len() + 64);
        out.push_str(SENSITIVE_PREFIX);
        out.push_str(&hex::encode(digest));
        out
    }
}

impl SecretKey {
    /// The MAC chaining one audit-log row to the one before it: HMAC-SHA-256
    /// under a key derived from the install key (so it is never the key that
    /// hashes secrets), over `prev` and each field length-prefixed.
    pub fn audit_mac(&self, prev: &[u8; 32], fields: &[&[u8]]) -> [u8; 32] {
        let mut derive =
            <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        derive.update(b"driftd audit log v1");
        let subkey = derive.finalize().into_bytes();
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&subkey).expect("HMAC takes any key length");
        mac.update(prev);
        for field in fields {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        mac.finalize().into_bytes().into()
    }
}

/// True for a value that is a keyed hash standing in for a sensitive value.
pub fn is_hashed(value: &str) -> bool {
    value.starts_with(SENSITIVE_PREFIX)
}

/// Attribute names whose values are secrets whatever the provider's schema says
/// (older providers and states did not mark them all sensitive).
const SECRET_NAMES: &[&str] = &[
    "password",
    "secret",
    "token",
    "private_key",
    "private_key_pem",
    "private_key_pem_pkcs8",
    "private_key_openssh",
    "secret_key",
    "secret_access_key",
    "secret_string",
    "secret_binary",
    "access_key",
    "api_key",
    "auth_key",
    "shared_key",
    "preshared_key",
    "client_key",
    "client_secret",
    "client_certificate",
    "connection_string",
    "kube_config",
    "kube_config_raw",
    "kube_admin_config",
    "kube_admin_config_raw",
    "sas",
    "sas_token",
    "ses_smtp_password_v4",
    "webhook_url",
];

/// Name endings that mark a secret (`master_password`, `primary_access_key`,
/// `primary_blob_connection_string`, `auth_token`).
const SECRET_SUFFIXES: &[&str] = &[
    "_password",
    "_secret",
    "_token",
    "_private_key",
    "_access_key",
    "_connection_string",
    "_secret_key",
    "_api_key",
];

/// Whether an attribute with this name holds a secret. Errs on the side of
/// hashing: a hashed value still compares exactly, it only displays less.
pub fn is_secret_attribute(name: &str) -> bool {
    SECRET_NAMES.contains(&name) || SECRET_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Fragments of secret names: attribute text that contains none of them has no
/// secret-named attribute, so it need not be parsed to look for one.
pub(crate) const SECRET_NAME_FRAGMENTS: &[&str] = &[
    "password",
    "secret",
    "token",
    "private_key",
    "access_key",
    "api_key",
    "auth_key",
    "shared_key",
    "client_key",
    "client_certificate",
    "connection_string",
    "kube_",
    "\"sas",
    "webhook_url",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "password",
            "master_password",
            "primary_access_key",
            "kube_config_raw",
            "auth_token",
        ] {
            assert!(is_secret_attribute(n), "{n}");
        }
        for n in [
            "id",
            "arn",
            "name",
            "password_length",
            "token_validity_units",
            "key_name",
        ] {
            assert!(!is_secret_attribute(n), "{n}");
        }
    }

    #[test]
    fn every_secret_name_contains_a_fragment() {
        for n in SECRET_NAMES.iter().chain(SECRET_SUFFIXES) {
            let quoted = format!("\"{n}");
            assert!(
                SECRET_NAME_FRAGMENTS.iter().any(|f| quoted.contains(f)),
                "{n}"
            );
        }
    }

    #[test]
    fn hashes_are_keyed() {
        let a = SecretKey::from_bytes([1; 32]);
        let b = SecretKey::from_bytes([2; 32]);
        assert_eq!(a.hash_value("\"x\""), a.hash_value("\"x\""));
        assert_ne!(a.hash_value("\"x\""), b.hash_value("\"x\""));
        assert!(is_hashed(&a.hash_value("\"x\"")));
    }
}
