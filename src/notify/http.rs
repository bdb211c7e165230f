//! What every HTTP sink shares: one client, and the reading of a receiver's
//! answer as delivered, retry later (5xx, 408, 429, with `Retry-After`) or
//! refused for good (other 4xx).

use super::{Retry, SendError};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Longest `Retry-After` honoured; a longer one is capped (the outbox retries
/// later again if the receiver still refuses).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The client sinks share: timeouts, no redirects (a webhook URL that
/// redirects is a misconfiguration, and following it could carry the body
/// elsewhere), rustls.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("driftd/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with rustls builds")
}

/// Sends `request` and reads the answer: `Ok((status, body))` for 2xx, a
/// [`SendError`] otherwise. `what` names the channel in messages; the URL is
/// never part of an error (webhook URLs carry their secret).
pub async fn send(
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<(u16, String), SendError> {
    let response = request.send().await.map_err(|e| transport_error(what, e))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()));
    let body = response
        .text()
        .await
        .map_err(|e| transport_error(what, e))?;
    classify(what, status.as_u16(), retry_after, body)
}

/// The answer's meaning, from its status.
pub fn classify(
    what: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: String,
) -> Result<(u16, String), SendError> {
    if (200..300).contains(&status) {
        return Ok((status, body));
    }
    let excerpt = super::message::truncate(body.trim(), 200);
    let retry = match status {
        408 | 425 | 429 | 500..=599 => Retry::Later(retry_after),
        _ => Retry::Never,
    };
    let advice = match status {
        401 | 403 => ": check the channel's credential",
        404 | 410 => ": check the channel's URL (the webhook may have been deleted)",
        429 => ": rate limited",
        _ => "",
    };
    Err(SendError {
        retry,
        status: Some(status),
        detail: format!("{what}: HTTP {status}{advice}: {excerpt}"),
    })
}

fn transport_error(what: &str, error: reqwest::Error) -> SendError {
    let error = error.without_url();
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    let retry = if error.is_builder() {
        Retry::Never
    } else {
        Retry::Later(None)
    };
    SendError {
        retry,
        status: None,
        detail: format!("{what}: {detail}"),
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sat, 21 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sat, 21 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn statuses_retry_or_refuse() {
        assert!(classify("x", 204, None, String::new()).is_ok());
        let e = classify(
            "slack",
            429,
            Some(Duration::from_secs(3)),
            "slow down".into(),
        )
        .unwrap_err();
        assert_eq!(e.retry, Retry::Later(Some(Duration::from_secs(3))));
        assert!(e.detail.contains("rate limited"), "{}", e.detail);
        assert_eq!(
            classify("x", 503, None, String::new()).unwrap_err().retry,
            Retry::Later(None)
        );
        assert_eq!(
            classify("x", 400, None, "bad".into()).unwrap_err().retry,
            Retry::Never
        );
        let e = classify("x", 404, None, "no_service".into()).unwrap_err();
        assert!(e.detail.contains("deleted"), "{}", e.detail);
    }
}
