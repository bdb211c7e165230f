//! Local files that make the daemon act early: a target's state files (an
//! early scan) and the config file (a reload). Directories are watched, not
//! the files: Terraform and editors replace a file by renaming a new one over
//! it, which a watch on the old inode would miss. Events are sent as they
//! come; the scheduler debounces them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::config::{Config, StateSourceSpec};

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A state file of these targets.
    States(BTreeSet<String>),
    Config,
}

/// Keeps the OS watches alive; dropping it stops them.
pub struct Watch {
    _watcher: Option<notify::RecommendedWatcher>,
}

/// Absolute, with `.`/`..` folded where the file system allows.
fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (
        path.parent().and_then(|p| p.canonicalize().ok()),
        path.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path,
    }
}

/// The literal directory a glob pattern starts in (before its first wildcard).
fn glob_base(pattern: &str) -> PathBuf {
    let mut base = PathBuf::new();
    for part in Path::new(pattern).components() {
        let text = part.as_os_str().to_string_lossy();
        if text.contains(['*', '?', '[', '{']) {
            break;
        }
        base.push(part);
    }
    base
}

struct Interest {
    config: PathBuf,
    /// (file, target) for `file` sources.
    files: Vec<(PathBuf, String)>,
    /// (pattern, target) for `glob` sources.
    globs: Vec<(glob::Pattern, String)>,
}

impl Interest {
    fn changes(&self, paths: &[PathBuf]) -> (bool, BTreeSet<String>) {
        let mut config = false;
        let mut targets = BTreeSet::new();
        for path in paths {
            let path = absolute(path);
            config |= path == self.config;
            for (file, target) in &self.files {
                if &path == file {
                    targets.insert(target.clone());
                }
            }
            for (pattern, target) in &self.globs {
                if pattern.matches_path(&path) {
                    targets.insert(target.clone());
                }
            }
        }
        (config, targets)
    }
}

/// Starts watching what `config` names. A directory that cannot be watched
/// is logged and skipped (the interval still scans its targets).
pub fn start(config: &Config, tx: mpsc::UnboundedSender<Change>) -> Watch {
    let daemon = &config.daemon;
    let mut dirs: BTreeSet<(PathBuf, RecursiveMode)> = BTreeSet::new();
    let mut interest = Interest {
        config: absolute(&config.source),
        files: Vec::new(),
        globs: Vec::new(),
    };
    if daemon.watch_config
        && let Some(dir) = interest.config.parent()
    {
        dirs.insert((dir.to_path_buf(), RecursiveMode::NonRecursive));
    }
    if daemon.watch_state_files {
        for target in &config.targets {
            for state in &target.states {
                match state {
                    StateSourceSpec::File { path } => {
                        let path = absolute(path);
                        if let Some(dir) = path.parent() {
                            dirs.insert((dir.to_path_buf(), RecursiveMode::NonRecursive));
                        }
                        interest.files.push((path, target.name.clone()));
                    }
                    StateSourceSpec::Glob { pattern } => {
                        let base = absolute(&glob_base(pattern));
                        let full = absolute(Path::new(pattern));
                        if let Ok(p) = glob::Pattern::new(&full.to_string_lossy()) {
                            interest.globs.push((p, target.name.clone()));
                        }
                        dirs.insert((base, RecursiveMode::Recursive));
                    }
                    _ => {}
                }
            }
        }
    }
    if dirs.is_empty() {
        return Watch { _watcher: None };
    }
    let watch_config = daemon.watch_config;
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        let (config, targets) = interest.changes(&event.paths);
        if config && watch_config {
            let _ = tx.send(Change::Config);
        }
        if !targets.is_empty() {
            let _ = tx.send(Change::States(targets));
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(
                "cannot watch files ({e}): state file changes wait for the next interval, \
                 and the config reloads only on SIGHUP"
            );
            return Watch { _watcher: None };
        }
    };
    for (dir, mode) in &dirs {
        if let Err(e) = watcher.watch(dir, *mode) {
            tracing::warn!(
                "cannot watch {} ({e}): changes there wait for the next interval",
                dir.display()
            );
        }
    }
    Watch {
        _watcher: Some(watcher),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_is_watched_from_its_literal_directory() {
        assert_eq!(
            glob_base("/srv/tf/*/terraform.tfstate"),
            PathBuf::from("/srv/tf")
        );
        assert_eq!(glob_base("states/env-?/x"), PathBuf::from("states"));
    }
}
