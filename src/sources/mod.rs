//! State sources: where Terraform states are read from (local files and
//! globs, S3, Terraform's `http` backend, HCP Terraform / Terraform
//! Enterprise).
//!
//! Every fetch reports a [`SourceVersion`] beside the bytes, and takes the
//! versions read last time, so that a state that has not changed is neither
//! downloaded again nor parsed again (`content: None`). How cheap "unchanged"
//! is depends on the source:
//!
//! | source | unchanged when | cost of an unchanged check |
//! | --- | --- | --- |
//! | file, glob | same length and mtime | one `stat` per file |
//! | s3 | same ETag (`If-None-Match` → 304) | one GetObject without a body |
//! | http | same ETag (`If-None-Match` → 304), else same sha256 | one GET (with a body when the server sends no ETag) |
//! | hcp | same current state version id | two small API calls, no download |
//!
//! Errors name the source by its origin label (never a secret) and say what
//! to do; [`SourceError::is_transient`] tells a retry-worthy failure from one
//! that needs a human.
//!
//! This module does IO and nothing else: parsing a state is done elsewhere.

mod file;
mod hcp;
mod http;
mod s3;

pub(crate) use s3::service_error_text;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

// The alias is deprecated in favour of aws-runtime's EnvConfigFiles (the same
// type), but it is what aws-config's own API takes: no extra dependency for it.
#[allow(deprecated)]
use aws_config::profile::profile_file::ProfileFiles;
use aws_sdk_s3::config::SharedCredentialsProvider;
use serde::{Deserialize, Serialize};

use crate::config::{SecretRef, StateSourceSpec};

/// Enough to tell that a state has not changed without reading it again.
///
/// Stored by the caller between scans (hence serde) and handed back to
/// [`Fetcher::fetch`] as `known`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceVersion {
    /// A local file. Unchanged means same `len` and `mtime_ns`; `serial` and
    /// `lineage` are the state's own top-level fields, read when the content
    /// was (absent when the file is not a JSON object or lacks them).
    File {
        len: u64,
        /// Modification time in nanoseconds since the Unix epoch.
        mtime_ns: i64,
        serial: Option<u64>,
        lineage: Option<String>,
    },
    /// An S3 object: its ETag and, in a versioned bucket, its version id.
    S3 {
        etag: Option<String>,
        version_id: Option<String>,
    },
    /// A state served by Terraform's `http` backend: the server's ETag when
    /// it sends one, and always the sha256 (hex) of the content.
    Http {
        etag: Option<String>,
        sha256: String,
    },
    /// An HCP Terraform / Terraform Enterprise workspace's current state version.
    Hcp {
        state_version_id: String,
        serial: Option<u64>,
    },
}

/// One state read (or found unchanged) from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateObject {
    /// Label for messages and the store: a path, `s3://bucket/key[?versionId=]`,
    /// a URL with any credentials removed, `hcp://host/org/workspace`. Never a secret.
    pub origin: String,
    pub version: SourceVersion,
    /// The state bytes, or None when `known` says this version was already read.
    pub content: Option<Vec<u8>>,
}

/// How the fetcher talks to the outside world.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Time allowed to open a connection (TCP and TLS), for HTTP, HCP and S3.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, body included (states can be
    /// tens of megabytes: keep it generous). For S3 this bounds one attempt.
    pub timeout: Duration,
    /// Base AWS credentials to use instead of the standard aws-config chain
    /// (env, shared config, SSO, container/instance roles). For tests against
    /// an emulator and for embedding; a source's `profile` still takes
    /// precedence, and `role_arn` is assumed with these as the base.
    pub aws_credentials: Option<SharedCredentialsProvider>,
    /// AWS shared config and credentials files to read instead of the default
    /// `~/.aws/config` / `~/.aws/credentials` (or `AWS_CONFIG_FILE` etc.).
    #[allow(deprecated)]
    pub aws_profile_files: Option<ProfileFiles>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            aws_credentials: None,
            aws_profile_files: None,
        }
    }
}

