//! The Teams sink against a local Workflows webhook that checks every body:
//! the message envelope, and the card against the published Adaptive Card
//! 1.5 JSON Schema.

use std::time::Duration;

use driftd::config::{ChannelConfig, ChannelKind, SecretRef};
use driftd::notify::sinks::teams::{self, TeamsSink};
use driftd::notify::{Action, Delivery, Message, MessageKind, Retry, Sink};
use serde_json::{Value, json};

use crate::support::chat_receiver::{
    Api, ChatReceiver, Failure, WEBHOOK_SECRET, all_kinds, deliver, lifecycle,
};
use crate::support::chat_schemas::{adaptive_card_violations, teams_body_violations};
use crate::support::notify::{SECRET_HASH, finding_message};

fn teams_sink(url: &str, dir: &tempfile::TempDir) -> TeamsSink {
    let path = dir.path().join("teams-webhook");
    std::fs::write(&path, url).unwrap();
    TeamsSink::new(&ChannelConfig {
        name: "teams-platform".into(),
        kind: ChannelKind::Teams {
            webhook_url: SecretRef::File(path),
        },
        rate_per_second: 10.0,
        timeout: Duration::from_secs(5),
    })
    .expect("the teams sink builds")
}

/// A Workflows receiver and a sink sending to it.
async fn started() -> (ChatReceiver, tempfile::TempDir, TeamsSink) {
    let receiver = ChatReceiver::start(Api::TeamsWorkflow).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = teams_sink(&receiver.webhook_url(), &dir);
    (receiver, dir, sink)
}

fn delivery<'a>(id: &'a str, action: Action, message: &'a Message) -> Delivery<'a> {
    Delivery {
        id,
        action,
        message,
        earlier_receipt: None,
    }
}

fn card_of(body: &Value) -> &Value {
    &body["attachments"][0]["content"]
}

#[tokio::test]
async fn workflow_fails_twice_then_takes_each_event_once() {
    let (receiver, _dir, sink) = started().await;
    receiver.fail_next([Failure::Status(500), Failure::TooMany(2)]);
    let events = lifecycle();
    for (i, (action, message)) in events.iter().enumerate() {
        let id = format!("outbox-{i}");
        let (receipt, errors) = deliver(&sink, &delivery(&id, *action, message)).await;
        let seen: Vec<(Retry, Option<u16>)> = errors.iter().map(|e| (e.retry, e.status)).collect();
        let expected = if i == 0 {
            vec![
                (Retry::Later(None), Some(500)),
                (Retry::Later(Some(Duration::from_secs(2))), Some(429)),
            ]
        } else {
            vec![]
        };
        assert_eq!(seen, expected, "{errors:?}");
        assert_eq!(receipt, json!({"status": 202}));
    }
    assert_eq!(receiver.violations(), Vec::<String>::new());
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 3, "exactly one accepted delivery per event");
    assert_eq!(receiver.seen().len(), 5);
    let status: Vec<&str> = accepted
        .iter()
        .map(|a| card_of(&a.body)["body"][1]["text"].as_str().unwrap())
        .collect();
    assert!(
        status[0].starts_with("**New drift** · tier 3"),
        "{status:?}"
    );
    assert!(status[1].starts_with("**Acknowledged**"), "{status:?}");
    assert!(status[2].starts_with("**Resolved**"), "{status:?}");
}

