//! `/metrics`: counters the daemon keeps as it works, and gauges read from
//! the store at scrape time, in the Prometheus text exposition format
//! (version 0.0.4). Label values are escaped as the format requires.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::store::{OpenByTierKind, OutboxCounts};

/// Scan duration buckets, in seconds: a scan takes seconds to many minutes.
const BUCKETS: [f64; 11] = [
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Per bucket (not cumulative; summed when rendered).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| v <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += v;
    }
}

#[derive(Debug, Default)]
struct Counters {
    /// (target, status) → scans finished.
    scans: BTreeMap<(String, String), u64>,
    durations: BTreeMap<String, Histogram>,
    /// service → (requests, throttled).
    api: BTreeMap<String, (u64, u64)>,
    /// Delivery attempts that failed (retried or dead).
    delivery_failures: u64,
    deliveries: u64,
    /// (outcome) → reloads.
    reloads: BTreeMap<&'static str, u64>,
    attribution_passes: u64,
}

/// What the store says at scrape time.
#[derive(Debug, Default)]
pub struct Gauges {
    pub open: OpenByTierKind,
    pub outbox: OutboxCounts,
    pub attribution_pending: u64,
    /// Seconds since the oldest pending search's window ended.
    pub attribution_lag: Option<f64>,
    /// (target, unix time of its last finished scan).
    pub last_scan: Vec<(String, Option<i64>)>,
    pub scans_running: usize,
    pub targets: usize,
}

