//! What Slack and Teams accept, as checks a test receiver runs on every
//! request.
//!
//! - Slack Web API: the parameters of `chat.postMessage` and `chat.update`
//!   from Slack's own OpenAPI (corpus `api-specs/slack/`, trimmed to chat.*):
//!   required ones present, no unknown ones, types right; and the receiver's
//!   own answers against the spec's response schemas, so it answers like Slack.
//! - Block Kit: Slack publishes no JSON schema for it, so [`block_kit_violations`]
//!   checks the shape by hand: the block types driftd uses, their required and
//!   allowed fields, text objects, Slack's limits (50 blocks, header 150,
//!   section text 3,000, 10 fields of 2,000, button text 75 and URL 3,000),
//!   and that mrkdwn carries no raw `&`, `<` or `>` (an unescaped value could
//!   mention `@channel` or forge a link) and no cut escape.
//! - Adaptive Cards: the published JSON Schema 1.5 (corpus
//!   `api-specs/adaptive-cards/`), a draft-06 schema, with the jsonschema
//!   crate set to draft 6; plus the Teams Workflows envelope around the card.
//!
//! Lengths are counted in UTF-16 units, the strictest way Slack may count.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::corpus_dir;

/// Slack's limits, as its Block Kit reference states them.
pub const MAX_BLOCKS: usize = 50;
pub const MAX_HEADER: usize = 150;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_TEXT: usize = 2000;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_ACTIONS_ELEMENTS: usize = 25;
pub const MAX_BUTTON_TEXT: usize = 75;
pub const MAX_BUTTON_URL: usize = 3000;
pub const MAX_BLOCK_ID: usize = 255;
/// Slack truncates a message's `text` beyond this.
pub const MAX_MESSAGE_TEXT: usize = 40_000;

/// Teams refuses a card payload larger than about 28 KB.
pub const TEAMS_MAX_BODY: usize = 28_000;

fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

// ---------------------------------------------------------------- Block Kit

