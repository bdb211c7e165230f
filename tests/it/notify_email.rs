//! The email sink against a real SMTP server (aiosmtpd, `support::smtp`):
//! STARTTLS with a private CA and a login, implicit TLS, plain to a loopback
//! relay; what arrives (headers, both bodies, no secret), and how failures
//! are classified.

use crate::support::notify::{SECRET_HASH, digest_message, failure_message, finding_message};
use crate::support::smtp::{Options, Received, ServerTls, SmtpServer, TestCa};
use driftd::config::{ChannelConfig, ChannelKind, EmailChannel, SecretRef, SmtpTls};
use driftd::notify::sinks::email::EmailSink;
use driftd::notify::{Action, Delivery, Message, MessageKind, Receipt, Retry, SendError, Sink};
use std::time::Duration;

const USER: &str = "driftd";
const PASSWORD: &str = "Tr0ub4dor&3-smtp-only";
const FROM: &str = "driftd@alerts.example.com";
const TO: [&str; 2] = ["platform-oncall@example.com", "security@example.com"];
const FINDING: &str = "3f9a0c1d2e4b5a69";

/// The channel a test configures. The password is read from a file, as
/// `password = { file = "..." }` would.
struct Channel {
    tls: SmtpTls,
    ca_file: Option<std::path::PathBuf>,
    login: Option<(&'static str, &'static str)>,
    to: Vec<String>,
    timeout: Duration,
}

impl Channel {
    fn new(tls: SmtpTls) -> Channel {
        Channel {
            tls,
            ca_file: None,
            login: None,
            to: TO.iter().map(|t| t.to_string()).collect(),
            timeout: Duration::from_secs(10),
        }
    }

    fn trusting(mut self, ca: &TestCa) -> Channel {
        self.ca_file = Some(ca.ca_pem.clone());
        self
    }

    fn login(mut self, user: &'static str, password: &'static str) -> Channel {
        self.login = Some((user, password));
        self
    }

    fn sink(self, port: u16) -> EmailSink {
        // The password is read when the sink is built, never again.
        let secrets = tempfile::tempdir().unwrap();
        let password = self.login.map(|(_, password)| {
            let file = secrets.path().join("smtp-password");
            std::fs::write(&file, format!("{password}\n")).unwrap();
            SecretRef::File(file)
        });
        let config = ChannelConfig {
            name: "mail-platform".into(),
            kind: ChannelKind::Email(EmailChannel {
                host: "127.0.0.1".into(),
                port,
                tls: self.tls,
                ca_file: self.ca_file,
                username: self.login.map(|(user, _)| user.to_string()),
                password,
                from: format!("driftd <{FROM}>"),
                to: self.to,
            }),
            rate_per_second: 10.0,
            timeout: self.timeout,
        };
        EmailSink::new(&config).unwrap_or_else(|e| panic!("the email sink does not build: {e}"))
    }
}

/// A server with a certificate from a private CA and a login, and the CA.
fn secure_server(tls: ServerTls, fail_data: usize) -> (TestCa, SmtpServer) {
    let ca = TestCa::generate();
    let server = SmtpServer::start(Options {
        tls,
        ca: Some(&ca),
        auth: Some((USER, PASSWORD)),
        fail_data,
    });
    (ca, server)
}

/// A channel that trusts `ca` and logs in with the right password.
fn secure(tls: SmtpTls, ca: &TestCa) -> Channel {
    Channel::new(tls).trusting(ca).login(USER, PASSWORD)
}

async fn send(
    sink: &EmailSink,
    id: &str,
    action: Action,
    message: &Message,
    earlier: Option<&Receipt>,
) -> Result<Receipt, SendError> {
    sink.send(&Delivery {
        id,
        action,
        message,
        earlier_receipt: earlier,
    })
    .await
}

/// The error a new finding's delivery ends in.
async fn refusal(sink: &EmailSink) -> SendError {
    let message = finding_message(MessageKind::New);
    send(sink, "d-1", Action::Notify, &message, None)
        .await
        .expect_err("the delivery fails")
}

/// `text` as the HTML part must show it.
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63])
            } else {
                '='
            });
        }
    }
    out
}

