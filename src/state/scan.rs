//! One pass over an instance's attribute JSON: compact it (Terraform writes it
//! indented), pick out its `id`, and collect values that may reference other
//! resources. Works on bytes; the text was already validated by serde_json.

use crate::model::{Aliases, Reference};
use crate::secrets::is_secret_attribute;

/// What one pass over an attribute object found.
pub struct Scanned {
    /// The same JSON without insignificant whitespace.
    pub compact: String,
    /// The top-level `id` string, if any.
    pub id: Option<String>,
    /// Candidate references, deduplicated, in order of appearance.
    pub references: Vec<Reference>,
    /// The top-level `arn` and `name` strings, if any.
    pub aliases: Aliases,
    /// Whether some key, at any depth, is a secret attribute name (only looked for
    /// when the caller asks: most attribute texts cannot contain one).
    pub has_secret_key: bool,
}

/// Top-level attributes whose plain-name values refer to other resources
/// (an IAM role by name, a bucket by name, an Azure resource group by name).
pub const NAME_REFERENCE_ATTRIBUTES: &[&str] = &[
    "role",
    "roles",
    "user",
    "users",
    "group",
    "groups",
    "bucket",
    "function_name",
    "cluster",
    "cluster_name",
    "repository",
    "table_name",
    "key_id",
    "target_key_id",
    "zone_id",
    "queue_url",
    "resource_group_name",
    "virtual_network_name",
    "network_security_group_name",
    "storage_account_name",
    "instance_profile",
    "iam_instance_profile",
    "db_subnet_group_name",
    "parameter_group_name",
    "log_group_name",
];

/// Longer strings are documents (policies, user data), not references.
const MAX_REFERENCE_LEN: usize = 2048;

pub fn scan_attributes(raw: &str, check_secret_keys: bool) -> Scanned {
    let bytes = raw.as_bytes();
    let mut compact = String::with_capacity(raw.len());
    let mut id = None;
    let mut aliases = Aliases::default();
    let mut has_secret_key = false;
    let mut references: Vec<Reference> = Vec::new();
    // Container stack: true = object. `expect_key` is true right after `{` or `,` in an object.
    let mut stack: Vec<bool> = Vec::with_capacity(16);
    let mut expect_key = false;
    let mut top_key: Option<(usize, usize)> = None; // byte range in `raw` of the current top-level key
    let mut i = 0;
    let mut copied_from = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\n' | b'\r' | b'\t' => {
                compact.push_str(&raw[copied_from..i]);
                i += 1;
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\n' | b'\r' | b'\t') {
                    i += 1;
                }
                copied_from = i;
                continue;
            }
            b'"' => {
                let start = i;
                i += 1;
                let mut escaped = false;
                loop {
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        Some(off) if bytes[i + off] == b'\\' => {
                            escaped = true;
                            i += off + 2;
                        }
                        Some(off) => {
                            i += off + 1;
                            break;
                        }
                        None => {
                            i = bytes.len();
                            break;
                        }
                    }
                }
                let content = (start + 1, i - 1);
                if expect_key {
                    if stack.len() == 1 {
                        top_key = Some(content);
                    }
                    if check_secret_keys && is_secret_attribute(&raw[content.0..content.1]) {
                        has_secret_key = true;
                    }
                    expect_key = false;
                } else if let Some((ks, ke)) = top_key {
                    let key = &raw[ks..ke];
                    let len = content.1 - content.0;
                    if len > 0 && len <= MAX_REFERENCE_LEN {
                        let value = if escaped {
                            serde_json::from_str::<String>(&raw[start..i]).unwrap_or_default()
                        } else {
                            raw[content.0..content.1].to_string()
                        };
                        if stack.len() == 1 && key == "id" {
                            id = Some(value);
                        } else if stack.len() == 1 && key == "arn" {
                            aliases.arn = Some(value);
                        } else if stack.len() == 1 && key == "name" {
                            aliases.name = Some(value);
                        } else if is_reference_candidate(key, stack.len(), &value) {
                            let key = key.to_string();
                            if !references
                                .iter()
                                .any(|r| r.attribute == key && r.value == value)
                            {
                                references.push(Reference {
                                    attribute: key,
                                    value,
                                });
                            }
                        }
                    }
                }
                continue;
            }
            b'{' => {
                stack.push(true);
                expect_key = true;
            }
            b'[' => {
                stack.push(false);
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => expect_key = stack.last() == Some(&true),
            _ => {}
        }
        i += 1;
    }
    compact.push_str(&raw[copied_from..]);
    Scanned {
        compact,
        id,
        references,
        aliases,
        has_secret_key,
    }
}

