//! The report pages, served by `driftd run` as a real process, over real
//! scan data: a corpus state materialised in moto, then changed by hand
//! with hostile tag values and resource names (cloud data is user input).
//! Checked over HTTP (status, headers, escaping, JSON, decisions and their
//! CSRF guard) and in headless Chromium (`report_in_chromium`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::corpus_dir;
use crate::support::moto::{MotoServer, free_port, moto_server_path};

/// Tag values and names a person (or an attacker with write access to the
/// account) can set; every page must show them as text.
pub const XSS_TAG: &str = "<script>alert(1)</script>";
pub const XSS_ATTR: &str = "\"><img src=x onerror=alert(1)>";
pub const XSS_LOG_GROUP: &str = "\"><img src=x onerror=alert(2)>";

/// An HTTP answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request on 127.0.0.1.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n..];
        s = s.strip_prefix("\r\n").unwrap_or(s);
    }
    out
}

pub fn get(port: u16, path: &str) -> Answer {
    http(port, "GET", path, &[], "")
}

/// The venv's interpreter (it has boto3, as moto needs it).
fn python() -> PathBuf {
    moto_server_path().with_file_name("python")
}

/// A scenario with drift: the corpus' VPC/EC2/security-group state made real
/// in moto, then the security group changed by hand (MySQL opened to the
/// world, hostile tags) and two log groups made outside Terraform.
pub struct Scenario {
    pub dir: tempfile::TempDir,
    pub moto: MotoServer,
    pub state: PathBuf,
    pub region: String,
    pub group: String,
}

impl Scenario {
    pub fn new() -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        let moto = MotoServer::start();
        let source = corpus_dir().join("terraform-state/aws/aws-ec2-sg-vpc-module.tfstate");
        let state = dir.path().join("terraform.tfstate");
        let summary = dir.path().join("summary.json");
        let out = Command::new(python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/materialize-state"))
            .arg(&source)
            .arg(moto.endpoint_url())
            .arg(&state)
            .arg("--summary-json")
            .arg(&summary)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "materialize-state: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        let region = summary["region"].as_str().unwrap().to_string();
        let script = r#"
import json, sys
import boto3
endpoint, region, state_path, tag, attr, group_name = sys.argv[1:]
state = json.load(open(state_path))
group = next(r["instances"][0]["attributes"]["id"] for r in state["resources"]
             if r["mode"] == "managed" and r["type"] == "aws_security_group")
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region)
ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
    "IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
    "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": attr}]}])
