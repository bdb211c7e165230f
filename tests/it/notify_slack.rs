//! The Slack sink against a local receiver that answers like Slack and checks
//! every request: an incoming webhook with Block Kit, and a bot posting with
//! `chat.postMessage` and editing with `chat.update` (parameters checked
//! against Slack's OpenAPI, blocks against the Block Kit shape check).

use std::time::Duration;

use driftd::config::{ChannelConfig, ChannelKind, SecretRef};
use driftd::notify::sinks::slack::SlackSink;
use driftd::notify::{Action, Delivery, Message, MessageKind, Retry, Sink};
use serde_json::{Value, json};

use crate::support::chat_receiver::{
    Api, BOT_TOKEN, ChatReceiver, Failure, SLACK_CHANNEL_ID, WEBHOOK_SECRET, all_kinds, deliver,
    lifecycle,
};
use crate::support::chat_schemas::{block_kit_violations, slack_call_violations};
use crate::support::notify::{SECRET_HASH, finding_message};

/// Secrets live in files, as a deployment would keep them.
struct Secrets(tempfile::TempDir);

impl Secrets {
    fn new() -> Secrets {
        Secrets(tempfile::tempdir().unwrap())
    }

    fn file(&self, name: &str, value: &str) -> SecretRef {
        let path = self.0.path().join(name);
        std::fs::write(&path, format!("{value}\n")).unwrap();
        SecretRef::File(path)
    }
}

fn webhook_sink(receiver: &ChatReceiver, secrets: &Secrets) -> SlackSink {
    sink(ChannelKind::Slack {
        webhook_url: Some(secrets.file("webhook", &receiver.webhook_url())),
        token: None,
        channel: None,
        api_url: "https://slack.com/api".into(),
    })
}

fn bot_sink(receiver: &ChatReceiver, secrets: &Secrets) -> SlackSink {
    sink(ChannelKind::Slack {
        // A webhook too: with both, the bot is used.
        webhook_url: Some(secrets.file("webhook", "http://127.0.0.1:9/never-used")),
        token: Some(secrets.file("token", BOT_TOKEN)),
        channel: Some("#platform-drift".into()),
        api_url: format!("{}/", receiver.api_url()),
    })
}

/// A receiver for `api` and a sink sending to it (by webhook or by bot).
async fn started(api: Api) -> (ChatReceiver, Secrets, SlackSink) {
    let receiver = ChatReceiver::start(api).await;
    let secrets = Secrets::new();
    let sink = match api {
        Api::SlackBot => bot_sink(&receiver, &secrets),
        _ => webhook_sink(&receiver, &secrets),
    };
    (receiver, secrets, sink)
}

fn sink(kind: ChannelKind) -> SlackSink {
    SlackSink::new(&ChannelConfig {
        name: "slack-platform".into(),
        kind,
        rate_per_second: 1.0,
        timeout: Duration::from_secs(5),
    })
    .expect("the slack sink builds")
}

fn delivery<'a>(
    id: &'a str,
    action: Action,
    message: &'a Message,
    earlier: Option<&'a Value>,
) -> Delivery<'a> {
    Delivery {
        id,
        action,
        message,
        earlier_receipt: earlier,
    }
}

/// The text of every text object in a posted message, and its `text`.
fn all_text(message: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(t)) = o.get("text") {
                    out.push_str(t);
                    out.push('\n');
                }
                o.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    walk(message, &mut out);
    out
}

