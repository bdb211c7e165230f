//! Foundation benchmarks (BENCHMARKS.md): a synthetic state of 100,000 managed
//! instances cloned from the real AWS states in the corpus, then
//! - parse + build the model (`driftd::state::parse_state`), MB/s;
//! - peak RSS of that parse, in a fresh child process, as a multiple of the file size;
//! - python3 `json.load` of the same file, for scale;
//! - the resource graph (`driftd::graph::ResourceGraph::build`).
//!
//! `cargo bench --bench foundation` prints a Markdown table.
//! Sub-commands (used by the run itself, handy by hand):
//! `foundation parse-only FILE` (prints the child's memory figures),
//! `foundation generate` (only writes the synthetic state and prints its path).
//!
//! Environment: `DRIFTD_CORPUS` (default `../shared/corpus/terraform-state/aws` beside the
//! repository), `DRIFTD_BENCH_DATA` (default `$CARGO_TARGET_DIR/bench-data`, else
//! `target/bench-data`), `DRIFTD_BENCH_INSTANCES` (default 100000).

// Other benchmarks use helpers of it this one does not.
#[allow(dead_code)]
mod support;

use driftd::graph::{EdgeKind, ResourceGraph};
use driftd::model::Origin;
use driftd::secrets::SecretKey;
use driftd::state::{StateFile, parse_state};
use driftd::store::{ScanOutcome, ScanStatus, Side, Store, StoreStats};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::data_dir;
use support::synth::{self, TemplateSet};

const RUNS: usize = 3;
const MB: f64 = 1e6;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.first().map(String::as_str) {
        Some("parse-only") => parse_only(Path::new(args.get(1).expect("parse-only FILE"))),
        Some("generate") => {
            let (file, templates) = synthetic_state();
            println!(
                "{} ({} bytes, {} template instances, {} ids per batch)",
                file.path.display(),
                file.bytes,
                templates.instances_per_batch(),
                templates.id_count()
            );
            if let Some(st) = file.stats {
                println!(
                    "generated in {:.2} s: {} managed instances in {} resources, {} batches",
                    file.generate_secs, st.managed_instances, st.resources, st.batches
                );
            }
        }
        _ => run_all(),
    }
}

fn key() -> SecretKey {
    SecretKey::from_bytes([0x5a; 32])
}

fn parse(bytes: &[u8], origin: &Origin) -> StateFile {
    parse_state(bytes, origin, &key()).expect("the synthetic state parses")
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("DRIFTD_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/terraform-state/aws")
        })
}

