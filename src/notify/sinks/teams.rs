//! Microsoft Teams: an Adaptive Card (1.5) posted to a Teams Workflows
//! webhook, in the message envelope the "post to a channel when a webhook
//! request is received" flow takes. The flow answers 202 Accepted.
//!
//! A card tells the same as every sink: a title, what happened (new,
//! escalated, acknowledged, ...), a `FactSet` with the resource, where it is,
//! the actor and event, the tier and why and the blast radius, the changes
//! old → new, the commands, and `Action.OpenUrl` to the report page.
//!
//! Teams renders Markdown in `TextBlock`s and facts, so text from the cloud
//! or from people is escaped (`[`, `*`, `_`, ... take a backslash): a tag
//! cannot become a link or turn `"Action": "*"` into bold text. Teams refuses
//! payloads above about 28 KB, so a card is summed up to stay under
//! [`BODY_LIMIT`] bytes: whole changes or digest lines are kept while they fit
//! and the rest is counted ("… and 9,950 more").

use crate::config::{ChannelConfig, ChannelKind};
use crate::notify::{
    ChannelFailure, Delivery, Digest, DigestLine, Message, MessageKind, SendFuture, Sink, Subject,
    http,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The card version: Teams renders 1.5 (the highest it supports).
pub const CARD_VERSION: &str = "1.5";
/// Most bytes a whole request body may have (Teams' limit is about 28 KB).
pub const BODY_LIMIT: usize = 24_000;
/// Most digest lines a card lists; the rest are counted.
pub const DIGEST_LINES: usize = 50;
/// Bytes the title, status and facts may take; longer facts are shortened.
const HEAD_BUDGET: usize = 12_000;
/// Bytes kept free for the "… and N more" line.
const TAIL_RESERVE: usize = 400;
/// Longest piece (a value, a path, an address) in a line, in characters.
const PIECE_LIMIT: usize = 400;

pub struct TeamsSink {
    name: String,
    url: String,
    client: reqwest::Client,
}

impl TeamsSink {
    pub fn new(channel: &ChannelConfig) -> Result<TeamsSink, String> {
        let ChannelKind::Teams { webhook_url } = &channel.kind else {
            return Err("not a teams channel".into());
        };
        Ok(TeamsSink {
            name: channel.name.clone(),
            url: super::secret(webhook_url)?,
            client: http::client(channel.timeout),
        })
    }
}

impl Sink for TeamsSink {
    fn kind(&self) -> &'static str {
        "teams"
    }

    /// Posts the card. A Workflows webhook cannot edit what it posted, so an
    /// acknowledgement or a resolution is a card of its own.
    fn send<'a>(&'a self, delivery: &'a Delivery<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let body = envelope(card(delivery.message));
            let request = self.client.post(&self.url).json(&body);
            let (status, _) = http::send(&format!("teams {}", self.name), request).await?;
            Ok(json!({ "status": status }))
        })
    }
}

/// The message a Workflows webhook takes: one Adaptive Card attachment.
pub fn envelope(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// The Adaptive Card for a message.
pub fn card(message: &Message) -> Value {
    let mut card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "fallbackText": md(&message.title, 300),
        "body": [],
    });
    if let Some(url) = &message.url {
        card["actions"] =
            json!([{ "type": "Action.OpenUrl", "title": "Open in driftd", "url": url }]);
    }
    let body = if let Some(subject) = &message.subject {
        finding_body(message, subject, &card)
    } else if let Some(digest) = &message.digest {
        digest_body(message, digest, &card)
    } else if let Some(failure) = &message.failure {
        failure_body(message, failure)
    } else {
        vec![title(&message.title)]
    };
    card["body"] = Value::Array(body);
    card
}

