//! A finding's attribute changes side by side: each value pretty-printed as
//! JSON (a string holding a JSON document, such as an IAM policy, is
//! printed as that document), the two sides aligned line by line, secrets
//! never shown.

use serde::Serialize;
use serde_json::Value;

use crate::secrets::{is_hashed, is_secret_attribute};

/// One changed attribute path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttrDiff {
    /// `ingress[0].cidr_blocks`, `tags.Owner`, …
    pub path: String,
    /// The values are secrets: only that they differ is shown.
    pub masked: bool,
    pub lines: Vec<DiffLine>,
}

/// One row of the side-by-side view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// The state's line (`None`: nothing on this side).
    pub recorded: Option<String>,
    /// The cloud's line.
    pub live: Option<String>,
    /// `same`, `changed`, `removed` (only in the state), `added` (only
    /// live), or `skipped`: a run of unchanged lines left out, counted in
    /// `recorded` ("12 unchanged lines").
    pub change: &'static str,
}

/// Unchanged lines kept around each change; longer unchanged runs are
/// folded into one `skipped` row.
const CONTEXT: usize = 3;

/// Above this many lines a side, the two sides are shown whole, not aligned.
const ALIGN_LIMIT: usize = 1500;

/// The changes of a finding (`{path: {recorded, live}}`), in path order.
pub fn attribute_diffs(changes: &Value) -> Vec<AttrDiff> {
    let Some(map) = changes.as_object() else {
        return Vec::new();
    };
    map.iter()
        .map(|(path, change)| {
            let recorded = change.get("recorded").unwrap_or(&Value::Null);
            let live = change.get("live").unwrap_or(&Value::Null);
            if is_secret_path(path) || is_sensitive(recorded) || is_sensitive(live) {
                return AttrDiff {
                    path: path.clone(),
                    masked: true,
                    lines: vec![DiffLine {
                        recorded: Some(masked(recorded)),
                        live: Some(masked(live)),
                        change: "changed",
                    }],
                };
            }
            AttrDiff {
                path: path.clone(),
                masked: false,
                lines: fold_unchanged(align(&pretty(recorded), &pretty(live))),
            }
        })
        .collect()
}

/// A whole resource's attributes pretty-printed, keys sorted, with every
/// secret-named attribute and every hashed value shown as "(sensitive value)".
pub fn masked_pretty(attributes: &Value) -> String {
    fn mask(v: &Value, name: Option<&str>) -> Value {
        if name.is_some_and(is_secret_attribute) && !v.is_null() {
            return Value::String("(sensitive value)".into());
        }
        match v {
            Value::String(s) if is_hashed(s) => Value::String("(sensitive value)".into()),
            Value::Array(a) => Value::Array(a.iter().map(|x| mask(x, None)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), mask(x, Some(k))))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    serde_json::to_string_pretty(&sorted(&mask(attributes, None))).expect("JSON values serialise")
}

/// The last name in a path (`a.b[0].password` → `password`) names a secret.
fn is_secret_path(path: &str) -> bool {
    path.split(['.', '[', ']'])
        .filter(|p| !p.is_empty() && !p.bytes().all(|b| b.is_ascii_digit()))
        .any(is_secret_attribute)
}

/// A hashed value anywhere inside.
fn is_sensitive(v: &Value) -> bool {
    match v {
        Value::String(s) => is_hashed(s),
        Value::Array(a) => a.iter().any(is_sensitive),
        Value::Object(o) => o.values().any(is_sensitive),
        _ => false,
    }
}

fn masked(v: &Value) -> String {
    match v {
        Value::Null => "(not set)".to_string(),
        _ => "(sensitive value)".to_string(),
    }
}

/// The lines a value is shown as.
fn pretty(v: &Value) -> Vec<String> {
    let text = match v {
        Value::Null => return vec!["(not set)".to_string()],
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(doc @ (Value::Object(_) | Value::Array(_))) => {
                serde_json::to_string_pretty(&sorted(&doc)).expect("JSON values serialise")
            }
            _ => serde_json::to_string(s).expect("strings serialise"),
        },
        other => serde_json::to_string_pretty(&sorted(other)).expect("JSON values serialise"),
    };
    text.lines().map(str::to_string).collect()
}

/// Object keys in order, so two documents that differ only in key order
/// line up.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Aligns two line lists on their longest common subsequence; runs of
/// removed and added lines between matches pair up as changed rows.
fn align(left: &[String], right: &[String]) -> Vec<DiffLine> {
    if left.len() > ALIGN_LIMIT || right.len() > ALIGN_LIMIT {
        let n = left.len().max(right.len());
        return (0..n)
            .map(|i| DiffLine {
                recorded: left.get(i).cloned(),
                live: right.get(i).cloned(),
                change: "changed",
            })
            .collect();
    }
    let (n, m) = (left.len(), right.len());
    // lcs[i][j]: the LCS length of left[i..] and right[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if left[i] == right[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut removed, mut added): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let flush = |out: &mut Vec<DiffLine>, removed: &mut Vec<String>, added: &mut Vec<String>| {
        let k = removed.len().max(added.len());
        let (mut r, mut a) = (removed.drain(..), added.drain(..));
        for _ in 0..k {
            let (l, rt) = (r.next(), a.next());
            let change = match (&l, &rt) {
                (Some(_), Some(_)) => "changed",
                (Some(_), None) => "removed",
                _ => "added",
            };
            out.push(DiffLine {
                recorded: l,
                live: rt,
                change,
            });
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && left[i] == right[j] {
            flush(&mut out, &mut removed, &mut added);
            out.push(DiffLine {
                recorded: Some(left[i].clone()),
                live: Some(right[j].clone()),
                change: "same",
            });
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            removed.push(left[i].clone());
            i += 1;
        } else {
            added.push(right[j].clone());
            j += 1;
        }
    }
    flush(&mut out, &mut removed, &mut added);
    out
}