/// The first two deliveries fail (500, then 429 with Retry-After: 2); the
/// worker's loop gets each event through once.
async fn assert_retried_then_accepted(
    receiver: &ChatReceiver,
    sink: &SlackSink,
    events: &[(Action, Message)],
) -> Vec<Value> {
    receiver.fail_next([Failure::Status(500), Failure::TooMany(2)]);
    let mut receipts = Vec::new();
    let mut first: Option<Value> = None;
    for (i, (action, message)) in events.iter().enumerate() {
        let id = format!("outbox-{i}");
        let d = delivery(&id, *action, message, first.as_ref());
        let (receipt, errors) = deliver(sink, &d).await;
        if i == 0 {
            let seen: Vec<(Retry, Option<u16>)> =
                errors.iter().map(|e| (e.retry, e.status)).collect();
            assert_eq!(
                seen,
                [
                    (Retry::Later(None), Some(500)),
                    (Retry::Later(Some(Duration::from_secs(2))), Some(429))
                ],
                "{errors:?}"
            );
            first = Some(receipt.clone());
        } else {
            assert!(errors.is_empty(), "{errors:?}");
        }
        receipts.push(receipt);
    }
    assert_eq!(receiver.violations(), Vec::<String>::new());
    assert_eq!(
        receiver.accepted().len(),
        events.len(),
        "exactly one accepted delivery per event"
    );
    assert_eq!(
        receiver.seen().len(),
        events.len() + 2,
        "two failed attempts, then one each"
    );
    receipts
}

#[tokio::test]
async fn webhook_fails_twice_then_takes_each_event_once() {
    let (receiver, _secrets, sink) = started(Api::SlackWebhook).await;
    let events = lifecycle();
    let receipts = assert_retried_then_accepted(&receiver, &sink, &events).await;
    assert_eq!(receipts[0], json!({"via": "webhook"}));
    let accepted = receiver.accepted();
    assert_eq!(accepted[0].body["blocks"][0]["type"], "header");
    assert!(all_text(&accepted[0].body).contains("*What drifted*"));
    // A webhook cannot edit: short follow-ups say what became of it.
    for (i, word) in [
        (1, "*Acknowledged* by alice@example.com"),
        (2, "*Resolved*"),
    ] {
        let body = &accepted[i].body;
        assert!(
            body["blocks"].as_array().unwrap().len() <= 3,
            "a short follow-up: {body:#}"
        );
        assert!(all_text(body).contains(word), "{word} in {body:#}");
        assert!(!all_text(body).contains("*What drifted*"));
    }
}

#[tokio::test]
async fn bot_posts_once_then_edits_that_message() {
    let (receiver, _secrets, sink) = started(Api::SlackBot).await;
    let events = lifecycle();
    let receipts = assert_retried_then_accepted(&receiver, &sink, &events).await;
    let ts = receipts[0]["ts"]
        .as_str()
        .expect("a ts in the receipt")
        .to_string();
    assert_eq!(receipts[0], json!({"channel": SLACK_CHANNEL_ID, "ts": ts}));
    assert_eq!(receipts[1], receipts[0], "the edit names the same message");
    let methods: Vec<String> = receiver.accepted().into_iter().map(|a| a.method).collect();
    assert_eq!(methods, ["chat.postMessage", "chat.update", "chat.update"]);
    assert_eq!(receiver.accepted()[0].body["channel"], "#platform-drift");
    assert_eq!(receiver.message_count(), 1, "edited, not posted again");
    let now = receiver.message(&ts).unwrap();
    let text = all_text(&now);
    assert!(text.contains("*Resolved*"), "{text}");
    assert!(
        text.contains("~[tier 3] changed aws_security_group"),
        "struck through: {text}"
    );
    assert!(
        text.contains("*What drifted*"),
        "the edited message keeps the details"
    );
}

#[tokio::test]
async fn bot_follows_up_when_there_is_no_message_to_edit() {
    let (receiver, _secrets, sink) = started(Api::SlackBot).await;
    let resolved = finding_message(MessageKind::Resolved);
    // The first message went out by webhook, or was deleted, or never was.
    let gone = json!({"channel": SLACK_CHANNEL_ID, "ts": "1641903300.999999"});
    for earlier in [None, Some(json!({"via": "webhook"})), Some(gone)] {
        let d = delivery("outbox-9", Action::Resolve, &resolved, earlier.as_ref());
        let receipt = sink.send(&d).await.expect("a follow-up is posted");
        let ts = receipt["ts"].as_str().unwrap();
        let posted = receiver.message(ts).unwrap();
        assert!(
            posted["blocks"].as_array().unwrap().len() <= 3,
            "{posted:#}"
        );
        assert!(all_text(&posted).contains("*Resolved*"));
    }
    let methods: Vec<String> = receiver.accepted().into_iter().map(|a| a.method).collect();
    assert_eq!(methods, ["chat.postMessage"; 3]);
    assert_eq!(receiver.violations(), Vec::<String>::new());
}

