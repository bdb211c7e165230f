//! A local CloudTrail `LookupEvents` (event history) for the tests: moto has
//! none. It speaks the JSON 1.1 protocol exactly as `aws-sdk-cloudtrail`
//! sends it (`POST /`, `Content-Type: application/x-amz-json-1.1`,
//! `X-Amz-Target: CloudTrail_20131101.LookupEvents`, the Smithy service
//! name, where botocore clients send its `targetPrefix`
//! `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`:
//! both are accepted; shapes in the corpus' `api-specs/aws-cloudtrail/`
//! botocore model) and serves real CloudTrail records, as the service does:
//!
//! - **Partitions.** Event history is per account and region. A call's
//!   account is the one its SigV4 access key id maps to
//!   ([`CloudTrailEmulator::map_access_key`]; any other key is the default
//!   account), its region the credential scope's
//!   (`Credential=AKID/20260101/us-east-1/cloudtrail/aws4_request`). The
//!   signature itself is not checked. A record is served in the partition of
//!   its `recipientAccountId` and `awsRegion`.
//! - **What is served.** Management events; Insights events only with
//!   `EventCategory: insight`; never data or network-activity events
//!   (`eventCategory` `Data`/`NetworkActivity`, or `managementEvent: false`),
//!   which event history does not hold. Events older than 90 days before the
//!   emulator's clock are gone. Newest first.
//! - **Requests.** At most one `LookupAttributes` entry, with one of the eight
//!   keys (Insights: `EventId`, `EventName`, `EventSource` only); `StartTime`
//!   and `EndTime` inclusive; `MaxResults` 1 to 50 (default 50); a `NextToken`
//!   is opaque and bound to the query it came from (partition, attribute,
//!   times, category; not the page size). Each rule broken is the error the
//!   model declares for it.
//! - **Throttling.** More than two calls of one partition within any second
//!   of the emulator's clock: HTTP 400 `ThrottlingException`, "Rate
//!   exceeded". A throttled call does not take a place in the window.
//!
//! `Resources` of an event are derived generically, as no emulator can know
//! CloudTrail's per-event rules: every `resources[].ARN` (with its
//! `resources[].type`) and the ARN's name part, and every string under a key
//! of `requestParameters`/`responseElements`, at any depth, whose name ends in
//! `Id`, `Name`, `Arn`/`ARN` or `Identifier` (any case; `requestId` skipped),
//! with no type. This **over-approximates** CloudTrail's list: a
//! `ResourceName` lookup finds every event the real service would (for the
//! names requests carry) and some it would not, e.g. by a `keyName` or a
//! `functionName` in a response.
//!
//! The clock (90 days, throttling window) is a `driftd::clock::Clock`, so a
//! test holds time still with a `ManualClock` and throttling is exact.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudtrail::config::{BehaviorVersion, Credentials, Region};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode, header};
use axum::routing::post;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use driftd::clock::{Clock, SystemClock};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The account of access keys nobody mapped.
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// The region of records that name none (test fragments; CloudTrail always does).
pub const DEFAULT_REGION: &str = "us-east-1";
/// The `X-Amz-Target`s of the one operation served: the Smithy form
/// (`aws-sdk-cloudtrail`) and botocore's `targetPrefix` form (boto3, the CLI).
const LOOKUP_EVENTS_TARGETS: [&str; 2] = [
    "CloudTrail_20131101.LookupEvents",
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
];
const JSON_1_1: &str = "application/x-amz-json-1.1";
/// How far back event history goes.
pub const HISTORY_DAYS: i64 = 90;
/// Calls a partition may make within any one second.
pub const CALLS_PER_SECOND: usize = 2;
/// `MaxResults` at most, and its default.
pub const PAGE_SIZE: usize = 50;
/// The lookup attribute keys of the model's `LookupAttributeKey`.
const ATTRIBUTE_KEYS: [&str; 8] = [
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];
/// The keys event history supports for Insights events.
const INSIGHT_ATTRIBUTE_KEYS: [&str; 3] = ["EventId", "EventName", "EventSource"];

/// An account's event history in one region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub account: String,
    pub region: String,
}

impl Partition {
    pub fn new(account: &str, region: &str) -> Partition {
        Partition {
            account: account.into(),
            region: region.into(),
        }
    }
}