fn instances_wanted() -> usize {
    std::env::var("DRIFTD_BENCH_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn synthetic_state() -> (synth::SynthFile, TemplateSet) {
    let dir = corpus_dir();
    let templates = TemplateSet::load(&dir)
        .unwrap_or_else(|e| panic!("cannot load templates from {}: {e}", dir.display()));
    let file = synth::ensure_state(&templates, instances_wanted(), &data_dir())
        .expect("cannot write the synthetic state");
    (file, templates)
}

/// The child process: read, parse, report memory. Nothing else runs in it.
fn parse_only(path: &Path) {
    let start = status_kb("VmRSS");
    let bytes = std::fs::read(path).expect("read the state");
    let read = status_kb("VmRSS");
    let state = parse(&bytes, &Origin::from(path.to_string_lossy().as_ref()));
    let parsed = status_kb("VmRSS");
    let hwm = status_kb("VmHWM");
    println!(
        "resources={} rss_start_kb={start} rss_read_kb={read} rss_parsed_kb={parsed} hwm_kb={hwm}",
        state.resources.len()
    );
    std::hint::black_box(&state);
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct ChildMemory {
    start_kb: u64,
    read_kb: u64,
    parsed_kb: u64,
    hwm_kb: u64,
}

fn child_memory(path: &Path) -> ChildMemory {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .arg("parse-only")
        .arg(path)
        .output()
        .expect("spawn the parse-only child");
    assert!(
        out.status.success(),
        "parse-only child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> u64 {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("child output lacks {name}: {text}"))
    };
    ChildMemory {
        start_kb: field("rss_start_kb"),
        read_kb: field("rss_read_kb"),
        parsed_kb: field("rss_parsed_kb"),
        hwm_kb: field("hwm_kb"),
    }
}

/// Wall time of a python3 run (seconds), start-up included.
fn time_python(args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new("python3")
        .args(args)
        .status()
        .expect("run python3");
    let elapsed = started.elapsed();
    assert!(status.success(), "python3 {args:?} failed");
    elapsed
}

fn best(times: &[Duration]) -> Duration {
    *times.iter().min().expect("at least one run")
}

fn median(times: &[Duration]) -> Duration {
    let mut t = times.to_vec();
    t.sort();
    t[t.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn run_all() {
    let (file, templates) = synthetic_state();
    let size = file.bytes as f64;
    eprintln!(
        "synthetic state: {} ({:.1} MB{}), templates: {} managed instances from {} files, {} ids per batch",
        file.path.display(),
        size / MB,
        if file.generated {
            format!(", generated in {:.1} s", file.generate_secs)
        } else {
            ", cached".into()
        },
        templates.instances_per_batch(),
        templates.files.len(),
        templates.id_count()
    );
    for (name, why) in &templates.skipped {
        eprintln!("  skipped template {name}: {why}");
    }

    // Parse + build the model.
    let bytes = std::fs::read(&file.path).expect("read the synthetic state");
    let origin = Origin::from("synthetic.tfstate");
    let mut parse_times = Vec::new();
    let mut drop_times = Vec::new();
    let mut state: Option<StateFile> = None;
    for run in 0..RUNS {
        if let Some(s) = state.take() {
            let started = Instant::now();
            drop(s);
            drop_times.push(started.elapsed());
        }
        let started = Instant::now();
        let s = parse(&bytes, &origin);
        parse_times.push(started.elapsed());
        eprintln!(
            "parse run {}: {}",
            run + 1,
            secs(*parse_times.last().unwrap())
        );
        state = Some(s);
    }
    let state = state.expect("parsed");
    let managed = state.managed().count();
    let total = state.resources.len();
    let distinct_keys = state
        .resources
        .iter()
        .map(|r| &r.key)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let references: usize = state.resources.iter().map(|r| r.references.len()).sum();
    let attr_bytes: usize = state
        .resources
        .iter()
        .map(|r| r.attributes.as_str().len())
        .sum();
    let model = ModelBytes::of(&state);

    // For scale: serde_json checking the same bytes without building anything.
    let skim_times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).expect("valid JSON");
            started.elapsed()
        })
        .collect();
    drop(bytes);

    // The resource graph.
    let mut graph_times = Vec::new();
    let mut graph = None;
    for run in 0..RUNS {
        drop(graph.take());
        let started = Instant::now();
        let (g, _diags) = ResourceGraph::build(&state.resources);
        graph_times.push(started.elapsed());
        eprintln!(
            "graph run {}: {}",
            run + 1,
            secs(*graph_times.last().unwrap())
        );
        graph = Some(g);
    }
    let graph = graph.expect("built");
    let (mut depends_on, mut refs) = (0, 0);
    for i in 0..state.resources.len() {
        for n in graph.neighbours(i) {
            if n.direction == petgraph::Direction::Outgoing {
                match n.kind {
                    EdgeKind::DependsOn => depends_on += 1,
                    EdgeKind::References { .. } => refs += 1,
                }
            }
        }
    }
    let connected = (0..state.resources.len())
        .filter(|&i| !graph.neighbours(i).is_empty())
        .count();
    // Generator check: every edge stays inside its batch (names end in `_b{k}`).
    let batch_of = |i: usize| {
        state.resources[i]
            .address
            .name
            .rsplit_once("_b")
            .map(|(_, k)| k)
    };
    let cross_batch = (0..state.resources.len())
        .flat_map(|i| {
            graph
                .neighbours(i)
                .into_iter()
                .map(move |n| (i, n.resource))
        })
        .filter(|&(a, b)| batch_of(a) != batch_of(b))
        .count();
    if cross_batch > 0 {
        eprintln!("WARNING: {cross_batch} edges join different batches of the synthetic state");
    } else {
        eprintln!("no edge joins two batches of the synthetic state");
    }
    let edge_count = graph.edge_count();
    drop(graph);

    // The store: the scan in a fresh database file, then the same scan again.
    let store = store_twice(&state.resources);
    drop(state);

    // Peak memory, in a fresh process.
    let mem = child_memory(&file.path);

    // python3 json.load of the same file; start-up measured and subtracted.
    let path = file.path.to_string_lossy().into_owned();
    let load = "import json,sys; json.load(open(sys.argv[1]))";
    let startup = best(
        &(0..RUNS)
            .map(|_| time_python(&["-c", "pass"]))
            .collect::<Vec<_>>(),
    );
    let py_times: Vec<Duration> = (0..RUNS)
        .map(|run| {
            let t = time_python(&["-c", load, &path]);
            eprintln!("python3 run {}: {}", run + 1, secs(t));
            t
        })
        .collect();
    // Its peak RSS, as VmHWM like ours (not ru_maxrss: after a fork that starts from the
    // parent's RSS, which is this large process), over a few runs.
    let py_rss_kb: Vec<u64> = (0..RUNS)
        .map(|_| {
            Command::new("python3")
                .args([
                    "-c",
                    "import json,sys; json.load(open(sys.argv[1])); \
                     print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])",
                    &path,
                ])
                .output()
                .ok()
                .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
                .unwrap_or(0)
        })
        .collect();
    let py_rss_min = *py_rss_kb.iter().min().expect("runs");
    let py_rss_max = *py_rss_kb.iter().max().expect("runs");

    // Report.
    let mbps = |d: Duration| size / MB / d.as_secs_f64();
    let parse_best = best(&parse_times);
    let parse_median = median(&parse_times);
    let py_best = best(&py_times).saturating_sub(startup);
    let py_median = median(&py_times).saturating_sub(startup);
    let rss_ratio = mem.hwm_kb as f64 * 1024.0 / size;
    let graph_best = best(&graph_times);
    let graph_median = median(&graph_times);
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };

    println!();
    println!("{}", machine());
    println!(
        "Input: `{}`: {:.1} MB ({} bytes), {} resource instances ({} managed, {} distinct keys), \
         {} batches of {} template instances (no graph edge between batches: {}), \
         {:.1} MB of compact attributes, {} references.",
        file.path.file_name().unwrap().to_string_lossy(),
        size / MB,
        file.bytes,
        total,
        managed,
        distinct_keys,
        managed.div_ceil(templates.instances_per_batch()),
        templates.instances_per_batch(),
        if cross_batch == 0 {
            "checked"
        } else {
            "**violated**"
        },
        attr_bytes as f64 / MB,
        references,
    );
    println!();
    println!("| Measure | Target | Measured | |");
    println!("|---|---|---|---|");
    println!(
        "| Parse + build model, best of {RUNS} | ≥ 300 MB/s | {:.0} MB/s ({}) | {} |",
        mbps(parse_best),
        secs(parse_best),
        verdict(mbps(parse_best) >= 300.0)
    );
    println!(
        "| Parse + build model, median of {RUNS} | | {:.0} MB/s ({}) | |",
        mbps(parse_median),
        secs(parse_median)
    );
    println!(
        "| Dropping the parsed model, best of {} | | {} | |",
        drop_times.len(),
        secs(best(&drop_times))
    );
    println!(
        "| Peak RSS of a process that reads and parses the file (VmHWM) | ≤ 2.5 × file | {:.2} × ({:.0} MB) | {} |",
        rss_ratio,
        mem.hwm_kb as f64 * 1024.0 / MB,
        verdict(rss_ratio <= 2.5)
    );
    println!(
        "| … RSS at start / after read / after parse | | {:.0} / {:.0} / {:.0} MB | |",
        mem.start_kb as f64 * 1024.0 / MB,
        mem.read_kb as f64 * 1024.0 / MB,
        mem.parsed_kb as f64 * 1024.0 / MB
    );
    println!(
        "| For scale: serde_json validating the bytes (`IgnoredAny`), best of {RUNS} | | {:.0} MB/s ({}) | |",
        mbps(best(&skim_times)),
        secs(best(&skim_times))
    );
    println!(
        "| python3 `json.load`, best of {RUNS} (start-up {} subtracted) | | {:.0} MB/s ({}) | |",
        secs(startup),
        mbps(py_best),
        secs(py_best)
    );
    println!(
        "| python3 `json.load`, median of {RUNS} | | {:.0} MB/s ({}) | |",
        mbps(py_median),
        secs(py_median)
    );
    println!(
        "| driftd parse / python3 `json.load` speed (best) | | {:.2} × | |",
        py_best.as_secs_f64() / parse_best.as_secs_f64()
    );
    println!(
        "| python3 `json.load` peak RSS (VmHWM), range of {RUNS} runs | | {:.2}–{:.2} × ({:.0}–{:.0} MB) | |",
        py_rss_min as f64 * 1024.0 / size,
        py_rss_max as f64 * 1024.0 / size,
        py_rss_min as f64 * 1024.0 / MB,
        py_rss_max as f64 * 1024.0 / MB
    );
    println!(
        "| Graph build, best of {RUNS} | < 1 s | {} | {} |",
        secs(graph_best),
        verdict(graph_best < Duration::from_secs(1))
    );
    println!(
        "| Graph build, median of {RUNS} | | {} | |",
        secs(graph_median)
    );
    println!(
        "| Graph edges | | {edge_count} ({refs} reference, {depends_on} depends-on); {connected} resources have an edge | |"
    );
    println!(
        "| Store the scan: fresh database file, one transaction (begin_scan, store_resources, finish_scan, commit) | < 5 s | {} | {} |",
        secs(store.first),
        verdict(store.first < Duration::from_secs(5))
    );
    println!(
        "| … of which `store_resources` | | {} ({} new versions, {} new snapshots) | |",
        secs(store.first_store_resources),
        store.first_stats.new_versions,
        store.first_stats.new_snapshots
    );
    println!(
        "| Store the same scan again (new scan, same resources) | | {} ({} new snapshots) | |",
        secs(store.second),
        store.second_stats.new_snapshots
    );
    println!(
        "| New resource-version rows from the second store | 0 | {} (`new_versions` {}; rows {} → {}) | {} |",
        store.rows_after_second - store.rows_after_first,
        store.second_stats.new_versions,
        store.rows_after_first,
        store.rows_after_second,
        verdict(
            store.rows_after_second == store.rows_after_first
                && store.second_stats.new_versions == 0
        )
    );
    println!(
        "| Store the scan with one resource changed (new scan) | | {} ({} new versions, {} new snapshots) | |",
        secs(store.one_changed),
        store.one_changed_stats.new_versions,
        store.one_changed_stats.new_snapshots
    );
    println!(
        "| Database size after the three scans (file + WAL) | | {:.0} MB | |",
        store.db_bytes as f64 / MB
    );
    println!();
    println!(
        "Model heap (estimated from lengths and capacities, allocator overhead excluded): \
         attributes {:.0} MB, dependencies {:.0} MB, references {:.0} MB, \
         address/key/provider/alias strings {:.0} MB, `Resource` structs {:.0} MB; \
         {:.1} heap blocks per resource.",
        model.attributes as f64 / MB,
        model.dependencies as f64 / MB,
        model.references as f64 / MB,
        model.strings as f64 / MB,
        model.structs as f64 / MB,
        model.blocks as f64 / model.resources as f64,
    );
}

