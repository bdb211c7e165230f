//! The member lists of snapshots, as `snapshots.members` stores them
//! (schema/0003_compact_store.sql).
//!
//! A list is resource-version row ids in ascending order, repeats allowed,
//! each written as the unsigned LEB128 varint of its difference from the one
//! before. Consecutive scans of an origin hold nearly the same versions, so a
//! snapshot is usually stored as its difference from a *key* snapshot of the
//! same origin: the removed ids, then the added ids.

/// Appends `ids` (ascending) as delta varints.
fn put_list(ids: &[i64], out: &mut Vec<u8>) {
    let mut previous = 0;
    for &id in ids {
        debug_assert!(id >= previous, "member ids must be ascending");
        put_varint(id.abs_diff(previous), out);
        previous = id;
    }
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads varints from `bytes` starting at `*at`.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err("the member list ends inside a number".into());
            };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a member id does not fit in 64 bits".into())
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// `count` ids, or every remaining one when `count` is `None`.
    fn list(&mut self, count: Option<usize>, out: &mut Vec<i64>) -> Result<(), String> {
        let mut id: i64 = 0;
        let mut read = 0;
        while count.map_or(!self.done(), |c| read < c) {
            let delta = self.varint()?;
            id = i64::try_from(delta)
                .ok()
                .and_then(|d| id.checked_add(d))
                .ok_or("a member id does not fit in 63 bits")?;
            out.push(id);
            read += 1;
        }
        Ok(())
    }
}

/// A whole member list (a key snapshot).
pub(crate) fn encode_full(ids: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.len() + 8);
    put_list(ids, &mut out);
    out
}

/// The difference of `ids` from `base` (both ascending), and how many ids it lists.
pub(crate) fn encode_diff(base: &[i64], ids: &[i64]) -> (Vec<u8>, usize) {
    let (removed, added) = difference(base, ids);
    let mut out = Vec::with_capacity(2 * (removed.len() + added.len()) + 8);
    put_varint(removed.len() as u64, &mut out);
    put_list(&removed, &mut out);
    put_list(&added, &mut out);
    (out, removed.len() + added.len())
}

/// The ids of a key snapshot's `members`.
pub(crate) fn decode_full(blob: &[u8]) -> Result<Vec<i64>, String> {
    let mut ids = Vec::with_capacity(blob.len());
    Cursor { bytes: blob, at: 0 }.list(None, &mut ids)?;
    Ok(ids)
}

/// The ids of a snapshot stored as a difference from the key snapshot whose ids are `base`.
pub(crate) fn decode_diff(base: &[i64], blob: &[u8]) -> Result<Vec<i64>, String> {
    let (removed, added) = decode_diff_parts(blob)?;
    apply(base, &removed, &added)
}

/// The removed and the added ids of a difference.
pub(crate) fn decode_diff_parts(blob: &[u8]) -> Result<(Vec<i64>, Vec<i64>), String> {
    let mut cursor = Cursor { bytes: blob, at: 0 };
    let removed_count = usize::try_from(cursor.varint()?)
        .ok()
        .filter(|&c| c <= blob.len())
        .ok_or("the removed count is larger than the list")?;
    let mut removed = Vec::with_capacity(removed_count);
    cursor.list(Some(removed_count), &mut removed)?;
    let mut added = Vec::new();
    cursor.list(None, &mut added)?;
    Ok((removed, added))
}

/// Multiset difference of two ascending lists: (in `base` only, in `ids` only).
fn difference(base: &[i64], ids: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < base.len() && j < ids.len() {
        match base[i].cmp(&ids[j]) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                removed.push(base[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                added.push(ids[j]);
                j += 1;
            }
        }
    }
    removed.extend_from_slice(&base[i..]);
    added.extend_from_slice(&ids[j..]);
    (removed, added)
}

/// `base` without `removed`, with `added`: every list ascending.
fn apply(base: &[i64], removed: &[i64], added: &[i64]) -> Result<Vec<i64>, String> {
    let mut kept = Vec::with_capacity(base.len() + added.len());
    let mut r = 0;
    for &id in base {
        if r < removed.len() && removed[r] == id {
            r += 1;
        } else {
            kept.push(id);
        }
    }
    if r != removed.len() {
        return Err("the difference removes an id its base does not hold".into());
    }
    // Merge the added ids in.
    let mut out = Vec::with_capacity(kept.len() + added.len());
    let (mut i, mut j) = (0, 0);
    while i < kept.len() && j < added.len() {
        if kept[i] <= added[j] {
            out.push(kept[i]);
            i += 1;
        } else {
            out.push(added[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&kept[i..]);
    out.extend_from_slice(&added[j..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_lists_round_trip_with_repeats_and_large_ids() {
        for ids in [
            vec![],
            vec![0],
            vec![1, 1, 2, 3, 300, 300, 70_000],
            vec![5, i64::MAX],
        ] {
            assert_eq!(decode_full(&encode_full(&ids)).unwrap(), ids);
        }
        // Consecutive ids take one byte each.
        let run: Vec<i64> = (1..=1000).collect();
        assert_eq!(encode_full(&run).len(), 1000);
    }

    #[test]
    fn differences_round_trip() {
        let base = vec![1, 2, 2, 5, 9, 10, 400];
        for ids in [
            vec![1, 2, 2, 5, 9, 10, 400],
            vec![],
            vec![2, 5, 11, 12, 500],
            vec![1, 2, 2, 2, 5],
            vec![0, 1, 2, 2, 5, 9, 10, 400, 401],
        ] {
            let (blob, entries) = encode_diff(&base, &ids);
            let (removed, added) = decode_diff_parts(&blob).unwrap();
            assert_eq!(entries, removed.len() + added.len());
            assert_eq!(decode_diff(&base, &blob).unwrap(), ids, "{ids:?}");
        }
        // Equal lists: only the zero count.
        assert_eq!(encode_diff(&base, &base).0, [0]);
    }

    #[test]
    fn damaged_lists_are_errors() {
        assert!(decode_full(&[0x80]).is_err());
        assert!(decode_full(&[0xff; 11]).is_err());
        assert!(decode_diff_parts(&[200, 1]).is_err());
        // Removing what the base does not hold.
        let (blob, _) = encode_diff(&[1, 2], &[1]);
        assert!(decode_diff(&[1, 3], &blob).is_err());
    }
}
