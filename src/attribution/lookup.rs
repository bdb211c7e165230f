//! CloudTrail LookupEvents under its real limits: one lookup attribute per
//! call, 50 events a page, 2 calls per second per account and region (a
//! client-side limiter shared by the whole process, which backs off further
//! on `ThrottlingException`), 90 days back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::event::TrailEvent;
use super::matching::Window;
use super::plan::PAGE;

/// The least time between two calls' starts in one account and region: 2 calls
/// per second is the service's limit; a little more keeps clock jitter from
/// ever making it three in a second.
pub const CALL_SPACING: Duration = Duration::from_millis(520);

/// Spaces calls out; one per account and region in the process.
#[derive(Debug)]
pub struct RateLimiter {
    next: tokio::sync::Mutex<Option<Instant>>,
    spacing: Duration,
}

impl RateLimiter {
    pub fn new(spacing: Duration) -> RateLimiter {
        RateLimiter {
            next: tokio::sync::Mutex::new(None),
            spacing,
        }
    }

    /// Waits until a call may start, and books the slot.
    pub async fn acquire(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if let Some(at) = *next
            && at > now
        {
            tokio::time::sleep_until(at).await;
        }
        *next = Some(Instant::now() + self.spacing);
    }

    /// Makes the next call wait at least `pause` (after a throttle).
    pub async fn pause(&self, pause: Duration) {
        let mut next = self.next.lock().await;
        let until = Instant::now() + pause;
        *next = Some(next.map_or(until, |at| at.max(until)));
    }
}

/// The limiters by (account, region).
type Limiters = Mutex<HashMap<(String, String), Arc<RateLimiter>>>;

/// The process's limiter for one account and region.
pub fn limiter(account: &str, region: &str) -> Arc<RateLimiter> {
    static LIMITERS: OnceLock<Limiters> = OnceLock::new();
    LIMITERS
        .get_or_init(Default::default)
        .lock()
        .expect("limiter registry lock")
        .entry((account.to_string(), region.to_string()))
        .or_insert_with(|| Arc::new(RateLimiter::new(CALL_SPACING)))
        .clone()
}

/// What to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Every event naming the resource (`ResourceName`).
    Resource(String),
    /// Every write event (`ReadOnly=false`).
    Sweep,
}

/// Why LookupEvents could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("CloudTrail LookupEvents in account {account}, region {region}: {message}")]
pub struct LookupError {
    pub account: String,
    pub region: String,
    pub message: String,
    /// Worth trying again later (throttled, timed out, 5xx).
    pub transient: bool,
}

/// One page's events and where the next starts.
#[derive(Debug, Default)]
pub struct Page {
    /// Every event of the page (reads included), as returned.
    pub events: Vec<TrailEvent>,
    pub next_token: Option<String>,
    /// Records that could not be read, with why (kept out of the evidence).
    pub unreadable: Vec<String>,
}

/// The events of a query over a window.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Write events only (reads explain nothing).
    pub events: Vec<TrailEvent>,
    pub calls: u64,
    /// Whether every page was read (`max_pages` can stop it early).
    pub complete: bool,
    /// The oldest event time seen, when it stopped early: the span
    /// (oldest, window end] was read completely.
    pub oldest: Option<DateTime<Utc>>,
    pub newest: Option<DateTime<Utc>>,
    /// Events of all kinds returned.
    pub returned: u64,
    pub unreadable: Vec<String>,
}

/// LookupEvents in one account and region.
pub struct Lookup {
    client: aws_sdk_cloudtrail::Client,
    limiter: Arc<RateLimiter>,
    pub account: String,
    pub region: String,
    calls: AtomicU64,
    throttled: AtomicU64,
}

/// Attempts per page before a throttle or transient failure is given up on
/// (for this attempt: the finding is retried later).
const ATTEMPTS: u32 = 6;

