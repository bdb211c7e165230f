//! CloudTrail log objects read from a trail bucket in moto: the corpus's real
//! trail log files (invictus-aws-dataset, named by CloudTrail; trailscraper's
//! real `.json.gz`) uploaded under the keys CloudTrail gives them, in the
//! account layout and in an organisation trail's.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use driftd::attribution::matching::Window;
use driftd::attribution::trail_s3::{
    ReadOptions, TrailErrorKind, TrailLocation, TrailRead, TrailReader,
};
use serde_json::Value;

use crate::support::corpus_dir;
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::moto::MotoServer;

/// The account the invictus files are named for.
const ACCOUNT: &str = "218007301253";
const ORG: &str = "o-a1b2c3d4e5";

/// A real trail log file from the corpus: its name as CloudTrail gave it
/// (`.json.gz`) and its JSON.
struct LogFile {
    name: String,
    json: Vec<u8>,
}

impl LogFile {
    /// `YYYYMMDDTHHmmZ`, read from the name independently of the reader.
    fn stamp(&self) -> &str {
        self.name.split('_').nth(3).unwrap()
    }

    fn gzip(&self) -> Vec<u8> {
        gzip(&self.json)
    }
}

fn invictus() -> Vec<LogFile> {
    let dir = corpus_dir().join("cloudtrail/invictus-aws-dataset");
    let mut files: Vec<LogFile> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| LogFile {
            name: format!("{}.gz", path.file_name().unwrap().to_str().unwrap()),
            json: std::fs::read(&path).unwrap(),
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(files.len(), 55, "the invictus corpus changed");
    files
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
    out
}

/// An independent count: (records, write events, write events whose time is
/// in `window`), with a full `serde_json::Value` parse and the documented
/// rule (`readOnly` false; without `readOnly`, a name that is not a read).
fn count(json: &[u8], window: Option<Window>) -> (usize, usize, usize) {
    let file: Value = serde_json::from_slice(json).unwrap();
    let records = file["Records"].as_array().unwrap();
    let writes: Vec<&Value> = records
        .iter()
        .filter(|r| match r.get("readOnly") {
            Some(Value::Bool(read_only)) => !read_only,
            _ => {
                let name = r["eventName"].as_str().unwrap();
                ![
                    "Get", "Describe", "List", "Head", "Lookup", "Search", "Check", "Select",
                ]
                .iter()
                .any(|p| name.starts_with(p))
            }
        })
        .collect();
    let in_window = writes
        .iter()
        .filter(|r| {
            let time: DateTime<Utc> = r["eventTime"].as_str().unwrap().parse().unwrap();
            window.is_some_and(|w| w.start <= time && time <= w.end)
        })
        .count();
    (records.len(), writes.len(), in_window)
}

fn at(h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 7, 10, h, mi, 0).unwrap()
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

/// The day folder of the invictus files.
fn day_folder(location: &TrailLocation) -> String {
    format!(
        "{}2023/07/10/",
        location.region_prefix(ACCOUNT, "us-east-1")
    )
}

/// A bucket holding every invictus file at its CloudTrail key under `location`.
async fn trail_bucket(moto: &MotoServer, location: &TrailLocation, files: &[LogFile]) {
    let s3 = moto.s3_client().await;
    s3.create_bucket()
        .bucket(&location.bucket)
        .send()
        .await
        .unwrap();
    let folder = day_folder(location);
    for file in files {
        put(
            &s3,
            &location.bucket,
            &format!("{folder}{}", file.name),
            file.gzip(),
        )
        .await;
    }
}

fn reader(client: aws_sdk_s3::Client, location: &TrailLocation, slack: TimeDelta) -> TrailReader {
    TrailReader::new(
        client,
        location.clone(),
        ReadOptions {
            delivery_slack: slack,
            ..ReadOptions::default()
        },
    )
}

fn keys(read: &TrailRead) -> HashSet<String> {
    read.objects.iter().map(|o| o.key.clone()).collect()
}

/// Each object read holds exactly the records and write events the
/// independent count finds in its file, and the events are those files'
/// write events, once each.
fn assert_counts_match(read: &TrailRead, files: &[LogFile], folder: &str) {
    let by_key: BTreeMap<String, &LogFile> = files
        .iter()
        .map(|f| (format!("{folder}{}", f.name), f))
        .collect();
    let mut writes = 0;
    for object in &read.objects {
        let file = by_key[&object.key];
        let (records, file_writes, _) = count(&file.json, None);
        assert_eq!(object.records, records, "{}", object.key);
        assert_eq!(object.kept, file_writes, "{}", object.key);
        assert_eq!(object.json_bytes, file.json.len() as u64, "{}", object.key);
        assert_eq!(object.unreadable, 0, "{}", object.key);
        assert!(object.etag.as_deref().is_some_and(|e| !e.is_empty()));
        writes += file_writes;
    }
    assert_eq!(read.events.len(), writes);
    assert_eq!(read.duplicates, 0);
    assert!(read.events.iter().all(|e| e.is_write()));
    let ids: HashSet<&str> = read.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), read.events.len());
}