/// Fails when a secret is anywhere in the message: raw (encoded) or as
/// Python's email package decodes it.
fn assert_no_secret(mail: &Received) {
    let decoded = mail.meta["parsed"].to_string();
    let forbidden = [
        SECRET_HASH.to_string(),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843".to_string(),
        PASSWORD.to_string(),
        base64(PASSWORD.as_bytes()),
        base64(format!("\0{USER}\0{PASSWORD}").as_bytes()),
    ];
    for secret in &forbidden {
        assert!(
            !mail.raw.contains(secret.as_str()),
            "{secret} is in the raw message:\n{}",
            mail.raw
        );
        assert!(
            !decoded.contains(secret.as_str()),
            "{secret} is in the decoded message:\n{decoded}"
        );
    }
}

/// The structure every message has: multipart/alternative, text then HTML,
/// UTF-8, nothing Python's parser finds wrong, nothing remote in the HTML.
fn assert_well_formed(mail: &Received) {
    let parsed = &mail.meta["parsed"];
    assert_eq!(
        parsed["content_type"], "multipart/alternative",
        "{}",
        mail.raw
    );
    let types: Vec<&str> = parsed["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["text/plain", "text/html"],
        "the plain part first, the preferred HTML last"
    );
    for part in parsed["parts"].as_array().unwrap() {
        assert_eq!(part["charset"], "utf-8");
    }
    assert_eq!(parsed["defects"], serde_json::json!([]), "{}", mail.raw);
    let html = mail.part("text/html").to_lowercase();
    for remote in [
        "<img", "<link", "<style", "<script", "src=", "url(", "@import",
    ] {
        assert!(!html.contains(remote), "the HTML has {remote}: {html}");
    }
    assert!(html.contains("<body style="), "styles are inline");
    assert_eq!(mail.one_header("From"), format!("driftd <{FROM}>"));
    assert_eq!(mail.one_header("To"), TO.join(", "));
    assert_eq!(mail.one_header("Auto-Submitted"), "auto-generated");
    assert_eq!(mail.meta["mail_from"], FROM);
    assert_eq!(mail.meta["rcpt_tos"], serde_json::json!(TO));
}

/// A finding's text as the two parts must carry it.
fn finding_needles() -> Vec<&'static str> {
    vec![
        // What drifted, old → new.
        "ingress",
        r#""cidr_blocks":["0.0.0.0/0"]"#,
        "tags.Owner",
        "platform",
        "(sensitive)",
        "policy",
        "(absent)",
        "2 more changed paths",
        // Where.
        "prod-network",
        "environment prod",
        "218007301253",
        "eu-west-1",
        "aws_security_group sg-04cfb7a4712d75b00",
        r#"module.net.aws_security_group.open["ssh"]"#,
        // Who and how.
        "bert-jan (IAMUser, cli, from 84.86.117.172)",
        "arn:aws:iam::123837392027:user/bert-jan",
        "AuthorizeSecurityGroupIngress at 2022-01-11T12:10:08+00:00",
        "74bd84b4-9bc4-4a5b-9bd4-2e7b7fd0a9e6",
        // The tier and why.
        "3 · advise",
        "world-open-ports",
        "rule world-open-ports: security open_to_world (ingress 22/tcp from 0.0.0.0/0)",
        // Blast radius.
        "14 resources depend on it",
        "aws_instance.bastion",
        "aws_lb.public",
        "and 12 more",
        // Commands and the link.
        "driftd ack 3f9a0c1d2e4b5a69",
        r#"driftd accept 3f9a0c1d2e4b5a69 --reason "...""#,
        "https://driftd.example.com/findings/3f9a0c1d2e4b5a69",
    ]
}

fn assert_carries(mail: &Received, needles: &[&str]) {
    let text = mail.part("text/plain");
    let html = mail.part("text/html");
    for needle in needles {
        assert!(
            text.contains(needle),
            "the text part lacks {needle:?}:\n{text}"
        );
        let escaped = html_escaped(needle);
        assert!(
            html.contains(&escaped),
            "the HTML part lacks {escaped:?}:\n{html}"
        );
    }
}

