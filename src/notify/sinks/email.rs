//! Email over SMTP (lettre, rustls): one `multipart/alternative` message per
//! delivery, a plain-text part and an HTML part rendered from the same
//! [`Doc`], so the two never say different things.
//!
//! - Subject: `[driftd][tier N] <title>` for a finding, `[driftd] digest: …`,
//!   `[driftd] channel X is failing`.
//! - `Message-ID` comes from the delivery id, so a resend after a crash is
//!   the same message to the receiving side; acknowledge and resolve
//!   messages carry `In-Reply-To`/`References` to the finding's first
//!   message (its receipt), which keeps the thread.
//! - `X-Driftd-Event` (as the webhook's) and `X-Driftd-Finding` let mail
//!   rules sort; `Auto-Submitted: auto-generated` keeps vacation replies away.
//! - HTML: every value is escaped, styles are inline, nothing is loaded from
//!   elsewhere (no images, no stylesheets), links only to http(s).
//!
//! The transport is built once: TLS required by STARTTLS, implicit TLS, or
//! none (validation allows that only to a loopback relay); `ca_file` adds a
//! private CA to the system's roots. A connection is opened per delivery:
//! mail volumes are small, and lettre's pool would spawn a task at build
//! time, which needs a runtime where the sink is built. lettre's timeout
//! covers the TCP connect only, so the channel's timeout bounds the whole
//! send here.
//!
//! Replies: 4xx and network trouble are worth a retry, 5xx is not (a 5xx to
//! AUTH says to check the login). Errors never hold the password, nor the
//! base64 forms AUTH sends it in.

use crate::config::{ChannelConfig, ChannelKind, EmailChannel, SmtpTls};
use crate::notify::message::MessageKind;
use crate::notify::{
    Action, Change, Delivery, Message, Retry, SendError, SendFuture, Sink, Subject,
};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::borrow::Cow;
use std::fmt::Write as _;

pub struct EmailSink {
    name: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// The right-hand side of the `Message-ID`s it makes: the sender's domain.
    id_domain: String,
    /// Who logs in, for the "check username/password" error.
    username: Option<String>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// How long one delivery may take, all of it.
    timeout: std::time::Duration,
    /// What an error must never show: the password and the base64 forms
    /// AUTH PLAIN and LOGIN send it in (a server may echo a line it rejects).
    redact: Vec<String>,
}

impl EmailSink {
    pub fn new(channel: &ChannelConfig) -> Result<EmailSink, String> {
        let ChannelKind::Email(email) = &channel.kind else {
            return Err("not an email channel".into());
        };
        let from: Mailbox = email
            .from
            .parse()
            .map_err(|e| format!("from \"{}\" is not an email address: {e}", email.from))?;
        let to = email
            .to
            .iter()
            .map(|t| {
                t.parse()
                    .map_err(|e| format!("to \"{t}\" is not an email address: {e}"))
            })
            .collect::<Result<Vec<Mailbox>, String>>()?;
        if to.is_empty() {
            return Err("no recipient in `to`".into());
        }
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(email.host.as_str())
                .port(email.port)
                .tls(tls(email)?)
                .timeout(Some(channel.timeout));
        let mut redact = Vec::new();
        if let (Some(username), Some(password)) = (&email.username, &email.password) {
            let password = super::secret(password)?;
            if !password.is_empty() {
                // AUTH PLAIN sends base64("\0user\0password"), LOGIN base64("password").
                redact = vec![
                    base64(format!("\0{username}\0{password}").as_bytes()),
                    base64(password.as_bytes()),
                    password.clone(),
                ];
            }
            builder = builder
                .credentials(Credentials::new(username.clone(), password))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        let domain = from.email.domain();
        let id_domain = if !domain.is_empty()
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            domain.to_string()
        } else {
            "driftd.invalid".to_string()
        };
        Ok(EmailSink {
            name: channel.name.clone(),
            from,
            to,
            id_domain,
            username: email.username.clone(),
            transport: builder.build(),
            timeout: channel.timeout,
            redact,
        })
    }

    /// `<driftd.<delivery id>@<sender's domain>>`: the same on every retry
    /// of a delivery; characters a Message-ID cannot hold are `%XX`.
    pub fn message_id(&self, delivery_id: &str) -> String {
        message_id(delivery_id, &self.id_domain)
    }

