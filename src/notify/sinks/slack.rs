//! Slack: an incoming webhook taking Block Kit, or a bot that posts with
//! `chat.postMessage` and edits its own message with `chat.update` when the
//! finding is acknowledged, accepted or resolved.
//!
//! Everything that comes from the cloud or from people (values, tags,
//! addresses, names, reasons, a receiver's error text) is mrkdwn-escaped
//! (`&`, `<`, `>`), so a tag can neither mention `@channel` nor forge a link.
//! Slack's limits (3,000 characters per text, 10 fields of 2,000, a header of
//! 150, 50 blocks) are met by summing up, not by cutting: whole lines are kept
//! while they fit and the rest is counted ("… and 12 more; see the report"),
//! and a single long value is shortened before it is escaped and quoted, so
//! nothing is ever cut inside an escape, a code span, a link or a character.
//! Lengths are counted in UTF-16 units, which is never less than characters,
//! so the limits hold however Slack counts.

use crate::config::{ChannelConfig, ChannelKind};
use crate::notify::{
    Action, ChannelFailure, Delivery, Digest, Message, MessageKind, Receipt, Retry, SendError,
    SendFuture, Sink, Subject, http,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Longest text of a section, or of a context element.
pub const TEXT_LIMIT: usize = 3000;
/// Longest text of one section field.
pub const FIELD_LIMIT: usize = 2000;
/// Most fields in one section.
pub const FIELDS_MAX: usize = 10;
/// Longest header text.
pub const HEADER_LIMIT: usize = 150;
/// Most blocks in one message.
pub const BLOCKS_MAX: usize = 50;
/// Longest button URL; a longer report link gets no button.
pub const BUTTON_URL_LIMIT: usize = 3000;
/// Digest lines a message lists; the rest are counted.
pub const DIGEST_LINES: usize = 40;
/// Longest top-level `text` (the notification and the fallback of clients
/// without blocks).
pub const FALLBACK_LIMIT: usize = 1000;
/// Longest piece (a path, a value, an address) inside one line, before
/// escaping and quoting; keeps any one line far below a section's limit.
const PIECE_LIMIT: usize = 400;
/// Longest report URL put into a mrkdwn link (a longer one is left out and
/// the command is shown instead).
const LINK_URL_LIMIT: usize = 1000;

/// Slack Web API errors that a later attempt can get past; every other
/// `ok: false` error is a refusal of the request itself.
const TRANSIENT_ERRORS: [&str; 6] = [
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// `chat.update` errors after which the original message cannot be edited
/// (deleted, too old, not ours): a follow-up message is posted instead.
const UNEDITABLE_ERRORS: [&str; 3] = [
    "message_not_found",
    "cant_update_message",
    "edit_window_closed",
];

pub struct SlackSink {
    name: String,
    webhook_url: Option<String>,
    bot: Option<Bot>,
    client: reqwest::Client,
}

/// A bot token and the channel it posts to.
struct Bot {
    token: String,
    channel: String,
    /// The Web API base, without a trailing `/`.
    api_url: String,
}

impl SlackSink {
    pub fn new(channel: &ChannelConfig) -> Result<SlackSink, String> {
        let ChannelKind::Slack {
            webhook_url,
            token,
            channel: slack_channel,
            api_url,
        } = &channel.kind
        else {
            return Err("not a slack channel".into());
        };
        let webhook_url = webhook_url.as_ref().map(super::secret).transpose()?;
        // A token without a channel is refused by validation; with both a
        // webhook and a bot, the bot is used (it can edit its messages).
        let bot = match (token, slack_channel) {
            (Some(token), Some(slack_channel)) => Some(Bot {
                token: super::secret(token)?,
                channel: slack_channel.clone(),
                api_url: api_url.trim_end_matches('/').to_string(),
            }),
            _ => None,
        };
        if webhook_url.is_none() && bot.is_none() {
            return Err("a slack channel needs `webhook_url`, or `token` and `channel`".into());
        }
        Ok(SlackSink {
            name: channel.name.clone(),
            webhook_url,
            bot,
            client: http::client(channel.timeout),
        })
    }

    fn what(&self) -> String {
        format!("slack {}", self.name)
    }

    async fn post_webhook(&self, url: &str, rendered: &Rendered) -> Result<Receipt, SendError> {
        let body = json!({
            "text": rendered.text,
            "blocks": rendered.blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        });
        // Slack answers `ok` with 200; refusals are 4xx with a word
        // (`invalid_payload`, `no_service`, `channel_is_archived`).
        http::send(&self.what(), self.client.post(url).json(&body)).await?;
        Ok(json!({ "via": "webhook" }))
    }

    /// Calls a Web API method; the answer's JSON object, whether `ok` or not.
    async fn call(&self, bot: &Bot, method: &str, body: &Value) -> Result<Value, SendError> {
        let what = format!("{} {method}", self.what());
        let body =
            serde_json::to_vec(body).map_err(|e| SendError::permanent(format!("{what}: {e}")))?;
        let request = self
            .client
            .post(format!("{}/{method}", bot.api_url))
            .bearer_auth(&bot.token)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(body);
        let (status, text) = http::send(&what, request).await?;
        match serde_json::from_str::<Value>(&text) {
            Ok(answer) if answer.is_object() => Ok(answer),
            _ => Err(SendError {
                // Not confirmed: the message may or may not be there.
                retry: Retry::Later(None),
                status: Some(status),
                detail: format!(
                    "{what}: the answer is not the Web API's JSON: {}",
                    crate::notify::message::truncate(text.trim(), 200)
                ),
            }),
        }
    }

    /// The answer as a receipt when it is `ok`, or the error it names.
    fn answered(&self, method: &str, answer: &Value) -> Result<Receipt, SendError> {
        if answer["ok"] == Value::Bool(true) {
            return Ok(json!({ "channel": answer["channel"], "ts": answer["ts"] }));
        }
        let error = answer["error"].as_str().unwrap_or("unknown_error");
        let retry = if TRANSIENT_ERRORS.contains(&error) {
            Retry::Later(None)
        } else {
            Retry::Never
        };
        let advice = match error {
            "invalid_auth" | "not_authed" | "token_revoked" | "token_expired"
            | "account_inactive" | "missing_scope" => {
                ": check the channel's bot token and its chat:write scope"
            }
            "channel_not_found" => {
                ": check `channel` (the channel's id) and that the bot can see it"
            }
            "not_in_channel" => ": invite the bot to the channel",
            "is_archived" => ": the channel is archived",
            _ => "",
        };
        // Slack explains block errors in `response_metadata.messages`.
        let explained: Vec<&str> = answer["response_metadata"]["messages"]
            .as_array()
            .map(|m| m.iter().filter_map(Value::as_str).take(3).collect())
            .unwrap_or_default();
        let mut detail = format!("{} {method}: {error}{advice}", self.what());
        if !explained.is_empty() {
            detail.push_str(": ");
            detail.push_str(&crate::notify::message::truncate(
                &explained.join("; "),
                300,
            ));
        }
        Err(SendError {
            retry,
            status: Some(200),
            detail,
        })
    }

    async fn post_message(&self, bot: &Bot, rendered: &Rendered) -> Result<Receipt, SendError> {
        let body = json!({
            "channel": bot.channel,
            "text": rendered.text,
            "blocks": rendered.blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        });
        let answer = self.call(bot, "chat.postMessage", &body).await?;
        self.answered("chat.postMessage", &answer)
    }

    /// Edits the finding's first message to show its new state, or posts a
    /// short follow-up when there is no message to edit.
    async fn edit_or_follow_up(
        &self,
        bot: &Bot,
        delivery: &Delivery<'_>,
    ) -> Result<Receipt, SendError> {
        if let Some((channel, ts)) = earlier_message(delivery.earlier_receipt) {
            let rendered = render(delivery.message);
            let body = json!({
                "channel": channel,
                "ts": ts,
                "text": rendered.text,
                "blocks": rendered.blocks,
            });
            let answer = self.call(bot, "chat.update", &body).await?;
            let uneditable = answer["error"]
                .as_str()
                .is_some_and(|e| UNEDITABLE_ERRORS.contains(&e));
            if !uneditable {
                return self.answered("chat.update", &answer);
            }
        }
        self.post_message(bot, &follow_up(delivery.message)).await
    }
}

/// The channel and `ts` of a message the bot posted, from its receipt.
fn earlier_message(receipt: Option<&Value>) -> Option<(&str, &str)> {
    let receipt = receipt?;
    Some((receipt["channel"].as_str()?, receipt["ts"].as_str()?))
}

impl Sink for SlackSink {
    fn kind(&self) -> &'static str {
        "slack"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let edit = matches!(delivery.action, Action::Acknowledge | Action::Resolve);
            match (&self.bot, &self.webhook_url) {
                (Some(bot), _) if edit => self.edit_or_follow_up(bot, delivery).await,
                (Some(bot), _) => self.post_message(bot, &render(delivery.message)).await,
                // A webhook cannot edit what it posted: a short follow-up says it.
                (None, Some(url)) if edit => {
                    self.post_webhook(url, &follow_up(delivery.message)).await
                }
                (None, Some(url)) => self.post_webhook(url, &render(delivery.message)).await,
                (None, None) => Err(SendError::permanent(format!(
                    "{}: no webhook and no bot",
                    self.what()
                ))),
            }
        })
    }
}

