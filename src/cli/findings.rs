//! `driftd findings`, `ack`, `accept`, `snooze`, `reopen` and `audit`: thin
//! wrappers over [`crate::findings::ops`] and the store, which the report
//! pages will call too.

use super::{Format, load_config};
use crate::findings::{Decision, Event, Finding, State, ops};
use crate::output::table;
use crate::store::{FindingFilter, Store};
use chrono::{DateTime, NaiveDate, Utc};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Opens the config's store and install key.
fn open(config_path: &Path) -> anyhow::Result<Option<(Store, crate::secrets::SecretKey)>> {
    let Some(config) = load_config(config_path) else {
        return Ok(None);
    };
    let key = crate::secrets::SecretKey::load_or_create(&config.store.key_path)?;
    let store = Store::open(&config.store.path)?;
    Ok(Some((store, key)))
}

pub(super) struct ListArgs {
    pub target: Option<String>,
    pub states: Vec<String>,
    pub all: bool,
    pub format: Format,
}

pub(super) fn list(config_path: &Path, args: ListArgs) -> anyhow::Result<ExitCode> {
    let Some((store, _)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let states = if args.states.is_empty() && !args.all {
        ["open", "acknowledged", "accepted", "snoozed"]
            .map(String::from)
            .to_vec()
    } else {
        args.states.clone()
    };
    let filter = FindingFilter {
        target: args.target.clone(),
        states,
        include_unconfirmed: args.all,
        include_ignored: args.all,
        limit: 0,
    };
    let (findings, counts) = store.read(|r| {
        Ok::<_, crate::store::StoreError>((
            r.findings(&filter)?,
            r.finding_counts(args.target.as_deref())?,
        ))
    })?;
    let hidden = |what: &str| -> u64 {
        counts
            .iter()
            .filter(|(state, ..)| state != "resolved")
            .map(|(_, all, ignored)| if what == "ignored" { *ignored } else { *all })
            .sum()
    };
    let ignored = hidden("ignored");
    let out = std::io::stdout();
    let mut out = out.lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({
                    "findings": findings,
                    "counts": counts.iter().map(|(state, all, ignored)| {
                        (state.clone(), serde_json::json!({"findings": all, "ignored": ignored}))
                    }).collect::<serde_json::Map<_, _>>(),
                }),
            )?;
            writeln!(out)?;
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = findings.iter().map(row).collect();
            write!(
                out,
                "{}",
                table(
                    &[
                        "ID",
                        "TARGET",
                        "KIND",
                        "RESOURCE",
                        "ATTRIBUTES",
                        "STATE",
                        "LAST SEEN"
                    ],
                    &rows
                )
            )?;
            let by_state: Vec<String> = counts
                .iter()
                .map(|(state, all, _)| format!("{all} {state}"))
                .collect();
            writeln!(
                out,
                "\n{} shown; in the store: {}; {ignored} ignored by rules{}",
                findings.len(),
                if by_state.is_empty() {
                    "none".to_string()
                } else {
                    by_state.join(", ")
                },
                if args.all {
                    ""
                } else {
                    " (`--all` shows resolved, unconfirmed and ignored findings)"
                }
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn row(f: &Finding) -> Vec<String> {
    let mut state = f.state.name().to_string();
    if let State::Snoozed { until } = f.state {
        state = format!("snoozed until {}", until.format("%Y-%m-%d %H:%M"));
    }
    if !f.visible && f.state.is_active() {
        state.push_str(" (unconfirmed)");
    }
    if let Some(rule) = &f.ignored_by {
        state.push_str(&format!(" (ignored: {rule})"));
    }
    vec![
        f.id.clone(),
        f.target.clone(),
        f.kind.as_str().to_string(),
        f.address.clone().unwrap_or_else(|| f.key.to_string()),
        f.attributes.iter().cloned().collect::<Vec<_>>().join(","),
        state,
        f.last_seen.format("%Y-%m-%d %H:%M:%S").to_string(),
    ]
}

pub(super) fn show(config_path: &Path, id: &str, format: Format) -> anyhow::Result<ExitCode> {
    let Some((store, _)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let (finding, events) = ops::show(&store, id)?;
    let attribution = ops::attribution(&store, &finding.id)?;
    let policy = store.read(|r| r.finding_policy(&finding.id))?;
    let out = std::io::stdout();
    let mut out = out.lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"finding": finding, "events": events,
                    "attribution": attribution,
                    "policy": policy.as_ref().map(|(facts, d)| serde_json::json!({
                        "tier": d.tier, "rule": d.rule, "why": d.why, "facts": facts}))}),
            )?;
            writeln!(out)?;
        }
        Format::Table => {
            write!(out, "{}", render(&finding, &events))?;
            write!(out, "{}", render_attribution(attribution.as_ref()))?;
            match &policy {
                Some((facts, d)) => writeln!(
                    out,
                    "tier      {} ({}): {}\nblast     {} dependent resource(s){}",
                    d.tier,
                    crate::policy::tier_name(d.tier),
                    d.why,
                    facts.blast_radius,
                    if facts.dependents.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", facts.dependents.join(", "))
                    }
                )?,
                None => writeln!(
                    out,
                    "tier      not decided yet (it is, when the finding is confirmed)"
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render(f: &Finding, events: &[Event]) -> String {
    let mut s = format!(
        "finding {}  {} {} in target {}\n",
        f.id,
        f.kind.as_str(),
        f.key,
        f.target
    );
    if let Some(address) = &f.address {
        s.push_str(&format!("address   {address}\n"));
    }
    s.push_str(&format!(
        "state     {} (by {} at {}){}\n",
        f.state.name(),
        f.state_by,
        f.state_at.format("%Y-%m-%d %H:%M:%S UTC"),
        f.state_reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    ));
    if let State::Snoozed { until } = f.state {
        s.push_str(&format!("until     {}\n", until.to_rfc3339()));
    }
    s.push_str(&format!(
        "seen      {} time(s) in a row; first {} (scan {}), last {} (scan {}); {}\n",
        f.seen,
        f.first_seen.format("%Y-%m-%d %H:%M:%S"),
        f.first_scan,
        f.last_seen.format("%Y-%m-%d %H:%M:%S"),
        f.last_scan,
        if f.visible {
            "confirmed"
        } else {
            "not confirmed yet"
        }
    ));
    if let Some(rule) = &f.ignored_by {
        s.push_str(&format!("ignored   by {rule}\n"));
    }
    if let Some(changes) = f.changes.as_object() {
        s.push('\n');
        let rows: Vec<Vec<String>> = changes
            .iter()
            .map(|(path, c)| {
                vec![
                    path.clone(),
                    show_value(&c["recorded"]),
                    show_value(&c["live"]),
                ]
            })
            .collect();
        s.push_str(&table(&["ATTRIBUTE", "IN STATE", "LIVE"], &rows));
    }
    s.push('\n');
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                e.kind.as_str().to_string(),
                e.actor.clone(),
                e.scan_id.map(|s| s.to_string()).unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    s.push_str(&table(&["WHEN", "EVENT", "BY", "SCAN", "REASON"], &rows));
    s
}

/// A value as the report shows it: `{"value": v}` → v, `"sensitive"` → (sensitive).
/// Who changed it, and the events that say so; "unknown" when none does.
fn render_attribution(view: Option<&ops::AttributionView>) -> String {
    use crate::store::AttributionStatus;
    let Some(view) = view else {
        return "\nactor     unknown (no attribution search: attribution is off, or the target has no AWS scope)\n".into();
    };
    let search = &view.search;
    let window = format!(
        "{} to {}",
        search.window.start.format("%Y-%m-%d %H:%M:%S"),
        search.window.end.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let mut s = String::from("\n");
    match (&view.actor, search.status) {
        (Some(actor), _) => {
            let explaining = view
                .evidence
                .iter()
                .find(|e| e.evidence.explains)
                .expect("an actor comes from an explaining event");
            s.push_str(&format!(
                "actor     {} via {}{}{}\n",
                actor.display(),
                actor.channel.as_str(),
                actor
                    .source_ip
                    .as_ref()
                    .map(|ip| format!(" from {ip}"))
                    .unwrap_or_default(),
                if actor.iac {
                    " (IaC apply: applied from code that does not match this state)"
                } else {
                    ""
                }
            ));
            s.push_str(&format!(
                "          {} at {} (CloudTrail event {}){}\n",
                explaining.evidence.name,
                explaining.evidence.time.format("%Y-%m-%d %H:%M:%S UTC"),
                explaining.evidence.event_id,
                if search.status == AttributionStatus::Pending {
                    "; still checking for later events"
                } else {
                    ""
                }
            ));
        }
        (None, AttributionStatus::Pending) => s.push_str(&format!(
            "actor     unknown, still looking (CloudTrail delivers events late): {} attempt(s), until {}\n",
            search.attempts,
            search.give_up_at.format("%Y-%m-%d %H:%M:%S UTC")
        )),
        (None, _) => s.push_str(&format!(
            "actor     unknown: no CloudTrail event in account {} region {} from {window} explains it\n",
            search.account, search.region
        )),
    }
    if let Some(e) = &search.last_error {
        s.push_str(&format!("          (last attempt: {e})\n"));
    }
    if !view.evidence.is_empty() {
        s.push_str(&format!(
            "\nevidence  {} event(s), {window}\n",
            view.evidence.len()
        ));
        let rows: Vec<Vec<String>> = view
            .evidence
            .iter()
            .map(|e| {
                vec![
                    e.evidence.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                    e.evidence.name.clone(),
                    e.evidence.actor.display(),
                    e.channel.as_str().to_string(),
                    e.source_ip.clone().unwrap_or_default(),
                    match (&e.evidence.error_code, e.evidence.explains) {
                        (Some(code), _) => format!("failed: {code}"),
                        (None, true) => "explains the current value".to_string(),
                        (None, false) => String::new(),
                    },
                    e.evidence.event_id.clone(),
                ]
            })
            .collect();
        s.push_str(&crate::output::table(
            &[
                "time (UTC)",
                "event",
                "actor",
                "channel",
                "source ip",
                "",
                "event id",
            ],
            &rows,
        ));
    }
    s
}

fn show_value(v: &serde_json::Value) -> String {
    match v.get("value") {
        Some(v) => v.to_string(),
        None if v == "sensitive" => "(sensitive)".to_string(),
        None => v.to_string(),
    }
}

pub(super) fn decide(
    config_path: &Path,
    id: &str,
    decision: Decision,
    by: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let Some((store, key)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let Some(actor) = ops::actor(by) else {
        anyhow::bail!("cannot tell who you are (no $USER): pass --by NAME");
    };
    let (f, event) = ops::apply(&store, &key, id, decision, &actor, Utc::now())?;
    println!(
        "finding {} ({} {}) is now {} (by {}{})",
        f.id,
        f.kind.as_str(),
        f.key,
        match f.state {
            State::Snoozed { until } => format!("snoozed until {}", until.to_rfc3339()),
            s => s.name().to_string(),
        },
        event.actor,
        event
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--until`: an RFC 3339 time, a date (the end of that day is not guessed:
/// midnight UTC at its start), or a duration from now (`30m`, `12h`, `7d`, `2w`).
pub(super) fn parse_until(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{text:?} is not a time: use 2027-01-31, 2027-01-31T18:00:00Z, or a duration like 12h, 7d, 2w"))?;
    let minutes = match unit {
        "m" | "min" => n,
        "h" => n * 60,
        "d" => n * 60 * 24,
        "w" => n * 60 * 24 * 7,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?}: use m, h, d or w (e.g. 12h, 7d)"
            ));
        }
    };
    Ok(now + chrono::Duration::minutes(minutes))
}

pub(super) fn audit_verify(config_path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let Some((store, key)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let check = store.read(|r| r.verify_audit(&key))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&check)?),
        Format::Table => match &check.broken_at {
            None => println!("audit log intact: {} row(s), chain verified", check.rows),
            Some(b) => eprintln!(
                "audit log BROKEN at row {}: {} ({} row(s) checked; rows before {} are intact)",
                b.seq, b.reason, check.rows, b.seq
            ),
        },
    }
    Ok(if check.broken_at.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(4)
    })
}

pub(super) fn audit_list(
    config_path: &Path,
    after: i64,
    limit: usize,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let Some((store, _)) = open(config_path)? else {
        return Ok(ExitCode::from(1));
    };
    let entries = store.read(|r| r.audit_entries(after, limit))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
        Format::Table => {
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        e.record.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        e.record.actor.clone(),
                        e.record.action.clone(),
                        e.record.subject.clone(),
                        e.record.details.to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &["SEQ", "WHEN", "ACTOR", "ACTION", "SUBJECT", "DETAILS"],
                    &rows
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_takes_times_dates_and_durations() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_until("7d", now).unwrap().to_rfc3339(),
            "2026-11-28T10:00:00+00:00"
        );
        assert_eq!(
            parse_until("2026-12-01", now).unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_until("2026-12-01T18:30:00+01:00", now)
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T17:30:00+00:00"
        );
        assert!(parse_until("soon", now).unwrap_err().contains("12h"));
        assert!(parse_until("3y", now).unwrap_err().contains("unknown unit"));
    }
}
