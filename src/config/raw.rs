//! What the user typed: the TOML file deserialised as-is, with positions.
//!
//! Every value is wrapped in [`Spanned`] so that validation can say where a
//! problem is. Fields the program needs are still `Option` here: a missing one
//! is reported by validation (at the table that lacks it) together with every
//! other problem, instead of stopping serde at the first one.
//!
//! State sources are one flat struct with a `type` field rather than a
//! `#[serde(tag = "type")]` enum: serde buffers internally tagged enums, which
//! loses the positions (and `Spanned` does not work inside them at all), and
//! its "unknown field" message could not say that `bucket` belongs to `s3`.
//! Validation checks which fields belong to which type instead.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawConfig {
    /// `[store]`: where the database and the HMAC key live. Optional.
    pub store: Option<Spanned<RawStore>>,
    /// `[[target]]`: one entry per comparison unit.
    pub target: Option<Vec<Spanned<RawTarget>>>,
    /// `[aws]`: how the collectors talk to AWS, for every target. Optional.
    pub aws: Option<Spanned<RawAwsSettings>>,
    /// `[findings]`: when a drift becomes a visible finding. Optional.
    pub findings: Option<Spanned<RawFindings>>,
    /// `[[ignore]]`: drift a team has decided not to be told about. Optional.
    pub ignore: Option<Vec<Spanned<RawIgnoreRule>>>,
    /// `[retention]`: how much scan history the store keeps. Optional.
    pub retention: Option<Spanned<RawRetention>>,
    /// `[attribution]`: how driftd finds who caused a drift. Optional.
    pub attribution: Option<Spanned<RawAttribution>>,
    /// `[policy]` and `[[policy.rule]]`: each finding's tier. Optional.
    pub policy: Option<Spanned<RawPolicy>>,
    /// `[[channel]]`: where messages can go (Slack, Teams, PagerDuty, email, webhook).
    pub channel: Option<Vec<Spanned<RawChannel>>>,
    /// `[[route]]`: which findings go to which channels, and when.
    pub route: Option<Vec<Spanned<RawRoute>>>,
    /// `[notify]`: delivery settings for every channel. Optional.
    pub notify: Option<Spanned<RawNotify>>,
    /// `[daemon]`: how `driftd run` schedules scans and serves HTTP. Optional.
    pub daemon: Option<Spanned<RawDaemon>>,
}

/// `[daemon]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawDaemon {
    /// Address of the HTTP listener (health, metrics, report pages); default
    /// `127.0.0.1:9470`. Not a loopback address: `token` is required.
    pub listen: Option<Spanned<String>>,
    /// Bearer token the HTTP listener requires (a secret reference).
    pub token: Option<Spanned<RawSecret>>,
    /// Minutes between scans of a target without its own schedule; default
    /// 10, 1 to 10080.
    pub interval_minutes: Option<Spanned<i64>>,
    /// Up to this many seconds added at random to each scan's start, so
    /// targets do not scan in step; default 30, 0 to 3600.
    pub jitter_seconds: Option<Spanned<i64>>,
    /// Scans running at once across targets; default 2, 1 to 64.
    pub max_concurrent_scans: Option<Spanned<i64>>,
    /// Seconds running scans get to finish on shutdown; default 30, 0 to 3600.
    pub shutdown_grace_seconds: Option<Spanned<i64>>,
    /// Seconds between cheap version checks (ETag, serial) of remote states;
    /// a new version scans its target early; default 60, 10 to 86400.
    pub state_poll_seconds: Option<Spanned<i64>>,
    /// Scan a target early when one of its local state files changes; default true.
    pub watch_state_files: Option<Spanned<bool>>,
    /// Reload when the config file changes; default true.
    pub watch_config: Option<Spanned<bool>>,
    /// `text` (journald-friendly) or `json`; default `text`.
    pub log_format: Option<Spanned<String>>,
    /// Write the report as static pages into this directory after every
    /// scan (`driftd report --out`); default: not written.
    pub report_dir: Option<Spanned<String>>,
}

/// `[policy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawPolicy {
    /// The tier of a finding no rule matches; default 1.
    pub default_tier: Option<Spanned<i64>>,
    /// Raise a finding's tier by one when more resources than this depend on
    /// the drifted one (transitively); default 25, 1 to 1,000,000; 0 never raises.
    pub raise_at_dependents: Option<Spanned<i64>>,
    /// `[[policy.rule]]`: the highest tier of the rules a finding matches wins.
    pub rule: Option<Vec<Spanned<RawTierRule>>>,
}

