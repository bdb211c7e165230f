//! The LookupEvents call plan (pure): per-resource lookups, or one sweep of
//! write events, whichever costs fewer calls, minus what was fetched already.
//!
//! LookupEvents takes one lookup attribute per call and returns at most 50
//! events a page, at 2 calls per second per account and region. A
//! `ResourceName` lookup returns the resource's reads too, so it costs at
//! least one call per resource and window; a sweep (`ReadOnly=false`) over
//! the union of the windows costs one call per 50 write events in it. With few
//! findings the lookups win; with many, the sweep.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::matching::Window;
use crate::store::FetchedSpan;

/// Events per LookupEvents page.
pub const PAGE: u64 = 50;

/// The `lookup` of a sweep of write events in `trail_fetched`.
pub const SWEEP: &str = "*";

/// What one finding needs: its events under `name` within `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub name: String,
    pub window: Window,
}

/// The calls to make for one account and region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Per-resource lookups still needed: (ResourceName, span).
    pub lookups: Vec<(String, Window)>,
    /// Sweep spans still needed (the union of the same windows).
    pub sweep: Vec<Window>,
    /// Calls the lookups would cost (at least one per name and span; one page
    /// each is assumed, a resource rarely has 50 events in a window).
    pub lookup_calls: u64,
    /// Calls the sweep would cost at the known write-event rate; `None` when
    /// the rate is unknown.
    pub sweep_calls: Option<u64>,
    pub choice: Choice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Everything needed was fetched already.
    Nothing,
    Lookups,
    Sweep,
    /// The rate is unknown and lookups would cost more than one call: read
    /// the sweep's first page, learn the rate from it, and plan again.
    Probe,
}

/// Plans the calls for `needs` given the spans fetched already and the
/// account and region's write-event rate (events per hour), if known.
pub fn plan(needs: &[Need], fetched: &[FetchedSpan], rate_per_hour: Option<f64>) -> Plan {
    let mut lookups: Vec<(String, Window)> = Vec::new();
    let mut names: Vec<&str> = needs.iter().map(|n| n.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let windows: Vec<Window> = needs
            .iter()
            .filter(|n| n.name == name)
            .map(|n| n.window)
            .collect();
        let covered: Vec<Window> = fetched
            .iter()
            .filter(|f| f.lookup == name || f.lookup == SWEEP)
            .map(|f| f.window)
            .collect();
        for w in subtract(&union(windows), &covered) {
            lookups.push((name.to_string(), w));
        }
    }
    let sweep = union(lookups.iter().map(|(_, w)| *w).collect());
    let lookup_calls = lookups.len() as u64;
    let sweep_calls = rate_per_hour.map(|rate| sweep_cost(&sweep, rate));
    let choice = match sweep_calls {
        _ if lookups.is_empty() => Choice::Nothing,
        Some(sweep) if sweep < lookup_calls => Choice::Sweep,
        Some(_) => Choice::Lookups,
        // One lookup is never worse than a sweep's first page.
        None if lookup_calls <= 1 => Choice::Lookups,
        None => Choice::Probe,
    };
    Plan {
        lookups,
        sweep,
        lookup_calls,
        sweep_calls,
        choice,
    }
}

/// Calls a sweep of `spans` costs at `rate` write events per hour.
pub fn sweep_cost(spans: &[Window], rate_per_hour: f64) -> u64 {
    spans
        .iter()
        .map(|w| {
            let hours = (w.end - w.start).num_seconds().max(1) as f64 / 3600.0;
            let events = (rate_per_hour * hours).ceil() as u64;
            events.div_ceil(PAGE).max(1)
        })
        .sum()
}

/// The rate a full sweep page implies: 50 events between its oldest and
/// newest event times (at least a second).
pub fn rate_from_page(oldest: DateTime<Utc>, newest: DateTime<Utc>, events: u64) -> f64 {
    let seconds = (newest - oldest).num_seconds().max(1) as f64;
    events as f64 * 3600.0 / seconds
}