#[tokio::test]
async fn starttls_with_a_private_ca_and_login_is_retried_after_451_and_delivered_once() {
    let (ca, server) = secure_server(ServerTls::StartTls, 2);
    let sink = secure(SmtpTls::StartTls, &ca).sink(server.port());
    let message = finding_message(MessageKind::New);

    // The test plays the outbox worker: the same delivery until accepted.
    let mut errors = Vec::new();
    let receipt = loop {
        match send(
            &sink,
            "event/17/mail-platform",
            Action::Notify,
            &message,
            None,
        )
        .await
        {
            Ok(receipt) => break receipt,
            Err(e) => {
                assert!(errors.len() < 5, "never accepted: {errors:?}");
                errors.push(e);
            }
        }
    };
    assert_eq!(errors.len(), 2, "{errors:?}");
    for e in &errors {
        assert_eq!(e.retry, Retry::Later(None), "{e:?}");
        assert_eq!(e.status, Some(451), "{e:?}");
        assert!(
            e.detail.contains("email mail-platform: SMTP 451"),
            "{}",
            e.detail
        );
        assert!(!e.detail.contains(PASSWORD), "{}", e.detail);
    }

    let received = server.received();
    assert_eq!(received.len(), 1, "exactly one accepted delivery");
    let mail = &received[0];
    // Every attempt was the same message: the receiving side can tell a
    // resend.
    let refused = server.refused();
    assert_eq!(refused.len(), 2);
    for attempt in &refused {
        assert_eq!(
            attempt.one_header("Message-ID"),
            mail.one_header("Message-ID")
        );
        assert_eq!(attempt.one_header("Date"), mail.one_header("Date"));
        assert_eq!(attempt.part("text/plain"), mail.part("text/plain"));
        assert_eq!(attempt.part("text/html"), mail.part("text/html"));
    }
    assert_eq!(mail.meta["tls"], true, "sent inside STARTTLS");
    assert_eq!(mail.meta["login"], USER, "logged in");
    let message_id = mail.one_header("Message-ID");
    assert_eq!(receipt["message_id"], message_id.as_str());
    assert_eq!(message_id, sink.message_id("event/17/mail-platform"));
    assert_eq!(
        message_id,
        "<driftd.event/17/mail-platform@alerts.example.com>"
    );
    assert!(
        receipt["reply"]
            .as_str()
            .unwrap()
            .contains("queued as 0001"),
        "{receipt}"
    );
    assert_well_formed(mail);
    assert_no_secret(mail);
}