/// What [`CloudTrailEmulator::load`] did with the records it was given.
/// `records` = `management` + `insights` + `not_in_event_history` +
/// `without_event_time`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Records given.
    pub records: usize,
    /// Served as management events.
    pub management: usize,
    /// Served as Insights events (`EventCategory: insight`).
    pub insights: usize,
    /// Data and network-activity events: kept out, as event history does.
    pub not_in_event_history: usize,
    /// Records with no `eventTime`, or none that reads as a time
    /// (`"redacted"`): trimmed test fragments no lookup can return.
    pub without_event_time: usize,
    /// Records whose `eventTime` was not in CloudTrail's format but read as
    /// UTC (`2022-12-11 19:42:55`, as Panther's tests rewrote them): the
    /// served record says it in CloudTrail's (`2022-12-11T19:42:55Z`).
    pub rewrote_event_time: usize,
    /// Records that lacked a field CloudTrail always sets, which the
    /// emulator filled in the served record: `eventID` (a stable made-up
    /// id), `recipientAccountId` (`userIdentity.accountId`, else the default
    /// account), `awsRegion` ([`DEFAULT_REGION`]).
    pub filled_event_id: usize,
    pub filled_account: usize,
    pub filled_region: usize,
}

/// How one call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with events; `next_token` when more pages remain.
    Served {
        events: usize,
        next_token: Option<String>,
    },
    /// Answered with an error the model declares (its `__type`).
    Failed(String),
    /// Refused by the rate limit.
    Throttled,
}

/// One LookupEvents call, as the emulator saw and answered it.
#[derive(Debug, Clone)]
pub struct LookupCall {
    pub partition: Partition,
    pub access_key_id: String,
    /// `LookupAttributes` as sent: (key, value).
    pub attributes: Vec<(String, String)>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub event_category: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    /// The emulator's clock when the call arrived.
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    /// The request body (`Null` when it was not JSON).
    pub request: Value,
    pub status: u16,
    /// The response body.
    pub response: Value,
}

/// Calls of one partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Answered: with events or with a validation error.
    pub served: usize,
    pub throttled: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Management,
    Insight,
}

/// A `Resources[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EventResource {
    resource_type: Option<String>,
    name: String,
}

/// A record as event history holds it, with the `Event` fields derived.
#[derive(Debug)]
struct StoredEvent {
    /// Load order: the tie-break between events of the same second.
    seq: u64,
    time: DateTime<Utc>,
    category: Category,
    event_id: String,
    event_name: Option<String>,
    event_source: Option<String>,
    read_only: Option<String>,
    access_key_id: Option<String>,
    username: Option<String>,
    resources: Vec<EventResource>,
    /// The record, as the JSON string `CloudTrailEvent` carries.
    cloudtrail_event: String,
}

impl StoredEvent {
    /// Position in event history's order: newest first, later loads first
    /// within a second.
    fn order_key(&self) -> (DateTime<Utc>, u64) {
        (self.time, self.seq)
    }

    fn matches(&self, key: &str, value: &str) -> bool {
        let is = |field: &Option<String>| field.as_deref() == Some(value);
        match key {
            "EventId" => self.event_id == value,
            "EventName" => is(&self.event_name),
            "ReadOnly" => is(&self.read_only),
            "Username" => is(&self.username),
            "EventSource" => is(&self.event_source),
            "AccessKeyId" => is(&self.access_key_id),
            "ResourceType" => self
                .resources
                .iter()
                .any(|r| r.resource_type.as_deref() == Some(value)),
            "ResourceName" => self.resources.iter().any(|r| r.name == value),
            _ => false,
        }
    }

    /// The model's `Event` structure, as the JSON protocol encodes it
    /// (`EventTime`: epoch seconds, a number).
    fn to_json(&self) -> Value {
        let mut event = Map::new();
        event.insert("EventId".into(), self.event_id.clone().into());
        let optional = [
            ("EventName", &self.event_name),
            ("ReadOnly", &self.read_only),
            ("AccessKeyId", &self.access_key_id),
            ("EventSource", &self.event_source),
            ("Username", &self.username),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                event.insert(name.into(), value.clone().into());
            }
        }
        event.insert("EventTime".into(), epoch_seconds(self.time));
        let resources = self
            .resources
            .iter()
            .map(|r| {
                let mut resource = Map::new();
                if let Some(t) = &r.resource_type {
                    resource.insert("ResourceType".into(), t.clone().into());
                }
                resource.insert("ResourceName".into(), r.name.clone().into());
                Value::Object(resource)
            })
            .collect();
        event.insert("Resources".into(), Value::Array(resources));
        event.insert(
            "CloudTrailEvent".into(),
            self.cloudtrail_event.clone().into(),
        );
        Value::Object(event)
    }
}

/// What a `NextToken` stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueryKey {
    partition: Partition,
    attributes: Vec<(String, String)>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    category: Option<String>,
}

