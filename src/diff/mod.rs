//! The diff: desired resources (Terraform state) against the live inventory,
//! into drifts (`changed`, `unmanaged`, `missing`), coverage and diagnostics.
//!
//! Pure (DESIGN.md invariant 6): data in, data and diagnostics out, no IO.
//! A false positive is a bug, so every rule here leans towards "not drift"
//! when it cannot be sure, and says so in a diagnostic:
//! - a resource is *missing* only when the listing that should contain it
//!   completed (invariant 2); otherwise it is counted as unknown;
//! - a live resource is *unmanaged* only when no state names its key, it is not
//!   an AWS default object (unless `strict`), and it is not part of a managed
//!   parent through a [`Fold`];
//! - a managed resource has *changed* only in attributes both sides know, after
//!   the type's normalisation and the generic one in [`compare`].
//!
//! Matching is by [`ResourceKey`] through hash maps: O(n) in the number of
//! resources (driftctl compared every pair, O(n·m)).

mod compare;
mod policy;

pub(crate) use policy::percent_decode;

use crate::aws::{arn_account, arn_region};
use crate::diag::Diagnostic;
use crate::live::{Coverage, Fold, GLOBAL, LiveInventory, TypeRules};
use crate::model::{Address, AttrPath, Mode, Resource, ResourceKey};
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// How a diff treats what it finds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// AWS default objects (default VPC, default security group, …) count as
    /// unmanaged too, instead of being skipped.
    pub strict: bool,
}

/// One value of an attribute difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrValue {
    /// The value as it is (after normalisation).
    Value(Value),
    /// The value is secret on at least one side (a keyed hash, or a path the
    /// state declares sensitive): neither the value nor its hash is reported.
    Sensitive,
}

/// One attribute that differs between the state and the cloud.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttrChange {
    /// Where it differs: the top-level attribute first (what Terraform's
    /// `resource_drift` names), then the nested path inside it.
    #[serde(serialize_with = "display")]
    pub path: AttrPath,
    /// What the state recorded.
    pub recorded: AttrValue,
    /// What the cloud has.
    pub live: AttrValue,
}

impl AttrChange {
    /// The top-level attribute the change is under.
    pub fn attribute(&self) -> &str {
        self.path.top_level().unwrap_or_default()
    }
}

/// One drift (driftctl's vocabulary).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    /// Managed, and some attributes differ. `changes` are sorted by path, so
    /// they are grouped by top-level attribute.
    Changed {
        key: ResourceKey,
        #[serde(serialize_with = "display")]
        address: Address,
        changes: Vec<AttrChange>,
    },
    /// In the cloud, in no state.
    Unmanaged { key: ResourceKey },
    /// In a state, and gone from a listing that completed.
    Missing {
        key: ResourceKey,
        #[serde(serialize_with = "display")]
        address: Address,
    },
}

impl Drift {
    pub fn key(&self) -> &ResourceKey {
        match self {
            Drift::Changed { key, .. } | Drift::Unmanaged { key } | Drift::Missing { key, .. } => {
                key
            }
        }
    }

    fn order(&self) -> (&ResourceKey, Option<&Address>) {
        match self {
            Drift::Changed { key, address, .. } | Drift::Missing { key, address } => {
                (key, Some(address))
            }
            Drift::Unmanaged { key } => (key, None),
        }
    }
}

/// The outcome of one diff: the CLI prints it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// Every drift, sorted by key (then address).
    pub drifts: Vec<Drift>,
    /// Live resources that a state manages (changed or not).
    pub managed: usize,
    /// Live resources in no state (defaults excluded unless `strict`).
    pub unmanaged: usize,
    /// State resources gone from a complete listing.
    pub missing: usize,
    /// Managed resources with at least one attribute change.
    pub changed: usize,
    /// managed / (managed + unmanaged); 1.0 when both are 0.
    pub coverage: f64,
    /// Live AWS default objects not reported as unmanaged (not `strict`).
    pub defaults_skipped: usize,
    /// Live child resources (e.g. security group rules) of a managed parent that
    /// no state names: part of the parent, compared through it.
    pub folded_children: usize,
    /// State resources whose listing did not complete in this scan: neither
    /// missing nor matched.
    pub unknown_resources: usize,
    /// State resource types driftd has no rules for, with their instance
    /// counts: listed here, never missing or unmanaged.
    pub not_checked: BTreeMap<String, usize>,
    /// The listings that did not complete (from the inventory).
    pub unknown: Vec<Coverage>,
    /// Some listing did not complete: the scan is partial.
    pub partial: bool,
    pub diagnostics: Vec<Diagnostic>,
}

