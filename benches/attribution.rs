//! Attribution planning (BENCHMARKS.md, "Attribution"): 500 findings in one
//! account and region over a one-hour window with 20,000 write events. Prints
//! both plans' LookupEvents call counts, the minimum possible, the plan the
//! planner chooses (with the rate known, and with it unknown: a probe page
//! first), and the wall time at the limiter's spacing. Run with
//! `cargo bench --bench attribution`.

use chrono::{DateTime, Duration, Utc};
use driftd::attribution::lookup::CALL_SPACING;
use driftd::attribution::matching::Window;
use driftd::attribution::plan::{self, Choice, Need, PAGE};
use driftd::store::FetchedSpan;
use std::time::Instant;

const FINDINGS: usize = 500;
const EVENTS: u64 = 20_000;

fn main() {
    let start: DateTime<Utc> = "2026-11-21T10:00:00Z".parse().unwrap();
    let window = Window {
        start,
        end: start + Duration::hours(1),
    };
    let needs: Vec<Need> = (0..FINDINGS)
        .map(|i| Need {
            name: format!("sg-{i:017x}"),
            window,
        })
        .collect();
    let minimum = EVENTS.div_ceil(PAGE).min(FINDINGS as u64);

    let timer = Instant::now();
    let known = plan::plan(&needs, &[], Some(EVENTS as f64));
    let planning = timer.elapsed();

    // Rate unknown: the planner probes one page of the sweep (the newest 50
    // write events, evenly spread here), learns the rate, plans again.
    let unknown = plan::plan(&needs, &[], None);
    assert_eq!(unknown.choice, Choice::Probe);
    let page_span = Duration::milliseconds((3_600_000 / EVENTS as i64) * PAGE as i64);
    let oldest = window.end - page_span;
    let rate = plan::rate_from_page(oldest, window.end, PAGE);
    let probed = FetchedSpan {
        lookup: plan::SWEEP.into(),
        window: Window {
            start: oldest + Duration::seconds(1),
            end: window.end,
        },
    };
    let after_probe = plan::plan(&needs, &[probed], Some(rate));
    let probe_total = 1 + after_probe.sweep_calls.unwrap_or(after_probe.lookup_calls);

    let wall = |calls: u64| calls as f64 * CALL_SPACING.as_secs_f64();
    println!("attribution plan: {FINDINGS} findings, 1 h window, {EVENTS} write events");
    println!("  per-resource lookups: {} calls", known.lookup_calls);
    println!(
        "  one sweep:            {} calls",
        known.sweep_calls.unwrap()
    );
    println!("  minimum possible:     {minimum} calls");
    println!(
        "  chosen (rate known):  {:?}, {} calls, {:.0} s at {} ms a call ({:.0} s at exactly 2/s)",
        known.choice,
        known.sweep_calls.unwrap().min(known.lookup_calls),
        wall(known.sweep_calls.unwrap().min(known.lookup_calls)),
        CALL_SPACING.as_millis(),
        known.sweep_calls.unwrap().min(known.lookup_calls) as f64 / 2.0
    );
    println!(
        "  chosen (rate unknown): probe 1 page (rate {rate:.0}/h), then {:?}: {probe_total} calls, {:.0} s",
        after_probe.choice,
        wall(probe_total)
    );
    println!("  planning time:        {planning:?}");
    let few = plan::plan(&needs[..20], &[], Some(EVENTS as f64));
    println!(
        "  20 findings instead:  {:?} ({} lookups vs {} sweep calls)",
        few.choice,
        few.lookup_calls,
        few.sweep_calls.unwrap()
    );
}