/// A Slack message: `text` (the notification, and what clients without
/// blocks show) and its Block Kit blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub blocks: Vec<Value>,
}

/// The whole message: what, where, who and how, tier and why, blast radius,
/// the commands, and a button to the report.
pub fn render(message: &Message) -> Rendered {
    let mut blocks = vec![header(&message.title)];
    if let Some(subject) = &message.subject {
        finding_blocks(message, subject, &mut blocks);
    } else if let Some(digest) = &message.digest {
        digest_blocks(message, digest, &mut blocks);
    } else if let Some(failure) = &message.failure {
        failure_blocks(failure, &mut blocks);
    }
    blocks.push(context(message));
    blocks.extend(button(message));
    Rendered {
        text: fallback(message),
        blocks,
    }
}

/// A short message saying what became of a finding told about earlier (for a
/// webhook, which cannot edit what it posted).
pub fn follow_up(message: &Message) -> Rendered {
    let Some(subject) = &message.subject else {
        return render(message);
    };
    let text = format!(
        "{}\n{}",
        status_line(message, subject),
        escape_cut(&message.title, TEXT_LIMIT - 1000)
    );
    let mut blocks = vec![section(text), context(message)];
    blocks.extend(button(message));
    Rendered {
        text: fallback(message),
        blocks,
    }
}

