//! `driftd db stats` and `driftd db prune`: thin wrappers over
//! [`crate::store::Reader::stats`] and [`crate::store::Store::prune`]; and
//! `driftd report`, over [`crate::report::export::export`].

use super::{Format, load_config};
use crate::output::table;
use crate::store::{PruneStats, Store, StoreSizes};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// The config's store, which must exist already: these commands never
/// create an empty one.
fn open(config_path: &Path) -> anyhow::Result<Option<(crate::config::Config, Store)>> {
    let Some(config) = load_config(config_path) else {
        return Ok(None);
    };
    if !config.store.path.exists() {
        anyhow::bail!(
            "there is no store at {} yet (`[store] path` in {}): it is created by the first scan",
            config.store.path.display(),
            config_path.display()
        );
    }
    let store = Store::open(&config.store.path)?;
    Ok(Some((config, store)))
}

pub(super) fn stats(config_path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let Some((_, store)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let sizes = store.read(|r| r.stats())?;
    let out = std::io::stdout();
    let mut out = out.lock();
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Versioned<'a> {
                schema_version: u32,
                #[serde(flatten)]
                stats: &'a StoreSizes,
            }
            serde_json::to_writer_pretty(
                &mut out,
                &Versioned {
                    schema_version: 1,
                    stats: &sizes,
                },
            )?;
            writeln!(out)?;
        }
        Format::Table => write!(out, "{}", render_stats(&sizes))?,
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn prune(config_path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let Some((config, store)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let pruned = store.prune(&config.retention)?;
    // Also what a deleted finding left behind: a full pass over the versions.
    let swept = store.sweep_versions(&config.retention)?;
    let total = PruneStats {
        versions_deleted: pruned.versions_deleted + swept.versions_deleted,
        transactions: pruned.transactions + swept.transactions,
        longest_transaction: pruned.longest_transaction.max(swept.longest_transaction),
        elapsed: pruned.elapsed + swept.elapsed,
        ..pruned
    };
    let sizes = store.read(|r| r.stats())?;
    let out = std::io::stdout();
    let mut out = out.lock();
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Report<'a> {
                schema_version: u32,
                keep_scans: u32,
                pruned: &'a PruneStats,
                after: &'a StoreSizes,
            }
            serde_json::to_writer_pretty(
                &mut out,
                &Report {
                    schema_version: 1,
                    keep_scans: config.retention.keep_scans,
                    pruned: &total,
                    after: &sizes,
                },
            )?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(
                out,
                "pruned, keeping the newest {} scans of each target: {} scans deleted, {} older \
                 scans kept for their finding events without their snapshots, {} snapshots and \
                 {} resource versions deleted, {} CloudTrail events older than {} days, in {} \
                 transactions (longest {:.1} ms, all {:.1} ms)",
                config.retention.keep_scans,
                total.scans_deleted,
                total.scans_thinned,
                total.snapshots_deleted,
                total.versions_deleted,
                total.trail_events_deleted,
                config.retention.trail_days,
                total.transactions,
                total.longest_transaction.as_secs_f64() * 1000.0,
                total.elapsed.as_secs_f64() * 1000.0,
            )?;
            writeln!(
                out,
                "the file keeps its size: the {} free pages are reused by later scans\n",
                sizes.free_pages
            )?;
            write!(out, "{}", render_stats(&sizes))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn render_stats(s: &StoreSizes) -> String {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "-".to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
    };
    let mut text = format!(
        "store {}: {} (file {} + WAL {})\n\
         pages: {} of {} bytes, {} free ({})\n\
         resource versions: {} ({} of compressed content)\n\
         snapshots: {} ({} key snapshots; member lists {})\n\
         oldest scan: {}\n\n",
        s.path.as_deref().unwrap_or("(in memory)"),
        mb(s.file_bytes + s.wal_bytes),
        mb(s.file_bytes),
        mb(s.wal_bytes),
        s.page_count,
        s.page_size,
        s.free_pages,
        mb(s.free_pages * s.page_size),
        s.resource_versions,
        mb(s.version_content_bytes),
        s.snapshots,
        s.key_snapshots,
        mb(s.snapshot_member_bytes),
        time(s.oldest_scan),
    );
    let rows: Vec<Vec<String>> = s
        .targets
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.scans.to_string(),
                t.scans_with_snapshots.to_string(),
                time(t.oldest_scan),
                time(t.newest_scan),
            ]
        })
        .collect();
    text.push_str(&table(
        &["TARGET", "SCANS", "WITH SNAPSHOTS", "OLDEST", "NEWEST"],
        &rows,
    ));
    text.push('\n');
    let rows: Vec<Vec<String>> = s
        .tables
        .iter()
        .map(|t| vec![t.name.clone(), t.rows.to_string()])
        .collect();
    text.push_str(&table(&["TABLE", "ROWS"], &rows));
    text
}

pub(super) fn report(
    config_path: &Path,
    out: &Path,
    target: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let Some((config, store)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let key = crate::secrets::SecretKey::load_or_create(&config.store.key_path)?;
    let done = crate::report::export::export(&store, &key, out, target, chrono::Utc::now())?;
    println!(
        "{}: {} file(s): the overview, {} scan page(s), {} finding page(s), {} resource page(s), the audit trail; open index.html",
        out.display(),
        done.files,
        done.scans,
        done.findings,
        done.resources
    );
    Ok(ExitCode::SUCCESS)
}