/// Every way `message` (`{text, blocks, ...}` as posted) breaks Block Kit's
/// rules, each naming where.
pub fn block_kit_violations(message: &Value) -> Vec<String> {
    let mut v = Vec::new();
    match message.get("text") {
        Some(Value::String(text)) if !text.trim().is_empty() => {
            if units(text) > MAX_MESSAGE_TEXT {
                v.push(format!(
                    "text: {} units, over {MAX_MESSAGE_TEXT}",
                    units(text)
                ));
            }
            mrkdwn_violations("text", text, &mut v);
        }
        // Slack accepts blocks without text, but then notifications and
        // screen readers have nothing: driftd always sends it.
        _ => v.push("text: missing or empty (the notification and fallback text)".into()),
    }
    let Some(blocks) = message.get("blocks").and_then(Value::as_array) else {
        v.push("blocks: missing or not an array".into());
        return v;
    };
    if blocks.is_empty() || blocks.len() > MAX_BLOCKS {
        v.push(format!(
            "blocks: {} blocks (1 to {MAX_BLOCKS} allowed)",
            blocks.len()
        ));
    }
    let mut block_ids = BTreeSet::new();
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("blocks[{i}]");
        let Some(object) = block.as_object() else {
            v.push(format!("{at}: not an object"));
            continue;
        };
        if let Some(id) = object.get("block_id") {
            match id.as_str() {
                Some(id) if units(id) <= MAX_BLOCK_ID && block_ids.insert(id.to_string()) => {}
                _ => v.push(format!(
                    "{at}.block_id: not a unique string of at most {MAX_BLOCK_ID}"
                )),
            }
        }
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "header" => {
                allowed_keys(&at, object, &["type", "text", "block_id"], &mut v);
                match object.get("text") {
                    Some(t) => text_object(
                        &format!("{at}.text"),
                        t,
                        Some("plain_text"),
                        MAX_HEADER,
                        &mut v,
                    ),
                    None => v.push(format!("{at}: a header needs text")),
                }
            }
            "section" => {
                allowed_keys(
                    &at,
                    object,
                    &["type", "text", "fields", "accessory", "block_id"],
                    &mut v,
                );
                let text = object.get("text");
                let fields = object.get("fields");
                if text.is_none() && fields.is_none() {
                    v.push(format!("{at}: a section needs text or fields"));
                }
                if let Some(t) = text {
                    text_object(&format!("{at}.text"), t, None, MAX_SECTION_TEXT, &mut v);
                }
                if let Some(fields) = fields {
                    match fields.as_array() {
                        Some(f) if !f.is_empty() && f.len() <= MAX_FIELDS => {
                            for (j, field) in f.iter().enumerate() {
                                text_object(
                                    &format!("{at}.fields[{j}]"),
                                    field,
                                    None,
                                    MAX_FIELD_TEXT,
                                    &mut v,
                                );
                            }
                        }
                        _ => v.push(format!("{at}.fields: 1 to {MAX_FIELDS} text objects")),
                    }
                }
                if let Some(accessory) = object.get("accessory") {
                    button(&format!("{at}.accessory"), accessory, &mut v);
                }
            }
            "context" => {
                allowed_keys(&at, object, &["type", "elements", "block_id"], &mut v);
                match object.get("elements").and_then(Value::as_array) {
                    Some(e) if !e.is_empty() && e.len() <= MAX_CONTEXT_ELEMENTS => {
                        for (j, element) in e.iter().enumerate() {
                            let at = format!("{at}.elements[{j}]");
                            if element["type"] == "image" {
                                allowed_keys(
                                    &at,
                                    element.as_object().unwrap(),
                                    &["type", "image_url", "alt_text"],
                                    &mut v,
                                );
                                if !element["image_url"].is_string()
                                    || !element["alt_text"].is_string()
                                {
                                    v.push(format!("{at}: an image needs image_url and alt_text"));
                                }
                            } else {
                                text_object(&at, element, None, MAX_SECTION_TEXT, &mut v);
                            }
                        }
                    }
                    _ => v.push(format!(
                        "{at}.elements: 1 to {MAX_CONTEXT_ELEMENTS} elements"
                    )),
                }
            }
            "actions" => {
                allowed_keys(&at, object, &["type", "elements", "block_id"], &mut v);
                match object.get("elements").and_then(Value::as_array) {
                    Some(e) if !e.is_empty() && e.len() <= MAX_ACTIONS_ELEMENTS => {
                        let mut action_ids = BTreeSet::new();
                        for (j, element) in e.iter().enumerate() {
                            let at = format!("{at}.elements[{j}]");
                            button(&at, element, &mut v);
                            if let Some(id) = element["action_id"].as_str()
                                && !action_ids.insert(id)
                            {
                                v.push(format!("{at}.action_id: {id:?} twice in one block"));
                            }
                        }
                    }
                    _ => v.push(format!(
                        "{at}.elements: 1 to {MAX_ACTIONS_ELEMENTS} elements"
                    )),
                }
            }
            "divider" => allowed_keys(&at, object, &["type", "block_id"], &mut v),
            other => v.push(format!(
                "{at}.type: {other:?} is not a block type driftd uses"
            )),
        }
    }
    v
}

fn allowed_keys(at: &str, object: &Map<String, Value>, allowed: &[&str], v: &mut Vec<String>) {
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            v.push(format!("{at}.{key}: not a field of this object"));
        }
    }
}

/// A text object: `plain_text` or `mrkdwn` (or only `only`), non-empty, at
/// most `limit` units; mrkdwn escaped.
fn text_object(at: &str, t: &Value, only: Option<&str>, limit: usize, v: &mut Vec<String>) {
    let Some(object) = t.as_object() else {
        v.push(format!("{at}: not a text object"));
        return;
    };
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "plain_text" => allowed_keys(at, object, &["type", "text", "emoji"], v),
        "mrkdwn" => allowed_keys(at, object, &["type", "text", "verbatim"], v),
        other => v.push(format!("{at}.type: {other:?} is not plain_text or mrkdwn")),
    }
    if let Some(only) = only
        && kind != only
    {
        v.push(format!("{at}.type: must be {only}"));
    }
    for flag in ["emoji", "verbatim"] {
        if object.get(flag).is_some_and(|f| !f.is_boolean()) {
            v.push(format!("{at}.{flag}: not a boolean"));
        }
    }
    match object.get("text").and_then(Value::as_str) {
        Some(text) if !text.is_empty() => {
            if units(text) > limit {
                v.push(format!("{at}.text: {} units, over {limit}", units(text)));
            }
            if kind == "mrkdwn" {
                mrkdwn_violations(&format!("{at}.text"), text, v);
            }
        }
        _ => v.push(format!("{at}.text: missing or empty")),
    }
}

