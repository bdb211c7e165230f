//! Generic normalisation and the comparison of two attribute trees.
//!
//! The two trees are not symmetric. Objects at the top level and inside lists
//! (Terraform's nested blocks) have a schema: an attribute only one side has is
//! not compared (the live mapping did not produce it, or an older provider did
//! not write it into state), unless the live side says `null` explicitly.
//! Objects under an attribute (maps such as `tags`, policy trees) are data:
//! every key counts, a missing key being `null`.

use super::policy;
use super::{AttrChange, AttrValue};
use crate::model::{AttrPath, PathStep};
use crate::secrets::is_hashed;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Attributes never compared, whatever the type: the id is the key, and
/// `timeouts` is Terraform-only.
const ALWAYS_IGNORED: &[&str] = &["id", "timeouts"];

/// Drops ignored attributes from both trees and puts the tags to compare in
/// `tags` on both sides: the state's `tags_all` (which includes the provider's
/// `default_tags`) when it has one, else its `tags`, against every live tag
/// (the live `tags_all` when the mapping provides it, else the live `tags`).
pub(super) fn generic_normalize(desired: &mut Value, live: &mut Value, ignore: &[&str]) {
    for tree in [&mut *desired, &mut *live] {
        if let Value::Object(m) = tree {
            for name in ALWAYS_IGNORED.iter().chain(ignore) {
                m.remove(*name);
            }
        }
    }
    if let Value::Object(d) = desired
        && let Some(all) = d.remove("tags_all")
        && !is_empty(&all)
    {
        d.insert("tags".into(), all);
    }
    // The live mapping's `tags_all` is every tag the object has; type rules may
    // narrow the live `tags` to the keys the configuration set, so the full set
    // is the one to compare with the state's `tags_all`.
    if let Value::Object(l) = live
        && let Some(all) = l.remove("tags_all")
        && !is_empty(&all)
    {
        l.insert("tags".into(), all);
    }
}

/// What a comparison found.
pub(super) struct Outcome {
    /// The differences, sorted by path.
    pub changes: Vec<AttrChange>,
    /// Top-level attributes that could not be compared (hashed on one side only).
    pub unsure: BTreeSet<String>,
}

/// Compares two normalised trees. `sets` are the type's set paths (dotted,
/// through list elements); `sensitive` are paths whose values are never reported.
pub(super) fn compare(
    desired: &Value,
    live: &Value,
    sets: &[&str],
    sensitive: &[&AttrPath],
) -> Outcome {
    let mut cmp = Comparer {
        sets,
        sensitive,
        probe: false,
        found: 0,
        changes: Vec::new(),
        unsure: BTreeSet::new(),
    };
    cmp.diff(
        desired,
        live,
        &mut Vec::new(),
        &mut String::new(),
        Shape::Schema,
    );
    let mut changes = cmp.changes;
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Outcome {
        changes,
        unsure: cmp.unsure,
    }
}

/// What an object is: a schema object (top level, nested block) or a map.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Schema,
    Map,
}

enum Scalar {
    Equal,
    Differs,
    /// A keyed hash against a plaintext: the mapping does not hash what the
    /// state hashes. Not comparable, so not drift.
    Unsure,
}

struct Comparer<'a> {
    sets: &'a [&'a str],
    sensitive: &'a [&'a AttrPath],
    /// Only count differences (set element matching), record nothing.
    probe: bool,
    found: usize,
    changes: Vec<AttrChange>,
    unsure: BTreeSet<String>,
}

static NULL: Value = Value::Null;