fn finding_body(message: &Message, s: &Subject, card: &Value) -> Vec<Value> {
    // Facts are shortened until the head leaves room for the changes.
    let mut limit = 300;
    let mut body = loop {
        let head = vec![
            title(&message.title),
            status(message, s),
            fact_set(finding_facts(message, s, limit)),
        ];
        if size_with(card, &head) <= HEAD_BUDGET || limit <= 20 {
            break head;
        }
        limit /= 2;
    };
    body.push(json!({
        "type": "TextBlock",
        "text": format!("What drifted ({})", md(&s.drift, 50)),
        "weight": "bolder",
        "wrap": true,
        "separator": true,
    }));
    if s.changes.is_empty() && s.more_changes == 0 {
        let what = match s.drift.as_str() {
            "unmanaged" => "In the cloud, in no Terraform state.",
            "missing" => "In a Terraform state, gone from the cloud.",
            _ => "The changed attributes are in the report.",
        };
        body.push(text(what));
    }
    let commands: Vec<Value> = s
        .commands
        .iter()
        .map(|c| monospace(&md(c, PIECE_LIMIT)))
        .collect();
    let mut tail = Vec::new();
    if !commands.is_empty() {
        tail.push(text("To act:"));
        tail.extend(commands);
    }
    let changes = s.changes.iter().map(|c| {
        monospace(&format!(
            "**{}**: {} → {}",
            md(&c.path, PIECE_LIMIT),
            value(c.old.as_deref()),
            value(c.new.as_deref())
        ))
    });
    let base = size_with(card, &[body.as_slice(), tail.as_slice()].concat());
    let report = if message.url.is_some() {
        "see the report"
    } else {
        "run driftd findings show"
    };
    body.extend(fill(base, changes, s.changes.len(), s.more_changes, |k| {
        subtle(&format!("… and {k} more; {report}"))
    }));
    body.extend(tail);
    body
}

fn value(v: Option<&str>) -> String {
    match v {
        None => "(absent)".into(),
        Some("") => "(empty)".into(),
        Some(v) => md(v, PIECE_LIMIT),
    }
}

fn finding_facts(message: &Message, s: &Subject, limit: usize) -> Vec<(&'static str, String)> {
    let mut facts = vec![(
        "Resource",
        format!(
            "{} {}",
            md(&s.resource_type, limit),
            md(&s.resource_id, limit)
        ),
    )];
    if let Some(address) = &s.address {
        facts.push(("Address", md(address, limit)));
    }
    let mut place = format!("{} ({})", md(&s.target, limit), md(&s.environment, limit));
    for part in [&s.account, &s.region].into_iter().flatten() {
        place.push_str(" · ");
        place.push_str(&md(part, limit));
    }
    facts.push(("Where", place));
    let a = &s.actor;
    let mut actor = md(&a.summary, limit);
    if a.iac {
        actor.push_str(" · applied from code (IaC)");
    }
    facts.push(("Actor", actor));
    if let Some(principal) = &a.principal {
        facts.push(("Principal", md(principal, limit)));
    }
    let event = match (&a.event_name, a.event_time) {
        (Some(name), Some(at)) => Some(format!("{} at {}", md(name, limit), when(at))),
        (Some(name), None) => Some(md(name, limit)),
        (None, Some(at)) => Some(format!("an event at {}", when(at))),
        (None, None) => None,
    };
    if let Some(mut event) = event {
        if let Some(id) = &a.event_id {
            event.push_str(&format!(" · {}", md(id, limit)));
        }
        facts.push(("Event", event));
    }
    let t = &s.tier;
    let rule = match &t.rule {
        Some(rule) => format!("rule {}", md(rule, limit)),
        None => "the default tier".into(),
    };
    facts.push((
        "Tier",
        format!("{} {} · {rule}", t.tier, md(&t.name, limit)),
    ));
    facts.push(("Why", md(&t.why, limit * 3)));
    let mut radius = match s.blast_radius {
        1 => "1 resource depends on it".to_string(),
        n => format!("{n} resources depend on it"),
    };
    if !s.dependents.is_empty() {
        let named: Vec<String> = s
            .dependents
            .iter()
            .take(10)
            .map(|d| md(d, limit / 2))
            .collect();
        radius.push_str(": ");
        radius.push_str(&named.join(", "));
        if s.blast_radius > named.len() {
            radius.push_str(", …");
        }
    }
    facts.push(("Blast radius", radius));
    facts.push(("First seen", when(s.first_seen)));
    facts.push(("State", md(&s.state, limit)));
    facts.push(("Sent", when(message.at)));
    facts
}

/// What happened to the finding, coloured.
fn status(message: &Message, s: &Subject) -> Value {
    let by = match (&s.state_by, &s.state_reason) {
        (Some(by), Some(why)) => format!(" by {}: {}", md(by, 200), md(why, 500)),
        (Some(by), None) => format!(" by {}", md(by, 200)),
        (None, Some(why)) => format!(": {}", md(why, 500)),
        (None, None) => String::new(),
    };
    let tier = format!("tier {} ({})", s.tier.tier, md(&s.tier.name, 50));
    let (words, color) = match message.kind {
        MessageKind::Escalated => (format!("**Escalated** to {tier}"), "warning"),
        MessageKind::Acknowledged => (format!("**Acknowledged**{by}"), "accent"),
        MessageKind::Accepted => (format!("**Accepted as intended**{by}"), "good"),
        MessageKind::Resolved => (format!("**Resolved**: no longer seen{by}"), "good"),
        _ if s.tier.tier >= 3 => (format!("**New drift** · {tier}"), "attention"),
        _ => (format!("**New drift** · {tier}"), "default"),
    };
    json!({ "type": "TextBlock", "text": words, "wrap": true, "color": color })
}

