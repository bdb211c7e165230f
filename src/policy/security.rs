//! Security-relevant content in a drift (pure): what a tier rule's `security`
//! condition matches. Each signal is about what the drift *brought*: a world-
//! open rule the state does not have, a wildcard the recorded policy does not
//! have, encryption or versioning that the state has on and the cloud off.
//! A signal already in the state is not the drift's doing and is not raised.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One security-relevant fact about a drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// `open_to_world`, `wildcard_action`, `wildcard_principal`,
    /// `encryption_off`, `versioning_off`, `logging_stopped`, `public_access`.
    pub kind: String,
    /// In words, for `findings show` and messages.
    pub detail: String,
}

fn signal(kind: &str, detail: String) -> Signal {
    Signal {
        kind: kind.into(),
        detail,
    }
}

/// The drift of one resource, as the security check needs it.
pub struct Drift<'a> {
    pub resource_type: &'a str,
    /// `changed`, `unmanaged` or `missing`.
    pub kind: &'a str,
    /// What the state records (`None`: unmanaged).
    pub desired: Option<&'a Value>,
    /// What the cloud has (`None`: missing).
    pub live: Option<&'a Value>,
}

/// Every signal the drift raises, in a stable order, without repeats.
pub fn signals(d: &Drift<'_>) -> Vec<Signal> {
    let mut out = Vec::new();
    let empty = Value::Null;
    let desired = d.desired.unwrap_or(&empty);
    let live = d.live.unwrap_or(&empty);

    // Network rules open to the world.
    let before = world_open_rules(d.resource_type, desired);
    for rule in world_open_rules(d.resource_type, live) {
        if !before.contains(&rule) {
            out.push(signal("open_to_world", rule));
        }
    }

    // Policies: wildcards the recorded policy does not have.
    let (actions_before, principals_before) = wildcards(desired);
    let (actions, principals) = wildcards(live);
    if actions && !actions_before {
        out.push(signal(
            "wildcard_action",
            "a policy allows \"Action\": \"*\"".into(),
        ));
    }
    if principals && !principals_before {
        out.push(signal(
            "wildcard_principal",
            "a policy allows \"Principal\": \"*\"".into(),
        ));
    }

    let t = d.resource_type;
    let missing = d.kind == "missing";
    // Whole resources whose absence turns a protection off.
    let protection = match t {
        "aws_s3_bucket_server_side_encryption_configuration" => Some("encryption_off"),
        "aws_s3_bucket_versioning" => None, // by status below
        "aws_s3_bucket_public_access_block" => Some("public_access"),
        "aws_s3_bucket_logging" | "aws_flow_log" | "aws_cloudtrail" => Some("logging_stopped"),
        _ => None,
    };
    if let (true, Some(kind)) = (missing, protection) {
        out.push(signal(kind, format!("{t} was deleted")));
    }

    // Settings switched off.
    for (path, kind) in [
        ("encrypted", "encryption_off"),
        ("storage_encrypted", "encryption_off"),
        ("enable_key_rotation", "encryption_off"),
        ("is_enabled", "encryption_off"),
        ("enable_logging", "logging_stopped"),
    ] {
        if d.kind == "changed" && truthy(desired.get(path)) && falsy(live.get(path)) {
            out.push(signal(kind, format!("{path} turned off")));
        }
    }
    if t == "aws_s3_bucket_versioning" {
        let status = |v: &Value| {
            v.pointer("/versioning_configuration/0/status")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let was_on = status(desired).as_deref() == Some("Enabled");
        if was_on && (missing || status(live).as_deref() != Some("Enabled")) {
            out.push(signal(
                "versioning_off",
                format!(
                    "bucket versioning {}",
                    status(live).map_or("removed".into(), |s| format!("is {s}"))
                ),
            ));
        }
    }
    if t == "aws_s3_bucket_public_access_block" && d.kind == "changed" {
        for flag in [
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ] {
            if truthy(desired.get(flag)) && falsy(live.get(flag)) {
                out.push(signal("public_access", format!("{flag} turned off")));
            }
        }
    }
    if d.kind != "missing"
        && falsy(desired.get("publicly_accessible"))
        && truthy(live.get("publicly_accessible"))
    {
        out.push(signal(
            "public_access",
            "publicly_accessible turned on".into(),
        ));
    }
    out.dedup();
    out
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || matches!(v, Some(Value::String(s)) if s == "true")
}

fn falsy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(false)) | Some(Value::Null) | None)
        || matches!(v, Some(Value::String(s)) if s == "false" || s.is_empty())
}