    /// The email for a delivery, as it will be sent.
    pub fn render(&self, delivery: &Delivery<'_>) -> Result<lettre::Message, String> {
        let message = delivery.message;
        let message_id = self.message_id(delivery.id);
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .subject(subject_line(message))
            .date(std::time::SystemTime::from(message.at))
            .message_id(Some(message_id))
            .raw_header(header("Auto-Submitted", "auto-generated"))
            .raw_header(header(
                "X-Driftd-Event",
                &super::webhook::event_name(message),
            ));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        if let Some(subject) = &message.subject {
            builder = builder.raw_header(header("X-Driftd-Finding", &subject.finding_id));
        }
        if matches!(delivery.action, Action::Acknowledge | Action::Resolve)
            && let Some(first) = earlier_message_id(delivery.earlier_receipt)
        {
            builder = builder.in_reply_to(first.clone()).references(first);
        }
        let doc = Doc::of(message);
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(doc.text()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(doc.html()),
                    ),
            )
            .map_err(|e| format!("cannot build the email: {e}"))
    }

    /// `text` without the password or the forms AUTH sends it in.
    fn scrub(&self, mut text: String) -> String {
        for secret in &self.redact {
            text = text.replace(secret.as_str(), "(redacted)");
        }
        text
    }

    /// A send failure as the outbox reads it: 4xx and network trouble are
    /// worth another try, 5xx is not.
    fn send_error(&self, error: &lettre::transport::smtp::Error) -> SendError {
        // lettre's Display is its kind ("permanent error (535)") and its
        // direct source (the server's reply); deeper sources follow. With a
        // reply code, the code says the kind.
        let mut text = if error.status().is_some() {
            String::new()
        } else {
            error.to_string()
        };
        let mut source = std::error::Error::source(error);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.ends_with(&s_text) {
                if !text.is_empty() {
                    text.push_str(": ");
                }
                text.push_str(&s_text);
            }
            source = s.source();
        }
        let text = self.scrub(text);
        let what = format!("email {}", self.name);
        let Some(code) = error.status() else {
            let retry = if error.is_client() {
                // STARTTLS or AUTH not offered, 8-bit content refused: the
                // server and the config disagree; trying again cannot help.
                Retry::Never
            } else {
                Retry::Later(None)
            };
            let text = if error.is_timeout() {
                format!("timed out: {text}")
            } else {
                text
            };
            return SendError {
                retry,
                status: None,
                detail: format!("{what}: {text}"),
            };
        };
        let code = u16::from(code);
        let advice = match code {
            530 | 534 | 535 | 538 => match &self.username {
                Some(user) => {
                    format!(": the server refused the login as \"{user}\": check username/password")
                }
                None => ": the server wants a login: set username and password".into(),
            },
            550 | 551 | 553 => ": check the channel's from and to addresses".into(),
            552 => ": the server refused the message's size".into(),
            _ => String::new(),
        };
        SendError {
            retry: if code >= 500 {
                Retry::Never
            } else {
                Retry::Later(None)
            },
            status: Some(code),
            detail: format!("{what}: SMTP {code}{advice}: {text}"),
        }
    }
}

impl Sink for EmailSink {
    fn kind(&self) -> &'static str {
        "email"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let email = self
                .render(delivery)
                .map_err(|e| SendError::permanent(format!("email {}: {e}", self.name)))?;
            let message_id = self.message_id(delivery.id);
            // lettre bounds the TCP connect only; a server that stops
            // answering mid-session would hold the delivery forever.
            let response = tokio::time::timeout(self.timeout, self.transport.send(email))
                .await
                .map_err(|_| {
                    SendError::transient(format!(
                        "email {}: timed out after {:?} without the server's answer",
                        self.name, self.timeout
                    ))
                })?
                .map_err(|e| self.send_error(&e))?;
            let reply = response.message().collect::<Vec<_>>().join(" ");
            Ok(serde_json::json!({ "message_id": message_id, "reply": reply }))
        })
    }
}

fn tls(email: &EmailChannel) -> Result<Tls, String> {
    if email.tls == SmtpTls::None {
        return Ok(Tls::None);
    }
    let mut parameters = TlsParameters::builder(email.host.clone());
    if let Some(path) = &email.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!(
                "ca_file {} holds no PEM certificate",
                path.display()
            ));
        }
        let certificate =
            Certificate::from_pem(&pem).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        parameters = parameters.add_root_certificate(certificate);
    }
    let parameters = parameters
        .build()
        .map_err(|e| format!("TLS setup for {}: {e}", email.host))?;
    Ok(match email.tls {
        SmtpTls::StartTls => Tls::Required(parameters),
        _ => Tls::Wrapper(parameters),
    })
}

fn message_id(delivery_id: &str, domain: &str) -> String {
    if delivery_id.is_empty() {
        return format!("<driftd@{domain}>");
    }
    let mut local = String::from("driftd.");
    for b in delivery_id.bytes() {
        // RFC 5322 atext; the rest (':' of a timestamp, '.', '%') as %XX,
        // so two ids never make one Message-ID.
        if b.is_ascii_alphanumeric() || b"-_/+=".contains(&b) {
            local.push(char::from(b));
        } else {
            let _ = write!(local, "%{b:02X}");
        }
    }
    format!("<{local}@{domain}>")
}