impl Comparer<'_> {
    /// `path` is where the values sit; `schema` the dotted attribute names of
    /// the path without indexes and map keys (what `sets` lists).
    fn diff(
        &mut self,
        d: &Value,
        l: &Value,
        path: &mut Vec<PathStep>,
        schema: &mut String,
        shape: Shape,
    ) {
        if d == l || (is_empty(d) && is_empty(l)) {
            return;
        }
        match (d, l) {
            (Value::Object(dm), Value::Object(lm)) => {
                self.diff_objects(dm, lm, path, schema, shape)
            }
            (Value::Array(da), Value::Array(la)) => {
                if self.sets.contains(&schema.as_str()) {
                    if !self.multiset_equal(da, la, schema) {
                        self.record(path, d, l);
                    }
                } else if da.len() == la.len() {
                    for (i, (de, le)) in da.iter().zip(la).enumerate() {
                        path.push(PathStep::Index(i as i64));
                        self.diff(de, le, path, schema, Shape::Schema);
                        path.pop();
                    }
                } else {
                    self.record(path, d, l);
                }
            }
            _ => match scalar_equal(d, l) {
                Scalar::Equal => {}
                Scalar::Differs => self.record(path, d, l),
                Scalar::Unsure => {
                    let top = match path.first() {
                        Some(PathStep::Attr(a)) => a.clone(),
                        _ => String::new(),
                    };
                    self.unsure.insert(top);
                }
            },
        }
    }

    fn diff_objects(
        &mut self,
        dm: &Map<String, Value>,
        lm: &Map<String, Value>,
        path: &mut Vec<PathStep>,
        schema: &mut String,
        shape: Shape,
    ) {
        match shape {
            Shape::Schema => {
                // Only what both sides know (an explicit live null counts as known).
                for (k, lv) in lm {
                    let Some(dv) = dm.get(k) else { continue };
                    let len = schema.len();
                    if !schema.is_empty() {
                        schema.push('.');
                    }
                    schema.push_str(k);
                    path.push(PathStep::Attr(k.clone()));
                    self.diff(dv, lv, path, schema, Shape::Map);
                    path.pop();
                    schema.truncate(len);
                }
            }
            Shape::Map => {
                let keys: BTreeSet<&String> = dm.keys().chain(lm.keys()).collect();
                for k in keys {
                    let dv = dm.get(k).unwrap_or(&NULL);
                    let lv = lm.get(k).unwrap_or(&NULL);
                    path.push(PathStep::Key(k.clone()));
                    self.diff(dv, lv, path, schema, Shape::Map);
                    path.pop();
                }
            }
        }
    }

    /// Order-free comparison: every desired element pairs with one equivalent
    /// live element (a perfect matching, so a loose match cannot steal another
    /// element's partner).
    fn multiset_equal(&mut self, da: &[Value], la: &[Value], schema: &str) -> bool {
        if da.len() != la.len() {
            return false;
        }
        if da.iter().chain(la).all(is_scalar) {
            let mut dk: Vec<String> = da.iter().map(scalar_key).collect();
            let mut lk: Vec<String> = la.iter().map(scalar_key).collect();
            dk.sort_unstable();
            lk.sort_unstable();
            return dk == lk;
        }
        let n = da.len();
        let mut candidates: Vec<Vec<usize>> = Vec::with_capacity(n);
        for de in da {
            let mut row = Vec::new();
            for (j, le) in la.iter().enumerate() {
                if self.equivalent(de, le, schema) {
                    row.push(j);
                }
            }
            if row.is_empty() {
                return false;
            }
            candidates.push(row);
        }
        let mut partner = vec![usize::MAX; n];
        for i in 0..n {
            let mut visited = vec![false; n];
            if !augment(i, &candidates, &mut visited, &mut partner) {
                return false;
            }
        }
        true
    }

    fn equivalent(&mut self, d: &Value, l: &Value, schema: &str) -> bool {
        let mut probe = Comparer {
            sets: self.sets,
            sensitive: self.sensitive,
            probe: true,
            found: 0,
            changes: Vec::new(),
            unsure: BTreeSet::new(),
        };
        probe.diff(
            d,
            l,
            &mut Vec::new(),
            &mut schema.to_string(),
            Shape::Schema,
        );
        probe.found == 0
    }

    fn record(&mut self, path: &[PathStep], d: &Value, l: &Value) {
        if self.probe {
            self.found += 1;
            return;
        }
        let sensitive = contains_hash(d)
            || contains_hash(l)
            || self.sensitive.iter().any(|s| overlaps(&s.0, path));
        let (recorded, live) = if sensitive {
            (AttrValue::Sensitive, AttrValue::Sensitive)
        } else {
            (AttrValue::Value(d.clone()), AttrValue::Value(l.clone()))
        };
        self.changes.push(AttrChange {
            path: AttrPath(path.to_vec()),
            recorded,
            live,
        });
    }
}

/// Kuhn's augmenting path step for the set matching.
fn augment(
    i: usize,
    candidates: &[Vec<usize>],
    visited: &mut [bool],
    partner: &mut [usize],
) -> bool {
    for &j in &candidates[i] {
        if visited[j] {
            continue;
        }
        visited[j] = true;
        if partner[j] == usize::MAX || augment(partner[j], candidates, visited, partner) {
            partner[j] = i;
            return true;
        }
    }
    false
}