/// moto serving 5 keys a page, so every listing here pages (real S3: 1,000).
fn moto() -> MotoServer {
    MotoServer::start_with_env(&[("MOTO_S3_DEFAULT_MAX_KEYS", "5")])
}

/// moto with `location`'s bucket holding every invictus file.
async fn corpus_trail(location: &TrailLocation) -> (MotoServer, Vec<LogFile>) {
    let moto = moto();
    let files = invictus();
    trail_bucket(&moto, location, &files).await;
    (moto, files)
}

/// An S3 client that goes through `proxy` to moto.
async fn client_through(moto: &MotoServer, proxy: &FaultProxy) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config().await)
            .endpoint_url(proxy.endpoint_url())
            .force_path_style(true)
            .build(),
    )
}

#[tokio::test]
async fn a_window_fetches_only_the_objects_delivered_in_it_plus_the_slack() {
    let location = TrailLocation::new("audit-trail", "", None);
    let (moto, files) = corpus_trail(&location).await;
    let s3 = moto.s3_client().await;
    // Beside them: the same account's digest folder, a file that is not a
    // log file, and yesterday's folder (none of which may be fetched).
    let folder = day_folder(&location);
    put(
        &s3,
        "audit-trail",
        &format!("{folder}{ACCOUNT}_CloudTrail_us-east-1_20230710T1205Z_notes.txt"),
        b"notes".to_vec(),
    )
    .await;
    put(
        &s3,
        "audit-trail",
        &format!(
            "AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2023/07/10/{ACCOUNT}_CloudTrail-Digest_us-east-1_audit-trail_us-east-1_20230710T1200Z.json.gz"
        ),
        files[0].gzip(),
    )
    .await;
    let yesterday = format!(
        "{}2023/07/09/{ACCOUNT}_CloudTrail_us-east-1_20230709T2355Z_yesterdayxxxxxxx.json.gz",
        location.region_prefix(ACCOUNT, "us-east-1")
    );
    put(&s3, "audit-trail", &yesterday, files[3].gzip()).await;

    let window = Window::new(at(12, 0), at(12, 10));
    let slack = TimeDelta::minutes(15);
    // Through the proxy, which logs every request.
    let proxy = FaultProxy::start(&moto.endpoint_url());
    let client = client_through(&moto, &proxy).await;
    let read = reader(client, &location, slack)
        .read(ACCOUNT, "us-east-1", window, &HashSet::new())
        .await;
    assert!(read.complete(), "{:?}", read.errors);

    // Exactly the objects named 12:00 to 12:25, by the independent reading of
    // their names.
    let expected: HashSet<String> = files
        .iter()
        .filter(|f| ("20230710T1200Z"..="20230710T1225Z").contains(&f.stamp()))
        .map(|f| format!("{folder}{}", f.name))
        .collect();
    assert_eq!(expected.len(), 36);
    assert_eq!(keys(&read), expected);
    let fetched: HashSet<String> = proxy
        .calls()
        .into_iter()
        .filter_map(|call| {
            // The SDK sends GetObject as `GET /bucket/key?x-id=GetObject`.
            let path = call.operation.strip_prefix("GET /audit-trail/")?;
            path.strip_suffix("?x-id").map(str::to_string)
        })
        .collect();
    assert_eq!(fetched, expected, "GetObject only for the objects in range");
    // Listing: one day folder, from 12:00 (StartAfter), stopped at the first
    // key past 12:25. moto pages by 5: the 37 keys from 12:00 to 12:25 (36
    // log files, the notes) and the first one past take 8 pages.
    let listings = proxy
        .calls()
        .iter()
        .filter(|call| call.operation.starts_with("GET /audit-trail?"))
        .count();
    assert_eq!(listings, 8);
    assert_eq!(read.foreign_keys, 1, "the notes");
    assert_counts_match(&read, &files, &folder);

    // Every write event of the window in the whole corpus was delivered
    // within the slack, so the read has them all.
    let in_window: usize = files.iter().map(|f| count(&f.json, Some(window)).2).sum();
    assert!(in_window > 100, "{in_window}");
    assert_eq!(read.events_in(window).count(), in_window);
    // Events are ordered by time, and the secrets stripping ran on them.
    assert!(read.events.windows(2).all(|w| w[0].time <= w[1].time));
}