struct StoreRun {
    first: Duration,
    first_store_resources: Duration,
    first_stats: StoreStats,
    second: Duration,
    second_stats: StoreStats,
    rows_after_first: i64,
    rows_after_second: i64,
    one_changed: Duration,
    one_changed_stats: StoreStats,
    db_bytes: u64,
}

fn store_twice(resources: &[driftd::model::Resource]) -> StoreRun {
    let path = data_dir().join("store-bench.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let store = Store::open(&path).expect("open the store");
    let with_resources =
        |resources: &[driftd::model::Resource], label: &str| -> (Duration, Duration, StoreStats) {
            let started = Instant::now();
            let (inner, stats) = store
                .write(|w| {
                    let target = w.upsert_target("bench", "prod")?;
                    let scan = w.begin_scan(target, chrono::Utc::now())?;
                    let t = Instant::now();
                    let stats = w.store_resources(scan, Side::Desired, resources)?;
                    let inner = t.elapsed();
                    w.finish_scan(
                        scan,
                        &ScanOutcome {
                            ended_at: chrono::Utc::now(),
                            status: ScanStatus::Complete,
                            source_versions: Vec::new(),
                            diagnostics: Vec::new(),
                        },
                    )?;
                    Ok::<_, driftd::store::StoreError>((inner, stats))
                })
                .expect("store the scan");
            let total = started.elapsed();
            eprintln!(
                "store {label}: {} ({} in store_resources)",
                secs(total),
                secs(inner)
            );
            (total, inner, stats)
        };
    let scan = |label: &str| with_resources(resources, label);
    let rows = || -> i64 {
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the store read-only");
        conn.query_row("SELECT count(*) FROM resource_versions", [], |r| r.get(0))
            .expect("count resource versions")
    };
    let (first, first_store_resources, first_stats) = scan("first scan");
    let rows_after_first = rows();
    let (second, _, second_stats) = scan("same scan again");
    let rows_after_second = rows();
    // The usual case in a daemon: the state changed a little. One resource differs.
    let mut changed = resources.to_vec();
    changed[0].schema_version += 1;
    let (one_changed, _, one_changed_stats) = with_resources(&changed, "one resource changed");
    drop(changed);
    drop(store);
    let db_bytes = ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            std::fs::metadata(p).map_or(0, |m| m.len())
        })
        .sum();
    StoreRun {
        first,
        first_store_resources,
        first_stats,
        second,
        second_stats,
        rows_after_first,
        rows_after_second,
        one_changed,
        one_changed_stats,
        db_bytes,
    }
}