/// Every kind, and a digest of 10,000 findings, is valid Block Kit and a
/// valid call, by webhook and by bot.
#[tokio::test]
async fn every_kind_is_valid_block_kit_within_slack_limits() {
    let messages = all_kinds();
    for api in [Api::SlackWebhook, Api::SlackBot] {
        let (receiver, _secrets, sink) = started(api).await;
        for (i, (action, message)) in messages.iter().enumerate() {
            let id = format!("outbox-{i}");
            let d = delivery(&id, *action, message, None);
            if let Err(e) = sink.send(&d).await {
                panic!(
                    "{:?} {:?}: {e}; violations: {:#?}",
                    api,
                    message.kind,
                    receiver.violations()
                );
            }
        }
        assert_eq!(receiver.violations(), Vec::<String>::new(), "{api:?}");
        assert_eq!(receiver.accepted().len(), messages.len());
        let digest = &receiver.accepted()[messages.len() - 2].body;
        let text = all_text(digest);
        let listed = text.lines().filter(|l| l.starts_with("• *T")).count();
        assert_eq!(
            listed,
            driftd::notify::sinks::slack::DIGEST_LINES,
            "{api:?}"
        );
        assert!(
            text.contains(&format!(
                "… and {} more: `driftd findings list`",
                10_000 - listed
            )),
            "the rest of the digest is counted"
        );
        assert!(
            text.contains("tier 3: 3333 · tier 2: 3333 · tier 1: 3334"),
            "{text}"
        );
    }
}

/// The long policy is summed up with a link, the XSS tag escaped; the secret
/// hash, the webhook's secret and the token are in nothing sent, no error and
/// no receipt.
#[tokio::test]
async fn no_secret_leaves_and_cloud_text_is_escaped() {
    for api in [Api::SlackWebhook, Api::SlackBot] {
        let (receiver, _secrets, sink) = started(api).await;
        let mut said = Vec::new();
        for (action, message) in all_kinds() {
            let d = delivery("outbox-1", action, &message, None);
            said.push(format!("{:?}", sink.send(&d).await));
        }
        // What the sink says when it fails: transient, rate limited, refused.
        let new = finding_message(MessageKind::New);
        let d = delivery("outbox-2", Action::Notify, &new, None);
        receiver.fail_next([Failure::Status(500), Failure::TooMany(1)]);
        said.push(format!("{:?}", sink.send(&d).await));
        said.push(format!("{:?}", sink.send(&d).await));
        receiver.refuse(Failure::Status(404));
        said.push(format!("{:?}", sink.send(&d).await));
        assert!(
            said[said.len() - 3..].iter().all(|s| s.starts_with("Err(")),
            "{said:?}"
        );
        let seen = receiver.seen();
        assert!(seen.len() >= 10);
        for s in &seen {
            // The token goes to the Web API in its header, and nowhere else.
            match api {
                Api::SlackBot => {
                    assert_eq!(s.authorization, Some(format!("Bearer {BOT_TOKEN}")));
                    assert!(
                        ["/api/chat.postMessage", "/api/chat.update"]
                            .contains(&s.path_and_query.as_str())
                    );
                }
                _ => {
                    assert_eq!(s.authorization, None);
                    assert_eq!(
                        s.path_and_query,
                        format!("/services/T0DRIFTD/B0DRIFTD/{WEBHOOK_SECRET}")
                    );
                }
            }
            let body = String::from_utf8(s.body.clone()).unwrap();
            for secret in [
                SECRET_HASH,
                WEBHOOK_SECRET,
                BOT_TOKEN,
                "5bdcc146bf60754e6a04",
            ] {
                assert!(!body.contains(secret), "{api:?}: {secret} sent in {body}");
            }
            assert!(
                !body.contains("<script>"),
                "{api:?}: a raw tag value in {body}"
            );
        }
        let new_body = String::from_utf8(seen[0].body.clone()).unwrap();
        assert!(
            new_body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "the tag, escaped"
        );
        assert!(new_body.contains("(sensitive)"));
        assert!(new_body.contains(
            "… and 2 more; see <https://driftd.example.com/findings/3f9a0c1d2e4b5a69|the report>"
        ));
        for s in &said {
            for secret in [SECRET_HASH, WEBHOOK_SECRET, BOT_TOKEN, "127.0.0.1"] {
                assert!(
                    !s.contains(secret),
                    "{api:?}: {secret} in what the sink said: {s}"
                );
            }
        }
    }
}