ec2.create_tags(Resources=[group], Tags=[{"Key": "Name", "Value": tag}, {"Key": "Owner", "Value": attr}])
logs = boto3.client("logs", endpoint_url=endpoint, region_name=region)
logs.create_log_group(logGroupName=group_name)
logs.create_log_group(logGroupName="/app/" + tag)
print(group)
"#;
        let out = Command::new(python())
            .args(["-c", script])
            .arg(moto.endpoint_url())
            .arg(&region)
            .arg(&state)
            .args([XSS_TAG, XSS_ATTR, XSS_LOG_GROUP])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "changing moto by hand: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let group = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Scenario {
            dir,
            moto,
            state,
            region,
            group,
        }
    }

    /// A daemon config: the target on moto, drift confirmed by a re-read at
    /// once, a world-open rule at tier 3; `daemon` is the rest of `[daemon]`.
    pub fn config(&self, port: u16, listen_host: &str, daemon: &str) -> PathBuf {
        let path = self.dir.path().join(format!("config-{port}.toml"));
        let text = format!(
            r#"[store]
path = "{db}"

[findings]
reread_delay_seconds = 0

[attribution]
enabled = false

[[policy.rule]]
name = "world-open"
tier = 3
security = ["open_to_world"]

[daemon]
listen = "{listen_host}:{port}"
jitter_seconds = 0
interval_minutes = 60
{daemon}

[[target]]
name = "prod-web"
environment = "prod"
  [[target.state]]
  type = "file"
  path = "{state}"
  [target.aws]
  regions = ["{region}"]
  endpoint_url = "{endpoint}"
  [[target.aws.account]]
  id = "123456789012"
"#,
            db = self.dir.path().join("driftd.db").display(),
            state = self.state.display(),
            region = self.region,
            endpoint = self.moto.endpoint_url(),
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// `driftd run`, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Daemon {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path, port: u16, env: &[(&str, &str)]) -> Daemon {
        let log = config.with_extension("log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftd"));
        cmd.args(["run", "--config"])
            .arg(config)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon {
            child: cmd.spawn().unwrap(),
            port,
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the target's first scan is in and has findings; returns
    /// the overview's JSON.
    pub fn wait_for_findings(&mut self, headers: &[(&str, &str)]) -> Value {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("driftd run exited ({status}):\n{}", self.log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                let a = http(self.port, "GET", "/api/overview", headers, "");
                if a.status == 200 {
                    let v = a.json();
                    if v["targets"][0]["open"]["total"].as_u64().unwrap_or(0) > 0 {
                        return v;
                    }
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(180),
                "no findings after 3 minutes:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The finding rows of a scan's JSON.
pub fn rows(scan: &Value) -> &Vec<Value> {
    scan["findings"].as_array().unwrap()
}

/// No hostile value reached a page as markup.
pub fn assert_escaped(page: &str, what: &str) {
    for raw in [
        "<script>alert",
        "<img src=x",
        "onerror=alert(1)>\"",
        "\"><img",
    ] {
        assert!(
            !page.contains(raw),
            "{what} holds {raw:?} unescaped:\n{page}"
        );
    }
}

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

#[test]
fn the_report_pages_show_real_drift_escape_cloud_data_and_guard_decisions() {
    let scenario = Scenario::new();
    let port = free_port();
    let auto = scenario.dir.path().join("auto-report");
    let config = scenario.config(
        port,
        "127.0.0.1",
        &format!("report_dir = \"{}\"", auto.display()),
    );
    let mut daemon = Daemon::start(&config, port, &[]);
    let overview = daemon.wait_for_findings(&[]);
    let scan_id = overview["targets"][0]["last_scan"]["id"].as_i64().unwrap();
    assert_eq!(overview["targets"][0]["name"], "prod-web");
    // [daemon] report_dir: the static report follows each scan.
    let start = Instant::now();
    while !auto.join(format!("scans/{scan_id}.html")).is_file() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no static report in {}:\n{}",
            auto.display(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(auto.join("index.html").is_file());
    let summary = &overview["targets"][0]["last_scan"]["summary"];
    assert!(summary["listed"].as_u64().unwrap() > 10, "{summary}");
    assert_eq!(summary["unmanaged"], 2, "the two log groups: {summary}");
    assert_eq!(summary["changed"], 1, "the security group: {summary}");

    // Every page: 200, HTML, the security headers.
    let home = get(port, "/");
    assert_eq!(home.status, 200, "{}", home.body);
    assert_eq!(home.header("content-security-policy"), Some(CSP));
    assert_eq!(home.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(home.header("x-frame-options"), Some("DENY"));
    assert_eq!(home.header("referrer-policy"), Some("no-referrer"));
    assert!(home.body.contains("prod-web"), "{}", home.body);
    assert!(
        home.body.contains("<svg"),
        "the trend is drawn: {}",
        home.body
    );

    // The scan: its JSON lists exactly the drift made by hand.
    let scan = get(port, &format!("/api/scans/{scan_id}")).json();
    let found: Vec<(String, String, String)> = rows(&scan)
        .iter()
        .filter(|f| f["confirmed"] == true && f["ignored_by"].is_null())
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["resource_type"].as_str().unwrap().to_string(),
                f["resource_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut expected = vec![
        (
            "changed".to_string(),
            "aws_security_group".to_string(),
            scenario.group.clone(),
        ),
        (
            "unmanaged".to_string(),
            "aws_cloudwatch_log_group".to_string(),
            XSS_LOG_GROUP.to_string(),
        ),
        (
            "unmanaged".to_string(),
            "aws_cloudwatch_log_group".to_string(),
            format!("/app/{XSS_TAG}"),
        ),
    ];
    let mut found_sorted = found.clone();
    found_sorted.sort();
    expected.sort();
    assert_eq!(found_sorted, expected);
    let sg = rows(&scan)
        .iter()
        .find(|f| f["resource_type"] == "aws_security_group")
        .unwrap();
    assert_eq!(sg["tier"], 3, "world-open: {sg}");
    let sg_id = sg["id"].as_str().unwrap().to_string();

    let scan_html = get(port, &format!("/scans/{scan_id}"));
    assert_eq!(scan_html.status, 200);
    assert_escaped(&scan_html.body, "the scan page");
    assert!(
        scan_html
            .body
            .contains("&#34;&#62;&#60;img src=x onerror=alert(2)&#62;")
            || scan_html
                .body
                .contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "the log group's name is shown as text: {}",
        scan_html.body
    );

    // The finding: the diff holds the hostile tags, escaped.
    let finding = get(port, &format!("/api/findings/{sg_id}")).json();
    let paths: Vec<&str> = finding["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(paths.iter().any(|p| p.starts_with("tags")), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("ingress")), "{paths:?}");
    assert_eq!(finding["policy"]["rule"], "world-open");
    let finding_html = get(port, &format!("/findings/{sg_id}"));
    assert_eq!(finding_html.status, 200);
    assert_escaped(&finding_html.body, "the finding page");
    assert!(
        finding_html
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );

    let resource = get(
        port,
        &format!("/resources/aws_security_group/{}", scenario.group),
    );
    assert_eq!(resource.status, 200, "{}", resource.body);
    assert_escaped(&resource.body, "the resource page");
    let versions = get(
        port,
        &format!("/api/resources/aws_security_group/{}", scenario.group),
    )
    .json();
    let contents = versions["contents"].as_object().unwrap();
    assert!(
        contents.len() >= 2,
        "the state's and the cloud's version: {versions}"
    );
    assert!(
        contents
            .values()
            .any(|t| t.as_str().unwrap().contains("alert(1)</script>")),
        "the cloud's version holds the hand-made tag: {versions}"
    );
    let lg = get(
        port,
        &format!(
            "/api/resources/aws_cloudwatch_log_group/{}",
            driftd::report::html::percent_encode(XSS_LOG_GROUP)
        ),
    );
    assert_eq!(lg.status, 200, "{}", lg.body);
    assert_eq!(lg.json()["resource_id"], XSS_LOG_GROUP);
    assert_eq!(get(port, "/findings/ffffffffffffffff").status, 404);
    assert_eq!(get(port, "/api/scans/999999").status, 404);

    // Decisions: refused without the form's token, or from another site.
    let form = |csrf: &str| format!("csrf={csrf}&decision=ack&by=mallory&reason=");
    let ct = ("content-type", "application/x-www-form-urlencoded");
    let no_token = http(
        port,
        "POST",
        &format!("/findings/{sg_id}"),
        &[ct],
        &form("00"),
    );
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let csrf = finding_html
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let cross = http(
        port,
        "POST",
        &format!("/findings/{sg_id}"),
        &[
            ct,
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        &form(&csrf),
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    let cross_origin_only = http(
        port,
        "POST",
        &format!("/findings/{sg_id}"),
        &[ct, ("origin", "http://evil.example")],
        &form(&csrf),
    );
    assert_eq!(cross_origin_only.status, 403, "{}", cross_origin_only.body);
    let nameless = http(
        port,
        "POST",
        &format!("/findings/{sg_id}"),
        &[ct],
        &format!("csrf={csrf}&decision=ack&reason="),
    );
    assert_eq!(nameless.status, 400, "{}", nameless.body);
    let ok = http(
        port,
        "POST",
        &format!("/findings/{sg_id}"),
        &[ct, ("origin", &format!("http://127.0.0.1:{port}"))],
        &form(&csrf),
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    let after = get(port, &format!("/api/findings/{sg_id}")).json();
    assert_eq!(after["finding"]["state"], "acknowledged");
    let audit = get(port, "/api/audit?action=finding.").json();
    assert_eq!(audit["verification"]["broken_at"], Value::Null);
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "finding.acknowledged");
    assert_eq!(entry["actor"], "mallory (unauthenticated, report page)");
    assert_eq!(entry["subject"], sg_id.as_str());
    let audit_html = get(port, "/audit?actor=mallory");
    assert!(
        audit_html.body.contains("The chain holds"),
        "{}",
        audit_html.body
    );

    // The same pages as static files.
    drop(daemon);
    let out = scenario.dir.path().join("export");
    let run = Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(["report", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = std::fs::read_to_string(out.join(format!("findings/{sg_id}.html"))).unwrap();
    assert_escaped(&page, "the exported finding page");
    assert!(page.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(!page.contains("<form"), "no decisions in a static export");
    for f in [
        "index.html",
        "audit.html",
        "assets/style.css",
        "assets/app.js",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(out.join(format!("scans/{scan_id}.html")).is_file());
}

#[test]
fn bound_off_loopback_every_page_and_api_needs_the_token() {
    let scenario = Scenario::new();
    let port = free_port();
    let config = scenario.config(
        port,
        "0.0.0.0",
        "token = { env = \"DRIFTD_TEST_HTTP_TOKEN\" }",
    );
    let token = "report-test-token-3f1c9a";
    let mut daemon = Daemon::start(&config, port, &[("DRIFTD_TEST_HTTP_TOKEN", token)]);
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let overview = daemon.wait_for_findings(&auth);
    let scan_id = overview["targets"][0]["last_scan"]["id"].as_i64().unwrap();
    for path in [
        "/".to_string(),
        "/api/overview".to_string(),
        format!("/scans/{scan_id}"),
        format!("/api/scans/{scan_id}"),
        "/audit".to_string(),
        "/assets/app.js".to_string(),
    ] {
        let refused = get(port, &path);
        assert_eq!(refused.status, 401, "{path}: {}", refused.body);
        assert!(!refused.body.contains("prod-web"), "{path}");
        let wrong = http(port, "GET", &path, &[("authorization", "Bearer nope")], "");
        assert_eq!(wrong.status, 401, "{path}");
        let ok = http(port, "GET", &path, &auth, "");
        assert_eq!(ok.status, 200, "{path}: {}", ok.body);
    }
    assert!(!daemon.log().contains(token), "the token is never logged");
}

/// How long the browser test waits for something asynchronous.
const WAIT: Duration = Duration::from_secs(15);

/// Rows of the scan page's finding tables a person sees now.
const VISIBLE_ROWS: &str = "return Array.from(document.querySelectorAll('table.findings tbody tr'))\
    .filter(r => r.offsetParent !== null).length;";

#[tokio::test(flavor = "multi_thread")]
async fn report_in_chromium_loads_clean_filters_escapes_and_records_an_ack() {
    use crate::support::browser::Browser;
    let (scenario, port, mut daemon) = tokio::task::spawn_blocking(|| {
        let scenario = Scenario::new();
        let port = free_port();
        let config = scenario.config(port, "127.0.0.1", "");
        let daemon = Daemon::start(&config, port, &[]);
        (scenario, port, daemon)
    })
    .await
    .unwrap();
    let overview = tokio::task::block_in_place(|| daemon.wait_for_findings(&[]));
    let scan_id = overview["targets"][0]["last_scan"]["id"].as_i64().unwrap();
    let scan = get(port, &format!("/api/scans/{scan_id}")).json();
    let id_of = |resource_type: &str, resource_id: &str| {
        rows(&scan)
            .iter()
            .find(|f| f["resource_type"] == resource_type && f["resource_id"] == resource_id)
            .unwrap_or_else(|| panic!("no finding for {resource_type} {resource_id}: {scan}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let sg = id_of("aws_security_group", &scenario.group);
    let log_group = id_of("aws_cloudwatch_log_group", XSS_LOG_GROUP);
    let base = format!("http://127.0.0.1:{port}");
    let pages = [
        ("overview", "/".to_string()),
        ("scan", format!("/scans/{scan_id}")),
        ("finding-changed", format!("/findings/{sg}")),
        ("finding-unmanaged", format!("/findings/{log_group}")),
        (
            "resource",
            format!("/resources/aws_security_group/{}", scenario.group),
        ),
        ("audit", "/audit".to_string()),
    ];

    let browser = Browser::start().await;
    for (name, path) in &pages {
        browser.goto(&format!("{base}{path}")).await;
        assert_eq!(browser.alert_text().await, None, "{name}: a dialog opened");
        let errors = browser.console_errors().await;
        assert!(errors.is_empty(), "{name}: console errors: {errors:?}");
        let injected = browser
            .exec(
                "return document.querySelectorAll('img[src=x], script:not([src])').length;",
                &[],
            )
            .await;
        assert_eq!(injected, 0, "{name}: markup from cloud data");
        browser.screenshot(format!("report-{name}.png")).await;
    }

    // Cloud data shows as text where it belongs.
    browser.goto(&format!("{base}/scans/{scan_id}")).await;
    let shows = |needle: &str| {
        let needle = needle.to_string();
        let b = &browser;
        async move {
            b.exec(
                "return document.body.textContent.includes(arguments[0]);",
                &[Value::String(needle)],
            )
            .await
                == Value::Bool(true)
        }
    };
    assert!(shows(XSS_LOG_GROUP).await, "the log group's name, as text");
    // Filters: by kind, then a search.
    assert_eq!(browser.exec(VISIBLE_ROWS, &[]).await, 3);
    browser
        .find("#f-kind option[value=unmanaged]")
        .await
        .click()
        .await;
    assert_eq!(browser.exec(VISIBLE_ROWS, &[]).await, 2, "unmanaged only");
    browser.find("#f-kind option[value='']").await.click().await;
    browser.find("#q").await.send_keys(&scenario.group).await;
    assert_eq!(browser.exec(VISIBLE_ROWS, &[]).await, 1, "searched by id");
    browser
        .find("#f-tier option[value='3']")
        .await
        .click()
        .await;
    assert_eq!(
        browser.exec(VISIBLE_ROWS, &[]).await,
        1,
        "tier 3 and the id"
    );
    browser
        .find("#f-tier option[value='1']")
        .await
        .click()
        .await;
    assert_eq!(
        browser.exec(VISIBLE_ROWS, &[]).await,
        0,
        "tier 1 and the id"
    );
    browser.screenshot("report-scan-filtered.png").await;

    browser.goto(&format!("{base}/findings/{sg}")).await;
    assert!(shows(XSS_TAG).await, "the hostile tag, as text");
    assert!(shows(XSS_ATTR).await, "the hostile description, as text");

    // An ack through the page: the finding changes, the audit trail says who.
    browser.goto(&format!("{base}/findings/{log_group}")).await;
    browser.find("input[name=by]").await.send_keys("erin").await;
    browser
        .find("input[name=reason]")
        .await
        .send_keys("INC-4211: removing it")
        .await;
    browser.find("button[value=ack]").await.click().await;
    let flash = browser.wait_for(".flash", WAIT).await.text().await;
    assert!(flash.starts_with("Acknowledged."), "{flash}");
    assert!(browser.console_errors().await.is_empty());
    browser.screenshot("report-finding-acknowledged.png").await;
    let after = get(port, &format!("/api/findings/{log_group}")).json();
    assert_eq!(after["finding"]["state"], "acknowledged");
    assert_eq!(after["finding"]["state_reason"], "INC-4211: removing it");
    let audit = get(port, "/api/audit").json();
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "finding.acknowledged");
    assert_eq!(entry["actor"], "erin (unauthenticated, report page)");
    assert_eq!(entry["subject"], log_group.as_str());
    browser.goto(&format!("{base}/audit")).await;
    assert!(shows("erin (unauthenticated, report page)").await);
    drop(browser);
    tokio::task::block_in_place(|| drop(daemon));
    drop(scenario);
}
