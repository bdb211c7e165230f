//! What the report pages show over time (schema/0006_report.sql): each
//! scan's totals, and one row per target and day that outlives the
//! retention of scans.

use super::{Reader, ScanId, StoreError, TargetId, Writer};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// A scan's totals, stored with it when it compared with the cloud.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// Live resources listed, over every type, account and region.
    pub listed: usize,
    /// Managed resources in the states.
    pub in_states: usize,
    /// Live resources a state manages (changed or not).
    pub managed: usize,
    pub unmanaged: usize,
    pub missing: usize,
    pub changed: usize,
    /// Drifts an ignore rule hid.
    pub ignored: usize,
    /// State resources of types driftd has no rules for.
    pub not_checked: usize,
    /// State resources whose listing did not complete: neither missing nor matched.
    pub unknown: usize,
    /// managed / (managed + unmanaged), 0.0 to 1.0.
    pub coverage: f64,
    /// The listings that did not complete: "type in account/region: reason".
    pub incomplete: Vec<String>,
    /// Findings of the target needing attention after this scan.
    pub needing_attention: usize,
}

/// One target's scans of one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanDay {
    pub day: NaiveDate,
    pub scans: u32,
    pub partial: u32,
    pub failed: u32,
    /// After the day's last scan that compared with the cloud.
    pub open_findings: Option<u32>,
    pub coverage: Option<f64>,
}

impl Writer<'_> {
    /// Counts a finished scan in its day (`finish_scan` and the repair of
    /// interrupted scans call it).
    pub(super) fn count_scan_day(
        &self,
        scan: ScanId,
        ended_at: DateTime<Utc>,
        status: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO scan_days (target_id, day, scans, partial, failed)
                 SELECT target_id, ?2, 1, ?3 = 'partial', ?3 = 'failed' FROM scans WHERE id = ?1
                 ON CONFLICT (target_id, day) DO UPDATE SET
                     scans = scans + 1,
                     partial = partial + excluded.partial,
                     failed = failed + excluded.failed",
            )?
            .execute(params![scan.0, ended_at.date_naive().to_string(), status])?;
        Ok(())
    }

    /// Stores a finished scan's totals, and its day's latest open findings
    /// and coverage.
    pub fn record_scan_summary(
        &self,
        scan: ScanId,
        ended_at: DateTime<Utc>,
        summary: &ScanSummary,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(summary).expect("a summary serialises");
        self.conn
            .prepare_cached("UPDATE scans SET summary = ?2 WHERE id = ?1 AND ended_at IS NOT NULL")?
            .execute(params![scan.0, json])?;
        self.conn
            .prepare_cached(
                "UPDATE scan_days SET open_findings = ?3, coverage = ?4
                 WHERE target_id = (SELECT target_id FROM scans WHERE id = ?1) AND day = ?2",
            )?
            .execute(params![
                scan.0,
                ended_at.date_naive().to_string(),
                summary.needing_attention as i64,
                summary.coverage
            ])?;
        Ok(())
    }
}

impl Reader<'_> {
    /// A scan's totals, when it compared with the cloud.
    pub fn scan_summary(&self, scan: ScanId) -> Result<Option<ScanSummary>, StoreError> {
        let text: Option<Option<String>> = self
            .conn
            .prepare_cached("SELECT summary FROM scans WHERE id = ?1")?
            .query_row([scan.0], |row| row.get(0))
            .optional()?;
        match text.flatten() {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    what: format!("the summary of scan {scan}"),
                    reason: e.to_string(),
                }),
        }
    }

    /// A target's days from `since` on, oldest first.
    pub fn scan_days(
        &self,
        target: TargetId,
        since: NaiveDate,
    ) -> Result<Vec<ScanDay>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, scans, partial, failed, open_findings, coverage FROM scan_days
             WHERE target_id = ?1 AND day >= ?2 ORDER BY day",
        )?;
        let rows = stmt.query_map(params![target.0, since.to_string()], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, u32>(2)?,
                row.get::<_, u32>(3)?,
                row.get::<_, Option<u32>>(4)?,
                row.get::<_, Option<f64>>(5)?,
            ))
        })?;
        rows.map(|r| {
            let (day, scans, partial, failed, open_findings, coverage) = r?;
            let day =
                NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| StoreError::Corrupt {
                    what: format!("scan day {day:?}"),
                    reason: e.to_string(),
                })?;
            Ok(ScanDay {
                day,
                scans,
                partial,
                failed,
                open_findings,
                coverage,
            })
        })
        .collect()
    }

    /// The latest finished scans of a target, newest first, with their
    /// totals: the overview's "last scan" and a scan list.
    pub fn recent_scans(
        &self,
        target: TargetId,
        limit: usize,
    ) -> Result<Vec<(super::ScanRow, Option<ScanSummary>)>, StoreError> {
        let scans = self.scans(target, limit)?;
        scans
            .into_iter()
            .map(|s| {
                let summary = self.scan_summary(s.id)?;
                Ok((s, summary))
            })
            .collect()
    }
}
