//! The report pages and their JSON, served on the daemon's listener.
//!
//! | page | HTML | JSON |
//! |---|---|---|
//! | overview | `/` | `/api/overview` |
//! | scan | `/scans/{id}` | `/api/scans/{id}` |
//! | finding | `/findings/{id}` (POST: a decision) | `/api/findings/{id}` |
//! | resource | `/resources/{type}/{id}` | `/api/resources/{type}/{id}` |
//! | audit trail | `/audit?actor=&action=&subject=&before=` | `/api/audit?…` |
//!
//! Who is asking comes from the daemon's guard (`daemon/http.rs`) as an
//! [`Identity`] request extension. Decisions are POSTed forms carrying a
//! CSRF token bound to the identity and the finding, from a page of the
//! same origin; they are recorded in the audit trail as that identity.

use std::sync::Arc;

use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::data::{self, PageError};
use super::html::{self, ActionForm, Common, Site};
use crate::clock::Clock;
use crate::findings::Decision;
use crate::secrets::SecretKey;
use crate::store::{AuditFilter, Store};

/// Who is asking, as the daemon's guard established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// No authentication is configured (a loopback listener): anyone who
    /// can reach the port. Decisions ask for a name and record it as
    /// unauthenticated.
    Local,
    /// The `[daemon] token` bearer token.
    Token,
    /// A `[[daemon.user]]`, by basic auth.
    User(String),
}

impl Identity {
    /// Shown in the page header.
    fn display(&self) -> Option<String> {
        match self {
            Identity::Local => None,
            Identity::Token => Some("token".into()),
            Identity::User(u) => Some(u.clone()),
        }
    }

    /// The audit trail's actor for a decision; `by` is the form's name
    /// field, used only when nobody is authenticated.
    fn actor(&self, by: Option<&str>) -> Result<String, String> {
        match self {
            Identity::User(u) => Ok(u.clone()),
            Identity::Token => Ok("api-token".into()),
            Identity::Local => {
                let by = by.map(str::trim).unwrap_or("");
                if by.is_empty() || by.len() > 100 || by.chars().any(char::is_control) {
                    Err("say who you are: the name field is required (this listener has no users configured)".into())
                } else {
                    Ok(format!("{by} (unauthenticated, report page)"))
                }
            }
        }
    }

    fn csrf_subject(&self) -> String {
        match self {
            Identity::Local => "local".into(),
            Identity::Token => "token".into(),
            Identity::User(u) => format!("user:{u}"),
        }
    }
}

/// What the report routes need.
pub struct ReportState {
    pub store: Arc<Store>,
    pub key: SecretKey,
    pub clock: Arc<dyn Clock>,
}

pub fn routes(state: Arc<ReportState>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/api/overview", get(overview_json))
        .route("/scans/{id}", get(scan))
        .route("/api/scans/{id}", get(scan_json))
        .route("/findings/{id}", get(finding).post(decide))
        .route("/api/findings/{id}", get(finding_json))
        .route("/resources/{rtype}/{rid}", get(resource))
        .route("/api/resources/{rtype}/{rid}", get(resource_json))
        .route("/audit", get(audit))
        .route("/api/audit", get(audit_json))
        .route("/assets/{name}", get(asset))
        .with_state(state)
}

type Shared = State<Arc<ReportState>>;

/// Runs a store read off the async threads.
async fn read<T: Send + 'static>(
    state: &Arc<ReportState>,
    f: impl FnOnce(&crate::store::Reader<'_>, DateTime<Utc>, &SecretKey) -> Result<T, PageError>
    + Send
    + 'static,
) -> Result<T, PageError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let now = state.clock.now();
        state.store.read(|r| f(r, now, &state.key))
    })
    .await
    .unwrap_or_else(|e| {
        Err(PageError::Store(crate::store::StoreError::Corrupt {
            what: "a report page".into(),
            reason: e.to_string(),
        }))
    })
}

fn common(state: &ReportState, who: &Identity) -> Common {
    Common::new(Site::served(), who.display(), state.clock.now())
}