/// `[[policy.rule]]`: every given condition must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawTierRule {
    /// How `findings show` names the rule. Required, unique.
    pub name: Option<Spanned<String>>,
    /// 1 inform, 2 propose, 3 advise and page. Required.
    pub tier: Option<Spanned<i64>>,
    /// Globs over target names.
    pub targets: Option<Spanned<Vec<Spanned<String>>>>,
    /// Globs over target environments.
    pub environments: Option<Spanned<Vec<Spanned<String>>>>,
    /// Globs over resource types.
    pub resource_types: Option<Spanned<Vec<Spanned<String>>>>,
    /// Attribute path patterns; one changed path must match one.
    pub attributes: Option<Spanned<Vec<Spanned<String>>>>,
    /// Tags the resource must carry: name = value glob.
    pub tags: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// Drift kinds: changed, unmanaged, missing.
    pub kinds: Option<Spanned<Vec<Spanned<String>>>>,
    /// How the change was made: console, cli, sdk, iac, aws_service, unknown.
    pub actors: Option<Spanned<Vec<Spanned<String>>>>,
    /// Security-relevant content: open_to_world, wildcard_action,
    /// wildcard_principal, encryption_off, versioning_off, logging_stopped,
    /// public_access, or any.
    pub security: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[[channel]]`: one flat table; `type` says which fields apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawChannel {
    /// How routes name it. Required, unique.
    pub name: Option<Spanned<String>>,
    /// slack, teams, pagerduty, email or webhook. Required.
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// slack, teams: the incoming webhook / Workflows URL (a secret reference).
    pub webhook_url: Option<Spanned<RawSecret>>,
    /// slack: a bot token (chat.postMessage + chat.update), with `channel`.
    pub token: Option<Spanned<RawSecret>>,
    /// slack: the channel id the bot posts to.
    pub channel: Option<Spanned<String>>,
    /// slack: the Web API base (default https://slack.com/api).
    pub api_url: Option<Spanned<String>>,
    /// pagerduty: the integration's routing key (a secret reference).
    pub routing_key: Option<Spanned<RawSecret>>,
    /// pagerduty: the Events API v2 endpoint (default https://events.pagerduty.com/v2/enqueue).
    pub events_url: Option<Spanned<String>>,
    /// webhook: where to POST (plain, or a secret reference when it carries one).
    pub url: Option<Spanned<RawSecret>>,
    /// webhook: the shared secret for the HMAC-SHA256 signature.
    pub secret: Option<Spanned<RawSecret>>,
    /// email: the SMTP server's host name.
    pub host: Option<Spanned<String>>,
    /// email: the SMTP port (default 587 with starttls, 465 with tls, 25 with none).
    pub port: Option<Spanned<i64>>,
    /// email: starttls (default), tls (implicit), or none (only to a loopback server).
    pub tls: Option<Spanned<String>>,
    /// email: a PEM file of CA certificates to trust besides the system's.
    pub ca_file: Option<Spanned<String>>,
    /// email: the SMTP user, with `password`.
    pub username: Option<Spanned<String>>,
    /// email: the SMTP password (a secret reference).
    pub password: Option<Spanned<RawSecret>>,
    /// email: the sender address.
    pub from: Option<Spanned<String>>,
    /// email: the recipients.
    pub to: Option<Spanned<Vec<Spanned<String>>>>,
    /// Deliveries per second at most (slack default 1, others 10).
    pub rate_per_second: Option<Spanned<f64>>,
    /// Seconds one delivery may take; default 10, 1 to 120.
    pub timeout_seconds: Option<Spanned<i64>>,
}

/// `[[route]]`: findings matching every given condition go to `channels`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawRoute {
    /// How the outbox and digests name it. Required, unique.
    pub name: Option<Spanned<String>>,
    /// Tiers it takes (default all).
    pub tiers: Option<Spanned<Vec<Spanned<i64>>>>,
    /// Globs over target names.
    pub targets: Option<Spanned<Vec<Spanned<String>>>>,
    /// Globs over target environments.
    pub environments: Option<Spanned<Vec<Spanned<String>>>>,
    /// Drift kinds: changed, unmanaged, missing.
    pub kinds: Option<Spanned<Vec<Spanned<String>>>>,
    /// `[[channel]]` names. Required.
    pub channels: Option<Spanned<Vec<Spanned<String>>>>,
    /// Send new findings at once (default true); false: only in the digest.
    pub immediate: Option<Spanned<bool>>,
    /// Minutes within which the same message about the same finding is not
    /// sent again to a channel (a finding that flaps); default 60, 0 to 10080.
    pub dedup_minutes: Option<Spanned<i64>>,
    /// `"22:00-07:00"`: messages of tiers below 3 wait until it ends.
    pub quiet_hours: Option<Spanned<String>>,
    /// IANA time zone of `quiet_hours` and daily digests; default UTC.
    pub timezone: Option<Spanned<String>>,
    /// hourly or daily: findings still open are summed up once per period.
    pub digest: Option<Spanned<String>>,
    /// daily digests: the hour they go out (0 to 23, in `timezone`); default 9.
    pub digest_hour: Option<Spanned<i64>>,
    /// A tier-3 finding nobody acknowledged within this many minutes goes to
    /// `escalate_to`; 1 to 10080.
    pub escalate_after_minutes: Option<Spanned<i64>>,
    /// `[[channel]]` names for escalation.
    pub escalate_to: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[notify]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawNotify {
    /// The report's base URL; messages link to `<report_url>/findings/<id>`.
    pub report_url: Option<Spanned<String>>,
    /// Minutes a new tier 1-2 finding waits for its actor before it is sent
    /// without one; default 10, 0 to 120. Tier 3 never waits.
    pub wait_for_actor_minutes: Option<Spanned<i64>>,
    /// Attempts before a delivery is dead-lettered; default 10, 1 to 100.
    pub max_attempts: Option<Spanned<i64>>,
    /// Channels told when another channel's deliveries are dead-lettered.
    pub dead_letter_to: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[attribution]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawAttribution {
    /// Look for the CloudTrail events behind each finding; default true.
    pub enabled: Option<Spanned<bool>>,
    /// Minutes to keep looking for a finding's events before its actor stays
    /// unknown; default 60, 5 to 1440.
    pub retry_for_minutes: Option<Spanned<i64>>,
    /// Minutes between attempts while looking; default 5, 1 to 60.
    pub retry_every_minutes: Option<Spanned<i64>>,
    /// Minutes CloudTrail may take to deliver an event; a window is searched
    /// again until this long after it ends; default 15, 0 to 120.
    pub delivery_delay_minutes: Option<Spanned<i64>>,
    /// Seconds added to both ends of a window for clock differences between
    /// driftd's host and AWS; default 60, 0 to 3600.
    pub clock_skew_seconds: Option<Spanned<i64>>,
    /// Days to look back for a drift seen in a target's first scan (there is
    /// no earlier scan to bound it); default 90 (CloudTrail's limit), 1 to 90.
    pub first_scan_lookback_days: Option<Spanned<i64>>,
    /// LookupEvents calls one pass may make per account and region (at 2 per
    /// second); what is left waits for the next pass; default 600, 1 to 100000.
    pub max_calls_per_pass: Option<Spanned<i64>>,
    /// The deployment pipeline's principals: ARNs or globs
    /// (`arn:aws:iam::*:role/ci-deploy`). A change they made is an IaC apply.
    pub pipeline_principals: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[retention]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawRetention {
    /// Per target, the newest scans kept in full; default 1000, 1 to 1,000,000.
    pub keep_scans: Option<Spanned<i64>>,
    /// Days of CloudTrail events and fetch records kept (evidence stays with
    /// its finding); default 100, 7 to 3650.
    pub trail_days: Option<Spanned<i64>>,
    /// Days finished deliveries and routed notify events are kept; default
    /// 90, 1 to 3650.
    pub outbox_days: Option<Spanned<i64>>,
}

/// `[aws]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawAwsSettings {
    /// Listings run at once per account and region; default 4, 1 to 64.
    pub concurrency: Option<Spanned<i64>>,
    /// Attempts per API call (throttling, 5xx, timeouts are retried with
    /// jittered exponential backoff); default 5, 1 to 20.
    pub max_attempts: Option<Spanned<i64>>,
    /// Seconds one API call attempt may take; default 30, 1 to 600.
    pub call_timeout_seconds: Option<Spanned<i64>>,
}

