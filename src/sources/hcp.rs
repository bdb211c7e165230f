//! HCP Terraform / Terraform Enterprise, through the public API v2:
//!
//! 1. `GET /api/v2/organizations/:org/workspaces/:name` → the workspace id;
//! 2. `GET /api/v2/workspaces/:id/current-state-version` → the state version
//!    id, its serial and `hosted-state-download-url`;
//! 3. the download, skipped when the state version id is the one read last time.
//!
//! The API answers 404 both for "does not exist" and for "this token may not
//! see it", so the messages say both. The bearer token goes only to the
//! configured origin: HCP Terraform's download URLs point at another host
//! (archivist) and are pre-signed; Terraform Enterprise's are on its own host.

use std::collections::HashMap;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::http::{USER_AGENT, same_origin, unparsed_url_origin};
use super::{
    FetchOptions, Fetcher, SourceError, SourceVersion, StateObject, redact, request_error,
    resolve_secret_for, server_said,
};
use crate::config::HcpSource;

const JSON_API: &str = "application/vnd.api+json";

pub(super) fn build_client(options: &FetchOptions) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .user_agent(USER_AGENT)
        .build()
}

/// A JSON:API document with one primary resource (only what we read of it).
#[derive(Deserialize)]
struct Document<A> {
    data: Resource<A>,
}

#[derive(Deserialize)]
struct Resource<A> {
    id: String,
    #[serde(default = "Option::default")]
    attributes: Option<A>,
}

#[derive(Deserialize)]
struct StateVersionAttributes {
    #[serde(default)]
    serial: Option<u64>,
    #[serde(rename = "hosted-state-download-url", default)]
    hosted_state_download_url: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// A JSON:API error document: `{"errors": [{"status", "title", "detail"}]}`.
#[derive(Deserialize)]
struct Errors {
    errors: Vec<ErrorObject>,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

/// Which call a response belongs to (they differ in what a 404 means).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Workspace,
    CurrentStateVersion,
    Download,
}

struct Session<'a> {
    fetcher: &'a Fetcher,
    origin: String,
    base: Url,
    authorization: HeaderValue,
    token: String,
    source: &'a HcpSource,
}

pub(super) async fn fetch(
    fetcher: &Fetcher,
    source: &HcpSource,
    known: &HashMap<String, SourceVersion>,
) -> Result<StateObject, SourceError> {
    let address = source.address.trim_end_matches('/');
    let base = Url::parse(address).map_err(|e| SourceError::InvalidSource {
        origin: format!(
            "hcp://{}/{}/{}",
            unparsed_url_origin(address),
            source.organization,
            source.workspace
        ),
        detail: format!("bad address: {e}"),
    })?;
    let host = match (base.host_str(), base.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    };
    let origin = format!("hcp://{host}/{}/{}", source.organization, source.workspace);
    if (base.scheme() != "https" && base.scheme() != "http") || host.is_empty() {
        return Err(SourceError::InvalidSource {
            origin,
            detail: "the address must be an http(s) url such as https://app.terraform.io".into(),
        });
    }
    let token = resolve_secret_for(&origin, &source.token)?;
    let mut authorization = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        SourceError::InvalidSource {
            origin: origin.clone(),
            detail: "the token is not a valid http header value (a newline or control character?)"
                .into(),
        }
    })?;
    authorization.set_sensitive(true);
    let session = Session {
        fetcher,
        origin,
        base,
        authorization,
        token,
        source,
    };

    let workspace: Document<serde::de::IgnoredAny> = session
        .get_json(
            &[
                "organizations",
                &source.organization,
                "workspaces",
                &source.workspace,
            ],
            Call::Workspace,
        )
        .await?;
    let current: Document<StateVersionAttributes> = session
        .get_json(
            &["workspaces", &workspace.data.id, "current-state-version"],
            Call::CurrentStateVersion,
        )
        .await?;
    let state_version_id = current.data.id;
    let attributes = current.data.attributes;
    let serial = attributes.as_ref().and_then(|a| a.serial);
    let version = SourceVersion::Hcp {
        state_version_id: state_version_id.clone(),
        serial,
    };
    let origin = session.origin.clone();
    if matches!(
        known.get(&origin),
        Some(SourceVersion::Hcp { state_version_id: old, .. }) if *old == state_version_id
    ) {
        return Ok(StateObject {
            origin,
            version,
            content: None,
        });
    }
    let Some(download) = attributes.and_then(|a| {
        let url = a.hosted_state_download_url;
        if url.is_none() {
            tracing::debug!(status = ?a.status, "state version without a download url");
        }
        url
    }) else {
        return Err(SourceError::InvalidResponse {
            origin,
            detail: format!(
                "current state version {state_version_id} has no hosted-state-download-url (its content may not be uploaded yet, or was deleted)"
            ),
        });
    };
    let content = session.download(&download, &state_version_id).await?;
    Ok(StateObject {
        origin,
        version,
        content: Some(content),
    })
}