fn digest_body(message: &Message, d: &Digest, card: &Value) -> Vec<Value> {
    let total = d.findings.len();
    let mut body = vec![
        title(&message.title),
        fact_set(vec![
            ("Open findings", total.to_string()),
            (
                "By tier",
                format!(
                    "tier 3: {} · tier 2: {} · tier 1: {}",
                    d.by_tier[2], d.by_tier[1], d.by_tier[0]
                ),
            ),
            ("Route", md(&d.route, 200)),
            ("Period", md(&d.period, 200)),
        ]),
    ];
    let base = size_with(card, &body);
    let shown = total.min(DIGEST_LINES);
    let lines = d.findings.iter().take(shown).map(digest_line);
    body.extend(fill(base, lines, shown, total - shown, |k| {
        subtle(&format!("… and {k} more; run driftd findings list"))
    }));
    body
}

fn digest_line(l: &DigestLine) -> Value {
    let address = l
        .address
        .as_ref()
        .map(|a| format!(" {}", md(a, 200)))
        .unwrap_or_default();
    let mut line = format!(
        "**T{}** {} {} {}{address} in {} · {} since {} · {}",
        l.tier,
        md(&l.drift, 50),
        md(&l.resource_type, 200),
        md(&l.resource_id, 200),
        md(&l.target, 200),
        md(&l.state, 50),
        when(l.first_seen),
        md(&l.actor, 300)
    );
    if let Some(url) = l.url.as_deref().filter(|u| link_safe(u)) {
        line.push_str(&format!(" · [{}]({url})", md(&l.finding_id, 100)));
    }
    json!({ "type": "TextBlock", "text": line, "wrap": true, "spacing": "small" })
}

fn failure_body(message: &Message, f: &ChannelFailure) -> Vec<Value> {
    vec![
        title(&message.title),
        json!({
            "type": "TextBlock",
            "text": "**A channel is failing**: its deliveries are dead-lettered.",
            "wrap": true,
            "color": "attention",
        }),
        fact_set(vec![
            ("Channel", md(&f.channel, 200)),
            ("Dead-lettered", f.dead.to_string()),
            ("Last error", md(&f.last_error, 2000)),
            ("Sent", when(message.at)),
        ]),
        text("To act:"),
        monospace("driftd outbox list --dead"),
        monospace("driftd outbox retry ID"),
    ]
}

/// Items while the body stays under [`BODY_LIMIT`] (counting from `base`
/// bytes), then a line counting the rest (`hidden` more are not in `items`).
fn fill(
    base: usize,
    items: impl Iterator<Item = Value>,
    total: usize,
    hidden: usize,
    tail: impl Fn(usize) -> Value,
) -> Vec<Value> {
    let mut used = base;
    let mut out = Vec::new();
    for item in items {
        let size = json_size(&item) + 1;
        if used + size + TAIL_RESERVE > BODY_LIMIT {
            break;
        }
        used += size;
        out.push(item);
    }
    let rest = total - out.len() + hidden;
    if rest > 0 {
        out.push(tail(rest));
    }
    out
}

/// The size of the whole request body if the card's body were `body`.
fn size_with(card: &Value, body: &[Value]) -> usize {
    let mut card = card.clone();
    card["body"] = Value::Array(body.to_vec());
    json_size(&envelope(card))
}

