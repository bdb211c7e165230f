//! Configuration: the validated values the program runs on.
//!
//! What the user typed (`raw`, TOML with positions) is checked by `validate`,
//! which reports every problem at once with its line and column, and only then
//! turned into these plain values. Nothing downstream re-checks them.

mod raw;
mod validate;

pub use validate::{ConfigError, Problem};

use std::path::{Path, PathBuf};

/// The default store location on an installed host.
pub const DEFAULT_STORE_PATH: &str = "/var/lib/driftd/driftd.db";

/// The whole validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it was read from (for messages and for reload).
    pub source: PathBuf,
    pub store: StoreConfig,
    pub targets: Vec<Target>,
    pub aws: AwsSettings,
    /// When a drift becomes a visible finding (`[findings]`).
    pub findings: FindingsSettings,
    /// `[[ignore]]` rules, in file order (each names the targets it applies to).
    pub ignore: Vec<crate::ignore::IgnoreRule>,
    /// How much history the store keeps (`[retention]`).
    pub retention: crate::store::RetentionPolicy,
    /// `[attribution]`.
    pub attribution: AttributionSettings,
    /// `[policy]`: each finding's tier.
    pub policy: PolicyConfig,
    /// `[[channel]]`, in file order.
    pub channels: Vec<ChannelConfig>,
    /// `[[route]]`, in file order.
    pub routes: Vec<RouteConfig>,
    /// `[notify]`.
    pub notify: NotifySettings,
    /// `[daemon]`.
    pub daemon: DaemonSettings,
}

/// `[daemon]`: how `driftd run` schedules scans and serves HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSettings {
    pub listen: std::net::SocketAddr,
    /// Required when `listen` is not a loopback address.
    pub token: Option<SecretRef>,
    /// Between scans of a target without its own schedule.
    pub interval: std::time::Duration,
    /// Up to this much is added at random to each scan's start.
    pub jitter: std::time::Duration,
    pub max_concurrent_scans: usize,
    pub shutdown_grace: std::time::Duration,
    /// Between version checks of remote states.
    pub state_poll: std::time::Duration,
    pub watch_state_files: bool,
    pub watch_config: bool,
    pub log_format: LogFormat,
    /// Where the static report is written after every scan, when set.
    pub report_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line per event, with the syslog priority prefix journald reads.
    #[default]
    Text,
    Json,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 9470)),
            token: None,
            interval: std::time::Duration::from_secs(600),
            jitter: std::time::Duration::from_secs(30),
            max_concurrent_scans: 2,
            shutdown_grace: std::time::Duration::from_secs(30),
            report_dir: None,
            state_poll: std::time::Duration::from_secs(60),
            watch_state_files: true,
            watch_config: true,
            log_format: LogFormat::Text,
        }
    }
}

/// When a target is scanned (`None` on a target: `[daemon] interval_minutes`).
#[derive(Debug, Clone)]
pub enum Schedule {
    Every(std::time::Duration),
    /// A cron expression, read in `zone`.
    Cron {
        text: String,
        cron: Box<croner::Cron>,
        zone: jiff::tz::TimeZone,
    },
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Schedule::Every(a), Schedule::Every(b)) => a == b,
            (
                Schedule::Cron {
                    text: a, zone: za, ..
                },
                Schedule::Cron {
                    text: b, zone: zb, ..
                },
            ) => a == b && za.iana_name() == zb.iana_name(),
            _ => false,
        }
    }
}

/// `[policy]`: the tier rules.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// The tier when no rule matches.
    pub default_tier: u8,
    /// Raise the tier by one when more resources than this depend on the
    /// drifted one; `None`: never.
    pub raise_at_dependents: Option<usize>,
    pub rules: Vec<TierRule>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            default_tier: 1,
            raise_at_dependents: Some(25),
            rules: Vec::new(),
        }
    }
}

