//! `attributes_flat`: the pre-0.12 "flatmap" encoding (`tags.%`, `ingress.#`,
//! `ingress.1234.cidr_blocks.0`) that Terraform keeps in v4 states it upgraded
//! without the provider at hand. Terraform itself needs the provider schema to
//! turn it into typed attributes; without it, driftd rebuilds the nesting and
//! keeps every leaf as a string.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub fn unflatten(flat: &BTreeMap<String, String>) -> Value {
    object_at(flat, "")
}

fn object_at(flat: &BTreeMap<String, String>, prefix: &str) -> Value {
    let mut out = Map::new();
    let mut names: Vec<&str> = Vec::new();
    for k in flat
        .range(prefix.to_string()..)
        .map(|(k, _)| k.as_str())
        .take_while(|k| k.starts_with(prefix))
    {
        let rest = &k[prefix.len()..];
        let name = rest.split('.').next().unwrap_or(rest);
        if names.last() != Some(&name) && !names.contains(&name) {
            names.push(name);
        }
    }
    for name in names {
        let full = format!("{prefix}{name}");
        out.insert(name.to_string(), value_at(flat, &full));
    }
    Value::Object(out)
}

fn value_at(flat: &BTreeMap<String, String>, full: &str) -> Value {
    if flat.contains_key(&format!("{full}.%")) {
        // A map of primitives: the rest of the key, dots and all, is the map key.
        let inner = format!("{full}.");
        let mut map = Map::new();
        for (k, v) in flat
            .range(inner.clone()..)
            .take_while(|(k, _)| k.starts_with(&inner))
        {
            let key = &k[inner.len()..];
            if key != "%" {
                map.insert(key.to_string(), Value::String(v.clone()));
            }
        }
        Value::Object(map)
    } else if flat.contains_key(&format!("{full}.#")) {
        let inner = format!("{full}.");
        let mut elements: Vec<&str> = Vec::new();
        for (k, _) in flat
            .range(inner.clone()..)
            .take_while(|(k, _)| k.starts_with(&inner))
        {
            let idx = k[inner.len()..].split('.').next().unwrap_or_default();
            if idx != "#" && !elements.contains(&idx) {
                elements.push(idx);
            }
        }
        // List indexes sort numerically; set hashes have no meaningful order.
        elements.sort_by_key(|e| e.parse::<u64>().unwrap_or(u64::MAX));
        let items = elements
            .into_iter()
            .map(|idx| {
                let at = format!("{inner}{idx}");
                match flat.get(&at) {
                    Some(v) => Value::String(v.clone()),
                    None => object_at(flat, &format!("{at}.")),
                }
            })
            .collect();
        Value::Array(items)
    } else if let Some(v) = flat.get(full) {
        Value::String(v.clone())
    } else {
        object_at(flat, &format!("{full}."))
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
