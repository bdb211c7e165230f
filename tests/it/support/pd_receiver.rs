//! A PagerDuty Events API v2 stand-in (`POST /v2/enqueue`) for the
//! PagerDuty sink's tests.
//!
//! Every request body is validated against the request body schema of the
//! `createV2Event` operation in PagerDuty's own OpenAPI 3 document
//! (`corpus/api-specs/pagerduty/events-v2-openapiv3.json`), plus the rules
//! PagerDuty documents but the OpenAPI does not encode (`payload` required
//! for a trigger, `dedup_key` for acknowledge and resolve, summary ≤ 1,024
//! characters, `dedup_key` ≤ 255, a 32-character routing key, 512 KB per
//! event). It answers as PagerDuty documents: 202
//! `{status: "success", message: "Event processed", dedup_key}`, 400
//! `{status: "invalid event", message: "Event object is invalid", errors}`.
//! It keeps alerts the way PagerDuty does: a trigger opens an alert or joins
//! the open one with the same `dedup_key`; acknowledge and resolve act on the
//! open alert and are dropped (still 202) when there is none.

use std::sync::OnceLock;

use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::api_receiver::{Api, Refusal, Request, json_response};

/// The integration key the receiver knows (32 characters, as PagerDuty's are).
pub const ROUTING_KEY: &str = "e93facc04764012d7bfb002500d5d1a6";

/// PagerDuty's documented limits.
pub const SUMMARY_LIMIT: usize = 1024;
pub const DEDUP_KEY_LIMIT: usize = 255;
pub const EVENT_LIMIT_BYTES: usize = 512 * 1024;

/// One alert, as PagerDuty keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub dedup_key: String,
    pub state: AlertState,
    /// Trigger events applied to it (a repeated trigger joins it).
    pub triggers: usize,
    /// The payload of the trigger that opened it.
    pub payload: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Triggered,
    Acknowledged,
    Resolved,
}

/// An event PagerDuty answered 202.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub event_action: String,
    pub dedup_key: String,
    pub body: Value,
}

#[derive(Clone)]
pub struct PagerDuty {
    routing_key: String,
    pub accepted: Vec<Accepted>,
    /// Every alert ever opened, oldest first.
    pub alerts: Vec<Alert>,
    /// Acknowledge and resolve events that found no open alert.
    pub dropped: usize,
}

impl Default for PagerDuty {
    fn default() -> PagerDuty {
        PagerDuty::with_routing_key(ROUTING_KEY)
    }
}

impl PagerDuty {
    pub fn with_routing_key(routing_key: &str) -> PagerDuty {
        PagerDuty {
            routing_key: routing_key.into(),
            accepted: Vec::new(),
            alerts: Vec::new(),
            dropped: 0,
        }
    }

    /// The accepted events as `(event_action, dedup_key)`.
    pub fn accepted_actions(&self) -> Vec<(String, String)> {
        self.accepted
            .iter()
            .map(|a| (a.event_action.clone(), a.dedup_key.clone()))
            .collect()
    }

    fn open_alert(&mut self, dedup_key: &str) -> Option<&mut Alert> {
        self.alerts
            .iter_mut()
            .find(|a| a.dedup_key == dedup_key && a.state != AlertState::Resolved)
    }
}

impl Api for PagerDuty {
    fn check(&mut self, request: &Request) -> Result<(), Box<Refusal>> {
        if request.method != Method::POST || request.path != "/v2/enqueue" {
            let problem = format!(
                "{} {}: not the enqueue endpoint",
                request.method, request.path
            );
            return Err(Refusal::new(
                vec![problem],
                json_response(StatusCode::NOT_FOUND, "{}".into()),
            ));
        }
        let mut problems = Vec::new();
        if request.header(header::CONTENT_TYPE.as_str()) != Some("application/json") {
            problems.push(format!(
                "Content-Type is {:?}, not application/json",
                request.header(header::CONTENT_TYPE.as_str())
            ));
        }
        let Ok(event) = serde_json::from_slice::<Value>(&request.body) else {
            problems.push("the body is not JSON".into());
            let body = json!({
                "status": "Unrecognized object",
                "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"],
            });
            return Err(Refusal::new(
                problems,
                json_response(StatusCode::BAD_REQUEST, body.to_string()),
            ));
        };
        problems.extend(enqueue_problems(&event, request.body.len()));
        if event["routing_key"]
            .as_str()
            .is_some_and(|k| k != self.routing_key)
        {
            problems.push("unknown routing_key".into());
        }
        if problems.is_empty() {
            return Ok(());
        }
        let body = json!({
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": problems,
        });
        Err(Refusal::new(
            problems,
            json_response(StatusCode::BAD_REQUEST, body.to_string()),
        ))
    }

    fn accept(&mut self, request: &Request) -> Response {
        let event: Value = serde_json::from_slice(&request.body).expect("checked");
        let action = event["event_action"].as_str().expect("checked").to_string();
        let dedup_key = event["dedup_key"]
            .as_str()
            .expect("the sink always sends one");
        match (action.as_str(), self.open_alert(dedup_key)) {
            ("trigger", Some(alert)) => alert.triggers += 1,
            ("trigger", None) => self.alerts.push(Alert {
                dedup_key: dedup_key.into(),
                state: AlertState::Triggered,
                triggers: 1,
                payload: event["payload"].clone(),
            }),
            ("acknowledge", Some(alert)) => alert.state = AlertState::Acknowledged,
            ("resolve", Some(alert)) => alert.state = AlertState::Resolved,
            _ => self.dropped += 1,
        }
        self.accepted.push(Accepted {
            event_action: action,
            dedup_key: dedup_key.into(),
            body: event.clone(),
        });
        let body =
            json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key});
        json_response(StatusCode::ACCEPTED, body.to_string())
    }

    fn failure_body(&self, status: u16) -> String {
        // The OpenAPI's `Error` response: `{status, message}`.
        let message = match status {
            429 => "Request Limit Exceeded",
            _ => "Internal Server Error",
        };
        json!({"status": message, "message": message}).to_string()
    }
}

