//! The daemon at rest (BENCHMARKS.md, "Daemon"): 20 targets against moto,
//! each with a one-hour interval. After every target's first scan (/readyz
//! answers 200) the daemon is left idle for `DRIFTD_BENCH_IDLE_SECONDS`
//! (default 60) while its CPU time (`/proc/<pid>/stat`) and resident memory
//! (`VmRSS`, `VmHWM`) are read. Then it is stopped and started again five
//! times on the existing store, timing spawn → `READY=1` on a test
//! `NOTIFY_SOCKET`. Also prints the release binary's size.
//!
//! `cargo bench --bench daemon`. Needs moto (`.ci/setup`).

#[path = "../tests/it/support/moto.rs"]
#[allow(dead_code)]
mod moto;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use moto::{MotoServer, REGION, free_port};

const TARGETS: usize = 20;

fn config(dir: &Path, port: u16, endpoint: &str) -> std::path::PathBuf {
    let mut text = format!(
        "[store]\npath = \"{}\"\n\n[attribution]\nenabled = false\n\n[daemon]\nlisten = \"127.0.0.1:{port}\"\n\
         jitter_seconds = 0\nmax_concurrent_scans = 4\ninterval_minutes = 60\n",
        dir.join("driftd.db").display()
    );
    for i in 0..TARGETS {
        let state = dir.join(format!("t{i}.tfstate"));
        std::fs::write(
            &state,
            format!(
                r#"{{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "bench-{i}", "outputs": {{}}, "resources": []}}"#
            ),
        )
        .unwrap();
        text.push_str(&format!(
            "\n[[target]]\nname = \"t{i}\"\nenvironment = \"bench\"\n  [[target.state]]\n  type = \"file\"\n  path = \"{}\"\n  \
             [target.aws]\n  regions = [\"{REGION}\"]\n  endpoint_url = \"{endpoint}\"\n  [[target.aws.account]]\n  id = \"123456789012\"\n",
            state.display()
        ));
    }
    let path = dir.join("driftd.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(config: &Path, socket: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(["run", "-c", config.to_str().unwrap()])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NOTIFY_SOCKET", socket)
        .env("DRIFTD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_ready(sock: &UnixDatagram, timeout: Duration) -> bool {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < timeout {
        if let Ok(n) = sock.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
        {
            return true;
        }
    }
    false
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn get(port: u16, path: &str) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let idle: u64 = std::env::var("DRIFTD_BENCH_IDLE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let moto = MotoServer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config(dir.path(), port, &moto.endpoint_url());
    let socket = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&socket).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();

    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_driftd"))
        .unwrap()
        .len();
    println!("daemon benchmark: {TARGETS} targets against moto, interval 60 min");
    println!("  binary: {:.1} MB ({binary} bytes)", binary as f64 / 1e6);

    let started = Instant::now();
    let mut child = spawn(&config, &socket);
    assert!(wait_ready(&sock, Duration::from_secs(30)), "no READY=1");
    let ready = started.elapsed();
    while get(port, "/readyz") != 200 {
        assert!(started.elapsed() < Duration::from_secs(600), "not ready");
        std::thread::sleep(Duration::from_millis(250));
    }
    println!(
        "  first start (new store): READY=1 after {:.0} ms; every target scanned after {:.1} s",
        ready.as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64()
    );
    let pid = child.id();
    // Let the last scan's follow-up work (outbox, retention) settle.
    std::thread::sleep(Duration::from_secs(5));
    let ticks_per_s = 100.0; // USER_HZ on Linux
    let before = cpu_ticks(pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(idle));
    let used = (cpu_ticks(pid) - before) as f64 / ticks_per_s;
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "  idle {wall:.0} s: {used:.2} CPU s = {:.3} % of one core",
        used / wall * 100.0
    );
    println!(
        "  RSS idle: {:.1} MB (peak {:.1} MB)",
        status_kb(pid, "VmRSS:") as f64 / 1024.0,
        status_kb(pid, "VmHWM:") as f64 / 1024.0
    );
    println!(
        "    of which anonymous {:.1} MB, file-backed {:.1} MB (the binary's code pages)",
        status_kb(pid, "RssAnon:") as f64 / 1024.0,
        status_kb(pid, "RssFile:") as f64 / 1024.0
    );
    stop(&mut child);

    let mut times = Vec::new();
    for _ in 0..5 {
        while sock.recv(&mut [0u8; 4096]).is_ok() {}
        let t = Instant::now();
        let mut child = spawn(&config, &socket);
        assert!(wait_ready(&sock, Duration::from_secs(30)), "no READY=1");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        stop(&mut child);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "  start to READY=1, existing store, 5 runs: median {:.0} ms, min {:.0} ms, max {:.0} ms",
        times[2], times[0], times[4]
    );
}