const WORLD: [&str; 2] = ["0.0.0.0/0", "::/0"];

/// World-open inbound rules of a security group or rule resource, described.
fn world_open_rules(resource_type: &str, attrs: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let describe = |rule: &Value, cidr: &str| {
        let from = rule.get("from_port").and_then(Value::as_i64).unwrap_or(0);
        let to = rule.get("to_port").and_then(Value::as_i64).unwrap_or(from);
        let protocol = rule
            .get("protocol")
            .or_else(|| rule.get("ip_protocol"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let ports = match (protocol, from, to) {
            ("-1", _, _) | ("all", _, _) => "all ports".to_string(),
            (_, f, t) if f == t => format!("{f}/{protocol}"),
            (_, f, t) => format!("{f}-{t}/{protocol}"),
        };
        format!("ingress {ports} from {cidr}")
    };
    match resource_type {
        "aws_security_group" => {
            for rule in attrs
                .get("ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for key in ["cidr_blocks", "ipv6_cidr_blocks"] {
                    for cidr in rule
                        .get(key)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(c) = cidr.as_str().filter(|c| WORLD.contains(c)) {
                            out.push(describe(rule, c));
                        }
                    }
                }
            }
        }
        "aws_security_group_rule"
            if attrs.get("type").and_then(Value::as_str) == Some("ingress") =>
        {
            for key in ["cidr_blocks", "ipv6_cidr_blocks"] {
                for cidr in attrs
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(c) = cidr.as_str().filter(|c| WORLD.contains(c)) {
                        out.push(describe(attrs, c));
                    }
                }
            }
        }
        "aws_vpc_security_group_ingress_rule" => {
            for key in ["cidr_ipv4", "cidr_ipv6"] {
                if let Some(c) = attrs
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|c| WORLD.contains(c))
                {
                    out.push(describe(attrs, c));
                }
            }
        }
        "aws_network_acl" | "aws_default_network_acl" => {
            for rule in attrs
                .get("ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let allow = rule.get("action").and_then(Value::as_str) == Some("allow");
                for key in ["cidr_block", "ipv6_cidr_block"] {
                    if let Some(c) = rule
                        .get(key)
                        .and_then(Value::as_str)
                        .filter(|c| WORLD.contains(c))
                        && allow
                    {
                        out.push(describe(rule, c));
                    }
                }
            }
        }
        _ => {}
    }
    out.sort();
    out.dedup();
    out
}

/// Whether any policy document in `attrs` allows every action, or every principal.
fn wildcards(attrs: &Value) -> (bool, bool) {
    let mut actions = false;
    let mut principals = false;
    let mut visit = |doc: &Value| {
        let statements = match doc.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(s @ Value::Object(_)) => vec![s.clone()],
            _ => return,
        };
        for s in &statements {
            if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            let any = |v: Option<&Value>, wild: &dyn Fn(&str) -> bool| match v {
                Some(Value::String(a)) => wild(a),
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str().is_some_and(wild)),
                _ => false,
            };
            if any(s.get("Action"), &|a| a == "*" || a == "*:*") {
                actions = true;
            }
            match s.get("Principal") {
                Some(Value::String(p)) if p == "*" => principals = true,
                Some(Value::Object(o)) if o.values().any(|v| any(Some(v), &|p| p == "*")) => {
                    principals = true;
                }
                _ => {}
            }
        }
    };
    for_each_policy(attrs, &mut visit);
    (actions, principals)
}