/// Merges overlapping or touching windows (within a second).
pub fn union(mut windows: Vec<Window>) -> Vec<Window> {
    windows.sort_by_key(|w| w.start);
    let mut out: Vec<Window> = Vec::with_capacity(windows.len());
    for w in windows {
        match out.last_mut() {
            Some(last) if w.start <= last.end + Duration::seconds(1) => {
                last.end = last.end.max(w.end);
            }
            _ => out.push(w),
        }
    }
    out
}

/// `windows` minus `covered` (both merged first); CloudTrail's times are
/// whole seconds, so a remainder starts or ends a second off a covered span.
pub fn subtract(windows: &[Window], covered: &[Window]) -> Vec<Window> {
    let covered = union(covered.to_vec());
    let mut out = Vec::new();
    for w in windows {
        let mut start = w.start;
        for c in &covered {
            if c.end < start || c.start > w.end {
                continue;
            }
            if c.start > start {
                out.push(Window {
                    start,
                    end: c.start - Duration::seconds(1),
                });
            }
            start = start.max(c.end + Duration::seconds(1));
            if start > w.end {
                break;
            }
        }
        if start <= w.end {
            out.push(Window { start, end: w.end });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
    }

    fn w(a: i64, b: i64) -> Window {
        Window {
            start: t(a),
            end: t(b),
        }
    }

    fn needs(n: usize, window: Window) -> Vec<Need> {
        (0..n)
            .map(|i| Need {
                name: format!("sg-{i}"),
                window,
            })
            .collect()
    }

    #[test]
    fn few_findings_use_lookups_many_use_the_sweep() {
        // 20,000 write events an hour: a one-hour sweep is 400 calls.
        let few = plan(&needs(5, w(0, 60)), &[], Some(20_000.0));
        assert_eq!(
            (few.choice, few.lookup_calls, few.sweep_calls),
            (Choice::Lookups, 5, Some(400))
        );
        let many = plan(&needs(500, w(0, 60)), &[], Some(20_000.0));
        assert_eq!(
            (many.choice, many.lookup_calls, many.sweep_calls),
            (Choice::Sweep, 500, Some(400))
        );
        assert_eq!(many.sweep, vec![w(0, 60)]);
    }

    #[test]
    fn unknown_rate_probes_unless_one_call_does() {
        assert_eq!(plan(&needs(1, w(0, 60)), &[], None).choice, Choice::Lookups);
        assert_eq!(plan(&needs(3, w(0, 60)), &[], None).choice, Choice::Probe);
    }

    #[test]
    fn fetched_spans_are_not_fetched_again() {
        let fetched = [
            FetchedSpan {
                lookup: SWEEP.into(),
                window: w(0, 30),
            },
            FetchedSpan {
                lookup: "sg-1".into(),
                window: w(30, 50),
            },
        ];
        let p = plan(&needs(2, w(0, 60)), &fetched, Some(10.0));
        let after = |m: i64| t(m) + Duration::seconds(1);
        assert_eq!(
            p.lookups,
            vec![
                (
                    "sg-0".to_string(),
                    Window {
                        start: after(30),
                        end: t(60)
                    }
                ),
                (
                    "sg-1".to_string(),
                    Window {
                        start: after(50),
                        end: t(60)
                    }
                ),
            ]
        );
        let all = [FetchedSpan {
            lookup: SWEEP.into(),
            window: w(-10, 70),
        }];
        assert_eq!(
            plan(&needs(2, w(0, 60)), &all, None).choice,
            Choice::Nothing
        );
    }

    #[test]
    fn windows_merge_and_subtract() {
        assert_eq!(
            union(vec![w(10, 20), w(0, 5), w(15, 30)]),
            vec![w(0, 5), w(10, 30)]
        );
        let gaps = subtract(&[w(0, 60)], &[w(10, 20), w(30, 40)]);
        assert_eq!(gaps.len(), 3);
        assert_eq!(
            gaps[0],
            Window {
                start: t(0),
                end: t(10) - Duration::seconds(1)
            }
        );
        assert_eq!(
            gaps[2],
            Window {
                start: t(40) + Duration::seconds(1),
                end: t(60)
            }
        );
    }
}