fn html_page(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn error_page(state: &ReportState, who: &Identity, e: PageError) -> Response {
    let (status, heading) = match &e {
        PageError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        PageError::Store(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The store could not be read",
        ),
    };
    if let PageError::Store(e) = &e {
        tracing::warn!("a report page could not read the store: {e}");
    }
    html_page(
        status,
        html::error(&common(state, who), heading, &e.to_string()),
    )
}

fn error_json(e: PageError) -> Response {
    let status = match &e {
        PageError::NotFound(_) => StatusCode::NOT_FOUND,
        PageError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    #[derive(Serialize)]
    struct Body {
        error: String,
    }
    (
        status,
        Json(Body {
            error: e.to_string(),
        }),
    )
        .into_response()
}

fn json<T: Serialize>(result: Result<T, PageError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => error_json(e),
    }
}

async fn overview(State(s): Shared, Extension(who): Extension<Identity>) -> Response {
    match read(&s, |r, now, _| Ok(data::overview(r, now, None)?)).await {
        Ok(page) => html_page(StatusCode::OK, html::overview(&common(&s, &who), &page)),
        Err(e) => error_page(&s, &who, e),
    }
}

async fn overview_json(State(s): Shared) -> Response {
    json(read(&s, |r, now, _| Ok(data::overview(r, now, None)?)).await)
}

async fn scan(
    State(s): Shared,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(
            &s,
            &who,
            PageError::NotFound(format!("{id:?} is not a scan id")),
        );
    };
    match read(&s, move |r, _, _| data::scan_page(r, id)).await {
        Ok(page) => html_page(StatusCode::OK, html::scan(&common(&s, &who), &page)),
        Err(e) => error_page(&s, &who, e),
    }
}

async fn scan_json(State(s): Shared, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_json(PageError::NotFound(format!("{id:?} is not a scan id")));
    };
    json(read(&s, move |r, _, _| data::scan_page(r, id)).await)
}

/// The finding page's query: what a decision just did (a fixed word, never
/// text from the request shown back).
#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
}

fn flash(done: Option<&str>) -> Option<String> {
    let what = match done? {
        "ack" => "Acknowledged.",
        "accept" => "Accepted.",
        "snooze" => "Snoozed.",
        "reopen" => "Reopened.",
        _ => return None,
    };
    Some(format!(
        "{what} The decision is in the finding's history and the audit trail."
    ))
}

fn csrf_token(key: &SecretKey, who: &Identity, finding: &str) -> String {
    hex::encode(key.audit_mac(
        &[0u8; 32],
        &[
            b"driftd report csrf",
            who.csrf_subject().as_bytes(),
            finding.as_bytes(),
        ],
    ))
}

fn action_form(key: &SecretKey, who: &Identity, finding: &str) -> ActionForm {
    ActionForm {
        action: Site::served().finding(finding),
        csrf: csrf_token(key, who, finding),
        ask_name: *who == Identity::Local,
    }
}

async fn finding(
    State(s): Shared,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    render_finding(&s, &who, id, flash(done.done.as_deref()), StatusCode::OK).await
}

async fn render_finding(
    s: &Arc<ReportState>,
    who: &Identity,
    id: String,
    message: Option<String>,
    status: StatusCode,
) -> Response {
    match read(s, move |r, _, _| data::finding_page(r, &id)).await {
        Ok(page) => {
            let form = action_form(&s.key, who, &page.finding.id);
            html_page(
                status,
                html::finding(&common(s, who), &page, Some(form), message),
            )
        }
        Err(e) => error_page(s, who, e),
    }
}

async fn finding_json(State(s): Shared, Path(id): Path<String>) -> Response {
    json(read(&s, move |r, _, _| data::finding_page(r, &id)).await)
}

/// The decision form.
#[derive(Debug, Deserialize)]
struct DecisionForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    until: String,
    by: Option<String>,
}

/// A form posted from another site is refused: browsers say where a
/// request comes from in `Sec-Fetch-Site`, and older ones in `Origin`. Under
/// `Referrer-Policy: no-referrer` a browser's form POST carries `Origin:
/// null`, which says nothing; the CSRF token is the guard that always holds.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (get("origin"), get("host")) {
        (None | Some("null"), _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host),
        (Some(_), None) => false,
    }
}

