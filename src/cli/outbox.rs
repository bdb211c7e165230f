//! `driftd outbox list|retry|run`: the notification outbox.

use super::{Format, load_config};
use crate::notify::outbox::{Outbox, PassStats};
use crate::output::table;
use crate::store::{DeliveryState, OutboxFilter, Store};
use chrono::Utc;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

fn open(config_path: &Path) -> anyhow::Result<Option<(crate::config::Config, Store)>> {
    let Some(config) = load_config(config_path) else {
        return Ok(None);
    };
    if !config.store.path.exists() {
        anyhow::bail!(
            "there is no store at {} yet (`[store] path` in {}): scan first",
            config.store.path.display(),
            config_path.display()
        );
    }
    let store = Store::open(&config.store.path)?;
    Ok(Some((config, store)))
}

pub(super) fn list(
    config_path: &Path,
    state: Option<String>,
    channel: Option<String>,
    finding: Option<String>,
    limit: usize,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let state = match state.as_deref() {
        None => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            anyhow::anyhow!("--state {s:?}: write pending, delivered, dead or cancelled")
        })?),
    };
    let Some((_, store)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let rows = store.read(|r| {
        r.outbox(&OutboxFilter {
            state,
            channel,
            finding_id: finding,
            limit,
        })
    })?;
    let counts = store.read(|r| r.outbox_counts())?;
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({ "schema_version": 1, "counts": counts, "deliveries": rows }),
            )?;
            writeln!(out)?;
        }
        Format::Table => {
            let lines: Vec<Vec<String>> = rows
                .iter()
                .map(|d| {
                    vec![
                        d.id.to_string(),
                        d.state.as_str().into(),
                        d.channel.clone(),
                        d.kind.as_str().into(),
                        d.finding_id.clone().unwrap_or_else(|| "-".into()),
                        d.attempts.to_string(),
                        match d.state {
                            DeliveryState::Pending => {
                                format!("next {}", d.next_attempt.max(d.not_before).to_rfc3339())
                            }
                            _ => d.done_at.map_or_else(String::new, |t| t.to_rfc3339()),
                        },
                        d.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            write!(
                out,
                "{}",
                table(
                    &[
                        "id",
                        "state",
                        "channel",
                        "kind",
                        "finding",
                        "attempts",
                        "when",
                        "last error"
                    ],
                    &lines
                )
            )?;
            writeln!(
                out,
                "\n{} pending, {} delivered, {} dead, {} cancelled",
                counts.pending, counts.delivered, counts.dead, counts.cancelled
            )?;
            if counts.dead > 0 {
                writeln!(
                    out,
                    "retry a dead delivery with `driftd outbox retry ID` once its channel works again"
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn retry(config_path: &Path, id: i64, by: Option<&str>) -> anyhow::Result<ExitCode> {
    let Some((config, store)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let Some(actor) = crate::findings::ops::actor(by) else {
        anyhow::bail!("cannot tell who you are: pass --by NAME");
    };
    let key = crate::secrets::SecretKey::load_or_create(&config.store.key_path)?;
    let now = Utc::now();
    let done = store.write(|w| {
        let Some(row) = w.delivery(id)? else {
            return Ok(None);
        };
        let changed = w.retry_delivery(id, now)?;
        if changed {
            w.append_audit(
                &key,
                &crate::store::AuditRecord {
                    at: now,
                    actor: actor.clone(),
                    action: "notification.retry".into(),
                    subject: format!("outbox/{id}"),
                    details: serde_json::json!({ "channel": row.channel, "was": row.state.as_str() }),
                },
            )?;
        }
        Ok::<_, crate::store::StoreError>(Some((row, changed)))
    })?;
    match done {
        None => anyhow::bail!("no delivery has the id {id}: list them with `driftd outbox list`"),
        Some((row, false)) => anyhow::bail!(
            "delivery {id} is {}: only dead or cancelled deliveries can be retried",
            row.state.as_str()
        ),
        Some((row, true)) => {
            println!(
                "delivery {id} to {} is queued again; the daemon (or `driftd outbox run`) sends it",
                row.channel
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Routes, queues digests and delivers what is due; with `wait`, goes on
/// until nothing is pending (sleeping until retries are due).
pub(super) fn run(config_path: &Path, wait: bool, format: Format) -> anyhow::Result<ExitCode> {
    let Some((config, store)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let key = crate::secrets::SecretKey::load_or_create(&config.store.key_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let store_path = config.store.path.clone();
    let mut outbox = Outbox::new(
        Arc::new(store),
        key,
        Arc::new(config),
        Arc::new(crate::clock::SystemClock),
    )
    .locked(&store_path)?;
    let stats: PassStats = runtime.block_on(async {
        let mut total = PassStats::default();
        loop {
            total += outbox.run_once().await?;
            if !wait {
                break;
            }
            match outbox.next_due()? {
                None => break,
                Some(at) => {
                    let wait = (at - Utc::now()).to_std().unwrap_or_default();
                    tokio::time::sleep(wait.max(std::time::Duration::from_millis(50))).await;
                }
            }
        }
        Ok::<_, anyhow::Error>(total)
    })?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
        Format::Table => println!(
            "routed {} events; queued {} deliveries ({} digests); delivered {}, {} to retry, {} dead, {} cancelled",
            stats.events_routed,
            stats.queued,
            stats.digests,
            stats.delivered,
            stats.retrying,
            stats.dead,
            stats.cancelled
        ),
    }
    Ok(if stats.dead > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
