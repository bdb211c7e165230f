//! CloudTrail log objects in a trail's S3 bucket: the records LookupEvents
//! serves, without its rate limit (DESIGN.md "Attribution").
//!
//! A trail delivers gzip JSON objects (`{"Records":[…]}`) under
//! `[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`, an
//! organisation trail under `[prefix/]AWSLogs/<o-id>/<account>/CloudTrail/…`,
//! named `<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<unique>.json.gz`
//! (CloudTrail user guide, "Finding your CloudTrail log files" and "CloudTrail
//! log file name format"). The date folders and the name's time are the
//! *delivery* time, and an object holds records of any time before it: usually
//! up to about 15 minutes before, sometimes more. So the objects that can hold
//! a window's events are those delivered in [window start, window end +
//! delivery slack]. The pure half ([`day_listings`], [`delivery_time`],
//! [`decode_log_object`]) says which folders to list and reads an object's
//! bytes; [`TrailReader::read`] lists, fetches the objects the caller has not
//! read yet, and returns their write events ([`TrailReader::read_each`]
//! hands them over object by object, so a caller that stores them as they
//! come holds a few objects' events, not a whole window's).
//!
//! The unit of reading is the object, not the window: a caller records the
//! keys it read and never fetches them again, so every write event of an
//! object read is returned, including those outside the window (a later or
//! earlier window may need them; the caller's cache keeps them by event id).
//! [`TrailRead::events_in`] gives the window's own.
//!
//! Speed: records are split as raw text (`&RawValue`) and read for `readOnly`
//! and `eventName` without allocating; only write events become a
//! `serde_json::Value` and a [`TrailEvent`] (which strips secrets). Objects are
//! gunzipped and parsed on blocking threads, several in flight.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Read;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::event::{self, TrailEvent};
use super::matching::Window;
use crate::sources::{error_chain, service_error_text};

/// The IAM actions reading a trail bucket needs; `packaging/iam-policy-trail-read.json`
/// grants exactly these (and `kms:Decrypt` for SSE-KMS encrypted trails).
pub const IAM_ACTIONS: [&str; 2] = ["s3:GetObject", "s3:ListBucket"];

/// Where a trail delivers its log objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailLocation {
    pub bucket: String,
    /// The trail's S3 key prefix, without slashes at either end; empty for none.
    pub prefix: String,
    /// `o-…` for an organisation trail, whose objects are under
    /// `AWSLogs/<o-id>/<account>/`.
    pub organization_id: Option<String>,
}

impl TrailLocation {
    pub fn new(
        bucket: impl Into<String>,
        prefix: &str,
        organization_id: Option<&str>,
    ) -> TrailLocation {
        TrailLocation {
            bucket: bucket.into(),
            prefix: prefix.trim_matches('/').to_string(),
            organization_id: organization_id.map(str::to_string),
        }
    }

    /// `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/`.
    pub fn region_prefix(&self, account: &str, region: &str) -> String {
        region_prefix(
            &self.prefix,
            self.organization_id.as_deref(),
            account,
            region,
        )
    }
}

/// `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/`.
pub fn region_prefix(
    prefix: &str,
    organization_id: Option<&str>,
    account: &str,
    region: &str,
) -> String {
    let prefix = prefix.trim_matches('/');
    let mut out = String::with_capacity(prefix.len() + 64);
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push('/');
    }
    out.push_str("AWSLogs/");
    if let Some(org) = organization_id {
        out.push_str(org);
        out.push('/');
    }
    out.push_str(account);
    out.push_str("/CloudTrail/");
    out.push_str(region);
    out.push('/');
    out
}

/// The delivery times of the objects that can hold records of `window`: from
/// the window's first minute (names carry minutes: an object named for that
/// minute may have been delivered after the window began) to its end plus
/// the delivery slack.
pub fn delivery_range(window: Window, slack: TimeDelta) -> Window {
    let start = window
        .start
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(window.start);
    Window {
        start,
        end: window.end + slack,
    }
}

/// One day folder to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayListing {
    /// `…/CloudTrail/<region>/YYYY/MM/DD/`.
    pub prefix: String,
    /// On the range's first day: the name its first minute's objects sort
    /// after, so the listing skips the day's earlier objects (`StartAfter`).
    pub start_after: Option<String>,
}