/// The Message-ID in an earlier receipt, when it is one (it goes into a
/// header: nothing but `<…@…>` in printable ASCII is taken).
fn earlier_message_id(receipt: Option<&serde_json::Value>) -> Option<String> {
    let id = receipt?.get("message_id")?.as_str()?;
    let valid = id.len() <= 250
        && id.starts_with('<')
        && id.ends_with('>')
        && id.contains('@')
        && id.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| id.to_string())
}

fn header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), one_line(value))
}

/// `text` with control characters (a newline in a title) made spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The subject line.
pub fn subject_line(message: &Message) -> String {
    let line = match (&message.subject, &message.digest, &message.failure) {
        (Some(subject), _, _) => {
            let title = strip_tags(&message.title);
            let verb = match message.kind {
                MessageKind::Escalated => "escalated",
                MessageKind::Acknowledged => "acknowledged",
                MessageKind::Accepted => "accepted",
                MessageKind::Resolved => "resolved",
                _ => "",
            };
            let title = if verb.is_empty() || starts_with_word(title, verb) {
                title.to_string()
            } else {
                format!("{verb}: {title}")
            };
            format!("[driftd][tier {}] {title}", subject.tier.tier)
        }
        (_, Some(digest), _) => {
            let mut rest = strip_tags(&message.title);
            for word in ["driftd", "digest"] {
                if starts_with_word(rest, word) {
                    rest = rest[word.len()..].trim_start_matches([':', ' ']);
                }
            }
            if rest.is_empty() {
                format!("[driftd] digest: {} open findings", digest.findings.len())
            } else {
                format!("[driftd] digest: {rest}")
            }
        }
        (_, _, Some(failure)) => format!("[driftd] channel {} is failing", failure.channel),
        _ => format!("[driftd] {}", strip_tags(&message.title)),
    };
    one_line(&line)
}

/// `title` without leading `[tier N]` and `[driftd]` tags: the subject
/// puts its own.
fn strip_tags(title: &str) -> &str {
    let mut rest = title.trim();
    loop {
        let Some(tag) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) else {
            return rest;
        };
        let known = tag.0 == "driftd"
            || tag
                .0
                .strip_prefix("tier ")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !known {
            return rest;
        }
        rest = tag.1.trim_start();
    }
}

fn starts_with_word(text: &str, word: &str) -> bool {
    text.get(..word.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(word))
        && !text[word.len()..].starts_with(|c: char| c.is_alphanumeric())
}

/// What an email says, once; [`Doc::text`] and [`Doc::html`] render it.
struct Doc<'a> {
    /// The tier and its name, for findings.
    tier: Option<(u8, &'a str)>,
    heading: String,
    lead: Vec<String>,
    sections: Vec<Section<'a>>,
    link: Option<&'a str>,
    footer: Vec<String>,
}

struct Section<'a> {
    title: &'static str,
    block: Block<'a>,
}

