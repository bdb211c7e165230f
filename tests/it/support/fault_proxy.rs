//! An HTTP reverse proxy in front of moto that makes AWS misbehave the way
//! AWS does: access denied, throttling, slow answers, and real latency.
//!
//! Tests use [`FaultProxy::endpoint_url`] as the AWS endpoint. The proxy
//! names every request by service and operation:
//! - the service is the SigV4 credential scope in `Authorization`
//!   (`Credential=AKID/date/region/SERVICE/aws4_request`), `unsigned` without;
//! - the operation is `Action=` (query protocols: EC2, IAM, STS, RDS, ...,
//!   from the URL or the form body), else the part of `X-Amz-Target` after
//!   the dot (JSON protocols), else `METHOD /path?subresources` for REST
//!   protocols such as S3 (`GET /bucket?versioning`).
//!
//! Per service (and optionally operation) rules inject faults with the error
//! each protocol really sends; requests no rule stops are forwarded to the
//! upstream unchanged. It counts every request per (service, operation),
//! faulted or not, for API-efficiency checks.
//!
//! The proxy runs on a thread and runtime of its own, so sync tests (which
//! block on Terraform) and async tests can both use it; it stops on drop.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// What a rule does to the requests it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer 403 (EC2, IAM/STS, S3) or 400 (JSON) with the protocol's
    /// access-denied error; every time.
    Deny,
    /// Answer the protocol's throttling error this many times, then let
    /// requests through (the rule is spent).
    Throttle { times: u32 },
    /// Wait this long before forwarding, e.g. past a client's timeout.
    Delay(Duration),
}

/// The wire protocol of a request, which decides how an error looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// EC2's own query protocol: `<Response><Errors><Error>`.
    Ec2Query,
    /// awsQuery (IAM, STS, RDS, SNS, ...): `<ErrorResponse><Error><Type>`.
    AwsQuery,
    /// awsJson 1.0/1.1 (`X-Amz-Target`): `{"__type": ...}`.
    Json,
    /// S3's REST-XML: `<Error><Code>`.
    RestXml,
}

/// Who a request was for, as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Call {
    pub service: String,
    pub operation: String,
}

#[derive(Debug)]
struct Rule {
    service: String,
    /// `None` matches every operation of the service.
    operation: Option<String>,
    fault: Fault,
}

#[derive(Debug, Default)]
struct Shared {
    rules: Vec<Rule>,
    latency: Duration,
    counts: BTreeMap<Call, usize>,
    /// Every request in arrival order.
    log: Vec<Call>,
}

pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct AppState {
    shared: Arc<Mutex<Shared>>,
    upstream: String,
    client: reqwest::Client,
}