/// `[findings]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawFindings {
    /// Consecutive complete scans that must see a drift before it is shown
    /// and notified; default 2, 1 to 100.
    pub confirm_after: Option<Spanned<i64>>,
    /// Re-read a new drift's resource type once in the same scan to confirm
    /// it at once; default true.
    pub reread: Option<Spanned<bool>>,
    /// Seconds to wait before that re-read; default 15, 0 to 300.
    pub reread_delay_seconds: Option<Spanned<i64>>,
}

/// `[[ignore]]`: one ignore rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawIgnoreRule {
    /// How outputs name the rule; default `ignore[N]`. Unique.
    pub name: Option<Spanned<String>>,
    /// Glob over target names; default every target.
    pub target: Option<Spanned<String>>,
    /// Glob over resource types (`*` for every type). Required.
    pub resource_type: Option<Spanned<String>>,
    /// Glob over cloud ids; default `*`.
    pub id: Option<Spanned<String>>,
    /// Attribute path pattern; default the whole resource.
    pub attribute: Option<Spanned<String>>,
    /// Tags the resource must carry: name = value glob.
    pub tags: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// Why this drift is acceptable. Required, non-empty.
    pub reason: Option<Spanned<String>>,
    /// Who answers for the rule. Required, non-empty.
    pub owner: Option<Spanned<String>>,
    /// When the rule stops applying. Optional.
    pub expires: Option<Spanned<RawExpiry>>,
}