impl Lookup {
    /// A client from an SDK config for the account (credentials, endpoint),
    /// in `region`. The SDK's own retries are off: they would not wait for
    /// the limiter.
    pub fn new(config: &aws_config::SdkConfig, account: &str, region: &str) -> Lookup {
        let conf = aws_sdk_cloudtrail::config::Builder::from(config)
            .region(aws_sdk_cloudtrail::config::Region::new(region.to_string()))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Lookup {
            client: aws_sdk_cloudtrail::Client::from_conf(conf),
            limiter: limiter(account, region),
            account: account.to_string(),
            region: region.to_string(),
            calls: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    /// Calls made (throttled ones included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Reads `query` over `window`, newest first, at most `max_pages` pages.
    pub async fn fetch(
        &self,
        query: &Query,
        window: Window,
        max_pages: Option<u64>,
    ) -> Result<Fetched, LookupError> {
        let mut out = Fetched::default();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let before = self.calls();
            let page = self.page(query, window, token.take()).await?;
            out.calls += self.calls() - before;
            pages += 1;
            out.returned += page.events.len() as u64;
            out.unreadable.extend(page.unreadable);
            for e in page.events {
                out.oldest = Some(out.oldest.map_or(e.time, |t| t.min(e.time)));
                out.newest = Some(out.newest.map_or(e.time, |t| t.max(e.time)));
                if e.is_write() {
                    out.events.push(e);
                }
            }
            match page.next_token {
                None => {
                    out.complete = true;
                    return Ok(out);
                }
                Some(next) if max_pages.is_none_or(|m| pages < m) => token = Some(next),
                Some(_) => return Ok(out),
            }
        }
    }

    /// One page, waiting for the limiter, backing off on throttles.
    pub async fn page(
        &self,
        query: &Query,
        window: Window,
        token: Option<String>,
    ) -> Result<Page, LookupError> {
        let attribute = match query {
            Query::Resource(name) => LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::ResourceName)
                .attribute_value(name),
            Query::Sweep => LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::ReadOnly)
                .attribute_value("false"),
        }
        .build()
        .expect("key and value are set");
        let mut backoff = Duration::from_secs(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            self.calls.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .client
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(to_smithy(window.start))
                .end_time(to_smithy(window.end))
                .max_results(PAGE as i32)
                .set_next_token(token.clone())
                .send()
                .await;
            let error = match sent {
                Ok(output) => return Ok(self.read_page(output)),
                Err(e) => e,
            };
            let code = error.code().map(str::to_string);
            let throttled = code.as_deref() == Some("ThrottlingException");
            let transient = throttled
                || matches!(
                    &error,
                    aws_sdk_cloudtrail::error::SdkError::TimeoutError(_)
                        | aws_sdk_cloudtrail::error::SdkError::DispatchFailure(_)
                )
                || error
                    .raw_response()
                    .is_some_and(|r| r.status().is_server_error());
            if throttled {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(account = %self.account, region = %self.region, "LookupEvents throttled; backing off");
                self.limiter.pause(backoff).await;
            }
            if !transient || attempt >= ATTEMPTS {
                return Err(self.error(code.as_deref(), &error, transient));
            }
            if !throttled {
                tokio::time::sleep(backoff).await;
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    fn read_page(
        &self,
        output: aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput,
    ) -> Page {
        let mut page = Page {
            next_token: output
                .next_token()
                .map(str::to_string)
                .filter(|t| !t.is_empty()),
            ..Page::default()
        };
        for e in output.events() {
            let id = e.event_id().unwrap_or("(no id)");
            let Some(text) = e.cloud_trail_event() else {
                page.unreadable
                    .push(format!("event {id} has no CloudTrailEvent record"));
                continue;
            };
            let parsed = serde_json::from_str(text)
                .map_err(|err| err.to_string())
                .and_then(|raw| TrailEvent::from_record(raw).map_err(|err| err.to_string()));
            match parsed {
                Ok(mut event) => {
                    // A record without recipientAccountId or userIdentity
                    // account is filed under the account it was looked up in.
                    if event.account.is_empty() {
                        event.account = self.account.clone();
                    }
                    page.events.push(event)
                }
                Err(why) => page.unreadable.push(format!("event {id}: {why}")),
            }
        }
        page
    }

    fn error<E: ProvideErrorMetadata + std::error::Error>(
        &self,
        code: Option<&str>,
        error: &E,
        transient: bool,
    ) -> LookupError {
        let detail = error.message().map(str::to_string).unwrap_or_else(|| {
            aws_smithy_types::error::display::DisplayErrorContext(error).to_string()
        });
        let message = match code {
            Some("AccessDeniedException")
            | Some("AccessDenied")
            | Some("UnauthorizedOperation") => {
                format!(
                    "access denied ({detail}): grant cloudtrail:LookupEvents to driftd's role \
                     (packaging/aws-iam-policy.json)"
                )
            }
            Some("ThrottlingException") => format!(
                "still throttled after {ATTEMPTS} attempts ({detail}): another tool may share the \
                 account's LookupEvents quota; driftd tries again later"
            ),
            Some(code) => format!("{code}: {detail}"),
            None if transient => format!("{detail}; driftd tries again later"),
            None => detail,
        };
        LookupError {
            account: self.account.clone(),
            region: self.region.clone(),
            message,
            transient,
        }
    }
}

fn to_smithy(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_limiter_never_allows_three_calls_in_a_second() {
        let limiter = Arc::new(RateLimiter::new(CALL_SPACING));
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..10 {
            limiter.acquire().await;
            starts.push(Instant::now() - start);
        }
        for pair in starts.windows(3) {
            assert!(pair[2] - pair[0] > Duration::from_secs(1), "{starts:?}");
        }
        limiter.pause(Duration::from_secs(4)).await;
        let before = Instant::now();
        limiter.acquire().await;
        assert!(Instant::now() - before >= Duration::from_secs(4));
    }
}
