//! One scan stored as `scan_target` stores it, without listing: both sides,
//! the diff observed, findings reconciled and attribution searches started,
//! in one write transaction (the attribution tests and benchmark).

use chrono::{DateTime, Utc};

use driftd::attribution::run::start_searches;
use driftd::config::{AttributionSettings, Target};
use driftd::live::LiveInventory;
use driftd::model::Resource;
use driftd::store::{ScanOutcome, ScanStatus, Side, Store};

/// One scan as `scan_target` stores it, without listing: both sides stored,
/// the diff observed, findings reconciled and searches started, in one
/// write transaction.
pub fn scan(
    store: &Store,
    target: &Target,
    settings: &AttributionSettings,
    (started, ended): (DateTime<Utc>, DateTime<Utc>),
    desired: &[Resource],
    inventory: &LiveInventory,
) -> usize {
    let drift = driftd::diff::diff(
        desired,
        inventory,
        &driftd::aws::types::rules,
        &Default::default(),
    );
    let observed = driftd::findings::observe(&drift.drifts, &[]);
    let complete = driftd::scan::complete_types(&inventory.coverage);
    store
        .write(|w| {
            let target_id = w.upsert_target(&target.name, &target.environment)?;
            let scan = w.begin_scan(target_id, started)?;
            w.store_resources(scan, Side::Desired, desired)?;
            w.store_resources(scan, Side::Live, &inventory.resources)?;
            w.finish_scan(
                scan,
                &ScanOutcome {
                    ended_at: ended,
                    status: ScanStatus::Complete,
                    source_versions: vec![],
                    diagnostics: vec![],
                },
            )?;
            driftd::scan::update_findings(
                w,
                target_id,
                &target.name,
                &observed,
                driftd::findings::ScanInfo {
                    scan_id: scan.0,
                    at: ended,
                },
                &complete,
                &driftd::findings::Policy { confirm_after: 1 },
            )?;
            start_searches(
                w,
                target_id,
                target.aws.as_ref().unwrap(),
                desired,
                &inventory.resources,
                settings,
                ended,
            )
        })
        .unwrap()
}
