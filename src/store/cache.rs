//! The last snapshot stored per side and origin, with its members' hashes and
//! version ids, kept in memory between scans.
//!
//! A scan of 100,000 resources of which a handful changed needs the version
//! id of every member; looking each up by hash costs a third of a second,
//! while merging with the previous snapshot's sorted list costs a
//! millisecond. An entry is only a hint: the writer uses it only while the
//! snapshot row it names still exists with the same hash (ids are never
//! reused), and entries staged by a transaction are kept only once it commits.

use super::Side;
use super::content::Hash;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// One origin's last stored snapshot.
#[derive(Debug)]
pub(crate) struct CachedSnapshot {
    pub(crate) id: i64,
    pub(crate) hash: Hash,
    /// `(version hash, version id)` of every member, sorted.
    pub(crate) members: Vec<(Hash, i64)>,
    /// The key snapshot it is stored against (itself when it is one).
    pub(crate) key_id: i64,
    /// The key snapshot's member ids, ascending.
    pub(crate) key_ids: Arc<Vec<i64>>,
}

type Key = (Side, String);

#[derive(Debug, Default)]
pub(crate) struct SnapshotCache {
    committed: Mutex<HashMap<Key, Arc<CachedSnapshot>>>,
    staged: Mutex<Vec<(Key, Arc<CachedSnapshot>)>>,
}

impl SnapshotCache {
    pub(crate) fn get(&self, side: Side, origin: &str) -> Option<Arc<CachedSnapshot>> {
        let committed = self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        committed.get(&(side, origin.to_string())).cloned()
    }

    /// Remembers a snapshot the current transaction stored.
    pub(crate) fn stage(&self, side: Side, origin: &str, snapshot: CachedSnapshot) {
        self.staged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(((side, origin.to_string()), Arc::new(snapshot)));
    }

    /// The transaction committed: what it staged is now true.
    pub(crate) fn commit(&self) {
        let staged =
            std::mem::take(&mut *self.staged.lock().unwrap_or_else(PoisonError::into_inner));
        let mut committed = self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        committed.extend(staged);
    }

    /// The transaction rolled back (or is about to begin): forget what it staged.
    pub(crate) fn discard(&self) {
        self.staged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