#[derive(Debug, Clone)]
struct Cursor {
    query: QueryKey,
    /// The last event served: the next page starts after it.
    after: (DateTime<Utc>, u64),
}

#[derive(Debug)]
struct Trail {
    clock: Arc<dyn Clock>,
    default_account: String,
    accounts: HashMap<String, String>,
    /// Each partition's events, newest first.
    events: BTreeMap<Partition, Vec<StoredEvent>>,
    next_seq: u64,
    tokens: HashMap<String, Cursor>,
    /// Arrival times of the calls each partition was served, in the last second.
    windows: HashMap<Partition, VecDeque<DateTime<Utc>>>,
    calls: Vec<LookupCall>,
    latency: Duration,
    /// Makes tokens and request ids differ between emulators.
    salt: String,
    counter: u64,
}

type Shared = Arc<Mutex<Trail>>;

/// An error the service answers with (400, JSON 1.1 error body).
#[derive(Debug)]
struct ApiError {
    kind: &'static str,
    message: String,
}

impl ApiError {
    fn new(kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// `{"__type": ..., "message": ...}`: the SDK reads the code from
    /// `__type` (after any `namespace#`) and the text from `message`.
    fn body(&self) -> Value {
        json!({"__type": self.kind, "message": self.message})
    }
}

/// The request body, as the model's `LookupEventsRequest`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsRequest {
    lookup_attributes: Option<Vec<LookupAttribute>>,
    /// Epoch seconds: the JSON protocol sends timestamps as numbers.
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: String,
    attribute_value: String,
}

impl LookupEventsRequest {
    /// `LookupAttributes` as (key, value).
    fn attributes(&self) -> Vec<(String, String)> {
        self.lookup_attributes
            .iter()
            .flatten()
            .map(|a| (a.attribute_key.clone(), a.attribute_value.clone()))
            .collect()
    }

    fn start(&self) -> Option<DateTime<Utc>> {
        self.start_time.map(from_epoch_seconds)
    }

    fn end(&self) -> Option<DateTime<Utc>> {
        self.end_time.map(from_epoch_seconds)
    }
}

