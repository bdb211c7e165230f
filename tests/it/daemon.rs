//! `driftd run` as a real process against moto, as systemd would run it:
//! a `NOTIFY_SOCKET` the test listens on, `WATCHDOG_USEC` set, signals sent
//! with kill(1). The daemon scans on short intervals, scans early when a
//! state file changes, rejects a bad config on reload and keeps running,
//! applies a good one, answers /readyz and /metrics, and stops cleanly on
//! SIGTERM with its store consistent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::moto::{MotoServer, REGION, free_port};

/// An empty Terraform v4 state with this serial.
fn empty_state(serial: u64) -> String {
    format!(
        r#"{{"version": 4, "terraform_version": "1.9.8", "serial": {serial},
  "lineage": "0d5d3a57-7b4b-4c5e-9a31-daemon000001", "outputs": {{}}, "resources": []}}"#
    )
}

struct Target<'a> {
    name: &'a str,
    state: &'a Path,
    schedule: &'a str,
}

fn config_text(
    dir: &Path,
    port: u16,
    endpoint: &str,
    targets: &[Target<'_>],
    extra: &str,
) -> String {
    let mut text = format!(
        r#"[store]
path = "{db}"

[findings]
reread_delay_seconds = 0

[attribution]
enabled = false

[daemon]
listen = "127.0.0.1:{port}"
jitter_seconds = 0
max_concurrent_scans = 2
shutdown_grace_seconds = 20
{extra}
"#,
        db = dir.join("driftd.db").display()
    );
    for t in targets {
        text.push_str(&format!(
            r#"
[[target]]
name = "{name}"
environment = "test"
{schedule}
  [[target.state]]
  type = "file"
  path = "{state}"
  [target.aws]
  regions = ["{REGION}"]
  endpoint_url = "{endpoint}"
  [[target.aws.account]]
  id = "123456789012"
"#,
            name = t.name,
            schedule = t.schedule,
            state = t.state.display(),
        ));
    }
    text
}

/// What the daemon sent to its `NOTIFY_SOCKET`, in order.
#[derive(Clone, Default)]
struct Notifications(Arc<Mutex<Vec<(Instant, String)>>>);

impl Notifications {
    fn listen(path: &Path) -> Notifications {
        let sock = UnixDatagram::bind(path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let seen = Notifications::default();
        let out = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match sock.recv(&mut buf) {
                    Ok(n) => {
                        let text = String::from_utf8_lossy(&buf[..n]).to_string();
                        out.0.lock().unwrap().push((Instant::now(), text));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => return,
                }
                if Arc::strong_count(&out.0) == 1 {
                    return;
                }
            }
        });
        seen
    }

    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| t.clone())
            .collect()
    }

    fn count(&self, line: &str) -> usize {
        self.all()
            .iter()
            .filter(|m| m.lines().any(|l| l == line))
            .count()
    }

    fn first(&self, line: &str) -> Option<Instant> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(_, m)| m.lines().any(|l| l == line))
            .map(|(at, _)| *at)
    }
}

/// The daemon's stderr, collected by a thread.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<String>>);

impl Log {
    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

struct Daemon {
    child: Child,
    log: Log,
    port: u16,
}

impl Daemon {
    fn start(config: &Path, port: u16, notify_socket: &Path) -> Daemon {
        Daemon::start_with(config, port, notify_socket, &[])
    }