fn display<T: std::fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// A key borrowed from a resource: (provider, type, id).
type KeyRef<'a> = (&'a str, &'a str, &'a str);

fn key_ref(k: &ResourceKey) -> KeyRef<'_> {
    (&k.provider, &k.resource_type, &k.id)
}

/// The desired side with every resource whose type has `desired_parts` replaced by
/// its parts (same address, the part's id and attributes); `None` when nothing changes.
fn expand_desired(
    desired: &[Resource],
    rules: &dyn Fn(&str) -> Option<&'static TypeRules>,
) -> Option<Vec<Resource>> {
    type PartsFn = crate::live::DesiredParts;
    let mut parts_fn: HashMap<&str, Option<PartsFn>> = HashMap::new();
    let mut todo: Vec<(usize, PartsFn)> = Vec::new();
    for (i, r) in desired.iter().enumerate() {
        if r.address.mode != Mode::Managed || r.deposed.is_some() {
            continue;
        }
        let t: &str = &r.key.resource_type;
        let f = *parts_fn
            .entry(t)
            .or_insert_with(|| rules(t).and_then(|tr| tr.desired_parts));
        if let Some(f) = f {
            todo.push((i, f));
        }
    }
    if todo.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(desired.len() + todo.len());
    let mut next = todo.into_iter().peekable();
    for (i, r) in desired.iter().enumerate() {
        match next.peek() {
            Some(&(j, f)) if j == i => {
                next.next();
                match f(&r.attributes.to_value()) {
                    Some(parts) => out.extend(parts.into_iter().map(|(id, attributes)| {
                        let mut part = r.clone();
                        part.key.id = id;
                        part.attributes = crate::model::Attributes::from_value(&attributes);
                        part
                    })),
                    None => out.push(r.clone()),
                }
            }
            _ => out.push(r.clone()),
        }
    }
    Some(out)
}

