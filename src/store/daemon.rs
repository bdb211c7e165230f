//! What the daemon reads for its status line and `/metrics`, and the repair
//! of scans a stopped process left running.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::StoreError;
use super::dao::{Reader, Writer, time_to_sql};

/// Findings that need attention (open or acknowledged, visible, not
/// ignored), counted by tier and kind. A finding no tier was decided for yet
/// counts as tier 1.
pub type OpenByTierKind = BTreeMap<(u8, String), u64>;

impl Reader<'_> {
    pub fn open_findings_by_tier_kind(&self) -> Result<OpenByTierKind, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT coalesce(p.tier, 1), f.kind, count(*)
               FROM findings f LEFT JOIN finding_policy p ON p.finding_id = f.id
              WHERE f.state IN ('open', 'acknowledged') AND f.visible = 1
                AND f.ignored_by IS NULL
              GROUP BY 1, 2",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                (r.get::<_, i64>(0)? as u8, r.get::<_, String>(1)?),
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Searches still looking, and how long ago the oldest one's window
    /// ended: how far attribution lags behind the scans.
    pub fn attribution_backlog(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(u64, Option<chrono::Duration>), StoreError> {
        let (count, oldest): (i64, Option<String>) = self.conn.query_row(
            "SELECT count(*), min(window_end) FROM attributions WHERE status = 'pending'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let lag = oldest
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| now - t.with_timezone(&Utc));
        Ok((count as u64, lag))
    }
}

impl Writer<'_> {
    /// Scans still `running` in the store when none of them (or none of
    /// `target`'s) can be: the process stopped, or the daemon cancelled it. They become `failed` with a
    /// diagnostic; their findings were never touched (a scan writes them in
    /// its last transaction). Returns how many.
    pub fn fail_interrupted_scans(
        &self,
        target: Option<super::TargetId>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let diagnostic = serde_json::to_string(&[crate::diag::Diagnostic::error(
            "scan",
            "driftd stopped while this scan ran: it was not finished and changed no finding",
        )])
        .map_err(|e| StoreError::Corrupt {
            what: "a diagnostic".into(),
            reason: e.to_string(),
        })?;
        let running: Vec<i64> = self
            .conn
            .prepare(
                "SELECT id FROM scans WHERE status = 'running' AND (?1 IS NULL OR target_id = ?1)",
            )?
            .query_map([target.map(|t| t.0)], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for id in running {
            self.count_scan_day(super::ScanId(id), now, "failed")?;
        }
        let n = self.conn.execute(
            "UPDATE scans SET status = 'failed', ended_at = ?1, diagnostics = ?2
              WHERE status = 'running' AND (?3 IS NULL OR target_id = ?3)",
            params![time_to_sql(now), diagnostic, target.map(|t| t.0)],
        )?;
        Ok(n)
    }
}