/// The day folders that hold the objects delivered in `delivery_range(window,
/// slack)`, oldest first (pure).
pub fn day_listings(
    prefix: &str,
    organization_id: Option<&str>,
    account: &str,
    region: &str,
    window: Window,
    slack: TimeDelta,
) -> Vec<DayListing> {
    let range = delivery_range(window, slack);
    if range.end < range.start {
        return Vec::new();
    }
    let base = region_prefix(prefix, organization_id, account, region);
    let first = range.start.date_naive();
    let last = range.end.date_naive();
    let mut out = Vec::new();
    let mut day = Some(first);
    while let Some(d) = day.filter(|d| *d <= last) {
        let prefix = format!("{base}{:04}/{:02}/{:02}/", d.year(), d.month(), d.day());
        // A key is `<account>_CloudTrail_<region>_<stamp>_<unique>.json.gz`:
        // the bare stamp sorts just before the first key of its minute.
        let start_after = (d == first && range.start.num_seconds_from_midnight() > 0).then(|| {
            format!(
                "{prefix}{account}_CloudTrail_{region}_{}",
                range.start.format("%Y%m%dT%H%MZ")
            )
        });
        out.push(DayListing {
            prefix,
            start_after,
        });
        day = d.succ_opt();
    }
    out
}

/// The keys under `days` (a read's [`day_listings`]) lie in this range
/// (pure): a caller loads only these of the keys it has read, not a whole
/// bucket's history. `None` for no days.
pub fn key_range(days: &[DayListing]) -> Option<std::ops::Range<String>> {
    let first = days.first()?.prefix.clone();
    // Every key under `…/DD/` sorts before `…/DD0`: `0` follows `/`.
    let last = format!("{}0", days.last()?.prefix.trim_end_matches('/'));
    Some(first..last)
}

/// The delivery time in a log object's key
/// (`…/<account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<unique>.json.gz`);
/// `None` for a key that is not a CloudTrail log file name.
pub fn delivery_time(key: &str) -> Option<DateTime<Utc>> {
    let name = key.rsplit('/').next()?;
    let stem = name.strip_suffix(".json.gz")?;
    let (rest, _unique) = stem.rsplit_once('_')?;
    let (rest, stamp) = rest.rsplit_once('_')?;
    let (account, region) = rest.split_once("_CloudTrail_")?;
    if account.is_empty() || region.is_empty() {
        return None;
    }
    let b = stamp.as_bytes();
    if b.len() != 14 || b[8] != b'T' || b[13] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &stamp[range];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let date = NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(4..6)?, digits(6..8)?)?;
    let time = date.and_hms_opt(digits(9..11)?, digits(11..13)?, 0)?;
    Some(time.and_utc())
}

/// What one log object holds (see [`decode_log_object`]).
#[derive(Debug, Default)]
pub struct DecodedObject {
    /// Its write events, in file order.
    pub events: Vec<TrailEvent>,
    /// Records in it, of every kind.
    pub records: usize,
    /// Bytes of JSON after gunzip.
    pub json_bytes: usize,
    /// Records without an `eventName`, and write records that could not be
    /// read as an event (no `eventID`, no `eventTime`, a time that is not
    /// RFC 3339): skipped.
    pub unreadable: usize,
}

/// Why an object's bytes are not a CloudTrail log file.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a gzip stream: {0}")]
    Gzip(String),
    #[error("not a CloudTrail log file (a JSON object with \"Records\": [...]): {0}")]
    Json(#[from] serde_json::Error),
}

/// Gunzips a log object and returns its write events (pure).
pub fn decode_log_object(gzip: &[u8]) -> Result<DecodedObject, DecodeError> {
    let json = gunzip(gzip)?;
    parse_log_json(&json)
}

/// The decompressed bytes of a gzip object (every member of it).
pub fn gunzip(gzip: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if !gzip.starts_with(&[0x1f, 0x8b]) {
        return Err(DecodeError::Gzip(
            "it does not begin with the gzip magic bytes".to_string(),
        ));
    }
    // The trailer's ISIZE is the (last member's) size mod 2^32: a hint that
    // saves the output's regrowth, bounded so a forged one cannot reserve much.
    let hint = gzip
        .len()
        .checked_sub(4)
        .and_then(|at| gzip.get(at..))
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .unwrap_or(0)
        .min(gzip.len().saturating_mul(64))
        .min(1 << 30);
    let mut out = Vec::with_capacity(hint + 1);
    flate2::read::MultiGzDecoder::new(gzip)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Gzip(e.to_string()))?;
    Ok(out)
}

#[derive(Deserialize)]
struct LogFile<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<&'a RawValue>,
}

/// The fields that decide whether a record is kept; the rest is skipped.
#[derive(Deserialize)]
struct RecordHead<'a> {
    #[serde(rename = "eventName", borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "readOnly", borrow, default)]
    read_only: Option<&'a RawValue>,
}