fn finding_blocks(message: &Message, s: &Subject, blocks: &mut Vec<Value>) {
    let mut status = status_line(message, s);
    if matches!(message.kind, MessageKind::Resolved | MessageKind::Accepted)
        && !message.title.contains('~')
    {
        status.push_str(&format!("\n~{}~", escape_cut(&message.title, 500)));
    }
    blocks.push(section(status));
    blocks.push(section(changes_text(message, s)));
    blocks.push(fields_section(where_fields(s)));
    blocks.push(section(actor_text(s)));
    blocks.push(section(tier_text(s)));
    if !s.commands.is_empty() {
        let commands: Vec<String> = s.commands.iter().map(|c| code(c, PIECE_LIMIT)).collect();
        blocks.push(section(summarise(
            "*To act*".into(),
            &commands,
            0,
            TEXT_LIMIT,
            |k| format!("… and {k} more"),
        )));
    }
}

/// What happened to the finding, in one line.
fn status_line(message: &Message, s: &Subject) -> String {
    let tier = format!("tier {} ({})", s.tier.tier, escape_cut(&s.tier.name, 50));
    let by = match (&s.state_by, &s.state_reason) {
        (Some(by), Some(why)) => format!(" by {}: {}", escape_cut(by, 200), escape_cut(why, 500)),
        (Some(by), None) => format!(" by {}", escape_cut(by, 200)),
        (None, Some(why)) => format!(": {}", escape_cut(why, 500)),
        (None, None) => String::new(),
    };
    match message.kind {
        MessageKind::Escalated => format!(":arrow_double_up: *Escalated* to {tier}"),
        MessageKind::Acknowledged => format!(":eyes: *Acknowledged*{by}"),
        MessageKind::Accepted => format!(":white_check_mark: *Accepted as intended*{by}"),
        MessageKind::Resolved => format!(":white_check_mark: *Resolved*: no longer seen{by}"),
        _ if s.tier.tier >= 3 => format!(":rotating_light: *New drift* · {tier}"),
        _ => format!(":mag: *New drift* · {tier}"),
    }
}