/// One `[[policy.rule]]`: every condition given must hold; empty lists hold always.
#[derive(Debug, Clone, PartialEq)]
pub struct TierRule {
    pub name: String,
    pub tier: u8,
    pub targets: Vec<crate::ignore::Glob>,
    pub environments: Vec<crate::ignore::Glob>,
    pub resource_types: Vec<crate::ignore::Glob>,
    pub attributes: Vec<crate::ignore::AttrPattern>,
    pub tags: std::collections::BTreeMap<String, crate::ignore::Glob>,
    pub kinds: Vec<crate::findings::Kind>,
    /// `console`, `cli`, `sdk`, `iac`, `aws_service`, `unknown`.
    pub actors: Vec<String>,
    /// Security signals (`open_to_world`, ...); `any` matches any of them.
    pub security: Vec<String>,
}

/// One `[[channel]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    pub name: String,
    pub kind: ChannelKind,
    /// Deliveries per second at most.
    pub rate_per_second: f64,
    /// How long one delivery may take.
    pub timeout: std::time::Duration,
}

/// A channel's API and what it needs.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelKind {
    /// An incoming webhook, or a bot token and channel (chat.postMessage and
    /// chat.update), or both (the bot is used).
    Slack {
        webhook_url: Option<SecretRef>,
        token: Option<SecretRef>,
        channel: Option<String>,
        /// The Web API base, `https://slack.com/api`.
        api_url: String,
    },
    /// A Teams Workflows webhook taking an Adaptive Card.
    Teams { webhook_url: SecretRef },
    /// PagerDuty Events API v2.
    PagerDuty {
        routing_key: SecretRef,
        events_url: String,
    },
    /// SMTP.
    Email(EmailChannel),
    /// A generic JSON webhook, signed when `secret` is set.
    Webhook {
        url: SecretOrPlain,
        secret: Option<SecretRef>,
    },
}

impl ChannelKind {
    /// The name `type` takes in config.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Teams { .. } => "teams",
            ChannelKind::PagerDuty { .. } => "pagerduty",
            ChannelKind::Email(_) => "email",
            ChannelKind::Webhook { .. } => "webhook",
        }
    }
}

/// An SMTP channel.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailChannel {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Extra CA certificates (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    pub from: String,
    pub to: Vec<String>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
    /// No TLS: only allowed to a loopback server (a local relay).
    None,
}

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteConfig {
    pub name: String,
    /// Tiers it takes; empty: all.
    pub tiers: Vec<u8>,
    pub targets: Vec<crate::ignore::Glob>,
    pub environments: Vec<crate::ignore::Glob>,
    pub kinds: Vec<crate::findings::Kind>,
    /// `[[channel]]` names.
    pub channels: Vec<String>,
    /// New findings are sent at once; false: only in the digest.
    pub immediate: bool,
    /// The same message about the same finding is not sent to a channel
    /// twice within this.
    pub dedup: chrono::Duration,
    pub quiet_hours: Option<QuietHours>,
    /// IANA zone of quiet hours and daily digests.
    pub timezone: String,
    pub digest: Option<DigestEvery>,
    pub escalation: Option<Escalation>,
}

/// Hours in which messages below tier 3 wait, in the route's time zone;
/// `from > to` spans midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub from: chrono::NaiveTime,
    pub to: chrono::NaiveTime,
}

/// How often a route's digest goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestEvery {
    Hourly,
    /// Every day at this hour, in the route's time zone.
    Daily {
        hour: u32,
    },
}

/// Where an unacknowledged tier-3 finding goes next.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub after: chrono::Duration,
    pub to: Vec<String>,
}

/// `[notify]`.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySettings {
    /// Base URL of the report pages, without a trailing `/`.
    pub report_url: Option<String>,
    /// How long a new finding below tier 3 waits for its actor.
    pub wait_for_actor: chrono::Duration,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// Channels told about dead-lettered deliveries.
    pub dead_letter_to: Vec<String>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            report_url: None,
            wait_for_actor: chrono::Duration::minutes(10),
            max_attempts: 10,
            dead_letter_to: Vec::new(),
        }
    }
}