/// A log file's records, split without building them.
#[derive(Debug, Default)]
pub struct SplitRecords<'a> {
    /// Records in it, of every kind.
    pub records: usize,
    /// The raw text of its write records, in file order.
    pub writes: Vec<&'a RawValue>,
    /// Records without an `eventName`: neither read nor write.
    pub nameless: usize,
}

/// Splits a trail log file's JSON into records and keeps the raw text of the
/// write ones (pure). Each record is read for `readOnly` and `eventName`
/// only; nothing else is allocated.
pub fn split_records(json: &[u8]) -> Result<SplitRecords<'_>, DecodeError> {
    let file: LogFile = serde_json::from_slice(json)?;
    let mut out = SplitRecords {
        records: file.records.len(),
        ..SplitRecords::default()
    };
    for raw in file.records {
        let head: RecordHead = serde_json::from_str(raw.get())?;
        // `readOnly` is a boolean; some exports write it as a string.
        let read_only = head.read_only.and_then(|v| match v.get() {
            "true" | "\"true\"" => Some(true),
            "false" | "\"false\"" => Some(false),
            _ => None,
        });
        match head.name {
            None => out.nameless += 1,
            Some(name) if event::is_write(read_only, &name) => out.writes.push(raw),
            Some(_) => {}
        }
    }
    Ok(out)
}

/// The write events of a trail log file's JSON (pure).
pub fn parse_log_json(json: &[u8]) -> Result<DecodedObject, DecodeError> {
    let split = split_records(json)?;
    let mut out = DecodedObject {
        events: Vec::with_capacity(split.writes.len()),
        records: split.records,
        json_bytes: json.len(),
        unreadable: split.nameless,
    };
    for raw in split.writes {
        let value = serde_json::from_str(raw.get())?;
        match TrailEvent::from_record(value) {
            Ok(event) => out.events.push(event),
            Err(_) => out.unreadable += 1,
        }
    }
    Ok(out)
}

/// How [`TrailReader`] reads.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// How long after an event CloudTrail may deliver it: objects delivered
    /// up to this long after the window's end are read (default 1 hour).
    pub delivery_slack: TimeDelta,
    /// Objects fetched and decoded at once (default 8).
    pub concurrency: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            delivery_slack: TimeDelta::hours(1),
            concurrency: 8,
        }
    }
}

/// One object read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRead {
    pub key: String,
    pub etag: Option<String>,
    /// Bytes fetched (gzip).
    pub size: u64,
    /// Bytes of JSON after gunzip.
    pub json_bytes: u64,
    /// Records in it, of every kind.
    pub records: usize,
    /// Write events taken from it.
    pub kept: usize,
    /// Records that could not be read as an event (see [`DecodedObject`]).
    pub unreadable: usize,
}

/// Where a failure happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailPlace {
    /// Listing a day folder: its objects are unknown for this read.
    Listing { prefix: String },
    /// Fetching or decoding one object: it is not in `TrailRead::objects`,
    /// so the caller reads it again next time.
    Object { key: String },
}

/// What kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailErrorKind {
    /// The credentials may not list the bucket or get the object.
    AccessDenied,
    /// The credentials were rejected (invalid, expired).
    Credentials,
    NoSuchBucket,
    /// The bucket is in another region than the client's.
    WrongRegion,
    /// Listed, then gone before it was fetched (a lifecycle rule).
    Gone,
    /// In an archive storage class (Glacier): it must be restored first.
    Archived,
    /// Not a gzip stream, or a damaged one.
    NotGzip,
    /// Gunzipped, but not `{"Records":[…]}` JSON.
    NotTrailJson,
    /// Throttled, timed out, unreachable, broken off: worth another try.
    Transient,
    Other,
}

/// A listing or an object that could not be read. The message names the
/// bucket and the key (or folder) and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct TrailError {
    pub bucket: String,
    pub place: TrailPlace,
    pub kind: TrailErrorKind,
    /// What S3 or the decoder said.
    pub detail: String,
}

impl TrailError {
    /// The key of the object that failed, when it was an object.
    pub fn key(&self) -> Option<&str> {
        match &self.place {
            TrailPlace::Object { key } => Some(key),
            TrailPlace::Listing { .. } => None,
        }
    }