fn changes_text(message: &Message, s: &Subject) -> String {
    let head = format!("*What drifted* ({})", escape_cut(&s.drift, 50));
    if s.changes.is_empty() && s.more_changes == 0 {
        let what = match s.drift.as_str() {
            "unmanaged" => "In the cloud, in no Terraform state.",
            "missing" => "In a Terraform state, gone from the cloud.",
            _ => "The changed attributes are in the report.",
        };
        return format!("{head}\n{what}");
    }
    let lines: Vec<String> = s
        .changes
        .iter()
        .map(|c| {
            format!(
                "• {}: {} → {}",
                code(&c.path, PIECE_LIMIT),
                value(c.old.as_deref()),
                value(c.new.as_deref())
            )
        })
        .collect();
    let command = format!("driftd findings show {}", s.finding_id);
    summarise(head, &lines, s.more_changes, TEXT_LIMIT, |k| {
        more(message, k, &command)
    })
}

fn value(v: Option<&str>) -> String {
    match v {
        None => "_(absent)_".into(),
        Some("") => "_(empty)_".into(),
        Some(v) => code(v, PIECE_LIMIT),
    }
}

/// Where it is, and how far it reaches: one field each.
fn where_fields(s: &Subject) -> Vec<String> {
    let mut fields = vec![
        format!(
            "*Resource*\n{} {}",
            code(&s.resource_type, PIECE_LIMIT),
            code(&s.resource_id, PIECE_LIMIT)
        ),
        format!(
            "*Target*\n{} ({})",
            escape_cut(&s.target, PIECE_LIMIT),
            escape_cut(&s.environment, PIECE_LIMIT)
        ),
    ];
    if let Some(address) = &s.address {
        fields.push(format!("*Address*\n{}", code(address, PIECE_LIMIT)));
    }
    if let Some(account) = &s.account {
        fields.push(format!("*Account*\n{}", escape_cut(account, PIECE_LIMIT)));
    }
    if let Some(region) = &s.region {
        fields.push(format!("*Region*\n{}", escape_cut(region, PIECE_LIMIT)));
    }
    let dependents: Vec<String> = s.dependents.iter().map(|d| code(d, PIECE_LIMIT)).collect();
    let radius = match s.blast_radius {
        1 => "1 resource depends on it".to_string(),
        n => format!("{n} resources depend on it"),
    };
    let hidden = s.blast_radius.saturating_sub(dependents.len());
    fields.push(summarise(
        format!("*Blast radius*\n{radius}"),
        &dependents,
        hidden,
        FIELD_LIMIT,
        |k| format!("… and {k} more"),
    ));
    fields.push(format!("*First seen*\n{}", when(s.first_seen)));
    fields.push(format!("*State*\n{}", escape_cut(&s.state, PIECE_LIMIT)));
    fields.truncate(FIELDS_MAX);
    fields
}

/// Who changed it and how, with the event that shows it; or that nobody knows yet.
fn actor_text(s: &Subject) -> String {
    let a = &s.actor;
    let mut text = format!("*Who and how*\n{}", escape_cut(&a.summary, 1000));
    if let Some(principal) = &a.principal {
        text.push_str(&format!("\nprincipal {}", code(principal, PIECE_LIMIT)));
    }
    if a.iac {
        text.push_str("\napplied from code (IaC)");
    }
    let event = match (&a.event_name, a.event_time) {
        (Some(name), Some(at)) => Some(format!("{} at {}", code(name, 200), when(at))),
        (Some(name), None) => Some(code(name, 200)),
        (None, Some(at)) => Some(format!("an event at {}", when(at))),
        (None, None) => None,
    };
    if let Some(event) = event {
        text.push('\n');
        text.push_str(&event);
        if let Some(id) = &a.event_id {
            text.push_str(&format!(" · event {}", code(id, 200)));
        }
    }
    text
}