    fn start_with(config: &Path, port: u16, notify_socket: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_driftd"))
            .args(["run", "-c", config.to_str().unwrap()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", config.parent().unwrap())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NOTIFY_SOCKET", notify_socket)
            .env("WATCHDOG_USEC", "2000000")
            .env("DRIFTD_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Log::default();
        let out = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                let mut text = out.0.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Daemon { child, log, port }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// (status, body) of a GET on the daemon's listener.
    fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path, None)
    }

    fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    fn scans(&self, target: &str) -> u64 {
        scans_of(&self.metrics(), target)
    }
}

impl Daemon {
    /// Waits for the process to exit; panics after `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "still running after {timeout:?}:\n{}",
                self.log.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn http_get(port: u16, path: &str, token: Option<&str>) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// All scans of `target` finished, over every status.
fn scans_of(metrics: &str, target: &str) -> u64 {
    let prefix = format!("driftd_scans_total{{target=\"{target}\",");
    metrics
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn wait_for(what: &str, log: &Log, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}; the daemon said:\n{}",
            log.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn write_atomically(path: &Path, text: &str) {
    // As Terraform and editors do: a new file renamed over the old one.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The test's targets: `fast` scans every 2 s, `watched` (and `added`)
/// hourly, so only a file change or a reload scans them again.
fn targets<'a>(fast: &'a Path, watched: &'a Path, added: Option<&'a Path>) -> Vec<Target<'a>> {
    let mut all = vec![
        Target {
            name: "fast",
            state: fast,
            schedule: "interval_seconds = 2",
        },
        Target {
            name: "watched",
            state: watched,
            schedule: "interval_minutes = 60",
        },
    ];
    if let Some(added) = added {
        all.push(Target {
            name: "added",
            state: added,
            schedule: "interval_minutes = 60",
        });
    }
    all
}

fn setup(dir: &Path) -> (MotoServer, PathBuf, PathBuf, PathBuf) {
    let moto = MotoServer::start();
    let fast = dir.join("fast.tfstate");
    let watched = dir.join("watched.tfstate");
    std::fs::write(&fast, empty_state(1)).unwrap();
    std::fs::write(&watched, empty_state(1)).unwrap();
    let socket = dir.join("notify.sock");
    (moto, fast, watched, socket)
}

#[test]
fn the_daemon_scans_reloads_reports_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, fast, watched, socket) = setup(dir.path());
    let endpoint = moto.endpoint_url();
    let port = free_port();
    let config = dir.path().join("driftd.toml");
    let good = config_text(
        dir.path(),
        port,
        &endpoint,
        &targets(&fast, &watched, None),
        "",
    );
    std::fs::write(&config, &good).unwrap();
    let notes = Notifications::listen(&socket);
    let started = Instant::now();
    let daemon = Daemon::start(&config, port, &socket);
    let log = daemon.log.clone();

    // READY=1 once the store is open and the config loaded.
    wait_for("READY=1", &log, Duration::from_secs(10), || {
        notes.count("READY=1") >= 1
    });
    eprintln!(
        "READY=1 after {:?}",
        notes.first("READY=1").unwrap() - started
    );
    assert!(
        notes
            .all()
            .iter()
            .any(|m| m.starts_with("STATUS=2 targets")),
        "{:?}",
        notes.all()
    );

    // /healthz at once; /readyz once both targets were scanned.
    assert_eq!(daemon.get("/healthz").0, 200);
    wait_for("/readyz 200", &log, Duration::from_secs(60), || {
        daemon.get("/readyz").0 == 200
    });

    // The fast target scans again and again; the watched one once.
    wait_for("three scans of fast", &log, Duration::from_secs(60), || {
        daemon.scans("fast") >= 3
    });
    assert_eq!(daemon.scans("watched"), 1);
    let metrics = daemon.metrics();
    for family in [
        "driftd_scan_duration_seconds_bucket{target=\"fast\",le=\"+Inf\"}",
        "driftd_api_calls_total{service=\"ec2\"}",
        "driftd_open_findings{tier=\"1\",kind=\"unmanaged\"}",
        "driftd_outbox_deliveries{state=\"pending\"} 0",
        "driftd_attribution_lag_seconds 0",
        "driftd_targets 2",
    ] {
        assert!(metrics.contains(family), "{family} not in:\n{metrics}");
    }
    // The watchdog is pinged from the scheduler loop (every second at 2 s).
    assert!(notes.count("WATCHDOG=1") >= 3, "{:?}", notes.all());

    // A changed state file: the watched target scans within seconds.
    write_atomically(&watched, &empty_state(2));
    wait_for(
        "an early scan of watched",
        &log,
        Duration::from_secs(20),
        || daemon.scans("watched") >= 2,
    );
    assert!(
        log.text().contains("a state changed: scanning early"),
        "{}",
        log.text()
    );

