//! A local HCP Terraform / Terraform Enterprise API for the calls driftd
//! makes, with the response shapes of the public API v2 docs (JSON:API
//! documents, `application/vnd.api+json`):
//!
//! - `GET /api/v2/organizations/:org/workspaces/:name` (Show Workspace);
//! - `GET /api/v2/workspaces/:id/current-state-version` (404 when the
//!   workspace has no state version, as the API does);
//! - `GET /_archivist/v1/object/:object`, the `hosted-state-download-url`.
//!
//! Every API call requires `Authorization: Bearer <token>` (401 with a
//! JSON:API error otherwise); a wrong organization or workspace is 404, as the
//! real API answers for "not found" and "no access" alike. Downloads are
//! served as Terraform Enterprise does (same host, token required), or, with
//! [`HcpEmulator::start_with_external_archivist`], from a second listener
//! standing in for HCP Terraform's archivist host, where URLs are pre-signed
//! and no token is needed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Response, StatusCode, header};
use axum::routing::get;
use serde_json::json;

const JSON_API: &str = "application/vnd.api+json";

/// One request the emulator answered.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub path: String,
    /// The `Host` it was sent to (tells the API listener from the archivist).
    pub host: String,
    pub authorization: Option<String>,
}

#[derive(Debug, Clone)]
struct StateVersion {
    id: String,
    serial: u64,
    object: String,
    content: Vec<u8>,
}

#[derive(Debug)]
struct Workspace {
    id: String,
    name: String,
    versions: Vec<StateVersion>,
}

#[derive(Debug)]
struct Hcp {
    token: String,
    organization: String,
    workspaces: Vec<Workspace>,
    /// Where download URLs point: this API (TFE) or a separate archivist.
    download_base: String,
    archivist_host: Option<String>,
    seen: Vec<SeenRequest>,
    next_id: u64,
}

impl Hcp {
    /// An id in the API's style: a prefix and 16 base62 characters.
    fn new_id(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        self.next_id += 1;
        let mut n = self.next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let id: String = (0..16)
            .map(|_| {
                let c = ALPHABET[(n % 62) as usize] as char;
                n /= 62;
                if n == 0 {
                    n = self.next_id.wrapping_mul(0xD1B5_4A32_D192_ED03);
                }
                c
            })
            .collect();
        format!("{prefix}-{id}")
    }
}

type Shared = Arc<Mutex<Hcp>>;

pub struct HcpEmulator {
    address: SocketAddr,
    hcp: Shared,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl HcpEmulator {
    /// An API for `organization` accepting only `token`, serving downloads itself.
    pub async fn start(organization: &str, token: &str) -> HcpEmulator {
        Self::start_inner(organization, token, false).await
    }

    /// The same, with downloads on a second listener that needs no token.
    pub async fn start_with_external_archivist(organization: &str, token: &str) -> HcpEmulator {
        Self::start_inner(organization, token, true).await
    }

    async fn start_inner(organization: &str, token: &str, external: bool) -> HcpEmulator {
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = api.local_addr().unwrap();
        let archivist = if external {
            Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        } else {
            None
        };
        let archivist_address = archivist.as_ref().map(|l| l.local_addr().unwrap());
        let hcp = Arc::new(Mutex::new(Hcp {
            token: token.into(),
            organization: organization.into(),
            workspaces: Vec::new(),
            download_base: format!("http://{}", archivist_address.unwrap_or(address)),
            archivist_host: archivist_address.map(|a| a.to_string()),
            seen: Vec::new(),
            next_id: 0,
        }));
        let app = Router::new()
            .route(
                "/api/v2/organizations/{organization}/workspaces/{name}",
                get(show_workspace),
            )
            .route(
                "/api/v2/workspaces/{id}/current-state-version",
                get(current_state_version),
            )
            .route("/_archivist/v1/object/{object}", get(download))
            .fallback(|| async { json_api_error(StatusCode::NOT_FOUND, "not found") })
            .with_state(Arc::clone(&hcp));
        let mut tasks = Vec::new();
        for listener in std::iter::once(api).chain(archivist) {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            }));
        }
        HcpEmulator {
            address,
            hcp,
            tasks,
        }
    }

    /// The API base, as configured in `address`.
    pub fn address(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Creates an empty workspace (no state version yet); returns its id.
    pub fn add_workspace(&self, name: &str) -> String {
        let mut hcp = self.hcp.lock().unwrap();
        let id = hcp.new_id("ws");
        hcp.workspaces.push(Workspace {
            id: id.clone(),
            name: name.into(),
            versions: Vec::new(),
        });
        id
    }

    /// Makes `content` the workspace's current state version; returns its id.
    pub fn push_state(&self, workspace: &str, serial: u64, content: Vec<u8>) -> String {
        let mut hcp = self.hcp.lock().unwrap();
        let id = hcp.new_id("sv");
        let object = hcp.new_id("obj");
        let ws = hcp
            .workspaces
            .iter_mut()
            .find(|w| w.name == workspace)
            .expect("add_workspace first");
        ws.versions.push(StateVersion {
            id: id.clone(),
            serial,
            object,
            content,
        });
        id
    }

    pub fn seen(&self) -> Vec<SeenRequest> {
        self.hcp.lock().unwrap().seen.clone()
    }

    /// How many state downloads were answered.
    pub fn downloads(&self) -> usize {
        self.seen()
            .iter()
            .filter(|r| r.path.starts_with("/_archivist/"))
            .count()
    }
}