/// `expires`: a TOML date or date-time, or either written as a string.
#[derive(Debug)]
pub(crate) enum RawExpiry {
    /// A string as written.
    Text(String),
    /// A TOML date or date-time literal.
    Toml(toml::value::Datetime),
}

/// Said by serde when `expires` is neither a string nor a date.
pub(crate) const EXPIRY_EXPECTING: &str =
    "a date such as 2027-01-31 or a date-time such as 2027-01-31T18:00:00Z";

impl<'de> Deserialize<'de> for RawExpiry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpiryVisitor;

        impl<'de> Visitor<'de> for ExpiryVisitor {
            type Value = RawExpiry;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPIRY_EXPECTING)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawExpiry, E> {
                Ok(RawExpiry::Text(v.to_owned()))
            }

            // toml hands a date-time to visitors as a map with a private key.
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawExpiry, A::Error> {
                toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawExpiry::Toml)
            }
        }

        deserializer.deserialize_any(ExpiryVisitor)
    }
}

/// `[store]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawStore {
    /// SQLite database file; default [`super::DEFAULT_STORE_PATH`].
    pub path: Option<Spanned<String>>,
    /// Per-install HMAC key; default `hmac.key` beside the database.
    pub key_path: Option<Spanned<String>>,
}

/// `[[target]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawTarget {
    /// Unique name, `[a-z0-9][a-z0-9_.-]*`. Required.
    pub name: Option<Spanned<String>>,
    /// Environment label (`prod`, `staging`, …). Required, non-empty.
    pub environment: Option<Spanned<String>>,
    /// `[[target.state]]`: the Terraform states of this target. At least one.
    pub state: Option<Vec<Spanned<RawStateSource>>>,
    /// `[target.aws]`: the AWS scope the states describe.
    pub aws: Option<Spanned<RawAws>>,
    /// A driftctl `.driftignore` for this target; relative to the config
    /// file's directory. Optional.
    pub driftignore: Option<Spanned<String>>,
    /// Minutes between this target's scans (instead of `[daemon]
    /// interval_minutes`); 1 to 10080. Not with `schedule`.
    pub interval_minutes: Option<Spanned<i64>>,
    /// The same in seconds, 1 to 604800.
    pub interval_seconds: Option<Spanned<i64>>,
    /// A cron expression for this target's scans, e.g. `"*/15 * * * *"`.
    pub schedule: Option<Spanned<String>>,
    /// The IANA zone `schedule` is read in; default `UTC`.
    pub schedule_timezone: Option<Spanned<String>>,
}