enum Block<'a> {
    /// Label and value rows.
    Fields(Vec<(&'static str, String)>),
    /// What changed, old → new, and how many more paths there are.
    Changes(&'a [Change], usize),
    Lines(Vec<String>),
    /// Shell commands, shown monospaced.
    Commands(Vec<String>),
    /// A table (the digest); a row's link goes on its first cell.
    Table(&'static [&'static str], Vec<(Vec<String>, Option<&'a str>)>),
}

const TIME: &str = "%Y-%m-%d %H:%M UTC";

impl<'a> Doc<'a> {
    fn of(message: &'a Message) -> Doc<'a> {
        let mut doc = Doc {
            tier: None,
            heading: strip_tags(&message.title).to_string(),
            lead: Vec::new(),
            sections: Vec::new(),
            link: message.url.as_deref(),
            footer: Vec::new(),
        };
        if let Some(subject) = &message.subject {
            doc.finding(message.kind, subject);
        } else if let Some(digest) = &message.digest {
            let [t1, t2, t3] = digest.by_tier;
            doc.lead.push(format!(
                "{} open findings on route {} ({t3} tier 3, {t2} tier 2, {t1} tier 1), period {}.",
                digest.findings.len(),
                digest.route,
                digest.period
            ));
            let rows = digest
                .findings
                .iter()
                .map(|l| {
                    let cells = vec![
                        l.finding_id.clone(),
                        l.tier.to_string(),
                        format!("{} {} {}", l.drift, l.resource_type, l.resource_id),
                        l.address.clone().unwrap_or_default(),
                        l.target.clone(),
                        format!("{} since {}", l.state, l.first_seen.format(TIME)),
                        l.actor.clone(),
                    ];
                    (cells, l.url.as_deref())
                })
                .collect();
            doc.sections.push(Section {
                title: "Open findings",
                block: Block::Table(
                    &[
                        "Finding", "Tier", "Drift", "Address", "Target", "State", "Who",
                    ],
                    rows,
                ),
            });
            doc.sections.push(Section {
                title: "Commands",
                block: Block::Commands(vec![
                    "driftd findings list".into(),
                    "driftd findings show <finding>".into(),
                    "driftd ack <finding>".into(),
                ]),
            });
            doc.footer.push(format!(
                "driftd digest · route {} · {}",
                digest.route, digest.period
            ));
        } else if let Some(failure) = &message.failure {
            doc.lead.push(format!(
                "driftd could not deliver to channel {}: {} deliveries are dead-lettered.",
                failure.channel, failure.dead
            ));
            doc.sections.push(Section {
                title: "Failure",
                block: Block::Fields(vec![
                    ("Channel", failure.channel.clone()),
                    ("Dead-lettered", failure.dead.to_string()),
                    ("Last error", failure.last_error.clone()),
                ]),
            });
            doc.sections.push(Section {
                title: "Commands",
                block: Block::Commands(vec![
                    "driftd outbox list --dead".into(),
                    "driftd outbox retry <id>".into(),
                ]),
            });
            doc.footer
                .push(format!("driftd · channel {}", failure.channel));
        }
        doc.footer
            .push(format!("Sent by driftd at {}.", message.at.format(TIME)));
        doc
    }

    fn finding(&mut self, kind: MessageKind, s: &'a Subject) {
        self.tier = Some((s.tier.tier, &s.tier.name));
        let by = match (&s.state_by, &s.state_reason) {
            (Some(by), Some(reason)) => format!(" by {by}: {reason}"),
            (Some(by), None) => format!(" by {by}"),
            (None, Some(reason)) => format!(": {reason}"),
            (None, None) => String::new(),
        };
        let lead = match kind {
            MessageKind::New => format!("New drift, first seen {}.", s.first_seen.format(TIME)),
            MessageKind::Escalated => {
                format!("Escalated to tier {} ({}).", s.tier.tier, s.tier.name)
            }
            MessageKind::Acknowledged => format!("Acknowledged{by}."),
            MessageKind::Accepted => format!("Accepted as intended{by}."),
            MessageKind::Resolved => format!("Resolved: the drift is no longer seen{by}."),
            MessageKind::Digest | MessageKind::ChannelFailed => String::new(),
        };
        self.lead.extend((!lead.is_empty()).then_some(lead));

        let drifted = match s.drift.as_str() {
            "changed" if s.changes.is_empty() && s.more_changes == 0 => {
                Block::Lines(vec!["Changed; the report has the details.".into()])
            }
            "changed" => Block::Changes(&s.changes, s.more_changes),
            "unmanaged" => Block::Lines(vec![
                "Unmanaged: it exists in the cloud but in no Terraform state.".into(),
            ]),
            "missing" => Block::Lines(vec![
                "Missing: the Terraform state has it, the cloud does not.".into(),
            ]),
            other => Block::Lines(vec![other.to_string()]),
        };
        self.sections.push(Section {
            title: "What drifted",
            block: drifted,
        });

        let mut place = vec![(
            "Target",
            format!("{} (environment {})", s.target, s.environment),
        )];
        place.extend(s.account.clone().map(|a| ("Account", a)));
        place.extend(s.region.clone().map(|r| ("Region", r)));
        place.push(("Resource", format!("{} {}", s.resource_type, s.resource_id)));
        place.extend(s.address.clone().map(|a| ("Address", a)));
        self.sections.push(Section {
            title: "Where",
            block: Block::Fields(place),
        });

        let actor = &s.actor;
        let mut who = vec![("Actor", actor.summary.clone())];
        who.extend(actor.principal.clone().map(|p| ("Principal", p)));
        who.extend(actor.identity_type.clone().map(|p| ("Identity", p)));
        let how = match (&actor.channel, actor.iac) {
            (Some(channel), true) => Some(format!("{channel} (applied from code)")),
            (Some(channel), false) => Some(channel.clone()),
            (None, true) => Some("applied from code".into()),
            (None, false) => None,
        };
        who.extend(how.map(|h| ("How", h)));
        who.extend(actor.source_ip.clone().map(|ip| ("Source IP", ip)));
        if let Some(event) = &actor.event_name {
            let at = actor
                .event_time
                .map(|t| format!(" at {}", t.to_rfc3339()))
                .unwrap_or_default();
            who.push(("Event", format!("{event}{at}")));
        }
        who.extend(actor.event_id.clone().map(|id| ("Event id", id)));
        self.sections.push(Section {
            title: "Who and how",
            block: Block::Fields(who),
        });

        self.sections.push(Section {
            title: "Tier",
            block: Block::Fields(vec![
                ("Tier", format!("{} · {}", s.tier.tier, s.tier.name)),
                (
                    "Rule",
                    s.tier
                        .rule
                        .clone()
                        .unwrap_or_else(|| "(default tier)".into()),
                ),
                ("Why", s.tier.why.clone()),
            ]),
        });

        let mut radius = vec![match s.blast_radius {
            0 => "Nothing depends on it.".to_string(),
            1 => "1 resource depends on it.".to_string(),
            n => format!("{n} resources depend on it."),
        }];
        radius.extend(s.dependents.iter().cloned());
        let unnamed = s.blast_radius.saturating_sub(s.dependents.len());
        if unnamed > 0 && !s.dependents.is_empty() {
            radius.push(format!("… and {unnamed} more"));
        }
        self.sections.push(Section {
            title: "Blast radius",
            block: Block::Lines(radius),
        });

        if !s.commands.is_empty() {
            self.sections.push(Section {
                title: "Commands",
                block: Block::Commands(s.commands.clone()),
            });
        }
        self.footer.push(format!(
            "driftd · finding {} · {} · first seen {}",
            s.finding_id,
            s.state,
            s.first_seen.format(TIME)
        ));
    }

    fn text(&self) -> String {
        let mut out = String::new();
        if let Some((tier, name)) = self.tier {
            let _ = writeln!(out, "TIER {tier} · {}", name.to_uppercase());
        }
        let _ = writeln!(out, "{}", self.heading);
        for line in &self.lead {
            let _ = writeln!(out, "{line}");
        }
        for section in &self.sections {
            let _ = writeln!(out, "\n{}", section.title.to_uppercase());
            match &section.block {
                Block::Fields(fields) => {
                    let width = fields
                        .iter()
                        .map(|(l, _)| l.chars().count())
                        .max()
                        .unwrap_or(0);
                    for (label, value) in fields {
                        let _ = writeln!(
                            out,
                            "  {:width$}  {value}",
                            format!("{label}:"),
                            width = width + 1
                        );
                    }
                }
                Block::Changes(changes, more) => {
                    for c in *changes {
                        let _ = writeln!(
                            out,
                            "  {}:\n    was: {}\n    now: {}",
                            c.path,
                            or_absent(&c.old),
                            or_absent(&c.new)
                        );
                    }
                    if *more > 0 {
                        let _ = writeln!(out, "  … and {more} more changed paths (see the report)");
                    }
                }
                Block::Lines(lines) => {
                    for line in lines {
                        let _ = writeln!(out, "  {line}");
                    }
                }
                Block::Commands(commands) => {
                    for command in commands {
                        let _ = writeln!(out, "  $ {command}");
                    }
                }
                Block::Table(columns, rows) => {
                    let _ = writeln!(out, "  {}", columns.join(" | "));
                    for (cells, link) in rows {
                        out.push_str("  ");
                        for (i, cell) in cells.iter().enumerate() {
                            if i > 0 {
                                out.push_str(" | ");
                            }
                            out.push_str(if cell.is_empty() { "-" } else { cell });
                        }
                        if let Some(link) = link {
                            let _ = write!(out, " | {link}");
                        }
                        out.push('\n');
                    }
                }
            }
        }
        if let Some(link) = self.link {
            let _ = writeln!(out, "\nOpen in driftd: {link}");
        }
        out.push_str("\n-- \n");
        for line in &self.footer {
            let _ = writeln!(out, "{line}");
        }
        out
    }

    fn html(&self) -> String {
        const CODE: &str =
            "font-family:SFMono-Regular,Consolas,'Liberation Mono',monospace;font-size:12px";
        const LABEL: &str =
            "padding:2px 16px 2px 0;color:#59636e;vertical-align:top;white-space:nowrap";
        const VALUE: &str = "padding:2px 0;vertical-align:top;word-break:break-word";
        let mut out = String::with_capacity(4096);
        out.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">");
        let _ = writeln!(out, "<title>{}</title></head>", escape(&self.heading));
        out.push_str("<body style=\"margin:0;padding:0;background:#f6f8fa\">\n<div style=\"max-width:860px;margin:0 auto;padding:20px;background:#ffffff;color:#1f2328;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:14px;line-height:1.45\">\n");
        if let Some((tier, name)) = self.tier {
            let colour = match tier {
                3 => "#cf222e",
                2 => "#9a6700",
                _ => "#0969da",
            };
            let _ = writeln!(
                out,
                "<p style=\"margin:0 0 8px\"><span style=\"display:inline-block;padding:2px 8px;border-radius:10px;background:{colour};color:#ffffff;font-size:12px;font-weight:600\">TIER {tier} · {}</span></p>",
                escape(&name.to_uppercase())
            );
        }
        let _ = writeln!(
            out,
            "<h1 style=\"margin:0 0 10px;font-size:18px;line-height:1.3\">{}</h1>",
            escape(&self.heading)
        );
        for line in &self.lead {
            let _ = writeln!(out, "<p style=\"margin:0 0 8px\">{}</p>", escape(line));
        }
        for section in &self.sections {
            let _ = writeln!(
                out,
                "<h2 style=\"margin:20px 0 8px;padding-bottom:4px;border-bottom:1px solid #d0d7de;font-size:15px\">{}</h2>",
                section.title
            );
            match &section.block {
                Block::Fields(fields) => {
                    out.push_str("<table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse\">\n");
                    for (label, value) in fields {
                        let _ = writeln!(
                            out,
                            "<tr><td style=\"{LABEL}\">{label}</td><td style=\"{VALUE}\">{}</td></tr>",
                            escape(value)
                        );
                    }
                    out.push_str("</table>\n");
                }
                Block::Changes(changes, more) => {
                    out.push_str("<table cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%\">\n");
                    let _ = writeln!(
                        out,
                        "<tr><th align=\"left\" style=\"{LABEL}\">Attribute</th><th align=\"left\" style=\"{LABEL}\">Was (state)</th><th align=\"left\" style=\"{LABEL}\">Now (cloud)</th></tr>"
                    );
                    for c in *changes {
                        let _ = writeln!(
                            out,
                            "<tr><td style=\"{VALUE};padding-right:12px\"><code style=\"{CODE}\">{}</code></td><td style=\"{VALUE};padding-right:12px\"><code style=\"{CODE};background:#ffebe9\">{}</code></td><td style=\"{VALUE}\"><code style=\"{CODE};background:#dafbe1\">{}</code></td></tr>",
                            escape(&c.path),
                            escape(or_absent(&c.old)),
                            escape(or_absent(&c.new))
                        );
                    }
                    out.push_str("</table>\n");
                    if *more > 0 {
                        let _ = writeln!(
                            out,
                            "<p style=\"margin:6px 0 0;color:#59636e\">… and {more} more changed paths (see the report)</p>"
                        );
                    }
                }
                Block::Lines(lines) => {
                    for line in lines {
                        let _ = writeln!(out, "<p style=\"margin:0 0 4px\">{}</p>", escape(line));
                    }
                }
                Block::Commands(commands) => {
                    let _ = write!(
                        out,
                        "<pre style=\"margin:0;padding:8px 10px;background:#f6f8fa;border-radius:6px;white-space:pre-wrap;{CODE}\">"
                    );
                    for (i, command) in commands.iter().enumerate() {
                        if i > 0 {
                            out.push('\n');
                        }
                        out.push_str(&escape(command));
                    }
                    out.push_str("</pre>\n");
                }
                Block::Table(columns, rows) => {
                    // Thousands of rows: the border and padding come from
                    // table attributes, not a style on every cell.
                    out.push_str("<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse:collapse;border-color:#d0d7de;font-size:12px\">\n<tr>");
                    for column in *columns {
                        let _ = write!(out, "<th align=\"left\">{column}</th>");
                    }
                    out.push_str("</tr>\n");
                    for (cells, link) in rows {
                        out.push_str("<tr>");
                        for (i, cell) in cells.iter().enumerate() {
                            out.push_str("<td>");
                            match link.filter(|_| i == 0).and_then(web_link) {
                                Some(href) => {
                                    let _ = write!(out, "<a href=\"{href}\">{}</a>", escape(cell));
                                }
                                None => out.push_str(&escape(cell)),
                            }
                            out.push_str("</td>");
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</table>\n");
                }
            }
        }
        if let Some(link) = self.link {
            match web_link(link) {
                Some(href) => {
                    let _ = writeln!(
                        out,
                        "<p style=\"margin:20px 0 0\"><a href=\"{href}\" style=\"display:inline-block;padding:6px 12px;border-radius:6px;background:#1f883d;color:#ffffff;text-decoration:none;font-weight:600\">Open in driftd</a> <span style=\"color:#59636e;font-size:12px\">{href}</span></p>"
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "<p style=\"margin:20px 0 0\">Open in driftd: {}</p>",
                        escape(link)
                    );
                }
            }
        }
        out.push_str("<p style=\"margin:24px 0 0;padding-top:8px;border-top:1px solid #d0d7de;color:#59636e;font-size:12px\">");
        for (i, line) in self.footer.iter().enumerate() {
            if i > 0 {
                out.push_str("<br>");
            }
            out.push_str(&escape(line));
        }
        out.push_str("</p>\n</div>\n</body></html>\n");
        out
    }
}

fn or_absent(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(absent)")
}

/// `text` safe inside HTML text and double- or single-quoted attributes.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An http(s) URL escaped for an `href`; anything else (`javascript:`) is
/// not made a link.
fn web_link(url: &str) -> Option<Cow<'_, str>> {
    let scheme = url.split_once("://")?.0;
    (scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http"))
        .then(|| escape(url))
}

/// Standard base64 with padding (what SMTP AUTH sends).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{ChannelFailure, Digest};
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn message(kind: MessageKind, title: &str) -> Message {
        Message {
            kind,
            at: Utc.with_ymd_and_hms(2026, 11, 21, 14, 0, 0).unwrap(),
            title: title.into(),
            dedup_key: "driftd/x".into(),
            url: None,
            subject: None,
            digest: None,
            failure: None,
        }
    }

    fn subject(tier: u8) -> Subject {
        Subject {
            finding_id: "f1".into(),
            drift: "unmanaged".into(),
            target: "prod".into(),
            environment: "prod".into(),
            account: None,
            region: None,
            resource_type: "aws_s3_bucket".into(),
            resource_id: "logs".into(),
            address: None,
            changes: vec![],
            more_changes: 0,
            tier: crate::notify::TierLine {
                tier,
                name: "inform".into(),
                rule: None,
                why: "default".into(),
            },
            actor: crate::notify::ActorLine::pending(),
            blast_radius: 0,
            dependents: vec![],
            first_seen: Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap(),
            state: "open".into(),
            state_by: None,
            state_reason: None,
            commands: vec![],
        }
    }

    #[test]
    fn subjects_carry_one_tier_tag_and_say_what_happened() {
        let mut m = message(
            MessageKind::New,
            "[tier 1] unmanaged aws_s3_bucket logs in prod",
        );
        m.subject = Some(subject(1));
        assert_eq!(
            subject_line(&m),
            "[driftd][tier 1] unmanaged aws_s3_bucket logs in prod"
        );
        m.kind = MessageKind::Resolved;
        assert_eq!(
            subject_line(&m),
            "[driftd][tier 1] resolved: unmanaged aws_s3_bucket logs in prod"
        );
        m.title = "[driftd] [tier 1] Resolved: logs\r\nBcc: x@example.com".into();
        assert_eq!(
            subject_line(&m),
            "[driftd][tier 1] Resolved: logs  Bcc: x@example.com"
        );
        // A bracketed word that is not ours stays.
        m.title = "[prod] logs".into();
        assert_eq!(subject_line(&m), "[driftd][tier 1] resolved: [prod] logs");

        let mut d = message(MessageKind::Digest, "driftd digest: 12 open findings");
        d.digest = Some(Digest {
            route: "prod".into(),
            period: "p".into(),
            findings: vec![],
            by_tier: [0; 3],
        });
        assert_eq!(subject_line(&d), "[driftd] digest: 12 open findings");
        d.title = "digest".into();
        assert_eq!(subject_line(&d), "[driftd] digest: 0 open findings");

        let mut f = message(
            MessageKind::ChannelFailed,
            "driftd: channel slack is failing",
        );
        f.failure = Some(ChannelFailure {
            channel: "slack".into(),
            dead: 1,
            last_error: "x".into(),
        });
        assert_eq!(subject_line(&f), "[driftd] channel slack is failing");
    }

    #[test]
    fn message_ids_are_stable_and_always_valid() {
        assert_eq!(message_id("42", "example.com"), "<driftd.42@example.com>");
        assert_eq!(
            message_id("42", "example.com"),
            message_id("42", "example.com")
        );
        assert_eq!(
            message_id("event/12/mail-ops", "example.com"),
            "<driftd.event/12/mail-ops@example.com>"
        );
        assert_eq!(
            message_id("digest/prod/2026-11-21T14:00:00+00:00/mail", "d"),
            "<driftd.digest/prod/2026-11-21T14%3A00%3A00+00%3A00/mail@d>"
        );
        assert_eq!(message_id("a b>.%", "d"), "<driftd.a%20b%3E%2E%25@d>");
        assert_ne!(message_id("a%20b", "d"), message_id("a b", "d"));
        assert_eq!(message_id("", "d"), "<driftd@d>");
    }

    #[test]
    fn only_a_well_formed_earlier_message_id_is_threaded() {
        let ok = json!({"message_id": "<driftd.1@example.com>"});
        assert_eq!(
            earlier_message_id(Some(&ok)).as_deref(),
            Some("<driftd.1@example.com>")
        );
        for bad in [
            json!({"message_id": "<a@b>\r\nBcc: x@example.com"}),
            json!({"message_id": "a@b"}),
            json!({"message_id": 7}),
            json!({"ts": "1.2"}),
        ] {
            assert_eq!(earlier_message_id(Some(&bad)), None, "{bad}");
        }
        assert_eq!(earlier_message_id(None), None);
    }

    #[test]
    fn html_escapes_and_links_only_to_the_web() {
        assert_eq!(
            escape("<b a=\"1\" c='2'>&</b>"),
            "&lt;b a=&quot;1&quot; c=&#39;2&#39;&gt;&amp;&lt;/b&gt;"
        );
        assert!(matches!(escape("plain"), Cow::Borrowed("plain")));
        assert_eq!(
            web_link("https://x.example/?a=1&b=\"2\"").as_deref(),
            Some("https://x.example/?a=1&amp;b=&quot;2&quot;")
        );
        assert_eq!(web_link("javascript://%0aalert(1)"), None);
        assert_eq!(web_link("/relative"), None);
    }

    #[test]
    fn a_message_renders_its_values_as_text_in_html() {
        let mut m = message(MessageKind::New, "[tier 2] <b>bold</b>");
        let mut s = subject(2);
        s.drift = "changed".into();
        s.changes = vec![Change::new(
            "tags.x",
            Some(&json!("a&b")),
            Some(&json!("<img src=x onerror=alert(1)>")),
        )];
        m.subject = Some(s);
        m.url = Some("javascript:alert(1)".into());
        let doc = Doc::of(&m);
        let html = doc.html();
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(html.contains("a&amp;b"), "{html}");
        assert!(
            !html.contains("<img") && !html.contains("<b>") && !html.contains("href=\"javascript"),
            "{html}"
        );
        let text = doc.text();
        assert!(
            text.contains("tags.x:\n    was: a&b\n    now: <img src=x onerror=alert(1)>"),
            "{text}"
        );
        assert!(text.contains("unknown — still looking"), "{text}");
    }

    #[test]
    fn base64_matches_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    fn channel(tls: SmtpTls, ca_file: Option<std::path::PathBuf>) -> ChannelConfig {
        ChannelConfig {
            name: "mail".into(),
            kind: ChannelKind::Email(EmailChannel {
                host: "smtp.example.com".into(),
                port: 587,
                tls,
                ca_file,
                username: None,
                password: None,
                from: "driftd <driftd@example.com>".into(),
                to: vec!["a@example.com".into()],
            }),
            rate_per_second: 1.0,
            timeout: std::time::Duration::from_secs(5),
        }
    }

    #[test]
    fn errors_never_show_the_password_even_when_a_server_echoes_auth() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "hunter2\n").unwrap();
        let mut config = channel(SmtpTls::StartTls, None);
        let ChannelKind::Email(email) = &mut config.kind else {
            unreachable!()
        };
        email.username = Some("driftd".into());
        email.password = Some(crate::config::SecretRef::File(file));
        let sink = EmailSink::new(&config).unwrap();
        // base64("\0driftd\0hunter2") is what AUTH PLAIN sends,
        // base64("hunter2") what AUTH LOGIN sends.
        let echoed =
            "501 cannot decode AGRyaWZ0ZABodW50ZXIy; 535 aHVudGVyMg== is not hunter2".to_string();
        assert_eq!(
            sink.scrub(echoed),
            "501 cannot decode (redacted); 535 (redacted) is not (redacted)"
        );
    }

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_stops_the_channel() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = EmailSink::new(&channel(SmtpTls::StartTls, Some(missing.clone())))
            .err()
            .unwrap();
        assert!(
            err.starts_with(&format!("cannot read ca_file {}", missing.display())),
            "{err}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = EmailSink::new(&channel(SmtpTls::Implicit, Some(empty.clone())))
            .err()
            .unwrap();
        assert_eq!(
            err,
            format!("ca_file {} holds no PEM certificate", empty.display())
        );
        // Built outside a runtime: nothing is spawned at build time.
        assert!(EmailSink::new(&channel(SmtpTls::StartTls, None)).is_ok());
        assert_eq!(
            EmailSink::new(&channel(SmtpTls::None, None))
                .unwrap()
                .message_id("7"),
            "<driftd.7@example.com>"
        );
    }
}
