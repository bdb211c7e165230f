//! `[daemon]` and a target's own schedule.

use std::time::Duration;

use toml::Spanned;

use super::Checker;
use crate::config::raw::{RawDaemon, RawTarget};
use crate::config::{DaemonSettings, LogFormat, Schedule};

impl Checker<'_> {
    pub(super) fn daemon(&mut self, raw: Option<&Spanned<RawDaemon>>) -> DaemonSettings {
        let defaults = DaemonSettings::default();
        let Some(spanned) = raw else {
            return defaults;
        };
        let raw = spanned.get_ref();
        let secs = |v: Option<i64>, d: Duration| v.map_or(d, |v| Duration::from_secs(v as u64));
        let listen = raw.listen.as_ref().and_then(|l| {
            let text = l.get_ref().trim();
            match text.parse::<std::net::SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    self.report(
                        &l.span(),
                        self.path(l),
                        format!("\"{text}\" is not an address and port"),
                        "write listen = \"127.0.0.1:9470\" (or \"[::1]:9470\"; another address needs a token)"
                            .into(),
                    );
                    None
                }
            }
        });
        let token = raw
            .token
            .as_ref()
            .and_then(|t| self.secret(t, "token", false));
        if let Some(addr) = listen
            && !addr.ip().is_loopback()
            && raw.token.is_none()
        {
            let l = raw.listen.as_ref().unwrap();
            self.report(
                &l.span(),
                self.path(l),
                format!(
                    "listen = \"{addr}\" is reachable from other hosts, and no token is set"
                ),
                "add token = { credential = \"http-token\" } (LoadCredential= in the unit), or listen on 127.0.0.1"
                    .into(),
            );
        }
        let interval = self
            .in_range(&raw.interval_minutes, 1, 10_080, "interval_minutes = 10")
            .map(|m| Duration::from_secs(m as u64 * 60));
        let jitter = self.in_range(&raw.jitter_seconds, 0, 3600, "jitter_seconds = 30");
        let concurrent =
            self.in_range(&raw.max_concurrent_scans, 1, 64, "max_concurrent_scans = 2");
        let grace = self.in_range(
            &raw.shutdown_grace_seconds,
            0,
            3600,
            "shutdown_grace_seconds = 30",
        );
        let poll = self.in_range(
            &raw.state_poll_seconds,
            10,
            86_400,
            "state_poll_seconds = 60",
        );
        let log_format = match raw.log_format.as_ref() {
            None => LogFormat::Text,
            Some(f) => match f.get_ref().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    self.report(
                        &f.span(),
                        self.path(f),
                        format!("log_format \"{other}\" is not known"),
                        "write log_format = \"text\" (journald) or \"json\"".into(),
                    );
                    LogFormat::Text
                }
            },
        };
        DaemonSettings {
            listen: listen.unwrap_or(defaults.listen),
            token,
            interval: interval.unwrap_or(defaults.interval),
            jitter: secs(jitter, defaults.jitter),
            max_concurrent_scans: concurrent.map_or(defaults.max_concurrent_scans, |n| n as usize),
            shutdown_grace: secs(grace, defaults.shutdown_grace),
            state_poll: secs(poll, defaults.state_poll),
            watch_state_files: raw
                .watch_state_files
                .as_ref()
                .map_or(defaults.watch_state_files, |b| *b.get_ref()),
            watch_config: raw
                .watch_config
                .as_ref()
                .map_or(defaults.watch_config, |b| *b.get_ref()),
            log_format,
            report_dir: raw
                .report_dir
                .as_ref()
                .and_then(|d| self.not_blank(d, false))
                .map(|d| self.file_path(d)),
        }
    }

    /// `interval_minutes` or `interval_seconds`, not both.
    fn interval(
        &mut self,
        minutes: &Option<Spanned<i64>>,
        seconds: &Option<Spanned<i64>>,
    ) -> Option<Duration> {
        if let (Some(_), Some(s)) = (minutes, seconds) {
            self.report(
                &s.span(),
                self.path(s),
                "interval_minutes and interval_seconds are both set".into(),
                "keep one, e.g. interval_minutes = 10".into(),
            );
            return None;
        }
        let m = self.in_range(minutes, 1, 10_080, "interval_minutes = 10");
        let s = self.in_range(seconds, 1, 604_800, "interval_seconds = 30");
        m.map(|m| Duration::from_secs(m as u64 * 60))
            .or(s.map(|s| Duration::from_secs(s as u64)))
    }

    /// A target's `interval_minutes` or `schedule` (with `schedule_timezone`).
    pub(super) fn target_schedule(&mut self, raw: &RawTarget) -> Option<Schedule> {
        let interval = self.interval(&raw.interval_minutes, &raw.interval_seconds);
        if let (Some(i), Some(_)) = (
            raw.interval_minutes
                .as_ref()
                .or(raw.interval_seconds.as_ref()),
            &raw.schedule,
        ) {
            self.report(
                &i.span(),
                self.path(i),
                "a target has either interval_minutes or schedule, not both".into(),
                "keep one: interval_minutes = 10, or schedule = \"*/10 * * * *\"".into(),
            );
            return None;
        }
        if let Some(zone) = &raw.schedule_timezone
            && raw.schedule.is_none()
        {
            self.report(
                &zone.span(),
                self.path(zone),
                "schedule_timezone without a schedule".into(),
                "add schedule = \"0 6 * * *\", or remove schedule_timezone".into(),
            );
        }
        if let Some(every) = interval {
            return Some(Schedule::Every(every));
        }
        let text = raw.schedule.as_ref()?;
        let expr = text.get_ref().trim();
        let cron = match expr.parse::<croner::Cron>() {
            Ok(c) => Some(c),
            Err(e) => {
                self.report(
                    &text.span(),
                    self.path(text),
                    format!("\"{expr}\" is not a cron expression: {e}"),
                    "five fields, minute hour day-of-month month day-of-week, e.g. schedule = \"*/15 * * * *\""
                        .into(),
                );
                None
            }
        };
        let zone = match &raw.schedule_timezone {
            None => Some(jiff::tz::TimeZone::UTC),
            Some(z) => {
                let name = z.get_ref().trim();
                match jiff::tz::TimeZone::get(name) {
                    Ok(tz) => Some(tz),
                    Err(_) => {
                        self.report(
                            &z.span(),
                            self.path(z),
                            format!("\"{name}\" is not a time zone driftd knows"),
                            "write an IANA time zone name, e.g. schedule_timezone = \"Europe/Amsterdam\""
                                .into(),
                        );
                        None
                    }
                }
            }
        };
        Some(Schedule::Cron {
            text: expr.to_string(),
            cron: Box::new(cron?),
            zone: zone?,
        })
    }
}