fn tier_text(s: &Subject) -> String {
    let t = &s.tier;
    let rule = match &t.rule {
        Some(rule) => format!(" · rule {}", code(rule, 200)),
        None => " · the default tier".into(),
    };
    format!(
        "*Tier {} ({})*{rule}\n{}",
        t.tier,
        escape_cut(&t.name, 50),
        escape_cut(&t.why, 2000)
    )
}

fn digest_blocks(message: &Message, d: &Digest, blocks: &mut Vec<Value>) {
    let total = d.findings.len();
    blocks.push(section(format!(
        "*{total} open finding{}* · tier 3: {} · tier 2: {} · tier 1: {}\nroute {} · {}",
        if total == 1 { "" } else { "s" },
        d.by_tier[2],
        d.by_tier[1],
        d.by_tier[0],
        code(&d.route, 200),
        escape_cut(&d.period, 200)
    )));
    let lines: Vec<String> = d
        .findings
        .iter()
        .take(DIGEST_LINES)
        .map(digest_line)
        .collect();
    // Lines go into as many sections as they need; the sections stay far
    // below the block limit (each line is at most a few hundred characters).
    let mut text = String::new();
    for line in &lines {
        if !text.is_empty() && units(&text) + 1 + units(line) > TEXT_LIMIT {
            blocks.push(section(std::mem::take(&mut text)));
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
    }
    if !text.is_empty() {
        blocks.push(section(text));
    }
    if total > lines.len() {
        blocks.push(section(more(
            message,
            total - lines.len(),
            "driftd findings list",
        )));
    }
}

fn digest_line(l: &crate::notify::DigestLine) -> String {
    let id = match &l.url {
        Some(url) => link(url, &l.finding_id).unwrap_or_else(|| code(&l.finding_id, 100)),
        None => code(&l.finding_id, 100),
    };
    let address = l
        .address
        .as_ref()
        .map(|a| format!(" {}", code(a, 200)))
        .unwrap_or_default();
    format!(
        "• *T{}* {} {} {} {}{address} in {} · {} since {} · {}",
        l.tier,
        id,
        escape_cut(&l.drift, 50),
        code(&l.resource_type, 200),
        code(&l.resource_id, 200),
        escape_cut(&l.target, 200),
        escape_cut(&l.state, 50),
        when(l.first_seen),
        escape_cut(&l.actor, 300)
    )
}

fn failure_blocks(f: &ChannelFailure, blocks: &mut Vec<Value>) {
    blocks.push(section(format!(
        ":warning: Channel {} is failing: {} deliver{} dead-lettered.\n*Last error*: {}",
        code(&f.channel, 200),
        f.dead,
        if f.dead == 1 { "y is" } else { "ies are" },
        escape_cut(&f.last_error, 2000)
    )));
    blocks.push(section(format!(
        "*To act*\n{}\n{}",
        code("driftd outbox list --dead", 100),
        code("driftd outbox retry ID", 100)
    )));
}

fn header(title: &str) -> Value {
    json!({
        "type": "header",
        "text": { "type": "plain_text", "text": cut(title, HEADER_LIMIT), "emoji": true },
    })
}

fn section(text: String) -> Value {
    debug_assert!(
        units(&text) <= TEXT_LIMIT,
        "a section of {} units",
        units(&text)
    );
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn fields_section(fields: Vec<String>) -> Value {
    debug_assert!(fields.len() <= FIELDS_MAX && fields.iter().all(|f| units(f) <= FIELD_LIMIT));
    let fields: Vec<Value> = fields
        .into_iter()
        .map(|text| json!({ "type": "mrkdwn", "text": text }))
        .collect();
    json!({ "type": "section", "fields": fields })
}

fn context(message: &Message) -> Value {
    let about = match &message.subject {
        Some(s) => format!(
            "finding {} · {}",
            code(&s.finding_id, 100),
            escape_cut(&s.state, 50)
        ),
        None => code(&message.dedup_key, 300),
    };
    json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!("driftd · {about} · {}", when(message.at)) }],
    })
}

/// An actions block with a button to the report, when there is one.
fn button(message: &Message) -> Option<Value> {
    let url = message
        .url
        .as_deref()
        .filter(|u| units(u) <= BUTTON_URL_LIMIT)?;
    Some(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": { "type": "plain_text", "text": "Open in driftd" },
            "url": url,
            "action_id": "driftd_open_report",
        }],
    }))
}