/// Every way `event` (a request body of `len` bytes) breaks PagerDuty's
/// OpenAPI request schema for `POST /enqueue` or its documented rules.
pub fn enqueue_problems(event: &Value, len: usize) -> Vec<String> {
    let mut problems: Vec<String> = enqueue_validator()
        .iter_errors(event)
        .map(|e| format!("OpenAPI createV2Event: {e} at {}", e.instance_path()))
        .collect();
    if len > EVENT_LIMIT_BYTES {
        problems.push(format!("the event has {len} bytes; PagerDuty takes 512 KB"));
    }
    if let Some(key) = event["routing_key"].as_str()
        && key.chars().count() != 32
    {
        problems.push("routing_key is not 32 characters".into());
    }
    match event["dedup_key"].as_str().map(|k| k.chars().count()) {
        Some(n) if n > DEDUP_KEY_LIMIT => problems.push(format!("dedup_key has {n} characters")),
        None if event["event_action"] != "trigger" => {
            problems.push("dedup_key is required to acknowledge or resolve".into())
        }
        _ => {}
    }
    if event["event_action"] == "trigger" {
        match event["payload"]["summary"].as_str() {
            None => problems.push("a trigger needs payload (summary, source, severity)".into()),
            Some(s) if s.chars().count() > SUMMARY_LIMIT => problems.push(format!(
                "payload.summary has {} characters",
                s.chars().count()
            )),
            Some(_) => {}
        }
    }
    problems
}

/// PagerDuty's OpenAPI document.
pub fn openapi() -> Value {
    let path = super::corpus_dir().join("api-specs/pagerduty/events-v2-openapiv3.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The validator of `createV2Event`'s request body, built once.
fn enqueue_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let spec = openapi();
        let operation = &spec["paths"]["/enqueue"]["post"];
        assert_eq!(operation["operationId"], "createV2Event", "the spec moved");
        let body = &operation["requestBody"]["content"]["application/json"]["schema"];
        openapi_validator(body, &spec["components"])
    })
}

/// A validator for an OpenAPI 3.0 Schema Object `schema` whose `$ref`s point
/// into `components` (`#/components/schemas/...`).
///
/// An OpenAPI 3.0 schema is JSON Schema draft 4's vocabulary with changes,
/// so it is validated as draft 4 in a wrapper document that embeds
/// `components` at the root, where the refs expect it:
/// - `nullable: true` is turned into `"null"` added to `type` (and to `enum`),
///   which is what it means;
/// - `format: url` (not a JSON Schema format) is checked as an absolute URL;
///   any other format the validator does not know fails the build instead of
///   being skipped silently;
/// - annotations (`example`, `x-*`, `readOnly`, `writeOnly`, `deprecated`,
///   `xml`, `externalDocs`, `discriminator`) are unknown keywords to draft 4
///   and ignored, as OpenAPI 3.0 intends for a request body
///   (`discriminator` only names which `oneOf` branch applies, and draft 4
///   still requires exactly one).
pub fn openapi_validator(schema: &Value, components: &Value) -> jsonschema::Validator {
    let mut wrapper = schema.clone();
    let mut components = components.clone();
    if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
        schemas.values_mut().for_each(nullable_to_draft4);
    }
    nullable_to_draft4(&mut wrapper);
    wrapper["components"] = components;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(false)
        .with_format("url", |s| reqwest::Url::parse(s).is_ok())
        .build(&wrapper)
        .unwrap_or_else(|e| panic!("the OpenAPI schema does not build as draft 4: {e}"))
}

/// Rewrites OpenAPI 3.0's `nullable` in `schema` and every schema below it
/// (walking only the places that hold schemas, so a property named
/// `nullable` is left alone).
fn nullable_to_draft4(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.remove("nullable") == Some(Value::Bool(true)) {
        if let Some(Value::String(t)) = object.get("type").cloned() {
            object.insert("type".into(), json!([t, "null"]));
        }
        if let Some(Value::Array(values)) = object.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = object.get_mut(key) {
            nullable_to_draft4(sub);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = object.get_mut(key) {
            subs.iter_mut().for_each(nullable_to_draft4);
        }
    }
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties.values_mut().for_each(nullable_to_draft4);
    }
}