/// Keeps [`CONTEXT`] unchanged lines around each change and folds the rest.
fn fold_unchanged(lines: Vec<DiffLine>) -> Vec<DiffLine> {
    let near_change: Vec<bool> = (0..lines.len())
        .map(|i| {
            let lo = i.saturating_sub(CONTEXT);
            let hi = (i + CONTEXT + 1).min(lines.len());
            lines[lo..hi].iter().any(|l| l.change != "same")
        })
        .collect();
    let mut out = Vec::new();
    let mut skipped = 0usize;
    for (line, keep) in lines.into_iter().zip(near_change) {
        if keep {
            if skipped > 0 {
                out.push(skipped_row(skipped));
                skipped = 0;
            }
            out.push(line);
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        out.push(skipped_row(skipped));
    }
    out
}

fn skipped_row(n: usize) -> DiffLine {
    let text = format!("… {n} unchanged line{}", if n == 1 { "" } else { "s" });
    DiffLine {
        recorded: Some(text.clone()),
        live: Some(text),
        change: "skipped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_string_is_shown_as_its_document_and_aligned() {
        let recorded = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let live = r#"{"Statement":[{"Action":"s3:*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#;
        let d = attribute_diffs(&json!({"policy": {"recorded": recorded, "live": live}}));
        assert_eq!(d.len(), 1);
        let changed: Vec<&DiffLine> = d[0]
            .lines
            .iter()
            .filter(|l| l.change == "changed")
            .collect();
        assert_eq!(changed.len(), 1, "{:#?}", d[0].lines);
        assert_eq!(
            changed[0].recorded.as_deref(),
            Some(r#"      "Action": "s3:GetObject","#)
        );
        assert_eq!(
            changed[0].live.as_deref(),
            Some(r#"      "Action": "s3:*","#)
        );
    }

    #[test]
    fn secrets_are_masked_by_name_and_by_hash() {
        let d = attribute_diffs(&json!({
            "master_password": {"recorded": "hunter2", "live": "hunter3"},
            "environment[0].variables.TOKEN": {"recorded": "sensitive:hmac-sha256:ab", "live": "sensitive:hmac-sha256:cd"},
            "tags.Owner": {"recorded": "alice", "live": "bob"},
        }));
        let text = serde_json::to_string(&d).unwrap();
        assert!(!text.contains("hunter"), "{text}");
        assert!(!text.contains("hmac-sha256"), "{text}");
        assert!(
            d.iter()
                .find(|a| a.path == "tags.Owner")
                .is_some_and(|a| !a.masked)
        );
        assert_eq!(d.iter().filter(|a| a.masked).count(), 2);
    }

    #[test]
    fn a_whole_resource_is_printed_with_its_secrets_masked() {
        let text = masked_pretty(&json!({
            "password": "hunter2",
            "name": "db",
            "nested": [{"token": "sensitive:hmac-sha256:ab", "port": 5432}],
        }));
        assert!(
            !text.contains("hunter2") && !text.contains("hmac-sha256"),
            "{text}"
        );
        assert!(
            text.contains("\"name\": \"db\"") && text.contains("5432"),
            "{text}"
        );
        assert_eq!(text.matches("(sensitive value)").count(), 2, "{text}");
    }

    #[test]
    fn lists_align_on_common_lines_and_mark_additions() {
        let d = attribute_diffs(
            &json!({"cidr_blocks": {"recorded": ["10.0.0.0/8"], "live": ["10.0.0.0/8", "0.0.0.0/0"]}}),
        );
        let kinds: Vec<&str> = d[0].lines.iter().map(|l| l.change).collect();
        assert_eq!(
            kinds,
            ["same", "changed", "added", "same"],
            "{:#?}",
            d[0].lines
        );
        let long: Vec<String> = (0..40).map(|i| format!("10.0.{i}.0/24")).collect();
        let mut longer = long.clone();
        longer[20] = "0.0.0.0/0".into();
        let d = attribute_diffs(&json!({"cidr_blocks": {"recorded": long, "live": longer}}));
        let kinds: Vec<&str> = d[0].lines.iter().map(|l| l.change).collect();
        assert_eq!(
            kinds,
            [
                "skipped", "same", "same", "same", "changed", "same", "same", "same", "skipped"
            ],
            "{:#?}",
            d[0].lines
        );
        assert_eq!(
            d[0].lines[0].recorded.as_deref(),
            Some("… 18 unchanged lines")
        );
        let missing = attribute_diffs(&json!({"description": {"recorded": "a", "live": null}}));
        assert_eq!(missing[0].lines[0].live.as_deref(), Some("(not set)"));
    }
}
