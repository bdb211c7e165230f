//! The pages as HTML: compiled askama templates (`src/report/templates/`),
//! which escape every value; the only unescaped output is the SVG that
//! `svg.rs` builds (and escapes) itself.

use askama::Template;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

use super::data::{AuditPage, FindingPage, Overview, ResourcePage, ScanPage, TargetOverview};
use super::svg;
use crate::store::FindingRow;

/// The Content-Security-Policy of every page: nothing inline, nothing from
/// elsewhere. Static exports carry it in a `<meta>` (without
/// `frame-ancestors`, which only a header can set).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const CSP_META: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                        form-action 'none'; base-uri 'none'";

/// The stylesheet and the filter script, served at `/assets/` and written
/// beside a static export.
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
];

/// Where links point: the daemon's paths, or a static export's files.
#[derive(Debug, Clone)]
pub struct Site {
    pub static_export: bool,
    /// The way back to the export's top directory from this page (`""`,
    /// `"../"`, `"../../"`), or the served root (`/`).
    pub root: String,
}

impl Site {
    pub fn served() -> Site {
        Site {
            static_export: false,
            root: "/".into(),
        }
    }

    /// For a page `depth` directories below the export's top.
    pub fn exported(depth: usize) -> Site {
        Site {
            static_export: true,
            root: "../".repeat(depth),
        }
    }

    pub fn overview(&self) -> String {
        if self.static_export {
            format!("{}index.html", self.root)
        } else {
            "/".into()
        }
    }

    /// Takes the id by value or by reference (templates hold references).
    pub fn scan(&self, id: impl std::fmt::Display) -> String {
        self.page(&format!("scans/{id}"))
    }

    pub fn finding(&self, id: &str) -> String {
        self.page(&format!("findings/{id}"))
    }

    pub fn audit(&self) -> String {
        self.page("audit")
    }

    /// A resource's page: served as `/resources/<type>/<id>` with the id
    /// percent-encoded (ARNs hold `/` and `:`); exported as a file name made
    /// of the id's safe characters and a hash of the whole id.
    pub fn resource(&self, resource_type: &str, id: &str) -> String {
        if self.static_export {
            format!(
                "{}resources/{}/{}.html",
                self.root,
                file_safe(resource_type),
                resource_file(id)
            )
        } else {
            format!(
                "/resources/{}/{}",
                percent_encode(resource_type),
                percent_encode(id)
            )
        }
    }

    pub fn asset(&self, name: &str) -> String {
        format!("{}assets/{name}", self.root)
    }

    fn page(&self, path: &str) -> String {
        if self.static_export {
            format!("{}{path}.html", self.root)
        } else {
            format!("/{path}")
        }
    }
}

/// Everything but letters, digits, `-`, `_` and `.` as `%XX`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// The export file name of a resource id: readable, and unique by a hash.
pub fn resource_file(id: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(id.as_bytes());
    format!("{}-{}", file_safe(id), hex::encode(&h[..6]))
}

/// What every page has.
pub struct Common {
    pub site: Site,
    /// The signed-in user, shown in the header.
    pub user: Option<String>,
    pub version: &'static str,
    pub generated: String,
    pub csp: &'static str,
}

impl Common {
    pub fn new(site: Site, user: Option<String>, now: DateTime<Utc>) -> Common {
        Common {
            csp: CSP_META,
            site,
            user,
            version: env!("CARGO_PKG_VERSION"),
            generated: now.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// Per target, what the overview draws beside its data.
pub struct TargetExtras {
    pub trend: String,
    pub coverage: Option<String>,
}

#[derive(Template)]
#[template(path = "overview.html", config = "src/report/askama.toml")]
struct OverviewHtml<'a> {
    c: &'a Common,
    page: &'a Overview,
    extras: Vec<TargetExtras>,
}

pub fn overview(c: &Common, page: &Overview) -> String {
    let extras = page.targets.iter().map(target_extras).collect();
    render(&OverviewHtml { c, page, extras })
}

fn target_extras(t: &TargetOverview) -> TargetExtras {
    let points: Vec<svg::TrendPoint> = t
        .trend
        .iter()
        .map(|d| svg::TrendPoint {
            day: d.day,
            open: d.open_findings.unwrap_or(0),
            coverage: d.coverage,
        })
        .collect();
    let coverage = t
        .last_scan
        .as_ref()
        .and_then(|s| s.summary.as_ref())
        .or(t.last_compared.as_ref().and_then(|s| s.summary.as_ref()))
        .map(|s| format!("{:.1} %", s.coverage * 100.0));
    TargetExtras {
        trend: svg::trend(&points, 560, 160),
        coverage,
    }
}

/// One tier's findings, by type.
struct TierGroup<'a> {
    /// `3`, `2`, `1` or `-`.
    tier: String,
    label: String,
    types: Vec<TypeGroup<'a>>,
}

struct TypeGroup<'a> {
    name: &'a str,
    rows: Vec<&'a FindingRow>,
}

