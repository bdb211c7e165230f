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
    let start = Instant::now();
    let status = loop {
        if let Some(s) = daemon.child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(40), "{}", log.text());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}\n{}", log.text());
    assert!(notes.count("STOPPING=1") >= 1);
    assert!(log.text().contains("stopped"), "{}", log.text());
    let store = driftd::store::Store::open(dir.path().join("driftd.db")).unwrap();
    let running = store
        .read(|r| {
            let mut n = 0;
            for t in r.targets()? {
                n += r
                    .scans(t.id, 1000)?
                    .iter()
                    .filter(|s| s.state == driftd::store::ScanState::Running)
                    .count();
            }
            Ok::<_, driftd::store::StoreError>(n)
        })
        .unwrap();
    assert_eq!(running, 0);
}