#[tokio::test]
async fn a_second_read_with_the_keys_read_fetches_only_what_was_delivered_since() {
    let location = TrailLocation::new("audit-trail", "cloudtrail/", None);
    let (moto, files) = corpus_trail(&location).await;
    let reader = reader(moto.s3_client().await, &location, TimeDelta::hours(1));
    let window = Window::new(at(11, 40), at(12, 30));

    let first = reader
        .read(ACCOUNT, "us-east-1", window, &HashSet::new())
        .await;
    assert!(first.complete(), "{:?}", first.errors);
    assert_eq!(first.objects.len(), 55, "the default slack reaches 13:30");
    let total_writes: usize = files.iter().map(|f| count(&f.json, None).1).sum();
    assert_eq!(first.events.len(), total_writes);
    assert_eq!(total_writes, 574);

    let mut known = keys(&first);
    let second = reader.read(ACCOUNT, "us-east-1", window, &known).await;
    assert!(second.complete(), "{:?}", second.errors);
    assert!(second.objects.is_empty() && second.events.is_empty());
    assert_eq!(second.already_read, 55);

    // A late delivery (13:05, its events from 12:0x) is the only new object.
    let late_key = format!(
        "{}{ACCOUNT}_CloudTrail_us-east-1_20230710T1305Z_lateDelivery0001.json.gz",
        day_folder(&location)
    );
    let late = &files[14]; // 1210Z_6CICdbJQM3beT7n3: 46 write events
    put(
        &moto.s3_client().await,
        "audit-trail",
        &late_key,
        late.gzip(),
    )
    .await;
    let third = reader.read(ACCOUNT, "us-east-1", window, &known).await;
    assert!(third.complete(), "{:?}", third.errors);
    assert_eq!(keys(&third), HashSet::from([late_key.clone()]));
    assert_eq!(third.objects[0].kept, count(&late.json, None).1);
    assert_eq!(third.objects[0].kept, 46);
    known.extend(keys(&third));
    let fourth = reader.read(ACCOUNT, "us-east-1", window, &known).await;
    assert!(fourth.objects.is_empty());
    assert_eq!(fourth.already_read, 56);
}

#[tokio::test]
async fn an_organisation_trail_is_read_under_its_organisation_folder() {
    let org = TrailLocation::new("org-trail", "org/trails", Some(ORG));
    let (moto, files) = corpus_trail(&org).await;
    let s3 = moto.s3_client().await;
    // A member account's real object from trailscraper, as CloudTrail wrote it.
    let member = "111111111111";
    let name = "111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json.gz";
    let gz = std::fs::read(
        corpus_dir()
            .join("cloudtrail/trailscraper-fixtures")
            .join(name),
    )
    .unwrap();
    let member_key =
        format!("org/trails/AWSLogs/{ORG}/{member}/CloudTrail/eu-central-1/2017/12/11/{name}");
    put(&s3, "org-trail", &member_key, gz.clone()).await;
    // The same object in the account layout of the same bucket: not the
    // organisation trail's, never read by it.
    let account_layout =
        format!("org/trails/AWSLogs/{member}/CloudTrail/eu-central-1/2017/12/11/{name}");
    put(&s3, "org-trail", &account_layout, gz.clone()).await;

    let reader = reader(moto.s3_client().await, &org, TimeDelta::hours(1));
    let window = Window::new(
        Utc.with_ymd_and_hms(2017, 12, 11, 15, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2017, 12, 11, 15, 5, 0).unwrap(),
    );
    let read = reader
        .read(member, "eu-central-1", window, &HashSet::new())
        .await;
    assert!(read.complete(), "{:?}", read.errors);
    assert_eq!(keys(&read), HashSet::from([member_key]));
    let (records, writes, in_window) = count(&gunzip(&gz), Some(window));
    assert_eq!(
        (read.objects[0].records, read.objects[0].kept),
        (records, writes)
    );
    // The file's AssumeRole has no readOnly: a write by its name.
    assert_eq!((records, writes, in_window), (2, 1, 1));
    assert_eq!(read.events[0].name, "AssumeRole");
    assert_eq!(read.events[0].read_only, None);

    let day = Window::new(at(0, 0), at(23, 59));
    let read = reader
        .read(ACCOUNT, "us-east-1", day, &HashSet::new())
        .await;
    assert!(read.complete(), "{:?}", read.errors);
    assert_eq!(read.objects.len(), 55);
    assert_counts_match(&read, &files, &day_folder(&org));
    // Nothing for an account the organisation folder has no objects of.
    let none = reader
        .read("999999999999", "us-east-1", day, &HashSet::new())
        .await;
    assert!(none.complete() && none.objects.is_empty());
}