    fn message(&self) -> String {
        let bucket = &self.bucket;
        let (verb, path) = match &self.place {
            TrailPlace::Listing { prefix } => ("cannot list", prefix),
            TrailPlace::Object { key } => ("cannot read", key),
        };
        let advice = match (self.kind, &self.place) {
            (TrailErrorKind::AccessDenied, TrailPlace::Listing { .. }) => format!(
                "the credentials need s3:ListBucket on arn:aws:s3:::{bucket} (packaging/iam-policy-trail-read.json)"
            ),
            (TrailErrorKind::AccessDenied, TrailPlace::Object { .. }) => format!(
                "the credentials need s3:GetObject on arn:aws:s3:::{bucket}/…/AWSLogs/*, and kms:Decrypt on the trail's KMS key when its log files are SSE-KMS encrypted (packaging/iam-policy-trail-read.json)"
            ),
            (TrailErrorKind::Credentials, _) => {
                "the credentials were rejected; check the profile, role or credentials driftd runs with".to_string()
            }
            (TrailErrorKind::NoSuchBucket, _) => format!(
                "there is no bucket {bucket}; check the trail's bucket name (`aws cloudtrail describe-trails` shows S3BucketName)"
            ),
            (TrailErrorKind::WrongRegion, _) => {
                "the bucket is in another region; set the trail bucket's region".to_string()
            }
            (TrailErrorKind::Gone, _) => {
                "it was deleted after it was listed (a lifecycle rule on the bucket?); nothing to do unless it keeps happening".to_string()
            }
            (TrailErrorKind::Archived, _) => {
                "it is in an archive storage class; restore it to attribute changes this old, or accept that they stay unattributed".to_string()
            }
            (TrailErrorKind::NotGzip | TrailErrorKind::NotTrailJson, _) => {
                "CloudTrail writes gzip JSON with a Records array; it will be tried again at the next read, and if it stays unreadable, find out what else writes under the trail's prefix".to_string()
            }
            (TrailErrorKind::Transient, _) => {
                "it will be tried again at the next read".to_string()
            }
            (TrailErrorKind::Other, _) => "it will be tried again at the next read; if it keeps failing, check the bucket and the credentials".to_string(),
        };
        format!("{verb} s3://{bucket}/{path}: {}; {advice}", self.detail)
    }
}

/// What one read found.
#[derive(Debug, Default)]
pub struct TrailRead {
    /// Every write event in the objects read, once each (by event id), in
    /// time order; events outside the window included (see the module doc).
    pub events: Vec<TrailEvent>,
    /// The objects read, by key: record them, and pass them as `already_read`
    /// next time.
    pub objects: Vec<ObjectRead>,
    /// Listings and objects that failed. A failed object is not in `objects`,
    /// so it is read again next time.
    pub errors: Vec<TrailError>,
    /// Objects in the delivery range that `already_read` held: not fetched.
    pub already_read: usize,
    /// Keys in the day folders that are not CloudTrail log file names: ignored.
    pub foreign_keys: usize,
    /// Events found in more than one object (delivery is at least once): kept once.
    pub duplicates: usize,
}

impl TrailRead {
    /// Nothing failed: every object delivered in the range was read, now or
    /// before (events delivered later than the slack may still come).
    pub fn complete(&self) -> bool {
        self.errors.is_empty()
    }

    /// The events of `window`.
    pub fn events_in(&self, window: Window) -> impl Iterator<Item = &TrailEvent> {
        self.events.iter().filter(move |e| window.contains(e.time))
    }

    /// Bytes of JSON processed (after gunzip).
    pub fn json_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.json_bytes).sum()
    }
}

/// One object read and its write events, as [`TrailReader::read_each`]
/// hands them over.
#[derive(Debug)]
pub struct ObjectEvents {
    pub object: ObjectRead,
    pub events: Vec<TrailEvent>,
}

/// A listed object to fetch.
#[derive(Debug, Clone)]
struct Listed {
    key: String,
    etag: Option<String>,
}

/// Reads a trail's log objects from its bucket.
#[derive(Debug, Clone)]
pub struct TrailReader {
    client: aws_sdk_s3::Client,
    location: TrailLocation,
    options: ReadOptions,
}

impl TrailReader {
    /// `client` is built by the caller (endpoint, path style, credentials:
    /// see `aws::context::RegionContext::s3`).
    pub fn new(
        client: aws_sdk_s3::Client,
        location: TrailLocation,
        options: ReadOptions,
    ) -> TrailReader {
        TrailReader {
            client,
            location,
            options,
        }
    }

    pub fn location(&self) -> &TrailLocation {
        &self.location
    }

    /// Reads the objects of `account` in `region` that can hold events of
    /// `window` and whose keys are not in `already_read`. Never fails as a
    /// whole: what could not be read is in `errors`.
    pub async fn read(
        &self,
        account: &str,
        region: &str,
        window: Window,
        already_read: &HashSet<String>,
    ) -> TrailRead {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(self.options.concurrency.max(1));
        let collect = async move {
            let mut events = Vec::new();
            while let Some(object) = receiver.recv().await {
                let ObjectEvents { events: some, .. } = object;
                events.extend(some);
            }
            events
        };
        let (mut read, events) = tokio::join!(
            self.read_each(account, region, window, already_read, sender),
            collect
        );
        read.events = events;
        finish(&mut read);
        read
    }