#[tokio::test]
async fn webhook_refusals_are_final_and_rate_limits_are_not() {
    let (receiver, secrets, sink) = started(Api::SlackWebhook).await;
    let message = finding_message(MessageKind::New);
    let d = delivery("outbox-1", Action::Notify, &message, None);
    for (status, word) in [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ] {
        receiver.fail_next([Failure::Status(status)]);
        let e = sink.send(&d).await.unwrap_err();
        assert_eq!((e.retry, e.status), (Retry::Never, Some(status)), "{e}");
        assert!(
            e.detail.contains(word) && e.detail.contains("slack slack-platform"),
            "{e}"
        );
    }
    receiver.fail_next([Failure::TooMany(30)]);
    let e = sink.send(&d).await.unwrap_err();
    assert_eq!(e.retry, Retry::Later(Some(Duration::from_secs(30))));
    // A webhook URL that is not there any more.
    let wrong = sink_to(format!("{}x", receiver.webhook_url()), &secrets);
    let e = wrong.send(&d).await.unwrap_err();
    assert_eq!((e.retry, e.status), (Retry::Never, Some(404)), "{e}");
    assert!(!e.detail.contains(WEBHOOK_SECRET));
    assert_eq!(receiver.violations(), Vec::<String>::new());
}

fn sink_to(url: String, secrets: &Secrets) -> SlackSink {
    sink(ChannelKind::Slack {
        webhook_url: Some(secrets.file("other-webhook", &url)),
        token: None,
        channel: None,
        api_url: "https://slack.com/api".into(),
    })
}

#[tokio::test]
async fn web_api_errors_are_final_unless_transient() {
    let (receiver, secrets, bot) = started(Api::SlackBot).await;
    let message = finding_message(MessageKind::New);
    let d = delivery("outbox-1", Action::Notify, &message, None);
    for (error, retry) in [
        ("invalid_auth", Retry::Never),
        ("channel_not_found", Retry::Never),
        ("not_in_channel", Retry::Never),
        ("msg_too_long", Retry::Never),
        ("internal_error", Retry::Later(None)),
        ("fatal_error", Retry::Later(None)),
    ] {
        receiver.fail_next([Failure::SlackError(error)]);
        let e = bot.send(&d).await.unwrap_err();
        assert_eq!((e.retry, e.status), (retry, Some(200)), "{error}: {e}");
        assert!(
            e.detail.contains(error) && !e.detail.contains(BOT_TOKEN),
            "{e}"
        );
    }
    receiver.fail_next([Failure::TooMany(7)]);
    let e = bot.send(&d).await.unwrap_err();
    assert_eq!(
        (e.retry, e.status),
        (Retry::Later(Some(Duration::from_secs(7))), Some(429))
    );
    // A wrong token is refused by the receiver, and final.
    let wrong = sink(ChannelKind::Slack {
        webhook_url: None,
        token: Some(secrets.file("wrong-token", "xoxb-wrong")),
        channel: Some(SLACK_CHANNEL_ID.into()),
        api_url: receiver.api_url(),
    });
    let e = wrong.send(&d).await.unwrap_err();
    assert_eq!(e.retry, Retry::Never, "{e}");
    assert!(
        e.detail
            .contains("invalid_auth: check the channel's bot token"),
        "{e}"
    );
    assert!(!e.detail.contains("xoxb-wrong"), "{e}");
    assert_eq!(receiver.violations(), Vec::<String>::new());
    assert!(receiver.accepted().is_empty());
}

