//! When each target scans next (pure).
//!
//! An interval counts from the last scan's start; a scan that overran its
//! interval is followed by the next one right after it ends, never by a
//! backlog of missed ones. A cron schedule takes its next occurrence after
//! the last scan ended. Jitter (a fraction in `[0, 1)` of the configured
//! maximum, drawn by the caller) is added to either, so targets configured
//! alike do not all call the same APIs in the same second.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Schedule;

/// The last scan of a target, as the scheduler knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastRun {
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
}

/// When the target scans next. `last`: its last scan (from the store after
/// a restart); none yet: now. `jitter` is already drawn.
pub fn next_run(
    schedule: Option<&Schedule>,
    default_interval: Duration,
    last: Option<LastRun>,
    now: DateTime<Utc>,
    jitter: Duration,
) -> DateTime<Utc> {
    let jitter = chrono::Duration::from_std(jitter).unwrap_or_default();
    let Some(last) = last else {
        return now + jitter;
    };
    match schedule {
        Some(Schedule::Cron { cron, zone, .. }) => {
            let after = jiff::Timestamp::from_second(last.ended.timestamp())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                .to_zoned(zone.clone());
            match cron.find_next_occurrence(&after, false) {
                Ok(next) => {
                    DateTime::from_timestamp(next.timestamp().as_second(), 0).unwrap_or(now)
                        + jitter
                }
                // No occurrence (e.g. 30 February): never; check again in a day.
                Err(_) => now + chrono::Duration::days(1),
            }
        }
        Some(Schedule::Every(interval)) => after_interval(last, *interval) + jitter,
        None => after_interval(last, default_interval) + jitter,
    }
}

fn after_interval(last: LastRun, interval: Duration) -> DateTime<Utc> {
    let interval = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::days(1));
    (last.started + interval).max(last.ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn an_interval_counts_from_the_start_and_an_overrun_does_not_pile_up() {
        let ten = Duration::from_secs(600);
        let last = LastRun {
            started: t("2026-01-01T10:00:00Z"),
            ended: t("2026-01-01T10:02:00Z"),
        };
        let now = t("2026-01-01T10:02:00Z");
        assert_eq!(
            next_run(None, ten, Some(last), now, Duration::ZERO),
            t("2026-01-01T10:10:00Z")
        );
        assert_eq!(
            next_run(None, ten, Some(last), now, Duration::from_secs(7)),
            t("2026-01-01T10:10:07Z")
        );
        // A 25-minute scan: the next starts when it ended, once.
        let long = LastRun {
            started: t("2026-01-01T10:00:00Z"),
            ended: t("2026-01-01T10:25:00Z"),
        };
        assert_eq!(
            next_run(None, ten, Some(long), long.ended, Duration::ZERO),
            t("2026-01-01T10:25:00Z")
        );
        // Never scanned: now (plus jitter).
        assert_eq!(next_run(None, ten, None, now, Duration::ZERO), now);
        // A target's own interval wins over the default.
        let five = Schedule::Every(Duration::from_secs(300));
        assert_eq!(
            next_run(Some(&five), ten, Some(last), now, Duration::ZERO),
            t("2026-01-01T10:05:00Z")
        );
    }

    #[test]
    fn cron_takes_the_next_occurrence_in_its_zone() {
        let schedule = Schedule::Cron {
            text: "0 6 * * *".into(),
            cron: Box::new("0 6 * * *".parse().unwrap()),
            zone: jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap(),
        };
        let last = LastRun {
            started: t("2026-07-01T04:00:00Z"),
            ended: t("2026-07-01T04:01:00Z"),
        };
        // 06:00 in Amsterdam in July is 04:00 UTC; the next is tomorrow's.
        assert_eq!(
            next_run(
                Some(&schedule),
                Duration::from_secs(600),
                Some(last),
                last.ended,
                Duration::ZERO
            ),
            t("2026-07-02T04:00:00Z")
        );
    }
}