fn json_size(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

fn title(text: &str) -> Value {
    json!({
        "type": "TextBlock",
        "text": md(text, 300),
        "size": "large",
        "weight": "bolder",
        "style": "heading",
        "wrap": true,
    })
}

fn text(text: &str) -> Value {
    json!({ "type": "TextBlock", "text": text, "wrap": true })
}

fn subtle(text: &str) -> Value {
    json!({ "type": "TextBlock", "text": text, "wrap": true, "isSubtle": true })
}

fn monospace(text: &str) -> Value {
    json!({ "type": "TextBlock", "text": text, "wrap": true, "fontType": "monospace", "spacing": "small" })
}

fn fact_set(facts: Vec<(&str, String)>) -> Value {
    let facts: Vec<Value> = facts
        .into_iter()
        .map(|(title, value)| json!({ "title": title, "value": value }))
        .collect();
    json!({ "type": "FactSet", "facts": facts })
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A URL that can sit in a Markdown link as it is.
fn link_safe(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(|c: char| c == '(' || c == ')' || c.is_whitespace() || c.is_control())
}

/// `text` as literal Markdown: cut to `limit` characters (with `…`), on one
/// line, its Markdown characters escaped with a backslash: an underscore
/// only where it could start or end emphasis (not inside a word, as in
/// `aws_security_group`), a list marker only where it would make a list.
pub fn md(text: &str, limit: usize) -> String {
    let text = crate::notify::message::truncate(text, limit);
    let chars: Vec<char> = text.chars().collect();
    let in_word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).and_then(|j| chars.get(j));
        let after = chars.get(i + 1);
        let escape = match c {
            '\\' | '*' | '[' | ']' | '`' | '~' => true,
            '_' => !(in_word(before) && in_word(after)),
            '-' | '+' | '#' | '>' => i == 0,
            '.' | ')' => {
                i > 0
                    && chars[..i].iter().all(char::is_ascii_digit)
                    && after.is_none_or(|a| *a == ' ')
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_escaped_on_one_line() {
        assert_eq!(md("[click](https://evil)", 100), r"\[click\](https://evil)");
        assert_eq!(md(r#"{"Action":"*"}"#, 100), r#"{"Action":"\*"}"#);
        assert_eq!(md("- a\n# b", 100), r"\- a # b");
        assert_eq!(md("1. one", 100), r"1\. one");
        assert_eq!(md("sg-1.2", 100), "sg-1.2");
        assert_eq!(md("12.5", 100), "12.5");
        assert_eq!(md(r"a\b", 100), r"a\\b");
        assert_eq!(
            md("aws_security_group _x_ a__b", 100),
            r"aws_security_group \_x\_ a\_\_b"
        );
        assert_eq!(
            md("aws_security_group _x_ a__b", 100),
            r"aws_security_group \_x\_ a\_\_b"
        );
        assert_eq!(md("abcdef", 4), "abc…");
    }

    #[test]
    fn fill_keeps_whole_items_under_the_limit_and_counts_the_rest() {
        let items = (0..1000)
            .map(|i| json!({ "type": "TextBlock", "text": format!("{i} {}", "x".repeat(200)) }));
        let out = fill(1000, items, 1000, 3, |k| subtle(&format!("… and {k} more")));
        let (tail, kept) = out.split_last().unwrap();
        let used: usize =
            1000 + kept.iter().map(|v| json_size(v) + 1).sum::<usize>() + json_size(tail);
        assert!(used <= BODY_LIMIT, "{used}");
        assert_eq!(
            tail["text"],
            format!("… and {} more", 1000 - kept.len() + 3)
        );
        for (i, item) in kept.iter().enumerate() {
            assert!(item["text"].as_str().unwrap().starts_with(&format!("{i} ")));
        }
    }

    #[test]
    fn a_card_stays_under_the_limit_whatever_it_carries() {
        use crate::notify::Change;
        use crate::notify::sinks::slack::tests::{message, subject};
        // What grows most: a backslash is two in Markdown and four in JSON,
        // an emoji is four bytes.
        let heavy = "\\😀".repeat(1000);
        let changes = (0..200)
            .map(|i| {
                Change::new(
                    &format!("{heavy}{i}"),
                    Some(&json!(heavy)),
                    Some(&json!(heavy)),
                )
            })
            .collect();
        let mut s = subject(changes);
        s.more_changes = 1000;
        // Every text the head shows, at its longest.
        for text in [
            &mut s.resource_type,
            &mut s.resource_id,
            &mut s.target,
            &mut s.environment,
            &mut s.tier.name,
            &mut s.tier.why,
            &mut s.actor.summary,
            &mut s.state,
        ] {
            *text = heavy.clone();
        }
        for text in [
            &mut s.address,
            &mut s.account,
            &mut s.region,
            &mut s.tier.rule,
            &mut s.actor.principal,
            &mut s.actor.event_name,
            &mut s.actor.event_id,
            &mut s.state_by,
            &mut s.state_reason,
        ] {
            *text = Some(heavy.clone());
        }
        s.actor.event_time = Some(s.first_seen);
        s.dependents = vec![heavy.clone(); 50];
        let mut m = message(MessageKind::New, s);
        m.title = heavy.clone();
        let body = serde_json::to_vec(&envelope(card(&m))).unwrap();
        assert!(body.len() <= BODY_LIMIT, "{} bytes", body.len());
        let card = card(&m);
        let last = card["body"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|b| b["isSubtle"] == true)
            .unwrap();
        let shown = card["body"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["fontType"] == "monospace")
            .count()
            - 1;
        assert_eq!(
            last["text"],
            format!("… and {} more; see the report", 200 - shown + 1000)
        );
    }
}