    /// [`TrailReader::read`], handing each object's write events to `each`
    /// as soon as the object is read instead of keeping them all: at most
    /// `concurrency` objects are held, plus the channel's. The objects'
    /// events are not deduplicated across objects (the receiver keeps events
    /// by id), and the result holds no events; its `objects` are those handed
    /// over. Stops reading when the receiver is dropped.
    pub async fn read_each(
        &self,
        account: &str,
        region: &str,
        window: Window,
        already_read: &HashSet<String>,
        each: tokio::sync::mpsc::Sender<ObjectEvents>,
    ) -> TrailRead {
        let slack = self.options.delivery_slack;
        let range = delivery_range(window, slack);
        let mut read = TrailRead::default();
        let mut wanted = Vec::new();
        let days = day_listings(
            &self.location.prefix,
            self.location.organization_id.as_deref(),
            account,
            region,
            window,
            slack,
        );
        for day in &days {
            if let Err(error) = self.list_day(day, range, &mut wanted, &mut read).await {
                read.errors.push(error);
            }
        }
        wanted.retain(|listed| {
            let known = already_read.contains(&listed.key);
            read.already_read += usize::from(known);
            !known
        });
        self.fetch_all(wanted, &mut read, &each).await;
        finish(&mut read);
        read
    }

    /// The range of the keys a read of `window` can fetch ([`key_range`]).
    pub fn key_range(
        &self,
        account: &str,
        region: &str,
        window: Window,
    ) -> Option<std::ops::Range<String>> {
        key_range(&day_listings(
            &self.location.prefix,
            self.location.organization_id.as_deref(),
            account,
            region,
            window,
            self.options.delivery_slack,
        ))
    }

    /// Lists one day folder's objects delivered in `range` into `out`.
    async fn list_day(
        &self,
        day: &DayListing,
        range: Window,
        out: &mut Vec<Listed>,
        read: &mut TrailRead,
    ) -> Result<(), TrailError> {
        let bucket = &self.location.bucket;
        let mut token: Option<String> = None;
        loop {
            let first = token.is_none();
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&day.prefix)
                .set_start_after(if first { day.start_after.clone() } else { None })
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    classify(
                        bucket,
                        TrailPlace::Listing {
                            prefix: day.prefix.clone(),
                        },
                        e,
                    )
                })?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let Some(delivered) = delivery_time(key) else {
                    read.foreign_keys += 1;
                    continue;
                };
                // A day folder's log files share `<account>_CloudTrail_<region>_`,
                // so they sort by delivery time: nothing after this is wanted.
                if delivered > range.end {
                    return Ok(());
                }
                if delivered < range.start {
                    continue;
                }
                out.push(Listed {
                    key: key.to_string(),
                    etag: object.e_tag().map(str::to_string),
                });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(()),
            }
        }
    }

    /// Fetches and decodes `wanted`, `concurrency` at a time, and hands each
    /// object's events to `each`.
    async fn fetch_all(
        &self,
        wanted: Vec<Listed>,
        read: &mut TrailRead,
        each: &tokio::sync::mpsc::Sender<ObjectEvents>,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        let mut keys = HashMap::new();
        let mut queue = wanted.into_iter();
        let limit = self.options.concurrency.max(1);
        loop {
            while tasks.len() < limit {
                let Some(listed) = queue.next() else { break };
                let key = listed.key.clone();
                let handle = tasks.spawn(fetch_object(
                    self.client.clone(),
                    self.location.bucket.clone(),
                    listed,
                ));
                keys.insert(handle.id(), key);
            }
            let Some(joined) = tasks.join_next_with_id().await else {
                break;
            };
            match joined {
                Ok((_, Ok((object, events)))) => {
                    let handed = object.clone();
                    // Waits while the receiver is behind: no more objects
                    // are fetched meanwhile, which bounds what is held.
                    if each.send(ObjectEvents { object, events }).await.is_err() {
                        tasks.abort_all();
                        return;
                    }
                    read.objects.push(handed);
                }
                Ok((_, Err(error))) => read.errors.push(error),
                Err(failure) => read.errors.push(TrailError {
                    bucket: self.location.bucket.clone(),
                    place: TrailPlace::Object {
                        key: keys.remove(&failure.id()).unwrap_or_default(),
                    },
                    kind: TrailErrorKind::Other,
                    detail: format!("the task reading it failed: {failure}"),
                }),
            }
        }
    }
}

