//! `[policy]`, `[[channel]]`, `[[route]]` and `[notify]`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use toml::Spanned;

use super::Checker;
use crate::config::raw::{RawChannel, RawNotify, RawPolicy, RawRoute, RawSecret, RawTierRule};
use crate::config::{
    ChannelConfig, ChannelKind, DigestEvery, EmailChannel, Escalation, NotifySettings,
    PolicyConfig, QuietHours, RouteConfig, SecretOrPlain, SmtpTls, Target, TierRule,
};
use crate::findings::Kind;
use crate::ignore::{AttrPattern, Glob};

/// Actor kinds a tier rule can name.
pub const ACTORS: [&str; 6] = ["console", "cli", "sdk", "iac", "aws_service", "unknown"];

/// Security signals a tier rule can name (`crate::policy::security`).
pub const SECURITY: [&str; 8] = [
    "any",
    "open_to_world",
    "wildcard_action",
    "wildcard_principal",
    "encryption_off",
    "versioning_off",
    "logging_stopped",
    "public_access",
];

const CHANNEL_TYPES: [&str; 5] = ["slack", "teams", "pagerduty", "email", "webhook"];

type Strings = Option<Spanned<Vec<Spanned<String>>>>;

impl Checker<'_> {
    pub(super) fn policy(
        &mut self,
        raw: Option<&Spanned<RawPolicy>>,
        targets: &[Target],
    ) -> PolicyConfig {
        let defaults = PolicyConfig::default();
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return defaults;
        };
        let default_tier = self.in_range(&raw.default_tier, 1, 3, "default_tier = 1");
        let raise = self.in_range(
            &raw.raise_at_dependents,
            0,
            1_000_000,
            "raise_at_dependents = 25",
        );
        let mut names: HashMap<String, String> = HashMap::new();
        let rules = raw
            .rule
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(|r| self.tier_rule(r, targets, &mut names))
            .collect();
        PolicyConfig {
            default_tier: default_tier.map_or(defaults.default_tier, |v| v as u8),
            raise_at_dependents: match raise {
                Some(0) => None,
                Some(n) => Some(n as usize),
                None => defaults.raise_at_dependents,
            },
            rules,
        }
    }

    fn tier_rule(
        &mut self,
        rule: &Spanned<RawTierRule>,
        targets: &[Target],
        names: &mut HashMap<String, String>,
    ) -> Option<TierRule> {
        let span = rule.span();
        let raw = rule.get_ref();
        let before = self.problems.len();
        let name = self.unique_name(&span, &raw.name, names, "policy rule", "\"prod-core\"");
        let tier = match &raw.tier {
            None => {
                self.missing(
                    &span,
                    "tier",
                    "missing required field `tier`".into(),
                    "add tier = 1 (inform), 2 (propose) or 3 (advise and page)".into(),
                );
                None
            }
            Some(_) => self.in_range(&raw.tier, 1, 3, "tier = 3"),
        };
        let target_globs = self.globs(&raw.targets);
        self.globs_match_targets(&raw.targets, &target_globs, targets);
        let environments = self.globs(&raw.environments);
        let resource_types = self.globs(&raw.resource_types);
        let attributes = list(&raw.attributes)
            .iter()
            .filter_map(|a| {
                AttrPattern::parse(a.get_ref())
                    .map_err(|e| self.report(&a.span(), self.path(a), e.message, e.hint))
                    .ok()
            })
            .collect();
        let mut tags = BTreeMap::new();
        for (key, value) in raw
            .tags
            .as_ref()
            .map(|t| t.get_ref().iter())
            .into_iter()
            .flatten()
        {
            if let Some(glob) = self.ignore_glob(value) {
                tags.insert(key.clone(), glob);
            }
        }
        let kinds = self.kinds(&raw.kinds);
        let actors = self.words(&raw.actors, &ACTORS, "actors = [\"console\", \"cli\"]");
        let security = self.words(&raw.security, &SECURITY, "security = [\"open_to_world\"]");
        if self.problems.len() > before {
            return None;
        }
        Some(TierRule {
            name: name?,
            tier: tier? as u8,
            targets: target_globs,
            environments,
            resource_types,
            attributes,
            tags,
            kinds,
            actors,
            security,
        })
    }

    pub(super) fn channels(&mut self, raw: &[Spanned<RawChannel>]) -> Vec<ChannelConfig> {
        let mut names = HashMap::new();
        raw.iter()
            .filter_map(|c| self.channel(c, &mut names))
            .collect()
    }

    fn channel(
        &mut self,
        channel: &Spanned<RawChannel>,
        names: &mut HashMap<String, String>,
    ) -> Option<ChannelConfig> {
        let span = channel.span();
        let raw = channel.get_ref();
        let before = self.problems.len();
        let name = self.unique_name(&span, &raw.name, names, "channel", "\"slack-platform\"");
        let kind = match self.required(&span, "type", &raw.kind) {
            Some(k) if CHANNEL_TYPES.contains(&k.get_ref().as_str()) => Some(k.get_ref().clone()),
            Some(k) => {
                self.report(
                    &k.span(),
                    self.path(k),
                    format!("\"{}\" is not a channel type", k.get_ref()),
                    format!("write one of {}", CHANNEL_TYPES.join(", ")),
                );
                None
            }
            None => None,
        }?;
        // Fields that belong to other types are mistakes: say so.
        let fields: [(&str, bool, &[&str]); 18] = [
            (
                "webhook_url",
                raw.webhook_url.is_some(),
                &["slack", "teams"],
            ),
            ("token", raw.token.is_some(), &["slack"]),
            ("channel", raw.channel.is_some(), &["slack"]),
            ("api_url", raw.api_url.is_some(), &["slack"]),
            ("routing_key", raw.routing_key.is_some(), &["pagerduty"]),
            ("events_url", raw.events_url.is_some(), &["pagerduty"]),
            ("url", raw.url.is_some(), &["webhook"]),
            ("secret", raw.secret.is_some(), &["webhook"]),
            ("host", raw.host.is_some(), &["email"]),
            ("port", raw.port.is_some(), &["email"]),
            ("tls", raw.tls.is_some(), &["email"]),
            ("ca_file", raw.ca_file.is_some(), &["email"]),
            ("username", raw.username.is_some(), &["email"]),
            ("password", raw.password.is_some(), &["email"]),
            ("from", raw.from.is_some(), &["email"]),
            ("to", raw.to.is_some(), &["email"]),
            (
                "rate_per_second",
                raw.rate_per_second.is_some(),
                &CHANNEL_TYPES,
            ),
            (
                "timeout_seconds",
                raw.timeout_seconds.is_some(),
                &CHANNEL_TYPES,
            ),
        ];
        for (field, given, types) in fields {
            if given && !types.contains(&kind.as_str()) {
                self.missing(
                    &span,
                    field,
                    format!("`{field}` does not apply to a {kind} channel"),
                    format!(
                        "remove it; `{field}` is for {} channels",
                        types.join(" and ")
                    ),
                );
            }
        }
        let channel_kind = match kind.as_str() {
            "slack" => self.slack(&span, raw),
            "teams" => self
                .required_secret(
                    &span,
                    "webhook_url",
                    &raw.webhook_url,
                    "{ env = \"DRIFTD_TEAMS_WEBHOOK\" }",
                )
                .map(|webhook_url| ChannelKind::Teams { webhook_url }),
            "pagerduty" => {
                let routing_key = self.required_secret(
                    &span,
                    "routing_key",
                    &raw.routing_key,
                    "{ credential = \"pagerduty-routing-key\" }",
                );
                let events_url =
                    self.url_or(&raw.events_url, "https://events.pagerduty.com/v2/enqueue");
                routing_key.map(|routing_key| ChannelKind::PagerDuty {
                    routing_key,
                    events_url,
                })
            }
            "email" => self.email(&span, raw).map(ChannelKind::Email),
            _ => self.webhook(&span, raw),
        };
        let default_rate = if kind == "slack" { 1.0 } else { 10.0 };
        let rate = match &raw.rate_per_second {
            Some(r) if !(0.01..=10_000.0).contains(r.get_ref()) => {
                self.report(
                    &r.span(),
                    self.path(r),
                    format!(
                        "{} is out of range: it must be from 0.01 to 10000",
                        r.get_ref()
                    ),
                    format!("e.g. rate_per_second = {default_rate}"),
                );
                None
            }
            Some(r) => Some(*r.get_ref()),
            None => Some(default_rate),
        };
        let timeout = self.in_range(&raw.timeout_seconds, 1, 120, "timeout_seconds = 10");
        if self.problems.len() > before {
            return None;
        }
        Some(ChannelConfig {
            name: name?,
            kind: channel_kind?,
            rate_per_second: rate?,
            timeout: std::time::Duration::from_secs(timeout.unwrap_or(10) as u64),
        })
    }

    fn slack(&mut self, span: &Range<usize>, raw: &RawChannel) -> Option<ChannelKind> {
        let webhook_url = raw
            .webhook_url
            .as_ref()
            .and_then(|w| self.secret(w, "webhook_url", false));
        let token = raw
            .token
            .as_ref()
            .and_then(|t| self.secret(t, "token", false));
        let channel = self
            .optional(&raw.channel)
            .map(|c| c.get_ref().trim().to_string());
        if raw.webhook_url.is_none() && raw.token.is_none() {
            self.missing(
                span,
                "webhook_url",
                "a slack channel needs `webhook_url` or `token` and `channel`".into(),
                "add webhook_url = { env = \"DRIFTD_SLACK_WEBHOOK\" }, or a bot's token = { credential = \"slack-bot-token\" } \
                 with channel = \"C0123456789\" (a bot can edit a message when its finding resolves)"
                    .into(),
            );
        }
        if raw.token.is_some() && raw.channel.is_none() {
            self.missing(
                span,
                "channel",
                "a slack bot `token` needs the `channel` it posts to".into(),
                "add channel = \"C0123456789\" (the channel's id, from its details in Slack)"
                    .into(),
            );
        }
        let api_url = self.url_or(&raw.api_url, "https://slack.com/api");
        Some(ChannelKind::Slack {
            webhook_url,
            token,
            channel,
            api_url,
        })
    }

    fn webhook(&mut self, span: &Range<usize>, raw: &RawChannel) -> Option<ChannelKind> {
        let url = match &raw.url {
            None => {
                self.missing(
                    span,
                    "url",
                    "missing required field `url`".into(),
                    "add url = \"https://hooks.internal/driftd\", or url = { env = \"DRIFTD_WEBHOOK_URL\" } \
                     when the URL carries a token"
                        .into(),
                );
                None
            }
            Some(v) => match v.get_ref() {
                RawSecret::Literal(text) => {
                    let spanned = Spanned::new(v.span(), text.clone());
                    self.url(&spanned);
                    Some(SecretOrPlain::Plain(text.clone()))
                }
                RawSecret::Ref(_) => self.secret(v, "url", false).map(SecretOrPlain::Secret),
            },
        };
        let secret = raw
            .secret
            .as_ref()
            .and_then(|s| self.secret(s, "secret", false));
        Some(ChannelKind::Webhook { url: url?, secret })
    }

    fn email(&mut self, span: &Range<usize>, raw: &RawChannel) -> Option<EmailChannel> {
        let host = self
            .required(span, "host", &raw.host)
            .map(|h| h.get_ref().trim().to_string());
        let tls = match self.optional(&raw.tls).map(|t| (t, t.get_ref().as_str())) {
            None | Some((_, "starttls")) => Some(SmtpTls::StartTls),
            Some((_, "tls")) => Some(SmtpTls::Implicit),
            Some((_, "none")) => Some(SmtpTls::None),
            Some((t, other)) => {
                self.report(
                    &t.span(),
                    self.path(t),
                    format!("\"{other}\" is not an SMTP TLS mode"),
                    "write tls = \"starttls\" (port 587), \"tls\" (port 465) or \"none\" (a relay on this host)".into(),
                );
                None
            }
        };
        if let (Some(SmtpTls::None), Some(h)) = (tls, &host)
            && !is_loopback(h)
        {
            let t = raw.tls.as_ref().expect("none was written");
            self.report(
                &t.span(),
                self.path(t),
                format!("tls = \"none\" would send mail and the SMTP password in clear text to {h}"),
                "use tls = \"starttls\" or \"tls\"; \"none\" is only for a relay on this host (localhost, 127.0.0.1)".into(),
            );
        }
        let default_port = match tls {
            Some(SmtpTls::Implicit) => 465,
            Some(SmtpTls::None) => 25,
            _ => 587,
        };
        let port = self.in_range(&raw.port, 1, 65535, "port = 587");
        let ca_file = self.optional(&raw.ca_file).map(|f| self.file_path(f));
        let username = self.optional(&raw.username).map(|u| u.get_ref().clone());
        let password = raw
            .password
            .as_ref()
            .and_then(|p| self.secret(p, "password", false));
        if username.is_some() != raw.password.is_some() {
            self.missing(
                span,
                if username.is_some() { "password" } else { "username" },
                "SMTP authentication needs both `username` and `password`".into(),
                "add username = \"driftd\" and password = { env = \"DRIFTD_SMTP_PASSWORD\" }, or neither".into(),
            );
        }
        let from = self
            .required(span, "from", &raw.from)
            .and_then(|f| self.mailbox(f));
        let mut to = Vec::new();
        match &raw.to {
            None => self.missing(
                span,
                "to",
                "missing required field `to`".into(),
                "add to = [\"platform-oncall@example.com\"]".into(),
            ),
            Some(list) if list.get_ref().is_empty() => self.report(
                &list.span(),
                self.path(list),
                "`to` is empty".into(),
                "list at least one recipient, e.g. to = [\"platform-oncall@example.com\"]".into(),
            ),
            Some(list) => to.extend(list.get_ref().iter().filter_map(|a| self.mailbox(a))),
        }
        Some(EmailChannel {
            host: host?,
            port: port.map_or(default_port, |p| p as u16),
            tls: tls?,
            ca_file,
            username,
            password,
            from: from?,
            to,
        })
    }

    /// An email address (`a@b.c` or `Name <a@b.c>`).
    fn mailbox(&mut self, value: &Spanned<String>) -> Option<String> {
        let text = value.get_ref().trim();
        let address = text
            .rsplit_once('<')
            .map_or(text, |(_, rest)| rest.trim_end_matches('>'));
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') || domain == "localhost"
        }) && !text.chars().any(char::is_control);
        if valid {
            Some(text.to_string())
        } else {
            self.report(
                &value.span(),
                self.path(value),
                format!("\"{text}\" is not an email address"),
                "write it as \"platform@example.com\" or \"Platform <platform@example.com>\""
                    .into(),
            );
            None
        }
    }

    pub(super) fn routes(
        &mut self,
        raw: &[Spanned<RawRoute>],
        channels: &[ChannelConfig],
    ) -> Vec<RouteConfig> {
        let mut names = HashMap::new();
        raw.iter()
            .filter_map(|r| self.route(r, channels, &mut names))
            .collect()
    }

    fn route(
        &mut self,
        route: &Spanned<RawRoute>,
        channels: &[ChannelConfig],
        names: &mut HashMap<String, String>,
    ) -> Option<RouteConfig> {
        let span = route.span();
        let raw = route.get_ref();
        let before = self.problems.len();
        let name = self.unique_name(&span, &raw.name, names, "route", "\"page-prod\"");
        let mut tiers = Vec::new();
        for t in raw.tiers.as_ref().map_or(&[][..], |t| t.get_ref()) {
            if let Some(v) = self.in_range(&Some(t.clone()), 1, 3, "tiers = [3]") {
                tiers.push(v as u8);
            }
        }
        let targets = self.globs(&raw.targets);
        let environments = self.globs(&raw.environments);
        let kinds = self.kinds(&raw.kinds);
        let route_channels = match &raw.channels {
            None => {
                self.missing(
                    &span,
                    "channels",
                    "missing required field `channels`".into(),
                    "add channels = [\"slack-platform\"], naming [[channel]] tables".into(),
                );
                Vec::new()
            }
            Some(_) => self.channel_names(&raw.channels, channels),
        };
        let dedup = self.in_range(&raw.dedup_minutes, 0, 10_080, "dedup_minutes = 60");
        let timezone = match self.optional(&raw.timezone) {
            Some(tz) => {
                let text = tz.get_ref().trim();
                if jiff::tz::TimeZone::get(text).is_err() {
                    self.report(
                        &tz.span(),
                        self.path(tz),
                        format!("\"{text}\" is not a time zone driftd knows"),
                        "write an IANA time zone name, e.g. timezone = \"Europe/Amsterdam\" or \"UTC\"".into(),
                    );
                }
                text.to_string()
            }
            None => "UTC".to_string(),
        };
        let quiet_hours = self.optional(&raw.quiet_hours).and_then(|q| {
            let parsed = parse_quiet_hours(q.get_ref());
            if parsed.is_none() {
                self.report(
                    &q.span(),
                    self.path(q),
                    format!("\"{}\" is not a range of hours", q.get_ref()),
                    "write quiet_hours = \"22:00-07:00\" (24-hour clock, in `timezone`; it may span midnight)".into(),
                );
            }
            parsed
        });
        let digest_hour = self.in_range(&raw.digest_hour, 0, 23, "digest_hour = 9");
        let digest = match self
            .optional(&raw.digest)
            .map(|d| (d, d.get_ref().as_str()))
        {
            None => None,
            Some((_, "hourly")) => Some(DigestEvery::Hourly),
            Some((_, "daily")) => Some(DigestEvery::Daily {
                hour: digest_hour.unwrap_or(9) as u32,
            }),
            Some((d, other)) => {
                self.report(
                    &d.span(),
                    self.path(d),
                    format!("\"{other}\" is not a digest period"),
                    "write digest = \"hourly\" or \"daily\" (with digest_hour = 9)".into(),
                );
                None
            }
        };
        let after = self.in_range(
            &raw.escalate_after_minutes,
            1,
            10_080,
            "escalate_after_minutes = 30",
        );
        let escalation = match (after, &raw.escalate_to) {
            (Some(minutes), Some(_)) => Some(Escalation {
                after: chrono::Duration::minutes(minutes),
                to: self.channel_names(&raw.escalate_to, channels),
            }),
            (None, None) => None,
            _ if raw.escalate_after_minutes.is_none() => {
                self.missing(
                    &span,
                    "escalate_after_minutes",
                    "`escalate_to` needs `escalate_after_minutes`".into(),
                    "add escalate_after_minutes = 30: a tier-3 finding nobody acknowledged by then goes to escalate_to".into(),
                );
                None
            }
            (_, None) => {
                self.missing(
                    &span,
                    "escalate_to",
                    "`escalate_after_minutes` needs `escalate_to`".into(),
                    "add escalate_to = [\"pagerduty-oncall\"], naming [[channel]] tables".into(),
                );
                None
            }
            _ => None,
        };
        if self.problems.len() > before {
            return None;
        }
        Some(RouteConfig {
            name: name?,
            tiers,
            targets,
            environments,
            kinds,
            channels: route_channels,
            dedup: chrono::Duration::minutes(dedup.unwrap_or(60)),
            quiet_hours,
            timezone,
            digest,
            escalation,
        })
    }

    pub(super) fn notify(
        &mut self,
        raw: Option<&Spanned<RawNotify>>,
        channels: &[ChannelConfig],
    ) -> NotifySettings {
        let defaults = NotifySettings::default();
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return defaults;
        };
        let report_url = self.optional(&raw.report_url).map(|u| {
            self.url(u);
            u.get_ref().trim_end_matches('/').to_string()
        });
        let wait = self.in_range(
            &raw.wait_for_actor_minutes,
            0,
            120,
            "wait_for_actor_minutes = 10",
        );
        let attempts = self.in_range(&raw.max_attempts, 1, 100, "max_attempts = 10");
        NotifySettings {
            report_url,
            wait_for_actor: wait.map_or(defaults.wait_for_actor, chrono::Duration::minutes),
            max_attempts: attempts.map_or(defaults.max_attempts, |v| v as u32),
            dead_letter_to: self.channel_names(&raw.dead_letter_to, channels),
        }
    }

    // -- helpers ---------------------------------------------------------

    fn unique_name(
        &mut self,
        span: &Range<usize>,
        value: &Option<Spanned<String>>,
        names: &mut HashMap<String, String>,
        what: &str,
        example: &str,
    ) -> Option<String> {
        let name = match value {
            None => {
                self.missing(
                    span,
                    "name",
                    "missing required field `name`".into(),
                    format!("add name = {example}"),
                );
                return None;
            }
            Some(v) => self.not_blank(v, true)?,
        };
        let text = name.get_ref().trim().to_string();
        if let Some(first) = names.get(&text) {
            self.report(
                &name.span(),
                self.path(name),
                format!("{what} name \"{text}\" is already used by {first}"),
                format!("give every {what} a unique name"),
            );
            return None;
        }
        names.insert(text.clone(), self.path(name));
        Some(text)
    }

    fn globs(&mut self, list: &Strings) -> Vec<Glob> {
        self::list(list)
            .iter()
            .filter_map(|v| self.ignore_glob(v))
            .collect()
    }

    fn globs_match_targets(&mut self, raw: &Strings, globs: &[Glob], targets: &[Target]) {
        let known: Vec<&str> = targets
            .iter()
            .map(|t| t.name.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        if known.is_empty() {
            return;
        }
        for (value, glob) in list(raw).iter().zip(globs) {
            if !known.iter().any(|n| glob.matches(n)) {
                self.report(
                    &value.span(),
                    self.path(value),
                    format!("\"{glob}\" matches no [[target]] name"),
                    format!(
                        "write a target name or a glob matching some: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }

    fn kinds(&mut self, raw: &Strings) -> Vec<Kind> {
        list(raw)
            .iter()
            .filter_map(|k| match Kind::parse(k.get_ref()) {
                Some(kind) => Some(kind),
                None => {
                    self.report(
                        &k.span(),
                        self.path(k),
                        format!("\"{}\" is not a drift kind", k.get_ref()),
                        "write changed, unmanaged or missing".into(),
                    );
                    None
                }
            })
            .collect()
    }

    fn words(&mut self, raw: &Strings, allowed: &[&str], example: &str) -> Vec<String> {
        list(raw)
            .iter()
            .filter_map(|w| {
                let text = w.get_ref().as_str();
                if allowed.contains(&text) {
                    Some(text.to_string())
                } else {
                    self.report(
                        &w.span(),
                        self.path(w),
                        format!("\"{text}\" is not one of {}", allowed.join(", ")),
                        format!("e.g. {example}"),
                    );
                    None
                }
            })
            .collect()
    }

    fn channel_names(&mut self, raw: &Strings, channels: &[ChannelConfig]) -> Vec<String> {
        list(raw)
            .iter()
            .filter_map(|c| {
                let text = c.get_ref().trim();
                if channels.iter().any(|ch| ch.name == text) {
                    Some(text.to_string())
                } else {
                    let known: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
                    self.report(
                        &c.span(),
                        self.path(c),
                        format!("no [[channel]] is named \"{text}\""),
                        if known.is_empty() {
                            "add a [[channel]] table with that name (see config.example.toml)"
                                .to_string()
                        } else {
                            format!("name one of the channels: {}", known.join(", "))
                        },
                    );
                    None
                }
            })
            .collect()
    }

    fn required_secret(
        &mut self,
        span: &Range<usize>,
        key: &str,
        value: &Option<Spanned<RawSecret>>,
        example: &str,
    ) -> Option<crate::config::SecretRef> {
        match value {
            None => {
                self.missing(
                    span,
                    key,
                    format!("missing required field `{key}`"),
                    format!("add {key} = {example}"),
                );
                None
            }
            Some(v) => self.secret(v, key, false),
        }
    }

    fn url_or(&mut self, value: &Option<Spanned<String>>, default: &str) -> String {
        match self.optional(value) {
            Some(u) => {
                self.url(u);
                u.get_ref().trim_end_matches('/').to_string()
            }
            None => default.to_string(),
        }
    }
}

fn list(raw: &Strings) -> &[Spanned<String>] {
    raw.as_ref().map_or(&[][..], |l| l.get_ref())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `"22:00-07:00"`.
pub(crate) fn parse_quiet_hours(text: &str) -> Option<QuietHours> {
    let (from, to) = text.trim().split_once('-')?;
    let time = |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
    let (from, to) = (time(from)?, time(to)?);
    (from != to).then_some(QuietHours { from, to })
}