pub struct CloudTrailEmulator {
    address: SocketAddr,
    trail: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl CloudTrailEmulator {
    /// An empty event history on a free loopback port, on the system clock.
    pub async fn start() -> CloudTrailEmulator {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// The same on `clock`: "now" for the 90 days and the rate limit.
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> CloudTrailEmulator {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let trail = Arc::new(Mutex::new(Trail {
            clock,
            default_account: DEFAULT_ACCOUNT.into(),
            accounts: HashMap::new(),
            events: BTreeMap::new(),
            next_seq: 0,
            tokens: HashMap::new(),
            windows: HashMap::new(),
            calls: Vec::new(),
            latency: Duration::ZERO,
            salt: address.to_string(),
            counter: 0,
        }));
        let app = Router::new()
            .route("/", post(lookup_events))
            .fallback(|| async {
                error_response(&ApiError::new(
                    "UnknownOperationException",
                    "only POST / with LookupEvents is served",
                ))
            })
            .with_state(Arc::clone(&trail));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        CloudTrailEmulator {
            address,
            trail,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`, for `endpoint_url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// An SDK config for this emulator: static credentials with
    /// `access_key_id`, `region`, the latest behavior version; nothing read
    /// from the environment. Retries are the SDK's default (standard, three
    /// attempts, throttling retried): set `retry_config` to change that.
    pub fn config(&self, access_key_id: &str, region: &str) -> aws_sdk_cloudtrail::config::Builder {
        aws_sdk_cloudtrail::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.endpoint_url())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(
                access_key_id,
                "emulator-secret",
                None,
                None,
                "cloudtrail-emulator",
            ))
    }

    /// A client with [`CloudTrailEmulator::config`].
    pub fn client(&self, access_key_id: &str, region: &str) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::from_conf(self.config(access_key_id, region).build())
    }

    /// Calls signed with `access_key_id` read `account`'s event history.
    pub fn map_access_key(&self, access_key_id: &str, account: &str) {
        self.lock()
            .accounts
            .insert(access_key_id.into(), account.into());
    }

    /// The account of unmapped access keys ([`DEFAULT_ACCOUNT`] at first);
    /// also the account of records loaded afterwards that name none.
    pub fn set_default_account(&self, account: &str) {
        self.lock().default_account = account.into();
    }

    /// How long each call takes to answer (none at first).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Adds records as they are (CloudTrail record objects).
    pub fn load(&self, records: impl IntoIterator<Item = Value>) -> LoadReport {
        self.load_shifted(records, TimeDelta::zero())
    }

    /// Adds records moved in time by `shift` ([`shift_record`]): the
    /// served `CloudTrailEvent` says the moved `eventTime`, as `EventTime` does.
    pub fn load_shifted(
        &self,
        records: impl IntoIterator<Item = Value>,
        shift: TimeDelta,
    ) -> LoadReport {
        let mut trail = self.lock();
        let mut report = LoadReport::default();
        for record in records {
            report.records += 1;
            trail.store(record, shift, &mut report);
        }
        for events in trail.events.values_mut() {
            events.sort_by_key(|e| std::cmp::Reverse(e.order_key()));
        }
        report
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<LookupCall> {
        self.lock().calls.clone()
    }

    /// The calls of one account and region.
    pub fn calls_of(&self, account: &str, region: &str) -> Vec<LookupCall> {
        let partition = Partition::new(account, region);
        self.lock()
            .calls
            .iter()
            .filter(|c| c.partition == partition)
            .cloned()
            .collect()
    }

    /// Served and throttled calls of one account and region.
    pub fn counts(&self, account: &str, region: &str) -> CallCounts {
        let mut counts = CallCounts::default();
        for call in self.calls_of(account, region) {
            match call.outcome {
                Outcome::Throttled => counts.throttled += 1,
                Outcome::Served { .. } | Outcome::Failed(_) => counts.served += 1,
            }
        }
        counts
    }

    /// The partitions holding events, with how many (management and Insights).
    pub fn partitions(&self) -> BTreeMap<Partition, usize> {
        self.lock()
            .events
            .iter()
            .map(|(p, events)| (p.clone(), events.len()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Trail> {
        self.trail.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for CloudTrailEmulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Trail {
    fn store(&mut self, mut record: Value, shift: TimeDelta, report: &mut LoadReport) {
        let Some(recorded) = record.get("eventTime").and_then(Value::as_str) else {
            report.without_event_time += 1;
            return;
        };
        let Some(time) = parse_time(recorded) else {
            report.without_event_time += 1;
            return;
        };
        if recorded != format_time(time) {
            report.rewrote_event_time += 1;
            record["eventTime"] = format_time(time).into();
        }
        shift_record(&mut record, shift);
        let time = time + shift;
        let Some(category) = record.as_object().and_then(category_of) else {
            report.not_in_event_history += 1;
            return;
        };
        if !record.get("eventID").is_some_and(Value::is_string) {
            report.filled_event_id += 1;
            record["eventID"] = made_up_event_id(&record, self.next_seq).into();
        }
        if !record
            .get("recipientAccountId")
            .is_some_and(Value::is_string)
        {
            report.filled_account += 1;
            let account = record
                .pointer("/userIdentity/accountId")
                .and_then(Value::as_str)
                .map_or_else(|| self.default_account.clone(), str::to_owned);
            record["recipientAccountId"] = account.into();
        }
        if !record.get("awsRegion").is_some_and(Value::is_string) {
            report.filled_region += 1;
            record["awsRegion"] = DEFAULT_REGION.into();
        }
        match category {
            Category::Management => report.management += 1,
            Category::Insight => report.insights += 1,
        }
        let text = |pointer: &str| {
            record
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (event_name, event_source) = match category {
            // Insights are looked up by the name and source of the API they
            // are about.
            Category::Insight => (
                text("/insightDetails/eventName").or_else(|| text("/eventName")),
                text("/insightDetails/eventSource").or_else(|| text("/eventSource")),
            ),
            Category::Management => (text("/eventName"), text("/eventSource")),
        };
        let read_only = match record.get("readOnly") {
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(Value::String(s)) => Some(s.to_ascii_lowercase()),
            _ => None,
        };
        let partition = Partition::new(
            record["recipientAccountId"].as_str().unwrap_or_default(),
            record["awsRegion"].as_str().unwrap_or_default(),
        );
        let event = StoredEvent {
            seq: self.next_seq,
            time,
            category,
            event_id: text("/eventID").unwrap_or_default(),
            event_name,
            event_source,
            read_only,
            access_key_id: text("/userIdentity/accessKeyId"),
            username: username(&record),
            resources: resources(&record),
            cloudtrail_event: record.to_string(),
        };
        self.next_seq += 1;
        self.events.entry(partition).or_default().push(event);
    }

    /// A fresh opaque string: `NextToken`s and request ids.
    fn opaque(&mut self, what: &str) -> String {
        self.counter += 1;
        let digest = Sha256::digest(format!("{}/{what}/{}", self.salt, self.counter));
        hex::encode(digest)
    }

    /// True when the partition may be served now (and takes its place in
    /// the window); false when the call is throttled.
    fn admit(&mut self, partition: &Partition, now: DateTime<Utc>) -> bool {
        let window = self.windows.entry(partition.clone()).or_default();
        while window
            .front()
            .is_some_and(|t| *t <= now - TimeDelta::seconds(1))
        {
            window.pop_front();
        }
        if window.len() >= CALLS_PER_SECOND {
            return false;
        }
        window.push_back(now);
        true
    }

    fn lookup(
        &mut self,
        partition: &Partition,
        request: &LookupEventsRequest,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let attributes = request.attributes();
        if attributes.len() > 1 {
            return Err(ApiError::new(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            ));
        }
        let insight = match request.event_category.as_deref() {
            None => false,
            Some("insight") => true,
            Some(other) => {
                return Err(ApiError::new(
                    "InvalidEventCategoryException",
                    format!("{other} is not a valid event category."),
                ));
            }
        };
        if let Some((key, value)) = attributes.first() {
            let supported: &[&str] = if insight {
                &INSIGHT_ATTRIBUTE_KEYS
            } else {
                &ATTRIBUTE_KEYS
            };
            if !supported.contains(&key.as_str()) {
                return Err(ApiError::new(
                    "InvalidLookupAttributesException",
                    format!("{key} is not a valid lookup attribute key."),
                ));
            }
            // The model: 1 to 2000, where `_`, space, `,` and `\n` count twice.
            let length: usize = value
                .chars()
                .map(|c| {
                    if matches!(c, '_' | ' ' | ',' | '\n') {
                        2
                    } else {
                        1
                    }
                })
                .sum();
            if !(1..=2000).contains(&length) {
                return Err(ApiError::new(
                    "InvalidLookupAttributesException",
                    "The attribute value must be 1 to 2000 characters long.",
                ));
            }
        }
        let page_size = match request.max_results {
            None => PAGE_SIZE,
            Some(n) if (1..=PAGE_SIZE as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::new(
                    "InvalidMaxResultsException",
                    format!("MaxResults {n} is not between 1 and {PAGE_SIZE}."),
                ));
            }
        };
        let (start, end) = (request.start(), request.end());
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err(ApiError::new(
                "InvalidTimeRangeException",
                "The start time must not be after the end time.",
            ));
        }
        let query = QueryKey {
            partition: partition.clone(),
            attributes,
            start_ms: start.map(|t| t.timestamp_millis()),
            end_ms: end.map(|t| t.timestamp_millis()),
            category: request.event_category.clone(),
        };
        let after = match &request.next_token {
            None => None,
            Some(token) => match self.tokens.get(token) {
                Some(cursor) if cursor.query == query => Some(cursor.after),
                _ => {
                    return Err(ApiError::new(
                        "InvalidNextTokenException",
                        "The token is not valid for these parameters.",
                    ));
                }
            },
        };
        let oldest = now - TimeDelta::days(HISTORY_DAYS);
        let lower = start.map_or(oldest, |s| s.max(oldest));
        let wanted = if insight {
            Category::Insight
        } else {
            Category::Management
        };
        let mut page: Vec<&StoredEvent> = self
            .events
            .get(partition)
            .into_iter()
            .flatten()
            .filter(|e| e.category == wanted)
            .filter(|e| e.time >= lower && end.is_none_or(|end| e.time <= end))
            .filter(|e| after.is_none_or(|after| e.order_key() < after))
            .filter(|e| {
                query
                    .attributes
                    .first()
                    .is_none_or(|(key, value)| e.matches(key, value))
            })
            .take(page_size + 1)
            .collect();
        let more = page.len() > page_size;
        page.truncate(page_size);
        let events: Vec<Value> = page.iter().map(|e| e.to_json()).collect();
        let last = page.last().map(|e| e.order_key());
        let next_token = match (more, last) {
            (true, Some(after)) => {
                let token = self.opaque("token");
                self.tokens.insert(token.clone(), Cursor { query, after });
                Some(token)
            }
            _ => None,
        };
        Ok((events, next_token))
    }
}

async fn lookup_events(
    State(trail): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let target = header_text("x-amz-target");
    if !target.is_some_and(|t| LOOKUP_EVENTS_TARGETS.contains(&t)) {
        return error_response(&ApiError::new(
            "UnknownOperationException",
            format!("X-Amz-Target {target:?} is not served; only {LOOKUP_EVENTS_TARGETS:?}"),
        ));
    }
    let (access_key_id, region) = match credential_scope(header_text("authorization")) {
        Ok(scope) => scope,
        Err(error) => return error_response(&error),
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, response, request_id, latency) = {
        let mut trail = trail.lock().unwrap_or_else(|e| e.into_inner());
        let account = trail
            .accounts
            .get(&access_key_id)
            .cloned()
            .unwrap_or_else(|| trail.default_account.clone());
        let partition = Partition { account, region };
        let now = trail.clock.now();
        let parsed = serde_json::from_value::<LookupEventsRequest>(request.clone());
        let outcome = if !trail.admit(&partition, now) {
            Err((
                Outcome::Throttled,
                ApiError::new("ThrottlingException", "Rate exceeded"),
            ))
        } else if header_text(header::CONTENT_TYPE.as_str()) != Some(JSON_1_1) {
            Err(failed(ApiError::new(
                "SerializationException",
                format!("Content-Type must be {JSON_1_1}"),
            )))
        } else {
            match &parsed {
                Err(e) => Err(failed(ApiError::new(
                    "SerializationException",
                    format!("the body is not a LookupEventsRequest: {e}"),
                ))),
                Ok(parsed) => trail.lookup(&partition, parsed, now).map_err(failed),
            }
        };
        let (status, response, outcome) = match outcome {
            Ok((events, next_token)) => {
                let mut body = json!({ "Events": events });
                if let Some(token) = &next_token {
                    body["NextToken"] = token.clone().into();
                }
                let outcome = Outcome::Served {
                    events: events.len(),
                    next_token,
                };
                (StatusCode::OK, body, outcome)
            }
            Err((outcome, error)) => (StatusCode::BAD_REQUEST, error.body(), outcome),
        };
        let parsed = parsed.ok();
        let call = LookupCall {
            partition,
            access_key_id,
            attributes: parsed
                .as_ref()
                .map(LookupEventsRequest::attributes)
                .unwrap_or_default(),
            start_time: parsed.as_ref().and_then(LookupEventsRequest::start),
            end_time: parsed.as_ref().and_then(LookupEventsRequest::end),
            event_category: parsed.as_ref().and_then(|p| p.event_category.clone()),
            max_results: parsed.as_ref().and_then(|p| p.max_results),
            next_token: parsed.as_ref().and_then(|p| p.next_token.clone()),
            at: now,
            outcome,
            request,
            status: status.as_u16(),
            response: response.clone(),
        };
        trail.calls.push(call);
        let request_id = trail.opaque("request");
        (status, response, request_id, trail.latency)
    };
    // After the lock: a slow answer holds up no other call.
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, JSON_1_1)
        .header("x-amzn-RequestId", request_id)
        .body(Body::from(response.to_string()))
        .unwrap()
}

fn failed(error: ApiError) -> (Outcome, ApiError) {
    (Outcome::Failed(error.kind.to_owned()), error)
}

fn error_response(error: &ApiError) -> Response<Body> {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(header::CONTENT_TYPE, JSON_1_1)
        .body(Body::from(error.body().to_string()))
        .unwrap()
}

/// (access key id, region) from a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/cloudtrail/aws4_request, ...`.
fn credential_scope(authorization: Option<&str>) -> Result<(String, String), ApiError> {
    let Some(authorization) = authorization else {
        return Err(ApiError::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let incomplete = |why: &str| {
        ApiError::new(
            "IncompleteSignatureException",
            format!("{why}: {authorization}"),
        )
    };
    let credential = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| incomplete("not a SigV4 Authorization header"))?
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))
        .ok_or_else(|| incomplete("no Credential"))?;
    match credential.split('/').collect::<Vec<_>>().as_slice() {
        [key, _date, region, "cloudtrail", "aws4_request"] if !key.is_empty() => {
            Ok(((*key).to_owned(), (*region).to_owned()))
        }
        _ => Err(incomplete(
            "the credential scope is not KEY/DATE/REGION/cloudtrail/aws4_request",
        )),
    }
}

/// Which part of event history a record belongs to: `None` for data and
/// network-activity events, which it does not hold.
fn category_of(record: &Map<String, Value>) -> Option<Category> {
    let text = |field: &str| record.get(field).and_then(Value::as_str);
    if text("eventCategory") == Some("Insight") || text("eventType") == Some("AwsCloudTrailInsight")
    {
        return Some(Category::Insight);
    }
    if matches!(text("eventCategory"), Some("Data" | "NetworkActivity")) {
        return None;
    }
    let not_management = match record.get("managementEvent") {
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("false"),
        _ => false,
    };
    (!not_management).then_some(Category::Management)
}

/// `Username` as event history shows it: `root` for the root user, the
/// session name for assumed roles and federated users (the last part of the
/// ARN, e.g. `arn:aws:sts::1:assumed-role/role/session`), else the
/// identity's `userName`.
fn username(record: &Value) -> Option<String> {
    let identity = record.get("userIdentity")?;
    let text = |field: &str| {
        identity
            .get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    match text("type") {
        Some("Root") => return Some("root".into()),
        Some("AssumedRole" | "FederatedUser") => {
            let from_arn = text("arn")
                .and_then(|arn| arn.rsplit_once('/'))
                .map(|(_, s)| s);
            let from_principal = text("principalId")
                .and_then(|p| p.split_once(':'))
                .map(|(_, s)| s);
            if let Some(session) = from_arn.or(from_principal) {
                return Some(session.to_owned());
            }
        }
        _ => {}
    }
    text("userName").map(str::to_owned)
}

/// `Resources` derived from a record (see the module comment: an
/// over-approximation of CloudTrail's own list).
fn resources(record: &Value) -> Vec<EventResource> {
    let mut found = Vec::new();
    for resource in record
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let resource_type = resource
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let arn = resource
            .get("ARN")
            .or_else(|| resource.get("arn"))
            .and_then(Value::as_str);
        if let Some(arn) = arn.filter(|a| !a.is_empty()) {
            found.push(EventResource {
                resource_type: resource_type.clone(),
                name: arn.to_owned(),
            });
            if let Some(name) = arn_name(arn) {
                found.push(EventResource {
                    resource_type,
                    name: name.to_owned(),
                });
            }
        }
    }
    for part in ["requestParameters", "responseElements"] {
        if let Some(value) = record.get(part) {
            named_strings(value, &mut found);
        }
    }
    let mut unique: Vec<EventResource> = Vec::with_capacity(found.len());
    for resource in found {
        if !unique.contains(&resource) {
            unique.push(resource);
        }
    }
    unique
}

/// Every string, at any depth, under a key that names a resource.
fn named_strings(value: &Value, found: &mut Vec<EventResource>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                if names_a_resource(key) {
                    let strings: Vec<&str> = match field {
                        Value::String(s) => vec![s.as_str()],
                        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                        _ => Vec::new(),
                    };
                    for s in strings.into_iter().filter(|s| !s.is_empty()) {
                        found.push(EventResource {
                            resource_type: None,
                            name: s.to_owned(),
                        });
                    }
                }
                named_strings(field, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| named_strings(item, found)),
        _ => {}
    }
}

fn names_a_resource(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key != "requestid"
        && ["id", "name", "arn", "identifier"]
            .iter()
            .any(|suffix| key.ends_with(suffix))
}

/// The name part of an ARN: after the last `/` of the resource, else after
/// its last `:` (`arn:aws:s3:::bucket` → `bucket`,
/// `arn:aws:iam::1:role/path/name` → `name`, `arn:aws:lambda:r:1:function:f` → `f`).
fn arn_name(arn: &str) -> Option<&str> {
    let resource = arn.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
    let name = match resource.rsplit_once('/') {
        Some((_, name)) => name,
        None => resource.rsplit_once(':').map_or(resource, |(_, name)| name),
    };
    (!name.is_empty() && name != arn).then_some(name)
}

/// An RFC 3339 time, or a zone-less `YYYY-MM-DD HH:MM:SS[.fraction]` read as UTC.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map(|t| t.and_utc())
        })
        .ok()
}