/// `[[target.state]]`: every field of every source type; `type` says which apply
/// (see [`STATE_SOURCE_FIELDS`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawStateSource {
    /// `file`, `glob`, `s3`, `http` or `hcp`. Required.
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// file: the state file; relative to the config file's directory.
    pub path: Option<Spanned<String>>,
    /// glob: a pattern matching state files; relative to the config file's directory.
    pub pattern: Option<Spanned<String>>,
    /// s3: bucket name. Required for `s3`.
    pub bucket: Option<Spanned<String>>,
    /// s3: object key. Required for `s3`.
    pub key: Option<Spanned<String>>,
    /// s3: bucket region. Required for `s3`.
    pub region: Option<Spanned<String>>,
    /// s3: read this object version instead of the latest.
    pub version_id: Option<Spanned<String>>,
    /// s3: a non-AWS endpoint (S3-compatible storage, an emulator).
    pub endpoint_url: Option<Spanned<String>>,
    /// s3: path-style addressing.
    pub force_path_style: Option<Spanned<bool>>,
    /// s3: shared-config profile for the credentials.
    pub profile: Option<Spanned<String>>,
    /// s3: role to assume to read the state.
    pub role_arn: Option<Spanned<String>>,
    /// http: the state URL (GET). Required for `http`.
    pub url: Option<Spanned<String>>,
    /// http: basic-auth user name (not a secret).
    pub username: Option<Spanned<String>>,
    /// http: basic-auth password; a secret reference only.
    pub password: Option<Spanned<RawSecret>>,
    /// http: extra request headers; values plain or secret references.
    pub headers: Option<Spanned<RawHeaders>>,
    /// http: skip TLS certificate verification.
    pub skip_tls_verify: Option<Spanned<bool>>,
    /// hcp: API base URL; default `https://app.terraform.io`.
    pub address: Option<Spanned<String>>,
    /// hcp: organization name. Required for `hcp`.
    pub organization: Option<Spanned<String>>,
    /// hcp: workspace name. Required for `hcp`.
    pub workspace: Option<Spanned<String>>,
    /// hcp: API token; a secret reference only. Required for `hcp`.
    pub token: Option<Spanned<RawSecret>>,
}

/// Which `[[target.state]]` fields each source type takes (`type` itself aside).
pub(crate) const STATE_SOURCE_FIELDS: &[(&str, &[&str])] = &[
    ("file", &["path"]),
    ("glob", &["pattern"]),
    (
        "s3",
        &[
            "bucket",
            "key",
            "region",
            "version_id",
            "endpoint_url",
            "force_path_style",
            "profile",
            "role_arn",
        ],
    ),
    (
        "http",
        &["url", "username", "password", "headers", "skip_tls_verify"],
    ),
    ("hcp", &["address", "organization", "workspace", "token"]),
];

impl RawStateSource {
    /// The fields that are present, with the span of their value, in no particular order.
    pub fn present_fields(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        fn s<T>(
            name: &'static str,
            v: &Option<Spanned<T>>,
        ) -> Option<(&'static str, std::ops::Range<usize>)> {
            v.as_ref().map(|v| (name, v.span()))
        }
        [
            s("path", &self.path),
            s("pattern", &self.pattern),
            s("bucket", &self.bucket),
            s("key", &self.key),
            s("region", &self.region),
            s("version_id", &self.version_id),
            s("endpoint_url", &self.endpoint_url),
            s("force_path_style", &self.force_path_style),
            s("profile", &self.profile),
            s("role_arn", &self.role_arn),
            s("url", &self.url),
            s("username", &self.username),
            s("password", &self.password),
            s("headers", &self.headers),
            s("skip_tls_verify", &self.skip_tls_verify),
            s("address", &self.address),
            s("organization", &self.organization),
            s("workspace", &self.workspace),
            s("token", &self.token),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// `[target.aws]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawAws {
    /// Regions to scan. Required, non-empty.
    pub regions: Option<Spanned<Vec<Spanned<String>>>>,
    /// `[[target.aws.account]]`: accounts to scan. At least one.
    pub account: Option<Vec<Spanned<RawAccount>>>,
    /// Shared-config profile for the base credentials.
    pub profile: Option<Spanned<String>>,
    /// A non-AWS endpoint for every service (an emulator).
    pub endpoint_url: Option<Spanned<String>>,
    /// `[target.aws.cloudtrail]`: where the target's CloudTrail events are read.
    pub cloudtrail: Option<Spanned<RawCloudTrail>>,
}

/// `[target.aws.cloudtrail]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawCloudTrail {
    /// A trail's S3 bucket: read its log objects instead of calling
    /// LookupEvents (no rate limit).
    pub bucket: Option<Spanned<String>>,
    /// The trail's S3 key prefix, if it has one.
    pub prefix: Option<Spanned<String>>,
    /// The organisation id of an organisation trail (`o-…`).
    pub organization_id: Option<Spanned<String>>,
    /// The bucket's region; default the target's first region.
    pub bucket_region: Option<Spanned<String>>,
    /// A non-AWS endpoint for CloudTrail and the trail bucket (an emulator).
    pub endpoint_url: Option<Spanned<String>>,
}

/// `[[target.aws.account]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawAccount {
    /// 12-digit account id, as a string. Required.
    pub id: Option<Spanned<String>>,
    /// Read-only role to assume in that account.
    pub role_arn: Option<Spanned<String>>,
    /// External id the role's trust policy requires.
    pub external_id: Option<Spanned<String>>,
}