impl Drop for HcpEmulator {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn record(hcp: &mut Hcp, path: String, headers: &HeaderMap) -> bool {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let authorized = authorization.as_deref() == Some(format!("Bearer {}", hcp.token).as_str());
    hcp.seen.push(SeenRequest {
        path,
        host,
        authorization,
    });
    authorized
}

fn json_api(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, JSON_API)
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A JSON:API error document, as the API sends for 401 and 404.
fn json_api_error(status: StatusCode, title: &str) -> Response<Body> {
    json_api(
        status,
        json!({"errors": [{"status": status.as_str(), "title": title}]}),
    )
}

async fn show_workspace(
    State(hcp): State<Shared>,
    Path((organization, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response<Body> {
    let mut hcp = hcp.lock().unwrap();
    let path = format!("/api/v2/organizations/{organization}/workspaces/{name}");
    if !record(&mut hcp, path, &headers) {
        return json_api_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    if organization != hcp.organization {
        return json_api_error(StatusCode::NOT_FOUND, "not found");
    }
    let Some(ws) = hcp.workspaces.iter().find(|w| w.name == name) else {
        return json_api_error(StatusCode::NOT_FOUND, "not found");
    };
    let current = ws
        .versions
        .last()
        .map(|v| json!({"id": v.id, "type": "state-versions"}));
    json_api(
        StatusCode::OK,
        json!({
            "data": {
                "id": ws.id,
                "type": "workspaces",
                "attributes": {
                    "name": ws.name,
                    "auto-apply": false,
                    "created-at": "2026-01-15T09:30:00.000Z",
                    "environment": "default",
                    "execution-mode": "remote",
                    "locked": false,
                    "resource-count": 0,
                    "terraform-version": "1.11.4",
                    "updated-at": "2026-04-20T14:22:00.000Z",
                    "working-directory": ""
                },
                "relationships": {
                    "organization": {"data": {"id": organization, "type": "organizations"}},
                    "current-state-version": {
                        "data": current,
                        "links": {"related": format!("/api/v2/workspaces/{}/current-state-version", ws.id)}
                    },
                    "current-run": {"data": null},
                    "latest-run": {"data": null}
                },
                "links": {
                    "self": format!("/api/v2/organizations/{organization}/workspaces/{}", ws.name),
                    "self-html": format!("/app/{organization}/workspaces/{}", ws.name)
                }
            }
        }),
    )
}

async fn current_state_version(
    State(hcp): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let mut hcp = hcp.lock().unwrap();
    let path = format!("/api/v2/workspaces/{id}/current-state-version");
    if !record(&mut hcp, path, &headers) {
        return json_api_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let Some(ws) = hcp.workspaces.iter().find(|w| w.id == id) else {
        return json_api_error(StatusCode::NOT_FOUND, "not found");
    };
    // No state version yet: the API answers 404, like for a missing workspace.
    let Some(v) = ws.versions.last() else {
        return json_api_error(StatusCode::NOT_FOUND, "not found");
    };
    let download = format!("{}/_archivist/v1/object/{}", hcp.download_base, v.object);
    json_api(
        StatusCode::OK,
        json!({
            "data": {
                "id": v.id,
                "type": "state-versions",
                "attributes": {
                    "billable-rum-count": 0,
                    "created-at": "2026-06-08T01:22:03.794Z",
                    "size": v.content.len(),
                    "hosted-state-download-url": download,
                    "hosted-state-upload-url": null,
                    "hosted-json-state-download-url": format!("{download}-json"),
                    "hosted-json-state-upload-url": null,
                    "status": "finalized",
                    "intermediate": false,
                    "modules": {"root": {}},
                    "providers": {},
                    "resources": [],
                    "resources-processed": true,
                    "serial": v.serial,
                    "state-version": 4,
                    "terraform-version": "1.11.4",
                    "vcs-commit-url": null,
                    "vcs-commit-sha": null
                },
                "relationships": {
                    "run": {"data": null},
                    "created-by": {
                        "data": {"id": "user-onZs69ThPZjBK2wo", "type": "users"},
                        "links": {"self": "/api/v2/users/user-onZs69ThPZjBK2wo"}
                    },
                    "workspace": {"data": {"id": ws.id, "type": "workspaces"}},
                    "outputs": {"data": []}
                },
                "links": {"self": format!("/api/v2/state-versions/{}", v.id)}
            }
        }),
    )
}

async fn download(
    State(hcp): State<Shared>,
    Path(object): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let mut hcp = hcp.lock().unwrap();
    let authorized = record(
        &mut hcp,
        format!("/_archivist/v1/object/{object}"),
        &headers,
    );
    let external = hcp.archivist_host.is_some();
    let on_archivist_host =
        hcp.archivist_host.as_deref() == headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if external && !on_archivist_host {
        return json_api_error(StatusCode::NOT_FOUND, "not found");
    }
    // Terraform Enterprise's own host checks the token; a pre-signed
    // archivist URL is its own authorization.
    if !external && !authorized {
        return json_api_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let content = hcp
        .workspaces
        .iter()
        .flat_map(|w| &w.versions)
        .find(|v| v.object == object)
        .map(|v| v.content.clone());
    match content {
        Some(content) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(content))
            .unwrap(),
        None => json_api_error(StatusCode::NOT_FOUND, "not found"),
    }
}