fn scalar_equal(d: &Value, l: &Value) -> Scalar {
    use Value::{Bool, Number, String as Str};
    let verdict = |b: bool| if b { Scalar::Equal } else { Scalar::Differs };
    // A keyed hash only equals the same hash; against a plaintext it cannot be judged.
    let hashed = |v: &Value| matches!(v, Str(s) if is_hashed(s));
    if hashed(d) || hashed(l) {
        return if hashed(d) && hashed(l) {
            verdict(d == l)
        } else if is_empty(d) || is_empty(l) {
            Scalar::Differs
        } else {
            Scalar::Unsure
        };
    }
    match (d, l) {
        (Number(a), Number(b)) => verdict(numbers_equal(a, b)),
        (Str(a), Str(b)) => {
            if a == b {
                return Scalar::Equal;
            }
            match (policy::canonical(a), policy::canonical(b)) {
                (Some(pa), Some(pb)) => verdict(pa == pb),
                _ => Scalar::Differs,
            }
        }
        // Pre-0.12 states (`attributes_flat`) hold every value as a string.
        (Str(s), Number(n)) | (Number(n), Str(s)) => {
            verdict(s.trim().parse::<f64>().ok() == n.as_f64())
        }
        (Str(s), Bool(b)) | (Bool(b), Str(s)) => verdict(s == if *b { "true" } else { "false" }),
        _ => verdict(d == l),
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// A scalar's identity in a set of scalars, with the same equivalences as
/// [`scalar_equal`] (empty values, numbers, flatmap strings, policies).
fn scalar_key(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string()),
        Value::String(s) => {
            if let Some(p) = policy::canonical(s) {
                return p.to_string();
            }
            match s.trim().parse::<f64>() {
                Ok(f) if !is_hashed(s) && !s.is_empty() => f.to_string(),
                _ => s.clone(),
            }
        }
        other => other.to_string(),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// `null`, `""`, `[]` and `{}` are one value; `false` and `0` are not empty.
pub(super) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn contains_hash(v: &Value) -> bool {
    match v {
        Value::String(s) => is_hashed(s),
        Value::Array(a) => a.iter().any(contains_hash),
        Value::Object(o) => o.values().any(contains_hash),
        _ => false,
    }
}

/// Whether one path lies on the other (a sensitive path inside, at or above a change).
/// Object attributes and map keys are one kind of step here: the state names
/// both as attributes in `sensitive_attributes` forms.
fn overlaps(a: &[PathStep], b: &[PathStep]) -> bool {
    let step_eq = |x: &PathStep, y: &PathStep| match (x, y) {
        (PathStep::Attr(p) | PathStep::Key(p), PathStep::Attr(q) | PathStep::Key(q)) => p == q,
        (PathStep::Index(p), PathStep::Index(q)) => p == q,
        _ => false,
    };
    a.iter().zip(b).all(|(x, y)| step_eq(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(d: Value, l: Value, sets: &[&str]) -> Vec<(String, AttrValue, AttrValue)> {
        compare(&d, &l, sets, &[])
            .changes
            .into_iter()
            .map(|c| (c.path.to_string(), c.recorded, c.live))
            .collect()
    }

    fn v(x: Value) -> AttrValue {
        AttrValue::Value(x)
    }

    #[test]
    fn empty_values_are_equivalent_but_false_and_zero_are_not() {
        assert_eq!(
            changes(
                json!({"a": null, "b": "", "c": [], "d": {}, "e": false, "f": 0}),
                json!({"a": [], "b": {}, "c": null, "d": "", "e": null, "f": ""}),
                &[]
            ),
            vec![
                ("e".into(), v(json!(false)), v(Value::Null)),
                ("f".into(), v(json!(0)), v(json!(""))),
            ]
        );
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(
            changes(
                json!({"a": 1, "b": "80", "c": "true"}),
                json!({"a": 1.0, "b": 80, "c": true}),
                &[]
            )
            .is_empty()
        );
        assert_eq!(
            changes(json!({"a": 1}), json!({"a": 1.5}), &[]),
            vec![("a".into(), v(json!(1)), v(json!(1.5)))]
        );
    }

    #[test]
    fn schema_attributes_only_one_side_has_are_not_compared_but_map_keys_are() {
        assert!(
            changes(
                json!({"a": 1, "blk": [{"x": 1, "y": 2}]}),
                json!({"blk": [{"x": 1}]}),
                &[]
            )
            .is_empty()
        );
        assert_eq!(
            changes(json!({"a": 1}), json!({"a": null}), &[]),
            vec![("a".into(), v(json!(1)), v(Value::Null))],
            "an explicit live null is compared"
        );
        assert_eq!(
            changes(
                json!({"tags": {"a": "1"}}),
                json!({"tags": {"a": "1", "b": "2"}}),
                &[]
            ),
            vec![("tags[\"b\"]".into(), v(Value::Null), v(json!("2")))]
        );
    }

    #[test]
    fn sets_ignore_order_at_every_depth() {
        let d = json!({"ingress": [{"from_port": 80, "cidr_blocks": ["10.0.0.0/8", "10.1.0.0/16"]}, {"from_port": 443, "cidr_blocks": []}]});
        let l = json!({"ingress": [{"from_port": 443, "cidr_blocks": null}, {"from_port": 80, "cidr_blocks": ["10.1.0.0/16", "10.0.0.0/8"]}]});
        assert!(changes(d.clone(), l.clone(), &["ingress", "ingress.cidr_blocks"]).is_empty());
        let got = changes(d, l, &["ingress"]);
        assert_eq!(
            got.len(),
            1,
            "without the nested set path the element order counts: {got:?}"
        );
        assert_eq!(got[0].0, "ingress");
        assert_eq!(
            changes(json!({"l": [1, 2]}), json!({"l": [2, 1]}), &[]),
            vec![
                ("l[0]".into(), v(json!(1)), v(json!(2))),
                ("l[1]".into(), v(json!(2)), v(json!(1)))
            ],
            "lists keep their order"
        );
    }

    #[test]
    fn set_matching_is_a_perfect_matching() {
        // Live element 0 matches both desired elements (it lacks `y`): a greedy
        // match would pair it with desired 0 and leave desired 1 unmatched.
        let d = json!({"s": [{"x": 1, "y": 1}, {"x": 1, "y": 2}]});
        let l = json!({"s": [{"x": 1}, {"x": 1, "y": 1}]});
        assert!(changes(d, l, &["s"]).is_empty());
    }

    #[test]
    fn hashes_are_never_reported() {
        let h1 = format!("{}{}", crate::secrets::SENSITIVE_PREFIX, "aa");
        let h2 = format!("{}{}", crate::secrets::SENSITIVE_PREFIX, "bb");
        assert_eq!(
            changes(
                json!({"p": h1, "l": [h1]}),
                json!({"p": h2, "l": [h1, h2]}),
                &[]
            ),
            vec![
                ("l".into(), AttrValue::Sensitive, AttrValue::Sensitive),
                ("p".into(), AttrValue::Sensitive, AttrValue::Sensitive),
            ]
        );
        let out = compare(&json!({"p": h1}), &json!({"p": "plain"}), &[], &[]);
        assert!(
            out.changes.is_empty(),
            "hash against plaintext is not drift"
        );
        assert_eq!(out.unsure, BTreeSet::from(["p".to_string()]));
        let declared = AttrPath(vec![PathStep::Attr("conf".into())]);
        let out = compare(
            &json!({"conf": {"k": null}}),
            &json!({"conf": {"k": "plain"}}),
            &[],
            &[&declared],
        );
        assert_eq!(out.changes.len(), 1);
        assert_eq!(
            out.changes[0].live,
            AttrValue::Sensitive,
            "under a declared sensitive path"
        );
    }

    #[test]
    fn tags_all_is_what_the_cloud_has() {
        let mut d = json!({"id": "x", "timeouts": null, "force_destroy": true, "tags": {"a": "1"}, "tags_all": {"a": "1", "env": "prod"}});
        let mut l = json!({"id": "x", "tags": {"a": "1"}, "tags_all": {"a": "1", "env": "prod"}, "force_destroy": false});
        generic_normalize(&mut d, &mut l, &["force_destroy"]);
        assert_eq!(d, json!({"tags": {"a": "1", "env": "prod"}}));
        assert_eq!(l, json!({"tags": {"a": "1", "env": "prod"}}));
    }

    /// Found end to end (network fixture with provider default_tags, against moto):
    /// the type rules narrow the live `tags` to the keys the state's `tags` has and
    /// keep every live tag in `tags_all`; the comparison must use the full sets.
    #[test]
    fn default_tags_after_type_normalisation_are_not_drift() {
        let mut d = json!({"tags": {"Name": "main"}, "tags_all": {"Name": "main", "managed_by": "terraform"}});
        let mut l = json!({"tags": {"Name": "main"}, "tags_all": {"Name": "main", "managed_by": "terraform"}});
        generic_normalize(&mut d, &mut l, &[]);
        assert_eq!(d, l);
    }
}