fn button(at: &str, b: &Value, v: &mut Vec<String>) {
    let Some(object) = b.as_object() else {
        v.push(format!("{at}: not an element"));
        return;
    };
    if object.get("type").and_then(Value::as_str) != Some("button") {
        v.push(format!("{at}.type: driftd uses only buttons"));
        return;
    }
    allowed_keys(
        at,
        object,
        &[
            "type",
            "text",
            "action_id",
            "url",
            "value",
            "style",
            "confirm",
            "accessibility_label",
        ],
        v,
    );
    match object.get("text") {
        Some(t) => text_object(
            &format!("{at}.text"),
            t,
            Some("plain_text"),
            MAX_BUTTON_TEXT,
            v,
        ),
        None => v.push(format!("{at}: a button needs text")),
    }
    let string_at_most = |key: &str, limit: usize, v: &mut Vec<String>| match object.get(key) {
        None => {}
        Some(Value::String(s)) if units(s) <= limit => {}
        Some(_) => v.push(format!("{at}.{key}: not a string of at most {limit}")),
    };
    string_at_most("action_id", 255, v);
    string_at_most("url", MAX_BUTTON_URL, v);
    string_at_most("value", 2000, v);
    if let Some(url) = object.get("url").and_then(Value::as_str)
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        v.push(format!("{at}.url: not an http(s) URL"));
    }
    if let Some(style) = object.get("style")
        && style != "primary"
        && style != "danger"
    {
        v.push(format!("{at}.style: primary or danger"));
    }
}

/// Slack's control characters in mrkdwn: `&` only as `&amp;` `&lt;` `&gt;`,
/// `<` only to open a link `<http(s)://…|label>` (no `<!…>`, `<@…>`, `<#…>`:
/// driftd mentions nobody), `>` only to close one.
pub fn mrkdwn_violations(at: &str, text: &str, v: &mut Vec<String>) {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>']) {
        let tail = &rest[i..];
        // Each control character is one byte.
        let after = &tail[1..];
        let excerpt: String = tail.chars().take(40).collect();
        match tail.as_bytes()[0] {
            b'&' => match ["&amp;", "&lt;", "&gt;"]
                .into_iter()
                .find(|e| tail.starts_with(e))
            {
                Some(entity) => rest = &tail[entity.len()..],
                None => {
                    v.push(format!("{at}: a raw or cut `&` at {excerpt:?}"));
                    rest = after;
                }
            },
            b'<' => match after.find('>').map(|end| &after[..end]) {
                Some(inner)
                    if (inner.starts_with("https://") || inner.starts_with("http://"))
                        && !inner.contains('<')
                        && inner.matches('|').count() <= 1 =>
                {
                    rest = &after[inner.len() + 1..];
                }
                _ => {
                    v.push(format!("{at}: a raw `<` (not a link) at {excerpt:?}"));
                    rest = after;
                }
            },
            _ => {
                v.push(format!("{at}: a raw `>` at {excerpt:?}"));
                rest = after;
            }
        }
    }
}

// ------------------------------------------------------------ Slack Web API

/// The trimmed Slack Web API OpenAPI (Swagger 2.0).
pub fn slack_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = corpus_dir().join("api-specs/slack/slack-web-openapi-v2-chat-trimmed.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let spec: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            spec["swagger"],
            "2.0",
            "{} is a Swagger 2.0 document",
            path.display()
        );
        spec
    })
}

