//! A local HTTP receiver for sink tests: it checks every request the way the
//! real API would (an [`Api`] says how), answers the first valid ones with
//! scripted failures (a 500, a 429 with `Retry-After`), and then lets the
//! [`Api`] take them. It records every request and every problem found, so a
//! test asserts on what the sink really sent.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The largest body the receiver reads.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    /// The raw body bytes (a signature is over exactly these).
    pub body: Bytes,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A refusal the receiver answers before the API takes a valid request.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// This status, with a short JSON error body.
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    RateLimited { retry_after: u64 },
}

impl Failure {
    /// What the issue asks of every sink test: a 500, then a 429 with
    /// `Retry-After: 2`.
    pub fn issue_script() -> Vec<Failure> {
        vec![
            Failure::Status(500),
            Failure::RateLimited { retry_after: 2 },
        ]
    }
}

/// A request the API refuses: every problem found, and the API's answer.
pub struct Refusal {
    pub problems: Vec<String>,
    pub answer: Response,
}

impl Refusal {
    /// Boxed: a `Response` is large.
    pub fn new(problems: Vec<String>, answer: Response) -> Box<Refusal> {
        Box::new(Refusal { problems, answer })
    }
}

/// The API a receiver plays.
pub trait Api: Send + 'static {
    /// Checks a request as the real API would.
    fn check(&mut self, request: &Request) -> Result<(), Box<Refusal>>;

    /// Takes a valid request and answers it.
    fn accept(&mut self, request: &Request) -> Response;

    /// The body of a scripted failure with `status`, in the API's shape.
    fn failure_body(&self, status: u16) -> String {
        format!(r#"{{"status":"error","message":"scripted failure {status}"}}"#)
    }
}

struct Shared<A> {
    api: A,
    failures: VecDeque<Failure>,
    requests: Vec<Request>,
    problems: Vec<String>,
}

pub struct Receiver<A: Api> {
    address: SocketAddr,
    shared: Arc<Mutex<Shared<A>>>,
    task: tokio::task::JoinHandle<()>,
}

impl<A: Api> Receiver<A> {
    /// Starts on 127.0.0.1 with a free port; the first valid requests get
    /// `failures`, in order.
    pub async fn start(api: A, failures: Vec<Failure>) -> Receiver<A> {
        let shared = Arc::new(Mutex::new(Shared {
            api,
            failures: failures.into(),
            requests: Vec::new(),
            problems: Vec::new(),
        }));
        // A digest of 10,000 findings is about 3 MB of webhook JSON, over
        // axum's 2 MB default; the API's own check decides what is too big.
        let app = Router::new()
            .fallback(handle::<A>)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver server");
        });
        Receiver {
            address,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.address, path.trim_start_matches('/'))
    }

    /// A copy of the API's state now, to assert on (a copy, so no lock is
    /// held while the test goes on talking to the receiver).
    pub fn api(&self) -> A
    where
        A: Clone,
    {
        self.lock().api.clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// Every problem found in any request.
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    /// Fails the test if any request was not as the API requires.
    pub fn assert_no_problems(&self) {
        let problems = self.problems();
        assert!(
            problems.is_empty(),
            "the receiver found problems in the requests:\n{}",
            problems.join("\n")
        );
    }

    /// Scripted failures not yet answered.
    pub fn failures_left(&self) -> usize {
        self.lock().failures.len()
    }

    fn lock(&self) -> MutexGuard<'_, Shared<A>> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<A: Api> Drop for Receiver<A> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle<A: Api>(
    State(shared): State<Arc<Mutex<Shared<A>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Request {
        method,
        path: uri.path().to_string(),
        headers,
        body,
    };
    let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
    shared.requests.push(request.clone());
    if let Err(refusal) = shared.api.check(&request) {
        let n = shared.requests.len();
        let Refusal { problems, answer } = *refusal;
        shared
            .problems
            .extend(problems.into_iter().map(|p| format!("request {n}: {p}")));
        return answer;
    }
    match shared.failures.pop_front() {
        Some(Failure::Status(status)) => {
            let status = StatusCode::from_u16(status).expect("a valid status");
            json_response(status, shared.api.failure_body(status.as_u16()))
        }
        Some(Failure::RateLimited { retry_after }) => {
            let mut response =
                json_response(StatusCode::TOO_MANY_REQUESTS, shared.api.failure_body(429));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after.into());
            response
        }
        None => shared.api.accept(&request),
    }
}

/// A JSON answer.
pub fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