#[tokio::test]
async fn every_kind_arrives_with_both_bodies_its_headers_and_no_secret() {
    let (ca, server) = secure_server(ServerTls::StartTls, 0);
    let sink = secure(SmtpTls::StartTls, &ca).sink(server.port());

    let new = send(
        &sink,
        "d-new",
        Action::Notify,
        &finding_message(MessageKind::New),
        None,
    )
    .await
    .unwrap();
    let first = Some(&new);
    let events = [
        (
            "d-escalated",
            Action::Notify,
            finding_message(MessageKind::Escalated),
        ),
        (
            "d-ack",
            Action::Acknowledge,
            finding_message(MessageKind::Acknowledged),
        ),
        (
            "d-accepted",
            Action::Resolve,
            finding_message(MessageKind::Accepted),
        ),
        (
            "d-resolved",
            Action::Resolve,
            finding_message(MessageKind::Resolved),
        ),
        ("d-digest", Action::Notify, digest_message(3)),
        ("d-failed", Action::Notify, failure_message()),
    ];
    for (id, action, message) in &events {
        send(&sink, id, *action, message, first).await.unwrap();
    }
    let received = server.received();
    assert_eq!(received.len(), 7, "one message per event");
    for mail in &received {
        assert_well_formed(mail);
        assert_no_secret(mail);
    }

    // What is the same for every finding message.
    let subjects = [
        "[driftd][tier 3] changed aws_security_group sg-04cfb7a4712d75b00 (ingress) in prod-network",
        "[driftd][tier 3] escalated: changed aws_security_group sg-04cfb7a4712d75b00 (ingress) in prod-network",
        "[driftd][tier 3] acknowledged: changed aws_security_group sg-04cfb7a4712d75b00 (ingress) in prod-network",
        "[driftd][tier 3] accepted: changed aws_security_group sg-04cfb7a4712d75b00 (ingress) in prod-network",
        "[driftd][tier 3] resolved: changed aws_security_group sg-04cfb7a4712d75b00 (ingress) in prod-network",
    ];
    let ids = ["d-new", "d-escalated", "d-ack", "d-accepted", "d-resolved"];
    let events_named = [
        "finding.new",
        "finding.escalated",
        "finding.acknowledged",
        "finding.accepted",
        "finding.resolved",
    ];
    for (i, mail) in received[..5].iter().enumerate() {
        assert_eq!(mail.one_header("Subject"), subjects[i]);
        assert_eq!(
            mail.one_header("Message-ID"),
            format!("<driftd.{}@alerts.example.com>", ids[i])
        );
        assert_eq!(mail.one_header("X-Driftd-Event"), events_named[i]);
        assert_eq!(mail.one_header("X-Driftd-Finding"), FINDING);
        assert_carries(mail, &finding_needles());
        let text = mail.part("text/plain");
        let html = mail.part("text/html");
        // The tag a cloud user wrote is text in both parts, never markup.
        assert!(text.contains("<script>alert(1)</script>"), "{text}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains(SECRET_HASH));
    }
    // An acknowledgement and a resolution answer the first message; the
    // new and escalated ones start no thread.
    let first_id = new["message_id"].as_str().unwrap();
    for mail in &received[..2] {
        assert!(
            mail.header("In-Reply-To").is_empty() && mail.header("References").is_empty(),
            "{}",
            mail.raw
        );
    }
    for mail in &received[2..5] {
        assert_eq!(mail.one_header("In-Reply-To"), first_id);
        assert_eq!(mail.one_header("References"), first_id);
    }
    assert_carries(&received[2], &["Acknowledged"]);
    assert_carries(&received[3], &["Accepted as intended"]);
    assert_carries(&received[4], &["Resolved: the drift is no longer seen"]);

    let digest = &received[5];
    assert_eq!(
        digest.one_header("Subject"),
        "[driftd] digest: 3 open findings"
    );
    assert_eq!(digest.one_header("X-Driftd-Event"), "digest");
    assert!(digest.header("X-Driftd-Finding").is_empty());
    assert_carries(
        digest,
        &[
            "route prod",
            "0000000000000000",
            "0000000000000002",
            "sg-00000000000000001",
            "unknown — still looking",
        ],
    );

    let failed = &received[6];
    assert_eq!(
        failed.one_header("Subject"),
        "[driftd] channel slack-platform is failing"
    );
    assert_eq!(failed.one_header("X-Driftd-Event"), "channel.failed");
    assert_carries(
        failed,
        &[
            "slack-platform",
            "slack slack-platform: HTTP 404: no_service",
            "driftd outbox list --dead",
        ],
    );
}

#[tokio::test]
async fn a_digest_of_10000_findings_carries_every_line_over_plain_smtp_to_loopback() {
    let server = SmtpServer::start(Options::default());
    let sink = Channel::new(SmtpTls::None).sink(server.port());
    let message = digest_message(10_000);
    send(&sink, "d-digest", Action::Notify, &message, None)
        .await
        .unwrap();

    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.meta["tls"], false);
    assert_well_formed(mail);
    assert_no_secret(mail);
    assert_eq!(
        mail.one_header("Subject"),
        "[driftd] digest: 10000 open findings"
    );
    let text = mail.part("text/plain");
    let html = mail.part("text/html");
    // Every finding, in the message's order (highest tier first), once: the
    // first two cells (id, tier) of each row in either part.
    let expected: Vec<(String, String)> = message
        .digest
        .as_ref()
        .unwrap()
        .findings
        .iter()
        .map(|l| (l.finding_id.clone(), l.tier.to_string()))
        .collect();
    let text_rows: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let mut cells = l.strip_prefix("  ")?.split(" | ");
            let (id, tier) = (cells.next()?, cells.next()?);
            (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| (id.to_string(), tier.to_string()))
        })
        .collect();
    assert!(
        text_rows == expected,
        "the text part's rows differ from the digest's findings"
    );
    let html_rows: Vec<(String, String)> = html
        .lines()
        .filter_map(|l| {
            let mut cells = l.strip_prefix("<tr><td>")?.split("</td><td>");
            Some((cells.next()?.to_string(), cells.next()?.to_string()))
        })
        .collect();
    assert!(
        html_rows == expected,
        "the HTML part's rows differ from the digest's findings"
    );
    assert_carries(
        mail,
        &["10000 open findings on route prod (3333 tier 3, 3333 tier 2, 3334 tier 1)"],
    );
    let size = mail.raw.len();
    eprintln!(
        "digest of 10000 findings: {size} bytes on the wire (text {} bytes, HTML {} bytes decoded)",
        text.len(),
        html.len()
    );
    assert!(
        size < 8 * 1024 * 1024,
        "{size} bytes is more than most servers take"
    );
}