/// Reads states from every kind of source. Cheap to share (`&self` everywhere);
/// create one per daemon so that connections and AWS credentials are reused.
pub struct Fetcher {
    options: FetchOptions,
    /// For the `http` backend: follows redirects only within the same origin,
    /// so that custom (possibly secret) headers never reach another host.
    /// (A client that cannot be built, a broken TLS setup, fails the sources
    /// that need it rather than the whole daemon.)
    http: Result<reqwest::Client, String>,
    /// The same, accepting any TLS certificate (`skip_tls_verify`); built on first use.
    http_insecure: OnceLock<Result<reqwest::Client, String>>,
    /// For the HCP API and state downloads: the bearer token is only ever set
    /// on same-origin requests, and reqwest drops `Authorization` on a
    /// cross-origin redirect, so ordinary redirects are safe here.
    hcp: Result<reqwest::Client, String>,
    /// AWS configs (credentials, identity cache, HTTP client) per
    /// (region, profile, role, endpoint), so that assumed-role credentials
    /// and connections are reused across fetches.
    aws: Mutex<HashMap<s3::AwsKey, Arc<tokio::sync::OnceCell<aws_config::SdkConfig>>>>,
}

impl Fetcher {
    pub fn new(options: FetchOptions) -> Self {
        let http = http::build_client(&options, false).map_err(|e| error_chain(&e));
        let hcp = hcp::build_client(&options).map_err(|e| error_chain(&e));
        Fetcher {
            options,
            http,
            http_insecure: OnceLock::new(),
            hcp,
            aws: Mutex::new(HashMap::new()),
        }
    }

    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Fetches every state the source names. `known` maps origin -> the version read last time.
    ///
    /// A glob whose files cannot all be read fails as a whole: a partial set
    /// of states would make the missing ones' resources look unmanaged.
    pub async fn fetch(
        &self,
        spec: &StateSourceSpec,
        known: &HashMap<String, SourceVersion>,
    ) -> Result<Vec<StateObject>, SourceError> {
        match spec {
            StateSourceSpec::File { path } => Ok(vec![file::fetch_file(path, known).await?]),
            StateSourceSpec::Glob { pattern } => file::fetch_glob(pattern, known).await,
            StateSourceSpec::S3(source) => Ok(vec![s3::fetch(self, source, known).await?]),
            StateSourceSpec::Http(source) => Ok(vec![http::fetch(self, source, known).await?]),
            StateSourceSpec::Hcp(source) => Ok(vec![hcp::fetch(self, source, known).await?]),
        }
    }

    fn http_client(
        &self,
        origin: &str,
        skip_tls_verify: bool,
    ) -> Result<&reqwest::Client, SourceError> {
        let client = if skip_tls_verify {
            self.http_insecure.get_or_init(|| {
                http::build_client(&self.options, true).map_err(|e| error_chain(&e))
            })
        } else {
            &self.http
        };
        client_or_error(client, origin)
    }

    fn hcp_client(&self, origin: &str) -> Result<&reqwest::Client, SourceError> {
        client_or_error(&self.hcp, origin)
    }
}

fn client_or_error<'a>(
    client: &'a Result<reqwest::Client, String>,
    origin: &str,
) -> Result<&'a reqwest::Client, SourceError> {
    client.as_ref().map_err(|detail| SourceError::HttpClient {
        origin: origin.to_owned(),
        detail: detail.clone(),
    })
}