impl FaultProxy {
    /// Starts on a free 127.0.0.1 port in front of `upstream`
    /// (`http://127.0.0.1:PORT`), with no rules and no latency.
    pub fn start(upstream: &str) -> FaultProxy {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = Arc::new(AppState {
            shared: Arc::clone(&shared),
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("the proxy's HTTP client"),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let address = listener.local_addr().expect("local address");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("the proxy's runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let app = Router::new().fallback(handle).with_state(state);
                    // Not a graceful shutdown: a request sleeping in a Delay
                    // would hold the test's drop for as long.
                    tokio::select! {
                        served = axum::serve(listener, app).into_future() => {
                            served.expect("fault proxy server");
                        }
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .expect("start the proxy thread");
        FaultProxy {
            address,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`, for `endpoint_url` or Terraform's `endpoints {}`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Adds a rule for every operation of `service` (the SigV4 signing name:
    /// `ec2`, `iam`, `sts`, `s3`, ...). Earlier rules win.
    pub fn fault(&self, service: &str, fault: Fault) {
        self.push_rule(service, None, fault);
    }

    /// Adds a rule for one operation (`DescribeVpcs`, `ListRoles`,
    /// `GetCallerIdentity`). Earlier rules win.
    pub fn fault_operation(&self, service: &str, operation: &str, fault: Fault) {
        self.push_rule(service, Some(operation), fault);
    }

    pub fn clear_faults(&self) {
        self.lock().rules.clear();
    }

    /// Added to every request before it is forwarded (simulated network and
    /// service time of real AWS).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Requests seen for one (service, operation), faulted or not.
    pub fn count(&self, service: &str, operation: &str) -> usize {
        let call = Call {
            service: service.to_owned(),
            operation: operation.to_owned(),
        };
        self.lock().counts.get(&call).copied().unwrap_or(0)
    }

    /// Requests seen per (service, operation).
    pub fn counts(&self) -> BTreeMap<Call, usize> {
        self.lock().counts.clone()
    }

    /// Requests seen for a service, all operations.
    pub fn service_count(&self, service: &str) -> usize {
        self.lock()
            .counts
            .iter()
            .filter(|(call, _)| call.service == service)
            .map(|(_, n)| n)
            .sum()
    }

    /// Every request in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().log.clone()
    }

    pub fn reset_counts(&self) {
        let mut shared = self.lock();
        shared.counts.clear();
        shared.log.clear();
    }

    fn push_rule(&self, service: &str, operation: Option<&str>, fault: Fault) {
        self.lock().rules.push(Rule {
            service: service.to_owned(),
            operation: operation.map(str::to_owned),
            fault,
        });
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the proxy does with one request, decided under the lock.
enum Decision {
    Forward { wait: Duration },
    Answer(Response<Body>),
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(body) => body,
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("fault proxy: body: {e}")),
    };
    let call = identify(&parts.method, &parts.uri, &parts.headers, &body);
    let protocol = protocol_of(&call.service, &parts.headers, &parts.uri, &body);

    let decision = {
        let mut shared = state.shared.lock().unwrap_or_else(|p| p.into_inner());
        *shared.counts.entry(call.clone()).or_insert(0) += 1;
        shared.log.push(call.clone());
        let latency = shared.latency;
        let rule = shared.rules.iter_mut().find(|rule| {
            rule.service == call.service
                && rule
                    .operation
                    .as_ref()
                    .is_none_or(|op| *op == call.operation)
                && !matches!(rule.fault, Fault::Throttle { times: 0 })
        });
        match rule.map(|rule| &mut rule.fault) {
            None => Decision::Forward { wait: latency },
            Some(Fault::Deny) => Decision::Answer(deny(protocol, &call)),
            Some(Fault::Throttle { times }) => {
                *times -= 1;
                Decision::Answer(throttle(protocol))
            }
            Some(Fault::Delay(delay)) => Decision::Forward {
                wait: latency + *delay,
            },
        }
    };
    let wait = match decision {
        Decision::Answer(response) => return response,
        Decision::Forward { wait } => wait,
    };
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    forward(&state, parts, body).await
}

async fn forward(
    state: &AppState,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> Response<Body> {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("{}{path}", state.upstream);
    let mut headers = parts.headers.clone();
    // reqwest sets these for the upstream connection.
    for hop in [header::HOST, header::CONTENT_LENGTH, header::CONNECTION] {
        headers.remove(hop);
    }
    let upstream = state
        .client
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(response) => response,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("fault proxy: {url}: {e}")),
    };
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    for hop in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ] {
        headers.remove(hop);
    }
    let body = match upstream.bytes().await {
        Ok(body) => body,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("fault proxy: {url}: {e}")),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// (service, operation) of a request; see the module doc.
pub fn identify(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Call {
    let service = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(signing_service)
        .unwrap_or("unsigned")
        .to_owned();
    let operation = query_action(uri.query().unwrap_or(""))
        .or_else(|| {
            is_form(headers)
                .then(|| query_action(&String::from_utf8_lossy(body)))
                .flatten()
        })
        .or_else(|| {
            headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .map(|target| target.rsplit('.').next().unwrap_or(target).to_owned())
        })
        .unwrap_or_else(|| rest_operation(method, uri));
    Call { service, operation }
}

/// `SERVICE` of `AWS4-HMAC-SHA256 Credential=AKID/date/region/SERVICE/aws4_request, ...`.
fn signing_service(authorization: &str) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    // AKID, date, region, service, "aws4_request"
    parts.nth(3)
}

fn query_action(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(|action| action.to_owned())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `GET /bucket?versioning`: the method, the path without a trailing slash
/// (the S3 SDK sends `/bucket/`), and the query keys without values (S3 names
/// its sub-resources by key).
fn rest_operation(method: &axum::http::Method, uri: &axum::http::Uri) -> String {
    let path = match uri.path() {
        "/" => "/",
        path => path.trim_end_matches('/'),
    };
    let keys: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split('=').next().unwrap_or(pair))
        .collect();
    if keys.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path}?{}", keys.join("&"))
    }
}

fn protocol_of(service: &str, headers: &HeaderMap, uri: &axum::http::Uri, body: &[u8]) -> Protocol {
    if service == "ec2" {
        return Protocol::Ec2Query;
    }
    if headers.contains_key("x-amz-target") {
        return Protocol::Json;
    }
    let query_action = query_action(uri.query().unwrap_or("")).is_some()
        || (is_form(headers) && query_action(&String::from_utf8_lossy(body)).is_some());
    if query_action {
        Protocol::AwsQuery
    } else {
        Protocol::RestXml
    }
}

const REQUEST_ID: &str = "f4a1e6c2-0d6b-4c55-9a43-driftd-fault";

fn deny(protocol: Protocol, call: &Call) -> Response<Body> {
    let action = format!("{}:{}", call.service, call.operation);
    match protocol {
        Protocol::Ec2Query => xml(
            StatusCode::FORBIDDEN,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/driftd is not authorized to perform: {action} because no identity-based policy allows the {action} action</Message></Error></Errors><RequestID>{REQUEST_ID}</RequestID></Response>"
            ),
        ),
        Protocol::AwsQuery => xml(
            StatusCode::FORBIDDEN,
            format!(
                "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n    <Message>User: arn:aws:iam::123456789012:user/driftd is not authorized to perform: {action} on resource: * because no identity-based policy allows the {action} action</Message>\n  </Error>\n  <RequestId>{REQUEST_ID}</RequestId>\n</ErrorResponse>\n"
            ),
        ),
        Protocol::Json => json(
            StatusCode::BAD_REQUEST,
            format!(
                "{{\"__type\":\"AccessDeniedException\",\"Message\":\"User: arn:aws:iam::123456789012:user/driftd is not authorized to perform: {action} because no identity-based policy allows the {action} action\"}}"
            ),
        ),
        Protocol::RestXml => xml(
            StatusCode::FORBIDDEN,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>{REQUEST_ID}</RequestId><HostId>driftd-fault-proxy</HostId></Error>"
            ),
        ),
    }
}

fn throttle(protocol: Protocol) -> Response<Body> {
    match protocol {
        Protocol::Ec2Query => xml(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>{REQUEST_ID}</RequestID></Response>"
            ),
        ),
        Protocol::AwsQuery => xml(
            StatusCode::BAD_REQUEST,
            format!(
                "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>Throttling</Code>\n    <Message>Rate exceeded</Message>\n  </Error>\n  <RequestId>{REQUEST_ID}</RequestId>\n</ErrorResponse>\n"
            ),
        ),
        Protocol::Json => json(
            StatusCode::BAD_REQUEST,
            "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}".to_owned(),
        ),
        Protocol::RestXml => {
            let mut response = xml(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>{REQUEST_ID}</RequestId></Error>"
                ),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}

fn xml(status: StatusCode, body: String) -> Response<Body> {
    with_type(status, "text/xml", body)
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    with_type(status, "application/x-amz-json-1.1", body)
}

fn plain(status: StatusCode, body: String) -> Response<Body> {
    with_type(status, "text/plain", body)
}

fn with_type(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("x-amzn-requestid", HeaderValue::from_static(REQUEST_ID));
    response
}
