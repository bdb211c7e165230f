//! CloudTrail objects in S3 benchmark (BENCHMARKS.md, "CloudTrail objects in
//! S3"): about 1 GB of trail log JSON in moto, read with
//! `attribution::trail_s3`, and the same objects decoded in process.
//!
//! The objects are generated from the corpus's real records
//! (`cloudtrail/invictus-aws-dataset`): each record is a template record with
//! a fresh `eventID`, `requestID` and `eventTime` (within the 10 minutes
//! before the object's delivery), written compact as CloudTrail writes, in
//! objects of about 8 MB of JSON (about 0.9 MB gzip-compressed), delivered
//! every 5 minutes over one day. Objects are generated and uploaded as a
//! stream (a bounded channel); nothing is written to disk but moto's own
//! spooling. A second, smaller set holds objects of about 1 MB of JSON, to
//! show the cost per request.
//!
//! It reports MB/s of decompressed JSON (MB = 10^6 bytes):
//! - end to end: `TrailReader::read` over the day (list, GetObject, gunzip,
//!   parse, events), and the CPU seconds of this process and of moto during it;
//! - moto's GetObject alone (8 in flight, bodies collected, nothing decoded);
//! - in process, from the compressed bytes in memory: gunzip alone, gunzip +
//!   split (`split_records`), and the whole `decode_log_object`, on one
//!   thread and on two.
//!
//! `cargo bench --bench trail_s3`. Needs moto from `scripts/setup-test-deps`
//! (`DRIFTD_MOTO_SERVER`, default `.tools/venv/bin/moto_server`).
//! `DRIFTD_BENCH_TRAIL_MB` (default 1000) sets the JSON megabytes of the main
//! set, `DRIFTD_BENCH_TRAIL_OBJECT_MB` (default 8) its object size.

#[path = "../tests/it/support/moto.rs"]
#[allow(dead_code)]
mod moto;

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use driftd::attribution::matching::Window;
use driftd::attribution::trail_s3::{
    ReadOptions, TrailLocation, TrailReader, decode_log_object, gunzip, split_records,
};
use moto::MotoServer;
use serde_json::Value;

const BUCKET: &str = "bench-trail";
const ACCOUNT: &str = "218007301253";
const REGION: &str = "us-east-1";
const MB: f64 = 1e6;

/// One generated set of objects, as uploaded.
struct Set {
    /// (key, gzip bytes) of every object.
    objects: Vec<(String, Vec<u8>)>,
    json_bytes: u64,
    records: usize,
    writes: usize,
    /// The delivery day.
    day: DateTime<Utc>,
}

impl Set {
    fn gzip_bytes(&self) -> u64 {
        self.objects.iter().map(|(_, gz)| gz.len() as u64).sum()
    }
}

