//! Local receivers that answer like Slack (an incoming webhook, or the Web
//! API's `chat.postMessage` and `chat.update`) and like a Teams Workflows
//! webhook, on a free 127.0.0.1 port.
//!
//! Every request is checked against the real API ([`super::chat_schemas`]):
//! one that breaks it is refused the way the service refuses it (Slack's
//! `invalid_blocks`, a 400 from the flow) and recorded as a violation. A
//! test can make the receiver fail the next requests (500, or 429 with
//! `Retry-After`) or refuse everything, and reads back what it got and what
//! it accepted.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{Request, Response, StatusCode, header};
use driftd::notify::{Action, Delivery, Message, MessageKind, Receipt, SendError, Sink};
use serde_json::{Value, json};

use super::notify::{digest_message, failure_message, finding_message};

use super::chat_schemas::{
    block_kit_violations, slack_answer_violations, slack_call_violations, teams_body_violations,
};

/// The channel id the Web API answers with.
pub const SLACK_CHANNEL_ID: &str = "C0DRIFTD01";
/// The secret part of a webhook URL, which must never leave in a body, an
/// error or a receipt.
pub const WEBHOOK_SECRET: &str = "Zq8wWebhookSecret0x5f3759df";
/// A bot token the Web API receiver takes.
pub const BOT_TOKEN: &str = "xoxb-1111-2222-BotTokenSecret7d1c";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    SlackWebhook,
    SlackBot,
    TeamsWorkflow,
}

/// How the receiver fails a request that was otherwise fine.
#[derive(Debug, Clone)]
pub enum Failure {
    /// That status, with the service's body.
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    TooMany(u64),
    /// The Web API's HTTP 200 with `{"ok": false, "error": ...}`.
    SlackError(&'static str),
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path_and_query: String,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

/// A request the receiver accepted: the method (`webhook`, `chat.update`,
/// ...) and the JSON body.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub method: String,
    pub body: Value,
}

#[derive(Debug)]
struct Receiver {
    api: Api,
    failures: VecDeque<Failure>,
    /// Answer every (valid) request with this, for good.
    refuse: Option<Failure>,
    seen: Vec<Seen>,
    accepted: Vec<Accepted>,
    violations: Vec<String>,
    /// The Web API's messages by `ts`, as last posted or updated.
    messages: BTreeMap<String, Value>,
    next_ts: u64,
}

pub struct ChatReceiver {
    address: SocketAddr,
    state: Arc<Mutex<Receiver>>,
    task: tokio::task::JoinHandle<()>,
}

impl ChatReceiver {
    pub async fn start(api: Api) -> ChatReceiver {
        let state = Arc::new(Mutex::new(Receiver {
            api,
            failures: VecDeque::new(),
            refuse: None,
            seen: Vec::new(),
            accepted: Vec::new(),
            violations: Vec::new(),
            messages: BTreeMap::new(),
            next_ts: 1_641_903_300_000_100,
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("chat receiver");
        });
        ChatReceiver {
            address,
            state,
            task,
        }
    }

    /// The webhook URL, with its secret (Slack's in the path, Teams' `sig`).
    pub fn webhook_url(&self) -> String {
        match self.lock().api {
            Api::TeamsWorkflow => format!(
                "http://{}/workflows/d1f7/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={WEBHOOK_SECRET}",
                self.address
            ),
            _ => format!(
                "http://{}/services/T0DRIFTD/B0DRIFTD/{WEBHOOK_SECRET}",
                self.address
            ),
        }
    }

    /// The Web API base (`api_url`).
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.address)
    }

    /// Fails the next requests that are otherwise fine, in this order.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = Failure>) {
        self.lock().failures.extend(failures);
    }

    /// Refuses every request from now on.
    pub fn refuse(&self, failure: Failure) {
        self.lock().refuse = Some(failure);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.lock().accepted.clone()
    }

    /// Every way a request broke the API, so far.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// The Web API's message `ts` as it stands now.
    pub fn message(&self, ts: &str) -> Option<Value> {
        self.lock().messages.get(ts).cloned()
    }

    pub fn message_count(&self) -> usize {
        self.lock().messages.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Receiver> {
        self.state.lock().unwrap()
    }
}

