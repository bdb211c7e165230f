//! Terraform's `http` backend: a GET on the state's URL.
//!
//! What Terraform sends is what we send: basic auth when a username or
//! password is configured, plus the configured headers. When the server gave
//! an ETag last time, `If-None-Match` lets it answer 304 without a body;
//! otherwise the content's sha256 tells an unchanged state from a new one
//! (the body is transferred, but not parsed again).

use std::collections::HashMap;

use reqwest::header::{ETAG, HeaderName, HeaderValue, IF_NONE_MATCH, LOCATION};
use reqwest::{StatusCode, Url, redirect};
use sha2::{Digest, Sha256};

use super::{
    FetchOptions, Fetcher, SourceError, SourceVersion, StateObject, request_error,
    resolve_secret_for, server_said,
};
use crate::config::{HttpSource, SecretOrPlain};

pub(super) const USER_AGENT: &str = concat!("driftd/", env!("CARGO_PKG_VERSION"));

/// Redirects are followed only within the origin of the first request:
/// reqwest drops `Authorization` on a cross-origin redirect but not custom
/// headers, which may carry secrets here.
pub(super) fn build_client(
    options: &FetchOptions,
    accept_invalid_certs: bool,
) -> reqwest::Result<reqwest::Client> {
    let policy = redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects");
        }
        let same = attempt
            .previous()
            .first()
            .is_none_or(|first| same_origin(first, attempt.url()));
        if same {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .user_agent(USER_AGENT)
        .redirect(policy)
        .danger_accept_invalid_certs(accept_invalid_certs)
        .build()
}

pub(super) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Query parameter names whose values are replaced in origin labels.
const SENSITIVE_QUERY_WORDS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "key",
    "sig",
    "auth",
    "credential",
    "session",
    "x-amz-",
];

/// A URL fit for messages and the store: no user info, no fragment, and the
/// values of query parameters that look like credentials replaced.
pub(super) fn url_origin(url: &Url) -> String {
    let mut url = url.clone();
    // Both fail only for URLs that cannot have credentials.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let lower = name.to_ascii_lowercase();
                let value = if SENSITIVE_QUERY_WORDS.iter().any(|w| lower.contains(w)) {
                    "REDACTED".to_owned()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// A label for a URL that does not parse: everything up to an `@` is dropped
/// (it could be user info), and so is any query.
pub(super) fn unparsed_url_origin(text: &str) -> String {
    let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    if scheme.is_empty() {
        rest.to_owned()
    } else {
        format!("{scheme}://{rest}")
    }
}

pub(super) async fn fetch(
    fetcher: &Fetcher,
    source: &HttpSource,
    known: &HashMap<String, SourceVersion>,
) -> Result<StateObject, SourceError> {
    let url = Url::parse(&source.url).map_err(|e| SourceError::InvalidSource {
        origin: unparsed_url_origin(&source.url),
        detail: format!("bad url: {e}"),
    })?;
    let origin = url_origin(&url);
    let invalid = |detail: String| SourceError::InvalidSource {
        origin: origin.clone(),
        detail,
    };
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid(format!(
            "the url scheme must be http or https, not {:?}",
            url.scheme()
        )));
    }
    let client = fetcher.http_client(&origin, source.skip_tls_verify)?;

    // Every secret value sent, to scrub them from anything the server says back.
    let mut secrets: Vec<String> = Vec::new();
    let mut request = client.get(url.clone());
    for (name, value) in &source.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("{name:?} is not a valid http header name")))?;
        let value = match value {
            SecretOrPlain::Plain(text) => HeaderValue::from_str(text).map_err(|_| {
                invalid(format!(
                    "the value of header {name} is not a valid http header value"
                ))
            })?,
            SecretOrPlain::Secret(secret) => {
                let text = resolve_secret_for(&origin, secret)?;
                let mut value = HeaderValue::from_str(&text).map_err(|_| {
                    invalid(format!(
                        "the secret for header {name} is not a valid http header value (a newline or control character?)"
                    ))
                })?;
                value.set_sensitive(true);
                secrets.push(text);
                value
            }
        };
        request = request.header(header, value);
    }
    // As Terraform does: basic auth when either half is configured.
    if source.username.is_some() || source.password.is_some() {
        let password = match &source.password {
            Some(secret) => Some(resolve_secret_for(&origin, secret)?),
            None => None,
        };
        request = request.basic_auth(
            source.username.as_deref().unwrap_or(""),
            password.as_deref(),
        );
        secrets.extend(password);
    }
    let known = match known.get(&origin) {
        Some(version @ SourceVersion::Http { .. }) => Some(version),
        _ => None,
    };
    if let Some(SourceVersion::Http {
        etag: Some(etag), ..
    }) = known
        && let Ok(value) = HeaderValue::from_str(etag)
    {
        request = request.header(IF_NONE_MATCH, value);
    }

    let response = request
        .send()
        .await
        .map_err(|e| request_error(&origin, e, &fetcher.options))?;
    let status = response.status();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    match status {
        StatusCode::OK => {
            let etag = response
                .headers()
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response
                .bytes()
                .await
                .map_err(|e| request_error(&origin, e, &fetcher.options))?;
            let sha256 = hex::encode(Sha256::digest(&body));
            let unchanged =
                matches!(known, Some(SourceVersion::Http { sha256: old, .. }) if *old == sha256);
            Ok(StateObject {
                origin,
                version: SourceVersion::Http { etag, sha256 },
                content: (!unchanged).then(|| body.to_vec()),
            })
        }
        StatusCode::NOT_MODIFIED => match known {
            Some(version) => Ok(StateObject {
                origin,
                version: version.clone(),
                content: None,
            }),
            None => Err(SourceError::InvalidResponse {
                origin,
                detail: "304 not modified to a request that had no If-None-Match".into(),
            }),
        },
        // Terraform's http backend reads both as "no state here yet".
        StatusCode::NOT_FOUND | StatusCode::NO_CONTENT => Err(SourceError::NotFound {
            origin,
            detail: format!(
                "the server has no state at this url (http {}); check the url, or that terraform has written a state there yet",
                status.as_u16()
            ),
        }),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(SourceError::AccessDenied {
            origin,
            detail: format!(
                "the server answered http {}; check the username, the password secret and the headers",
                status.as_u16()
            ),
        }),
        s if s.is_redirection() => {
            let target = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .map(|l| l.origin().ascii_serialization())
                .unwrap_or_else(|| "an unknown location".into());
            Err(SourceError::InvalidResponse {
                origin,
                detail: format!(
                    "http {} redirect to {target} not followed: credentials and headers are only sent to the configured origin; configure the final url instead",
                    s.as_u16()
                ),
            })
        }
        s => {
            let body = response.bytes().await.unwrap_or_default();
            Err(SourceError::HttpStatus {
                origin,
                status: s.as_u16(),
                detail: server_said(&body, &secrets),
            })
        }
    }
}