/// `{ env = "NAME" }`, `{ file = "/path" }` or `{ credential = "name" }`: exactly one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct RawSecretRef {
    /// Name of an environment variable holding the secret.
    pub env: Option<Spanned<String>>,
    /// A file holding the secret; relative to the config file's directory.
    pub file: Option<Spanned<String>>,
    /// A systemd credential (`LoadCredential=`) name.
    pub credential: Option<Spanned<String>>,
}

/// A value that may be a secret: a plain string (refused where a secret is
/// expected, allowed for non-secret header values) or a reference.
#[derive(Debug)]
pub(crate) enum RawSecret {
    /// A plain string as written (a secret must never be one).
    Literal(String),
    /// A reference to where the value is kept.
    Ref(RawSecretRef),
}

/// Said by serde when the value is neither a string nor a table.
pub(crate) const SECRET_EXPECTING: &str = "a secret reference such as { env = \"NAME\" }";

impl<'de> Deserialize<'de> for RawSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;

        impl<'de> Visitor<'de> for SecretVisitor {
            type Value = RawSecret;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(SECRET_EXPECTING)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSecret, E> {
                Ok(RawSecret::Literal(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSecret, A::Error> {
                RawSecretRef::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawSecret::Ref)
            }

            // serde's default messages quote the value; a secret must not be echoed.
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawSecret, E> {
                Err(E::invalid_type(de::Unexpected::Other("a boolean"), &self))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawSecret, E> {
                Err(E::invalid_type(de::Unexpected::Other("an integer"), &self))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawSecret, E> {
                Err(E::invalid_type(de::Unexpected::Other("an integer"), &self))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawSecret, E> {
                Err(E::invalid_type(de::Unexpected::Other("a float"), &self))
            }
        }

        deserializer.deserialize_any(SecretVisitor)
    }
}

/// Said by serde when `headers` is not a table.
pub(crate) const HEADERS_EXPECTING: &str = "a table of header names and values";

/// `headers = { "X-Team" = "net", "Authorization" = { env = "TOKEN" } }`, in file order.
#[derive(Debug)]
pub(crate) struct RawHeaders(pub Vec<(Spanned<String>, Spanned<RawSecret>)>);

impl<'de> Deserialize<'de> for RawHeaders {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;

        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = RawHeaders;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(HEADERS_EXPECTING)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeaders, A::Error> {
                let mut headers = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    headers.push((name, map.next_value()?));
                }
                // TOML tables come back sorted by key; keep what the user wrote.
                headers.sort_by_key(|(name, _)| name.span().start);
                Ok(RawHeaders(headers))
            }
        }

        deserializer.deserialize_map(HeadersVisitor)
    }
}

/// Every table the file accepts and the keys serde accepts in it, read from the
/// derived `Deserialize` impls themselves (so the list cannot go stale).
/// Table names are dotted paths without indices; `secret` is the inline table of
/// a secret reference (`password`, `token`, header values).
pub(crate) fn accepted_keys() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("", fields_of::<RawConfig>()),
        ("store", fields_of::<RawStore>()),
        ("aws", fields_of::<RawAwsSettings>()),
        ("target", fields_of::<RawTarget>()),
        ("target.state", fields_of::<RawStateSource>()),
        ("target.aws", fields_of::<RawAws>()),
        ("target.aws.account", fields_of::<RawAccount>()),
        ("secret", fields_of::<RawSecretRef>()),
        ("findings", fields_of::<RawFindings>()),
        ("ignore", fields_of::<RawIgnoreRule>()),
        ("retention", fields_of::<RawRetention>()),
        ("attribution", fields_of::<RawAttribution>()),
        ("target.aws.cloudtrail", fields_of::<RawCloudTrail>()),
        ("policy", fields_of::<RawPolicy>()),
        ("policy.rule", fields_of::<RawTierRule>()),
        ("channel", fields_of::<RawChannel>()),
        ("route", fields_of::<RawRoute>()),
        ("notify", fields_of::<RawNotify>()),
        ("daemon", fields_of::<RawDaemon>()),
    ]
}

/// The field names a derived struct passes to `deserialize_struct`.
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields = None;
    let _ = T::deserialize(FieldsProbe(&mut fields));
    fields.expect("a derived struct calls deserialize_struct")
}

/// A deserializer that only records the field list it is asked for.
struct FieldsProbe<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldsProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("probe"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}
