//! A receiver of driftd's generic webhook, written the way a user's would
//! be, from what `schema/notification.schema.json` and the headers promise:
//! it validates every body against the schema, verifies
//! `X-Driftd-Signature-256` (HMAC-SHA256 over the raw body with the shared
//! secret) with its own HMAC, checks that `X-Driftd-Event` and
//! `X-Driftd-Delivery` agree with the body, and drops a delivery whose id
//! it has already taken (answering 200 again, as a receiver should, so the
//! sender stops).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::api_receiver::{Api, Refusal, Request, json_response};

#[derive(Clone)]
pub struct Webhook {
    /// The shared secret; `None`: signatures are not checked.
    secret: Option<String>,
    /// Every delivery taken, once each, in order.
    pub deliveries: Vec<Value>,
    seen: HashSet<String>,
    /// Deliveries received again after they were taken.
    pub repeats: usize,
}

impl Webhook {
    pub fn new(secret: Option<&str>) -> Webhook {
        Webhook {
            secret: secret.map(str::to_string),
            deliveries: Vec::new(),
            seen: HashSet::new(),
            repeats: 0,
        }
    }

    /// The delivery ids taken, in order.
    pub fn delivery_ids(&self) -> Vec<String> {
        self.deliveries
            .iter()
            .map(|d| d["delivery_id"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Api for Webhook {
    fn check(&mut self, request: &Request) -> Result<(), Box<Refusal>> {
        let refuse = |status: StatusCode, problems: Vec<String>| {
            let body = json!({"error": problems.join("; ")}).to_string();
            Err(Refusal::new(problems, json_response(status, body)))
        };
        if request.method != Method::POST {
            return refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                vec![format!("method {}", request.method)],
            );
        }
        // The signature first: nothing unauthenticated is looked at further.
        if let Some(secret) = &self.secret
            && let Err(problem) = verify_signature(
                secret,
                &request.body,
                request.header("X-Driftd-Signature-256"),
            )
        {
            return refuse(StatusCode::UNAUTHORIZED, vec![problem]);
        }
        let mut problems = Vec::new();
        if request.header(header::CONTENT_TYPE.as_str()) != Some("application/json") {
            problems.push("Content-Type is not application/json".to_string());
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(e) => {
                problems.push(format!("the body is not JSON: {e}"));
                return refuse(StatusCode::BAD_REQUEST, problems);
            }
        };
        problems.extend(notification_schema_errors(&body));
        let headers = [
            ("X-Driftd-Event", "event"),
            ("X-Driftd-Delivery", "delivery_id"),
        ];
        for (name, field) in headers {
            match request.header(name) {
                None => problems.push(format!("no {name} header")),
                Some(value) if body[field] != value => problems.push(format!(
                    "{name} is {value:?}, the body's {field} is {}",
                    body[field]
                )),
                Some(_) => {}
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            refuse(StatusCode::BAD_REQUEST, problems)
        }
    }

    fn accept(&mut self, request: &Request) -> Response {
        let body: Value = serde_json::from_slice(&request.body).expect("checked");
        let id = body["delivery_id"].as_str().expect("checked").to_string();
        if self.seen.insert(id) {
            self.deliveries.push(body);
            json_response(StatusCode::OK, r#"{"ok":true}"#.into())
        } else {
            self.repeats += 1;
            json_response(StatusCode::OK, r#"{"ok":true,"duplicate":true}"#.into())
        }
    }
}

/// Checks `X-Driftd-Signature-256: sha256=<hex>` over `body`, in constant
/// time, with an HMAC of this receiver's own (not the sink's function).
pub fn verify_signature(secret: &str, body: &[u8], header: Option<&str>) -> Result<(), String> {
    let header = header.ok_or("no X-Driftd-Signature-256 header")?;
    let hex_digest = header
        .strip_prefix("sha256=")
        .ok_or("X-Driftd-Signature-256 does not start with sha256=")?;
    let digest = hex::decode(hex_digest).map_err(|_| "X-Driftd-Signature-256 is not hex")?;
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&digest)
        .map_err(|_| "X-Driftd-Signature-256 does not match the body and the shared secret".into())
}

/// Every violation of `schema/notification.schema.json` in `body`.
pub fn notification_schema_errors(body: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/notification.schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .should_ignore_unknown_formats(false)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{} is not a valid JSON Schema: {e}", path.display()))
    });
    validator
        .iter_errors(body)
        .map(|e| format!("notification schema: {e} at {}", e.instance_path()))
        .collect()
}