fn corpus_dir() -> PathBuf {
    match std::env::var_os("DRIFTD_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The invictus records, in file order.
fn templates() -> Vec<Value> {
    let dir = corpus_dir().join("cloudtrail/invictus-aws-dataset");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut records = Vec::new();
    for path in paths {
        let mut file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if let Value::Array(items) = file["Records"].take() {
            records.extend(items);
        }
    }
    records
}

/// splitmix64: the generator's deterministic randomness.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn uuid(n: u64) -> String {
    let (a, b) = (mix(n), mix(n ^ 0x5555_5555_5555_5555));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn is_write(record: &Value) -> bool {
    match record.get("readOnly") {
        Some(Value::Bool(read_only)) => !read_only,
        _ => false,
    }
}

/// Generates objects of about `object_bytes` of JSON until `total_bytes`,
/// delivered from `day` 00:05 every 5 minutes (several per slot when there
/// are more than a day's slots), and uploads them to moto as they come.
async fn generate_and_upload(
    moto: &MotoServer,
    templates: &[Value],
    day: DateTime<Utc>,
    total_bytes: u64,
    object_bytes: usize,
    seed: u64,
) -> Set {
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<(String, Vec<u8>, usize, usize, usize)>(4);
    let templates = templates.to_vec();
    let generator = std::thread::spawn(move || {
        let folder = format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{}/",
            day.format("%Y/%m/%d")
        );
        let mut written: u64 = 0;
        let mut n: u64 = seed << 32;
        let mut index = 0usize;
        let mut object = 0u64;
        while written < total_bytes {
            let delivered = day + TimeDelta::minutes(5 * (1 + (object % 287) as i64));
            let mut json = Vec::with_capacity(object_bytes + 64 * 1024);
            json.extend_from_slice(b"{\"Records\":[");
            let (mut records, mut writes) = (0, 0);
            while json.len() < object_bytes {
                let mut record = templates[index % templates.len()].clone();
                index += 1;
                n += 1;
                let time = delivered - TimeDelta::seconds(30 + (mix(n) % 570) as i64);
                record["eventID"] = Value::String(uuid(n));
                record["requestID"] = Value::String(uuid(!n));
                record["eventTime"] = Value::String(time.format("%Y-%m-%dT%H:%M:%SZ").to_string());
                if records > 0 {
                    json.push(b',');
                }
                serde_json::to_writer(&mut json, &record).unwrap();
                records += 1;
                writes += usize::from(is_write(&record));
            }
            json.extend_from_slice(b"]}");
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(json.len() / 6),
                flate2::Compression::default(),
            );
            encoder.write_all(&json).unwrap();
            let gz = encoder.finish().unwrap();
            let unique: String = (0..16)
                .map(|i| {
                    let c = (mix(object * 16 + i + (seed << 40)) % 62) as u8;
                    (match c {
                        0..=9 => b'0' + c,
                        10..=35 => b'a' + c - 10,
                        _ => b'A' + c - 36,
                    }) as char
                })
                .collect();
            let key = format!(
                "{folder}{ACCOUNT}_CloudTrail_{REGION}_{}_{unique}.json.gz",
                delivered.format("%Y%m%dT%H%MZ")
            );
            written += json.len() as u64;
            if sender
                .blocking_send((key, gz, json.len(), records, writes))
                .is_err()
            {
                break;
            }
            object += 1;
        }
    });
    let s3 = moto.s3_client().await;
    let mut set = Set {
        objects: Vec::new(),
        json_bytes: 0,
        records: 0,
        writes: 0,
        day,
    };
    let mut uploads = tokio::task::JoinSet::new();
    while let Some((key, gz, json_len, records, writes)) = receiver.recv().await {
        while uploads.len() >= 4 {
            uploads.join_next().await.unwrap().unwrap();
        }
        let (s3, body, k) = (s3.clone(), gz.clone(), key.clone());
        uploads.spawn(async move {
            s3.put_object()
                .bucket(BUCKET)
                .key(&k)
                .body(body.into())
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {k}: {e:?}"));
        });
        set.objects.push((key, gz));
        set.json_bytes += json_len as u64;
        set.records += records;
        set.writes += writes;
    }
    while let Some(done) = uploads.join_next().await {
        done.unwrap();
    }
    generator.join().unwrap();
    set
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// user + system CPU seconds of a process, from /proc.
fn cpu_seconds(pid: &str, ticks: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command: state is field 3; utime and stime are fields 14, 15.
    let get = |i: usize| -> f64 {
        fields
            .get(i - 3)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    (get(14) + get(15)) / ticks
}

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb * 1024.0 / MB)
        .unwrap_or(0.0)
}

struct Run {
    wall: Duration,
    own_cpu: f64,
    moto_cpu: f64,
}

async fn read_end_to_end(moto: &MotoServer, set: &Set, concurrency: usize, ticks: f64) -> Run {
    let reader = TrailReader::new(
        moto.s3_client().await,
        TrailLocation::new(BUCKET, "", None),
        ReadOptions {
            concurrency,
            ..ReadOptions::default()
        },
    );
    let window = Window::new(
        set.day,
        set.day + TimeDelta::hours(24) - TimeDelta::seconds(1),
    );
    let moto_pid = moto.pid().to_string();
    let (own0, moto0) = (cpu_seconds("self", ticks), cpu_seconds(&moto_pid, ticks));
    let started = Instant::now();
    let read = reader.read(ACCOUNT, REGION, window, &HashSet::new()).await;
    let wall = started.elapsed();
    let (own1, moto1) = (cpu_seconds("self", ticks), cpu_seconds(&moto_pid, ticks));
    assert!(read.complete(), "{:?}", read.errors.first());
    assert_eq!(read.objects.len(), set.objects.len());
    assert_eq!(read.json_bytes(), set.json_bytes);
    assert_eq!(read.events.len(), set.writes, "every write event, once");
    drop(read);
    Run {
        wall,
        own_cpu: own1 - own0,
        moto_cpu: moto1 - moto0,
    }
}