/// When a drift becomes a finding people see (`[findings]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingsSettings {
    /// Consecutive complete scans that must see a drift before it is shown and
    /// notified (an in-flight apply or eventual consistency never pages anyone).
    pub confirm_after: u32,
    /// Re-read a new drift's resource type once in the same scan, after
    /// `reread_delay`, to confirm it at once instead of a scan later.
    pub reread: bool,
    /// How long to wait before that re-read.
    pub reread_delay: std::time::Duration,
}

impl Default for FindingsSettings {
    fn default() -> Self {
        FindingsSettings {
            confirm_after: 2,
            reread: true,
            reread_delay: std::time::Duration::from_secs(15),
        }
    }
}

/// How the AWS collectors behave, for every target (`[aws]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsSettings {
    /// Listings run at once per account and region.
    pub concurrency: usize,
    /// Attempts per API call, retried with jittered exponential backoff.
    pub max_attempts: u32,
    /// Time one API call attempt may take.
    pub call_timeout: std::time::Duration,
}

impl AwsSettings {
    pub fn collect_options(&self) -> crate::aws::CollectOptions {
        crate::aws::CollectOptions {
            concurrency: self.concurrency,
            max_attempts: self.max_attempts,
            call_timeout: self.call_timeout,
            ..Default::default()
        }
    }
}

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            concurrency: 4,
            max_attempts: 5,
            call_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// Where driftd keeps its database and its per-install key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// SQLite database file.
    pub path: PathBuf,
    /// The per-install HMAC key used to hash sensitive values (created 0600 on first use).
    pub key_path: PathBuf,
}

/// One comparison unit: state sources and the cloud scope they describe.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Unique name, `[a-z0-9][a-z0-9_.-]*`.
    pub name: String,
    /// Environment label (`prod`, `staging`, …) used by policy and reports.
    pub environment: String,
    /// At least one state source.
    pub states: Vec<StateSourceSpec>,
    /// The AWS scope, if the target covers AWS.
    pub aws: Option<AwsScope>,
    /// A driftctl `.driftignore` for this target (`crate::ignore::load_driftignore`
    /// reads it; `Config::load` checked that it existed and parsed).
    pub driftignore: Option<PathBuf>,
    /// Its own schedule; `None`: every `[daemon] interval_minutes`.
    pub schedule: Option<Schedule>,
}

/// Where a Terraform state is read from.
#[derive(Debug, Clone, PartialEq)]
pub enum StateSourceSpec {
    /// A local state file.
    File { path: PathBuf },
    /// Every file matching a glob (e.g. one state per workspace).
    Glob { pattern: String },
    /// An object in S3, as the `s3` backend stores it.
    S3(S3Source),
    /// Terraform's `http` backend: GET on a URL.
    Http(HttpSource),
    /// HCP Terraform / Terraform Enterprise: a workspace's current state version.
    Hcp(HcpSource),
}

#[derive(Debug, Clone, PartialEq)]
pub struct S3Source {
    pub bucket: String,
    pub key: String,
    pub region: String,
    /// Read this object version instead of the latest.
    pub version_id: Option<String>,
    /// A non-AWS endpoint (S3-compatible storage, or a local emulator in tests).
    pub endpoint_url: Option<String>,
    /// Path-style addressing (needed by most S3-compatible stores).
    pub force_path_style: bool,
    /// Named profile from the AWS shared config to use instead of the default chain.
    pub profile: Option<String>,
    /// Role to assume for reading the state.
    pub role_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpSource {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    /// Extra request headers; values may be secrets.
    pub headers: Vec<(String, SecretOrPlain)>,
    /// Skip TLS verification (self-signed internal servers). Off by default.
    pub skip_tls_verify: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HcpSource {
    /// API base, `https://app.terraform.io` by default; a TFE host otherwise.
    pub address: String,
    pub organization: String,
    pub workspace: String,
    pub token: SecretRef,
}

/// Where a secret comes from. Secrets are never written in the config file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable (e.g. from a 0600 `EnvironmentFile`).
    Env(String),
    /// A file holding the secret (trailing newline trimmed).
    File(PathBuf),
    /// A systemd credential name, read from `$CREDENTIALS_DIRECTORY/<name>`.
    Credential(String),
}

/// A header value: plain text, or a secret reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrPlain {
    Plain(String),
    Secret(SecretRef),
}

