//! A local server that answers state reads the way Terraform's `http`
//! backend expects of its server: GET returns the state (404 when there is
//! none), basic auth and an optional required header are checked (401
//! otherwise), and a strong ETag with `If-None-Match` gives 304.
//!
//! It records every request so tests can assert on what the client sent.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};
use sha2::{Digest, Sha256};

/// What one request carried.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub path: String,
    pub authorization: Option<String>,
    pub if_none_match: Option<String>,
    pub headers: HeaderMap,
}

#[derive(Debug, Default)]
struct Backend {
    state: Option<Vec<u8>>,
    send_etag: bool,
    basic_auth: Option<(String, String)>,
    required_header: Option<(String, String)>,
    delay: Duration,
    /// Answer every request with this status and Location, instead of the state.
    redirect_to: Option<String>,
    /// Answer every request with this status instead of the state.
    fail_with: Option<StatusCode>,
    seen: Vec<SeenRequest>,
}

pub struct HttpBackend {
    address: SocketAddr,
    backend: Arc<Mutex<Backend>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpBackend {
    /// Starts on 127.0.0.1 with a free port, no state, ETags on, no auth.
    pub async fn start() -> HttpBackend {
        let backend = Arc::new(Mutex::new(Backend {
            send_etag: true,
            ..Backend::default()
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&backend));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("http backend server");
        });
        HttpBackend {
            address,
            backend,
            task,
        }
    }

    /// `http://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.address, path.trim_start_matches('/'))
    }

    pub fn set_state(&self, content: Option<Vec<u8>>) {
        self.lock().state = content;
    }

    pub fn set_send_etag(&self, send: bool) {
        self.lock().send_etag = send;
    }

    pub fn require_basic_auth(&self, username: &str, password: &str) {
        self.lock().basic_auth = Some((username.into(), password.into()));
    }

    pub fn require_header(&self, name: &str, value: &str) {
        self.lock().required_header = Some((name.to_ascii_lowercase(), value.into()));
    }

    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    pub fn redirect_to(&self, location: &str) {
        self.lock().redirect_to = Some(location.into());
    }

    pub fn fail_with(&self, status: StatusCode) {
        self.lock().fail_with = Some(status);
    }

    pub fn seen(&self) -> Vec<SeenRequest> {
        self.lock().seen.clone()
    }

    /// The ETag the server sends for a content.
    pub fn etag_of(content: &[u8]) -> String {
        format!("\"{}\"", &hex::encode(Sha256::digest(content))[..32])
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Backend> {
        self.backend.lock().unwrap()
    }
}

impl Drop for HttpBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(backend): State<Arc<Mutex<Backend>>>,
    request: Request<Body>,
) -> Response<Body> {
    let headers = request.headers().clone();
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let delay = {
        let mut b = backend.lock().unwrap();
        b.seen.push(SeenRequest {
            path: request.uri().path().to_owned(),
            authorization: text(header::AUTHORIZATION),
            if_none_match: text(header::IF_NONE_MATCH),
            headers: headers.clone(),
        });
        b.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let b = backend.lock().unwrap();
    if let Some(location) = &b.redirect_to {
        return Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .unwrap();
    }
    if let Some(status) = b.fail_with {
        return Response::builder()
            .status(status)
            .body(Body::from("backend is having a bad day"))
            .unwrap();
    }
    if request.method() != axum::http::Method::GET {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    if let Some((user, password)) = &b.basic_auth {
        let expected = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        if text(header::AUTHORIZATION).as_deref() != Some(expected.as_str()) {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header(header::WWW_AUTHENTICATE, "Basic realm=\"terraform state\"")
                .body(Body::empty())
                .unwrap();
        }
    }
    if let Some((name, value)) = &b.required_header
        && headers.get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str())
    {
        return status(StatusCode::UNAUTHORIZED);
    }
    let Some(state) = &b.state else {
        return status(StatusCode::NOT_FOUND);
    };
    let etag = HttpBackend::etag_of(state);
    if b.send_etag && text(header::IF_NONE_MATCH).as_deref() == Some(etag.as_str()) {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, etag)
            .body(Body::empty())
            .unwrap();
    }
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json");
    if b.send_etag {
        response = response.header(header::ETAG, etag);
    }
    response.body(Body::from(state.clone())).unwrap()
}

fn status(status: StatusCode) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .unwrap()
}

/// Standard base64 with padding (RFC 4648), for the expected basic-auth header.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
