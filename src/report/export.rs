//! The report as static files (`driftd report --out DIR`, and after each
//! scan when `[report] export_dir` is set): the same pages as the daemon
//! serves, minus the decision forms, with relative links, the stylesheet
//! and script beside them, and the Content-Security-Policy in a `<meta>`.
//!
//! Layout: `index.html` (the overview), `audit.html`, `scans/<id>.html`
//! (each target's latest [`SCANS_PER_TARGET`] scans), `findings/<id>.html`
//! (every finding those scans saw, and every finding still active),
//! `resources/<type>/<id>-<hash>.html`, `assets/`. Each file is written to
//! a temporary name and renamed, so a web server never serves half a page.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::data::{self, PageError};
use super::html::{self, Common, Site};
use crate::secrets::SecretKey;
use crate::store::{AuditFilter, FindingFilter, Store, StoreError};

/// How many of each target's latest scans get a page.
pub const SCANS_PER_TARGET: usize = 20;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "cannot write {path}: {source}; check that the directory exists, is writable and has space"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no target named {0:?} in the store (has it been scanned?)")]
    NoTarget(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    pub scans: usize,
    pub findings: usize,
    pub resources: usize,
    pub files: usize,
}

/// Writes the report of every target (or of `only`) into `out`.
pub fn export(
    store: &Store,
    key: &SecretKey,
    out: &Path,
    only: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Exported, ExportError> {
    // One read transaction: the pages agree with each other.
    let pages = store.read(|r| -> Result<_, ExportError> {
        let overview = data::overview(r, now, only)?;
        if let Some(name) = only
            && overview.targets.is_empty()
        {
            return Err(ExportError::NoTarget(name.to_string()));
        }
        let mut scans = Vec::new();
        let mut finding_ids = BTreeSet::new();
        for t in &overview.targets {
            let Some(row) = r.target_by_name(&t.name)? else {
                continue;
            };
            for s in r.scans(row.id, SCANS_PER_TARGET)? {
                let page = data::scan_page(r, s.id.0).map_err(page_error)?;
                finding_ids.extend(page.findings.iter().map(|f| f.id.clone()));
                scans.push(page);
            }
            let active = r.findings(&FindingFilter {
                target: Some(t.name.clone()),
                states: ["open", "acknowledged", "accepted", "snoozed"]
                    .map(String::from)
                    .to_vec(),
                include_unconfirmed: true,
                include_ignored: true,
                limit: 0,
            })?;
            finding_ids.extend(active.into_iter().map(|f| f.id));
        }
        let exported: BTreeSet<i64> = scans.iter().map(|s| s.scan.id).collect();
        for s in &mut scans {
            // Links to scans not exported would lead nowhere.
            s.previous = s.previous.filter(|p| exported.contains(p));
            s.next = s.next.filter(|n| exported.contains(n));
        }
        let mut findings = Vec::new();
        let mut resources = BTreeSet::new();
        for id in &finding_ids {
            let page = data::finding_page(r, id).map_err(page_error)?;
            resources.insert((
                page.finding.key.resource_type.to_string(),
                page.finding.key.id.to_string(),
            ));
            findings.push(page);
        }
        let resources = resources
            .into_iter()
            .map(|(t, id)| data::resource_page(r, &t, &id).map_err(page_error))
            .collect::<Result<Vec<_>, _>>()?;
        let audit = data::audit_page(r, key, &AuditFilter::default())?;
        Ok((overview, scans, findings, resources, audit))
    })?;
    let (overview, scans, findings, resources, audit) = pages;

    let mut files = 0;
    let mut write = |rel: &str, body: &[u8]| -> Result<(), ExportError> {
        write_atomically(&out.join(rel), body)?;
        files += 1;
        Ok(())
    };
    let at = |depth| Common::new(Site::exported(depth), None, now);
    for (name, _, body) in html::ASSETS {
        write(&format!("assets/{name}"), body.as_bytes())?;
    }
    write("index.html", html::overview(&at(0), &overview).as_bytes())?;
    write(
        "audit.html",
        html::audit(&at(0), &audit, &AuditFilter::default()).as_bytes(),
    )?;
    for s in &scans {
        write(
            &format!("scans/{}.html", s.scan.id),
            html::scan(&at(1), s).as_bytes(),
        )?;
    }
    for f in &findings {
        write(
            &format!("findings/{}.html", f.finding.id),
            html::finding(&at(1), f, None, None).as_bytes(),
        )?;
    }
    for res in &resources {
        // The link the pages use, made relative to the export's top.
        let link = Site::exported(0).resource(&res.resource_type, &res.resource_id);
        write(&link, html::resource(&at(2), res).as_bytes())?;
    }
    Ok(Exported {
        scans: scans.len(),
        findings: findings.len(),
        resources: resources.len(),
        files,
    })
}

fn page_error(e: PageError) -> ExportError {
    match e {
        PageError::Store(e) => ExportError::Store(e),
        // A page the export itself listed is there: a concurrent prune is
        // the only way, and the read transaction rules it out.
        PageError::NotFound(what) => ExportError::Store(StoreError::Corrupt {
            what: "the report export".into(),
            reason: what,
        }),
    }
}

fn write_atomically(path: &Path, body: &[u8]) -> Result<(), ExportError> {
    let err = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().expect("export paths have a directory");
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .expect("export paths name a file")
            .to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(body)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}
