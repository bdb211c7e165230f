//! `driftd attribute`: one attribution pass over the due searches of every
//! target (or one), printing what it did. The daemon runs the same pass on
//! a schedule.

use super::{Format, load_config};
use crate::attribution::run::{PassContext, PassReport, attribute_target};
use crate::output::table;
use crate::store::Store;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Serialize)]
struct TargetPass<'a> {
    target: &'a str,
    #[serde(flatten)]
    report: PassReport,
}

pub(super) fn run(
    config_path: &Path,
    target: Option<&str>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(config_path) else {
        return Ok(ExitCode::from(1));
    };
    if !config.store.path.exists() {
        anyhow::bail!(
            "there is no store at {} yet (`[store] path` in {}): scan first",
            config.store.path.display(),
            config_path.display()
        );
    }
    let targets: Vec<&crate::config::Target> = match target {
        Some(name) => match config.target(name) {
            Some(t) => vec![t],
            None => anyhow::bail!("{}: no target named {name:?}", config_path.display()),
        },
        None => config.targets.iter().collect(),
    };
    let ctx = PassContext {
        store: Arc::new(Store::open(&config.store.path)?),
        clock: Arc::new(crate::clock::SystemClock),
        settings: config.attribution.clone(),
        collect: config.aws.collect_options(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut passes = Vec::new();
    for t in targets {
        let report = runtime.block_on(attribute_target(&ctx, t))?;
        passes.push(TargetPass {
            target: &t.name,
            report,
        });
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &passes)?;
            writeln!(out)?;
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = passes
                .iter()
                .map(|p| {
                    let r = &p.report;
                    vec![
                        p.target.to_string(),
                        r.searched.to_string(),
                        r.found.to_string(),
                        r.pending.to_string(),
                        r.unknown.to_string(),
                        format!("{} ({} throttled)", r.calls, r.throttled),
                        r.new_events.to_string(),
                    ]
                })
                .collect();
            write!(
                out,
                "{}",
                table(
                    &[
                        "target",
                        "searched",
                        "found",
                        "pending",
                        "unknown",
                        "LookupEvents calls",
                        "new events"
                    ],
                    &rows
                )
            )?;
            for p in &passes {
                for e in &p.report.errors {
                    writeln!(out, "{}: {e}", p.target)?;
                }
            }
        }
    }
    let failed = passes.iter().any(|p| !p.report.errors.is_empty());
    Ok(if failed {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
