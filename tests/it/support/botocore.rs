//! A checker of JSON bodies against a botocore service model
//! (`service-2.json`): the shapes are read from the model itself, never
//! copied into a test, so an emulator and the SDK's wire format are both
//! held to what AWS publishes.
//!
//! It knows the JSON protocol's encodings: a `timestamp` is a number of
//! epoch seconds unless the member says otherwise, a `blob` is a base64
//! string. It reports every violation with its JSON path.

use std::path::Path;

use serde_json::{Map, Value};

pub struct ServiceModel {
    /// `shapes` of the model, by name.
    shapes: Map<String, Value>,
    /// `operations` of the model, by name.
    operations: Map<String, Value>,
    /// `metadata.protocol`: timestamps default to epoch seconds under `json`.
    protocol: String,
}

impl ServiceModel {
    pub fn load(path: &Path) -> ServiceModel {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let model: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let part = |name: &str| -> Map<String, Value> {
            model[name]
                .as_object()
                .cloned()
                .unwrap_or_else(|| panic!("{} has no {name}", path.display()))
        };
        ServiceModel {
            shapes: part("shapes"),
            operations: part("operations"),
            protocol: model["metadata"]["protocol"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// botocore's whole CloudTrail model from the corpus.
    pub fn cloudtrail() -> ServiceModel {
        Self::load(
            &super::corpus_dir()
                .join("api-specs/aws-cloudtrail/botocore-cloudtrail-2013-11-01-service-2.json"),
        )
    }

    /// The shape an operation takes (`input`) or answers with (`output`).
    pub fn operation_shape(&self, operation: &str, direction: &str) -> String {
        self.operations[operation][direction]["shape"]
            .as_str()
            .unwrap_or_else(|| panic!("the model has no {direction} shape for {operation}"))
            .to_owned()
    }

    /// The error shapes an operation declares.
    pub fn operation_errors(&self, operation: &str) -> Vec<String> {
        self.operations[operation]["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["shape"].as_str().map(str::to_owned))
            .collect()
    }

    /// The names of a structure's members, sorted.
    pub fn members(&self, shape: &str) -> Vec<String> {
        self.shapes[shape]["members"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every way `value` departs from `shape`, one line each.
    pub fn errors(&self, shape: &str, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(shape, None, value, "$", &mut errors);
        errors
    }

    fn check(
        &self,
        name: &str,
        member: Option<&Value>,
        value: &Value,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        let Some(shape) = self.shapes.get(name) else {
            errors.push(format!("{path}: the model has no shape {name}"));
            return;
        };
        let kind = shape["type"].as_str().unwrap_or_default();
        let fail = |errors: &mut Vec<String>, what: String| {
            errors.push(format!("{path}: {what} ({name}, {kind})"));
        };
        // A reference to another shape: a structure member, a list member,
        // a map key or value.
        let nested =
            |reference: &Value, item: &Value, item_path: String, errors: &mut Vec<String>| {
                match reference["shape"].as_str() {
                    Some(target) => self.check(target, Some(reference), item, &item_path, errors),
                    None => errors.push(format!("{item_path}: the model names no shape here")),
                }
            };
        match (kind, value) {
            ("structure", Value::Object(fields)) => {
                let members = shape["members"].as_object().cloned().unwrap_or_default();
                for required in shape["required"].as_array().into_iter().flatten() {
                    let required = required.as_str().unwrap_or_default();
                    if !fields.contains_key(required) {
                        fail(errors, format!("required member {required} is missing"));
                    }
                }
                for (key, field) in fields {
                    match members.get(key) {
                        Some(reference) => {
                            nested(reference, field, format!("{path}.{key}"), errors)
                        }
                        None => fail(errors, format!("no member {key}")),
                    }
                }
            }
            ("list", Value::Array(items)) => {
                check_length(shape, items.len(), |what| fail(errors, what));
                for (i, item) in items.iter().enumerate() {
                    nested(&shape["member"], item, format!("{path}[{i}]"), errors);
                }
            }
            ("map", Value::Object(entries)) => {
                check_length(shape, entries.len(), |what| fail(errors, what));
                for (key, entry) in entries {
                    let entry_path = format!("{path}[{key:?}]");
                    nested(
                        &shape["key"],
                        &Value::from(key.as_str()),
                        entry_path.clone(),
                        errors,
                    );
                    nested(&shape["value"], entry, entry_path, errors);
                }
            }
            ("string", Value::String(text)) => {
                check_length(shape, text.chars().count(), |what| fail(errors, what));
                if let Some(allowed) = shape["enum"].as_array()
                    && !allowed.iter().any(|a| a.as_str() == Some(text))
                {
                    fail(errors, format!("{text:?} is not one of {allowed:?}"));
                }
            }
            ("timestamp", value) => {
                let format = member
                    .and_then(|m| m["timestampFormat"].as_str())
                    .or(shape["timestampFormat"].as_str());
                let epoch_seconds = match format {
                    Some(format) => format == "unixTimestamp",
                    None => self.protocol == "json",
                };
                if epoch_seconds && !value.is_number() {
                    fail(errors, format!("{value} is not a number of epoch seconds"));
                } else if !epoch_seconds && !value.is_string() {
                    fail(errors, format!("{value} is not a timestamp string"));
                }
            }
            ("integer" | "long", Value::Number(number)) => match number.as_i64() {
                Some(n) => {
                    if let Some(min) = shape["min"].as_i64()
                        && n < min
                    {
                        fail(errors, format!("{n} is below the minimum {min}"));
                    }
                    if let Some(max) = shape["max"].as_i64()
                        && n > max
                    {
                        fail(errors, format!("{n} is above the maximum {max}"));
                    }
                }
                None => fail(errors, format!("{number} is not an integer")),
            },
            ("boolean", Value::Bool(_))
            | ("double" | "float", Value::Number(_))
            | ("blob", Value::String(_)) => {}
            (_, other) => fail(errors, format!("unexpected {other}")),
        }
    }
}

/// A list's, map's or string's `min` and `max` length.
fn check_length(shape: &Value, length: usize, mut fail: impl FnMut(String)) {
    let length = length as u64;
    if let Some(min) = shape["min"].as_u64()
        && length < min
    {
        fail(format!("length {length} is below the minimum {min}"));
    }
    if let Some(max) = shape["max"].as_u64()
        && length > max
    {
        fail(format!("length {length} is above the maximum {max}"));
    }
}
