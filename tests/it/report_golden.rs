//! The report templates against golden files (`tests/golden/report/`):
//! every page rendered from a store built through the real scan path at
//! fixed times, compared byte for byte. `DRIFTD_BLESS=1 cargo test --test it
//! report_golden` rewrites the files after a deliberate change; review the
//! diff (and open the HTML) before committing it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use driftd::findings::{Decision, Kind, Observation};
use driftd::model::ResourceKey;
use driftd::report::data;
use driftd::report::html::{self, Common, Site};
use driftd::secrets::SecretKey;
use driftd::store::{AuditFilter, ScanId, ScanSummary, Store};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::notify_flow::{changed, config, scan};
use crate::report::{XSS_ATTR, XSS_TAG, assert_escaped};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap()
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/report")
        .join(name)
}

/// Compares, or rewrites under `DRIFTD_BLESS=1`.
fn check(name: &str, page: &str) {
    assert_escaped(page, name);
    let path = golden(name);
    if std::env::var_os("DRIFTD_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, page).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with DRIFTD_BLESS=1 to write it",
            path.display()
        )
    });
    if want != page {
        let line = want
            .lines()
            .zip(page.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(page.lines().count()));
        panic!(
            "{name} differs from {} at line {}:\n want: {:?}\n  got: {:?}\n(DRIFTD_BLESS=1 rewrites it after a deliberate change)",
            path.display(),
            line + 1,
            want.lines().nth(line),
            page.lines().nth(line)
        );
    }
}

fn unmanaged_role(id: &str) -> Observation {
    Observation {
        kind: Kind::Unmanaged,
        key: ResourceKey {
            provider: "aws".into(),
            resource_type: "aws_iam_role".into(),
            id: id.into(),
        },
        address: None,
        attributes: BTreeSet::new(),
        changes: serde_json::Value::Null,
        ignored_by: None,
        confirmed_by_reread: false,
        desired_version: None,
        live_version: None,
    }
}

#[test]
fn every_page_matches_its_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "http://127.0.0.1:9/pd",
        "http://127.0.0.1:9/hook",
        "http://127.0.0.1:9/escalation",
        "",
    );
    let store = Store::open(dir.path().join("report.db")).unwrap();
    let key = SecretKey::from_bytes([7; 32]);
    let mut bucket = changed("aws_s3_bucket", "logs-prod-eu", "tags");
    bucket.changes = json!({
        "tags.Name": {"recorded": "logs", "live": XSS_TAG},
        "tags.Owner": {"recorded": "platform", "live": XSS_ATTR},
    });
    let observed = vec![
        changed("aws_security_group", "sg-0a1b2c3d4e5f60718", "ingress"),
        bucket,
        unmanaged_role(XSS_ATTR),
    ];
    scan(&store, &cfg, "prod-network", t0(), &observed);
    scan(
        &store,
        &cfg,
        "prod-network",
        t0() + Duration::hours(1),
        &observed,
    );
    let (target, scan_id) = store
        .read(|r| {
            let t = r.target_by_name("prod-network")?.unwrap();
            let s = r.last_scan(t.id)?.unwrap();
            Ok::<_, driftd::store::StoreError>((t, s.id))
        })
        .unwrap();
    store
        .write(|w| {
            w.record_scan_summary(
                scan_id,
                t0() + Duration::hours(1),
                &ScanSummary {
                    listed: 412,
                    in_states: 380,
                    managed: 377,
                    unmanaged: 1,
                    missing: 0,
                    changed: 2,
                    ignored: 0,
                    not_checked: 3,
                    unknown: 0,
                    coverage: 377.0 / 378.0,
                    incomplete: vec![],
                    needing_attention: 3,
                },
            )
        })
        .unwrap();
    let sg = store
        .read(|r| r.scan_finding_rows(target.id, scan_id.0))
        .unwrap()
        .into_iter()
        .find(|f| f.resource_type == "aws_security_group")
        .unwrap()
        .id;
    driftd::findings::ops::apply(
        &store,
        &key,
        &sg,
        Decision::Acknowledge {
            reason: Some("INC-4211".into()),
        },
        "alice",
        t0() + Duration::hours(2),
    )
    .unwrap();

    let now = t0() + Duration::hours(3);
    let c = Common::new(Site::served(), Some("alice".into()), now);
    let pages = store
        .read(|r| -> Result<_, data::PageError> {
            Ok((
                data::overview(r, now, None)?,
                data::scan_page(r, scan_id.0)?,
                data::finding_page(r, &sg)?,
                data::resource_page(r, "aws_security_group", "sg-0a1b2c3d4e5f60718")?,
                data::audit_page(r, &key, &AuditFilter::default())?,
            ))
        })
        .unwrap();
    let (overview, scan_page, finding, resource, audit) = pages;
    assert_eq!(scan_page.scan.id, ScanId(scan_id.0).0);
    check("overview.html", &html::overview(&c, &overview));
    check("scan.html", &html::scan(&c, &scan_page));
    let form = html::ActionForm {
        action: Site::served().finding(&sg),
        csrf: "0123abcd".into(),
        ask_name: false,
    };
    check(
        "finding.html",
        &html::finding(&c, &finding, Some(form), Some("Acknowledged.".into())),
    );
    check("resource.html", &html::resource(&c, &resource));
    check(
        "audit.html",
        &html::audit(&c, &audit, &AuditFilter::default()),
    );
    let exported = Common::new(Site::exported(1), None, now);
    check(
        "finding-static.html",
        &html::finding(&exported, &finding, None, None),
    );
    // The unmanaged role's page: its id is hostile, and shown as text.
    let role = store
        .read(|r| data::resource_page(r, "aws_iam_role", XSS_ATTR))
        .unwrap();
    check("resource-hostile-id.html", &html::resource(&c, &role));
}