/// Why a state could not be fetched. Every message names the source by its
/// origin label (or the glob pattern, or the secret's variable/file name) and
/// never contains a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The file, object, URL or workspace does not exist (or, for HCP, is hidden from this token).
    #[error("state {origin} not found: {detail}")]
    NotFound { origin: String, detail: String },

    /// 401/403, S3 `AccessDenied` and friends.
    #[error("access to state {origin} denied: {detail}")]
    AccessDenied { origin: String, detail: String },

    /// Connection refused, DNS failure, TLS handshake failure, reset.
    #[error(
        "state {origin} is unreachable: {detail}; check the address and that the server is up and reachable from this host"
    )]
    Unreachable { origin: String, detail: String },

    /// The connect or total timeout (see [`FetchOptions`]) expired.
    #[error("reading state {origin} timed out: {detail}; the server is slow or unreachable")]
    Timeout { origin: String, detail: String },

    /// The server answered with a status this source does not expect.
    #[error("reading state {origin} failed with http status {status}: {detail}")]
    HttpStatus {
        origin: String,
        status: u16,
        detail: String,
    },

    /// A secret reference could not be resolved. `secret` names where it was
    /// looked for (the variable, file or credential name), never its value.
    #[error("{}{secret} {problem}", origin_prefix(.origin))]
    MissingSecret {
        /// The source that needed it, when known.
        origin: Option<String>,
        secret: String,
        problem: String,
    },

    /// A glob matched no regular file.
    #[error(
        "glob {pattern:?} matched no state file; check the pattern and that the states exist, or remove this source"
    )]
    GlobNoMatch { pattern: String },

    /// The source's own settings cannot work (bad URL, bad glob, bad header name).
    #[error("state source {origin} is invalid: {detail}")]
    InvalidSource { origin: String, detail: String },

    /// The HCP workspace exists but has no current state version.
    #[error(
        "hcp workspace {origin} has no state version yet (or the token may not read its state versions); apply it once, grant the token read access to state versions, or remove this source"
    )]
    HcpNoState { origin: String },

    /// A local read failed for a reason other than "not found".
    #[error("cannot read state {origin}: {source}")]
    Io {
        origin: String,
        #[source]
        source: std::io::Error,
    },

    /// A local file changed between `stat` and the end of the read, every time
    /// it was tried (Terraform rewrites state files in place).
    #[error(
        "state {origin} kept changing while it was being read; it is read again on the next attempt"
    )]
    ChangedWhileReading { origin: String },

    /// No HTTP client could be built (a broken TLS setup on this host).
    #[error(
        "cannot set up an http client for state {origin}: {detail}; check this host's tls setup (ca certificates)"
    )]
    HttpClient { origin: String, detail: String },

    /// The server answered 2xx with something this source cannot use.
    #[error("state {origin}: unexpected response: {detail}")]
    InvalidResponse { origin: String, detail: String },

    /// No AWS credentials could be had for the source (profile, role, chain).
    #[error(
        "no aws credentials for state {origin}: {detail}; check the source's profile and role_arn, and the credential chain (environment, shared config, instance or container role)"
    )]
    AwsCredentials {
        origin: String,
        detail: String,
        transient: bool,
    },

    /// Any other AWS failure (throttling, internal errors, odd responses).
    #[error("reading state {origin} from s3 failed: {detail}")]
    Aws {
        origin: String,
        detail: String,
        transient: bool,
    },
}

fn origin_prefix(origin: &Option<String>) -> String {
    match origin {
        Some(origin) => format!("state {origin}: "),
        None => String::new(),
    }
}

impl SourceError {
    /// True when trying again later may succeed without anyone changing
    /// anything: timeouts, unreachable servers, 5xx/429, throttling, a file
    /// caught mid-write. False for not found, access denied, missing secrets,
    /// no glob match, invalid settings: those need a human.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Unreachable { .. }
            | SourceError::Timeout { .. }
            | SourceError::ChangedWhileReading { .. } => true,
            SourceError::HttpStatus { status, .. } => {
                *status == 408 || *status == 429 || *status >= 500
            }
            SourceError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
            ),
            SourceError::Aws { transient, .. } | SourceError::AwsCredentials { transient, .. } => {
                *transient
            }
            SourceError::NotFound { .. }
            | SourceError::AccessDenied { .. }
            | SourceError::MissingSecret { .. }
            | SourceError::GlobNoMatch { .. }
            | SourceError::InvalidSource { .. }
            | SourceError::HcpNoState { .. }
            | SourceError::HttpClient { .. }
            | SourceError::InvalidResponse { .. } => false,
        }
    }

    /// The origin label (or glob pattern) the error is about, if any.
    pub fn origin(&self) -> Option<&str> {
        match self {
            SourceError::NotFound { origin, .. }
            | SourceError::AccessDenied { origin, .. }
            | SourceError::Unreachable { origin, .. }
            | SourceError::Timeout { origin, .. }
            | SourceError::HttpStatus { origin, .. }
            | SourceError::InvalidSource { origin, .. }
            | SourceError::HcpNoState { origin }
            | SourceError::Io { origin, .. }
            | SourceError::ChangedWhileReading { origin }
            | SourceError::InvalidResponse { origin, .. }
            | SourceError::HttpClient { origin, .. }
            | SourceError::AwsCredentials { origin, .. }
            | SourceError::Aws { origin, .. } => Some(origin),
            SourceError::MissingSecret { origin, .. } => origin.as_deref(),
            SourceError::GlobNoMatch { pattern } => Some(pattern),
        }
    }

    fn with_origin(mut self, new_origin: &str) -> Self {
        if let SourceError::MissingSecret { origin, .. } = &mut self {
            *origin = Some(new_origin.to_owned());
        }
        self
    }
}