async fn decide(
    State(s): Shared,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let refuse = |status: StatusCode, why: &str| {
        html_page(status, html::error(&common(&s, &who), "Refused", why))
    };
    if !same_origin(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the decision was sent from another site: make it on the finding's own page",
        );
    }
    // The token names the full id; an id prefix in the URL is not enough.
    let expected = csrf_token(&s.key, &who, &id);
    if !crate::daemon::http::constant_time_eq(form.csrf.as_bytes(), expected.as_bytes()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the form has expired or was not made for you: reload the finding's page and decide again",
        );
    }
    let actor = match who.actor(form.by.as_deref()) {
        Ok(a) => a,
        Err(why) => return render_finding(&s, &who, id, Some(why), StatusCode::BAD_REQUEST).await,
    };
    let reason = Some(form.reason.trim().to_string()).filter(|r| !r.is_empty());
    let decision = match form.decision.as_str() {
        "ack" => Decision::Acknowledge { reason },
        "accept" => Decision::Accept {
            reason: reason.unwrap_or_default(),
        },
        "reopen" => Decision::Reopen { reason },
        "snooze" => {
            let Ok(day) = NaiveDate::parse_from_str(form.until.trim(), "%Y-%m-%d") else {
                return render_finding(
                    &s,
                    &who,
                    id,
                    Some("choose the day the snooze ends".into()),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            };
            Decision::Snooze {
                until: day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc(),
                reason: reason.unwrap_or_default(),
            }
        }
        other => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("{other:?} is not a decision (ack, accept, snooze, reopen)"),
            );
        }
    };
    let word = form.decision.clone();
    let state = s.clone();
    let finding_id = id.clone();
    let applied = tokio::task::spawn_blocking(move || {
        crate::findings::ops::apply(
            &state.store,
            &state.key,
            &finding_id,
            decision,
            &actor,
            state.clock.now(),
        )
    })
    .await;
    match applied {
        Ok(Ok(_)) => {
            Redirect::to(&format!("{}?done={word}", Site::served().finding(&id))).into_response()
        }
        Ok(Err(e)) => render_finding(&s, &who, id, Some(e.to_string()), StatusCode::CONFLICT).await,
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn resource(
    State(s): Shared,
    Extension(who): Extension<Identity>,
    Path((rtype, rid)): Path<(String, String)>,
) -> Response {
    match read(&s, move |r, _, _| data::resource_page(r, &rtype, &rid)).await {
        Ok(page) => html_page(StatusCode::OK, html::resource(&common(&s, &who), &page)),
        Err(e) => error_page(&s, &who, e),
    }
}

async fn resource_json(State(s): Shared, Path((rtype, rid)): Path<(String, String)>) -> Response {
    json(read(&s, move |r, _, _| data::resource_page(r, &rtype, &rid)).await)
}

/// The audit page's query.
#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    subject: Option<String>,
    before: Option<i64>,
}

impl AuditQuery {
    fn filter(self) -> AuditFilter {
        let some = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        AuditFilter {
            actor: some(self.actor),
            action: some(self.action),
            subject: some(self.subject),
            before: self.before,
            limit: data::AUDIT_PAGE,
        }
    }
}

async fn audit(
    State(s): Shared,
    Extension(who): Extension<Identity>,
    Query(q): Query<AuditQuery>,
) -> Response {
    let filter = q.filter();
    let f = filter.clone();
    match read(&s, move |r, _, key| Ok(data::audit_page(r, key, &f)?)).await {
        Ok(page) => html_page(
            StatusCode::OK,
            html::audit(&common(&s, &who), &page, &filter),
        ),
        Err(e) => error_page(&s, &who, e),
    }
}

async fn audit_json(State(s): Shared, Query(q): Query<AuditQuery>) -> Response {
    let filter = q.filter();
    json(read(&s, move |r, _, key| Ok(data::audit_page(r, key, &filter)?)).await)
}

async fn asset(Path(name): Path<String>) -> Response {
    match html::ASSETS.iter().find(|(n, _, _)| *n == name) {
        // The guard sets `Cache-Control: no-store` on every answer, these too.
        Some((_, mime, body)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(mime))],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}
