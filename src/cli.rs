//! The command line: what the user typed, dispatched to the library.
//!
//! Exit codes (also in `--help` and README): 0 success, 1 error. `scan` will
//! add 2 for "drift found" with the live inventory.

mod attribute;
mod db;
mod findings;
mod generate;
mod outbox;

use crate::diag::Diagnostic;
use crate::model::{Mode, Origin};
use crate::output::table;
use crate::secrets::SecretKey;
use crate::state::{StateFile, parse_state};
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_CODES: &str = "\
Exit codes:
  0  success; for scan: in sync
  1  error (bad config, unreadable state, unreachable source, ...): the message says which and what to do
  2  scan: drift found (changed, missing or unmanaged resources)
  3  scan: partial: no drift found, but some listings failed (their types are unknown, not in sync);
     attribute: CloudTrail could not be read for some findings (the message says why; they are retried)
  4  audit verify: the audit log's chain is broken (the message names the first bad row)";

/// driftd: detects drift between Terraform state and the live cloud, attributes it, routes it.
#[derive(Debug, Parser)]
#[command(name = "driftd", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Log filter (tracing syntax, e.g. `info`, `driftd=debug`). Logs go to
    /// stderr. Default: `info` for `run`, `warn` for the other commands.
    #[arg(long, global = true, env = "DRIFTD_LOG")]
    pub log: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a config file and report every problem in it, with line and column.
    #[command(after_help = EXIT_CODES)]
    Validate {
        /// The config file (also accepted as `--config`).
        #[arg(value_name = "FILE", conflicts_with = "path")]
        file: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Read a target's state sources and print the inventory, storing the scan.
    #[command(after_help = EXIT_CODES)]
    Scan {
        #[command(flatten)]
        config: ConfigArg,
        /// The target to scan (its `name` in the config).
        #[arg(long, short)]
        target: String,
        /// Read the states only; do not list the cloud or diff.
        #[arg(long)]
        desired_only: bool,
        /// AWS default objects (default VPC, security group, ...) count as unmanaged too.
        #[arg(long)]
        strict: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Work with Terraform state files directly.
    #[command(subcommand)]
    State(StateCommand),
    /// List findings (drift tracked over time) or show one with its history.
    #[command(subcommand)]
    Findings(FindingsCommand),
    /// Acknowledge a finding: someone is on it.
    Ack {
        #[command(flatten)]
        decision: DecisionArgs,
        /// Why, or a ticket reference (optional).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Accept a finding: the change is intended (to be codified, not reverted).
    Accept {
        #[command(flatten)]
        decision: DecisionArgs,
        /// Why the change is intended (required).
        #[arg(long)]
        reason: String,
    },
    /// Snooze a finding until a time: it is tracked but not shown or notified.
    Snooze {
        #[command(flatten)]
        decision: DecisionArgs,
        /// When the snooze ends: 2027-01-31, 2027-01-31T18:00:00Z, or 12h, 7d, 2w from now.
        #[arg(long)]
        until: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// Reopen a finding (acknowledged, accepted, snoozed or resolved).
    Reopen {
        #[command(flatten)]
        decision: DecisionArgs,
        /// Why (optional).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Look for the CloudTrail events behind findings whose actor is not
    /// known yet (one pass; the daemon runs it on a schedule).
    #[command(after_help = EXIT_CODES)]
    Attribute {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this target (its `name` in the config).
        #[arg(long, short)]
        target: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The audit log: every human decision and every action driftd took.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The store: what it holds and how large it is; prune it now.
    #[command(subcommand)]
    Db(DbCommand),
    /// The notification outbox: what was sent, what waits, what failed.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Write the drift report as static HTML pages (the pages `driftd run`
    /// serves, without the decision forms), for a CI artifact or a web server.
    Report {
        #[command(flatten)]
        config: ConfigArg,
        /// The directory to write (created if needed; pages in it are replaced).
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
        /// Only this target (its `name` in the config).
        #[arg(long, short)]
        target: Option<String>,
    },
    /// Write the man pages or shell completions (for packaging).
    #[command(subcommand, hide = true)]
    Generate(generate::GenerateCommand),
    /// Run as a service: scan every target on its schedule, look for actors,
    /// deliver notifications, serve /healthz, /readyz and /metrics. Stops on
    /// SIGTERM or SIGINT; SIGHUP reloads the config.
    Run {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Deliveries, newest first, with their state and last error.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Only pending, delivered, dead or cancelled ones.
        #[arg(long)]
        state: Option<String>,
        /// Only this channel's.
        #[arg(long)]
        channel: Option<String>,
        /// Only this finding's.
        #[arg(long)]
        finding: Option<String>,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Queue a dead (or cancelled) delivery again.
    Retry {
        #[command(flatten)]
        config: ConfigArg,
        /// The delivery's id (from `outbox list`).
        id: i64,
        /// Who asks (default: the OS user).
        #[arg(long)]
        by: Option<String>,
    },
    /// Route new events, queue due digests and deliver what is due, once
    /// (the daemon does this continuously). Exit 3 when a delivery went dead.
    #[command(after_help = EXIT_CODES)]
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Go on until nothing is pending, waiting for retries.
        #[arg(long)]
        wait: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Sizes: the file and its WAL, pages, rows per table, versions and
    /// snapshots, scans kept per target, the oldest scan.
    Stats {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Apply `[retention]` now (driftd also does after every scan) and
    /// collect every resource version nothing needs; print what went.
    Prune {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// What every decision on a finding takes.
#[derive(Debug, clap::Args)]
pub struct DecisionArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The finding's id (or a unique prefix of it, at least 4 characters).
    id: String,
    /// Who decides (default: the OS user running the command, or $SUDO_USER).
    #[arg(long)]
    by: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// Findings that need a look (open, acknowledged, accepted, snoozed; confirmed, not ignored).
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this target's.
        #[arg(long, short)]
        target: Option<String>,
        /// Only these states (open, acknowledged, accepted, snoozed, resolved); repeatable.
        #[arg(long = "state")]
        states: Vec<String>,
        /// Every finding: resolved, not yet confirmed and ignored ones too.
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One finding: what differs, where it stands, and its history.
    Show {
        #[command(flatten)]
        config: ConfigArg,
        /// The finding's id (or a unique prefix of it).
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; exit 4 and name the first bad row if it is broken.
    #[command(after_help = EXIT_CODES)]
    Verify {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print audit-log rows, oldest first.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Only rows after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Where the config file is; shared by every command that reads it.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(
        long = "config",
        short = 'c',
        env = "DRIFTD_CONFIG",
        default_value = "/etc/driftd/config.toml"
    )]
    pub path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Print a state file's resources (sensitive values are never shown).
    #[command(after_help = EXIT_CODES)]
    Show {
        /// A Terraform state file (format version 4).
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` sets up logging itself, once it has read `[daemon] log_format`.
    if !matches!(cli.command, Command::Run { .. }) {
        init_logging(
            cli.log.as_deref().unwrap_or("warn"),
            crate::config::LogFormat::Text,
        );
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Logs to stderr. `Text` under journald (`$JOURNAL_STREAM` set) leaves the
/// time to the journal, drops colours and starts each line with its syslog
/// priority (`<3>` error … `<7>` debug), which journald reads as the level.
/// `Json` is one object per line, with the span fields (target, scan).
pub fn init_logging(filter: &str, format: crate::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        crate::config::LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        crate::config::LogFormat::Text if std::env::var_os("JOURNAL_STREAM").is_some() => builder
            .with_ansi(false)
            .without_time()
            .event_format(SyslogPrefix(
                tracing_subscriber::fmt::format()
                    .with_target(false)
                    .without_time()
                    .with_ansi(false),
            ))
            .try_init(),
        crate::config::LogFormat::Text => builder.try_init(),
    };
}

/// Prefixes each line with its syslog priority, for journald.
struct SyslogPrefix<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for SyslogPrefix<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { file, config } => validate(file.as_deref().unwrap_or(&config.path)),
        Command::Scan {
            config,
            target,
            desired_only,
            strict,
            format,
        } => {
            let live = (!desired_only).then(|| crate::scan::LiveOptions {
                strict,
                ..Default::default()
            });
            scan(&config.path, &target, live, format)
        }
        Command::State(StateCommand::Show { file, format }) => state_show(&file, format),
        Command::Findings(FindingsCommand::List {
            config,
            target,
            states,
            all,
            format,
        }) => findings::list(
            &config.path,
            findings::ListArgs {
                target,
                states,
                all,
                format,
            },
        ),
        Command::Findings(FindingsCommand::Show { config, id, format }) => {
            findings::show(&config.path, &id, format)
        }
        Command::Ack { decision, reason } => {
            decide(decision, crate::findings::Decision::Acknowledge { reason })
        }
        Command::Accept { decision, reason } => {
            decide(decision, crate::findings::Decision::Accept { reason })
        }
        Command::Snooze {
            decision,
            until,
            reason,
        } => {
            let until = findings::parse_until(&until, chrono::Utc::now())
                .map_err(|e| anyhow::anyhow!("--until {e}"))?;
            decide(
                decision,
                crate::findings::Decision::Snooze { until, reason },
            )
        }
        Command::Reopen { decision, reason } => {
            decide(decision, crate::findings::Decision::Reopen { reason })
        }
        Command::Audit(AuditCommand::Verify { config, format }) => {
            findings::audit_verify(&config.path, format)
        }
        Command::Audit(AuditCommand::List {
            config,
            after,
            limit,
            format,
        }) => findings::audit_list(&config.path, after, limit, format),
        Command::Attribute {
            config,
            target,
            format,
        } => attribute::run(&config.path, target.as_deref(), format),
        Command::Db(DbCommand::Stats { config, format }) => db::stats(&config.path, format),
        Command::Db(DbCommand::Prune { config, format }) => db::prune(&config.path, format),
        Command::Outbox(OutboxCommand::List {
            config,
            state,
            channel,
            finding,
            limit,
            format,
        }) => outbox::list(&config.path, state, channel, finding, limit, format),
        Command::Outbox(OutboxCommand::Retry { config, id, by }) => {
            outbox::retry(&config.path, id, by.as_deref())
        }
        Command::Outbox(OutboxCommand::Run {
            config,
            wait,
            format,
        }) => outbox::run(&config.path, wait, format),
        Command::Report {
            config,
            out,
            target,
        } => db::report(&config.path, &out, target.as_deref()),
        Command::Generate(command) => generate::run(command),
        Command::Run { config } => {
            crate::daemon::run(&config.path, cli.log.as_deref().unwrap_or("info"))
        }
    }
}

fn decide(args: DecisionArgs, decision: crate::findings::Decision) -> anyhow::Result<ExitCode> {
    findings::decide(&args.config.path, &args.id, decision, args.by.as_deref())
}

/// Loads the config, printing every problem in it; `None` when it is invalid.
fn load_config(path: &std::path::Path) -> Option<crate::config::Config> {
    match crate::config::Config::load(path) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("{}", e.render());
            None
        }
    }
}

fn validate(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    match crate::config::Config::load(path) {
        Ok(config) => {
            println!(
                "{}: ok ({} target(s))",
                path.display(),
                config.targets.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}", e.render());
            Ok(ExitCode::from(1))
        }
    }
}

fn scan(
    config_path: &std::path::Path,
    target: &str,
    live: Option<crate::scan::LiveOptions>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(config_path) else {
        return Ok(ExitCode::from(1));
    };
    let Some(target) = config.target(target) else {
        let names: Vec<&str> = config.targets.iter().map(|t| t.name.as_str()).collect();
        anyhow::bail!(
            "{}: no target named {target:?}; the targets are: {}",
            config_path.display(),
            names.join(", ")
        );
    };
    // Progress and the summary are for a person at a terminal, never for pipes or journald.
    let progress = live
        .as_ref()
        .and_then(|_| crate::progress::TerminalProgress::if_terminal());
    let live = live.map(|l| crate::scan::LiveOptions {
        collect: crate::aws::CollectOptions {
            progress: progress
                .clone()
                .map(|p| p as std::sync::Arc<dyn crate::aws::CollectProgress>),
            ..config.aws.collect_options()
        },
        ..crate::scan::LiveOptions::from_config(&config, l.strict)
    });
    let key = crate::secrets::SecretKey::load_or_create(&config.store.key_path)?;
    let store = crate::store::Store::open(&config.store.path)?;
    let ctx = crate::scan::ScanContext {
        store: std::sync::Arc::new(store),
        fetcher: std::sync::Arc::new(crate::sources::Fetcher::new(Default::default())),
        key,
        clock: std::sync::Arc::new(crate::clock::SystemClock),
        retention: Some(config.retention),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(crate::scan::scan_target(&ctx, target, live.as_ref()));
    if let Some(p) = &progress {
        p.finish();
    }
    let report = report?;

    let out = std::io::stdout();
    let mut out = out.lock();
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Versioned<'a> {
                schema_version: u32,
                #[serde(flatten)]
                scan: &'a crate::scan::DesiredScan,
            }
            serde_json::to_writer_pretty(
                &mut out,
                &Versioned {
                    schema_version: 1,
                    scan: &report,
                },
            )?;
            writeln!(out)?;
        }
        Format::Table => write!(out, "{}", render_scan(&report))?,
    }
    for d in &report.diagnostics {
        eprintln!("{d}");
    }
    let drift_found = report
        .live
        .as_ref()
        .is_some_and(|l| !l.drift.drifts.is_empty());
    let code: u8 = match report.status {
        crate::store::ScanStatus::Failed => 1,
        _ if drift_found => 2,
        crate::store::ScanStatus::Complete => 0,
        // A state source failed (nothing was diffed) or a listing failed.
        crate::store::ScanStatus::Partial if report.live.is_some() => 3,
        crate::store::ScanStatus::Partial => 1,
    };
    if progress.is_some() {
        eprint!("\n{}", crate::progress::summary(&report, code));
    }
    Ok(ExitCode::from(code))
}

fn render_scan(report: &crate::scan::DesiredScan) -> String {
    let status = match report.status {
        crate::store::ScanStatus::Complete => "complete",
        crate::store::ScanStatus::Partial => "PARTIAL",
        crate::store::ScanStatus::Failed => "FAILED",
    };
    let took = (report.ended_at - report.started_at).num_milliseconds() as f64 / 1000.0;
    let mut s = format!(
        "target {} ({}): scan {} {status} in {took:.2} s\n\n",
        report.target, report.environment, report.scan_id
    );
    let rows: Vec<Vec<String>> = report
        .sources
        .iter()
        .map(|src| {
            let read = match (&src.error, src.reread) {
                (Some(_), _) => "error".to_string(),
                (None, true) => "read".to_string(),
                (None, false) => "unchanged".to_string(),
            };
            vec![
                src.origin.clone(),
                src.version
                    .as_ref()
                    .map(describe_version)
                    .unwrap_or_default(),
                read,
                src.managed.to_string(),
                src.data_sources.to_string(),
            ]
        })
        .collect();
    s.push_str(&table(
        &["STATE", "VERSION", "READ", "MANAGED", "DATA"],
        &rows,
    ));
    s.push('\n');
    let rows: Vec<Vec<String>> = report
        .by_type
        .iter()
        .map(|(t, c)| vec![t.clone(), c.managed.to_string(), c.data_sources.to_string()])
        .collect();
    s.push_str(&table(&["TYPE", "MANAGED", "DATA"], &rows));
    s.push_str(&format!(
        "\n{} managed and {} data source instance(s) of {} type(s); {} dependency edge(s); \
         stored {} resource(s), {} new version(s)\n",
        report.managed,
        report.data_sources,
        report.by_type.len(),
        report.graph_edges,
        report.stored.resources,
        report.stored.new_versions
    ));
    if let Some(live) = &report.live {
        s.push_str(&render_drift(live));
    }
    for src in report.sources.iter().filter(|s| s.error.is_some()) {
        s.push_str(&format!(
            "error: {}\n",
            src.error.as_deref().unwrap_or_default()
        ));
    }
    s
}

fn render_drift(live: &crate::scan::LiveReport) -> String {
    use crate::diff::{AttrValue, Drift};
    let d = &live.drift;
    let calls: u64 = live.api_calls.values().map(|c| c.requests).sum();
    let mut s = format!(
        "\nlive: {} resource(s) listed in {} listing(s), {calls} API request(s)\n",
        live.resources,
        live.coverage.len()
    );
    if d.drifts.is_empty() {
        s.push_str("no drift\n");
    }
    for drift in &d.drifts {
        match drift {
            Drift::Changed {
                key,
                address,
                changes,
            } => {
                s.push_str(&format!("~ changed   {address} ({})\n", key.id));
                for c in changes {
                    let show = |v: &AttrValue| match v {
                        AttrValue::Value(v) => v.to_string(),
                        AttrValue::Sensitive => "(sensitive)".to_string(),
                    };
                    s.push_str(&format!(
                        "      {}: {} -> {}\n",
                        c.path,
                        show(&c.recorded),
                        show(&c.live)
                    ));
                }
            }
            Drift::Missing { key, address } => {
                s.push_str(&format!("- missing   {address} ({})\n", key.id))
            }
            Drift::Unmanaged { key } => {
                s.push_str(&format!("+ unmanaged {}.{}\n", key.resource_type, key.id))
            }
        }
    }
    s.push_str(&format!(
        "\n{} managed, {} changed, {} missing, {} unmanaged; coverage {:.1}%; {} type(s) not checked\n",
        d.managed,
        d.changed,
        d.missing,
        d.unmanaged,
        d.coverage * 100.0,
        d.not_checked.len()
    ));
    for c in &d.unknown {
        if let crate::live::Listing::Unknown { reason } = &c.listing {
            s.push_str(&format!(
                "unknown: {} in {}/{}: {reason}\n",
                c.resource_type, c.account, c.region
            ));
        }
    }
    let i = &live.ignored;
    if i.drifts > 0 || i.changes > 0 {
        s.push_str(&format!(
            "ignored by rules: {} drift(s) ({} changed, {} unmanaged, {} missing) and {} attribute change(s): {}\n",
            i.drifts,
            i.changed,
            i.unmanaged,
            i.missing,
            i.changes,
            i.by_rule
                .iter()
                .map(|(rule, hits)| format!("{rule} {}+{}", hits.drifts, hits.changes))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let f = &live.findings;
    s.push_str(&format!(
        "findings: {} need attention, {} active ({} ignored by rules); this scan: {} new, {} confirmed, \
         {} resolved, {} reopened, {} with new values\n",
        f.needing_attention,
        f.active,
        f.ignored,
        f.opened,
        f.confirmed,
        f.resolved,
        f.reopened,
        f.value_changed
    ));
    s
}

fn describe_version(v: &crate::sources::SourceVersion) -> String {
    use crate::sources::SourceVersion as V;
    match v {
        V::File {
            serial: Some(serial),
            ..
        } => format!("serial {serial}"),
        V::File { len, .. } => format!("{len} bytes"),
        V::S3 {
            version_id: Some(id),
            ..
        } => format!("version {id}"),
        V::S3 { etag, .. } => format!("etag {}", etag.as_deref().unwrap_or("?")),
        V::Http { etag: Some(e), .. } => format!("etag {e}"),
        V::Http { sha256, .. } => format!("sha256 {}", &sha256[..12.min(sha256.len())]),
        V::Hcp {
            state_version_id,
            serial,
        } => match serial {
            Some(s) => format!("{state_version_id} (serial {s})"),
            None => state_version_id.clone(),
        },
    }
}

#[derive(Serialize)]
struct StateShow<'a> {
    /// Version of this JSON document's shape.
    schema_version: u32,
    origin: &'a str,
    format_version: u64,
    terraform_version: Option<&'a str>,
    serial: u64,
    lineage: Option<&'a str>,
    managed: usize,
    data_sources: usize,
    resources: Vec<ResourceRow<'a>>,
    diagnostics: &'a [Diagnostic],
}

#[derive(Serialize)]
struct ResourceRow<'a> {
    address: String,
    mode: Mode,
    #[serde(rename = "type")]
    resource_type: &'a str,
    provider: String,
    id: &'a str,
    status: crate::model::InstanceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    deposed: Option<&'a str>,
    sensitive_paths: Vec<String>,
}

fn state_show(file: &std::path::Path, format: Format) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let origin: Origin = Origin::from(file.display().to_string());
    // Nothing is stored: a throwaway key hashes sensitive values for this run only.
    let state = parse_state(&bytes, &origin, &SecretKey::random())?;
    let out = std::io::stdout();
    let mut out = out.lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &state_show_json(&state, &origin))?;
            writeln!(out)?;
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = state
                .resources
                .iter()
                .map(|r| {
                    let mut status = match r.status {
                        crate::model::InstanceStatus::Ready => String::new(),
                        crate::model::InstanceStatus::Tainted => "tainted".into(),
                    };
                    if let Some(d) = &r.deposed {
                        status = format!("deposed {d}");
                    }
                    vec![r.address.to_string(), r.key.id.clone(), status]
                })
                .collect();
            write!(out, "{}", table(&["ADDRESS", "ID", "STATUS"], &rows))?;
            writeln!(
                out,
                "\n{}: format {}, terraform {}, serial {}: {} managed, {} data source instance(s)",
                origin,
                state.meta.format_version,
                state.meta.terraform_version.as_deref().unwrap_or("unknown"),
                state.meta.serial,
                state.managed().count(),
                state.data_sources().count()
            )?;
            for d in &state.diagnostics {
                eprintln!("{d}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn state_show_json<'a>(state: &'a StateFile, origin: &'a Origin) -> StateShow<'a> {
    StateShow {
        schema_version: 1,
        origin,
        format_version: state.meta.format_version,
        terraform_version: state.meta.terraform_version.as_deref(),
        serial: state.meta.serial,
        lineage: state.meta.lineage.as_deref(),
        managed: state.managed().count(),
        data_sources: state.data_sources().count(),
        resources: state
            .resources
            .iter()
            .map(|r| ResourceRow {
                address: r.address.to_string(),
                mode: r.address.mode,
                resource_type: &r.key.resource_type,
                provider: r.provider.to_string(),
                id: &r.key.id,
                status: r.status,
                deposed: r.deposed.as_deref(),
                sensitive_paths: r.sensitive_paths.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        diagnostics: &state.diagnostics,
    }
}