fn fallback(message: &Message) -> String {
    let prefix = match message.kind {
        MessageKind::Acknowledged => "Acknowledged: ",
        MessageKind::Accepted => "Accepted: ",
        MessageKind::Resolved => "Resolved: ",
        _ => "",
    };
    format!(
        "{prefix}{}",
        escape_cut(&message.title, FALLBACK_LIMIT - prefix.len())
    )
}

/// "… and 12 more; see the report" with a link when the message has one,
/// else with the command that shows the rest.
fn more(message: &Message, hidden: usize, command: &str) -> String {
    match message
        .url
        .as_deref()
        .and_then(|url| link(url, "the report"))
    {
        Some(link) => format!("… and {hidden} more; see {link}"),
        None => format!("… and {hidden} more: {}", code(command, 200)),
    }
}

/// `<url|label>`, or `None` for a URL that cannot be a Slack link.
fn link(url: &str, label: &str) -> Option<String> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && units(url) <= LINK_URL_LIMIT
        && !url.contains(|c: char| c == '|' || c == '<' || c == '>' || c.is_whitespace());
    ok.then(|| format!("<{}|{}>", escape(url), escape_cut(label, 200)))
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Lines under a head, as many as fit in `limit` with the count of the rest
/// (`hidden` more are not in `lines` at all); whole lines only.
fn summarise(
    head: String,
    lines: &[String],
    hidden: usize,
    limit: usize,
    tail: impl Fn(usize) -> String,
) -> String {
    let mut text = head;
    let mut shown = 0;
    for line in lines {
        let rest = lines.len() - shown - 1 + hidden;
        let tail_units = if rest > 0 { 1 + units(&tail(rest)) } else { 0 };
        if units(&text) + 1 + units(line) + tail_units > limit {
            break;
        }
        text.push('\n');
        text.push_str(line);
        shown += 1;
    }
    let rest = lines.len() - shown + hidden;
    if rest > 0 {
        text.push('\n');
        text.push_str(&tail(rest));
    }
    text
}

/// Length as Slack may count it: UTF-16 units (at least the characters).
pub fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `text` escaped for mrkdwn: `&`, `<` and `>` as entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        // One line: a value's newline would end a code span or a list item.
        '\n' | '\r' => out.push(' '),
        c => out.push(c),
    }
}

/// `text` escaped, at most `limit` units, ending in `…` when shortened; never
/// cut inside an entity or a character.
pub fn escape_cut(text: &str, limit: usize) -> String {
    let escaped = escape(text);
    if units(&escaped) <= limit {
        return escaped;
    }
    let mut out = String::new();
    let mut used = 0;
    let mut piece = String::new();
    for c in text.chars() {
        piece.clear();
        push_escaped(&mut piece, c);
        if used + units(&piece) + 1 > limit {
            break;
        }
        used += units(&piece);
        out.push_str(&piece);
    }
    out.push('…');
    out
}

/// `text` as inline code, at most `limit` units; plain escaped text when it
/// holds a backtick (which would end the span).
pub fn code(text: &str, limit: usize) -> String {
    if text.contains('`') || text.is_empty() {
        return escape_cut(text, limit);
    }
    format!("`{}`", escape_cut(text, limit.saturating_sub(2)))
}

