//! The systemd notification protocol (`sd_notify(3)`): datagrams of
//! `KEY=VALUE` lines to the socket in `$NOTIFY_SOCKET`, a path or, with a
//! leading `@`, an abstract socket. Without `$NOTIFY_SOCKET` (not started by
//! systemd with `Type=notify`) every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

pub struct Notifier {
    socket: Option<(UnixDatagram, String)>,
    /// `$WATCHDOG_USEC`, when systemd expects `WATCHDOG=1` pings (for this pid).
    watchdog: Option<Duration>,
}

impl Notifier {
    /// From the environment systemd sets. The variables are left in place
    /// (child processes are not started with them in driftd).
    pub fn from_env() -> Notifier {
        let socket = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let sock = UnixDatagram::unbound().ok()?;
            // Never wait on the service manager: a full queue drops the
            // message (the next status or ping replaces it) instead of
            // stopping the scheduler loop that sends it.
            sock.set_nonblocking(true).ok()?;
            Some((sock, path))
        });
        let pid_ok = std::env::var("WATCHDOG_PID")
            .ok()
            .is_none_or(|p| p.trim() == std::process::id().to_string());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|u| *u > 0 && pid_ok)
            .map(Duration::from_micros);
        Notifier { socket, watchdog }
    }

    /// How often to send `WATCHDOG=1`: half the timeout, as sd_watchdog_enabled(3) advises.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    /// Sends `state` (one or more `KEY=VALUE` lines), without blocking.
    /// Failures are logged at debug level: systemd being gone or stuck must
    /// not stop the daemon.
    pub fn notify(&self, state: &str) {
        let Some((sock, path)) = &self.socket else {
            return;
        };
        let result = if let Some(name) = path.strip_prefix('@') {
            send_abstract(sock, name.as_bytes(), state.as_bytes())
        } else {
            sock.send_to(state.as_bytes(), path).map(|_| ())
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "sd_notify to {path} failed");
        }
    }

    pub fn ready(&self) {
        self.notify("READY=1");
    }

    pub fn reloading(&self) {
        self.notify("RELOADING=1");
    }

    pub fn stopping(&self) {
        self.notify("STOPPING=1");
    }

    pub fn status(&self, line: &str) {
        // One line: systemd shows it in `systemctl status`.
        let line: String = line.chars().filter(|c| *c != '\n').collect();
        self.notify(&format!("STATUS={line}"));
    }

    pub fn watchdog(&self) {
        if self.watchdog.is_some() {
            self.notify("WATCHDOG=1");
        }
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(sock: &UnixDatagram, name: &[u8], data: &[u8]) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    sock.send_to_addr(data, &addr).map(|_| ())
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, _: &[u8], _: &[u8]) -> std::io::Result<()> {
    Err(std::io::Error::other("abstract sockets are Linux-only"))
}