/// CloudTrail's own format: `2023-07-10T12:10:08Z`.
fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A timestamp as the JSON protocol encodes it: epoch seconds, a number
/// (whole when the time is).
fn epoch_seconds(time: DateTime<Utc>) -> Value {
    if time.timestamp_subsec_nanos() == 0 {
        json!(time.timestamp())
    } else {
        json!(time.timestamp_millis() as f64 / 1000.0)
    }
}

/// The SDK sends `DateTime`s as epoch seconds with up to nine decimals;
/// millisecond precision is all event history needs.
fn from_epoch_seconds(seconds: f64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64).unwrap_or_default()
}

/// An `eventID`-shaped id (a UUID's 8-4-4-4-12 hex) for a record without one,
/// stable for the same record and load position.
fn made_up_event_id(record: &Value, seq: u64) -> String {
    let digest = hex::encode(Sha256::digest(format!("{seq}/{record}")));
    format!(
        "{}-{}-{}-{}-{}",
        &digest[0..8],
        &digest[8..12],
        &digest[12..16],
        &digest[16..20],
        &digest[20..32]
    )
}

/// Moves a record in time by `shift`: its `eventTime`, and its
/// `userIdentity.sessionContext.attributes.creationDate` (a session must
/// not start after its call), written in CloudTrail's format. Times inside
/// request and response parameters are the service's data and stay. A
/// field that is not a time is left alone. CloudTrail's times are whole
/// seconds, and `EventTime` is served to the millisecond: shift by whole
/// seconds (or milliseconds).
pub fn shift_record(record: &mut Value, shift: TimeDelta) {
    if shift.is_zero() {
        return;
    }
    for pointer in [
        "/eventTime",
        "/userIdentity/sessionContext/attributes/creationDate",
    ] {
        if let Some(field) = record.pointer_mut(pointer)
            && let Some(time) = field.as_str().and_then(parse_time)
        {
            *field = format_time(time + shift).into();
        }
    }
}