/// Every way a JSON call of `method` (`chat.postMessage`, `chat.update`)
/// breaks the spec's parameters: `authorization` is the request's header,
/// `content_type` its Content-Type, `body` its JSON.
///
/// The spec describes form posts; Slack also takes the same parameters as a
/// JSON body (the operation `consumes` `application/json`), with the token in
/// `Authorization: Bearer` and `blocks`/`attachments` as JSON arrays rather
/// than the "JSON-based array ... presented as a URL-encoded string" of a form.
pub fn slack_call_violations(
    method: &str,
    authorization: Option<&str>,
    content_type: Option<&str>,
    body: &Value,
    token: &str,
) -> Vec<String> {
    let mut v = Vec::new();
    let Some(operation) = slack_spec()["paths"]
        .get(format!("/{method}"))
        .map(|p| &p["post"])
    else {
        return vec![format!("{method}: not a method of the spec")];
    };
    let consumes: Vec<&str> = operation["consumes"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !consumes.contains(&"application/json") {
        v.push(format!("{method}: the spec does not take JSON"));
    }
    match content_type {
        Some(ct) if ct.eq_ignore_ascii_case("application/json; charset=utf-8") => {}
        other => v.push(format!(
            "{method}: Content-Type {other:?}, Slack wants application/json; charset=utf-8"
        )),
    }
    let Some(body) = body.as_object() else {
        v.push(format!("{method}: the body is not a JSON object"));
        return v;
    };
    let parameters = operation["parameters"].as_array().unwrap();
    for p in parameters {
        let name = p["name"].as_str().unwrap();
        let required = p["required"] == true;
        match p["in"].as_str() {
            Some("header") if name == "token" => {
                let expected = format!("Bearer {token}");
                if authorization != Some(expected.as_str()) {
                    v.push(format!(
                        "{method}: the token must come as Authorization: Bearer (right token)"
                    ));
                }
            }
            Some("formData") => match body.get(name) {
                None if required => {
                    v.push(format!("{method}: required parameter `{name}` missing"))
                }
                None => {}
                Some(value) => {
                    let json_array = name == "blocks" || name == "attachments";
                    let right = match p["type"].as_str() {
                        Some("string") if json_array => {
                            value.is_array()
                                || value
                                    .as_str()
                                    .is_some_and(|s| serde_json::from_str::<Vec<Value>>(s).is_ok())
                        }
                        Some("string") => value.is_string(),
                        Some("boolean") => value.is_boolean(),
                        Some("number") => value.is_number(),
                        Some("integer") => value.is_i64() || value.is_u64(),
                        other => panic!("{method}.{name}: type {other:?} not handled"),
                    };
                    if !right {
                        v.push(format!("{method}: `{name}` is not a {}", p["type"]));
                    }
                }
            },
            other => panic!("{method}.{name}: parameter in {other:?} not handled"),
        }
    }
    for key in body.keys() {
        if !parameters
            .iter()
            .any(|p| p["name"] == key.as_str() && p["in"] == "formData")
        {
            v.push(format!("{method}: `{key}` is not a parameter of {method}"));
        }
    }
    v
}

/// Every way `answer` breaks the spec's response schema for `method`
/// (`"200"` for `ok: true`, `"default"` for errors): the receiver checks its
/// own answers with it.
pub fn slack_answer_violations(method: &str, answer: &Value) -> Vec<String> {
    let which = if answer["ok"] == true {
        "200"
    } else {
        "default"
    };
    let spec = slack_spec();
    let mut schema =
        spec["paths"][format!("/{method}")]["post"]["responses"][which]["schema"].clone();
    schema["definitions"] = spec["definitions"].clone();
    // Swagger 2.0 schemas are a JSON Schema draft-04 dialect.
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the {method} {which} response schema: {e}"));
    validator
        .iter_errors(answer)
        .map(|e| format!("{method} answer: {e} at {}", e.instance_path()))
        .collect()
}

// ----------------------------------------------------------- Adaptive Cards

/// The Adaptive Card 1.5 schema, compiled once. It declares draft-06
/// (`$schema`), and is compiled as draft 6; its top-level `id` is draft-04
/// spelling and is ignored under draft 6, which is harmless because every
/// `$ref` is local (`#/definitions/...`). Its extra keywords (`version`,
/// `features`) are annotations jsonschema ignores.
fn adaptive_card_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = corpus_dir().join("api-specs/adaptive-cards/adaptive-card-1.5.0.json");
        let mut schema: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // The root is `anyOf: [{allOf: [AdaptiveCard]}]`: one branch, so the
        // same as `allOf: [AdaptiveCard]`, which reports where a card is
        // wrong instead of only that no branch of the `anyOf` matched.
        let single = json!([{"allOf": [{"$ref": "#/definitions/AdaptiveCard"}]}]);
        assert_eq!(
            schema["anyOf"],
            single,
            "{}: the root this rewrite assumes",
            path.display()
        );
        let object = schema.as_object_mut().unwrap();
        object.remove("anyOf");
        object.insert(
            "allOf".into(),
            json!([{"$ref": "#/definitions/AdaptiveCard"}]),
        );
        assert_eq!(
            schema["$schema"],
            "http://json-schema.org/draft-06/schema#",
            "{}: the draft this validator is set to",
            path.display()
        );
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft6)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{} does not compile: {e}", path.display()))
    })
}

