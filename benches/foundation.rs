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

mod support;

use driftd::graph::{EdgeKind, ResourceGraph};
use driftd::model::Origin;
use driftd::secrets::SecretKey;
use driftd::state::{StateFile, parse_state};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
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
                "{} ({} bytes, {} templates instances, {} ids per batch)",
                file.path.display(),
                file.bytes,
                templates.instances_per_batch(),
                templates.id_count()
            );
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

fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DRIFTD_BENCH_DATA") {
        return PathBuf::from(d);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("bench-data")
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
    let mut state = None;
    for run in 0..RUNS {
        drop(state.take());
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
    let edge_count = graph.edge_count();
    drop(graph);
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
    let py_rss_kb: u64 = Command::new("python3")
        .args([
            "-c",
            "import json,sys,resource; json.load(open(sys.argv[1])); \
             print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
            &path,
        ])
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(0);

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
         {} batches of {} template instances, {:.1} MB of compact attributes, {} references.",
        file.path.file_name().unwrap().to_string_lossy(),
        size / MB,
        file.bytes,
        total,
        managed,
        distinct_keys,
        managed.div_ceil(templates.instances_per_batch()),
        templates.instances_per_batch(),
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
        "| python3 `json.load` peak RSS (ru_maxrss) | | {:.2} × ({:.0} MB) | |",
        py_rss_kb as f64 * 1024.0 / size,
        py_rss_kb as f64 * 1024.0 / MB
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
    println!("| Store the scan in SQLite | < 5 s | not measured: no store module yet | |");
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_string();
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
    format!(
        "Date {} · {} CPUs ({cpu}) · {:.1} GiB RAM · {} · {}",
        chrono::Utc::now().format("%Y-%m-%d"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_kb as f64 / 1024.0 / 1024.0,
        version("rustc"),
        version("python3"),
    )
}