#[derive(Template)]
#[template(path = "scan.html", config = "src/report/askama.toml")]
struct ScanHtml<'a> {
    c: &'a Common,
    page: &'a ScanPage,
    groups: Vec<TierGroup<'a>>,
    types: BTreeSet<&'a str>,
    channels: BTreeSet<&'a str>,
    shown: usize,
}

pub fn scan(c: &Common, page: &ScanPage) -> String {
    // The rows come sorted by tier (highest first), then type.
    let mut groups: Vec<TierGroup<'_>> = Vec::new();
    for f in &page.findings {
        let tier = f.tier.map_or("-".to_string(), |t| t.to_string());
        if groups.last().is_none_or(|g| g.tier != tier) {
            groups.push(TierGroup {
                label: match f.tier {
                    Some(t) => format!("Tier {t}: {}", crate::policy::tier_name(t)),
                    None => "No tier".to_string(),
                },
                tier,
                types: Vec::new(),
            });
        }
        let group = groups.last_mut().expect("pushed above");
        if group.types.last().is_none_or(|t| t.name != f.resource_type) {
            group.types.push(TypeGroup {
                name: &f.resource_type,
                rows: Vec::new(),
            });
        }
        group.types.last_mut().expect("pushed above").rows.push(f);
    }
    let html = ScanHtml {
        c,
        page,
        types: page
            .findings
            .iter()
            .map(|f| f.resource_type.as_str())
            .collect(),
        channels: page
            .findings
            .iter()
            .filter_map(|f| f.channel.as_deref())
            .collect(),
        shown: page
            .findings
            .iter()
            .filter(|f| f.confirmed && f.ignored_by.is_none())
            .count(),
        groups,
    };
    render(&html)
}

/// The ack/accept/snooze form of a finding page (served pages only).
pub struct ActionForm {
    pub action: String,
    pub csrf: String,
    /// No one is signed in (a localhost listener without users): the form
    /// asks who is deciding, and records it as unauthenticated.
    pub ask_name: bool,
}

#[derive(Template)]
#[template(path = "finding.html", config = "src/report/askama.toml")]
struct FindingHtml<'a> {
    c: &'a Common,
    page: &'a FindingPage,
    f: &'a crate::findings::Finding,
    actions: Option<ActionForm>,
    flash: Option<String>,
    blast_svg: String,
}

pub fn finding(
    c: &Common,
    page: &FindingPage,
    actions: Option<ActionForm>,
    flash: Option<String>,
) -> String {
    let blast_svg = page
        .blast_radius
        .as_ref()
        .map(|b| {
            let n = svg::Neighbourhood {
                nodes: b
                    .nodes
                    .iter()
                    .map(|n| svg::GraphNode {
                        label: n.address.clone(),
                        href: (n.level > 0)
                            .then(|| c.site.resource(&n.resource_type, &n.resource_id)),
                        level: n.level,
                    })
                    .collect(),
                edges: b.edges.clone(),
                more: b.more,
            };
            svg::blast_radius(&n, 900, "blast")
        })
        .unwrap_or_default();
    render(&FindingHtml {
        c,
        f: &page.finding,
        page,
        actions,
        flash,
        blast_svg,
    })
}

#[derive(Template)]
#[template(path = "resource.html", config = "src/report/askama.toml")]
struct ResourceHtml<'a> {
    c: &'a Common,
    page: &'a ResourcePage,
}

pub fn resource(c: &Common, page: &ResourcePage) -> String {
    render(&ResourceHtml { c, page })
}

#[derive(Template)]
#[template(path = "audit.html", config = "src/report/askama.toml")]
struct AuditHtml<'a> {
    c: &'a Common,
    page: &'a AuditPage,
    filter_actor: &'a str,
    filter_action: &'a str,
    filter_subject: &'a str,
}

pub fn audit(c: &Common, page: &AuditPage, filter: &crate::store::AuditFilter) -> String {
    render(&AuditHtml {
        c,
        page,
        filter_actor: filter.actor.as_deref().unwrap_or(""),
        filter_action: filter.action.as_deref().unwrap_or(""),
        filter_subject: filter.subject.as_deref().unwrap_or(""),
    })
}

#[derive(Template)]
#[template(path = "error.html", config = "src/report/askama.toml")]
struct ErrorHtml<'a> {
    c: &'a Common,
    heading: &'a str,
    message: &'a str,
}

pub fn error(c: &Common, heading: &str, message: &str) -> String {
    render(&ErrorHtml {
        c,
        heading,
        message,
    })
}

/// Templates only fail when writing to a `String` fails, which it does not
/// (a value's `Display` failing is a bug, shown as such).
fn render(t: &impl Template) -> String {
    t.render()
        .unwrap_or_else(|e| format!("<!DOCTYPE html><p>driftd could not render this page: {e}</p>"))
}
