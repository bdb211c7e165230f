//! `driftd run`: the long-lived service.
//!
//! One scheduler loop owns the targets: it starts each target's scans when
//! due (interval or cron, with jitter), never two of one target at once and
//! at most `max_concurrent_scans` in all, starts a target early when one of
//! its local state files changes or a remote state has a new version, and
//! applies reloads (SIGHUP, or the config file changing). It also pings the
//! systemd watchdog, so a hung loop gets the service restarted. Beside it run
//! the outbox worker (notifications), the attribution worker (CloudTrail
//! searches), the remote-state poller and the HTTP listener.
//!
//! Stopping (SIGTERM, SIGINT): no new work; running scans get
//! `shutdown_grace` to finish, then are cancelled (a scan writes its findings
//! in one transaction at its end, so a cancelled one changed nothing and is
//! recorded as failed); the outbox worker finishes the deliveries it has in
//! flight. A second signal exits at once: the store is transactional, so
//! that too leaves nothing half-written.

pub mod http;
pub mod memory;
pub mod metrics;
pub mod schedule;
pub mod sd_notify;
pub mod watch;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, mpsc, watch as tokio_watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, StateSourceSpec, Target};
use crate::notify::outbox::Outbox;
use crate::scan::{DesiredScan, LiveOptions, ScanContext, ScanError};
use crate::secrets::SecretKey;
use crate::sources::{Fetcher, SourceVersion};
use crate::store::{ScanState, ScanStatus, Store};

use metrics::{Gauges, Metrics};
use schedule::{LastRun, next_run};
use sd_notify::Notifier;
use watch::Change;

/// Changes to local files are collected this long before acting on them:
/// one `terraform apply` writes the state (and its backup) several times.
const DEBOUNCE: Duration = Duration::from_secs(2);
/// The scheduler wakes at least this often (status, watchdog, liveness).
const TICK: Duration = Duration::from_secs(10);
/// The outbox worker looks again at least this often.
const OUTBOX_IDLE: Duration = Duration::from_secs(60);
/// The attribution worker looks for due searches at least this often.
const ATTRIBUTION_EVERY: Duration = Duration::from_secs(60);
/// Once no scan has run for this long, freed memory goes back to the kernel
/// (after the outbox and attribution work a scan wakes has had its turn).
const TRIM_AFTER: Duration = Duration::from_secs(15);

/// What the HTTP listener and the workers share with the scheduler.
pub struct Shared {
    pub store: Arc<Store>,
    pub metrics: Metrics,
    pub http_token: RwLock<Option<String>>,
    /// The install key: CSRF tokens of the report's forms, the audit chain.
    pub key: SecretKey,
    clock: Arc<dyn Clock>,
    heartbeat: Mutex<Instant>,
    status: Mutex<Status>,
}

#[derive(Debug, Default)]
struct Status {
    targets: Vec<String>,
    /// Targets with a finished scan (this run, or stored by an earlier one).
    scanned: HashSet<String>,
    /// (target, when, status) of the last scan that finished.
    last: Option<(String, DateTime<Utc>, String)>,
    running: usize,
}