/// Reads a secret: an environment variable, a file (trailing newline
/// trimmed), or a systemd credential (`$CREDENTIALS_DIRECTORY/<name>`).
/// An empty secret is an error: it is always a mistake, and sending an empty
/// token only moves the failure to a less clear place.
pub fn resolve_secret(secret: &SecretRef) -> Result<String, SourceError> {
    let missing = |secret: String, problem: String| SourceError::MissingSecret {
        origin: None,
        secret,
        problem,
    };
    match secret {
        SecretRef::Env(name) => {
            let what = format!("environment variable {name}");
            match std::env::var(name) {
                Ok(value) if value.is_empty() => Err(missing(
                    what,
                    "is empty; set it in the service's environment (e.g. its EnvironmentFile)"
                        .into(),
                )),
                Ok(value) => Ok(value),
                Err(std::env::VarError::NotPresent) => Err(missing(
                    what,
                    "is not set; set it in the service's environment (e.g. its EnvironmentFile)"
                        .into(),
                )),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(missing(what, "is not valid UTF-8".into()))
                }
            }
        }
        SecretRef::File(path) => read_secret_file(path, format!("secret file {}", path.display())),
        SecretRef::Credential(name) => {
            let what = format!("systemd credential {name:?}");
            // A name is one path component: no way out of the directory.
            if name.is_empty() || name == "." || name == ".." || name.contains('/') {
                return Err(missing(
                    what,
                    "is not a valid credential name (one file name, no '/')".into(),
                ));
            }
            let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
                return Err(missing(
                    what,
                    format!(
                        "cannot be read: CREDENTIALS_DIRECTORY is not set; add LoadCredential={name}:<path> (or SetCredentialEncrypted=) to the unit"
                    ),
                ));
            };
            read_secret_file(&Path::new(&dir).join(name), what)
        }
    }
}

fn read_secret_file(path: &Path, what: String) -> Result<String, SourceError> {
    let missing = |problem: String| SourceError::MissingSecret {
        origin: None,
        secret: what.clone(),
        problem,
    };
    // io::Error's message never contains the file's content.
    let mut value = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => missing("is not valid UTF-8".into()),
        _ => missing(format!("cannot be read: {e}")),
    })?;
    while value.ends_with('\n') || value.ends_with('\r') {
        value.pop();
    }
    if value.is_empty() {
        return Err(missing("is empty".into()));
    }
    Ok(value)
}

/// [`resolve_secret`] for a source: the error names the source too.
fn resolve_secret_for(origin: &str, secret: &SecretRef) -> Result<String, SourceError> {
    resolve_secret(secret).map_err(|e| e.with_origin(origin))
}

/// Turns a reqwest error into a source error, without the URL (which may
/// carry query parameters) and with the underlying cause spelled out.
fn request_error(origin: &str, error: reqwest::Error, options: &FetchOptions) -> SourceError {
    let error = error.without_url();
    let detail = error_chain(&error);
    let origin = origin.to_owned();
    if error.is_timeout() {
        let which = if error.is_connect() {
            format!("no connection within {:?}", options.connect_timeout)
        } else {
            format!("no complete answer within {:?}", options.timeout)
        };
        SourceError::Timeout {
            origin,
            detail: which,
        }
    } else if error.is_connect() {
        SourceError::Unreachable { origin, detail }
    } else if error.is_builder() {
        SourceError::InvalidSource { origin, detail }
    } else if error.is_redirect() {
        SourceError::InvalidResponse { origin, detail }
    } else if error.is_body() || error.is_decode() || error.is_request() {
        // The connection broke mid-request or mid-body: worth another try.
        SourceError::Unreachable { origin, detail }
    } else {
        SourceError::InvalidResponse { origin, detail }
    }
}

/// `a: b: c` from an error and its sources, without repeating a message a
/// wrapper already includes.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        let msg = e.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        next = e.source();
    }
    out
}

/// Replaces every occurrence of a secret in a server-provided string, in case
/// a server echoes what it was sent.
fn redact(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if secret.len() >= 4 {
            text = text.replace(secret, "<redacted>");
        }
    }
    text
}

/// A short, single-line excerpt of a server's error body.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut excerpt: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        excerpt.push('…');
    }
    excerpt
}

/// What a server said about an error, for a message: a scrubbed excerpt of
/// its body.
fn server_said(body: &[u8], secrets: &[&str]) -> String {
    let excerpt = redact(&body_excerpt(body), secrets);
    if excerpt.is_empty() {
        "the server gave no reason".into()
    } else {
        format!("the server said: {excerpt}")
    }
}

/// The label of a local path: as configured (no canonicalisation, so the
/// store keeps what the user wrote).
fn path_origin(path: &Path) -> String {
    path.display().to_string()
}

/// The daemon shares one fetcher across tasks and sends errors between them.
const _: () = {
    const fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Fetcher>();
    is_send_sync::<SourceError>();
};
