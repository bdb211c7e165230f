//! The generic webhook sink against a receiver written from its contract:
//! `schema/notification.schema.json`, the signature and the headers
//! (support/webhook_receiver.rs).

use std::time::Duration;

use driftd::config::{ChannelConfig, ChannelKind, SecretOrPlain, SecretRef};
use driftd::notify::sinks::webhook::{Body, SCHEMA_VERSION};
use driftd::notify::{Action, Message, MessageKind, Retry, SendError, Sink};
use serde_json::{Value, json};

use crate::support::api_receiver::{Failure, Receiver};
use crate::support::notify::{SECRET_HASH, digest_message, finding_message};
use crate::support::sink_worker::{
    self, assert_issue_script_errors, every_kind, nobody_listening, send_once, send_refused,
};
use crate::support::webhook_receiver::{Webhook, notification_schema_errors, verify_signature};

const SECRET: &str = "whsec-3c5e7a9b1d2f4e6a8c0b";

fn channel(url: SecretOrPlain, secret: Option<SecretRef>) -> ChannelConfig {
    ChannelConfig {
        name: "audit-hook".into(),
        kind: ChannelKind::Webhook { url, secret },
        rate_per_second: 10.0,
        timeout: Duration::from_secs(10),
    }
}

/// A signed sink posting to `url`; the secret is read from a file in the
/// returned directory.
fn signed_sink(url: &str, secret: &str) -> (Box<dyn Sink>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webhook-secret");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let channel = channel(
        SecretOrPlain::Plain(url.into()),
        Some(SecretRef::File(file)),
    );
    let sink = driftd::notify::sinks::build(&channel).expect("the sink builds");
    assert_eq!(sink.kind(), "webhook");
    (sink, dir)
}

/// Delivers until the receiver confirms, as the outbox worker would: the
/// errors on the way.
async fn deliver(sink: &dyn Sink, id: &str, action: Action, message: &Message) -> Vec<SendError> {
    let (receipt, errors) = sink_worker::deliver(sink, id, action, message).await;
    assert_eq!(receipt, json!({"status": 200}));
    errors
}

/// Sets an environment variable for this test process. Each test uses its
/// own variable names, so no test reads a variable another one writes.
fn set_env(name: &str, value: &str) {
    // SAFETY: Rust's own env functions are serialised by std's lock; this
    // test calls no C code that reads the environment concurrently (loopback
    // IP addresses only, so no resolver).
    unsafe { std::env::set_var(name, value) };
}

#[tokio::test]
async fn a_signed_delivery_is_taken_once_after_a_500_and_a_429() {
    let receiver = Receiver::start(Webhook::new(Some(SECRET)), Failure::issue_script()).await;
    let (sink, _dir) = signed_sink(&receiver.url("/hooks/driftd"), SECRET);

    let new = finding_message(MessageKind::New);
    let errors = deliver(&*sink, "outbox-1", Action::Notify, &new).await;
    assert_issue_script_errors(&errors);
    assert!(
        errors[1].detail.starts_with("webhook audit-hook: HTTP 429"),
        "{}",
        errors[1].detail
    );

    // The outbox sends it again (it crashed before recording the answer):
    // the receiver recognises the delivery id and takes it only once.
    assert!(
        deliver(&*sink, "outbox-1", Action::Notify, &new)
            .await
            .is_empty()
    );
    let resolved = finding_message(MessageKind::Resolved);
    assert!(
        deliver(&*sink, "outbox-2", Action::Resolve, &resolved)
            .await
            .is_empty()
    );

    receiver.assert_no_problems();
    assert_eq!(receiver.failures_left(), 0);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 5, "2 refused, 3 taken (one a repeat)");
    // A retry sends the very same bytes and signature.
    for i in 1..=3 {
        assert_eq!(requests[i].body, requests[0].body, "request {i}");
        assert_eq!(
            requests[i].header("X-Driftd-Signature-256"),
            requests[0].header("X-Driftd-Signature-256")
        );
    }
    assert_eq!(requests[0].header("X-Driftd-Event"), Some("finding.new"));
    assert_eq!(
        requests[4].header("X-Driftd-Event"),
        Some("finding.resolved")
    );
    assert_eq!(requests[4].header("X-Driftd-Delivery"), Some("outbox-2"));

    let hook = receiver.api();
    assert_eq!(hook.delivery_ids(), ["outbox-1", "outbox-2"]);
    assert_eq!(hook.repeats, 1);
    let first = &hook.deliveries[0];
    assert_eq!(first["schema_version"], SCHEMA_VERSION);
    assert_eq!(first["action"], "notify");
    assert_eq!(hook.deliveries[1]["action"], "resolve");
    // The message arrives whole: it reads back into the same Message.
    let back: Message = serde_json::from_value(first["message"].clone()).unwrap();
    assert_eq!(back, new);
}