    // A bad config: rejected, the old one keeps running.
    let reloads_before = notes.count("RELOADING=1");
    std::fs::write(
        &config,
        good.replace("jitter_seconds = 0", "jitter_seconds = \"soon\""),
    )
    .unwrap();
    daemon.signal("HUP");
    wait_for("the rejection", &log, Duration::from_secs(20), || {
        log.text().contains("config reload rejected")
    });
    assert!(log.text().contains("jitter_seconds"), "{}", log.text());
    let after_rejection = daemon.scans("fast");
    wait_for("fast still scanning", &log, Duration::from_secs(30), || {
        daemon.scans("fast") > after_rejection
    });
    assert!(notes.count("RELOADING=1") > reloads_before);
    assert!(
        daemon
            .metrics()
            .contains("driftd_config_reloads_total{outcome=\"rejected\"}")
    );

    // A good config with a third target: added, the others untouched.
    let added = dir.path().join("added.tfstate");
    std::fs::write(&added, empty_state(1)).unwrap();
    let with_added = config_text(
        dir.path(),
        port,
        &endpoint,
        &targets(&fast, &watched, Some(&added)),
        "",
    );
    let watched_scans = daemon.scans("watched");
    std::fs::write(&config, with_added).unwrap();
    daemon.signal("HUP");
    wait_for(
        "the added target's scan",
        &log,
        Duration::from_secs(30),
        || daemon.scans("added") >= 1,
    );
    assert!(
        log.text()
            .contains("added: [added], changed: [], removed: []"),
        "{}",
        log.text()
    );
    assert_eq!(
        daemon.scans("watched"),
        watched_scans,
        "an unchanged target is left alone"
    );
    assert!(daemon.metrics().contains("driftd_targets 3"));

    // SIGTERM: STOPPING=1, exit 0, nothing left running in the store.
    let mut daemon = daemon;
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(40));
    assert!(status.success(), "{status:?}\n{}", log.text());
    assert!(notes.count("STOPPING=1") >= 1);
    assert!(log.text().contains("stopped"), "{}", log.text());
    assert_eq!(scan_states(&dir.path().join("driftd.db")).running, 0);
}

#[derive(Debug, Default)]
struct States {
    running: usize,
    failed: Vec<String>,
    finished: usize,
}

/// Every scan in the store, by state; the failed ones' diagnostics.
fn scan_states(db: &Path) -> States {
    let store = driftd::store::Store::open(db).unwrap();
    store
        .read(|r| {
            let mut states = States::default();
            for t in r.targets()? {
                for scan in r.scans(t.id, 100_000)? {
                    match scan.state {
                        driftd::store::ScanState::Running => states.running += 1,
                        driftd::store::ScanState::Finished { status, .. } => {
                            states.finished += 1;
                            if status == driftd::store::ScanStatus::Failed {
                                states
                                    .failed
                                    .extend(scan.diagnostics.iter().map(|d| d.message.clone()));
                            }
                        }
                    }
                }
            }
            Ok::<_, driftd::store::StoreError>(states)
        })
        .unwrap()
}