impl Drop for ChatReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(state): State<Arc<Mutex<Receiver>>>,
    request: Request<Body>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = text(header::AUTHORIZATION);
    let content_type = text(header::CONTENT_TYPE);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let mut r = state.lock().unwrap();
    r.seen.push(Seen {
        path_and_query: path_and_query.clone(),
        authorization: authorization.clone(),
        body: body.clone(),
    });
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let api = r.api;
    // Where it went and whether it may come in at all.
    let method = match api {
        Api::SlackWebhook
            if parts.uri.path() == format!("/services/T0DRIFTD/B0DRIFTD/{WEBHOOK_SECRET}") =>
        {
            "webhook"
        }
        Api::SlackWebhook => return text_answer(404, "no_service"),
        Api::TeamsWorkflow
            if parts
                .uri
                .query()
                .is_some_and(|q| q.ends_with(&format!("&sig={WEBHOOK_SECRET}"))) =>
        {
            "workflow"
        }
        Api::TeamsWorkflow => {
            return text_answer(
                401,
                r#"{"error":{"code":"DirectApiAuthorizationRequired"}}"#,
            );
        }
        Api::SlackBot => match parts.uri.path() {
            "/api/chat.postMessage" => "chat.postMessage",
            "/api/chat.update" => "chat.update",
            _ => return json_answer(404, json!({"ok": false, "error": "unknown_method"})),
        },
    };
    if api == Api::SlackBot
        && authorization.as_deref() != Some(format!("Bearer {BOT_TOKEN}").as_str())
    {
        let error = if authorization.is_some() {
            "invalid_auth"
        } else {
            "not_authed"
        };
        return json_answer(200, json!({"ok": false, "error": error}));
    }
    if parts.method != axum::http::Method::POST {
        r.violations
            .push(format!("{method}: {} instead of POST", parts.method));
        return text_answer(405, "method_not_allowed");
    }
    // Is it what the API takes?
    let violations = match (api, &json) {
        (Api::TeamsWorkflow, _) => teams_body_violations(&body),
        (_, None) => vec![format!("{method}: the body is not JSON")],
        (Api::SlackWebhook, Some(message)) => {
            let mut v = Vec::new();
            if content_type
                .as_deref()
                .is_none_or(|ct| !ct.starts_with("application/json"))
            {
                v.push(format!("webhook: Content-Type {content_type:?}, not JSON"));
            }
            let allowed = [
                "text",
                "blocks",
                "attachments",
                "thread_ts",
                "mrkdwn",
                "unfurl_links",
                "unfurl_media",
            ];
            for key in message
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_else(Vec::new)
            {
                if !allowed.contains(&key.as_str()) {
                    v.push(format!(
                        "webhook: `{key}` is not a field of an incoming webhook message"
                    ));
                }
            }
            v.extend(block_kit_violations(message));
            v
        }
        (Api::SlackBot, Some(call)) => {
            let mut v = slack_call_violations(
                method,
                authorization.as_deref(),
                content_type.as_deref(),
                call,
                BOT_TOKEN,
            );
            v.extend(block_kit_violations(call));
            v
        }
    };
    if !violations.is_empty() {
        r.violations.extend(violations);
        return match api {
            Api::SlackWebhook => text_answer(400, "invalid_blocks"),
            Api::SlackBot => json_answer(200, json!({"ok": false, "error": "invalid_blocks"})),
            Api::TeamsWorkflow => text_answer(400, r#"{"error":{"code":"InvalidRequestContent"}}"#),
        };
    }
    let failure = r.refuse.clone().or_else(|| r.failures.pop_front());
    if let Some(failure) = failure {
        return fail(api, failure);
    }
    let call = json.unwrap_or(Value::Null);
    r.accepted.push(Accepted {
        method: method.into(),
        body: call.clone(),
    });
    match method {
        "webhook" => text_answer(200, "ok"),
        "workflow" => text_answer(202, ""),
        "chat.postMessage" => {
            r.next_ts += 1;
            let ts = format!("{}.{:06}", r.next_ts / 1_000_000, r.next_ts % 1_000_000);
            let message = bot_message(&ts, &call);
            r.messages.insert(ts.clone(), message.clone());
            slack_answer(
                &mut r.violations,
                method,
                json!({"ok": true, "channel": SLACK_CHANNEL_ID, "ts": ts, "message": message}),
            )
        }
        _ => {
            let ts = call["ts"].as_str().unwrap_or_default().to_string();
            if call["channel"] != SLACK_CHANNEL_ID || !r.messages.contains_key(&ts) {
                r.accepted.pop();
                return slack_answer(
                    &mut r.violations,
                    method,
                    json!({"ok": false, "error": "message_not_found"}),
                );
            }
            let message = bot_message(&ts, &call);
            r.messages.insert(ts.clone(), message.clone());
            // The spec types chat.update's `message.blocks` as an object
            // (Slack answers an array), so the answer leaves them out.
            let answered = json!({"text": message["text"], "type": "message", "ts": ts});
            slack_answer(
                &mut r.violations,
                method,
                json!({"ok": true, "channel": SLACK_CHANNEL_ID, "ts": ts, "text": call["text"], "message": answered}),
            )
        }
    }
}