/// Where the model's memory goes (lengths and capacities; allocator overhead not counted).
#[derive(Default)]
struct ModelBytes {
    resources: usize,
    structs: usize,
    attributes: usize,
    dependencies: usize,
    references: usize,
    strings: usize,
    blocks: usize,
}

impl ModelBytes {
    fn of(state: &StateFile) -> ModelBytes {
        let mut m = ModelBytes {
            resources: state.resources.len(),
            structs: state.resources.capacity() * std::mem::size_of::<driftd::model::Resource>(),
            ..ModelBytes::default()
        };
        let string = |s: &String, m: &mut ModelBytes| {
            if s.capacity() > 0 {
                m.strings += s.capacity();
                m.blocks += 1;
            }
        };
        for r in &state.resources {
            m.attributes += r.attributes.as_str().len();
            m.blocks += 1;
            // Dependency addresses, types, modules and provider configurations are
            // interned (shared `Arc`s): only the per-resource pointer vectors count here.
            m.dependencies +=
                r.dependencies.capacity() * std::mem::size_of::<std::sync::Arc<str>>();
            m.blocks += usize::from(r.dependencies.capacity() > 0);
            m.references += r.references.capacity()
                * std::mem::size_of::<driftd::model::Reference>()
                + r.references
                    .iter()
                    .map(|x| x.attribute.capacity() + x.value.capacity())
                    .sum::<usize>();
            m.blocks += usize::from(r.references.capacity() > 0) + 2 * r.references.len();
            string(&r.key.id, &mut m);
            string(&r.address.name, &mut m);
            for s in [&r.deposed, &r.aliases.arn, &r.aliases.name]
                .into_iter()
                .flatten()
            {
                string(s, &mut m);
            }
        }
        m
    }
}

fn machine() -> String {
    let cpu = support::cpu_model();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let version = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .map(|o| {
                let mut s = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if s.is_empty() {
                    s = String::from_utf8_lossy(&o.stderr).trim().to_string();
                }
                s
            })
            .unwrap_or_else(|_| "unknown".into())
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "Date {} · {} CPUs ({cpu}) · {:.1} GiB RAM · {} · {} · load average at the end {}",
        chrono::Utc::now().format("%Y-%m-%d"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_kb as f64 / 1024.0 / 1024.0,
        version("rustc"),
        version("python3"),
        load.join(" "),
    )
}
