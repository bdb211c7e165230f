//! Local state files and globs.
//!
//! "Unchanged" is (length, mtime): a `stat` and nothing else. Terraform's
//! local backend rewrites the file in place, so a read can catch it half
//! written; the file is stat'ed before and after the read and the read is
//! retried when the two differ.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{SourceError, SourceVersion, StateObject, path_origin};

/// Reads attempted before giving up on a file that keeps changing.
const READ_ATTEMPTS: usize = 3;

pub(super) async fn fetch_file(
    path: &Path,
    known: &HashMap<String, SourceVersion>,
) -> Result<StateObject, SourceError> {
    let origin = path_origin(path);
    let path = path.to_path_buf();
    let known = known.get(&origin).cloned();
    // std::fs on the blocking pool: one task for stat + read + stat, rather
    // than a hop per call as tokio::fs would make.
    tokio::task::spawn_blocking(move || read_file(&path, origin, known.as_ref()))
        .await
        .expect("reading a state file panicked")
}

pub(super) async fn fetch_glob(
    pattern: &str,
    known: &HashMap<String, SourceVersion>,
) -> Result<Vec<StateObject>, SourceError> {
    let pattern = pattern.to_owned();
    let known = known.clone();
    tokio::task::spawn_blocking(move || {
        let paths = expand_glob(&pattern)?;
        paths
            .into_iter()
            .map(|path| {
                let origin = path_origin(&path);
                let known = known.get(&origin);
                read_file(&path, origin, known)
            })
            .collect()
    })
    .await
    .expect("reading state files panicked")
}

/// Every regular file (or symlink to one) matching, sorted by path.
fn expand_glob(pattern: &str) -> Result<Vec<PathBuf>, SourceError> {
    let entries = glob::glob(pattern).map_err(|e| SourceError::InvalidSource {
        origin: pattern.to_owned(),
        detail: format!("bad glob pattern: {e}"),
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        // An unreadable directory would silently hide states: fail instead.
        let path = entry.map_err(|e| SourceError::Io {
            origin: path_origin(e.path()),
            source: std::io::Error::new(e.error().kind(), e.error().to_string()),
        })?;
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => paths.push(path),
            Ok(_) => {}
            // A dangling symlink or a file removed since the listing: not a state.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(SourceError::Io {
                    origin: path_origin(&path),
                    source: e,
                });
            }
        }
    }
    if paths.is_empty() {
        return Err(SourceError::GlobNoMatch {
            pattern: pattern.to_owned(),
        });
    }
    paths.sort();
    Ok(paths)
}

/// (len, mtime_ns) of a file, or the error that says why not.
fn stat(path: &Path, origin: &str) -> Result<(u64, i64), SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(origin, e))?;
    if !meta.is_file() {
        return Err(SourceError::InvalidSource {
            origin: origin.to_owned(),
            detail: "not a regular file; point the source at a .tfstate file or use a glob".into(),
        });
    }
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Ok((meta.len(), mtime_ns))
}

fn io_error(origin: &str, error: std::io::Error) -> SourceError {
    match error.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound {
            origin: origin.to_owned(),
            detail: "no such file; check the path, or that terraform has written it yet".into(),
        },
        std::io::ErrorKind::PermissionDenied => SourceError::AccessDenied {
            origin: origin.to_owned(),
            detail: "permission denied; make the file readable by the driftd user".into(),
        },
        _ => SourceError::Io {
            origin: origin.to_owned(),
            source: error,
        },
    }
}

fn read_file(
    path: &Path,
    origin: String,
    known: Option<&SourceVersion>,
) -> Result<StateObject, SourceError> {
    for _ in 0..READ_ATTEMPTS {
        let (len, mtime_ns) = stat(path, &origin)?;
        if let Some(
            known @ SourceVersion::File {
                len: known_len,
                mtime_ns: known_mtime,
                ..
            },
        ) = known
            && *known_len == len
            && *known_mtime == mtime_ns
        {
            return Ok(StateObject {
                origin,
                version: known.clone(),
                content: None,
            });
        }
        let content = std::fs::read(path).map_err(|e| io_error(&origin, e))?;
        let after = stat(path, &origin)?;
        if after != (len, mtime_ns) || content.len() as u64 != len {
            continue;
        }
        let (serial, lineage) = state_identity(&content);
        return Ok(StateObject {
            origin,
            version: SourceVersion::File {
                len,
                mtime_ns,
                serial,
                lineage,
            },
            content: Some(content),
        });
    }
    Err(SourceError::ChangedWhileReading { origin })
}

/// The state's top-level `serial` and `lineage`, or None for each that is
/// absent or of the wrong type. Anything that is not a JSON object gives
/// (None, None): the state parser reports the real problem.
pub(super) fn state_identity(content: &[u8]) -> (Option<u64>, Option<String>) {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        serial: Option<Loose<u64>>,
        #[serde(default)]
        lineage: Option<Loose<String>>,
        // Every other field is skipped (serde's IgnoredAny): nothing of the
        // resources is built, however large the state.
    }
    /// A field that is taken when it has the expected type and ignored otherwise.
    enum Loose<T> {
        Value(T),
        Other,
    }
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loose<T> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Either<T> {
                Value(T),
                Other(IgnoredAny),
            }
            Ok(match Either::<T>::deserialize(d)? {
                Either::Value(v) => Loose::Value(v),
                Either::Other(_) => Loose::Other,
            })
        }
    }
    fn take<T>(field: Option<Loose<T>>) -> Option<T> {
        match field {
            Some(Loose::Value(v)) => Some(v),
            _ => None,
        }
    }
    match serde_json::from_slice::<Head>(content) {
        Ok(head) => (take(head.serial), take(head.lineage)),
        Err(_) => (None, None),
    }
}