/// A record's `eventTime` as the emulator reads it (see
/// [`LoadReport::rewrote_event_time`]).
pub fn event_time(record: &Value) -> Option<DateTime<Utc>> {
    record
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(parse_time)
}

/// The newest `eventTime` among records: tests shift by
/// `target - newest_event_time(..)` to put a 2023 dataset in the last 90 days.
pub fn newest_event_time<'a>(
    records: impl IntoIterator<Item = &'a Value>,
) -> Option<DateTime<Utc>> {
    records.into_iter().filter_map(event_time).max()
}

/// The corpus folder of real CloudTrail records.
pub fn corpus_cloudtrail_dir() -> PathBuf {
    super::corpus_dir().join("cloudtrail")
}

/// Every file below `cloudtrail/` of the corpus, sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    super::files_below(&corpus_cloudtrail_dir())
}

/// The CloudTrail records in one corpus file, whatever its format: a trail's
/// `{"Records": [...]}` (also gzipped, `.json.gz`), a bare array, one
/// record, NDJSON (`.jsonl`, `.log`), EventBridge "AWS API Call via
/// CloudTrail" envelopes (the record is `detail`), a LookupEvents output
/// (`Events[]`: each `CloudTrailEvent` string, or the record itself where a
/// document printed records there). A file that holds no records (an
/// `index.json` of provenance) yields none.
pub fn read_records(path: &Path) -> Vec<Value> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(bytes.as_slice()),
            &mut text,
        )
        .unwrap_or_else(|e| panic!("{} is not gzip: {e}", path.display()));
        text
    } else {
        bytes
    };
    let text =
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()));
    let documents: Vec<Value> = match serde_json::from_str(&text) {
        Ok(document) => vec![document],
        Err(_) => text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!(
                        "{} line {}: neither JSON nor NDJSON: {e}",
                        path.display(),
                        i + 1
                    )
                })
            })
            .collect(),
    };
    let mut records = Vec::new();
    for document in documents {
        collect_records(document, &mut records);
    }
    records
}

