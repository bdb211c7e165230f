//! The CloudTrail LookupEvents emulator (`support::cloudtrail`) against the
//! real SDK: paging, lookup attributes, time filters, the 90 days, errors,
//! throttling, partitions, the botocore model, and the whole corpus.
//!
//! Time is a `ManualClock` wherever the rate limit could bite: calls are
//! sent back to back and the clock moves only when a test moves it, so every
//! window is exact.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::config::retry::RetryConfig;
use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sdk_cloudtrail::operation::lookup_events::builders::LookupEventsFluentBuilder;
use aws_sdk_cloudtrail::primitives::DateTime as SdkTime;
use aws_sdk_cloudtrail::types::{Event, EventCategory, LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, TimeDelta, Utc};
use driftd::clock::ManualClock;
use serde_json::Value;

use crate::support::botocore::ServiceModel;
use crate::support::cloudtrail::{
    CallCounts, CloudTrailEmulator, DEFAULT_ACCOUNT, LoadReport, LookupCall, Outcome, Partition,
    corpus_files, corpus_folder_records, event_time as recorded_time, invictus_records,
    newest_event_time, read_records, shift_record,
};

/// The account of the invictus records (`recipientAccountId`; their S3 object
/// names say 218007301253, the trail's owner).
const INVICTUS_ACCOUNT: &str = "123837392027";
const REGION: &str = "us-east-1";
/// The access key the tests sign with; mapped to the account under test.
const KEY: &str = "AKIAEMULATORTEST0001";

fn attribute(key: LookupAttributeKey, value: &str) -> LookupAttribute {
    LookupAttribute::builder()
        .attribute_key(key)
        .attribute_value(value)
        .build()
        .unwrap()
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn sdk_time(time: DateTime<Utc>) -> SdkTime {
    SdkTime::from_millis(time.timestamp_millis())
}

fn event_time(event: &Event) -> DateTime<Utc> {
    let t = event.event_time().expect("EventTime");
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap()
}

fn record_of(event: &Event) -> Value {
    serde_json::from_str(event.cloud_trail_event().expect("CloudTrailEvent")).unwrap()
}

fn field<'a>(record: &'a Value, pointer: &str) -> Option<&'a str> {
    record.pointer(pointer).and_then(Value::as_str)
}

/// The invictus trail as recorded (July 2023) on a clock held a day after
/// its newest event, read by [`KEY`].
async fn invictus() -> (CloudTrailEmulator, Arc<ManualClock>, Vec<Value>) {
    let records = invictus_records();
    let newest = newest_event_time(&records).unwrap();
    let clock = Arc::new(ManualClock::new(newest + TimeDelta::days(1)));
    let emulator = CloudTrailEmulator::start_with_clock(clock.clone()).await;
    emulator.map_access_key(KEY, INVICTUS_ACCOUNT);
    let report = emulator.load(records.clone());
    assert_eq!((report.records, report.management), (2900, 2900));
    (emulator, clock, records)
}

/// The records moved so the first is at `newest`, each next one a second
/// earlier (all inside the 90 days; distinct times make the order
/// checkable). Records without an `eventTime` stay as they are.
fn spread(records: Vec<Value>, newest: DateTime<Utc>) -> Vec<Value> {
    records
        .into_iter()
        .enumerate()
        .map(|(i, mut record)| {
            if let Some(at) = recorded_time(&record) {
                shift_record(&mut record, (newest - TimeDelta::seconds(i as i64)) - at);
            }
            record
        })
        .collect()
}

/// `records` [`spread`] over the day before a clock held still.
async fn spread_emulator(
    records: Vec<Value>,
) -> (CloudTrailEmulator, Arc<ManualClock>, LoadReport) {
    let now = time("2026-03-01T00:00:00Z");
    let clock = Arc::new(ManualClock::new(now));
    let emulator = CloudTrailEmulator::start_with_clock(clock.clone()).await;
    let report = emulator.load(spread(records, now - TimeDelta::days(1)));
    (emulator, clock, report)
}

/// A partition's management events and Insights events, every page, read
/// with a key mapped to its account; returns the key too.
async fn read_partition(
    emulator: &CloudTrailEmulator,
    clock: &ManualClock,
    partition: &Partition,
) -> (String, Vec<Event>, Vec<Event>) {
    let key = format!("AKIA{:016X}", emulator.calls().len());
    emulator.map_access_key(&key, &partition.account);
    let client = emulator.client(&key, &partition.region);
    let events = all_events(clock, || client.lookup_events()).await;
    let insights = all_events(clock, || {
        client
            .lookup_events()
            .event_category(EventCategory::Insight)
    })
    .await;
    (key, events, insights)
}

