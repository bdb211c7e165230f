//! The PagerDuty sink against a local Events API v2 that validates every
//! request against PagerDuty's OpenAPI document (support/pd_receiver.rs).

use std::time::Duration;

use driftd::config::{ChannelConfig, ChannelKind, SecretRef};
use driftd::notify::{Action, MessageKind, Retry, SendError, Sink};
use serde_json::{Value, json};

use crate::support::api_receiver::{Failure, Receiver};
use crate::support::notify::{SECRET_HASH, finding_message};
use crate::support::pd_receiver::{self, AlertState, PagerDuty, ROUTING_KEY, enqueue_problems};
use crate::support::sink_worker::{
    assert_issue_script_errors, deliver, every_kind, nobody_listening, send_refused,
};

/// A sink for `receiver`, its routing key read from a secret file.
fn sink(receiver: &Receiver<PagerDuty>, routing_key: &str) -> (Box<dyn Sink>, tempfile::TempDir) {
    sink_to(&receiver.url("/v2/enqueue"), routing_key)
}

fn sink_to(events_url: &str, routing_key: &str) -> (Box<dyn Sink>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("routing-key");
    std::fs::write(&key_file, format!("{routing_key}\n")).unwrap();
    let channel = ChannelConfig {
        name: "pagerduty-oncall".into(),
        kind: ChannelKind::PagerDuty {
            routing_key: SecretRef::File(key_file),
            events_url: events_url.into(),
        },
        rate_per_second: 1.0,
        timeout: Duration::from_secs(10),
    };
    let sink = driftd::notify::sinks::build(&channel).expect("the sink builds");
    assert_eq!(sink.kind(), "pagerduty");
    (sink, dir)
}

/// Fails if any error shows the routing key.
fn assert_no_routing_key(errors: &[SendError]) {
    for e in errors {
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains(ROUTING_KEY),
            "the routing key leaked: {shown}"
        );
    }
}

#[tokio::test]
async fn a_finding_is_triggered_acknowledged_and_resolved_once_each_after_a_500_and_a_429() {
    let receiver = Receiver::start(PagerDuty::default(), Failure::issue_script()).await;
    let (sink, _dir) = sink(&receiver, ROUTING_KEY);
    let key = "driftd/3f9a0c1d2e4b5a69";

    let new = finding_message(MessageKind::New);
    let (receipt, errors) = deliver(&*sink, "outbox-1", Action::Notify, &new).await;
    assert_issue_script_errors(&errors);
    assert_no_routing_key(&errors);
    assert_eq!(receipt, json!({"dedup_key": key}));

    // The outbox sends the trigger again (it crashed before recording the
    // receipt): PagerDuty folds it into the open alert, no second page.
    let (receipt, errors) = deliver(&*sink, "outbox-1", Action::Notify, &new).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(receipt, json!({"dedup_key": key}));

    let acked = finding_message(MessageKind::Acknowledged);
    deliver(&*sink, "outbox-2", Action::Acknowledge, &acked).await;
    {
        let pd = receiver.api();
        assert_eq!(pd.alerts.len(), 1);
        assert_eq!(pd.alerts[0].state, AlertState::Acknowledged);
    }
    let resolved = finding_message(MessageKind::Resolved);
    deliver(&*sink, "outbox-3", Action::Resolve, &resolved).await;

    receiver.assert_no_problems();
    assert_eq!(receiver.failures_left(), 0);
    // 2 refused + 2 triggers + acknowledge + resolve: all checked.
    assert_eq!(receiver.requests().len(), 6);
    let pd = receiver.api();
    let actions: Vec<(String, String)> = ["trigger", "trigger", "acknowledge", "resolve"]
        .iter()
        .map(|a| (a.to_string(), key.to_string()))
        .collect();
    assert_eq!(pd.accepted_actions(), actions);
    assert_eq!(
        pd.alerts.len(),
        1,
        "one finding, one alert: {:?}",
        pd.alerts
    );
    let alert = &pd.alerts[0];
    assert_eq!((alert.state, alert.triggers), (AlertState::Resolved, 2));
    assert_eq!(pd.dropped, 0);

    // The trigger carries the evidence; acknowledge and resolve only the key.
    let payload = &alert.payload;
    assert_eq!(payload["severity"], "critical");
    assert_eq!(
        payload["source"],
        "218007301253:eu-west-1:sg-04cfb7a4712d75b00"
    );
    assert_eq!(payload["component"], "aws_security_group");
    assert_eq!(payload["group"], "prod-network");
    assert_eq!(payload["class"], "changed");
    assert_eq!(payload["timestamp"], "2022-01-11T12:15:00Z");
    let details = &payload["custom_details"];
    assert_eq!(
        details["actor"],
        "bert-jan (IAMUser, cli, from 84.86.117.172)"
    );
    assert_eq!(details["event_id"], "74bd84b4-9bc4-4a5b-9bd4-2e7b7fd0a9e6");
    assert_eq!(details["event_name"], "AuthorizeSecurityGroupIngress");
    assert_eq!(details["event_time"], "2022-01-11T12:10:08Z");
    assert_eq!(details["source_ip"], "84.86.117.172");
    assert_eq!(details["channel"], "cli");
    assert_eq!(details["blast_radius"], 14);
    assert_eq!(details["tier_rule"], "world-open-ports");
    let changes = details["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 4);
    assert_eq!(changes[2], "description: (sensitive) → (sensitive)");
    assert_eq!(details["commands"][0], "driftd ack 3f9a0c1d2e4b5a69");
    let trigger = &pd.accepted[0].body;
    assert_eq!(trigger["client"], "driftd");
    assert_eq!(
        trigger["links"][0]["href"],
        "https://driftd.example.com/findings/3f9a0c1d2e4b5a69"
    );
    for later in &pd.accepted[2..] {
        let mut keys: Vec<&str> = later
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            ["dedup_key", "event_action", "routing_key"],
            "{}",
            later.body
        );
    }
}