#[tokio::test]
async fn implicit_tls_with_login_delivers() {
    let (ca, server) = secure_server(ServerTls::Implicit, 0);
    let sink = secure(SmtpTls::Implicit, &ca).sink(server.port());
    send(
        &sink,
        "d-1",
        Action::Notify,
        &finding_message(MessageKind::New),
        None,
    )
    .await
    .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].meta["tls"], true);
    assert_eq!(received[0].meta["login"], USER);
    assert_no_secret(&received[0]);
}

#[tokio::test]
async fn a_wrong_password_is_never_retried_and_says_to_check_the_login() {
    let (ca, server) = secure_server(ServerTls::StartTls, 0);
    let wrong = "not-the-Password-42";
    let sink = Channel::new(SmtpTls::StartTls)
        .trusting(&ca)
        .login(USER, wrong)
        .sink(server.port());
    let e = refusal(&sink).await;
    assert_eq!(e.retry, Retry::Never, "{e:?}");
    assert_eq!(e.status, Some(535), "{e:?}");
    assert!(
        e.detail
            .contains("refused the login as \"driftd\": check username/password"),
        "{}",
        e.detail
    );
    for secret in [
        wrong.to_string(),
        base64(wrong.as_bytes()),
        base64(format!("\0{USER}\0{wrong}").as_bytes()),
    ] {
        assert!(!e.detail.contains(&secret), "{}", e.detail);
    }
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_refused_recipient_is_never_retried() {
    let server = SmtpServer::start(Options::default());
    let mut channel = Channel::new(SmtpTls::None);
    channel.to = vec!["reject@example.com".into()];
    let sink = channel.sink(server.port());
    let e = send(&sink, "d-1", Action::Notify, &failure_message(), None)
        .await
        .unwrap_err();
    assert_eq!(e.retry, Retry::Never, "{e:?}");
    assert_eq!(e.status, Some(550));
    assert!(
        e.detail
            .contains("check the channel's from and to addresses"),
        "{}",
        e.detail
    );
    assert!(
        e.detail.contains("recipient address rejected"),
        "{}",
        e.detail
    );
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_server_that_is_down_or_silent_is_retried_later() {
    // Nothing listens: the port was free a moment ago.
    let port = crate::support::moto::free_port();
    let sink = Channel::new(SmtpTls::StartTls)
        .login(USER, PASSWORD)
        .sink(port);
    let e = refusal(&sink).await;
    assert_eq!(e.retry, Retry::Later(None), "{e:?}");
    assert_eq!(e.status, None);
    assert!(
        e.detail.starts_with("email mail-platform: "),
        "{}",
        e.detail
    );

    // Something accepts the connection and never greets.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut channel = Channel::new(SmtpTls::StartTls).login(USER, PASSWORD);
    channel.timeout = Duration::from_secs(1);
    let sink = channel.sink(silent.local_addr().unwrap().port());
    let e = tokio::time::timeout(Duration::from_secs(20), refusal(&sink))
        .await
        .expect("the channel's timeout bounds a send");
    assert_eq!(e.retry, Retry::Later(None), "{e:?}");
    assert!(e.detail.contains("timed out after 1s"), "{}", e.detail);
}

#[tokio::test]
async fn nothing_is_sent_to_a_server_whose_certificate_is_not_trusted() {
    let (_ca, server) = secure_server(ServerTls::StartTls, 0);
    // No ca_file: the private CA is not trusted.
    let sink = Channel::new(SmtpTls::StartTls)
        .login(USER, PASSWORD)
        .sink(server.port());
    let e = refusal(&sink).await;
    assert!(
        e.detail.to_lowercase().contains("certificate"),
        "{}",
        e.detail
    );
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn starttls_is_required_not_opportunistic() {
    // A server that offers no STARTTLS (as a downgrade would look).
    let server = SmtpServer::start(Options::default());
    let sink = Channel::new(SmtpTls::StartTls)
        .login(USER, PASSWORD)
        .sink(server.port());
    let e = refusal(&sink).await;
    assert_eq!(e.retry, Retry::Never, "{e:?}");
    assert!(e.detail.contains("STARTTLS"), "{}", e.detail);
    assert!(
        server.received().is_empty(),
        "nothing, and no password, went in clear text"
    );
}