/// GetObject of every object, 8 in flight, bodies collected and dropped.
async fn get_only(moto: &MotoServer, set: &Set, ticks: f64) -> Run {
    let s3 = moto.s3_client().await;
    let moto_pid = moto.pid().to_string();
    let (own0, moto0) = (cpu_seconds("self", ticks), cpu_seconds(&moto_pid, ticks));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut bytes = 0u64;
    for (key, _) in &set.objects {
        while tasks.len() >= 8 {
            bytes += tasks.join_next().await.unwrap().unwrap();
        }
        let (s3, key) = (s3.clone(), key.clone());
        tasks.spawn(async move {
            let out = s3
                .get_object()
                .bucket(BUCKET)
                .key(key)
                .send()
                .await
                .unwrap();
            out.body.collect().await.unwrap().into_bytes().len() as u64
        });
    }
    while let Some(done) = tasks.join_next().await {
        bytes += done.unwrap();
    }
    let wall = started.elapsed();
    assert_eq!(bytes, set.gzip_bytes());
    let (own1, moto1) = (cpu_seconds("self", ticks), cpu_seconds(&moto_pid, ticks));
    Run {
        wall,
        own_cpu: own1 - own0,
        moto_cpu: moto1 - moto0,
    }
}

fn best_of<F: FnMut() -> Duration>(runs: usize, mut f: F) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    (times[0], times[times.len() / 2])
}

fn in_process(set: &Set) -> Vec<(String, Duration, Duration)> {
    let mut rows = Vec::new();
    let (best, median) = best_of(3, || {
        let t = Instant::now();
        for (_, gz) in &set.objects {
            std::hint::black_box(gunzip(gz).unwrap());
        }
        t.elapsed()
    });
    rows.push(("gunzip alone (flate2, 1 thread)".to_string(), best, median));
    let (best, median) = best_of(3, || {
        let t = Instant::now();
        for (_, gz) in &set.objects {
            let json = gunzip(gz).unwrap();
            std::hint::black_box(split_records(&json).unwrap().writes.len());
        }
        t.elapsed()
    });
    rows.push((
        "gunzip + split (`&RawValue` records, `readOnly`/`eventName` read), 1 thread".to_string(),
        best,
        median,
    ));
    let (best, median) = best_of(3, || {
        let t = Instant::now();
        for (_, gz) in &set.objects {
            let json = gunzip(gz).unwrap();
            std::hint::black_box(serde_json::from_slice::<serde::de::IgnoredAny>(&json).unwrap());
        }
        t.elapsed()
    });
    rows.push((
        "for scale: gunzip + serde_json validating (`IgnoredAny`), 1 thread".to_string(),
        best,
        median,
    ));
    let mut events = 0;
    let (best, median) = best_of(3, || {
        let t = Instant::now();
        events = 0;
        for (_, gz) in &set.objects {
            events += decode_log_object(gz).unwrap().events.len();
        }
        t.elapsed()
    });
    assert_eq!(events, set.writes);
    rows.push((
        "`decode_log_object` (gunzip, split, write events built), 1 thread".to_string(),
        best,
        median,
    ));
    let (best, median) = best_of(3, || {
        let t = Instant::now();
        let halves: Vec<&[(String, Vec<u8>)]> = {
            let (a, b) = set.objects.split_at(set.objects.len() / 2);
            vec![a, b]
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = halves
                .into_iter()
                .map(|half| {
                    scope.spawn(move || {
                        half.iter()
                            .map(|(_, gz)| decode_log_object(gz).unwrap().events.len())
                            .sum::<usize>()
                    })
                })
                .collect();
            let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(total, set.writes);
        });
        t.elapsed()
    });
    rows.push((
        "`decode_log_object`, 2 threads (half the objects each)".to_string(),
        best,
        median,
    ));
    rows
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / MB / d.as_secs_f64()
}