/// A scan slowed down (every AWS call 1 s late) is running when SIGTERM
/// comes: after the grace time it is cancelled and recorded as failed, the
/// daemon exits 0. Started again, a second SIGTERM during the grace time
/// stops it at once; the scan that left running is repaired at the next start.
#[test]
fn stopping_cancels_a_running_scan_after_the_grace_time_and_a_second_signal_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start();
    let proxy = crate::support::fault_proxy::FaultProxy::start(&moto.endpoint_url());
    proxy.set_latency(Duration::from_secs(1));
    let state = dir.path().join("slow.tfstate");
    std::fs::write(&state, empty_state(1)).unwrap();
    let port = free_port();
    let config = dir.path().join("driftd.toml");
    let slow = [Target {
        name: "slow",
        state: &state,
        schedule: "interval_minutes = 60",
    }];
    let text = |grace: u32| {
        config_text(dir.path(), port, &proxy.endpoint_url(), &slow, "").replace(
            "shutdown_grace_seconds = 20",
            &format!("shutdown_grace_seconds = {grace}"),
        )
    };
    std::fs::write(&config, text(1)).unwrap();
    let socket = dir.path().join("notify.sock");
    let notes = Notifications::listen(&socket);

    let mut daemon = Daemon::start(&config, port, &socket);
    let log = daemon.log.clone();
    wait_for("the scan to start", &log, Duration::from_secs(20), || {
        log.text().contains("scan started")
    });
    std::thread::sleep(Duration::from_secs(1));
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{}", log.text());
    assert!(
        log.text()
            .contains("the grace time is over: cancelling 1 scan(s)"),
        "{}",
        log.text()
    );
    assert!(notes.count("STOPPING=1") >= 1);
    let states = scan_states(&dir.path().join("driftd.db"));
    assert_eq!(states.running, 0, "{states:?}");
    assert_eq!(states.failed.len(), 1, "{states:?}");
    assert!(
        states.failed[0].contains("driftd stopped while this scan ran"),
        "{states:?}"
    );
    drop(daemon);

    // Again, with a long grace time: the second signal does not wait for it.
    std::fs::write(&config, text(60)).unwrap();
    let mut daemon = Daemon::start(&config, port, &socket);
    let log = daemon.log.clone();
    wait_for("the scan to start", &log, Duration::from_secs(20), || {
        log.text().matches("scan started").count() >= 1
    });
    daemon.signal("TERM");
    wait_for("stopping", &log, Duration::from_secs(10), || {
        log.text().contains("get 60 s to finish")
    });
    let asked = Instant::now();
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{}", log.text());
    assert!(asked.elapsed() < Duration::from_secs(5));
    drop(daemon);

    // The scan it left running is recorded as failed when driftd starts again.
    let mut daemon = Daemon::start(&config, port, &socket);
    let log = daemon.log.clone();
    wait_for("the repair", &log, Duration::from_secs(20), || {
        log.text().contains("left running by a driftd that stopped")
    });
    daemon.signal("KILL");
    let _ = daemon.wait_exit(Duration::from_secs(10));
    let states = scan_states(&dir.path().join("driftd.db"));
    assert!(states.failed.len() >= 2, "{states:?}");
}

