//! `attributes_flat`: the pre-0.12 "flatmap" encoding (`tags.%`, `ingress.#`,
//! `ingress.1234.cidr_blocks.0`) that Terraform keeps in v4 states it upgraded
//! without the provider at hand. Terraform itself needs the provider schema to
//! turn it into typed attributes; without it, driftd rebuilds the nesting and
//! keeps every leaf as a string.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub fn unflatten(flat: &BTreeMap<String, String>) -> Value {
    let entries: Vec<(&str, &str)> = flat.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    object(&entries)
}

/// The entries under one name: its own value (`name`) and its children (`name.rest`).
#[derive(Default)]
struct Group<'a> {
    exact: Option<&'a str>,
    children: Vec<(&'a str, &'a str)>,
}

/// Groups keys by their first segment; each level is one pass over its entries.
fn group<'a>(entries: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, Group<'a>> {
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    for &(key, value) in entries {
        match key.split_once('.') {
            Some((name, rest)) => groups.entry(name).or_default().children.push((rest, value)),
            None => groups.entry(key).or_default().exact = Some(value),
        }
    }
    groups
}

fn object(entries: &[(&str, &str)]) -> Value {
    let mut out = Map::new();
    for (name, g) in group(entries) {
        out.insert(name.to_string(), value(g));
    }
    Value::Object(out)
}

fn value(g: Group<'_>) -> Value {
    let marker = |m: &str| g.children.iter().any(|(k, _)| *k == m);
    if marker("%") {
        // A map of primitives: the rest of the key, dots and all, is the map key.
        let map = g
            .children
            .iter()
            .filter(|(k, _)| *k != "%")
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        Value::Object(map)
    } else if marker("#") {
        let mut elements: Vec<(&str, Group)> = group(&g.children)
            .into_iter()
            .filter(|(idx, _)| *idx != "#")
            .collect();
        // List indexes sort numerically; set hashes have no meaningful order.
        elements.sort_by_key(|(idx, _)| idx.parse::<u64>().unwrap_or(u64::MAX));
        Value::Array(
            elements
                .into_iter()
                .map(|(_, e)| match (e.exact, e.children.is_empty()) {
                    (Some(v), true) => Value::String(v.to_string()),
                    _ => object(&e.children),
                })
                .collect(),
        )
    } else if let (Some(v), true) = (g.exact, g.children.is_empty()) {
        Value::String(v.to_string())
    } else {
        object(&g.children)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rebuilds_nesting() {
        let flat: BTreeMap<String, String> = [
            ("id", "sg-1"),
            ("tags.%", "1"),
            ("tags.kubernetes.io/cluster/x", "owned"),
            ("ingress.#", "1"),
            ("ingress.2541437006.cidr_blocks.#", "2"),
            ("ingress.2541437006.cidr_blocks.0", "10.0.0.0/8"),
            ("ingress.2541437006.cidr_blocks.1", "0.0.0.0/0"),
            ("ingress.2541437006.from_port", "22"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(
            unflatten(&flat),
            json!({"id":"sg-1","tags":{"kubernetes.io/cluster/x":"owned"},
                   "ingress":[{"cidr_blocks":["10.0.0.0/8","0.0.0.0/0"],"from_port":"22"}]})
        );
    }
}
