//! `sensitive_attributes` in every form Terraform has written, and the
//! redaction that replaces sensitive values by keyed hashes before anything
//! else sees them.

use crate::model::{AttrPath, PathStep};
use crate::secrets::{SecretKey, is_hashed, is_secret_attribute};
use serde_json::Value;

/// Reads `sensitive_attributes`. Forms accepted:
/// - a list of paths, each a list of cty steps: `[[{"type":"get_attr","value":"password"}]]`,
///   with index steps as `{"type":"index","value":{"value":0,"type":"number"}}`
///   (Terraform 0.15 to 1.x);
/// - steps as bare strings (attribute or key) and numbers (index): `[["settings", 0, "x"]]`;
/// - a single path not wrapped in a list of paths: `[{"type":"get_attr","value":"x"}]`.
///
/// A step driftd does not understand cuts the path there, so the value that holds it is
/// treated as sensitive as a whole (too much hidden is safe, too little is not);
/// the second element of the result says so.
pub fn parse_sensitive_paths(value: &Value) -> (Vec<AttrPath>, Vec<String>) {
    let mut paths = Vec::new();
    let mut problems = Vec::new();
    let Value::Array(items) = value else {
        if !value.is_null() {
            problems.push(format!(
                "sensitive_attributes is {}, expected a list of paths",
                kind(value)
            ));
        }
        return (paths, problems);
    };
    let is_single_path = items.iter().all(|i| i.is_object()) && !items.is_empty();
    let groups: Vec<&Value> = if is_single_path {
        vec![value]
    } else {
        items.iter().collect()
    };
    for group in groups {
        let steps: Vec<&Value> = match group {
            Value::Array(steps) => steps.iter().collect(),
            other => vec![other],
        };
        let mut path = Vec::new();
        for step in steps {
            match parse_step(step) {
                Some(s) => path.push(s),
                None => {
                    problems.push(format!(
                        "sensitive path step {step} is not understood; hiding its parent value"
                    ));
                    break;
                }
            }
        }
        paths.push(AttrPath(path));
    }
    (paths, problems)
}

