//! AWS scan benchmark (BENCHMARKS.md, "AWS scan"): an account of about 5,000
//! resources in moto, scanned by `driftd scan` through the project's fault
//! proxy adding 50 ms to every request (real AWS latency; moto on loopback
//! answers in a few ms and would hide what concurrency buys).
//!
//! It reports:
//! - API efficiency: requests per operation, against the minimum a reader of
//!   these types must make (one call per list operation and page — moto
//!   serves every list in one page — plus the per-resource detail calls the
//!   API forces, see `forced_per_resource`);
//! - wall time against `benches/baseline_scan.py`, a plain sequential boto3
//!   script that makes the same calls, through the same proxy;
//! - driftd's own CPU time (user + sys of the driftd process) per 1,000
//!   resources.
//!
//! `cargo bench --bench aws_scan` prints a Markdown table. Needs moto and boto3
//! from `scripts/setup-test-deps` (`DRIFTD_MOTO_SERVER`, default
//! `.tools/venv/bin/moto_server`). `DRIFTD_BENCH_SCALE` (default 1.0) scales
//! the account.

#[path = "../tests/it/support/fault_proxy.rs"]
#[allow(dead_code)]
mod fault_proxy;
#[path = "../tests/it/support/moto.rs"]
#[allow(dead_code)]
mod moto;

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, Tag, TagSpecification, VolumeType};
use fault_proxy::FaultProxy;
use moto::MotoServer;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);

/// How many of each thing the benchmark account holds (before scaling).
struct Shape {
    vpcs: usize,
    subnets_per_vpc: usize,
    security_groups: usize,
    route_tables: usize,
    internet_gateways: usize,
    addresses: usize,
    key_pairs: usize,
    volumes: usize,
    instances: usize,
    roles: usize,
    policies: usize,
    users: usize,
    groups: usize,
    instance_profiles: usize,
    buckets: usize,
}

impl Shape {
    fn scaled(k: f64) -> Shape {
        let n = |x: usize| ((x as f64 * k).round() as usize).max(1);
        Shape {
            vpcs: n(20),
            subnets_per_vpc: 40,
            security_groups: n(600),
            route_tables: n(200),
            internet_gateways: n(100),
            addresses: n(100),
            key_pairs: n(100),
            volumes: n(200),
            instances: n(50),
            roles: n(500),
            policies: n(300),
            users: n(300),
            groups: n(100),
            instance_profiles: n(100),
            buckets: n(40),
        }
    }
}

/// Per-resource calls the APIs force (no batch or list form carries these):
/// `(service, operation) -> calls per resource of `what``.
fn forced_per_resource(counts: &Counts) -> BTreeMap<(&'static str, &'static str), usize> {
    let mut m = BTreeMap::new();
    // enableDnsSupport, enableDnsHostnames, enableNetworkAddressUsageMetrics.
    m.insert(("ec2", "DescribeVpcAttribute"), 3 * counts.vpcs);
    // disableApiTermination, disableApiStop, instanceInitiatedShutdownBehavior, userData.
    m.insert(("ec2", "DescribeInstanceAttribute"), 4 * counts.instances);
    // IAM customer-managed policies: their documents come with
    // GetAccountAuthorizationDetails, their tags only from ListPolicyTags.
    m.insert(("iam", "ListPolicyTags"), counts.policies);
    // Instance profiles: ListInstanceProfiles leaves out their tags.
    m.insert(("iam", "GetInstanceProfile"), counts.instance_profiles);
    // S3: one Get per bucket configuration, none of them listable.
    for op in S3_PER_BUCKET {
        m.insert(("s3", op), counts.buckets);
    }
    m
}

/// The bucket configurations the provider reads, one call each per bucket.
const S3_PER_BUCKET: [&str; 15] = [
    "GET /bucket?acl",
    "GET /bucket?accelerate",
    "GET /bucket?cors",
    "GET /bucket?encryption",
    "GET /bucket?lifecycle",
    "GET /bucket?location",
    "GET /bucket?logging",
    "GET /bucket?object-lock",
    "GET /bucket?policy",
    "GET /bucket?publicAccessBlock",
    "GET /bucket?replication",
    "GET /bucket?requestPayment",
    "GET /bucket?tagging",
    "GET /bucket?versioning",
    "GET /bucket?website",
];

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    vpcs: usize,
    instances: usize,
    policies: usize,
    instance_profiles: usize,
    buckets: usize,
}

/// The proxy names S3 calls by path; one bucket's calls stand for all.
fn operation_name(service: &str, operation: &str) -> String {
    if service == "s3"
        && let Some(rest) = operation.strip_prefix("GET /")
        && let Some((bucket, query)) = rest.split_once('?')
        && !bucket.is_empty()
    {
        return format!("GET /bucket?{query}");
    }
    operation.to_string()
}