#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        f(&mut self.counters.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn scan_finished(&self, target: &str, status: &str, took: Duration) {
        self.with(|c| {
            *c.scans
                .entry((target.to_string(), status.to_string()))
                .or_default() += 1;
            c.durations
                .entry(target.to_string())
                .or_default()
                .observe(took.as_secs_f64());
        });
    }

    pub fn api_calls(&self, service: &str, requests: u64, throttled: u64) {
        self.with(|c| {
            let e = c.api.entry(service.to_string()).or_default();
            e.0 += requests;
            e.1 += throttled;
        });
    }

    pub fn outbox_pass(&self, delivered: usize, failed: usize) {
        self.with(|c| {
            c.deliveries += delivered as u64;
            c.delivery_failures += failed as u64;
        });
    }

    pub fn reload(&self, outcome: &'static str) {
        self.with(|c| *c.reloads.entry(outcome).or_default() += 1);
    }

    pub fn attribution_pass(&self) {
        self.with(|c| c.attribution_passes += 1);
    }

    /// The whole exposition.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::with_capacity(4096);
        self.with(|c| render_counters(&mut out, c));
        render_gauges(&mut out, g);
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value: `\`, `"` and newlines escaped.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_counters(out: &mut String, c: &Counters) {
    header(
        out,
        "driftd_scans_total",
        "counter",
        "Scans finished, by target and status.",
    );
    for ((target, status), n) in &c.scans {
        let _ = writeln!(
            out,
            "driftd_scans_total{{target=\"{}\",status=\"{}\"}} {n}",
            esc(target),
            esc(status)
        );
    }
    header(
        out,
        "driftd_scan_duration_seconds",
        "histogram",
        "How long scans took, by target.",
    );
    for (target, h) in &c.durations {
        let t = esc(target);
        let mut cumulative = 0;
        for (b, n) in BUCKETS.iter().zip(h.counts) {
            cumulative += n;
            let _ = writeln!(
                out,
                "driftd_scan_duration_seconds_bucket{{target=\"{t}\",le=\"{b}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "driftd_scan_duration_seconds_bucket{{target=\"{t}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "driftd_scan_duration_seconds_sum{{target=\"{t}\"}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "driftd_scan_duration_seconds_count{{target=\"{t}\"}} {}",
            h.count
        );
    }
    header(
        out,
        "driftd_api_calls_total",
        "counter",
        "Cloud API requests (each attempt), by service.",
    );
    for (service, (n, _)) in &c.api {
        let _ = writeln!(
            out,
            "driftd_api_calls_total{{service=\"{}\"}} {n}",
            esc(service)
        );
    }
    header(
        out,
        "driftd_api_throttles_total",
        "counter",
        "Cloud API answers that said slow down, by service.",
    );
    for (service, (_, n)) in &c.api {
        let _ = writeln!(
            out,
            "driftd_api_throttles_total{{service=\"{}\"}} {n}",
            esc(service)
        );
    }
    header(
        out,
        "driftd_deliveries_total",
        "counter",
        "Notifications delivered.",
    );
    let _ = writeln!(out, "driftd_deliveries_total {}", c.deliveries);
    header(
        out,
        "driftd_delivery_failures_total",
        "counter",
        "Delivery attempts that failed (to be retried, or dead).",
    );
    let _ = writeln!(
        out,
        "driftd_delivery_failures_total {}",
        c.delivery_failures
    );
    header(
        out,
        "driftd_config_reloads_total",
        "counter",
        "Config reloads, applied or rejected.",
    );
    for outcome in ["applied", "rejected"] {
        let n = c.reloads.get(outcome).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "driftd_config_reloads_total{{outcome=\"{outcome}\"}} {n}"
        );
    }
    header(
        out,
        "driftd_attribution_passes_total",
        "counter",
        "Attribution passes run (one per target with searches due).",
    );
    let _ = writeln!(
        out,
        "driftd_attribution_passes_total {}",
        c.attribution_passes
    );
}

fn render_gauges(out: &mut String, g: &Gauges) {
    header(
        out,
        "driftd_open_findings",
        "gauge",
        "Findings that need attention (open or acknowledged, visible, not ignored), by tier and kind.",
    );
    for tier in 1..=3u8 {
        for kind in ["changed", "missing", "unmanaged"] {
            let n = g.open.get(&(tier, kind.to_string())).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "driftd_open_findings{{tier=\"{tier}\",kind=\"{kind}\"}} {n}"
            );
        }
    }
    header(
        out,
        "driftd_outbox_deliveries",
        "gauge",
        "Outbox rows by state (pending is the depth; dead needs a person).",
    );
    for (state, n) in [
        ("pending", g.outbox.pending),
        ("delivered", g.outbox.delivered),
        ("dead", g.outbox.dead),
        ("cancelled", g.outbox.cancelled),
    ] {
        let _ = writeln!(out, "driftd_outbox_deliveries{{state=\"{state}\"}} {n}");
    }
    header(
        out,
        "driftd_attribution_pending",
        "gauge",
        "Attribution searches still looking.",
    );
    let _ = writeln!(out, "driftd_attribution_pending {}", g.attribution_pending);
    header(
        out,
        "driftd_attribution_lag_seconds",
        "gauge",
        "Seconds since the window of the oldest search still looking ended (0: none).",
    );
    let _ = writeln!(
        out,
        "driftd_attribution_lag_seconds {}",
        g.attribution_lag.unwrap_or(0.0).max(0.0)
    );
    header(
        out,
        "driftd_last_scan_timestamp_seconds",
        "gauge",
        "Unix time each target's last scan finished.",
    );
    for (target, at) in &g.last_scan {
        if let Some(at) = at {
            let _ = writeln!(
                out,
                "driftd_last_scan_timestamp_seconds{{target=\"{}\"}} {at}",
                esc(target)
            );
        }
    }
    header(out, "driftd_scans_running", "gauge", "Scans running now.");
    let _ = writeln!(out, "driftd_scans_running {}", g.scans_running);
    header(out, "driftd_targets", "gauge", "Targets configured.");
    let _ = writeln!(out, "driftd_targets {}", g.targets);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.scan_finished("a\"b", "complete", Duration::from_secs(3));
        m.scan_finished("a\"b", "complete", Duration::from_millis(500));
        let text = m.render(&Gauges::default());
        assert!(text.contains("driftd_scans_total{target=\"a\\\"b\",status=\"complete\"} 2"));
        assert!(text.contains("driftd_scan_duration_seconds_bucket{target=\"a\\\"b\",le=\"1\"} 1"));
        assert!(text.contains("driftd_scan_duration_seconds_bucket{target=\"a\\\"b\",le=\"5\"} 2"));
        assert!(text.contains("driftd_scan_duration_seconds_count{target=\"a\\\"b\"} 2"));
        assert!(text.contains("driftd_open_findings{tier=\"3\",kind=\"changed\"} 0"));
    }
}