fn main() {
    let total_mb = env_f64("DRIFTD_BENCH_TRAIL_MB", 1000.0);
    let object_mb = env_f64("DRIFTD_BENCH_TRAIL_OBJECT_MB", 8.0);
    let ticks = clock_ticks();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let templates = templates();
        let moto = MotoServer::start();
        moto.s3_client()
            .await
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();

        let t = Instant::now();
        let main_set = generate_and_upload(
            &moto,
            &templates,
            Utc.with_ymd_and_hms(2023, 7, 11, 0, 0, 0).unwrap(),
            (total_mb * MB) as u64,
            (object_mb * MB) as usize,
            1,
        )
        .await;
        let generated_main = t.elapsed();
        let t = Instant::now();
        let small_set = generate_and_upload(
            &moto,
            &templates,
            Utc.with_ymd_and_hms(2023, 7, 20, 0, 0, 0).unwrap(),
            (total_mb / 5.0 * MB) as u64,
            MB as usize,
            2,
        )
        .await;
        let generated_small = t.elapsed();

        println!("## CloudTrail objects in S3\n");
        for (name, set, took) in [
            ("main", &main_set, generated_main),
            ("small objects", &small_set, generated_small),
        ] {
            println!(
                "- {name} set: {} objects, {:.1} MB of JSON ({:.2} MB each), {:.1} MB gzip (ratio {:.1}), {} records, {} write events ({:.1} %); generated and uploaded in {:.1} s",
                set.objects.len(),
                set.json_bytes as f64 / MB,
                set.json_bytes as f64 / MB / set.objects.len() as f64,
                set.gzip_bytes() as f64 / MB,
                set.json_bytes as f64 / set.gzip_bytes() as f64,
                set.records,
                set.writes,
                100.0 * set.writes as f64 / set.records as f64,
                took.as_secs_f64()
            );
        }
        println!();
        println!("| Measure | Set | Wall | MB/s of JSON | this process CPU s | moto CPU s |");
        println!("|---|---|---|---|---|---|");
        let row = |what: &str, set_name: &str, set: &Set, run: &Run| {
            println!(
                "| {what} | {set_name} | {:.2} s | {:.0} | {:.2} | {:.2} |",
                run.wall.as_secs_f64(),
                mbps(set.json_bytes, run.wall),
                run.own_cpu,
                run.moto_cpu
            );
        };
        let mut runs = Vec::new();
        for _ in 0..3 {
            runs.push(read_end_to_end(&moto, &main_set, 8, ticks).await);
        }
        runs.sort_by_key(|r| r.wall);
        row("`TrailReader::read`, 8 in flight, best of 3", "main", &main_set, &runs[0]);
        row("… median of 3", "main", &main_set, &runs[1]);
        for concurrency in [2, 16] {
            let run = read_end_to_end(&moto, &main_set, concurrency, ticks).await;
            row(&format!("`TrailReader::read`, {concurrency} in flight"), "main", &main_set, &run);
        }
        let run = get_only(&moto, &main_set, ticks).await;
        row("GetObject alone, 8 in flight (bodies collected, not decoded)", "main", &main_set, &run);
        let run = read_end_to_end(&moto, &small_set, 8, ticks).await;
        row("`TrailReader::read`, 8 in flight", "small objects", &small_set, &run);
        let run = get_only(&moto, &small_set, ticks).await;
        row("GetObject alone, 8 in flight", "small objects", &small_set, &run);

        println!();
        println!("In process, from the gzip bytes in memory (main set; best and median of 3):\n");
        println!("| Measure | Best | MB/s of JSON | Median |");
        println!("|---|---|---|---|");
        for (what, best, median) in in_process(&main_set) {
            println!(
                "| {what} | {:.2} s | {:.0} | {:.2} s |",
                best.as_secs_f64(),
                mbps(main_set.json_bytes, best),
                median.as_secs_f64()
            );
        }
        println!();
        println!("Peak RSS of the benchmark process (VmHWM): {:.0} MB", vm_hwm_mb());
    });
}
