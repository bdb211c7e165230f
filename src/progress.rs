//! What a person at a terminal sees while a scan runs: one line per account and
//! region with the listings done, resources listed and listings that failed,
//! and a line with the API calls and throttled answers so far. Drawn on stderr,
//! only when stderr is a terminal: piped, or under systemd, nothing is drawn.

use crate::aws::{CallStats, CollectError, CollectProgress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Progress bars on stderr.
#[derive(Debug)]
pub struct TerminalProgress {
    bars: MultiProgress,
    calls: ProgressBar,
    places: Mutex<BTreeMap<(String, String), Place>>,
    stop: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Place {
    bar: ProgressBar,
    resources: usize,
    unknown: usize,
}

impl TerminalProgress {
    /// Progress on stderr if it is a terminal, else `None`.
    pub fn if_terminal() -> Option<Arc<TerminalProgress>> {
        use std::io::IsTerminal;
        std::io::stderr()
            .is_terminal()
            .then(|| Arc::new(TerminalProgress::new(ProgressDrawTarget::stderr())))
    }

    fn new(target: ProgressDrawTarget) -> TerminalProgress {
        let bars = MultiProgress::with_draw_target(target);
        let calls = bars.add(ProgressBar::new_spinner());
        calls.set_style(
            ProgressStyle::with_template("{spinner} listing the cloud  {msg}  {elapsed}")
                .expect("a valid template"),
        );
        calls.enable_steady_tick(Duration::from_millis(120));
        TerminalProgress {
            bars,
            calls,
            places: Mutex::new(BTreeMap::new()),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Removes the bars; the summary is printed after.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        for place in self.places.lock().expect("progress lock").values() {
            place.bar.finish_and_clear();
        }
        self.calls.finish_and_clear();
        let _ = self.bars.clear();
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl CollectProgress for TerminalProgress {
    fn started(&self, stats: &Arc<CallStats>) {
        // The counters grow inside the SDK's calls: a small thread redraws them.
        let (stats, bar, stop) = (stats.clone(), self.calls.clone(), self.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                bar.set_message(calls_message(&stats));
                std::thread::sleep(Duration::from_millis(200));
            }
        });
    }

    fn planned(&self, account: &str, region: &str, listings: usize) {
        let bar = self.bars.add(ProgressBar::new(listings as u64));
        bar.set_style(
            ProgressStyle::with_template("  {prefix:<28} [{bar:24}] {pos:>3}/{len:<3} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{account} {region}"));
        self.places.lock().expect("progress lock").insert(
            (account.to_string(), region.to_string()),
            Place {
                bar,
                resources: 0,
                unknown: 0,
            },
        );
    }

    fn finished(
        &self,
        account: &str,
        region: &str,
        _resource_type: &str,
        outcome: Result<usize, &CollectError>,
    ) {
        let mut places = self.places.lock().expect("progress lock");
        let Some(place) = places.get_mut(&(account.to_string(), region.to_string())) else {
            return;
        };
        match outcome {
            Ok(n) => place.resources += n,
            Err(_) => place.unknown += 1,
        }
        place.bar.inc(1);
        place
            .bar
            .set_message(place_message(place.resources, place.unknown));
    }
}

fn place_message(resources: usize, unknown: usize) -> String {
    if unknown == 0 {
        format!("{resources} resources")
    } else {
        format!("{resources} resources, {unknown} unknown")
    }
}

fn calls_message(stats: &CallStats) -> String {
    let (mut requests, mut throttled) = (0, 0);
    for s in stats.snapshot().values() {
        requests += s.requests;
        throttled += s.throttled;
    }
    if throttled == 0 {
        format!("{requests} API calls")
    } else {
        format!("{requests} API calls, {throttled} throttled")
    }
}

/// The one-screen summary a person at a terminal gets after a scan (on
/// stderr; stdout keeps the report, for pipes).
pub fn summary(report: &crate::scan::DesiredScan, exit_code: u8) -> String {
    use crate::store::ScanStatus;
    let took = (report.ended_at - report.started_at).num_milliseconds() as f64 / 1000.0;
    let status = match report.status {
        ScanStatus::Complete => "complete",
        ScanStatus::Partial => "PARTIAL",
        ScanStatus::Failed => "FAILED",
    };
    let mut s = format!(
        "scan {} of {} ({}): {status} in {took:.1} s\n",
        report.scan_id, report.target, report.environment
    );
    let (read, failed) = (
        report
            .sources
            .iter()
            .filter(|x| x.reread && x.error.is_none())
            .count(),
        report.sources.iter().filter(|x| x.error.is_some()).count(),
    );
    let unchanged = report.sources.len() - read - failed;
    s.push_str(&format!(
        "  states    {read} read, {unchanged} unchanged, {failed} failed; {} managed, {} data sources\n",
        report.managed, report.data_sources
    ));
    if let Some(live) = &report.live {
        let d = &live.drift;
        let unknown = live
            .coverage
            .iter()
            .filter(|c| c.listing != crate::live::Listing::Complete)
            .count();
        let (requests, throttled) = live
            .api_calls
            .values()
            .fold((0, 0), |(r, t), c| (r + c.requests, t + c.throttled));
        s.push_str(&format!(
            "  cloud     {} listings, {unknown} unknown; {} resources; {requests} API calls, {throttled} throttled\n",
            live.coverage.len(),
            live.resources
        ));
        s.push_str(&format!(
            "  drift     {} changed, {} unmanaged, {} missing; {:.0}% of live resources managed; {} AWS defaults skipped\n",
            d.changed,
            d.unmanaged,
            d.missing,
            d.coverage * 100.0,
            d.defaults_skipped
        ));
        const SHOWN: usize = 5;
        for c in d.unknown.iter().take(SHOWN) {
            if let crate::live::Listing::Unknown { reason } = &c.listing {
                s.push_str(&format!(
                    "  unknown   {} in {}/{}: {reason}\n",
                    c.resource_type, c.account, c.region
                ));
            }
        }
        if d.unknown.len() > SHOWN {
            s.push_str(&format!(
                "  unknown   ... and {} more (see --format json)\n",
                d.unknown.len() - SHOWN
            ));
        }
        if !d.not_checked.is_empty() {
            let n: usize = d.not_checked.values().sum();
            let types: Vec<&str> = d
                .not_checked
                .keys()
                .map(String::as_str)
                .take(SHOWN)
                .collect();
            let more = if d.not_checked.len() > SHOWN {
                ", ..."
            } else {
                ""
            };
            s.push_str(&format!(
                "  unchecked {n} resources of {} types driftd does not compare yet: {}{more}\n",
                d.not_checked.len(),
                types.join(", ")
            ));
        }
    }
    let meaning = match exit_code {
        0 => "in sync",
        2 => "drift found",
        3 => "partial scan, no drift in what could be read",
        _ => "error",
    };
    s.push_str(&format!("  result    {meaning} (exit {exit_code})\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(place_message(12, 0), "12 resources");
        assert_eq!(place_message(12, 2), "12 resources, 2 unknown");
        assert_eq!(calls_message(&CallStats::default()), "0 API calls");
    }

    #[test]
    fn listings_are_counted_per_account_and_region() {
        let p = TerminalProgress::new(ProgressDrawTarget::hidden());
        p.planned("111111111111", "eu-west-1", 3);
        p.planned("111111111111", "global", 1);
        p.finished("111111111111", "eu-west-1", "aws_vpc", Ok(4));
        let denied = CollectError::new(crate::aws::ErrorKind::AccessDenied, "denied");
        p.finished("111111111111", "eu-west-1", "aws_subnet", Err(&denied));
        let places = p.places.lock().unwrap();
        let place = &places[&("111111111111".to_string(), "eu-west-1".to_string())];
        assert_eq!(
            (place.bar.position(), place.resources, place.unknown),
            (2, 4, 1)
        );
        assert_eq!(place.bar.message(), "4 resources, 1 unknown");
    }
}