/// Diffs `desired` (every state resource of a target) against `live`.
/// `rules` looks up a type's rules (`crate::aws::types::rules` in production).
pub fn diff(
    desired: &[Resource],
    live: &LiveInventory,
    rules: &dyn Fn(&str) -> Option<&'static TypeRules>,
    options: &DiffOptions,
) -> DiffReport {
    // Desired resources the cloud knows under another id, or as several objects,
    // are replaced by those parts first (see `TypeRules::desired_parts`).
    let expanded = expand_desired(desired, rules);
    let desired: &[Resource] = expanded.as_deref().unwrap_or(desired);
    let mut diagnostics = Vec::new();
    // One lookup per type, not per resource. The keys borrow from `desired`
    // and `live`, which outlive the diff.
    let mut type_rules: HashMap<&str, Option<&'static TypeRules>> = HashMap::new();
    for r in desired.iter().chain(&live.resources) {
        let t: &str = &r.key.resource_type;
        if !type_rules.contains_key(t) {
            type_rules.insert(t, rules(t));
        }
    }
    let rules_of = |t: &str| type_rules.get(t).copied().flatten();

    // Desired managed resources by key. Deposed objects are being replaced:
    // never matched nor missing, but their key is "in a state" (not unmanaged).
    let mut desired_by_key: HashMap<KeyRef<'_>, Vec<usize>> = HashMap::with_capacity(desired.len());
    let mut in_state_only: HashSet<KeyRef<'_>> = HashSet::new();
    let mut not_checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut checked: Vec<(usize, &'static TypeRules)> = Vec::with_capacity(desired.len());
    for (i, r) in desired.iter().enumerate() {
        if r.address.mode == Mode::Data {
            continue;
        }
        if r.deposed.is_some() {
            in_state_only.insert(key_ref(&r.key));
            continue;
        }
        match rules_of(&r.key.resource_type) {
            Some(tr) => {
                desired_by_key.entry(key_ref(&r.key)).or_default().push(i);
                checked.push((i, tr));
            }
            None => {
                *not_checked
                    .entry(r.key.resource_type.to_string())
                    .or_default() += 1
            }
        }
    }
    for (k, idx) in &desired_by_key {
        if idx.len() > 1 {
            let mut addresses: Vec<String> = idx
                .iter()
                .map(|&i| desired[i].address.to_string())
                .collect();
            addresses.sort();
            diagnostics.push(Diagnostic::warning(
                format!("{}.{}", k.1, k.2),
                format!(
                    "the same cloud object is managed by {} addresses ({}): each is compared with it; remove all but one from state",
                    idx.len(),
                    addresses.join(", ")
                ),
            ));
        }
    }

    // Live resources by key.
    let mut live_by_key: HashMap<KeyRef<'_>, usize> = HashMap::with_capacity(live.resources.len());
    let mut live_without_rules: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in live.resources.iter().enumerate() {
        if rules_of(&r.key.resource_type).is_none() {
            *live_without_rules.entry(&r.key.resource_type).or_default() += 1;
            continue;
        }
        match live_by_key.entry(key_ref(&r.key)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                diagnostics.push(Diagnostic::warning(
                    r.key.to_string(),
                    "listed twice in this scan (two listings returned the same id): the first one is compared",
                ));
            }
        }
    }
    for (t, n) in live_without_rules {
        diagnostics.push(Diagnostic::warning(
            t,
            format!("{n} live resources of a type without diff rules were ignored"),
        ));
    }

    // Desired children by (child type, parent id attribute, parent id), for folds.
    let folds = FoldIndex::build(desired, &checked);

    let mut drifts = Vec::new();
    let mut managed = 0usize;
    let mut missing = 0usize;
    let mut changed = 0usize;
    let mut unknown_resources = 0usize;
    let mut matched_live = vec![false; live.resources.len()];
    for &(i, tr) in &checked {
        let d = &desired[i];
        match live_by_key.get(&key_ref(&d.key)) {
            Some(&li) => {
                if !matched_live[li] {
                    matched_live[li] = true;
                    managed += 1;
                }
                let l = &live.resources[li];
                let (changes, diags) = compare_pair(d, l, tr, &folds);
                diagnostics.extend(diags);
                if !changes.is_empty() {
                    changed += 1;
                    drifts.push(Drift::Changed {
                        key: d.key.clone(),
                        address: d.address.clone(),
                        changes,
                    });
                }
            }
            None => {
                if listing_complete(d, tr, live, desired, &desired_by_key, &folds) {
                    missing += 1;
                    drifts.push(Drift::Missing {
                        key: d.key.clone(),
                        address: d.address.clone(),
                    });
                } else {
                    unknown_resources += 1;
                }
            }
        }
    }

    let mut unmanaged = 0usize;
    let mut defaults_skipped = 0usize;
    let mut folded_children = 0usize;
    for (li, l) in live.resources.iter().enumerate() {
        if matched_live[li] {
            continue;
        }
        let k = key_ref(&l.key);
        if live_by_key.get(&k) != Some(&li) || in_state_only.contains(&k) {
            // A type without rules, a second listing of one id, or a deposed object.
            continue;
        }
        let Some(tr) = rules_of(&l.key.resource_type) else {
            continue;
        };
        let value = l.attributes.to_value();
        if folds.is_child_of_managed(l, &value, &desired_by_key) {
            folded_children += 1;
            continue;
        }
        if !options.strict && (tr.is_default)(&value) {
            defaults_skipped += 1;
            continue;
        }
        unmanaged += 1;
        drifts.push(Drift::Unmanaged { key: l.key.clone() });
    }

    drifts.sort_by(|a, b| a.order().cmp(&b.order()));
    // Deterministic whatever the input order (the duplicate check walks a hash map).
    diagnostics.sort_by(|a, b| (&a.subject, &a.message).cmp(&(&b.subject, &b.message)));
    let coverage = if managed + unmanaged == 0 {
        1.0
    } else {
        managed as f64 / (managed + unmanaged) as f64
    };
    DiffReport {
        drifts,
        managed,
        unmanaged,
        missing,
        changed,
        coverage,
        defaults_skipped,
        folded_children,
        unknown_resources,
        not_checked,
        unknown: live
            .coverage
            .iter()
            .filter(|c| c.listing != crate::live::Listing::Complete)
            .cloned()
            .collect(),
        partial: live.is_partial(),
        diagnostics,
    }
}

