//! A real AWS API emulator (`moto_server`, PyPI `moto[server]`) on a free
//! loopback port, for every test that talks to AWS.
//!
//! The binary comes from `DRIFTD_MOTO_SERVER`, else from the venv that
//! `scripts/setup-test-deps` creates (`.tools/venv/bin/moto_server`). A missing
//! binary fails the test with a message saying so: it is never skipped.
//!
//! Each `MotoServer` is its own emulator (empty state), killed on drop.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};

/// The region the helpers configure (moto accepts any).
pub const REGION: &str = "us-east-1";
/// moto's default account id.
pub const ACCOUNT_ID: &str = "123456789012";

/// How long moto may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct MotoServer {
    child: Child,
    port: u16,
    /// moto's stderr (its request log), read back when it fails to start.
    log: tempfile::NamedTempFile,
}

/// Where the `moto_server` binary is expected.
pub fn moto_server_path() -> PathBuf {
    match std::env::var_os("DRIFTD_MOTO_SERVER") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/moto_server"),
    }
}

impl MotoServer {
    /// Starts moto and waits until it answers HTTP. Panics (fails the test)
    /// when the binary is missing or moto does not come up.
    pub fn start() -> MotoServer {
        Self::start_with_env(&[])
    }

    /// [`MotoServer::start`] with extra environment for moto, e.g.
    /// `INITIAL_NO_AUTH_ACTION_COUNT` to make it check credentials.
    pub fn start_with_env(env: &[(&str, &str)]) -> MotoServer {
        let binary = moto_server_path();
        assert!(
            binary.is_file(),
            "moto_server not found at {}: run scripts/setup-test-deps (or set DRIFTD_MOTO_SERVER to a moto_server binary)",
            binary.display()
        );
        // The port is free when picked; another process could take it before
        // moto binds it, so a moto that exits at once is started again.
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = tempfile::NamedTempFile::new().expect("temporary file for moto's log");
            let child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log.reopen().expect("moto log file"))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = MotoServer { child, port, log };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(failure) => last_failure = failure,
            }
        }
        panic!("moto_server did not start: {last_failure}");
    }

    /// `http://127.0.0.1:<port>`, for `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's process id: `benches/trail_s3.rs` reads its CPU time
    /// (no test does, hence the allow).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Static test credentials (moto accepts any).
    pub fn credentials() -> Credentials {
        Credentials::new("testing", "testing", None, None, "moto")
    }

    pub fn credentials_provider() -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(Self::credentials())
    }

    /// An SDK config pointed at this server for every service, with static
    /// test credentials and [`REGION`]; nothing is read from the environment
    /// or `~/.aws`.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint_url())
            .credentials_provider(Self::credentials())
            .load()
            .await
    }

    /// An S3 client for this server (path-style addressing, which moto on
    /// 127.0.0.1 needs).
    pub async fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = self.sdk_config().await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        )
    }

    /// moto's whole in-memory state (`/moto-api/data.json`), e.g. to see
    /// which roles were assumed: `data["sts"]["AssumedRole"]`.
    pub async fn backend_data(&self) -> serde_json::Value {
        let url = format!("{}/moto-api/data.json", self.endpoint_url());
        reqwest::get(&url)
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("moto_server status") {
                return Err(format!("it exited with {status}: {}", self.log_text()));
            }
            if answers_http(self.port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no answer on port {} within {START_TIMEOUT:?}: {}",
                    self.port,
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        let _ = self
            .log
            .reopen()
            .and_then(|mut f| f.read_to_string(&mut text));
        text
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// True when something on the port answers an HTTP request with a status line.
fn answers_http(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/")
}