impl Shared {
    fn beat(&self) {
        *self.heartbeat.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn heartbeat_age(&self) -> Duration {
        self.heartbeat
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// `/healthz` fails when the scheduler loop has not run for this long.
    fn liveness_limit(&self) -> Duration {
        TICK * 6
    }

    fn status<R>(&self, f: impl FnOnce(&mut Status) -> R) -> R {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn not_yet_scanned(&self) -> Vec<String> {
        self.status(|s| {
            s.targets
                .iter()
                .filter(|t| !s.scanned.contains(*t))
                .cloned()
                .collect()
        })
    }

    async fn gauges(&self) -> Result<Gauges, crate::store::StoreError> {
        let store = self.store.clone();
        let now = self.clock.now();
        let targets = self.status(|s| s.targets.clone());
        let running = self.status(|s| s.running);
        let (open, outbox, (pending, lag), last_scan) = tokio::task::spawn_blocking(move || {
            store.read(|r| {
                let mut last = Vec::new();
                for name in &targets {
                    let at = match r.target_by_name(name)? {
                        Some(t) => r.scans(t.id, 5)?.into_iter().find_map(|s| match s.state {
                            ScanState::Finished { ended_at, .. } => Some(ended_at.timestamp()),
                            ScanState::Running => None,
                        }),
                        None => None,
                    };
                    last.push((name.clone(), at));
                }
                Ok::<_, crate::store::StoreError>((
                    r.open_findings_by_tier_kind()?,
                    r.outbox_counts()?,
                    r.attribution_backlog(now)?,
                    last,
                ))
            })
        })
        .await
        .map_err(|e| crate::store::StoreError::Corrupt {
            what: "a metrics read".into(),
            reason: e.to_string(),
        })??;
        Ok(Gauges {
            targets: last_scan.len(),
            open,
            outbox,
            attribution_pending: pending,
            attribution_lag: lag.map(|l| l.num_milliseconds() as f64 / 1000.0),
            last_scan,
            scans_running: running,
        })
    }
}

/// Runs the daemon until it is stopped. Config problems at start are printed
/// (every one, with line and column) and exit 1; so does a store or listener
/// that cannot be opened.
pub fn run(config_path: &Path, log_filter: &str) -> anyhow::Result<ExitCode> {
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e.render());
            return Ok(ExitCode::from(1));
        }
    };
    crate::cli::init_logging(log_filter, config.daemon.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("driftd")
        .build()?;
    let code = runtime.block_on(async move {
        match Daemon::start(config).await {
            Ok(daemon) => daemon.run().await,
            Err(e) => {
                tracing::error!("driftd cannot start: {e:#}");
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        }
    });
    // Blocking store work still running (a cancelled scan's last
    // transaction) finishes before the process exits.
    runtime.shutdown_timeout(Duration::from_secs(30));
    Ok(code)
}

/// A target as the scheduler keeps it.
struct Slot {
    target: Target,
    next: DateTime<Utc>,
    last: Option<LastRun>,
    /// Set while a scan of it runs: the task, and the config generation it
    /// was started under.
    running: Option<(tokio::task::AbortHandle, u64)>,
    /// A change arrived while it ran: scan again right after.
    again: bool,
}

struct ScanDone {
    target: String,
    generation: u64,
    started: DateTime<Utc>,
    took: Duration,
    result: Result<DesiredScan, ScanError>,
}

struct Daemon {
    config: Arc<Config>,
    generation: u64,
    shared: Arc<Shared>,
    key: SecretKey,
    fetcher: Arc<Fetcher>,
    notifier: Notifier,
    slots: HashMap<String, Slot>,
    scans: JoinSet<ScanDone>,
    /// task id → target, to know whose scan a cancelled or panicked task was.
    scan_tasks: HashMap<tokio::task::Id, String>,
    config_tx: tokio_watch::Sender<Arc<Config>>,
    stop_tx: tokio_watch::Sender<bool>,
    outbox_wake: Arc<Notify>,
    attribution_wake: Arc<Notify>,
    /// Wakes the static report's writer (`[daemon] report_dir`).
    report_wake: Arc<Notify>,
    changes_tx: mpsc::UnboundedSender<Change>,
    changes_rx: mpsc::UnboundedReceiver<Change>,
    _watch: watch::Watch,
    workers: JoinSet<()>,
    http: Option<tokio::task::JoinHandle<()>>,
    /// When to hand freed memory back ([`memory::release_free_memory`]).
    trim_at: Option<Instant>,
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return max;
    }
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    max.mul_f64((u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64)
}

fn resolve_token(config: &Config) -> anyhow::Result<Option<String>> {
    match &config.daemon.token {
        None => Ok(None),
        Some(r) => crate::sources::resolve_secret(r)
            .map(|t| Some(t.trim().to_string()))
            .map_err(|e| anyhow::anyhow!("[daemon] token: {e}")),
    }
}

impl Daemon {
    async fn start(config: Config) -> anyhow::Result<Daemon> {
        let started = Instant::now();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let key = SecretKey::load_or_create(&config.store.key_path)?;
        let path = config.store.path.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&path))
            .await?
            .map_err(|e| anyhow::anyhow!("{}: {e}", config.store.path.display()))?;
        let store = Arc::new(store);
        let now = clock.now();
        let interrupted = store.write(|w| w.fail_interrupted_scans(None, now))?;
        if interrupted > 0 {
            tracing::warn!(
                "{interrupted} scan(s) were left running by a driftd that stopped; recorded as failed"
            );
        }
        let config = Arc::new(config);
        let outbox = Outbox::new(store.clone(), key.clone(), config.clone(), clock.clone())
            .locked(&config.store.path)?;
        let token = resolve_token(&config)?;
        let listener = tokio::net::TcpListener::bind(config.daemon.listen)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {} ([daemon] listen): {e}; free the port or choose another",
                    config.daemon.listen
                )
            })?;
        let shared = Arc::new(Shared {
            store: store.clone(),
            metrics: Metrics::default(),
            http_token: RwLock::new(token),
            key: key.clone(),
            clock: clock.clone(),
            heartbeat: Mutex::new(Instant::now()),
            status: Mutex::new(Status::default()),
        });
        let (config_tx, config_rx) = tokio_watch::channel(config.clone());
        let (stop_tx, stop_rx) = tokio_watch::channel(false);
        let (changes_tx, changes_rx) = mpsc::unbounded_channel();
        let outbox_wake = Arc::new(Notify::new());
        let attribution_wake = Arc::new(Notify::new());
        let report_wake = Arc::new(Notify::new());
        let fetcher = Arc::new(Fetcher::new(Default::default()));

        let mut workers = JoinSet::new();
        workers.spawn(outbox_worker(
            outbox,
            config_rx.clone(),
            outbox_wake.clone(),
            stop_rx.clone(),
            shared.clone(),
        ));
        workers.spawn(attribution_worker(
            store.clone(),
            clock.clone(),
            config_rx.clone(),
            attribution_wake.clone(),
            outbox_wake.clone(),
            stop_rx.clone(),
            shared.clone(),
        ));
        workers.spawn(report_writer(
            store.clone(),
            key.clone(),
            clock.clone(),
            config_rx.clone(),
            report_wake.clone(),
            stop_rx.clone(),
        ));
        workers.spawn(state_poller(
            store.clone(),
            fetcher.clone(),
            config_rx,
            changes_tx.clone(),
            stop_rx.clone(),
        ));
        let router = http::router(shared.clone());
        let mut http_stop = stop_rx;
        let http = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = http_stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("the HTTP listener stopped: {e}");
            }
        });
        let watch = watch::start(&config, changes_tx.clone());
        let mut daemon = Daemon {
            config: config.clone(),
            generation: 0,
            shared,
            key,
            fetcher,
            notifier: Notifier::from_env(),
            slots: HashMap::new(),
            scans: JoinSet::new(),
            scan_tasks: HashMap::new(),
            config_tx,
            stop_tx,
            outbox_wake,
            attribution_wake,
            report_wake,
            changes_tx,
            changes_rx,
            _watch: watch,
            workers,
            http: Some(http),
            trim_at: None,
        };
        for target in &config.targets {
            daemon.add_slot(target.clone(), true).await;
        }
        daemon.publish_targets();
        tracing::info!(
            targets = config.targets.len(),
            listen = %config.daemon.listen,
            "driftd started in {} ms",
            started.elapsed().as_millis()
        );
        Ok(daemon)
    }

    /// A slot for `target`; `resume`: its next scan counts from the last
    /// complete or partial one stored (a restart does not scan everything at once).
    async fn add_slot(&mut self, target: Target, resume: bool) {
        let now = self.shared.clock.now();
        let last = if resume {
            let store = self.shared.store.clone();
            let name = target.name.clone();
            tokio::task::spawn_blocking(move || {
                store.read(|r| {
                    let Some(t) = r.target_by_name(&name)? else {
                        return Ok::<_, crate::store::StoreError>(None);
                    };
                    // A failed scan (cancelled by a stop, say) does not
                    // count: the target is due as if it had not run.
                    Ok(r.scans(t.id, 20)?.into_iter().find_map(|s| match s.state {
                        ScanState::Finished { ended_at, status }
                            if status != ScanStatus::Failed =>
                        {
                            Some(LastRun {
                                started: s.started_at,
                                ended: ended_at,
                            })
                        }
                        _ => None,
                    }))
                })
            })
            .await
            .ok()
            .and_then(|r| r.ok())
            .flatten()
        } else {
            None
        };
        if last.is_some() {
            self.shared
                .status(|s| s.scanned.insert(target.name.clone()));
        }
        let next = next_run(
            target.schedule.as_ref(),
            self.config.daemon.interval,
            last,
            now,
            jitter(self.config.daemon.jitter),
        );
        tracing::info!(target = %target.name, next = %next.format("%H:%M:%S"), "scheduled");
        self.slots.insert(
            target.name.clone(),
            Slot {
                target,
                next,
                last,
                running: None,
                again: false,
            },
        );
    }

    fn publish_targets(&self) {
        let mut names: Vec<String> = self.slots.keys().cloned().collect();
        names.sort();
        self.shared.status(|s| {
            s.scanned.retain(|t| names.contains(t));
            s.targets = names;
        });
    }

    fn running(&self) -> usize {
        self.slots.values().filter(|s| s.running.is_some()).count()
    }

    async fn run(mut self) -> ExitCode {
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return ExitCode::from(1);
        };
        self.notifier.ready();
        self.update_status().await;
        let watchdog_every = self.notifier.watchdog_interval();
        let mut last_ping = Instant::now();
        self.notifier.watchdog();
        let mut pending_change: Option<(Instant, bool, BTreeSet<String>)> = None;
        loop {
            self.shared.beat();
            if watchdog_every.is_some_and(|w| last_ping.elapsed() >= w) {
                self.notifier.watchdog();
                last_ping = Instant::now();
            }
            if let Some((at, _, _)) = &pending_change
                && at.elapsed() >= DEBOUNCE
            {
                let (_, config, targets) = pending_change.take().unwrap();
                if config {
                    tracing::info!("the config file changed: reloading");
                    self.reload().await;
                }
                self.scan_early(&targets);
            }
            self.start_due();
            if self.trim_at.is_some_and(|at| at <= Instant::now()) {
                self.trim_at = None;
                if self.scans.is_empty() {
                    tokio::task::spawn_blocking(memory::release_free_memory);
                }
            }
            let mut wake = TICK;
            if let Some(at) = self.trim_at {
                wake = wake.min(at.saturating_duration_since(Instant::now()));
            }
            if let Some(w) = watchdog_every {
                wake = wake.min(w.saturating_sub(last_ping.elapsed()));
            }
            if let Some((at, _, _)) = &pending_change {
                wake = wake.min(DEBOUNCE.saturating_sub(at.elapsed()));
            }
            if self.running() < self.config.daemon.max_concurrent_scans {
                let now = self.shared.clock.now();
                if let Some(next) = self
                    .slots
                    .values()
                    .filter(|s| s.running.is_none())
                    .map(|s| s.next)
                    .min()
                {
                    wake = wake.min((next - now).to_std().unwrap_or(Duration::ZERO));
                }
            }
            tokio::select! {
                _ = term.recv() => return self.shutdown("SIGTERM", &mut term, &mut int).await,
                _ = int.recv() => return self.shutdown("SIGINT", &mut term, &mut int).await,
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the config");
                    self.reload().await;
                }
                Some(done) = self.scans.join_next_with_id(), if !self.scans.is_empty() => {
                    self.scan_finished(done).await;
                }
                Some(change) = self.changes_rx.recv() => {
                    let entry = pending_change.get_or_insert_with(|| (Instant::now(), false, BTreeSet::new()));
                    match change {
                        Change::Config => entry.1 = true,
                        Change::States(t) => entry.2.extend(t),
                    }
                }
                _ = tokio::time::sleep(wake) => {}
            }
        }
    }

    /// Targets whose state changed: due now (or right after the running scan).
    fn scan_early(&mut self, targets: &BTreeSet<String>) {
        let now = self.shared.clock.now();
        for name in targets {
            if let Some(slot) = self.slots.get_mut(name) {
                tracing::info!(target = %name, "a state changed: scanning early");
                if slot.running.is_some() {
                    slot.again = true;
                } else {
                    slot.next = slot.next.min(now);
                }
            }
        }
    }

    fn start_due(&mut self) {
        let now = self.shared.clock.now();
        let mut due: Vec<(DateTime<Utc>, String)> = self
            .slots
            .values()
            .filter(|s| s.running.is_none() && s.next <= now)
            .map(|s| (s.next, s.target.name.clone()))
            .collect();
        due.sort();
        for (_, name) in due {
            if self.running() >= self.config.daemon.max_concurrent_scans {
                break;
            }
            self.start_scan(&name);
        }
        let running = self.running();
        self.shared.status(|s| s.running = running);
    }

    fn start_scan(&mut self, name: &str) {
        let Some(slot) = self.slots.get_mut(name) else {
            return;
        };
        let ctx = ScanContext {
            store: self.shared.store.clone(),
            fetcher: self.fetcher.clone(),
            key: self.key.clone(),
            clock: self.shared.clock.clone(),
            retention: Some(self.config.retention),
        };
        let live = LiveOptions::from_config(&self.config, false);
        let target = slot.target.clone();
        let generation = self.generation;
        let started = self.shared.clock.now();
        let span = tracing::info_span!("scan", target = %target.name);
        let handle = self.scans.spawn(
            async move {
                let timer = Instant::now();
                tracing::info!("scan started");
                let result = crate::scan::scan_target(&ctx, &target, Some(&live)).await;
                ScanDone {
                    target: target.name.clone(),
                    generation,
                    started,
                    took: timer.elapsed(),
                    result,
                }
            }
            .instrument(span),
        );
        self.scan_tasks.insert(handle.id(), name.to_string());
        slot.running = Some((handle, generation));
        slot.again = false;
    }

    async fn scan_finished(
        &mut self,
        done: Result<(tokio::task::Id, ScanDone), tokio::task::JoinError>,
    ) {
        let now = self.shared.clock.now();
        let done = match done {
            Ok((id, done)) => {
                self.scan_tasks.remove(&id);
                done
            }
            Err(e) => {
                // Cancelled (a reload or shutdown) or panicked: the scan's
                // row is still `running`; its findings were never touched.
                let name = self.scan_tasks.remove(&e.id()).unwrap_or_default();
                if e.is_panic() {
                    tracing::error!(target = %name, "the scan panicked: {e}; it is recorded as failed and runs again at its next time");
                    self.shared
                        .metrics
                        .scan_finished(&name, "error", Duration::ZERO);
                }
                self.fail_running(&name).await;
                if let Some(slot) = self.slots.get_mut(&name) {
                    slot.running = None;
                    slot.next = next_run(
                        slot.target.schedule.as_ref(),
                        self.config.daemon.interval,
                        Some(LastRun {
                            started: now,
                            ended: now,
                        }),
                        now,
                        jitter(self.config.daemon.jitter),
                    );
                }
                return;
            }
        };
        let status = match &done.result {
            Ok(report) => {
                let status = report.status.as_sql();
                let (drift, api) = match &report.live {
                    Some(live) => (
                        live.findings.needing_attention,
                        live.api_calls
                            .iter()
                            .map(|(s, c)| (*s, c.requests, c.throttled))
                            .collect(),
                    ),
                    None => (0, Vec::new()),
                };
                for (service, requests, throttled) in api {
                    self.shared.metrics.api_calls(service, requests, throttled);
                }
                tracing::info!(
                    target = %done.target,
                    scan_id = report.scan_id,
                    status,
                    managed = report.managed,
                    needing_attention = drift,
                    took_ms = done.took.as_millis() as u64,
                    "scan finished"
                );
                for d in &report.diagnostics {
                    tracing::warn!(target = %done.target, scan_id = report.scan_id, "{d}");
                }
                status.to_string()
            }
            Err(e) => {
                tracing::error!(target = %done.target, "the scan failed: {e}; it runs again at its next time");
                self.fail_running(&done.target).await;
                "error".to_string()
            }
        };
        self.shared
            .metrics
            .scan_finished(&done.target, &status, done.took);
        self.shared.status(|s| {
            s.scanned.insert(done.target.clone());
            s.last = Some((done.target.clone(), now, status.clone()));
        });
        if let Some(slot) = self.slots.get_mut(&done.target)
            && slot
                .running
                .as_ref()
                .is_some_and(|(_, g)| *g == done.generation)
        {
            let last = LastRun {
                started: done.started,
                ended: now,
            };
            slot.running = None;
            slot.last = Some(last);
            slot.next = if slot.again {
                now
            } else {
                next_run(
                    slot.target.schedule.as_ref(),
                    self.config.daemon.interval,
                    Some(last),
                    now,
                    jitter(self.config.daemon.jitter),
                )
            };
        }
        self.outbox_wake.notify_one();
        self.attribution_wake.notify_one();
        self.report_wake.notify_one();
        self.trim_at = Some(Instant::now() + TRIM_AFTER);
        self.update_status().await;
    }

    async fn fail_running(&self, target: &str) {
        let store = self.shared.store.clone();
        let now = self.shared.clock.now();
        let name = target.to_string();
        let result = tokio::task::spawn_blocking(move || {
            store.write(|w| match w.target_by_name(&name)? {
                Some(t) => w.fail_interrupted_scans(Some(t.id), now),
                None => Ok(0),
            })
        })
        .await;
        if let Ok(Err(e)) = result {
            tracing::error!(target = %target, "cannot record the cancelled scan as failed: {e}");
        }
    }

    /// Reads the config again. A config with problems is rejected (every
    /// problem logged) and the running one stays; otherwise targets added,
    /// removed or changed are started, stopped or restarted, the others left
    /// alone, and the workers take the new settings.
    async fn reload(&mut self) {
        self.notifier.reloading();
        let path = self.config.source.clone();
        let loaded = tokio::task::spawn_blocking(move || Config::load(&path)).await;
        let outcome = match loaded {
            Ok(Ok(new)) => self.apply(new).await,
            Ok(Err(e)) => Err(format!(
                "the config has problems; the running config stays:\n{}",
                e.render()
            )),
            Err(e) => Err(format!("the config could not be read: {e}")),
        };
        match outcome {
            Ok(summary) => {
                tracing::info!("config reloaded: {summary}");
                self.shared.metrics.reload("applied");
            }
            Err(why) => {
                tracing::error!("config reload rejected: {why}");
                self.shared.metrics.reload("rejected");
            }
        }
        self.notifier.ready();
        self.update_status().await;
    }

    async fn apply(&mut self, new: Config) -> Result<String, String> {
        if new.store != self.config.store {
            return Err(
                "[store] changed; the store cannot move while driftd runs: restart driftd to use the new one"
                    .into(),
            );
        }
        let token = resolve_token(&new).map_err(|e| e.to_string())?;
        if new.daemon.listen != self.config.daemon.listen {
            tracing::warn!(
                "[daemon] listen changed to {}; still listening on {} until driftd restarts",
                new.daemon.listen,
                self.config.daemon.listen
            );
        }
        let old: HashMap<&str, &Target> = self
            .config
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();
        let mut added = Vec::new();
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        for t in &new.targets {
            match old.get(t.name.as_str()) {
                None => added.push(t.clone()),
                Some(o) if *o != t => changed.push(t.clone()),
                Some(_) => {}
            }
        }
        let kept: HashSet<&str> = new.targets.iter().map(|t| t.name.as_str()).collect();
        for name in old.keys() {
            if !kept.contains(name) {
                removed.push(name.to_string());
            }
        }
        let new = Arc::new(new);
        let defaults_changed = new.daemon.interval != self.config.daemon.interval
            || new.daemon.jitter != self.config.daemon.jitter;
        self.config = new.clone();
        self.generation += 1;
        *self
            .shared
            .http_token
            .write()
            .unwrap_or_else(|p| p.into_inner()) = token;
        for name in &removed {
            if let Some(slot) = self.slots.remove(name)
                && let Some((handle, _)) = slot.running
            {
                handle.abort();
            }
        }
        for target in &changed {
            if let Some(slot) = self.slots.remove(&target.name)
                && let Some((handle, _)) = slot.running
            {
                handle.abort();
            }
            self.add_slot(target.clone(), false).await;
        }
        for target in &added {
            self.add_slot(target.clone(), true).await;
        }
        if defaults_changed {
            // Targets on the default interval take the new one from their last scan.
            let now = self.shared.clock.now();
            for slot in self.slots.values_mut() {
                if slot.target.schedule.is_none() && slot.running.is_none() {
                    slot.next = next_run(
                        None,
                        new.daemon.interval,
                        slot.last,
                        now,
                        jitter(new.daemon.jitter),
                    );
                }
            }
        }
        self.publish_targets();
        self._watch = watch::start(&new, self.changes_tx.clone());
        let _ = self.config_tx.send(new);
        Ok(format!(
            "{} target(s); added: [{}], changed: [{}], removed: [{}]",
            self.slots.len(),
            added
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            changed
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            removed.join(", ")
        ))
    }

    async fn update_status(&self) {
        let running = self.running();
        let (targets, last) = self.shared.status(|s| {
            s.running = running;
            (s.targets.len(), s.last.clone())
        });
        let open = {
            let store = self.shared.store.clone();
            tokio::task::spawn_blocking(move || store.read(|r| r.open_findings_by_tier_kind()))
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or_default()
        };
        let by_tier = |tier: u8| -> u64 {
            open.iter()
                .filter(|((t, _), _)| *t == tier)
                .map(|(_, n)| n)
                .sum()
        };
        let last = match last {
            Some((t, at, status)) => format!("last scan {t} {status} at {}", at.format("%H:%M:%S")),
            None => "no scan yet".into(),
        };
        self.notifier.status(&format!(
            "{targets} targets, {running} scanning; {last}; open findings: tier 3: {}, tier 2: {}, tier 1: {}",
            by_tier(3),
            by_tier(2),
            by_tier(1)
        ));
    }

    async fn shutdown(
        mut self,
        signal_name: &str,
        term: &mut tokio::signal::unix::Signal,
        int: &mut tokio::signal::unix::Signal,
    ) -> ExitCode {
        self.notifier.stopping();
        let grace = self.config.daemon.shutdown_grace;
        tracing::info!(
            "{signal_name}: stopping; {} scan(s) running get {} s to finish (a second signal stops at once)",
            self.running(),
            grace.as_secs()
        );
        self.notifier.status("stopping");
        let _ = self.stop_tx.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            if self.scans.is_empty() {
                break;
            }
            tokio::select! {
                _ = term.recv() => second_signal(),
                _ = int.recv() => second_signal(),
                Some(done) = self.scans.join_next_with_id() => self.scan_finished(done).await,
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!("the grace time is over: cancelling {} scan(s)", self.scans.len());
                    self.scans.abort_all();
                    while let Some(done) = self.scans.join_next_with_id().await {
                        self.scan_finished(done).await;
                    }
                    break;
                }
            }
        }
        // The outbox worker finishes the deliveries it has in flight (each
        // bounded by its channel's timeout); attribution stops at its next step.
        let workers = async {
            while self.workers.join_next().await.is_some() {}
            if let Some(http) = self.http.take() {
                let _ = http.await;
            }
        };
        tokio::select! {
            _ = workers => {}
            _ = term.recv() => second_signal(),
            _ = int.recv() => second_signal(),
        }
        let store = self.shared.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.checkpoint()).await;
        tracing::info!("stopped");
        ExitCode::SUCCESS
    }
}

