//! Headless Chromium for tests of driftd's HTML pages, driven through
//! chromedriver's W3C WebDriver HTTP protocol with reqwest.
//!
//! The binaries come from `DRIFTD_CHROMEDRIVER` and `DRIFTD_CHROMIUM`, else
//! from Debian's `chromium-driver` and `chromium` packages (`/usr/bin/`), which
//! `scripts/setup-test-deps` installs. A missing binary fails the test with a
//! message saying so: it is never skipped.
//!
//! Each [`Browser`] is its own chromedriver on a free 127.0.0.1 port with one
//! session: a fresh profile, headless, and no way off the machine (every host
//! name resolves to nothing but 127.0.0.1, and what is not loopback goes to a
//! proxy on 127.0.0.1 port 1, where nothing listens), so pages under test
//! are served on 127.0.0.1 and opened as `http://127.0.0.1:<port>/`.
//! Dropping it ends the session (which closes the browser) and kills
//! chromedriver. Both stay in the test's process group, so a Ctrl-C that
//! stops `cargo test` before any Drop runs stops them too.
//!
//! A WebDriver error fails the test with the command, the HTTP status and
//! WebDriver's `error` and `message`; the `try_` methods return it instead,
//! for a test that expects one.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use super::moto::free_port;

/// How long chromedriver may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one WebDriver command may take (a new session starts Chromium).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the `wait_` methods look again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The key of an element reference in W3C WebDriver JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's command line, besides `--user-data-dir`.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    // Tests often run as root, where Chromium's sandbox refuses to start.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--window-size=1400,1000",
    // No DNS at all: every name but the loopback address fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    // And an address typed as such goes to a proxy nobody runs; loopback is
    // never proxied, so the pages under test are reached directly.
    "--proxy-server=http://127.0.0.1:1",
];

/// A WebDriver command that failed, as chromedriver answered it.
#[derive(Debug, Clone)]
pub struct WebDriverError {
    /// `METHOD /path` of the command, relative to the session.
    pub command: String,
    /// The HTTP status (0 when there was no answer at all).
    pub status: u16,
    /// WebDriver's error code, e.g. `no such element`, `no such alert`.
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "webdriver {}: HTTP {}: {}: {}",
            self.command, self.status, self.error, self.message
        )
    }
}

impl std::error::Error for WebDriverError {}

/// Where tests leave files to look at after a run:
/// `<target dir>/test-artifacts`, with the target dir from `CARGO_TARGET_DIR`
/// (relative to the manifest) or `<manifest>/target`. Created if missing.
pub fn artifact_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => manifest.join(dir),
        None => manifest.join("target"),
    };
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// `artifact_dir()/screenshots`, where [`Browser::screenshot`] puts a file
/// named by a relative path. Created if missing.
pub fn screenshot_dir() -> PathBuf {
    let dir = artifact_dir().join("screenshots");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A binary from the environment variable `var`, else `default`; fails the
/// test when it is not there.
fn binary(var: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{what} not found at {}: run scripts/setup-test-deps (Debian packages chromium and chromium-driver) or set {var}",
        path.display()
    );
    path
}

pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`.
    session_url: String,
    session_id: String,
    driver_port: u16,
    driver: Child,
    /// The browser's process id (`goog:processID`), killed when the session
    /// cannot be ended.
    browser_pid: Option<u64>,
    /// Chromium's `--user-data-dir`, removed after the browser is gone.
    profile: Option<tempfile::TempDir>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. Fails the test
    /// when either binary is missing or they do not come up.
    pub async fn start() -> Browser {
        let chromedriver = binary(
            "DRIFTD_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromedriver",
        );
        let chromium = binary("DRIFTD_CHROMIUM", "/usr/bin/chromium", "chromium");
        let http = reqwest::Client::builder()
            // HTTP_PROXY and the like are for the machine's traffic, not ours.
            .no_proxy()
            .timeout(COMMAND_TIMEOUT)
            .build()
            .expect("a reqwest client");
        // The port is free when picked; another process could take it before
        // chromedriver binds it, so a chromedriver that exits is started again.
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log =
                tempfile::NamedTempFile::new().expect("temporary file for chromedriver's log");
            let mut command = Command::new(&chromedriver);
            // No --allowed-ips: with it (even empty) chromedriver listens on
            // every interface; without it, on 127.0.0.1 and ::1 only.
            command
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.reopen().expect("chromedriver log file"))
                .stderr(log.reopen().expect("chromedriver log file"));
            let mut driver = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
            match wait_ready(&http, &mut driver, port, &log).await {
                Ok(()) => return new_session(http, driver, port, &log, &chromium).await,
                Err(failure) => {
                    kill(&mut driver);
                    last_failure = failure;
                }
            }
        }
        panic!("chromedriver did not start: {last_failure}");
    }

    /// Opens `url` and waits for its load event (an alert the page opens
    /// while loading ends the wait: see [`Browser::alert_text`]).
    pub async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// [`Browser::goto`] that returns chromedriver's error, e.g. for a page
    /// that cannot be reached (`unknown error: net::ERR_...`).
    pub async fn try_goto(&self, url: &str) -> Result<(), WebDriverError> {
        self.try_command(Method::POST, "/url", json!({ "url": url }))
            .await
            .map(drop)
    }

    pub async fn title(&self) -> String {
        string(self.command(Method::GET, "/title", Value::Null).await)
    }

    pub async fn current_url(&self) -> String {
        string(self.command(Method::GET, "/url", Value::Null).await)
    }

    /// Runs `script` as the body of a function with `args` as `arguments`
    /// and returns what it returns (W3C execute/sync). An element among the
    /// args is `element.reference()`.
    pub async fn exec(&self, script: &str, args: &[Value]) -> Value {
        self.command(
            Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// The first element matching the CSS selector; fails the test when
    /// there is none.
    pub async fn find(&self, css: &str) -> Element<'_> {
        match self.try_find(css).await {
            Ok(Some(element)) => element,
            Ok(None) => panic!("no element matches {css:?} on {}", self.current_url().await),
            Err(e) => panic!("{e}"),
        }
    }

    /// The first element matching the CSS selector, or `None`.
    pub async fn try_find(&self, css: &str) -> Result<Option<Element<'_>>, WebDriverError> {
        let by = json!({ "using": "css selector", "value": css });
        match self.try_command(Method::POST, "/element", by).await {
            Ok(reference) => Ok(Some(self.element(&reference))),
            Err(e) if e.error == "no such element" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every element matching the CSS selector, in document order.
    pub async fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let by = json!({ "using": "css selector", "value": css });
        let references = self.command(Method::POST, "/elements", by).await;
        let Value::Array(references) = references else {
            panic!("webdriver POST /elements: not a list: {references}");
        };
        references.iter().map(|r| self.element(r)).collect()
    }

    /// The first element matching the CSS selector, once there is one;
    /// fails the test after `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element<'_> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(element) = self.try_find(css).await.unwrap_or_else(|e| panic!("{e}")) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no element matched {css:?} within {timeout:?} on {}",
                self.current_url().await
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The text of the open alert, confirm or prompt; `None` when there is
    /// none. The session leaves dialogs open (`unhandledPromptBehavior:
    /// ignore`), so one a page opened stays until dismissed, and every other
    /// command fails with `unexpected alert open` meanwhile.
    pub async fn alert_text(&self) -> Option<String> {
        match self
            .try_command(Method::GET, "/alert/text", Value::Null)
            .await
        {
            Ok(text) => Some(string(text)),
            Err(e) if e.error == "no such alert" => None,
            Err(e) => panic!("{e}"),
        }
    }

    /// Dismisses the open dialog; fails the test when there is none.
    pub async fn dismiss_alert(&self) {
        self.command(Method::POST, "/alert/dismiss", json!({}))
            .await;
    }

    /// The browser's log entries of level SEVERE since the previous call
    /// (chromedriver hands out each entry once): uncaught exceptions,
    /// `console.error`, Content-Security-Policy violations, failed loads.
    /// Each is chromedriver's message, e.g. `http://127.0.0.1:8080/ 0:96
    /// Uncaught Error: boom`.
    pub async fn console_errors(&self) -> Vec<String> {
        // Not W3C: chromedriver's own log command (its `/log` is the same).
        let entries = self
            .command(Method::POST, "/se/log", json!({ "type": "browser" }))
            .await;
        let Value::Array(entries) = entries else {
            panic!("webdriver POST /se/log: not a list: {entries}");
        };
        entries
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| string(entry["message"].clone()))
            .collect()
    }

    /// The SEVERE log entries until one contains `needle` (the browser logs
    /// asynchronously, so an error may arrive after the command that caused
    /// it); fails the test after `timeout`, listing what did arrive.
    pub async fn wait_for_console_error(&self, needle: &str, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut errors = Vec::new();
        loop {
            errors.extend(self.console_errors().await);
            if errors.iter().any(|e| e.contains(needle)) {
                return errors;
            }
            assert!(
                Instant::now() < deadline,
                "no console error containing {needle:?} within {timeout:?}; got {errors:#?}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Saves a PNG of the viewport and returns where: `path` as it is when
    /// absolute, else under [`screenshot_dir`].
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = screenshot_dir().join(path);
        let encoded = string(self.command(Method::GET, "/screenshot", Value::Null).await);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_else(|e| panic!("webdriver GET /screenshot: not base64: {e}"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    fn element(&self, reference: &Value) -> Element<'_> {
        let id = reference[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("not a WebDriver element reference: {reference}"));
        Element {
            browser: self,
            id: id.to_string(),
        }
    }

    /// Sends a session command; fails the test on an error.
    async fn command(&self, method: Method, path: &str, body: Value) -> Value {
        self.try_command(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends a session command (`path` is relative to the session) and
    /// returns its `value`.
    async fn try_command(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> Result<Value, WebDriverError> {
        let url = format!("{}{path}", self.session_url);
        let command = format!("{method} {path}");
        send(&self.http, method, &url, &command, body).await
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver close Chromium cleanly (its
        // other processes follow the browser process). Plain blocking IO:
        // Drop cannot await, and this may run outside a runtime.
        if let Err(e) = delete_session(self.driver_port, &self.session_id) {
            eprintln!(
                "browser: could not end WebDriver session {}: {e}",
                self.session_id
            );
            if let Some(pid) = self.browser_pid {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
        kill(&mut self.driver);
        // The profile goes last: Chromium writes to it until it exits.
        drop(self.profile.take());
    }
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    /// The W3C element reference, to pass an element to [`Browser::exec`].
    pub fn reference(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    pub async fn click(&self) {
        self.command(Method::POST, "/click", json!({})).await;
    }

    /// Types `text` into the element, as keystrokes.
    pub async fn send_keys(&self, text: &str) {
        self.command(Method::POST, "/value", json!({ "text": text }))
            .await;
    }

    /// The rendered text, as a user sees it.
    pub async fn text(&self) -> String {
        string(self.command(Method::GET, "/text", Value::Null).await)
    }

    /// The attribute's value, or `None` when the element has no such
    /// attribute.
    pub async fn attr(&self, name: &str) -> Option<String> {
        let value = self
            .command(Method::GET, &format!("/attribute/{name}"), Value::Null)
            .await;
        (!value.is_null()).then(|| string(value))
    }

    async fn command(&self, method: Method, path: &str, body: Value) -> Value {
        self.browser
            .command(method, &format!("/element/{}{path}", self.id), body)
            .await
    }
}

/// One WebDriver request; chromedriver's answer's `value`, or its error.
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    command: &str,
    body: Value,
) -> Result<Value, WebDriverError> {
    let failure = |status: u16, error: &str, message: String| WebDriverError {
        command: command.to_string(),
        status,
        error: error.to_string(),
        message,
    };
    let mut request = http.request(method, url);
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| failure(0, "no answer", e.to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| failure(status.as_u16(), "no answer", e.to_string()))?;
    let mut answer: Value = serde_json::from_str(&text)
        .map_err(|e| failure(status.as_u16(), "not JSON", format!("{e}: {text}")))?;
    let value = answer["value"].take();
    if status.is_success() {
        return Ok(value);
    }
    // The answer also has a `stacktrace` of unsymbolised addresses: left out.
    Err(failure(
        status.as_u16(),
        value["error"].as_str().unwrap_or("no error code"),
        value["message"].as_str().unwrap_or(&text).to_string(),
    ))
}

/// Waits until chromedriver's `/status` says it is ready.
async fn wait_ready(
    http: &reqwest::Client,
    driver: &mut Child,
    port: u16,
    log: &tempfile::NamedTempFile,
) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{port}/status");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = driver.try_wait().expect("chromedriver status") {
            return Err(format!("it exited with {status}: {}", log_text(log)));
        }
        if let Ok(status) = send(http, Method::GET, &url, "GET /status", Value::Null).await
            && status["ready"] == true
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not ready on port {port} within {START_TIMEOUT:?}: {}",
                log_text(log)
            ));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn new_session(
    http: reqwest::Client,
    mut driver: Child,
    driver_port: u16,
    driver_log: &tempfile::NamedTempFile,
    chromium: &Path,
) -> Browser {
    let profile = tempfile::tempdir().expect("a temporary Chromium profile");
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let capabilities = json!({
        "capabilities": {
            "alwaysMatch": {
                "browserName": "chrome",
                // Dialogs stay open, so a test sees an alert a page opened.
                "unhandledPromptBehavior": "ignore",
                "timeouts": { "pageLoad": 30_000, "script": 10_000 },
                "goog:loggingPrefs": { "browser": "ALL" },
                "goog:chromeOptions": { "binary": chromium, "args": args },
            }
        }
    });
    let url = format!("http://127.0.0.1:{driver_port}/session");
    let session = match send(&http, Method::POST, &url, "POST /session", capabilities).await {
        Ok(session) => session,
        Err(e) => {
            kill(&mut driver);
            panic!(
                "cannot start Chromium: {e}\nchromedriver's log:\n{}",
                log_text(driver_log)
            );
        }
    };
    let session_id = string(session["sessionId"].clone());
    let browser_pid = session["capabilities"]["goog:processID"].as_u64();
    Browser {
        http,
        session_url: format!("{url}/{session_id}"),
        session_id,
        driver_port,
        driver,
        browser_pid,
        profile: Some(profile),
    }
}

/// `DELETE /session/<id>` over a plain socket (for Drop, which cannot await).
fn delete_session(port: u16, session_id: &str) -> std::io::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(
        stream,
        "DELETE /session/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // chromedriver answers once the browser is closed, and keeps the
    // connection open despite `Connection: close`: the status line is enough.
    let mut status_line = [0u8; 12];
    stream.read_exact(&mut status_line)?;
    if &status_line == b"HTTP/1.1 200" {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "answered {}",
            String::from_utf8_lossy(&status_line)
        )))
    }
}

/// Kills and reaps chromedriver.
fn kill(driver: &mut Child) {
    let _ = driver.kill();
    let _ = driver.wait();
}

fn log_text(log: &tempfile::NamedTempFile) -> String {
    let mut text = String::new();
    let _ = log.reopen().and_then(|mut f| f.read_to_string(&mut text));
    text
}

/// A WebDriver value that must be a string.
fn string(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => panic!("expected a string from WebDriver, got {other}"),
    }
}