fn collect_records(document: Value, records: &mut Vec<Value>) {
    match document {
        Value::Array(items) => items
            .into_iter()
            .for_each(|item| collect_records(item, records)),
        Value::Object(mut fields) => {
            if let Some(Value::Array(items)) = fields.remove("Records") {
                records.extend(items);
            } else if let Some(Value::Array(items)) = fields.remove("Events") {
                for item in items {
                    match item.get("CloudTrailEvent").and_then(Value::as_str) {
                        Some(raw) => records.push(
                            serde_json::from_str(raw).expect("CloudTrailEvent is a JSON record"),
                        ),
                        None => records.push(item),
                    }
                }
            } else if fields.get("detail-type").and_then(Value::as_str)
                == Some("AWS API Call via CloudTrail")
                && let Some(detail) = fields.remove("detail")
            {
                records.push(detail);
            } else if ["eventVersion", "eventTime", "eventName", "eventSource"]
                .iter()
                .any(|field| fields.contains_key(*field))
            {
                records.push(Value::Object(fields));
            }
        }
        _ => {}
    }
}

/// The records of every file of a corpus folder (`cloudtrail/<folder>`).
pub fn corpus_folder_records(folder: &str) -> Vec<Value> {
    corpus_files()
        .iter()
        .filter(|path| path.starts_with(corpus_cloudtrail_dir().join(folder)))
        .flat_map(|path| read_records(path))
        .collect()
}

/// The invictus-ir attack-simulation trail (2,900 records of July 2023).
pub fn invictus_records() -> Vec<Value> {
    corpus_folder_records("invictus-aws-dataset")
}