/// A client that sees errors as they come: no retries.
fn client_without_retries(
    emulator: &CloudTrailEmulator,
    key: &str,
    region: &str,
) -> aws_sdk_cloudtrail::Client {
    aws_sdk_cloudtrail::Client::from_conf(
        emulator
            .config(key, region)
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// Every page of a query, half a second of the clock apart (two calls a
/// second: the rate limit never bites).
async fn all_pages(
    clock: &ManualClock,
    request: impl Fn() -> LookupEventsFluentBuilder,
) -> Vec<Vec<Event>> {
    let mut pages = Vec::new();
    let mut token = None;
    loop {
        clock.advance(TimeDelta::milliseconds(500));
        let page = request().set_next_token(token).send().await.unwrap();
        pages.push(page.events().to_vec());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return pages;
        }
    }
}

async fn all_events(
    clock: &ManualClock,
    request: impl Fn() -> LookupEventsFluentBuilder,
) -> Vec<Event> {
    all_pages(clock, request).await.concat()
}

fn assert_newest_first(events: &[Event]) {
    for pair in events.windows(2) {
        assert!(
            event_time(&pair[0]) >= event_time(&pair[1]),
            "{:?} before {:?}",
            pair[0].event_id(),
            pair[1].event_id()
        );
    }
}

#[tokio::test]
async fn pages_through_every_event_once_newest_first() {
    let (emulator, clock, records) = invictus().await;
    let client = emulator.client(KEY, REGION);
    let pages = all_pages(&clock, || client.lookup_events()).await;

    assert_eq!(pages.len(), 58, "2,900 events in pages of 50");
    assert!(pages.iter().all(|p| p.len() == 50));
    let events = pages.concat();
    let ids: HashSet<&str> = events.iter().filter_map(Event::event_id).collect();
    let recorded: HashSet<&str> = records
        .iter()
        .filter_map(|r| field(r, "/eventID"))
        .collect();
    assert_eq!(ids.len(), 2900, "no event twice");
    assert_eq!(ids, recorded);
    assert_newest_first(&events);
    assert_eq!(event_time(&events[0]), newest_event_time(&records).unwrap());

    // The call plan as the emulator saw it: each page asked with the token
    // of the one before.
    let calls = emulator.calls_of(INVICTUS_ACCOUNT, REGION);
    assert_eq!(calls.len(), 58);
    assert_eq!(calls[0].next_token, None);
    for pair in calls.windows(2) {
        let Outcome::Served { next_token, events } = &pair[0].outcome else {
            panic!("{:?}", pair[0].outcome)
        };
        assert_eq!(*events, 50);
        assert_eq!(&pair[1].next_token, next_token);
        assert_eq!(pair[1].max_results, None);
        assert!(pair[1].attributes.is_empty());
    }
    assert_eq!(
        emulator.counts(INVICTUS_ACCOUNT, REGION),
        CallCounts {
            served: 58,
            throttled: 0
        }
    );
}

/// The SDK's own paginator on the system clock, the 2023 trail moved into
/// the last days: with 600 ms per call, sequential pages never make three
/// calls in a second, so no retry is needed (retries are off to prove it).
#[tokio::test]
async fn sdk_paginator_reads_a_shifted_trail_on_the_real_clock() {
    let emulator = CloudTrailEmulator::start().await;
    emulator.map_access_key(KEY, INVICTUS_ACCOUNT);
    emulator.set_latency(Duration::from_millis(600));
    let records = invictus_records();
    // Whole seconds, as CloudTrail's times are.
    let shift = TimeDelta::seconds(
        ((Utc::now() - TimeDelta::days(2)) - newest_event_time(&records).unwrap()).num_seconds(),
    );
    emulator.load_shifted(records.clone(), shift);
    let rds: Vec<&Value> = records
        .iter()
        .filter(|r| field(r, "/eventSource") == Some("rds.amazonaws.com"))
        .collect();
    assert_eq!(rds.len(), 150);

    let started = Instant::now();
    let events: Vec<Event> = client_without_retries(&emulator, KEY, REGION)
        .lookup_events()
        .lookup_attributes(attribute(
            LookupAttributeKey::EventSource,
            "rds.amazonaws.com",
        ))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(events.len(), 150);
    assert_newest_first(&events);
    let calls = emulator.calls_of(INVICTUS_ACCOUNT, REGION);
    assert_eq!(calls.len(), 3, "150 events in 3 pages of 50");
    assert!(started.elapsed() >= Duration::from_millis(3 * 600));
    // The record says the moved time, as EventTime does; the session began
    // before the call, as it did.
    let original: BTreeMap<&str, &Value> = rds
        .iter()
        .map(|r| (field(r, "/eventID").unwrap(), *r))
        .collect();
    for event in &events {
        let record = record_of(event);
        let before = original[event.event_id().unwrap()];
        assert_eq!(
            time(field(&record, "/eventTime").unwrap()),
            event_time(event)
        );
        assert_eq!(
            event_time(event),
            time(field(before, "/eventTime").unwrap()) + shift
        );
        let creation = "/userIdentity/sessionContext/attributes/creationDate";
        if let Some(was) = field(before, creation) {
            assert_eq!(time(field(&record, creation).unwrap()), time(was) + shift);
        }
    }
}

#[tokio::test]
async fn each_lookup_attribute_selects_its_events() {
    let (emulator, clock, records) = invictus().await;
    let client = emulator.client(KEY, REGION);
    let lookup = |key: LookupAttributeKey, value: &str| {
        let attribute = attribute(key, value);
        let client = client.clone();
        move || client.lookup_events().lookup_attributes(attribute.clone())
    };
    let count = |matches: &dyn Fn(&Value) -> bool| records.iter().filter(|r| matches(r)).count();

    // Fields the event shows as the record has them: exact counts.
    let simple: [(LookupAttributeKey, &str, &str); 5] = [
        (
            LookupAttributeKey::EventName,
            "AuthorizeSecurityGroupIngress",
            "/eventName",
        ),
        (
            LookupAttributeKey::EventSource,
            "iam.amazonaws.com",
            "/eventSource",
        ),
        (
            LookupAttributeKey::EventId,
            field(&records[0], "/eventID").unwrap(),
            "/eventID",
        ),
        (
            LookupAttributeKey::AccessKeyId,
            "ASIATFQR7NSCS5BLNV76",
            "/userIdentity/accessKeyId",
        ),
        (
            LookupAttributeKey::Username,
            "bert-jan",
            "/userIdentity/userName",
        ),
    ];
    for (key, value, pointer) in simple {
        let events = all_events(&clock, lookup(key.clone(), value)).await;
        let expected = count(&|r| field(r, pointer) == Some(value));
        assert!(expected > 0);
        assert_eq!(events.len(), expected, "{key:?} = {value}");
        for event in &events {
            let shown = match &key {
                LookupAttributeKey::EventName => event.event_name(),
                LookupAttributeKey::EventSource => event.event_source(),
                LookupAttributeKey::EventId => event.event_id(),
                LookupAttributeKey::AccessKeyId => event.access_key_id(),
                _ => event.username(),
            };
            assert_eq!(shown, Some(value));
            assert_eq!(field(&record_of(event), pointer), Some(value));
        }
    }

    // ReadOnly is the record's boolean as a string.
    let writes = all_events(&clock, lookup(LookupAttributeKey::ReadOnly, "false")).await;
    assert_eq!(
        writes.len(),
        count(&|r| r.get("readOnly") == Some(&Value::Bool(false)))
    );
    assert!(writes.iter().all(|e| e.read_only() == Some("false")));

    // An assumed role's Username is its session name: here an EC2
    // instance's role, its session the instance id.
    let instance = "i-0dbc91f429e48eeed";
    let by_instance = all_events(&clock, lookup(LookupAttributeKey::Username, instance)).await;
    assert_eq!(by_instance.len(), 15);
    for event in &by_instance {
        let record = record_of(event);
        assert_eq!(field(&record, "/userIdentity/type"), Some("AssumedRole"));
        assert!(
            field(&record, "/userIdentity/arn")
                .unwrap()
                .ends_with(instance)
        );
    }

    // ResourceType comes from the record's resources[].type.
    let buckets = all_events(
        &clock,
        lookup(LookupAttributeKey::ResourceType, "AWS::S3::Bucket"),
    )
    .await;
    let with_bucket = count(&|r| {
        r["resources"]
            .as_array()
            .is_some_and(|list| list.iter().any(|x| x["type"] == "AWS::S3::Bucket"))
    });
    assert_eq!(buckets.len(), with_bucket);
    for event in &buckets {
        assert!(
            event
                .resources()
                .iter()
                .any(|r| r.resource_type() == Some("AWS::S3::Bucket"))
        );
    }

    // ResourceName finds what requests name: the security group Stratus
    // opened and closed (MANIFEST "Drift-scenario pairs"), by its groupId.
    let group = "sg-04cfb7a4712d75b00";
    let by_group = all_events(&clock, lookup(LookupAttributeKey::ResourceName, group)).await;
    let names: HashSet<&str> = by_group.iter().filter_map(Event::event_name).collect();
    for expected in [
        "CreateSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "DeleteSecurityGroup",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    for event in &by_group {
        assert!(event.cloud_trail_event().unwrap().contains(group));
        assert!(
            event
                .resources()
                .iter()
                .any(|r| r.resource_name() == Some(group))
        );
    }
    // ... and the name part of a resources[] ARN: the bucket Stratus put a
    // policy on.
    let bucket = "stratus-red-team-bdbp-lhfzvgcamn";
    let by_bucket = all_events(&clock, lookup(LookupAttributeKey::ResourceName, bucket)).await;
    let names: HashSet<&str> = by_bucket.iter().filter_map(Event::event_name).collect();
    assert!(
        names.contains("CreateBucket"),
        "by its bucketName: {names:?}"
    );
    let arn = format!("arn:aws:s3:::{bucket}");
    for policy_change in by_bucket.iter().filter(|e| {
        matches!(
            e.event_name(),
            Some("PutBucketPolicy" | "DeleteBucketPolicy")
        )
    }) {
        for name in [arn.as_str(), bucket] {
            assert!(
                policy_change.resources().iter().any(|r| {
                    r.resource_name() == Some(name) && r.resource_type() == Some("AWS::S3::Bucket")
                }),
                "{name} in {:?}",
                policy_change.resources()
            );
        }
    }
    assert!(names.contains("PutBucketPolicy") && names.contains("DeleteBucketPolicy"));
}

#[tokio::test]
async fn start_and_end_time_are_inclusive() {
    let (emulator, clock, records) = invictus().await;
    let client = emulator.client(KEY, REGION);
    let second = time("2023-07-10T12:07:57Z");
    let in_range = |from: DateTime<Utc>, to: DateTime<Utc>| {
        records
            .iter()
            .filter(|r| {
                let t = time(field(r, "/eventTime").unwrap());
                from <= t && t <= to
            })
            .count()
    };

    let client = &client;
    let between = |from: DateTime<Utc>, to: DateTime<Utc>| {
        all_events(&clock, move || {
            client
                .lookup_events()
                .start_time(sdk_time(from))
                .end_time(sdk_time(to))
        })
    };

    let one_second = between(second, second).await;
    assert_eq!(one_second.len(), in_range(second, second));
    assert_eq!(one_second.len(), 110);
    assert!(one_second.iter().all(|e| event_time(e) == second));
    let asked = &emulator.calls()[0];
    assert_eq!(
        (asked.start_time, asked.end_time),
        (Some(second), Some(second))
    );

    let minute_end = second + TimeDelta::seconds(59);
    let minute = between(second, minute_end).await;
    assert_eq!(minute.len(), in_range(second, minute_end));
    assert_newest_first(&minute);

    // Half-open by a millisecond: the second's events fall out.
    let after = between(second + TimeDelta::milliseconds(1), minute_end).await;
    assert_eq!(after.len(), minute.len() - 110);

    clock.advance(TimeDelta::seconds(1));
    let backwards = client
        .lookup_events()
        .start_time(sdk_time(minute_end))
        .end_time(sdk_time(second))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(backwards.is_invalid_time_range_exception(), "{backwards:?}");
}

#[tokio::test]
async fn events_older_than_ninety_days_are_gone() {
    let now = time("2026-03-01T00:00:00Z");
    let clock = Arc::new(ManualClock::new(now));
    let emulator = CloudTrailEmulator::start_with_clock(clock.clone()).await;
    emulator.map_access_key(KEY, INVICTUS_ACCOUNT);
    let records = invictus_records();
    let template = &records[0];
    let recorded = time(field(template, "/eventTime").unwrap());
    let ages = [
        TimeDelta::days(1),
        TimeDelta::days(89),
        TimeDelta::days(90),
        TimeDelta::days(90) + TimeDelta::seconds(1),
        TimeDelta::days(91),
        TimeDelta::days(400),
    ];
    for (i, age) in ages.iter().enumerate() {
        let mut record = template.clone();
        record["eventID"] = format!("age-{i}").into();
        emulator.load_shifted([record], (now - *age) - recorded);
    }
    let client = emulator.client(KEY, REGION);

    let everything = all_events(&clock, || client.lookup_events()).await;
    // The clock moved half a second for the call: exactly 90 days is gone
    // by then too.
    let ids: Vec<&str> = everything.iter().filter_map(Event::event_id).collect();
    assert_eq!(ids, ["age-0", "age-1"]);

    let asked_older = all_events(&clock, || {
        client
            .lookup_events()
            .start_time(sdk_time(now - TimeDelta::days(500)))
    })
    .await;
    assert_eq!(
        asked_older.len(),
        2,
        "a StartTime past 90 days finds no more"
    );

    // Exactly 90 days old is still there at that instant.
    let exact = Arc::new(ManualClock::new(now));
    let at_edge = CloudTrailEmulator::start_with_clock(exact).await;
    at_edge.map_access_key(KEY, INVICTUS_ACCOUNT);
    let mut record = template.clone();
    record["eventID"] = "edge".into();
    at_edge.load_shifted([record], (now - TimeDelta::days(90)) - recorded);
    let page = at_edge
        .client(KEY, REGION)
        .lookup_events()
        .send()
        .await
        .unwrap();
    assert_eq!(page.events().len(), 1);
    assert_eq!(
        at_edge.counts(INVICTUS_ACCOUNT, REGION),
        CallCounts {
            served: 1,
            throttled: 0
        }
    );
}

#[tokio::test]
async fn bad_queries_get_the_errors_the_model_declares() {
    let (emulator, clock, _) = invictus().await;
    let client = client_without_retries(&emulator, KEY, REGION);
    let model = ServiceModel::cloudtrail();
    let declared = model.operation_errors("LookupEvents");
    let fails = |request: LookupEventsFluentBuilder| {
        clock.advance(TimeDelta::milliseconds(500));
        async move { request.send().await.unwrap_err().into_service_error() }
    };

    let two = fails(
        client
            .lookup_events()
            .lookup_attributes(attribute(LookupAttributeKey::EventName, "CreateRole"))
            .lookup_attributes(attribute(LookupAttributeKey::Username, "bert-jan")),
    )
    .await;
    assert!(two.is_invalid_lookup_attributes_exception(), "{two:?}");

    let unknown_key = fails(client.lookup_events().lookup_attributes(attribute(
        LookupAttributeKey::from("AwsRegion"),
        "us-east-1",
    )))
    .await;
    assert!(
        unknown_key.is_invalid_lookup_attributes_exception(),
        "{unknown_key:?}"
    );

    let empty_value = fails(
        client
            .lookup_events()
            .lookup_attributes(attribute(LookupAttributeKey::EventName, "")),
    )
    .await;
    assert!(empty_value.is_invalid_lookup_attributes_exception());

    for max in [0, 51] {
        let error = fails(client.lookup_events().max_results(max)).await;
        assert!(error.is_invalid_max_results_exception(), "{max}: {error:?}");
    }

    let category = fails(
        client
            .lookup_events()
            .event_category(EventCategory::from("management")),
    )
    .await;
    assert!(
        category.is_invalid_event_category_exception(),
        "{category:?}"
    );

    let insight_by_user = fails(
        client
            .lookup_events()
            .event_category(EventCategory::Insight)
            .lookup_attributes(attribute(LookupAttributeKey::Username, "bert-jan")),
    )
    .await;
    assert!(insight_by_user.is_invalid_lookup_attributes_exception());

    let backwards = fails(
        client
            .lookup_events()
            .start_time(sdk_time(time("2023-07-10T12:00:00Z")))
            .end_time(sdk_time(time("2023-07-10T11:00:00Z"))),
    )
    .await;
    assert!(backwards.is_invalid_time_range_exception());

    // A NextToken is bound to its query.
    let by_source = |source: &str| {
        client
            .lookup_events()
            .lookup_attributes(attribute(LookupAttributeKey::EventSource, source))
    };
    clock.advance(TimeDelta::milliseconds(500));
    let first = by_source("ec2.amazonaws.com").send().await.unwrap();
    let token = first
        .next_token()
        .expect("892 EC2 events: more pages")
        .to_owned();
    let other_query = fails(by_source("iam.amazonaws.com").next_token(&token)).await;
    assert!(
        other_query.is_invalid_next_token_exception(),
        "{other_query:?}"
    );
    let other_window = fails(
        by_source("ec2.amazonaws.com")
            .start_time(sdk_time(time("2023-07-10T00:00:00Z")))
            .next_token(&token),
    )
    .await;
    assert!(other_window.is_invalid_next_token_exception());
    let made_up = fails(by_source("ec2.amazonaws.com").next_token("AAAA")).await;
    assert!(made_up.is_invalid_next_token_exception());
    // The same query (another page size is the same query) goes on.
    clock.advance(TimeDelta::milliseconds(500));
    let second = by_source("ec2.amazonaws.com")
        .next_token(&token)
        .max_results(10)
        .send()
        .await
        .unwrap();
    assert_eq!(second.events().len(), 10);
    let first_ids: HashSet<&str> = first.events().iter().filter_map(Event::event_id).collect();
    assert!(
        second
            .events()
            .iter()
            .all(|e| !first_ids.contains(e.event_id().unwrap()))
    );
    assert!(event_time(&first.events()[49]) >= event_time(&second.events()[0]));

    // Every error answered is one the model declares for LookupEvents.
    let mut seen = HashSet::new();
    for call in emulator.calls() {
        if let Outcome::Failed(kind) = &call.outcome {
            assert!(
                declared.contains(kind),
                "{kind} is not declared: {declared:?}"
            );
            assert_eq!(call.status, 400);
            assert_eq!(call.response["__type"], kind.as_str());
            assert!(call.response["message"].is_string());
            seen.insert(kind.clone());
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(two.code(), Some("InvalidLookupAttributesException"));
}

#[tokio::test]
async fn a_third_call_within_a_second_is_throttled() {
    let (emulator, clock, _) = invictus().await;
    emulator.map_access_key("AKIAOTHERACCOUNT0001", "210987654321");
    let client = client_without_retries(&emulator, KEY, REGION);
    let call = || async { client.lookup_events().max_results(1).send().await };

    // t = 0: two calls pass, the third is refused.
    call().await.unwrap();
    call().await.unwrap();
    let error = call().await.unwrap_err();
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 400);
    let error = error.into_service_error();
    assert_eq!(error.code(), Some("ThrottlingException"));
    assert_eq!(error.message(), Some("Rate exceeded"));
    // Not a modelled LookupEvents error: the SDK's generic one, known by its code.
    assert!(
        !error.is_invalid_lookup_attributes_exception() && !error.is_invalid_next_token_exception()
    );

    // Other partitions have their own window.
    let other_region = client_without_retries(&emulator, KEY, "eu-west-1");
    let other_account = client_without_retries(&emulator, "AKIAOTHERACCOUNT0001", REGION);
    other_region.lookup_events().send().await.unwrap();
    other_account.lookup_events().send().await.unwrap();

    // t = 0.6 s: both calls of t = 0 are still within the second.
    clock.advance(TimeDelta::milliseconds(600));
    assert!(call().await.is_err());
    // t = 1.0 s: they are not.
    clock.advance(TimeDelta::milliseconds(400));
    call().await.unwrap();
    // t = 1.5 s: one call in the window, one more passes; at 1.6 s the
    // window holds two.
    clock.advance(TimeDelta::milliseconds(500));
    call().await.unwrap();
    clock.advance(TimeDelta::milliseconds(100));
    assert!(call().await.is_err());

    assert_eq!(
        emulator.counts(INVICTUS_ACCOUNT, REGION),
        CallCounts {
            served: 4,
            throttled: 3
        }
    );
    for (account, region) in [(INVICTUS_ACCOUNT, "eu-west-1"), ("210987654321", REGION)] {
        assert_eq!(
            emulator.counts(account, region),
            CallCounts {
                served: 1,
                throttled: 0
            }
        );
    }
    let throttled: Vec<LookupCall> = emulator
        .calls_of(INVICTUS_ACCOUNT, REGION)
        .into_iter()
        .filter(|c| c.outcome == Outcome::Throttled)
        .collect();
    let start = throttled[0].at;
    let offsets: Vec<i64> = throttled
        .iter()
        .map(|c| (c.at - start).num_milliseconds())
        .collect();
    assert_eq!(offsets, [0, 600, 1600]);
    assert!(throttled.iter().all(|c| c.response
        == serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"})));

    // The SDK's standard retry treats it as throttling: with the clock held
    // still, each of its three attempts is refused.
    let retrying = aws_sdk_cloudtrail::Client::from_conf(
        emulator
            .config(KEY, REGION)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .build(),
    );
    let error = retrying.lookup_events().send().await.unwrap_err();
    assert_eq!(error.code(), Some("ThrottlingException"));
    assert_eq!(emulator.counts(INVICTUS_ACCOUNT, REGION).throttled, 6);
}

#[tokio::test]
async fn each_account_and_region_has_its_own_history() {
    let records: Vec<Value> = [
        "stratus-red-team",
        "awsdocs-examples",
        "cloud-custodian-eventbridge",
    ]
    .iter()
    .flat_map(|folder| corpus_folder_records(folder))
    .collect();
    let count = records.len();
    let (emulator, clock, report) = spread_emulator(records).await;
    assert_eq!(report.records, count);
    let partitions = emulator.partitions();
    assert!(partitions.len() >= 3, "{partitions:?}");
    assert_eq!(
        partitions.values().sum::<usize>(),
        report.management + report.insights
    );

    for (partition, held) in &partitions {
        let (key, events, insights) = read_partition(&emulator, &clock, partition).await;
        assert_eq!(events.len() + insights.len(), *held, "{partition:?}");
        assert_newest_first(&events);
        let calls = emulator.calls_of(&partition.account, &partition.region);
        assert!(calls.iter().all(|c| c.access_key_id == key));
        for event in events.iter().chain(&insights) {
            let record = record_of(event);
            assert_eq!(
                Partition::new(
                    field(&record, "/recipientAccountId").unwrap(),
                    field(&record, "/awsRegion").unwrap()
                ),
                *partition
            );
        }
    }

    // A key nobody mapped reads the default account.
    let default = Partition::new(DEFAULT_ACCOUNT, REGION);
    let held = partitions.get(&default).copied().unwrap_or_default();
    assert!(held > 0, "the AWS docs examples use {DEFAULT_ACCOUNT}");
    let stranger = emulator.client("AKIANOBODYMAPPED0001", REGION);
    let seen = all_events(&clock, || stranger.lookup_events()).await.len()
        + all_events(&clock, || {
            stranger
                .lookup_events()
                .event_category(EventCategory::Insight)
        })
        .await
        .len();
    assert_eq!(seen, held);

    // ... whichever account that is.
    let (other, other_held) = partitions
        .iter()
        .find(|(p, _)| p.account != DEFAULT_ACCOUNT && p.region == REGION)
        .expect("another account in us-east-1");
    emulator.set_default_account(&other.account);
    let seen = all_events(&clock, || stranger.lookup_events()).await.len();
    assert_eq!(seen, *other_held);
}

#[tokio::test]
async fn reads_every_corpus_record_the_manifest_counts() {
    let manifest =
        std::fs::read_to_string(crate::support::corpus_dir().join("MANIFEST.md")).unwrap();
    // "### cloudtrail/ (123 files, 3724 records)"
    let heading = manifest
        .lines()
        .find(|l| l.starts_with("### cloudtrail/ ("))
        .expect("the manifest's cloudtrail heading");
    let numbers: Vec<usize> = heading
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(|n| n.parse().unwrap())
        .collect();
    let [files_listed, records_listed] = numbers[..] else {
        panic!("{heading}")
    };
    // Each file's row: "| `cloudtrail/<path>` | ... | ...; N records; ..." (an
    // index.json of provenance names no records).
    let mut per_file = BTreeMap::new();
    for row in manifest.lines().filter(|l| l.starts_with("| `cloudtrail/")) {
        let path = row.split('`').nth(1).unwrap().to_owned();
        let description = row.rsplit('|').nth(1).unwrap();
        let count = description
            .split(';')
            .find_map(|part| part.trim().strip_suffix(" records"))
            .map_or(0, |n| n.trim().parse::<usize>().unwrap());
        per_file.insert(path, count);
    }
    assert_eq!(per_file.len(), files_listed);

    let corpus = crate::support::corpus_dir();
    let mut all = Vec::new();
    let mut read = BTreeMap::new();
    for path in corpus_files() {
        let records = read_records(&path);
        let name = path
            .strip_prefix(&corpus)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        read.insert(name, records.len());
        all.extend(records);
    }
    assert_eq!(read, per_file);
    assert_eq!(all.len(), records_listed);
    assert_eq!(all.len(), 3724);

    let newest = newest_event_time(&all).unwrap();
    let clock = Arc::new(ManualClock::new(newest));
    let emulator = CloudTrailEmulator::start_with_clock(clock).await;
    let untimed = all
        .iter()
        .filter(|r| r.get("eventTime").and_then(Value::as_str).is_none())
        .count();
    let cloudtrail_format = all
        .iter()
        .filter_map(|r| r.get("eventTime").and_then(Value::as_str))
        .filter(|t| DateTime::parse_from_rfc3339(t).is_ok())
        .count();
    let report = emulator.load(all);
    assert_eq!(report.records, 3724);
    assert_eq!(
        report.management
            + report.insights
            + report.not_in_event_history
            + report.without_event_time,
        report.records
    );
    // Every time in CloudTrail's format is read as it is; of the rest, what
    // reads as a time is rewritten, and what does not ("redacted") is
    // untimed like a record without one.
    assert_eq!(
        report.records - report.without_event_time - report.rewrote_event_time,
        cloudtrail_format
    );
    assert!(report.without_event_time >= untimed);
    assert!(
        report.rewrote_event_time > 0,
        "Panther's tests write eventTime their own way"
    );
    assert_eq!(report.insights, 2, "the two of the docs' Insights example");
    assert!(report.not_in_event_history > 0, "{report:?}");
    // Test fragments without an eventID or a recipientAccountId are served
    // with one, as CloudTrail always sets them.
    assert!(
        report.filled_event_id > 0 && report.filled_account > 0,
        "{report:?}"
    );
}

/// Every response the emulator sends for the whole corpus (each record
/// moved inside the 90 days), and every request the SDK sends, follows
/// botocore's LookupEvents shapes.
#[tokio::test]
async fn every_body_follows_the_botocore_model() {
    let model = ServiceModel::cloudtrail();
    // The checker reads the Event structure from the model: these are the
    // members the emulator serialises.
    assert_eq!(
        model.members("Event"),
        [
            "AccessKeyId",
            "CloudTrailEvent",
            "EventId",
            "EventName",
            "EventSource",
            "EventTime",
            "ReadOnly",
            "Resources",
            "Username",
        ]
    );
    let records: Vec<Value> = corpus_files()
        .iter()
        .flat_map(|p| read_records(p))
        .collect();
    let (emulator, clock, report) = spread_emulator(records).await;
    let mut served = 0;
    for partition in emulator.partitions().keys() {
        let (_, events, insights) = read_partition(&emulator, &clock, partition).await;
        served += events.len() + insights.len();
    }
    assert_eq!(served, report.management + report.insights);

    let request_shape = model.operation_shape("LookupEvents", "input");
    let response_shape = model.operation_shape("LookupEvents", "output");
    let calls = emulator.calls();
    assert!(calls.iter().all(|c| c.status == 200));
    for call in &calls {
        let errors = model.errors(&request_shape, &call.request);
        assert!(errors.is_empty(), "request {}: {errors:#?}", call.request);
        let errors = model.errors(&response_shape, &call.response);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The checker does catch what the model forbids.
    let wrong = serde_json::json!({"Events": [{"EventTime": "2023-07-10T12:10:08Z", "ReadOnly": false, "Extra": 1}]});
    assert_eq!(model.errors(&response_shape, &wrong).len(), 3);
}

/// The AWS docs' `lookup-events --event-category insight` example is not the
/// API's shape: its `Events[]` are the records themselves (what
/// `CloudTrailEvent` carries), oldest first. Served by the emulator, the
/// same records come back as model `Event`s whose `CloudTrailEvent` is the
/// docs' item, newest first.
#[tokio::test]
async fn the_docs_insights_example_served_as_the_api_serves_it() {
    let path = crate::support::corpus_dir()
        .join("cloudtrail/awsdocs-examples/lookup-events-insights-example.json");
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let model = ServiceModel::cloudtrail();
    let response_shape = model.operation_shape("LookupEvents", "output");
    let errors = model.errors(&response_shape, &document);
    assert!(
        errors.iter().any(|e| e.contains("no member eventVersion")),
        "the docs' items are records, not Events: {errors:#?}"
    );
    let docs_events = document["Events"].as_array().unwrap().clone();
    assert_eq!(read_records(&path), docs_events);

    let newest = newest_event_time(&docs_events).unwrap();
    let clock = Arc::new(ManualClock::new(newest + TimeDelta::days(1)));
    let emulator = CloudTrailEmulator::start_with_clock(clock.clone()).await;
    // Unmapped, KEY reads the default account: the example's.
    assert_eq!(
        field(&docs_events[0], "/recipientAccountId"),
        Some(DEFAULT_ACCOUNT)
    );
    let report = emulator.load(docs_events.clone());
    assert_eq!(report.insights, 2);
    let client = emulator.client(KEY, REGION);

    let management = client.lookup_events().send().await.unwrap();
    assert!(
        management.events().is_empty(),
        "Insights only when asked for"
    );
    clock.advance(TimeDelta::seconds(1));
    let insights = client
        .lookup_events()
        .event_category(EventCategory::Insight)
        .lookup_attributes(attribute(
            LookupAttributeKey::EventName,
            "CompleteLifecycleAction",
        ))
        .send()
        .await
        .unwrap();
    let events = insights.events();
    assert_eq!(events.len(), 2);
    assert_eq!(record_of(&events[0]), docs_events[1], "newest first");
    assert_eq!(record_of(&events[1]), docs_events[0]);
    for event in events {
        assert_eq!(event.event_source(), Some("autoscaling.amazonaws.com"));
        assert_eq!(event.event_id(), field(&record_of(event), "/eventID"));
    }
    let calls = emulator.calls();
    let last = calls.last().unwrap();
    assert_eq!(last.event_category.as_deref(), Some("insight"));
    assert_eq!(
        last.attributes,
        [("EventName".to_owned(), "CompleteLifecycleAction".to_owned())]
    );
    let body = &last.response;
    assert!(model.errors(&response_shape, body).is_empty());
}