fn second_signal() -> ! {
    tracing::warn!(
        "second signal: stopping now (the store is transactional: nothing is half-written)"
    );
    std::process::exit(130);
}

/// Writes the static report into `[daemon] report_dir` after scans (one
/// export at a time; scans that end meanwhile are covered by the next).
async fn report_writer(
    store: Arc<Store>,
    key: SecretKey,
    clock: Arc<dyn Clock>,
    config: tokio_watch::Receiver<Arc<Config>>,
    wake: Arc<Notify>,
    mut stop: tokio_watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = wake.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let Some(dir) = config.borrow().daemon.report_dir.clone() else {
            continue;
        };
        let (store, key, clock) = (store.clone(), key.clone(), clock.clone());
        let out = dir.clone();
        let result = tokio::task::spawn_blocking(move || {
            crate::report::export::export(&store, &key, &out, None, clock.now())
        })
        .await;
        match result {
            Ok(Ok(done)) => tracing::info!(
                dir = %dir.display(),
                files = done.files,
                "wrote the static report"
            ),
            Ok(Err(e)) => tracing::error!(
                "the static report ([daemon] report_dir) was not written: {e}; the next scan tries again"
            ),
            Err(e) => tracing::error!("the static report writer failed: {e}"),
        }
    }
}

async fn outbox_worker(
    mut outbox: Outbox,
    mut config: tokio_watch::Receiver<Arc<Config>>,
    wake: Arc<Notify>,
    mut stop: tokio_watch::Receiver<bool>,
    shared: Arc<Shared>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        if config.has_changed().unwrap_or(false) {
            outbox.set_config(config.borrow_and_update().clone());
        }
        match outbox.run_once().await {
            Ok(stats) => {
                shared
                    .metrics
                    .outbox_pass(stats.delivered, stats.retrying + stats.dead);
                if stats.dead > 0 {
                    tracing::error!(
                        "{} delivery(ies) went dead; `driftd outbox list --state dead` shows them",
                        stats.dead
                    );
                }
            }
            Err(e) => {
                tracing::error!("the outbox worker could not work: {e}; trying again shortly")
            }
        }
        let now = shared.clock.now();
        let sleep = match outbox.next_due() {
            Ok(Some(at)) => (at - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(OUTBOX_IDLE),
            Ok(None) => OUTBOX_IDLE,
            Err(_) => Duration::from_secs(10),
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = wake.notified() => {}
            _ = stop.changed() => {}
            _ = config.changed() => {}
        }
    }
}