/// Calls `f` on every JSON policy document among the attributes: string
/// attributes named `policy` or `*_policy` that parse as JSON objects, at any depth.
fn for_each_policy(v: &Value, f: &mut dyn FnMut(&Value)) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if let (true, Value::String(text)) = (k == "policy" || k.ends_with("_policy"), v)
                    && let Ok(doc @ Value::Object(_)) = serde_json::from_str::<Value>(text)
                {
                    f(&doc);
                } else {
                    for_each_policy(v, f);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| for_each_policy(v, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinds(d: &Drift<'_>) -> Vec<String> {
        signals(d).into_iter().map(|s| s.kind).collect()
    }

    #[test]
    fn a_new_world_open_ingress_rule_is_a_signal_an_old_one_is_not() {
        let before = json!({"ingress": [{"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}]});
        let after = json!({"ingress": [
            {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]},
            {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": [], "ipv6_cidr_blocks": ["::/0"]}
        ]});
        let s = signals(&Drift {
            resource_type: "aws_security_group",
            kind: "changed",
            desired: Some(&before),
            live: Some(&after),
        });
        assert_eq!(
            s,
            vec![signal("open_to_world", "ingress 22/tcp from ::/0".into())]
        );
        // The same group unchanged: nothing.
        assert!(
            signals(&Drift {
                resource_type: "aws_security_group",
                kind: "changed",
                desired: Some(&before),
                live: Some(&before)
            })
            .is_empty()
        );
        // An unmanaged world-open rule resource.
        let rule = json!({"cidr_ipv4": "0.0.0.0/0", "ip_protocol": "-1"});
        assert_eq!(
            signals(&Drift {
                resource_type: "aws_vpc_security_group_ingress_rule",
                kind: "unmanaged",
                desired: None,
                live: Some(&rule)
            })[0]
                .detail,
            "ingress all ports from 0.0.0.0/0"
        );
    }

    #[test]
    fn wildcards_in_policy_documents() {
        let before = json!({"policy": r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#});
        let after = json!({"policy": r#"{"Statement":{"Effect":"Allow","Action":["*"],"Principal":{"AWS":"*"},"Resource":"*"}}"#});
        let d = Drift {
            resource_type: "aws_s3_bucket_policy",
            kind: "changed",
            desired: Some(&before),
            live: Some(&after),
        };
        assert_eq!(kinds(&d), ["wildcard_action", "wildcard_principal"]);
        // A Deny with a wildcard is not an opening.
        let deny = json!({"assume_role_policy": r#"{"Statement":[{"Effect":"Deny","Action":"*","Principal":"*"}]}"#});
        assert!(
            kinds(&Drift {
                resource_type: "aws_iam_role",
                kind: "changed",
                desired: Some(&before),
                live: Some(&deny)
            })
            .is_empty()
        );
    }

    #[test]
    fn protections_turned_off() {
        let on = json!({"versioning_configuration": [{"status": "Enabled"}]});
        let off = json!({"versioning_configuration": [{"status": "Suspended"}]});
        let d = Drift {
            resource_type: "aws_s3_bucket_versioning",
            kind: "changed",
            desired: Some(&on),
            live: Some(&off),
        };
        assert_eq!(signals(&d)[0].detail, "bucket versioning is Suspended");
        let d = Drift {
            resource_type: "aws_s3_bucket_server_side_encryption_configuration",
            kind: "missing",
            desired: Some(&on),
            live: None,
        };
        assert_eq!(kinds(&d), ["encryption_off"]);
        let d = Drift {
            resource_type: "aws_db_instance",
            kind: "changed",
            desired: Some(&json!({"publicly_accessible": false, "storage_encrypted": true})),
            live: Some(&json!({"publicly_accessible": true, "storage_encrypted": true})),
        };
        assert_eq!(kinds(&d), ["public_access"]);
        let d = Drift {
            resource_type: "aws_kms_key",
            kind: "changed",
            desired: Some(&json!({"enable_key_rotation": true})),
            live: Some(&json!({"enable_key_rotation": false})),
        };
        assert_eq!(kinds(&d), ["encryption_off"]);
    }
}