/// GetObject, then gunzip and parse on a blocking thread.
async fn fetch_object(
    client: aws_sdk_s3::Client,
    bucket: String,
    listed: Listed,
) -> Result<(ObjectRead, Vec<TrailEvent>), TrailError> {
    let place = || TrailPlace::Object {
        key: listed.key.clone(),
    };
    let failed = |kind, detail: String| TrailError {
        bucket: bucket.clone(),
        place: place(),
        kind,
        detail,
    };
    let output = client
        .get_object()
        .bucket(&bucket)
        .key(&listed.key)
        .send()
        .await
        .map_err(|e| classify(&bucket, place(), e))?;
    let etag = output.e_tag().map(str::to_string).or(listed.etag.clone());
    let body = output
        .body
        .collect()
        .await
        .map_err(|e| {
            failed(
                TrailErrorKind::Transient,
                format!("the body broke off: {}", error_chain(&e)),
            )
        })?
        .into_bytes();
    let size = body.len() as u64;
    let decoded = tokio::task::spawn_blocking(move || decode_log_object(&body))
        .await
        .map_err(|e| failed(TrailErrorKind::Other, format!("decoding failed: {e}")))?
        .map_err(|e| {
            let kind = match e {
                DecodeError::Gzip(_) => TrailErrorKind::NotGzip,
                DecodeError::Json(_) => TrailErrorKind::NotTrailJson,
            };
            failed(kind, e.to_string())
        })?;
    let object = ObjectRead {
        key: listed.key,
        etag,
        size,
        json_bytes: decoded.json_bytes as u64,
        records: decoded.records,
        kept: decoded.events.len(),
        unreadable: decoded.unreadable,
    };
    Ok((object, decoded.events))
}

/// Orders the read and keeps each event once.
fn finish(read: &mut TrailRead) {
    read.objects.sort_by(|a, b| a.key.cmp(&b.key));
    read.errors.sort_by(|a, b| {
        let place = |e: &TrailError| match &e.place {
            TrailPlace::Listing { prefix } => (0, prefix.clone()),
            TrailPlace::Object { key } => (1, key.clone()),
        };
        place(a).cmp(&place(b))
    });
    read.events
        .sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
    let before = read.events.len();
    let mut seen = HashSet::with_capacity(before);
    read.events.retain(|e| seen.insert(e.event_id.clone()));
    read.duplicates = before - read.events.len();
}