/// Every way `card` breaks the Adaptive Card 1.5 schema, plus what the
/// schema leaves open but a top-level card needs (`type`, a `version`
/// Teams renders) and `wrap: true` on every TextBlock (without it Teams
/// clips text to one line).
pub fn adaptive_card_violations(card: &Value) -> Vec<String> {
    let mut v: Vec<String> = adaptive_card_validator()
        .iter_errors(card)
        .map(|e| format!("card: {e} at {}", e.instance_path()))
        .collect();
    if card["type"] != "AdaptiveCard" {
        v.push("card.type: must be AdaptiveCard".into());
    }
    if card["version"] != "1.4" && card["version"] != "1.5" {
        v.push(format!(
            "card.version: {} (Teams Workflows render 1.4 or 1.5)",
            card["version"]
        ));
    }
    if card["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
        v.push("card.$schema: the Adaptive Card schema URL".into());
    }
    fn walk(at: &str, value: &Value, v: &mut Vec<String>) {
        match value {
            Value::Object(o) => {
                if o.get("type") == Some(&json!("TextBlock")) && o.get("wrap") != Some(&json!(true))
                {
                    v.push(format!("{at}: a TextBlock without wrap: true"));
                }
                for (k, x) in o {
                    walk(&format!("{at}.{k}"), x, v);
                }
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| walk(&format!("{at}[{i}]"), x, v)),
            _ => {}
        }
    }
    walk("card", card, &mut v);
    v
}

/// Every way a Teams Workflows webhook body breaks the envelope the flow
/// takes, or its card the schema.
pub fn teams_body_violations(body: &[u8]) -> Vec<String> {
    let mut v = Vec::new();
    if body.len() > TEAMS_MAX_BODY {
        v.push(format!(
            "body: {} bytes, over Teams' {TEAMS_MAX_BODY}",
            body.len()
        ));
    }
    let message: Value = match serde_json::from_slice(body) {
        Ok(m) => m,
        Err(e) => return vec![format!("body: not JSON: {e}")],
    };
    let Some(object) = message.as_object() else {
        return vec!["body: not an object".into()];
    };
    allowed_keys("message", object, &["type", "attachments"], &mut v);
    if message["type"] != "message" {
        v.push("message.type: must be \"message\"".into());
    }
    match message["attachments"].as_array().map(Vec::as_slice) {
        Some([attachment]) => {
            match attachment.as_object() {
                Some(a) => allowed_keys(
                    "attachment",
                    a,
                    &["contentType", "contentUrl", "content"],
                    &mut v,
                ),
                None => v.push("attachment: not an object".into()),
            }
            if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
                v.push(
                    "attachment.contentType: must be application/vnd.microsoft.card.adaptive"
                        .into(),
                );
            }
            if attachment.get("contentUrl") != Some(&Value::Null) {
                v.push("attachment.contentUrl: must be null".into());
            }
            v.extend(adaptive_card_violations(&attachment["content"]));
        }
        _ => v.push("message.attachments: exactly one card".into()),
    }
    v
}