#[tokio::test]
async fn every_message_kind_follows_the_schema_and_no_secret_is_sent() {
    let receiver = Receiver::start(Webhook::new(Some(SECRET)), Vec::new()).await;
    let (sink, _dir) = signed_sink(&receiver.url("/hooks/driftd"), SECRET);
    let cases = every_kind();
    for (i, (message, action)) in cases.iter().enumerate() {
        let errors = deliver(&*sink, &format!("outbox-{i}"), *action, message).await;
        assert!(errors.is_empty(), "{:?}: {errors:?}", message.kind);
    }
    receiver.assert_no_problems();
    let hook = receiver.api();
    let events: Vec<&str> = hook
        .deliveries
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    let expected = [
        "finding.new",
        "finding.escalated",
        "finding.acknowledged",
        "finding.accepted",
        "finding.resolved",
        "digest",
        "channel.failed",
    ];
    assert_eq!(events, expected);
    assert_eq!(
        hook.deliveries[5]["message"]["digest"]["findings"]
            .as_array()
            .unwrap()
            .len(),
        10_000
    );
    // The whole digest goes out: about 3 MB, over some frameworks' default
    // body limits (axum 2 MB); receivers of digests must allow for it.
    let digest_bytes = receiver.requests()[5].body.len();
    assert!(
        (2_500_000..3_500_000).contains(&digest_bytes),
        "{digest_bytes} bytes"
    );

    for request in receiver.requests() {
        let mut shown = request.body_text();
        for (name, value) in &request.headers {
            shown.push_str(&format!("\n{name}: {}", value.to_str().unwrap_or_default()));
        }
        assert!(
            !shown.contains(SECRET_HASH),
            "a secret's hash was sent: {shown}"
        );
        assert!(!shown.contains("sensitive:hmac-sha256"), "{shown}");
        assert!(!shown.contains(SECRET), "the shared secret was sent");
    }
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_caught_and_never_retried() {
    let receiver = Receiver::start(Webhook::new(Some(SECRET)), Vec::new()).await;
    let message = finding_message(MessageKind::New);

    let (wrong, _dir) = signed_sink(&receiver.url("/hooks/driftd"), "not-the-shared-secret");
    let error = send_refused(&*wrong, Action::Notify, &message, (Some(401), Retry::Never)).await;
    assert!(error.detail.contains("credential"), "{}", error.detail);

    let unsigned_channel = channel(SecretOrPlain::Plain(receiver.url("/hooks/driftd")), None);
    let unsigned = driftd::notify::sinks::build(&unsigned_channel).unwrap();
    send_refused(
        &*unsigned,
        Action::Notify,
        &message,
        (Some(401), Retry::Never),
    )
    .await;

    assert_eq!(
        receiver.problems(),
        [
            "request 1: X-Driftd-Signature-256 does not match the body and the shared secret",
            "request 2: no X-Driftd-Signature-256 header",
        ]
    );
    assert!(receiver.api().deliveries.is_empty());

    // The right secret over a changed body fails too: the signature covers the bytes.
    let (right, _dir) = signed_sink(&receiver.url("/hooks/driftd"), SECRET);
    send_once(&*right, "outbox-1", Action::Notify, &message)
        .await
        .unwrap();
    let request = receiver.requests().pop().unwrap();
    let signature = request.header("X-Driftd-Signature-256");
    assert_eq!(verify_signature(SECRET, &request.body, signature), Ok(()));
    let mut changed = request.body.to_vec();
    let at = changed.iter().position(|&b| b == b'2').unwrap();
    changed[at] = b'3';
    assert!(verify_signature(SECRET, &changed, signature).is_err());
}

/// An unsigned sink whose URL is the secret in environment variable `name`,
/// set to `url`.
fn sink_with_url_from_env(name: &str, url: &str) -> Box<dyn Sink> {
    set_env(name, url);
    let url = SecretOrPlain::Secret(SecretRef::Env(name.into()));
    driftd::notify::sinks::build(&channel(url, None)).expect("the sink builds")
}

#[tokio::test]
async fn a_url_from_a_secret_works_and_never_shows_in_an_error() {
    let token = "T0KEN-2b7d9f1a3c5e";
    let message = finding_message(MessageKind::New);
    let receiver = Receiver::start(Webhook::new(None), vec![Failure::Status(404)]).await;
    let sink = sink_with_url_from_env(
        "DRIFTD_IT_WEBHOOK_URL",
        &receiver.url(&format!("/hooks/{token}")),
    );

    // A 4xx other than 408/429 is for good: the webhook was deleted.
    let error = send_refused(&*sink, Action::Notify, &message, (Some(404), Retry::Never)).await;
    assert!(error.detail.contains("deleted"), "{}", error.detail);
    let mut shown = vec![format!("{error} {error:?}")];
    send_once(&*sink, "outbox-1", Action::Notify, &message)
        .await
        .unwrap();
    receiver.assert_no_problems();
    assert_eq!(receiver.requests()[1].path, format!("/hooks/{token}"));
    assert_eq!(receiver.api().delivery_ids(), ["outbox-1"]);

    // Nobody listening: transient, and the URL is not in the error.
    let down = sink_with_url_from_env(
        "DRIFTD_IT_WEBHOOK_URL_DOWN",
        &nobody_listening(&format!("/hooks/{token}")),
    );
    let error = send_refused(&*down, Action::Notify, &message, (None, Retry::Later(None))).await;
    shown.push(format!("{error} {error:?}"));

    // A secret that is no URL at all: refused for good, still not shown.
    let bad = sink_with_url_from_env(
        "DRIFTD_IT_WEBHOOK_URL_BAD",
        &format!("hooks.example.com/{token}"),
    );
    let error = send_refused(&*bad, Action::Notify, &message, (None, Retry::Never)).await;
    shown.push(format!("{error} {error:?}"));

    // A variable that is not set: the channel cannot be built, and says which variable.
    let error = driftd::notify::sinks::build(&channel(
        SecretOrPlain::Secret(SecretRef::Env("DRIFTD_IT_WEBHOOK_URL_UNSET".into())),
        None,
    ))
    .err()
    .expect("no sink without its URL");
    assert!(
        error.to_string().contains("DRIFTD_IT_WEBHOOK_URL_UNSET"),
        "{error}"
    );

    for text in shown {
        assert!(!text.contains(token), "the webhook URL leaked: {text}");
        assert!(!text.contains("/hooks/"), "the webhook URL leaked: {text}");
    }
}

/// The schema must refuse what the code does not send, or validating
/// against it proves nothing.
#[test]
fn the_schema_refuses_bodies_the_code_does_not_send() {
    let message = finding_message(MessageKind::New);
    let good = serde_json::to_value(Body {
        schema_version: SCHEMA_VERSION,
        delivery_id: "outbox-1",
        event: "finding.new".into(),
        action: "notify",
        message: &message,
    })
    .unwrap();
    assert_eq!(notification_schema_errors(&good), Vec::<String>::new());

    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 16] = [
        ("an unknown top-level field", |b| b["extra"] = json!(1)),
        ("an unknown message field", |b| {
            b["message"]["extra"] = json!(1)
        }),
        ("an unknown subject field", |b| {
            b["message"]["subject"]["extra"] = json!(1)
        }),
        ("a missing nullable field", |b| {
            drop(b["message"].as_object_mut().unwrap().remove("url"))
        }),
        ("another schema version", |b| b["schema_version"] = json!(2)),
        ("an event that is not the kind", |b| {
            b["message"]["kind"] = json!("resolved")
        }),
        (
            "a digest beside the subject",
            |b| b["message"]["digest"] = json!({"route": "r", "period": "2022-01-11T12:00:00Z/PT1H", "findings": [], "by_tier": [0, 0, 0]}),
        ),
        ("a finding without subject", |b| {
            b["message"]["subject"] = Value::Null
        }),
        ("a tier and a name that disagree", |b| {
            b["message"]["subject"]["tier"]["name"] = json!("inform")
        }),
        ("tier 4", |b| {
            b["message"]["subject"]["tier"]["tier"] = json!(4)
        }),
        ("a secret's hash in a change", |b| {
            b["message"]["subject"]["changes"][0]["new"] = json!(SECRET_HASH)
        }),
        ("a value longer than 300 characters", |b| {
            b["message"]["subject"]["changes"][0]["old"] = json!("x".repeat(301))
        }),
        ("a found actor without its event", |b| {
            b["message"]["subject"]["actor"]["event_id"] = Value::Null
        }),
        ("a pending actor with a principal", |b| {
            b["message"]["subject"]["actor"]["status"] = json!("pending")
        }),
        ("a time that is not RFC 3339", |b| {
            b["message"]["at"] = json!("11/01/2022 12:15")
        }),
        ("an unknown drift kind", |b| {
            b["message"]["subject"]["drift"] = json!("moved")
        }),
    ];
    for (what, edit) in cases {
        let mut body = good.clone();
        edit(&mut body);
        assert!(
            !notification_schema_errors(&body).is_empty(),
            "{what} was not caught"
        );
    }

    let digest = digest_message(3);
    let mut body = serde_json::to_value(Body {
        schema_version: SCHEMA_VERSION,
        delivery_id: "outbox-2",
        event: "digest".into(),
        action: "notify",
        message: &digest,
    })
    .unwrap();
    assert_eq!(notification_schema_errors(&body), Vec::<String>::new());
    body["message"]["digest"]["by_tier"] = json!([1, 2]);
    assert!(
        !notification_schema_errors(&body).is_empty(),
        "by_tier of two"
    );
}