#[tokio::test]
async fn every_kind_is_a_valid_card_within_teams_limits() {
    let (receiver, _dir, sink) = started().await;
    let messages = all_kinds();
    for (i, (action, message)) in messages.iter().enumerate() {
        let id = format!("outbox-{i}");
        if let Err(e) = sink.send(&delivery(&id, *action, message)).await {
            panic!(
                "{:?}: {e}; violations: {:#?}",
                message.kind,
                receiver.violations()
            );
        }
    }
    assert_eq!(receiver.violations(), Vec::<String>::new());
    let seen = receiver.seen();
    assert_eq!(receiver.accepted().len(), messages.len());
    for (s, (_, message)) in seen.iter().zip(&messages) {
        assert!(
            s.body.len() < 25_000,
            "{:?}: {} bytes",
            message.kind,
            s.body.len()
        );
        let body: Value = serde_json::from_slice(&s.body).unwrap();
        let card = card_of(&body);
        assert_eq!(card["version"], "1.5");
        match &message.url {
            Some(url) => assert_eq!(
                card["actions"],
                json!([{"type": "Action.OpenUrl", "title": "Open in driftd", "url": url}])
            ),
            None => assert!(card.get("actions").is_none()),
        }
        if message.subject.is_some() {
            let titles: Vec<&str> = card["body"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["type"] == "FactSet")
                .expect("a FactSet")["facts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["title"].as_str().unwrap())
                .collect();
            for t in [
                "Resource",
                "Address",
                "Where",
                "Actor",
                "Event",
                "Tier",
                "Why",
                "Blast radius",
            ] {
                assert!(titles.contains(&t), "{t} in {titles:?}");
            }
        }
    }
    // The 10,000-line digest: 50 lines listed, the rest counted.
    let digest: Value = serde_json::from_slice(&seen[5].body).unwrap();
    let texts: Vec<&str> = card_of(&digest)["body"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    let listed = texts.iter().filter(|t| t.starts_with("**T")).count();
    assert_eq!(listed, teams::DIGEST_LINES);
    assert_eq!(
        *texts.last().unwrap(),
        format!("… and {} more; run driftd findings list", 10_000 - listed)
    );
}

#[tokio::test]
async fn no_secret_leaves_and_markdown_stays_text() {
    let (receiver, _dir, sink) = started().await;
    let mut said = Vec::new();
    for (action, message) in all_kinds() {
        said.push(format!(
            "{:?}",
            sink.send(&delivery("outbox-1", action, &message)).await
        ));
    }
    let new = finding_message(MessageKind::New);
    let d = delivery("outbox-2", Action::Notify, &new);
    receiver.fail_next([Failure::Status(502), Failure::TooMany(1)]);
    said.push(format!("{:?}", sink.send(&d).await));
    said.push(format!("{:?}", sink.send(&d).await));
    receiver.refuse(Failure::Status(400));
    said.push(format!("{:?}", sink.send(&d).await));
    assert!(
        said[said.len() - 3..].iter().all(|s| s.starts_with("Err(")),
        "{said:?}"
    );
    for s in receiver.seen() {
        let body = String::from_utf8(s.body).unwrap();
        for secret in [SECRET_HASH, WEBHOOK_SECRET, "5bdcc146bf60754e6a04"] {
            assert!(!body.contains(secret), "{secret} sent in {body}");
        }
    }
    for s in &said {
        for secret in [SECRET_HASH, WEBHOOK_SECRET, "sig=", "127.0.0.1"] {
            assert!(!s.contains(secret), "{secret} in what the sink said: {s}");
        }
    }
    let body: Value = serde_json::from_slice(&receiver.seen()[0].body).unwrap();
    let text = card_of(&body).to_string();
    assert!(text.contains("(sensitive)"));
    // Markdown characters from the cloud are escaped: the policy's "*" is not
    // emphasis, a tag cannot be a link.
    assert!(text.contains(r#"\"Action\":\"\\*\""#), "{text}");
    assert!(!text.contains(r#"\"Action\":\"*\""#), "{text}");
    assert!(
        text.contains(r"\\[tier 3\\] changed aws_security_group"),
        "{text}"
    );
}

#[tokio::test]
async fn refusals_are_final_and_rate_limits_are_not() {
    let (receiver, dir, sink) = started().await;
    let message = finding_message(MessageKind::New);
    let d = delivery("outbox-1", Action::Notify, &message);
    for status in [400, 403, 404] {
        receiver.fail_next([Failure::Status(status)]);
        let e = sink.send(&d).await.unwrap_err();
        assert_eq!((e.retry, e.status), (Retry::Never, Some(status)), "{e}");
        assert!(e.detail.starts_with("teams teams-platform: HTTP"), "{e}");
    }
    receiver.fail_next([Failure::TooMany(9)]);
    let e = sink.send(&d).await.unwrap_err();
    assert_eq!(e.retry, Retry::Later(Some(Duration::from_secs(9))));
    // A signature that does not match: 401, final, and the URL is not told.
    let wrong = teams_sink(
        &receiver.webhook_url().replace(WEBHOOK_SECRET, "forged"),
        &dir,
    );
    let e = wrong.send(&d).await.unwrap_err();
    assert_eq!((e.retry, e.status), (Retry::Never, Some(401)), "{e}");
    assert!(
        !e.detail.contains("forged") && !e.detail.contains("sig="),
        "{e}"
    );
    assert_eq!(receiver.violations(), Vec::<String>::new());
    assert!(receiver.accepted().is_empty());
}

/// The schema check catches what Teams refuses (a check that cannot fail
/// proves nothing).
#[test]
fn the_card_check_catches_what_teams_refuses() {
    let good = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": "t", "wrap": true},
            {"type": "FactSet", "facts": [{"title": "a", "value": "b"}]},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://x.example/a"}],
    });
    assert_eq!(adaptive_card_violations(&good), Vec::<String>::new());
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut card = good.clone();
        f(&mut card);
        adaptive_card_violations(&card)
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("card.version", broken(&|c| c["version"] = json!("1.6"))),
        (
            "card.version",
            broken(&|c| {
                c.as_object_mut()
                    .unwrap()
                    .remove("version")
                    .map(drop)
                    .unwrap()
            }),
        ),
        // The schema: unknown properties, required ones, types.
        // (The schema types `color` with a pattern only, so a number passes it.)
        (
            "/body/0",
            broken(&|c| c["body"][0]["maxLines"] = json!("two")),
        ),
        (
            "/body/0",
            broken(&|c| {
                c["body"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("text")
                    .map(drop)
                    .unwrap()
            }),
        ),
        (
            "/body/1",
            broken(&|c| c["body"][1]["facts"][0]["value"] = json!(1)),
        ),
        (
            "/body/1",
            broken(&|c| c["body"][1]["facts"][0]["name"] = json!("x")),
        ),
        (
            "/actions/0",
            broken(&|c| {
                c["actions"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("url")
                    .map(drop)
                    .unwrap()
            }),
        ),
        (
            "/actions/0",
            broken(&|c| c["actions"][0]["type"] = json!("Action.Http")),
        ),
        (
            "card: ",
            broken(&|c| c["msteams"] = json!({"width": "Full"})),
        ),
        (
            "without wrap",
            broken(&|c| c["body"][0]["wrap"] = json!(false)),
        ),
    ];
    for (expected, v) in cases {
        assert!(
            v.iter().any(|m| m.contains(expected)),
            "expected {expected:?}, got {v:?}"
        );
    }
    // The envelope around it.
    let ok = json!({"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": good}]});
    assert_eq!(
        teams_body_violations(ok.to_string().as_bytes()),
        Vec::<String>::new()
    );
    let mut wrong = ok.clone();
    wrong["attachments"][0]["contentType"] = json!("application/json");
    assert!(!teams_body_violations(wrong.to_string().as_bytes()).is_empty());
    let bare = serde_json::to_vec(&good).unwrap();
    assert!(
        !teams_body_violations(&bare).is_empty(),
        "a card without the envelope"
    );
    let mut huge = ok.clone();
    huge["attachments"][0]["content"]["body"][0]["text"] = json!("x".repeat(30_000));
    assert!(
        teams_body_violations(huge.to_string().as_bytes())
            .iter()
            .any(|m| m.contains("bytes"))
    );
}