fn main() {
    let scale: f64 = std::env::var("DRIFTD_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let shape = Shape::scaled(scale);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let moto = MotoServer::start();
    let started = Instant::now();
    let counts = runtime.block_on(populate(&moto, &shape));
    eprintln!(
        "aws_scan: account populated in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::start(&moto.endpoint_url());
    proxy.set_latency(LATENCY);
    let config = write_config(dir.path(), &proxy.endpoint_url());

    // driftd, as a user runs it.
    proxy.reset_counts();
    let (wall, cpu, report) = run_driftd(&config);
    let live = &report["live"];
    let resources = live["resources"].as_u64().unwrap() as usize;
    let unknown: Vec<&serde_json::Value> = live["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "complete")
        .collect();
    assert!(unknown.is_empty(), "every listing completes: {unknown:#?}");
    let mut driftd_calls: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (call, n) in proxy.counts() {
        let op = operation_name(&call.service, &call.operation);
        *driftd_calls.entry((call.service, op)).or_default() += n;
    }

    // The baseline: the same calls, one after the other, with boto3.
    proxy.reset_counts();
    let started = Instant::now();
    let status = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/baseline_scan.py"))
        .arg(proxy.endpoint_url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", moto::REGION)
        .status()
        .expect("the venv's python (scripts/setup-test-deps)");
    assert!(status.success(), "the baseline script failed");
    let baseline_wall = started.elapsed();
    let baseline_calls = proxy.counts();

    // API efficiency.
    let forced = forced_per_resource(&counts);
    let mut rows = Vec::new();
    let (mut actual_total, mut minimum_total) = (0usize, 0usize);
    for ((service, operation), n) in &driftd_calls {
        let key = (service.as_str(), operation.as_str());
        let minimum = forced
            .iter()
            .find(|(k, _)| (k.0, k.1) == key)
            .map_or(1, |(_, m)| *m);
        actual_total += n;
        minimum_total += minimum;
        rows.push(format!("| {service} | {operation} | {n} | {minimum} |"));
    }
    let baseline_total: usize = baseline_calls.values().sum();

    println!("## AWS scan ({resources} live resources, {LATENCY:?} added per request)\n");
    println!("| measure | value |\n|---|---|");
    println!("| live resources listed | {resources} |");
    println!("| driftd API requests | {actual_total} |");
    println!("| minimum requests | {minimum_total} |");
    println!(
        "| requests / minimum | {:.3} |",
        actual_total as f64 / minimum_total as f64
    );
    println!("| driftd wall time | {:.2} s |", wall.as_secs_f64());
    println!("| baseline (sequential boto3) requests | {baseline_total} |");
    println!(
        "| baseline wall time | {:.2} s |",
        baseline_wall.as_secs_f64()
    );
    println!(
        "| speed-up | {:.1}x |",
        baseline_wall.as_secs_f64() / wall.as_secs_f64()
    );
    println!(
        "| driftd CPU (user+sys) | {:.2} s, {:.3} s per 1,000 resources |",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / resources as f64
    );
    println!("\n| service | operation | requests | minimum |\n|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}

fn python() -> PathBuf {
    let moto = moto::moto_server_path();
    moto.with_file_name("python")
}

fn write_config(dir: &Path, endpoint: &str) -> PathBuf {
    let state = dir.join("empty.tfstate");
    std::fs::write(
        &state,
        r#"{"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"bench","outputs":{},"resources":[]}"#,
    )
    .unwrap();
    let config = dir.join("driftd.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"{}\"\n\n[[target]]\nname = \"bench\"\nenvironment = \"bench\"\n\
             [[target.state]]\ntype = \"file\"\npath = \"{}\"\n[target.aws]\nregions = [\"{}\"]\n\
             endpoint_url = \"{endpoint}\"\n[[target.aws.account]]\nid = \"{}\"\n",
            dir.join("driftd.db").display(),
            state.display(),
            moto::REGION,
            moto::ACCOUNT_ID
        ),
    )
    .unwrap();
    config
}

/// Runs `driftd scan` and returns its wall time, its own CPU time (from the
/// shell's `times`, which reports its children's), and its JSON report.
fn run_driftd(config: &Path) -> (Duration, Duration, serde_json::Value) {
    let dir = config.parent().unwrap();
    let out = dir.join("scan.json");
    let started = Instant::now();
    let output = Command::new("bash")
        .arg("-c")
        .arg(r#""$0" scan -c "$1" -t bench --format json > "$2"; code=$?; times; exit $code"#)
        .arg(env!("CARGO_BIN_EXE_driftd"))
        .arg(config)
        .arg(&out)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", dir)
        .output()
        .unwrap();
    let wall = started.elapsed();
    let code = output.status.code();
    assert!(
        matches!(code, Some(0) | Some(2)),
        "driftd scan failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // `times` prints the shell's user/sys, then its children's: "0m1.234s 0m0.321s".
    let times = String::from_utf8_lossy(&output.stdout).to_string();
    let children = times.lines().nth(1).expect("times' second line");
    let cpu: f64 = children.split_whitespace().map(minutes_seconds).sum();
    let report = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    (wall, Duration::from_secs_f64(cpu), report)
}

fn minutes_seconds(s: &str) -> f64 {
    let (m, rest) = s.split_once('m').unwrap();
    m.parse::<f64>().unwrap() + rest.trim_end_matches('s').parse::<f64>().unwrap()
}

fn tags(kind: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build())
        .tags(Tag::builder().key("team").value("bench").build())
        .build()
}

/// Creates the account, one request at a time (moto does not like concurrent
/// writes). Returns what the per-resource minimum depends on.
async fn populate(moto: &MotoServer, shape: &Shape) -> Counts {
    let config = moto.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let s3 = moto.s3_client().await;
    let mut counts = Counts::default();

    let mut vpcs = Vec::new();
    let mut subnets = Vec::new();
    for v in 0..shape.vpcs {
        let vpc = ec2
            .create_vpc()
            .cidr_block(format!("10.{v}.0.0/16"))
            .tag_specifications(tags(ResourceType::Vpc, &format!("vpc-{v}")))
            .send()
            .await
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap();
        for s in 0..shape.subnets_per_vpc {
            let subnet = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("10.{v}.{s}.0/24"))
                .tag_specifications(tags(ResourceType::Subnet, &format!("subnet-{v}-{s}")))
                .send()
                .await
                .unwrap()
                .subnet
                .unwrap()
                .subnet_id
                .unwrap();
            subnets.push(subnet);
        }
        vpcs.push(vpc);
    }
    counts.vpcs = shape.vpcs + 1; // and moto's default VPC

    for g in 0..shape.security_groups {
        let vpc = &vpcs[g % vpcs.len()];
        let group = ec2
            .create_security_group()
            .group_name(format!("sg-{g}"))
            .description("benchmark group")
            .vpc_id(vpc)
            .tag_specifications(tags(ResourceType::SecurityGroup, &format!("sg-{g}")))
            .send()
            .await
            .unwrap()
            .group_id
            .unwrap();
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    for r in 0..shape.route_tables {
        let vpc = &vpcs[r % vpcs.len()];
        ec2.create_route_table()
            .vpc_id(vpc)
            .tag_specifications(tags(ResourceType::RouteTable, &format!("rt-{r}")))
            .send()
            .await
            .unwrap();
    }
    for i in 0..shape.internet_gateways {
        ec2.create_internet_gateway()
            .tag_specifications(tags(ResourceType::InternetGateway, &format!("igw-{i}")))
            .send()
            .await
            .unwrap();
    }
    for a in 0..shape.addresses {
        ec2.allocate_address()
            .domain(aws_sdk_ec2::types::DomainType::Vpc)
            .tag_specifications(tags(ResourceType::ElasticIp, &format!("eip-{a}")))
            .send()
            .await
            .unwrap();
    }
    for k in 0..shape.key_pairs {
        ec2.create_key_pair()
            .key_name(format!("key-{k}"))
            .send()
            .await
            .unwrap();
    }
    for v in 0..shape.volumes {
        ec2.create_volume()
            .availability_zone(format!("{}a", moto::REGION))
            .size(8)
            .volume_type(VolumeType::Gp3)
            .tag_specifications(tags(ResourceType::Volume, &format!("vol-{v}")))
            .send()
            .await
            .unwrap();
    }
    for i in 0..shape.instances {
        ec2.run_instances()
            .image_id("ami-1e749f67")
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .subnet_id(&subnets[i % subnets.len()])
            .min_count(1)
            .max_count(1)
            .tag_specifications(tags(ResourceType::Instance, &format!("i-{i}")))
            .send()
            .await
            .unwrap();
    }
    counts.instances = shape.instances;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    for r in 0..shape.roles {
        iam.create_role()
            .role_name(format!("role-{r}"))
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(format!("role-{r}"))
            .policy_name("inline")
            .policy_document(POLICY)
            .send()
            .await
            .unwrap();
    }
    for p in 0..shape.policies {
        iam.create_policy()
            .policy_name(format!("policy-{p}"))
            .policy_document(POLICY)
            .send()
            .await
            .unwrap();
    }
    counts.policies = shape.policies;
    for u in 0..shape.users {
        iam.create_user()
            .user_name(format!("user-{u}"))
            .send()
            .await
            .unwrap();
    }
    for g in 0..shape.groups {
        iam.create_group()
            .group_name(format!("group-{g}"))
            .send()
            .await
            .unwrap();
    }
    counts.instance_profiles = shape.instance_profiles;
    for p in 0..shape.instance_profiles {
        iam.create_instance_profile()
            .instance_profile_name(format!("profile-{p}"))
            .send()
            .await
            .unwrap();
    }
    for b in 0..shape.buckets {
        s3.create_bucket()
            .bucket(format!("bench-bucket-{b}"))
            .send()
            .await
            .unwrap();
    }
    counts.buckets = shape.buckets;
    counts
}