/// Plain text cut to `limit` units, ending in `…` when cut.
fn cut(text: &str, limit: usize) -> String {
    if units(text) <= limit {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + c.len_utf16() + 1 > limit {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::notify::{ActorLine, Change, DigestLine, TierLine};
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2022, 1, 11, 12, 15, 0).unwrap()
    }

    /// A small finding (shared with the Teams tests).
    pub(crate) fn subject(changes: Vec<Change>) -> Subject {
        Subject {
            finding_id: "f1".into(),
            drift: "changed".into(),
            target: "prod".into(),
            environment: "prod".into(),
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            resource_type: "aws_security_group".into(),
            resource_id: "sg-1".into(),
            address: Some("aws_security_group.web".into()),
            changes,
            more_changes: 0,
            tier: TierLine {
                tier: 2,
                name: "propose".into(),
                rule: None,
                why: "default".into(),
            },
            actor: ActorLine::pending(),
            blast_radius: 3,
            dependents: vec!["aws_instance.a".into()],
            first_seen: at(),
            state: "open".into(),
            state_by: None,
            state_reason: None,
            commands: vec!["driftd ack f1".into()],
        }
    }

    pub(crate) fn message(kind: MessageKind, subject: Subject) -> Message {
        Message {
            kind,
            at: at(),
            title: "changed aws_security_group sg-1".into(),
            dedup_key: "driftd/f1".into(),
            url: Some("https://driftd.example/findings/f1?a=1&b=2".into()),
            subject: Some(subject),
            digest: None,
            failure: None,
        }
    }

    fn texts(rendered: &Rendered) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for block in &rendered.blocks {
            if let Some(t) = block["text"]["text"].as_str() {
                out.push((
                    t.to_string(),
                    if block["type"] == "header" {
                        HEADER_LIMIT
                    } else {
                        TEXT_LIMIT
                    },
                ));
            }
            for f in block["fields"].as_array().into_iter().flatten() {
                out.push((f["text"].as_str().unwrap().to_string(), FIELD_LIMIT));
            }
        }
        out
    }

    #[test]
    fn escapes_control_characters_and_never_cuts_an_entity() {
        assert_eq!(escape("a & <b> \n"), "a &amp; &lt;b&gt;  ");
        for limit in 1..30 {
            let cut = escape_cut("<<<<<<<<<<&&&&&&&&", limit);
            assert!(units(&cut) <= limit, "{cut} over {limit}");
            let body = cut.trim_end_matches('…');
            assert!(
                body.replace("&lt;", "").replace("&amp;", "").is_empty(),
                "cut inside an entity at {limit}: {cut}"
            );
        }
        // Four-byte characters count as two units and are never split.
        assert_eq!(escape_cut("😀😀😀", 5), "😀😀…");
        assert_eq!(code("a`b", 10), "a`b");
        assert_eq!(code("x<y", 10), "`x&lt;y`");
        assert_eq!(cut("ééé", 2), "é…");
    }

    #[test]
    fn summing_up_keeps_whole_lines_and_counts_the_rest() {
        let lines: Vec<String> = (0..100)
            .map(|i| format!("line {i:03} {}", "x".repeat(i % 40)))
            .collect();
        for limit in 100..700 {
            let text = summarise("head".into(), &lines, 7, limit, |k| {
                format!("… and {k} more")
            });
            assert!(units(&text) <= limit, "{} over {limit}", units(&text));
            let kept: Vec<&str> = text.lines().skip(1).collect();
            let (tail, kept) = kept.split_last().unwrap();
            assert!(
                kept.iter().enumerate().all(|(i, l)| *l == lines[i]),
                "whole lines, in order"
            );
            assert_eq!(*tail, format!("… and {} more", 100 - kept.len() + 7));
            // As many as fit: one more line and the tail would not.
            let one_more = units(&text) + 1 + units(&lines[kept.len()]);
            assert!(one_more > limit - 2, "room left at {limit}");
        }
        // Everything fits: no tail.
        let text = summarise("head".into(), &lines[..2], 0, 500, |k| {
            format!("… and {k} more")
        });
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn a_finding_is_escaped_and_within_every_limit() {
        let evil = "<!channel> & <https://evil.example|click>";
        let mut changes: Vec<Change> = (0..60)
            .map(|i| {
                Change::new(
                    &format!("tags.k{i}"),
                    Some(&json!("&".repeat(300))),
                    Some(&json!(evil)),
                )
            })
            .collect();
        changes.push(Change::new("policy", None, Some(&json!("`tick`"))));
        let mut s = subject(changes);
        s.more_changes = 5;
        s.tier.why = "<".repeat(5000);
        s.dependents = (0..500)
            .map(|i| format!("aws_instance.{}", "i".repeat(i % 50)))
            .collect();
        s.blast_radius = 900;
        let m = message(MessageKind::New, s);
        let r = render(&m);
        assert!(r.blocks.len() <= BLOCKS_MAX);
        for (text, limit) in texts(&r) {
            assert!(
                units(&text) <= limit,
                "{} units over {limit}: {text}",
                units(&text)
            );
            assert!(
                !text.contains("<!channel>") && !text.contains("<https://evil"),
                "{text}"
            );
        }
        let what = r.blocks[2]["text"]["text"].as_str().unwrap();
        assert!(
            what.contains("more; see <https://driftd.example/findings/f1?a=1&amp;b=2|the report>"),
            "{what}"
        );
        let hidden: usize = what
            .rsplit("… and ")
            .next()
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let shown = what.lines().filter(|l| l.starts_with("• ")).count();
        assert_eq!(shown + hidden, 61 + 5, "every change is shown or counted");
        assert!(r.blocks.iter().any(|b| b["type"] == "actions"));
    }

    #[test]
    fn resolved_and_acknowledged_say_so_and_by_whom() {
        let mut s = subject(vec![]);
        s.state_by = Some("alice@corp".into());
        s.state_reason = Some("hotfix <INC-1>".into());
        let r = render(&message(MessageKind::Resolved, s.clone()));
        let status = r.blocks[1]["text"]["text"].as_str().unwrap();
        assert!(
            status.contains("*Resolved*") && status.contains("by alice@corp: hotfix &lt;INC-1&gt;"),
            "{status}"
        );
        assert!(
            status.contains("~changed aws_security_group sg-1~"),
            "{status}"
        );
        assert!(r.text.starts_with("Resolved: "));
        let f = follow_up(&message(MessageKind::Acknowledged, s));
        assert!(f.blocks.len() <= 3, "a follow-up is short");
        assert!(
            f.blocks[0]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("*Acknowledged* by alice@corp")
        );
    }

    #[test]
    fn a_long_digest_lists_some_and_counts_the_rest() {
        let lines = (0..10_000)
            .map(|i| DigestLine {
                finding_id: format!("{i:016x}"),
                tier: (i % 3) as u8 + 1,
                drift: "changed".into(),
                target: "t".into(),
                resource_type: "aws_s3_bucket".into(),
                resource_id: format!("b{i}"),
                address: None,
                state: "open".into(),
                first_seen: at(),
                actor: "unknown — still looking".into(),
                url: None,
            })
            .collect();
        let (findings, by_tier) = crate::notify::message::digest_lines(lines);
        let m = Message {
            kind: MessageKind::Digest,
            at: at(),
            title: "digest".into(),
            dedup_key: "driftd/digest/r/p".into(),
            url: None,
            subject: None,
            digest: Some(Digest {
                route: "r".into(),
                period: "p".into(),
                findings,
                by_tier,
            }),
            failure: None,
        };
        let r = render(&m);
        assert!(r.blocks.len() <= BLOCKS_MAX);
        let all: String = texts(&r)
            .into_iter()
            .map(|(t, _)| t)
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            all.lines().filter(|l| l.starts_with("• ")).count(),
            DIGEST_LINES
        );
        assert!(all.contains(&format!(
            "… and {} more: `driftd findings list`",
            10_000 - DIGEST_LINES
        )));
    }

    #[test]
    fn web_api_errors_are_transient_or_final() {
        let sink = SlackSink {
            name: "s".into(),
            webhook_url: None,
            bot: None,
            client: http::client(std::time::Duration::from_secs(1)),
        };
        let ok = sink.answered(
            "chat.postMessage",
            &json!({"ok": true, "channel": "C1", "ts": "1.2"}),
        );
        assert_eq!(ok.unwrap(), json!({"channel": "C1", "ts": "1.2"}));
        for (error, retry) in [
            ("ratelimited", Retry::Later(None)),
            ("internal_error", Retry::Later(None)),
            ("service_unavailable", Retry::Later(None)),
            ("invalid_auth", Retry::Never),
            ("channel_not_found", Retry::Never),
            ("msg_too_long", Retry::Never),
            ("invalid_blocks", Retry::Never),
        ] {
            let e = sink
                .answered("chat.postMessage", &json!({"ok": false, "error": error}))
                .unwrap_err();
            assert_eq!(e.retry, retry, "{error}");
            assert!(e.detail.contains(error), "{}", e.detail);
        }
    }
}