/// The message as `chat.postMessage` returns it.
fn bot_message(ts: &str, call: &Value) -> Value {
    json!({
        "type": "message",
        "subtype": "bot_message",
        "text": call["text"],
        "ts": ts,
        "bot_id": "B0DRIFTD01",
        "blocks": call["blocks"],
    })
}

fn fail(api: Api, failure: Failure) -> Response<Body> {
    match (api, failure) {
        (Api::SlackBot, Failure::SlackError(error)) => {
            json_answer(200, json!({"ok": false, "error": error}))
        }
        (_, Failure::SlackError(error)) => text_answer(400, error),
        (Api::SlackBot, Failure::TooMany(seconds)) => Response::builder()
            .status(429)
            .header(header::RETRY_AFTER, seconds.to_string())
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(Body::from(
                json!({"ok": false, "error": "ratelimited"}).to_string(),
            ))
            .unwrap(),
        (_, Failure::TooMany(seconds)) => Response::builder()
            .status(429)
            .header(header::RETRY_AFTER, seconds.to_string())
            .body(Body::from("rate_limited"))
            .unwrap(),
        (Api::SlackBot, Failure::Status(status)) => {
            json_answer(status, json!({"ok": false, "error": "internal_error"}))
        }
        (Api::SlackWebhook, Failure::Status(status)) => text_answer(
            status,
            match status {
                404 => "no_service",
                410 => "channel_is_archived",
                403 => "action_prohibited",
                400 => "invalid_payload",
                _ => "rollup_error",
            },
        ),
        (Api::TeamsWorkflow, Failure::Status(status)) => text_answer(
            status,
            r#"{"error":{"code":"WorkflowTriggerFailed","message":"the flow failed"}}"#,
        ),
    }
}

/// A Web API answer, checked against the spec's response schema first (a
/// receiver that answers unlike Slack is a violation too).
fn slack_answer(violations: &mut Vec<String>, method: &str, answer: Value) -> Response<Body> {
    for v in slack_answer_violations(method, &answer) {
        violations.push(format!("the receiver answers unlike Slack: {v}"));
    }
    json_answer(200, answer)
}

fn json_answer(status: u16, answer: Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(answer.to_string()))
        .unwrap()
}

fn text_answer(status: u16, text: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(text.to_string()))
        .unwrap()
}

/// Plays the outbox worker for one delivery: sends until the receiver
/// accepts (never more than 5 attempts, without waiting: honouring the
/// delay is the worker's job). Returns the receipt and the errors on the way.
pub async fn deliver(sink: &dyn Sink, delivery: &Delivery<'_>) -> (Receipt, Vec<SendError>) {
    let mut errors = Vec::new();
    loop {
        match sink.send(delivery).await {
            Ok(receipt) => return (receipt, errors),
            Err(e) => {
                assert_ne!(
                    e.retry,
                    driftd::notify::Retry::Never,
                    "a final refusal: {e}"
                );
                errors.push(e);
                assert!(
                    errors.len() < 5,
                    "still failing after 5 attempts: {errors:?}"
                );
            }
        }
    }
}

/// A finding's life in a channel: told, acknowledged, resolved.
pub fn lifecycle() -> [(Action, Message); 3] {
    [
        (Action::Notify, finding_message(MessageKind::New)),
        (Action::Acknowledge, acted_on(MessageKind::Acknowledged)),
        (Action::Resolve, finding_message(MessageKind::Resolved)),
    ]
}

/// Every kind of message with the action it goes with; a digest of 10,000
/// findings among them.
pub fn all_kinds() -> Vec<(Action, Message)> {
    vec![
        (Action::Notify, finding_message(MessageKind::New)),
        (Action::Notify, finding_message(MessageKind::Escalated)),
        (Action::Acknowledge, acted_on(MessageKind::Acknowledged)),
        (Action::Resolve, acted_on(MessageKind::Accepted)),
        (Action::Resolve, finding_message(MessageKind::Resolved)),
        (Action::Notify, digest_message(10_000)),
        (Action::Notify, failure_message()),
    ]
}

/// The finding message after someone acted on it, with who and why (the
/// reason holds Slack's control characters).
pub fn acted_on(kind: MessageKind) -> Message {
    let mut m = finding_message(kind);
    let s = m.subject.as_mut().unwrap();
    s.state = kind.as_str().into();
    s.state_by = Some("alice@example.com".into());
    s.state_reason = Some("hotfix <INC-42>, codify it".into());
    m
}