fn parse_step(step: &Value) -> Option<PathStep> {
    match step {
        Value::String(s) => Some(PathStep::Attr(s.clone())),
        Value::Number(n) => n.as_i64().map(PathStep::Index),
        Value::Object(o) => {
            let value = o.get("value")?;
            match o.get("type")?.as_str()? {
                "get_attr" => Some(PathStep::Attr(value.as_str()?.to_string())),
                "index" => {
                    // The key is either bare or a typed cty value {"value": .., "type": ..}.
                    let key = match value {
                        Value::Object(k) => k.get("value")?,
                        other => other,
                    };
                    match key {
                        Value::String(s) => Some(PathStep::Key(s.clone())),
                        Value::Number(n) => n.as_i64().map(PathStep::Index),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Replaces the values at `declared` paths, and under every secret-named attribute at
/// any depth, with keyed hashes. Returns the concrete paths that were hashed, sorted.
pub fn redact(attributes: &mut Value, declared: &[AttrPath], key: &SecretKey) -> Vec<AttrPath> {
    let mut hashed = Vec::new();
    for path in declared {
        if let Some(slot) = lookup_mut(attributes, &path.0)
            && hash_in_place(slot, key)
        {
            hashed.push(path.clone());
        }
    }
    let mut prefix = Vec::new();
    redact_secret_names(attributes, &mut prefix, key, &mut hashed);
    hashed.sort();
    hashed.dedup();
    hashed
}

fn lookup_mut<'a>(mut value: &'a mut Value, steps: &[PathStep]) -> Option<&'a mut Value> {
    for step in steps {
        value = match (step, value) {
            (PathStep::Attr(k) | PathStep::Key(k), Value::Object(o)) => o.get_mut(k)?,
            (PathStep::Index(i), Value::Array(a)) => a.get_mut(usize::try_from(*i).ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Hashes a value in place, leaf by leaf: every string, number and boolean
/// inside it becomes its keyed hash; keys, nesting and nulls stay. Leaf by
/// leaf, so that two copies of a structure compare whatever part of it each
/// side had already hashed (a state marks one variable of a Lambda
/// environment sensitive, the live side hashes the whole environment), and a
/// change shows at its path. A value that already is a hash is left alone.
/// True when the value was not null.
fn hash_in_place(slot: &mut Value, key: &SecretKey) -> bool {
    match slot {
        Value::Null => false,
        Value::String(s) if is_hashed(s) => true,
        Value::Array(items) => {
            for item in items {
                hash_in_place(item, key);
            }
            true
        }
        Value::Object(fields) => {
            for field in fields.values_mut() {
                hash_in_place(field, key);
            }
            true
        }
        _ => {
            let canonical = serde_json::to_string(slot).expect("a JSON value always serialises");
            *slot = Value::String(key.hash_value(&canonical));
            true
        }
    }
}

fn redact_secret_names(
    value: &mut Value,
    prefix: &mut Vec<PathStep>,
    key: &SecretKey,
    out: &mut Vec<AttrPath>,
) {
    match value {
        Value::Object(o) => {
            for (name, child) in o.iter_mut() {
                prefix.push(PathStep::Attr(name.clone()));
                if is_secret_attribute(name) {
                    if hash_in_place(child, key) {
                        out.push(AttrPath(prefix.clone()));
                    }
                } else {
                    redact_secret_names(child, prefix, key, out);
                }
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter_mut().enumerate() {
                prefix.push(PathStep::Index(i as i64));
                redact_secret_names(child, prefix, key, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attr(s: &str) -> PathStep {
        PathStep::Attr(s.into())
    }

    #[test]
    fn every_form_parses() {
        let old = json!([[{"type":"get_attr","value":"password"}],
                         [{"type":"get_attr","value":"settings"},{"type":"index","value":{"value":0,"type":"number"}},
                          {"type":"get_attr","value":"x"}],
                         [{"type":"get_attr","value":"tags"},{"type":"index","value":{"value":"k","type":"string"}}]]);
        let (paths, problems) = parse_sensitive_paths(&old);
        assert!(problems.is_empty());
        assert_eq!(paths[0], AttrPath(vec![attr("password")]));
        assert_eq!(
            paths[1],
            AttrPath(vec![attr("settings"), PathStep::Index(0), attr("x")])
        );
        assert_eq!(
            paths[2],
            AttrPath(vec![attr("tags"), PathStep::Key("k".into())])
        );

        let bare = json!([["settings", 0, "x"]]);
        assert_eq!(
            parse_sensitive_paths(&bare).0,
            vec![AttrPath(vec![
                attr("settings"),
                PathStep::Index(0),
                attr("x")
            ])]
        );

        let single = json!([{"type":"get_attr","value":"password"}]);
        assert_eq!(
            parse_sensitive_paths(&single).0,
            vec![AttrPath(vec![attr("password")])]
        );
    }

    #[test]
    fn unknown_step_hides_the_parent() {
        let odd = json!([[{"type":"get_attr","value":"conf"},{"type":"splat"}]]);
        let (paths, problems) = parse_sensitive_paths(&odd);
        assert_eq!(paths, vec![AttrPath(vec![attr("conf")])]);
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn redaction_hashes_declared_and_named_values() {
        let key = SecretKey::from_bytes([7; 32]);
        let mut v = json!({"name":"db","settings":[{"x":"s3cr3t","y":1}],
                           "nested":{"master_password":"hunter2"},"password":null});
        let declared = vec![AttrPath(vec![
            attr("settings"),
            PathStep::Index(0),
            attr("x"),
        ])];
        let hashed = redact(&mut v, &declared, &key);
        let text = v.to_string();
        assert!(
            !text.contains("s3cr3t") && !text.contains("hunter2"),
            "{text}"
        );
        assert_eq!(v["settings"][0]["x"], json!(key.hash_value("\"s3cr3t\"")));
        assert_eq!(v["password"], Value::Null);
        assert_eq!(hashed.len(), 2);
    }
}