impl Session<'_> {
    fn api_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .expect("an http(s) url has a path")
            .pop_if_empty()
            .extend(["api", "v2"])
            .extend(segments);
        url
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        segments: &[&str],
        call: Call,
    ) -> Result<T, SourceError> {
        let url = self.api_url(segments);
        let response = self
            .fetcher
            .hcp_client(&self.origin)?
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, JSON_API)
            .header(CONTENT_TYPE, JSON_API)
            .send()
            .await
            .map_err(|e| request_error(&self.origin, e, &self.fetcher.options))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| request_error(&self.origin, e, &self.fetcher.options))?;
        if status == StatusCode::OK {
            return serde_json::from_slice(&body).map_err(|e| SourceError::InvalidResponse {
                origin: self.origin.clone(),
                detail: format!(
                    "not the JSON:API document the HCP Terraform API returns ({e}); check that the address is an HCP Terraform or Terraform Enterprise host"
                ),
            });
        }
        Err(self.status_error(status, &body, call))
    }

    async fn download(&self, link: &str, state_version_id: &str) -> Result<Vec<u8>, SourceError> {
        let url = self
            .base
            .join(link)
            .map_err(|e| SourceError::InvalidResponse {
                origin: self.origin.clone(),
                detail: format!("the state version's download url does not parse: {e}"),
            })?;
        let mut request = self.fetcher.hcp_client(&self.origin)?.get(url.clone());
        if same_origin(&url, &self.base) {
            request = request.header(AUTHORIZATION, self.authorization.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| request_error(&self.origin, e, &self.fetcher.options))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| request_error(&self.origin, e, &self.fetcher.options))?;
        if status == StatusCode::OK {
            return Ok(body.to_vec());
        }
        let mut error = self.status_error(status, &body, Call::Download);
        if let SourceError::NotFound { detail, .. } = &mut error {
            *detail = format!(
                "the content of state version {state_version_id} is gone (http 404 on its download url); it is read again on the next scan"
            );
        }
        Err(error)
    }

    fn status_error(&self, status: StatusCode, body: &[u8], call: Call) -> SourceError {
        let origin = self.origin.clone();
        let (org, ws) = (&self.source.organization, &self.source.workspace);
        match status {
            StatusCode::NOT_FOUND => match call {
                Call::Workspace => SourceError::NotFound {
                    origin,
                    detail: format!(
                        "no workspace {ws:?} in organization {org:?} that this token can see (the api answers 404 for both \"does not exist\" and \"no access\"); check the names and the token's team access"
                    ),
                },
                Call::CurrentStateVersion => SourceError::HcpNoState { origin },
                Call::Download => SourceError::NotFound {
                    origin,
                    detail: String::new(),
                },
            },
            StatusCode::UNAUTHORIZED => SourceError::AccessDenied {
                origin,
                detail: "the token was rejected (http 401); check that it is a valid, unexpired user or team api token for this host".into(),
            },
            StatusCode::FORBIDDEN => SourceError::AccessDenied {
                origin,
                detail: format!(
                    "the token may not read this (http 403); give its team read access to workspace {ws:?} and its state versions"
                ),
            },
            _ => SourceError::HttpStatus {
                origin,
                status: status.as_u16(),
                detail: self.describe_errors(body),
            },
        }
    }

    /// The JSON:API error titles and details, or an excerpt of the body.
    fn describe_errors(&self, body: &[u8]) -> String {
        let secrets = [self.token.as_str()];
        match serde_json::from_slice::<Errors>(body) {
            Ok(errors) if !errors.errors.is_empty() => {
                let text = errors
                    .errors
                    .iter()
                    .map(|e| match (&e.title, &e.detail) {
                        (Some(t), Some(d)) => format!("{t}: {d}"),
                        (Some(t), None) => t.clone(),
                        (None, Some(d)) => d.clone(),
                        (None, None) => "unnamed error".into(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                format!("the api said: {}", redact(&text, &secrets))
            }
            _ => server_said(body, &secrets),
        }
    }
}
