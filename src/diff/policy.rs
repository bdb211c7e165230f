//! JSON policy documents (IAM, S3 bucket, KMS key, …) compared by meaning.
//!
//! Terraform, the console and the APIs each spell one policy several ways: key
//! order and whitespace, `"Action": "x"` or `["x"]`, statements and values in
//! any order, and IAM's `Get*Policy` answers URL-encoded. [`canonical`] maps
//! every spelling of one policy to one tree, so equal trees mean equal policies.

use serde_json::{Map, Value};

/// The canonical tree of `text` when it is a policy document (a JSON object
/// with `Statement`, plain or URL-encoded), else `None`.
pub(super) fn canonical(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    let decoded;
    let json = if trimmed.starts_with('{') {
        if !trimmed.contains("Statement") {
            return None;
        }
        trimmed
    } else if trimmed
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("%7B"))
    {
        decoded = percent_decode(trimmed)?;
        &decoded
    } else {
        return None;
    };
    let Value::Object(doc) = serde_json::from_str::<Value>(json).ok()? else {
        return None;
    };
    if !doc.contains_key("Statement") {
        return None;
    }
    let mut out = Map::new();
    for (k, v) in doc {
        let v = if k == "Statement" {
            let statements = match v {
                Value::Array(a) => a,
                other => vec![other],
            };
            let mut statements: Vec<Value> = statements.into_iter().map(statement).collect();
            statements.sort_by_cached_key(|s| s.to_string());
            statements.dedup();
            Value::Array(statements)
        } else {
            drop_empty(v)
        };
        if !is_empty(&v) {
            out.insert(k, v);
        }
    }
    Some(Value::Object(out))
}

/// One statement: value lists sorted, single values as one-element lists, empty
/// values dropped (`"Sid": ""` is no Sid).
fn statement(v: Value) -> Value {
    let Value::Object(s) = v else {
        return drop_empty(v);
    };
    let mut out = Map::new();
    for (k, v) in s {
        let v = match k.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => string_set(v),
            "Principal" | "NotPrincipal" => principal(v),
            "Condition" => condition(v),
            _ => drop_empty(v),
        };
        if !is_empty(&v) {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

/// `"*"` is `{"AWS": ["*"]}`; an account id is its root ARN.
fn principal(v: Value) -> Value {
    match v {
        Value::String(s) if s == "*" => {
            let mut m = Map::new();
            m.insert("AWS".into(), Value::Array(vec![Value::String(s)]));
            Value::Object(m)
        }
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = match string_set(v) {
                        Value::Array(a) if k == "AWS" => {
                            let mut a: Vec<Value> = a
                                .into_iter()
                                .map(|p| match p {
                                    Value::String(s)
                                        if s.len() == 12
                                            && s.bytes().all(|b| b.is_ascii_digit()) =>
                                    {
                                        Value::String(format!("arn:aws:iam::{s}:root"))
                                    }
                                    p => p,
                                })
                                .collect();
                            sort_dedup(&mut a);
                            Value::Array(a)
                        }
                        v => v,
                    };
                    (k, v)
                })
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        other => drop_empty(other),
    }
}

/// `{operator: {key: value or values}}`: values as sorted strings (IAM compares
/// them as strings: `true` is `"true"`).
fn condition(v: Value) -> Value {
    let Value::Object(ops) = v else {
        return drop_empty(v);
    };
    Value::Object(
        ops.into_iter()
            .map(|(op, keys)| {
                let keys = match keys {
                    Value::Object(keys) => Value::Object(
                        keys.into_iter()
                            .map(|(k, v)| (k, string_set(v)))
                            .filter(|(_, v)| !is_empty(v))
                            .collect(),
                    ),
                    other => drop_empty(other),
                };
                (op, keys)
            })
            .filter(|(_, v)| !is_empty(v))
            .collect(),
    )
}

/// A value or a list of values, as a sorted list of strings without repeats.
fn string_set(v: Value) -> Value {
    let items = match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut items: Vec<Value> = items
        .into_iter()
        .map(|i| match i {
            Value::Number(n) => Value::String(number_text(&n)),
            Value::Bool(b) => Value::String(b.to_string()),
            other => other,
        })
        .collect();
    sort_dedup(&mut items);
    Value::Array(items)
}

fn sort_dedup(items: &mut Vec<Value>) {
    items.sort_by_cached_key(|v| v.to_string());
    items.dedup();
}

/// A number as IAM reads it: `1` and `1.0` are one value.
fn number_text(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.to_string(),
        (_, Some(u), _) => u.to_string(),
        (_, _, Some(f)) => f.to_string(),
        _ => n.to_string(),
    }
}

/// Removes empty members (`null`, `""`, `[]`, `{}`) at every depth.
fn drop_empty(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, drop_empty(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(drop_empty).collect()),
        other => other,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `%XX` sequences to bytes (RFC 3986, as IAM encodes; `+` stays `+`); `None` when
/// an escape is malformed or the bytes are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_policy_are_one_tree() {
        let a = r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/*"],"Principal":"*"},{"Effect":"Deny","Action":["s3:B","s3:A"],"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}"#;
        let b = r#"{
  "Statement": [
    {"Resource": "*", "Effect": "Deny", "Action": ["s3:A", "s3:B"],
     "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}},
    {"Principal": {"AWS": "*"}, "Resource": "arn:aws:s3:::b/*", "Action": ["s3:GetObject"], "Effect": "Allow"}
  ],
  "Version": "2012-10-17"
}"#;
        assert_eq!(canonical(a).unwrap(), canonical(b).unwrap());
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22*%22%7D%7D%7D";
        let single = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*","Principal":"*"}]}"#;
        assert_eq!(canonical(encoded).unwrap(), canonical(single).unwrap());
    }

    #[test]
    fn a_different_policy_is_a_different_tree() {
        let a = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let b = r#"{"Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#;
        assert_ne!(canonical(a).unwrap(), canonical(b).unwrap());
        let principal_id =
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"}}]}"#;
        let principal_arn = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:root"]}}]}"#;
        assert_eq!(canonical(principal_id), canonical(principal_arn));
    }

    #[test]
    fn not_lists_and_condition_values_are_order_free() {
        let a = r#"{"Statement":[{"Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":"arn:aws:s3:::a","Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]},"NumericLessThan":{"s3:max-keys":10}}}]}"#;
        let b = r#"{"Statement":{"Condition":{"NumericLessThan":{"s3:max-keys":"10"},"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}},"NotResource":["arn:aws:s3:::a"],"NotAction":["sts:*","iam:*"],"Effect":"Deny"}}"#;
        assert_eq!(canonical(a).unwrap(), canonical(b).unwrap());
        let c = b.replace("us-east-1", "us-west-2");
        assert_ne!(canonical(a).unwrap(), canonical(&c).unwrap());
    }

    #[test]
    fn only_policy_documents_are_canonical() {
        assert_eq!(canonical(r#"{"a":1}"#), None);
        assert_eq!(canonical("not json, mentions Statement"), None);
        assert_eq!(canonical("%7Bbroken"), None);
        assert_eq!(canonical(r#"{"Statement": oops}"#), None);
    }
}