async fn attribution_worker(
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    config: tokio_watch::Receiver<Arc<Config>>,
    wake: Arc<Notify>,
    outbox_wake: Arc<Notify>,
    mut stop: tokio_watch::Receiver<bool>,
    shared: Arc<Shared>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        let current = config.borrow().clone();
        let ctx = crate::attribution::run::PassContext {
            store: store.clone(),
            clock: clock.clone(),
            settings: current.attribution.clone(),
            collect: current.aws.collect_options(),
        };
        for target in current.targets.iter().filter(|t| t.aws.is_some()) {
            let pass = crate::attribution::run::attribute_target(&ctx, target)
                .instrument(tracing::info_span!("attribution", target = %target.name));
            let report = tokio::select! {
                r = pass => r,
                _ = stop.changed() => return,
            };
            match report {
                Ok(r) => {
                    if r.searched > 0 {
                        shared.metrics.attribution_pass();
                        shared.metrics.api_calls("cloudtrail", r.calls, r.throttled);
                        tracing::info!(
                            target = %target.name,
                            searched = r.searched,
                            found = r.found,
                            pending = r.pending,
                            unknown = r.unknown,
                            calls = r.calls,
                            "attribution pass"
                        );
                    }
                    for e in &r.errors {
                        tracing::warn!(target = %target.name, "attribution: {e}");
                    }
                    if r.found > 0 || r.unknown > 0 {
                        outbox_wake.notify_one();
                    }
                }
                Err(e) => tracing::error!(target = %target.name, "attribution pass failed: {e}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(ATTRIBUTION_EVERY) => {}
            _ = wake.notified() => {}
            _ = stop.changed() => {}
        }
    }
}

/// Remote states (S3, http, HCP) are asked for their version every
/// `state_poll` (a conditional or metadata request, no download when
/// unchanged); a new version scans the target early. Targets never scanned
/// completely are left to their schedule.
async fn state_poller(
    store: Arc<Store>,
    fetcher: Arc<Fetcher>,
    mut config: tokio_watch::Receiver<Arc<Config>>,
    changes: mpsc::UnboundedSender<Change>,
    mut stop: tokio_watch::Receiver<bool>,
) {
    loop {
        let current = config.borrow_and_update().clone();
        tokio::select! {
            _ = tokio::time::sleep(current.daemon.state_poll) => {}
            _ = stop.changed() => return,
            _ = config.changed() => continue,
        }
        for target in &current.targets {
            let remote: Vec<&StateSourceSpec> = target
                .states
                .iter()
                .filter(|s| {
                    !matches!(
                        s,
                        StateSourceSpec::File { .. } | StateSourceSpec::Glob { .. }
                    )
                })
                .collect();
            if remote.is_empty() {
                continue;
            }
            let name = target.name.clone();
            let store = store.clone();
            let known = tokio::task::spawn_blocking(move || {
                store.read(|r| match r.target_by_name(&name)? {
                    Some(t) => r.latest_source_versions(t.id),
                    None => Ok(Default::default()),
                })
            })
            .await;
            let Ok(Ok(known)) = known else { continue };
            if known.is_empty() {
                continue;
            }
            let known: HashMap<String, SourceVersion> = known
                .into_iter()
                .filter_map(|(o, v)| serde_json::from_value(v).ok().map(|v| (o, v)))
                .collect();
            for spec in remote {
                let fetched = tokio::select! {
                    f = fetcher.fetch(spec, &known) => f,
                    _ = stop.changed() => return,
                };
                match fetched {
                    Ok(objects) if objects.iter().any(|o| o.content.is_some()) => {
                        tracing::info!(target = %target.name, "a remote state has a new version");
                        let _ = changes.send(Change::States(BTreeSet::from([target.name.clone()])));
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(target = %target.name, "version check failed: {e}"),
                }
            }
        }
    }
}
