//! The daemon's HTTP listener: `/healthz` (the scheduler loop is alive),
//! `/readyz` (the store answers and every target has been scanned),
//! `/metrics` (Prometheus text), and the report pages and their JSON
//! (`report::web`). Localhost by default; bound anywhere else, config
//! validation has required a token, and every path but `/healthz` needs
//! `Authorization: Bearer <token>`. Every answer carries a strict
//! Content-Security-Policy and the other security headers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Shared;
use crate::report::web::Identity;

pub fn router(shared: Arc<Shared>) -> Router {
    let report = crate::report::web::routes(Arc::new(crate::report::web::ReportState {
        store: shared.store.clone(),
        key: shared.key.clone(),
        clock: shared.clock.clone(),
    }));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(shared.clone())
        .merge(report)
        .layer(middleware::from_fn_with_state(shared, guard))
}

/// The token check and the headers every answer carries.
async fn guard(State(shared): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let token = shared
        .http_token
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if let Some(token) = token
        && req.uri().path() != "/healthz"
    {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
            let mut r = (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"driftd\""),
            );
            return r;
        }
        req.extensions_mut().insert(Identity::Token);
    } else {
        req.extensions_mut().insert(Identity::Local);
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::report::html::CSP),
    );
    r
}

/// Compares digests of both, byte by byte without an early exit: the time
/// taken says nothing about how much of the token was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::Digest;
    let (x, y) = (sha2::Sha256::digest(a), sha2::Sha256::digest(b));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let age = shared.heartbeat_age();
    if age > shared.liveness_limit() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the scheduler has not run for {} s\n", age.as_secs()),
        )
            .into_response()
    } else {
        (StatusCode::OK, "ok\n").into_response()
    }
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.store.clone();
    let answers = tokio::task::spawn_blocking(move || store.read(|r| r.targets()))
        .await
        .ok()
        .and_then(|r| r.ok())
        .is_some();
    if !answers {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the store does not answer\n",
        )
            .into_response();
    }
    let waiting = shared.not_yet_scanned();
    if waiting.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not scanned yet: {}\n", waiting.join(", ")),
        )
            .into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    match shared.gauges().await {
        Ok(g) => {
            let body = shared.metrics.render(&g);
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                )],
                body,
            )
                .into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store could not be read: {e}\n"),
        )
            .into_response(),
    }
}