/// The AWS side of a target.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsScope {
    /// Regions to scan, e.g. `eu-west-1`.
    pub regions: Vec<String>,
    /// Accounts to scan; each may name a role to assume.
    pub accounts: Vec<AwsAccount>,
    /// Shared-config profile for the base credentials, instead of the default chain.
    pub profile: Option<String>,
    /// A non-AWS endpoint for every service (a local emulator in tests and the demo).
    pub endpoint_url: Option<String>,
    /// Where CloudTrail events are read (`[target.aws.cloudtrail]`).
    pub cloudtrail: CloudTrailSource,
}

/// Where a target's CloudTrail events come from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CloudTrailSource {
    /// A trail's bucket to read log objects from instead of LookupEvents.
    pub bucket: Option<TrailBucket>,
    /// A non-AWS endpoint for CloudTrail and the trail bucket (an emulator).
    pub endpoint_url: Option<String>,
}

/// A trail's S3 bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailBucket {
    pub bucket: String,
    /// Key prefix before `AWSLogs/`, without slashes at either end; may be empty.
    pub prefix: String,
    /// `o-…` for an organisation trail.
    pub organization_id: Option<String>,
    pub region: String,
}

/// `[attribution]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionSettings {
    pub enabled: bool,
    pub retry_for: chrono::Duration,
    pub retry_every: chrono::Duration,
    pub delivery_delay: chrono::Duration,
    pub clock_skew: chrono::Duration,
    pub first_scan_lookback: chrono::Duration,
    pub max_calls_per_pass: u64,
    /// ARN globs of the deployment pipeline's principals.
    pub pipeline_principals: Vec<glob::Pattern>,
}

impl Default for AttributionSettings {
    fn default() -> Self {
        AttributionSettings {
            enabled: true,
            retry_for: chrono::Duration::minutes(60),
            retry_every: chrono::Duration::minutes(5),
            delivery_delay: chrono::Duration::minutes(15),
            clock_skew: chrono::Duration::seconds(60),
            first_scan_lookback: chrono::Duration::days(90),
            max_calls_per_pass: 600,
            pipeline_principals: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AwsAccount {
    /// 12-digit account id.
    pub id: String,
    /// Role to assume in that account (read-only).
    pub role_arn: Option<String>,
    /// External id required by the role's trust policy.
    pub external_id: Option<String>,
}

impl Config {
    /// Reads and validates a config file, and the `driftignore` files it
    /// names (each must exist and parse). Every problem is reported at once.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        let read = |p: &Path| std::fs::read_to_string(p);
        validate::parse_and_validate(path, &text, Some(&read))
    }

    /// Validates config text; `path` is used for messages and to resolve relative
    /// paths. Pure: the `driftignore` files it names are not read (`load` does).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        validate::parse_and_validate(path, text, None)
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }
}

/// Every table of the config file and the keys it accepts, taken from the
/// deserialiser itself. Tables are dotted paths without indices (`""` is the top
/// level, `target.aws.account` is `[[target.aws.account]]`); `secret` is the
/// inline table of a secret reference (`password`, `token`, header values).
/// Keeps `config.example.toml` complete (a test checks every key appears there).
pub fn accepted_keys() -> Vec<(&'static str, &'static [&'static str])> {
    raw::accepted_keys()
}
