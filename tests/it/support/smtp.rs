//! A real SMTP server (aiosmtpd, PyPI) on 127.0.0.1 for the email sink's
//! tests: `tests/fixtures/smtp_server.py`, run with the Python of the venv
//! `scripts/setup-test-deps` makes (`.tools/venv/bin/python`), or the one in
//! `DRIFTD_PYTHON`. A missing interpreter or aiosmtpd fails the test with a
//! message saying so: it is never skipped.
//!
//! The server binds a port the OS picks and says which, so there is no race
//! for a free port. It saves every message with what Python's email package
//! reads in it; [`SmtpServer::received`] returns those it accepted,
//! [`SmtpServer::refused`] those it answered 451. Killed on drop.
//!
//! [`TestCa`] makes a private CA and a server certificate for 127.0.0.1 with
//! the `openssl` command, for the STARTTLS and implicit TLS tests.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The Python that has aiosmtpd.
pub fn python_path() -> PathBuf {
    match std::env::var_os("DRIFTD_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/python"),
    }
}

/// How the server protects the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTls {
    None,
    /// STARTTLS offered and required before MAIL.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// What the server does.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    pub tls: ServerTls,
    /// The certificate it presents (required for TLS).
    pub ca: Option<&'a TestCa>,
    /// `(user, password)`: AUTH required before MAIL.
    pub auth: Option<(&'a str, &'a str)>,
    /// The first this many DATA commands are answered 451.
    pub fail_data: usize,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            tls: ServerTls::None,
            ca: None,
            auth: None,
            fail_data: 0,
        }
    }
}

pub struct SmtpServer {
    child: Child,
    port: u16,
    mail: tempfile::TempDir,
    log: tempfile::NamedTempFile,
}

/// One message the server accepted.
#[derive(Debug)]
pub struct Received {
    /// The bytes after DATA, as received.
    pub raw: String,
    /// `mail_from`, `rcpt_tos`, `tls`, `login`, and `parsed`: `content_type`,
    /// `headers` (name → decoded values), `parts` (`content_type`, `charset`,
    /// decoded `body`), `defects`.
    pub meta: serde_json::Value,
}

impl Received {
    /// The decoded values of a header (names as the message wrote them).
    pub fn header(&self, name: &str) -> Vec<String> {
        let headers = self.meta["parsed"]["headers"]
            .as_object()
            .expect("parsed headers");
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| {
                values
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
            })
            .collect()
    }

    /// The one value of a header; fails the test when there is none or more.
    pub fn one_header(&self, name: &str) -> String {
        let values = self.header(name);
        assert_eq!(
            values.len(),
            1,
            "header {name}: {values:?} in\n{}",
            self.raw
        );
        values.into_iter().next().unwrap()
    }

    /// The decoded body of the part with this content type.
    pub fn part(&self, content_type: &str) -> String {
        let parts = self.meta["parsed"]["parts"]
            .as_array()
            .expect("parsed parts");
        let found: Vec<_> = parts
            .iter()
            .filter(|p| p["content_type"] == content_type)
            .collect();
        assert_eq!(found.len(), 1, "one {content_type} part in\n{}", self.raw);
        found[0]["body"].as_str().unwrap().to_string()
    }
}

impl SmtpServer {
    /// Starts the server and waits until it accepts connections. Panics
    /// (fails the test) when Python, aiosmtpd or the server is missing or
    /// does not come up.
    pub fn start(options: Options<'_>) -> SmtpServer {
        let python = python_path();
        assert!(
            python.is_file(),
            "no Python at {}: run scripts/setup-test-deps (or set DRIFTD_PYTHON to a python with aiosmtpd)",
            python.display()
        );
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp_server.py");
        let mail = tempfile::tempdir().expect("a directory for received mail");
        let log = tempfile::NamedTempFile::new().expect("a file for the server's log");
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .arg("--dir")
            .arg(mail.path())
            .args(["--fail-data", &options.fail_data.to_string()]);
        let tls = match options.tls {
            ServerTls::None => "none",
            ServerTls::StartTls => "starttls",
            ServerTls::Implicit => "implicit",
        };
        command.args(["--tls", tls]);
        if options.tls != ServerTls::None {
            let ca = options.ca.expect("a TLS server needs a TestCa");
            command
                .arg("--cert")
                .arg(&ca.server_cert)
                .arg("--key")
                .arg(&ca.server_key);
        }
        if let Some((user, password)) = options.auth {
            command.args(["--auth", &format!("{user}:{password}")]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("server log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        // The first line is `READY <port>`; read it on a thread so a server
        // that hangs cannot hang the test.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = SmtpServer {
            child,
            port: 0,
            mail,
            log,
        };
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        server.port = match line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
        {
            Some(port) => port,
            None => panic!(
                "the SMTP server did not start (first line {line:?}): {}",
                server.log_text()
            ),
        };
        server.wait_accepting();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.saved("")
    }

    /// Every message answered 451 (`fail_data`), in order.
    pub fn refused(&self) -> Vec<Received> {
        self.saved("refused-")
    }

    /// The saved messages whose names are `prefix` and a number.
    fn saved(&self, prefix: &str) -> Vec<Received> {
        let mut emls: Vec<PathBuf> = std::fs::read_dir(self.mail.path())
            .expect("the mail directory")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .filter(|p| {
                let stem = p.file_stem().unwrap().to_str().unwrap();
                stem.strip_prefix(prefix)
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            })
            .collect();
        emls.sort();
        emls.iter()
            .map(|eml| {
                // The .json is renamed into place after the .eml.
                let json = eml.with_extension("json");
                let deadline = Instant::now() + Duration::from_secs(5);
                while !json.exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Received {
                    raw: read(eml),
                    meta: serde_json::from_str(&read(&json)).expect("the server's JSON"),
                }
            })
            .collect()
    }

    /// What the server wrote to stderr, for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    fn wait_accepting(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Some(status) = self.child.try_wait().expect("server status") {
                panic!("the SMTP server exited with {status}: {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP server does not accept on port {}: {}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A private CA and a certificate it signed for 127.0.0.1 and localhost
/// (P-256, valid two days), made with the `openssl` command.
#[derive(Debug)]
pub struct TestCa {
    _dir: tempfile::TempDir,
    /// The CA certificate: what a client's `ca_file` trusts.
    pub ca_pem: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestCa {
    pub fn generate() -> TestCa {
        let dir = tempfile::tempdir().expect("a directory for certificates");
        let path = |name: &str| dir.path().join(name);
        std::fs::write(
            path("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            dir.path(),
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-days",
                    "2",
                    "-subj",
                    "/CN=driftd test CA",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                ],
            ]
            .concat(),
        );
        openssl(
            dir.path(),
            &[
                &["req"][..],
                &ec,
                &[
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                ],
            ]
            .concat(),
        );
        openssl(
            dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "2",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        );
        TestCa {
            ca_pem: path("ca.pem"),
            server_cert: path("server.pem"),
            server_key: path("server.key"),
            _dir: dir,
        }
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run openssl (install it; scripts/setup-test-deps checks): {e}")
        });
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}