/// The checks themselves catch what Slack would refuse (a check that cannot
/// fail proves nothing).
#[test]
fn the_block_kit_check_catches_what_slack_refuses() {
    let good = json!({
        "text": "a &amp; b",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "<fine in plain text>"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "see <https://x.example/a?b=1&amp;c=2|the report>"}},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "https://x.example"}]},
        ],
    });
    assert_eq!(block_kit_violations(&good), Vec::<String>::new());
    let cases: Vec<(&str, Value)> = vec![
        (
            "over 150",
            json!([{"type": "header", "text": {"type": "plain_text", "text": "h".repeat(151)}}]),
        ),
        (
            "must be plain_text",
            json!([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]),
        ),
        (
            "over 3000",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "é".repeat(3001)}}]),
        ),
        // An astral character is two UTF-16 units.
        (
            "over 3000",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "😀".repeat(1501)}}]),
        ),
        (
            "raw `<`",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "<!channel> look"}}]),
        ),
        (
            "raw `<`",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "<script>"}}]),
        ),
        (
            "raw or cut `&`",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "cut &am"}}]),
        ),
        (
            "raw `>`",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "a > b"}}]),
        ),
        (
            "1 to 10",
            json!([{"type": "section", "fields": vec![json!({"type": "mrkdwn", "text": "f"}); 11]}]),
        ),
        (
            "over 2000",
            json!([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f".repeat(2001)}]}]),
        ),
        ("text or fields", json!([{"type": "section"}])),
        (
            "missing or empty",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]),
        ),
        (
            "not a field",
            json!([{"type": "section", "text": {"type": "mrkdwn", "text": "a"}, "color": "red"}]),
        ),
        (
            "over 75",
            json!([{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b".repeat(76)}}]}]),
        ),
        (
            "only buttons",
            json!([{"type": "actions", "elements": [{"type": "static_select"}]}]),
        ),
        ("not a block type", json!([{"type": "table"}])),
        (
            "blocks (1 to 50",
            Value::Array(vec![json!({"type": "divider"}); 51]),
        ),
    ];
    for (expected, blocks) in cases {
        let v = block_kit_violations(&json!({"text": "t", "blocks": blocks}));
        assert!(
            v.iter().any(|m| m.contains(expected)),
            "expected {expected:?}, got {v:?}"
        );
    }
    let v = block_kit_violations(&json!({"blocks": [{"type": "divider"}]}));
    assert!(v.iter().any(|m| m.starts_with("text:")), "{v:?}");
}

#[test]
fn the_call_check_follows_slacks_openapi() {
    let auth = format!("Bearer {BOT_TOKEN}");
    let ct = "application/json; charset=utf-8";
    let post = json!({"channel": "C1", "text": "t", "blocks": [], "unfurl_links": false});
    assert_eq!(
        slack_call_violations("chat.postMessage", Some(&auth), Some(ct), &post, BOT_TOKEN),
        Vec::<String>::new()
    );
    let cases = [
        (
            "chat.postMessage",
            json!({"text": "t"}),
            "`channel` missing",
        ),
        (
            "chat.postMessage",
            json!({"channel": "C1", "ts": "1.2"}),
            "`ts` is not a parameter",
        ),
        (
            "chat.postMessage",
            json!({"channel": "C1", "unfurl_links": "no"}),
            "`unfurl_links` is not a \"boolean\"",
        ),
        (
            "chat.postMessage",
            json!({"channel": "C1", "blocks": {"type": "divider"}}),
            "`blocks` is not",
        ),
        (
            "chat.update",
            json!({"channel": "C1", "text": "t"}),
            "`ts` missing",
        ),
        (
            "chat.update",
            json!({"channel": "C1", "ts": "1.2", "unfurl_links": false}),
            "`unfurl_links` is not a parameter",
        ),
    ];
    for (method, body, expected) in cases {
        let v = slack_call_violations(method, Some(&auth), Some(ct), &body, BOT_TOKEN);
        assert!(
            v.iter().any(|m| m.contains(expected)),
            "{method}: expected {expected:?}, got {v:?}"
        );
    }
    let v = slack_call_violations(
        "chat.postMessage",
        None,
        Some("application/json"),
        &post,
        BOT_TOKEN,
    );
    assert_eq!(v.len(), 2, "{v:?}");
}