/// Whether the listing that should contain `d` completed: in the account and
/// region it lives in as far as the state tells ([`place_of`]), else every
/// listing of its type. A region nobody listed is never complete: a resource
/// there is unknown, not missing.
fn listing_complete(
    d: &Resource,
    tr: &TypeRules,
    live: &LiveInventory,
    desired: &[Resource],
    desired_by_key: &HashMap<KeyRef<'_>, Vec<usize>>,
    folds: &FoldIndex,
) -> bool {
    let (account, region) = if tr.global {
        let account = d.aliases.arn.as_deref().filter(|a| is_arn(a));
        (account.and_then(arn_account), Some(GLOBAL.to_string()))
    } else {
        let value = d.attributes.to_value();
        match place_of(d, &value) {
            (account, Some(region)) => (account, Some(region)),
            (account, None) => {
                // A child (an S3 bucket's versioning) is where the parent it names is.
                let parent = folds.parent_of(&d.key, &value, desired_by_key);
                let region = parent.and_then(|i| {
                    let p = &desired[i];
                    place_of(p, &p.attributes.to_value()).1
                });
                (account, region)
            }
        }
    };
    live.is_complete_for(&d.key.resource_type, account, region.as_deref())
}

/// The account and region of a regional resource, as far as its state tells:
/// its ARN, else a `region` attribute (S3 buckets since provider 5), else its
/// availability zone.
pub(crate) fn place_of<'a>(d: &'a Resource, value: &Value) -> (Option<&'a str>, Option<String>) {
    let arn = d.aliases.arn.as_deref().filter(|a| is_arn(a));
    let account = arn.and_then(arn_account);
    if let Some(region) = arn.and_then(arn_region) {
        return (account, Some(region.to_string()));
    }
    if let Some(region) = value.get("region").and_then(Value::as_str)
        && looks_like_region(region)
    {
        return (account, Some(region.to_string()));
    }
    let zone = value.get("availability_zone").and_then(Value::as_str);
    let region = zone
        .map(|z| z.trim_end_matches(|c: char| c.is_ascii_lowercase()))
        .filter(|r| looks_like_region(r));
    (account, region.map(str::to_string))
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`: ends in a number after a dash.
fn looks_like_region(s: &str) -> bool {
    s.contains('-')
        && s.rsplit('-')
            .next()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_arn(s: &str) -> bool {
    s.starts_with("arn:") && s.split(':').count() >= 6
}

/// (child type, the child's parent id attribute, the parent's id).
type ChildLink = (&'static str, &'static str, String);

/// The desired children of every fold, parsed once.
struct FoldIndex {
    /// Parsed desired children by the parent they name.
    children: HashMap<ChildLink, Vec<Value>>,
    /// child type → (parent type, parent id attribute, children are parts).
    parents: HashMap<&'static str, Vec<ParentLink>>,
}

/// (parent type, the child's parent id attribute, `Fold::children_are_parts`).
type ParentLink = (&'static str, &'static str, bool);

impl FoldIndex {
    fn build(desired: &[Resource], checked: &[(usize, &'static TypeRules)]) -> Self {
        let mut parents: HashMap<&'static str, Vec<ParentLink>> = HashMap::new();
        let mut seen_types = BTreeSet::new();
        for &(_, tr) in checked {
            if !seen_types.insert(tr.resource_type) {
                continue;
            }
            for fold in tr.folds {
                for &child in fold.child_types {
                    let entry = parents.entry(child).or_default();
                    let link = (
                        tr.resource_type,
                        fold.parent_id_attribute,
                        fold.children_are_parts,
                    );
                    if !entry.contains(&link) {
                        entry.push(link);
                    }
                }
            }
        }
        let mut children: HashMap<ChildLink, Vec<Value>> = HashMap::new();
        if !parents.is_empty() {
            for r in desired {
                if r.address.mode == Mode::Data || r.deposed.is_some() {
                    continue;
                }
                let Some((&child_type, links)) = parents.get_key_value(&*r.key.resource_type)
                else {
                    continue;
                };
                let value = r.attributes.to_value();
                let mut attrs: Vec<&'static str> = links.iter().map(|l| l.1).collect();
                attrs.dedup();
                for attr in attrs {
                    if let Some(parent_id) = value.get(attr).and_then(Value::as_str) {
                        children
                            .entry((child_type, attr, parent_id.to_string()))
                            .or_default()
                            .push(value.clone());
                    }
                }
            }
        }
        FoldIndex { children, parents }
    }

    /// Calls every fold's `remove_child` for the desired children of `parent_id`.
    fn remove_children(&self, fold: &Fold, parent_id: &str, desired: &mut Value, live: &mut Value) {
        for &child_type in fold.child_types {
            let key = (child_type, fold.parent_id_attribute, parent_id.to_string());
            if let Some(list) = self.children.get(&key) {
                for child in list {
                    (fold.remove_child)(desired, live, child_type, child);
                }
            }
        }
    }

    /// The desired parent a child of `child_type` names through a fold, if any.
    fn parent_of(
        &self,
        child: &ResourceKey,
        value: &Value,
        desired_by_key: &HashMap<KeyRef<'_>, Vec<usize>>,
    ) -> Option<usize> {
        let links = self.parents.get(&*child.resource_type)?;
        links.iter().find_map(|&(parent_type, attr, _)| {
            let parent_id = value.get(attr)?.as_str()?;
            desired_by_key
                .get(&(&*child.provider, parent_type, parent_id))?
                .first()
                .copied()
        })
    }

    /// A live child whose parent (through a fold) is managed by some state.
    fn is_child_of_managed(
        &self,
        live: &Resource,
        value: &Value,
        desired_by_key: &HashMap<KeyRef<'_>, Vec<usize>>,
    ) -> bool {
        let Some(links) = self.parents.get(&*live.key.resource_type) else {
            return false;
        };
        links.iter().any(|&(parent_type, attr, parts)| {
            parts
                && value
                    .get(attr)
                    .and_then(Value::as_str)
                    .is_some_and(|parent_id| {
                        desired_by_key.contains_key(&(&*live.key.provider, parent_type, parent_id))
                    })
        })
    }
}

/// Compares one matched pair: folds, the type's normalisation, then the generic one.
fn compare_pair(
    d: &Resource,
    l: &Resource,
    tr: &TypeRules,
    folds: &FoldIndex,
) -> (Vec<AttrChange>, Vec<Diagnostic>) {
    let mut desired = d.attributes.to_value();
    let mut live = l.attributes.to_value();
    for fold in tr.folds {
        folds.remove_children(fold, &d.key.id, &mut desired, &mut live);
    }
    (tr.normalize)(&mut desired, &mut live);
    compare::generic_normalize(&mut desired, &mut live, tr.ignore);
    let sensitive: Vec<&AttrPath> = d.sensitive_paths.iter().chain(&l.sensitive_paths).collect();
    let outcome = compare::compare(&desired, &live, tr.sets, &sensitive);
    let mut diagnostics = Vec::new();
    if !outcome.unsure.is_empty() {
        diagnostics.push(Diagnostic::warning(
            d.address.to_string(),
            format!(
                "cannot compare {}: the value is hashed as sensitive on one side only; \
                 the type's rules should list it as sensitive (not reported as drift)",
                outcome
                    .unsure
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    (outcome.changes, diagnostics)
}

#[cfg(test)]
mod tests;