/// Off loopback the listener wants the token (but not for /healthz), and
/// the token never reaches the log. Under journald (`$JOURNAL_STREAM`) each
/// line starts with its syslog priority; `log_format = "json"` gives one
/// object per line with the scan's span fields.
#[test]
fn off_loopback_the_listener_needs_the_token_and_logs_suit_journald_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start();
    let state = dir.path().join("a.tfstate");
    std::fs::write(&state, empty_state(1)).unwrap();
    let port = free_port();
    let config = dir.path().join("driftd.toml");
    let one = [Target {
        name: "a",
        state: &state,
        schedule: "interval_minutes = 60",
    }];
    let open = config_text(dir.path(), port, &moto.endpoint_url(), &one, "")
        .replace("listen = \"127.0.0.1:", "listen = \"0.0.0.0:");
    // Without a token, the config is refused.
    std::fs::write(&config, &open).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(["validate", "-c", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no token is set"), "{stderr}");

    let token = "t0ken-Qx7-never-logged";
    std::fs::write(
        &config,
        open.replace(
            "[daemon]\n",
            "[daemon]\ntoken = { env = \"DRIFTD_HTTP_TOKEN\" }\n",
        ),
    )
    .unwrap();
    let socket = dir.path().join("notify.sock");
    let _notes = Notifications::listen(&socket);
    let mut daemon = Daemon::start_with(
        &config,
        port,
        &socket,
        &[("DRIFTD_HTTP_TOKEN", token), ("JOURNAL_STREAM", "8:12345")],
    );
    let log = daemon.log.clone();
    wait_for("the first scan", &log, Duration::from_secs(30), || {
        log.text().contains("scan finished")
    });
    assert_eq!(http_get(port, "/metrics", None).0, 401);
    assert_eq!(http_get(port, "/readyz", Some("wrong")).0, 401);
    let (status, body) = http_get(port, "/metrics", Some(token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(http_get(port, "/healthz", None).0, 200);
    daemon.signal("TERM");
    assert!(daemon.wait_exit(Duration::from_secs(30)).success());
    let text = log.text();
    assert!(!text.contains(token), "the token is in the log:\n{text}");
    for line in text.lines() {
        assert!(
            ["<3>", "<4>", "<6>", "<7>"]
                .iter()
                .any(|p| line.starts_with(p)),
            "not a journald line: {line:?}"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("<6>") && l.contains("scan finished")),
        "{text}"
    );
    drop(daemon);

    // JSON: one object per line; the scan's span carries the target.
    std::fs::write(
        &config,
        open.replace(
            "[daemon]\n",
            "[daemon]\ntoken = { env = \"DRIFTD_HTTP_TOKEN\" }\nlog_format = \"json\"\n",
        ),
    )
    .unwrap();
    // A new state version, so the restarted daemon scans at once.
    std::fs::write(&state, empty_state(2)).unwrap();
    std::fs::remove_file(dir.path().join("driftd.db")).unwrap();
    let mut daemon = Daemon::start_with(&config, port, &socket, &[("DRIFTD_HTTP_TOKEN", token)]);
    let log = daemon.log.clone();
    wait_for("the first scan", &log, Duration::from_secs(30), || {
        log.text().contains("scan finished")
    });
    daemon.signal("TERM");
    assert!(daemon.wait_exit(Duration::from_secs(30)).success());
    let mut finished = None;
    for line in log.text().lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        if v["fields"]["message"] == "scan started" {
            assert_eq!(v["span"]["target"], "a", "{v}");
        }
        if v["fields"]["message"] == "scan finished" {
            finished = Some(v);
        }
    }
    let finished = finished.unwrap();
    assert_eq!(finished["fields"]["target"], "a", "{finished}");
    assert!(
        finished["fields"]["scan_id"].as_u64().is_some(),
        "{finished}"
    );
    let _ = daemon.pid();
}

/// Hundreds of scans (8 targets every second, 4 at once): memory and file
/// descriptors measured after the first 60 scans and at the end stay flat.
#[test]
fn memory_and_descriptors_stay_flat_over_hundreds_of_scans() {
    const TARGETS: usize = 8;
    const SCANS: u64 = 400;
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start();
    let states: Vec<PathBuf> = (0..TARGETS)
        .map(|i| {
            let p = dir.path().join(format!("t{i}.tfstate"));
            std::fs::write(&p, empty_state(1)).unwrap();
            p
        })
        .collect();
    let names: Vec<String> = (0..TARGETS).map(|i| format!("t{i}")).collect();
    let targets: Vec<Target<'_>> = (0..TARGETS)
        .map(|i| Target {
            name: &names[i],
            state: &states[i],
            schedule: "interval_seconds = 1",
        })
        .collect();
    let port = free_port();
    let config = dir.path().join("driftd.toml");
    std::fs::write(
        &config,
        config_text(dir.path(), port, &moto.endpoint_url(), &targets, "")
            .replace("max_concurrent_scans = 2", "max_concurrent_scans = 4"),
    )
    .unwrap();
    let socket = dir.path().join("notify.sock");
    let notes = Notifications::listen(&socket);
    let daemon = Daemon::start(&config, port, &socket);
    let log = daemon.log.clone();
    let pid = daemon.pid();
    wait_for("READY=1", &log, Duration::from_secs(10), || {
        notes.count("READY=1") >= 1
    });
    let total = |d: &Daemon| -> u64 { names.iter().map(|n| d.scans(n)).sum() };
    let rss_kb = || -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    };
    let fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    wait_for("60 scans", &log, Duration::from_secs(300), || {
        total(&daemon) >= 60
    });
    let (rss_warm, fds_warm, at) = (rss_kb(), fds(), Instant::now());
    wait_for("all the scans", &log, Duration::from_secs(900), || {
        total(&daemon) >= SCANS
    });
    let (rss_end, fds_end) = (rss_kb(), fds());
    eprintln!(
        "after 60 scans: {} kB RSS, {fds_warm} fds; after {} scans ({:.0} s later): {rss_end} kB, {fds_end} fds",
        rss_warm,
        total(&daemon),
        at.elapsed().as_secs_f64()
    );
    assert!(
        rss_end <= rss_warm + rss_warm / 5 + 4096,
        "memory grew from {rss_warm} kB to {rss_end} kB"
    );
    // Connections in flight come and go (4 scans at once); a leak of one
    // descriptor per scan would add hundreds.
    assert!(
        fds_end <= fds_warm + 16,
        "descriptors grew from {fds_warm} to {fds_end}"
    );
    assert!(scan_states(&dir.path().join("driftd.db")).running <= 4);
}

/// A remote state (S3) is asked for its version every `state_poll_seconds`:
/// unchanged, nothing happens; a new version scans its target early.
#[test]
fn a_new_version_of_a_remote_state_scans_its_target_early() {
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s3 = runtime.block_on(moto.s3_client());
    let put = |serial: u64| {
        runtime.block_on(async {
            s3.put_object()
                .bucket("tfstate")
                .key("net.tfstate")
                .body(empty_state(serial).into_bytes().into())
                .send()
                .await
                .unwrap();
        })
    };
    runtime.block_on(async { s3.create_bucket().bucket("tfstate").send().await.unwrap() });
    put(1);
    let unused = dir.path().join("unused.tfstate");
    let port = free_port();
    let config = dir.path().join("driftd.toml");
    let text = config_text(
        dir.path(),
        port,
        &moto.endpoint_url(),
        &[Target {
            name: "remote",
            state: &unused,
            schedule: "interval_minutes = 60",
        }],
        "state_poll_seconds = 10",
    )
    .replace(
        &format!("type = \"file\"\n  path = \"{}\"", unused.display()),
        &format!(
            "type = \"s3\"\n  bucket = \"tfstate\"\n  key = \"net.tfstate\"\n  region = \"{REGION}\"\n  endpoint_url = \"{}\"",
            moto.endpoint_url()
        ),
    );
    assert!(text.contains("type = \"s3\""), "{text}");
    std::fs::write(&config, text).unwrap();
    let socket = dir.path().join("notify.sock");
    let notes = Notifications::listen(&socket);
    let daemon = Daemon::start(&config, port, &socket);
    let log = daemon.log.clone();
    wait_for("READY=1", &log, Duration::from_secs(10), || {
        notes.count("READY=1") >= 1
    });
    wait_for("the first scan", &log, Duration::from_secs(30), || {
        daemon.scans("remote") >= 1
    });
    // One poll with the same version: no scan.
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(daemon.scans("remote"), 1, "{}", log.text());
    put(2);
    wait_for("the early scan", &log, Duration::from_secs(30), || {
        daemon.scans("remote") >= 2
    });
    assert!(
        log.text().contains("a remote state has a new version"),
        "{}",
        log.text()
    );
}

/// A `NOTIFY_SOCKET` nobody reads (a stuck or gone service manager) must
/// not stop the daemon: its messages are dropped, the scans go on.
#[test]
fn a_notify_socket_nobody_reads_does_not_stop_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, fast, watched, socket) = setup(dir.path());
    let port = free_port();
    let config = dir.path().join("driftd.toml");
    std::fs::write(
        &config,
        config_text(
            dir.path(),
            port,
            &moto.endpoint_url(),
            &targets(&fast, &watched, None),
            "",
        )
        .replace("interval_seconds = 2", "interval_seconds = 1"),
    )
    .unwrap();
    // Bound, never read: its queue fills after a few messages.
    let _deaf = UnixDatagram::bind(&socket).unwrap();
    let daemon = Daemon::start(&config, port, &socket);
    let log = daemon.log.clone();
    wait_for("the listener", &log, Duration::from_secs(10), || {
        daemon.get("/healthz").0 == 200
    });
    wait_for("12 scans of fast", &log, Duration::from_secs(120), || {
        daemon.scans("fast") >= 12
    });
    assert_eq!(daemon.get("/healthz").0, 200);
}