#[tokio::test]
async fn every_message_kind_is_a_valid_event_and_no_secret_is_sent() {
    let receiver = Receiver::start(PagerDuty::default(), Vec::new()).await;
    let (sink, _dir) = sink(&receiver, ROUTING_KEY);
    let cases = every_kind();
    for (i, (message, action)) in cases.iter().enumerate() {
        let (receipt, errors) = deliver(&*sink, &format!("outbox-{i}"), *action, message).await;
        assert!(errors.is_empty(), "{:?}: {errors:?}", message.kind);
        assert_eq!(receipt["dedup_key"], message.dedup_key.as_str());
    }
    receiver.assert_no_problems();
    let pd = receiver.api();
    let event_actions = [
        "trigger",
        "trigger",
        "acknowledge",
        "resolve",
        "resolve",
        "trigger",
        "trigger",
    ];
    let expected: Vec<(String, String)> = cases
        .iter()
        .zip(event_actions)
        .map(|((m, _), a)| (a.to_string(), m.dedup_key.clone()))
        .collect();
    assert_eq!(pd.accepted_actions(), expected);

    let severity = |i: usize| pd.accepted[i].body["payload"]["severity"].clone();
    assert_eq!(severity(0), "critical");
    assert_eq!(
        severity(5),
        "info",
        "a digest never pages as more than info"
    );
    assert_eq!(severity(6), "error", "a failed channel is an error");
    let digest = &pd.accepted[5].body["payload"];
    assert_eq!(digest["custom_details"]["open_findings"], 10_000);
    assert_eq!(digest["custom_details"]["tier_3"], 3_333);
    assert_eq!(
        digest["custom_details"]["findings"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    assert_eq!(digest["custom_details"]["more_findings"], 9_950);
    let failure = &pd.accepted[6].body["payload"];
    assert_eq!(
        failure["custom_details"]["last_error"],
        "slack slack-platform: HTTP 404: no_service"
    );

    for request in receiver.requests() {
        let body = request.body_text();
        assert!(
            !body.contains(SECRET_HASH),
            "a secret's hash was sent: {body}"
        );
        assert!(!body.contains("sensitive:hmac-sha256"), "{body}");
        // The routing key is sent once, where it belongs.
        assert_eq!(body.matches(ROUTING_KEY).count(), 1, "{body}");
    }
}

#[tokio::test]
async fn an_event_pagerduty_refuses_is_never_retried_and_the_key_is_not_shown() {
    // The channel holds a key PagerDuty does not know: 400 "invalid event".
    let wrong_key = "00000000000000000000000000000000";
    let receiver = Receiver::start(PagerDuty::default(), Vec::new()).await;
    let (sink, _dir) = sink(&receiver, wrong_key);
    let message = finding_message(MessageKind::New);
    let error = send_refused(&*sink, Action::Notify, &message, (Some(400), Retry::Never)).await;
    assert!(error.detail.contains("invalid event"), "{}", error.detail);
    assert!(
        error.detail.contains("pagerduty-oncall"),
        "names the channel: {}",
        error.detail
    );
    assert!(
        !format!("{error} {error:?}").contains(wrong_key),
        "{error:?}"
    );
    assert_eq!(receiver.problems(), ["request 1: unknown routing_key"]);
    assert!(receiver.api().accepted.is_empty());
}

#[tokio::test]
async fn an_unreachable_pagerduty_is_transient() {
    let (sink, _dir) = sink_to(&nobody_listening("/v2/enqueue"), ROUTING_KEY);
    let message = finding_message(MessageKind::New);
    let error = send_refused(&*sink, Action::Notify, &message, (None, Retry::Later(None))).await;
    assert_no_routing_key(&[error]);
}

/// The receiver's own check must catch what PagerDuty refuses, or the tests
/// above prove nothing.
#[test]
fn the_receiver_refuses_what_pagerduty_refuses() {
    let spec = pd_receiver::openapi();
    let example = &spec["paths"]["/enqueue"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"]["event"]["value"];
    // PagerDuty's own example, with an RFC 3339 timestamp (the example's
    // `+0000` is not the `date-time` format its schema names).
    let mut good = example.clone();
    good["payload"]["timestamp"] = json!("2015-07-17T08:42:58.315+00:00");
    assert_eq!(enqueue_problems(&good, 100), Vec::<String>::new());

    type Edit = fn(&mut Value);
    let broken = |edit: Edit| {
        let mut event = good.clone();
        edit(&mut event);
        enqueue_problems(&event, 100)
    };
    let cases: [(&str, Edit); 11] = [
        ("severity outside the enum", |e| {
            e["payload"]["severity"] = json!("high")
        }),
        ("no source", |e| {
            drop(e["payload"].as_object_mut().unwrap().remove("source"))
        }),
        ("no event_action", |e| {
            drop(e.as_object_mut().unwrap().remove("event_action"))
        }),
        ("event_action outside the enum", |e| {
            e["event_action"] = json!("page")
        }),
        ("custom_details not an object", |e| {
            e["payload"]["custom_details"] = json!("x")
        }),
        ("a link without href", |e| {
            e["links"] = json!([{"text": "x"}])
        }),
        ("a link that is no URL", |e| {
            e["links"] = json!([{"href": "not a url"}])
        }),
        ("a timestamp that is no date-time", |e| {
            e["payload"]["timestamp"] = json!("yesterday")
        }),
        ("a trigger without payload", |e| {
            drop(e.as_object_mut().unwrap().remove("payload"))
        }),
        ("a summary over 1024 characters", |e| {
            e["payload"]["summary"] = json!("x".repeat(1025))
        }),
        ("a dedup_key over 255 characters", |e| {
            e["dedup_key"] = json!("k".repeat(256))
        }),
    ];
    for (what, edit) in cases {
        assert!(!broken(edit).is_empty(), "{what} was not caught");
    }
    let resolve_without_key = json!({"routing_key": ROUTING_KEY, "event_action": "resolve"});
    assert!(!enqueue_problems(&resolve_without_key, 60).is_empty());
    assert!(
        !enqueue_problems(&good, 512 * 1024 + 1).is_empty(),
        "over 512 KB"
    );
}

#[test]
fn nullable_means_null_is_allowed_where_it_is_said() {
    let schema = json!({
        "type": "object",
        "properties": {
            "nullable": {"type": "string"},
            "a": {"type": "string", "nullable": true},
            "b": {"enum": ["x"], "nullable": true},
            "c": {"type": "array", "items": {"type": "integer", "nullable": true}},
            "d": {"type": "string"}
        }
    });
    let validator = pd_receiver::openapi_validator(&schema, &json!({}));
    assert!(validator.is_valid(&json!({"a": null, "b": null, "c": [1, null], "d": "x"})));
    assert!(!validator.is_valid(&json!({"d": null})), "not nullable");
    assert!(
        !validator.is_valid(&json!({"nullable": null})),
        "a property named nullable is a property"
    );
}