/// An S3 error as a [`TrailError`].
fn classify<E>(
    bucket: &str,
    place: TrailPlace,
    error: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> TrailError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, detail) = match &error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or_default();
            let message = context.err().message().unwrap_or_default();
            let said = service_error_text(status, code, message);
            let kind = match (code, status) {
                ("NoSuchBucket", _) => TrailErrorKind::NoSuchBucket,
                ("NoSuchKey", _) => TrailErrorKind::Gone,
                ("InvalidObjectState", _) => TrailErrorKind::Archived,
                (
                    "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "InvalidToken"
                    | "TokenRefreshRequired",
                    _,
                ) => TrailErrorKind::Credentials,
                ("AccessDenied" | "AllAccessDisabled" | "AccountProblem", _) | (_, 401 | 403) => {
                    TrailErrorKind::AccessDenied
                }
                ("PermanentRedirect" | "AuthorizationHeaderMalformed", _) | (_, 301) => {
                    TrailErrorKind::WrongRegion
                }
                ("SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout", _)
                | (_, 408 | 429 | 500..) => TrailErrorKind::Transient,
                (_, 404) => TrailErrorKind::Gone,
                _ => TrailErrorKind::Other,
            };
            (kind, said)
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => (
            TrailErrorKind::Transient,
            DisplayErrorContext(&error).to_string(),
        ),
        _ => (
            TrailErrorKind::Other,
            DisplayErrorContext(&error).to_string(),
        ),
    };
    TrailError {
        bucket: bucket.to_string(),
        place,
        kind,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::io::Write;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn keys_name_their_delivery_minute() {
        assert_eq!(
            delivery_time(
                "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
            ),
            Some(at(2015, 8, 1, 2, 10, 0))
        );
        assert_eq!(
            delivery_time(
                "218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json.gz"
            ),
            Some(at(2023, 7, 10, 11, 45, 0))
        );
        for not_a_log in [
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2023/07/10/1_CloudTrail-Digest_us-east-1_t_20230710T1145Z.json.gz",
            "AWSLogs/1/CloudTrail/us-east-1/2023/07/10/1_CloudTrail_us-east-1_20230710T1145Z_x.json",
            "1_CloudTrail_us-east-1_20230710T2545Z_x.json.gz",
            "1_CloudTrail_us-east-1_2023071T1145Z_x.json.gz",
            "_CloudTrail_us-east-1_20230710T1145Z_x.json.gz",
            "notes.txt",
        ] {
            assert_eq!(delivery_time(not_a_log), None, "{not_a_log}");
        }
    }

    #[test]
    fn a_window_lists_its_days_plus_the_delivery_slack() {
        let window = Window::new(at(2023, 7, 10, 11, 45, 30), at(2023, 7, 10, 23, 30, 0));
        let days = day_listings(
            "",
            None,
            "218007301253",
            "us-east-1",
            window,
            TimeDelta::hours(1),
        );
        assert_eq!(
            days,
            [
                DayListing {
                    prefix: "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/".into(),
                    start_after: Some(
                        "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1145Z"
                            .into()
                    ),
                },
                DayListing {
                    prefix: "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/11/".into(),
                    start_after: None,
                },
            ]
        );
        // The object named for the window's first minute sorts after
        // start_after; the minute before does not.
        let first = &days[0];
        let after = first.start_after.as_deref().unwrap();
        assert!(
            format!(
                "{}218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json.gz",
                first.prefix
            )
            .as_str()
                > after
        );
        assert!(
            format!(
                "{}218007301253_CloudTrail_us-east-1_20230710T1144Z_zzzzzzzzzzzzzzzz.json.gz",
                first.prefix
            )
            .as_str()
                < after
        );

        let short = Window::new(at(2023, 7, 10, 11, 0, 0), at(2023, 7, 10, 12, 0, 0));
        let org = day_listings(
            "/trails/",
            Some("o-exampleorgid"),
            "111111111111",
            "eu-west-1",
            short,
            TimeDelta::hours(1),
        );
        assert_eq!(org.len(), 1);
        assert_eq!(
            org[0].prefix,
            "trails/AWSLogs/o-exampleorgid/111111111111/CloudTrail/eu-west-1/2023/07/10/"
        );
        // Across a month end, and a window that ends before it starts.
        let month_end = Window::new(at(2023, 6, 30, 0, 0, 0), at(2023, 6, 30, 23, 50, 0));
        let days: Vec<_> = day_listings("p", None, "1", "r", month_end, TimeDelta::minutes(15))
            .into_iter()
            .map(|d| (d.prefix, d.start_after.is_some()))
            .collect();
        assert_eq!(
            days,
            [
                ("p/AWSLogs/1/CloudTrail/r/2023/06/30/".to_string(), false),
                ("p/AWSLogs/1/CloudTrail/r/2023/07/01/".to_string(), false)
            ]
        );
        let backwards = Window::new(at(2023, 7, 10, 12, 0, 0), at(2023, 7, 10, 10, 0, 0));
        assert!(day_listings("", None, "1", "r", backwards, TimeDelta::zero()).is_empty());
    }

    #[test]
    fn the_key_range_holds_exactly_the_day_folders_read() {
        let window = Window::new(at(2023, 7, 10, 23, 30, 0), at(2023, 7, 10, 23, 40, 0));
        let days = day_listings("t", None, "1", "r", window, TimeDelta::hours(1));
        let range = key_range(&days).unwrap();
        let key =
            |day: &str| format!("t/AWSLogs/1/CloudTrail/r/2023/07/{day}/1_CloudTrail_r_x.json.gz");
        for inside in [key("10"), key("11")] {
            assert!(range.contains(&inside), "{inside}");
        }
        for outside in [
            key("09"),
            key("12"),
            "t/AWSLogs/1/CloudTrail/r/2023/07/1".to_string(),
            "t/AWSLogs/1/CloudTrail/r/2023/07/110".to_string(),
            "t/AWSLogs/1/CloudTrail/s/2023/07/10/1_CloudTrail_s_x.json.gz".to_string(),
            "t/AWSLogs/2/CloudTrail/r/2023/07/10/2_CloudTrail_r_x.json.gz".to_string(),
        ] {
            assert!(!range.contains(&outside), "{outside}");
        }
        assert_eq!(key_range(&[]), None);
    }

    #[test]
    fn the_delivery_range_starts_at_the_window_minute() {
        let window = Window::new(at(2023, 7, 10, 11, 45, 59), at(2023, 7, 10, 12, 0, 0));
        let range = delivery_range(window, TimeDelta::minutes(30));
        assert_eq!(range.start, at(2023, 7, 10, 11, 45, 0));
        assert_eq!(range.end, at(2023, 7, 10, 12, 30, 0));
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn only_write_events_are_kept_and_secrets_stripped() {
        let json = br#"{"Records":[
            {"eventVersion":"1.08","eventTime":"2023-07-10T11:42:36Z","eventSource":"ec2.amazonaws.com",
             "eventName":"DescribeInstances","readOnly":true,"eventID":"r1"},
            {"eventTime":"2023-07-10T11:43:00Z","eventSource":"ec2.amazonaws.com",
             "eventName":"RunInstances","readOnly":false,"eventID":"w1",
             "requestParameters":{"userData":"IyEvYmluL3NoCg==","readOnly":true}},
            {"eventTime":"2017-12-11T15:04:51Z","eventSource":"sts.amazonaws.com",
             "eventName":"AssumeRole","eventID":"w2"},
            {"eventTime":"2017-12-11T15:04:51Z","eventSource":"ec2.amazonaws.com",
             "eventName":"DescribeVpcs","eventID":"r2"},
            {"eventTime":"2023-07-10T11:44:00Z","eventSource":"s3.amazonaws.com",
             "eventName":"PutBucketPolicy","readOnly":"false","eventID":"w3"},
            {"eventTime":"2023-07-10T11:44:00Z","eventSource":"s3.amazonaws.com",
             "eventName":"DeleteBucket","readOnly":false},
            {"eventTime":"2023-07-10T11:44:00Z","eventSource":"s3.amazonaws.com","readOnly":false,"eventID":"x"}
        ]}"#;
        let decoded = decode_log_object(&gzip(json)).unwrap();
        let ids: Vec<_> = decoded.events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["w1", "w2", "w3"]);
        assert_eq!(decoded.records, 7);
        assert_eq!(decoded.json_bytes, json.len());
        // DeleteBucket without an eventID, and a record without eventName.
        assert_eq!(decoded.unreadable, 2);
        assert!(!decoded.events[0].raw.to_string().contains("IyEvYmlu"));
    }

    #[test]
    fn broken_objects_say_what_they_are() {
        let json = br#"{"Records":[]}"#;
        assert_eq!(decode_log_object(&gzip(json)).unwrap().records, 0);
        assert!(matches!(decode_log_object(json), Err(DecodeError::Gzip(_))));
        let whole = gzip(br#"{"Records":[{"eventName":"RunInstances"}]}"#);
        for cut in [whole.len() - 6, whole.len() / 2] {
            assert!(
                matches!(decode_log_object(&whole[..cut]), Err(DecodeError::Gzip(_))),
                "cut at {cut}"
            );
        }
        let mut flipped = whole.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xff;
        assert!(decode_log_object(&flipped).is_err());
        for not_trail in [
            &br#"{"records":[]}"#[..],
            &b"[1,2]"[..],
            &br#"{"Records":[1"#[..],
        ] {
            assert!(
                matches!(
                    decode_log_object(&gzip(not_trail)),
                    Err(DecodeError::Json(_))
                ),
                "{}",
                String::from_utf8_lossy(not_trail)
            );
        }
    }

    #[test]
    fn errors_name_the_bucket_the_key_and_what_to_do() {
        let denied = TrailError {
            bucket: "org-trail".into(),
            place: TrailPlace::Listing {
                prefix: "AWSLogs/o-abc/1/CloudTrail/us-east-1/2023/07/10/".into(),
            },
            kind: TrailErrorKind::AccessDenied,
            detail: "AccessDenied: Access Denied, http 403".into(),
        };
        assert_eq!(
            denied.to_string(),
            "cannot list s3://org-trail/AWSLogs/o-abc/1/CloudTrail/us-east-1/2023/07/10/: AccessDenied: Access Denied, http 403; the credentials need s3:ListBucket on arn:aws:s3:::org-trail (packaging/iam-policy-trail-read.json)"
        );
        let denied = TrailError {
            place: TrailPlace::Object {
                key: "k.json.gz".into(),
            },
            ..denied
        };
        assert!(
            denied
                .to_string()
                .starts_with("cannot read s3://org-trail/k.json.gz: ")
        );
        assert!(denied.to_string().contains("s3:GetObject"));
        assert_eq!(denied.key(), Some("k.json.gz"));
    }

    #[test]
    fn the_packaged_policy_grants_exactly_the_read_actions() {
        let policy: serde_json::Value =
            serde_json::from_str(include_str!("../../packaging/iam-policy-trail-read.json"))
                .unwrap();
        let mut s3_actions: Vec<&str> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap())
            .filter_map(|a| a.as_str())
            .filter(|a| a.starts_with("s3:"))
            .collect();
        s3_actions.sort();
        assert_eq!(s3_actions, IAM_ACTIONS);
    }
}