#[tokio::test]
async fn a_corrupt_object_is_reported_by_key_and_the_others_are_read() {
    let location = TrailLocation::new("audit-trail", "", None);
    let (moto, files) = corpus_trail(&location).await;
    let s3 = moto.s3_client().await;
    let folder = day_folder(&location);
    let truncated_key =
        format!("{folder}{ACCOUNT}_CloudTrail_us-east-1_20230710T1215Z_truncatedGzip000.json.gz");
    let whole = files[20].gzip();
    put(
        &s3,
        "audit-trail",
        &truncated_key,
        whole[..whole.len() / 2].to_vec(),
    )
    .await;
    let not_json_key =
        format!("{folder}{ACCOUNT}_CloudTrail_us-east-1_20230710T1215Z_notJson000000000.json.gz");
    put(
        &s3,
        "audit-trail",
        &not_json_key,
        gzip(b"<html>not a trail</html>"),
    )
    .await;

    let reader = reader(moto.s3_client().await, &location, TimeDelta::hours(1));
    let window = Window::new(at(12, 0), at(12, 30));
    let read = reader
        .read(ACCOUNT, "us-east-1", window, &HashSet::new())
        .await;
    let failed: BTreeMap<&str, TrailErrorKind> = read
        .errors
        .iter()
        .map(|e| (e.key().unwrap(), e.kind))
        .collect();
    assert_eq!(
        failed,
        BTreeMap::from([
            (not_json_key.as_str(), TrailErrorKind::NotTrailJson),
            (truncated_key.as_str(), TrailErrorKind::NotGzip),
        ])
    );
    for error in &read.errors {
        let text = error.to_string();
        let key = error.key().unwrap();
        assert!(
            text.starts_with(&format!("cannot read s3://audit-trail/{key}: ")),
            "{text}"
        );
        assert!(text.contains("tried again at the next read"), "{text}");
    }
    assert!(!read.complete());
    // Every real object from 12:00 on was read.
    let expected: HashSet<String> = files
        .iter()
        .filter(|f| f.stamp() >= "20230710T1200Z")
        .map(|f| format!("{folder}{}", f.name))
        .collect();
    assert_eq!(keys(&read), expected);
    assert_counts_match(&read, &files, &folder);

    // The broken ones are not among the keys read: the next read tries them
    // again, and only them.
    let again = reader
        .read(ACCOUNT, "us-east-1", window, &keys(&read))
        .await;
    assert!(again.objects.is_empty());
    assert_eq!(again.errors.len(), 2);
}

#[tokio::test]
async fn a_denied_object_or_listing_names_the_permission_the_bucket_and_the_key() {
    let moto = moto();
    let files = invictus();
    let location = TrailLocation::new("locked-trail", "", None);
    trail_bucket(&moto, &location, &files[3..6]).await;
    let folder = day_folder(&location);
    let denied_key = format!("{folder}{}", files[4].name);
    // S3's own 403 AccessDenied for one GetObject (the SDK sends
    // `GET /bucket/key?x-id=GetObject`), from the fault proxy: moto with its
    // IAM checks on rejects the SDK's signature of a `prefix` holding a
    // slash (SignatureDoesNotMatch), so it cannot play a bucket that denies.
    let proxy = FaultProxy::start(&moto.endpoint_url());
    proxy.fault_operation(
        "s3",
        &format!("GET /locked-trail/{denied_key}?x-id"),
        Fault::Deny,
    );
    let client = client_through(&moto, &proxy).await;
    let reader = reader(client, &location, TimeDelta::hours(1));
    let window = Window::new(at(11, 55), at(12, 5));

    let read = reader
        .read(ACCOUNT, "us-east-1", window, &HashSet::new())
        .await;
    assert_eq!(read.objects.len(), 2, "the others are read");
    assert_eq!(read.errors.len(), 1, "{:?}", read.errors);
    let error = &read.errors[0];
    assert_eq!(error.kind, TrailErrorKind::AccessDenied);
    assert_eq!(error.key(), Some(denied_key.as_str()));
    assert_eq!(
        error.to_string(),
        format!(
            "cannot read s3://locked-trail/{denied_key}: AccessDenied: Access Denied, http 403; \
             the credentials need s3:GetObject on arn:aws:s3:::locked-trail/…/AWSLogs/*, and kms:Decrypt \
             on the trail's KMS key when its log files are SSE-KMS encrypted (packaging/iam-policy-trail-read.json)"
        )
    );

    proxy.fault("s3", Fault::Deny);
    let read = reader
        .read(ACCOUNT, "us-east-1", window, &keys(&read))
        .await;
    assert!(read.objects.is_empty());
    assert_eq!(read.errors.len(), 1, "{:?}", read.errors);
    assert_eq!(
        read.errors[0].to_string(),
        format!(
            "cannot list s3://locked-trail/{folder}: AccessDenied: Access Denied, http 403; \
             the credentials need s3:ListBucket on arn:aws:s3:::locked-trail (packaging/iam-policy-trail-read.json)"
        )
    );
}