fn is_reference_candidate(top_key: &str, depth: usize, value: &str) -> bool {
    // The resource's own identity is not a reference.
    if depth == 1 && matches!(top_key, "arn" | "self_link" | "owner_id" | "account_id") {
        return false;
    }
    if top_key == "tags" || top_key == "tags_all" {
        return false;
    }
    value.starts_with("arn:")
        || value.starts_with("/subscriptions/")
        || looks_like_cloud_id(value)
        || (depth <= 2 && NAME_REFERENCE_ATTRIBUTES.contains(&top_key))
}

/// AWS-style ids: a lowercase prefix, a dash, 8 to 17 hex digits (`vpc-0a1b2c3d`, `sg-…`, `i-…`).
pub fn looks_like_cloud_id(value: &str) -> bool {
    let Some((prefix, hex)) = value.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.len() <= 16
        && prefix
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && (8..=17).contains(&hex.len())
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_and_finds_id_and_references() {
        let raw = r#"{
  "id": "sg-0123456789abcdef0",
  "description": "a \"quoted\" value, with {braces} and [brackets]",
  "vpc_id": "vpc-0a1b2c3d",
  "ingress": [ { "security_groups": [ "sg-11112222" ], "id": "not-top" } ],
  "tags": { "Owner": "vpc-deadbeef" },
  "role": "app-role",
  "arn": "arn:aws:ec2:eu-west-1:111111111111:security-group/sg-0123456789abcdef0"
}"#;
        let s = scan_attributes(raw, false);
        assert_eq!(
            s.compact,
            r#"{"id":"sg-0123456789abcdef0","description":"a \"quoted\" value, with {braces} and [brackets]","vpc_id":"vpc-0a1b2c3d","ingress":[{"security_groups":["sg-11112222"],"id":"not-top"}],"tags":{"Owner":"vpc-deadbeef"},"role":"app-role","arn":"arn:aws:ec2:eu-west-1:111111111111:security-group/sg-0123456789abcdef0"}"#
        );
        assert_eq!(s.id.as_deref(), Some("sg-0123456789abcdef0"));
        let refs: Vec<(&str, &str)> = s
            .references
            .iter()
            .map(|r| (r.attribute.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            refs,
            vec![
                ("vpc_id", "vpc-0a1b2c3d"),
                ("ingress", "sg-11112222"),
                ("role", "app-role")
            ]
        );
    }

    #[test]
    fn escaped_values_are_decoded() {
        let s = scan_attributes(r#"{"id":"a\u002fb","role":"x\"y"}"#, false);
        assert_eq!(s.id.as_deref(), Some("a/b"));
        assert_eq!(s.references[0].value, "x\"y");
    }

    #[test]
    fn secret_keys_are_found_at_any_depth_only_when_asked() {
        let text = r#"{"id":"x","description":"rotate the password","settings":[{"master_password":"p"}]}"#;
        assert!(scan_attributes(text, true).has_secret_key);
        assert!(!scan_attributes(text, false).has_secret_key);
        assert!(!scan_attributes(r#"{"description":"rotate the password"}"#, true).has_secret_key);
    }

    #[test]
    fn cloud_ids() {
        for v in [
            "vpc-0a1b2c3d",
            "sg-0123456789abcdef0",
            "i-0dbc91f429e48eeed",
            "eipalloc-12345678",
        ] {
            assert!(looks_like_cloud_id(v), "{v}");
        }
        for v in [
            "my-bucket",
            "vpc-",
            "-12345678",
            "VPC-12345678",
            "us-east-1",
            "sg-0123456789abcdef01234",
        ] {
            assert!(!looks_like_cloud_id(v), "{v}");
        }
    }
}
