//! What the store holds and how large it is (`driftd db stats`).

use super::dao::Reader;
use super::{StoreError, TargetId};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The sizes of the database and what is in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreSizes {
    /// The database file, `None` in memory.
    pub path: Option<String>,
    /// Bytes of the database file and of its write-ahead log.
    pub file_bytes: u64,
    pub wal_bytes: u64,
    pub page_size: u64,
    pub page_count: u64,
    /// Pages that hold nothing (freed by deletes, reused by later writes).
    pub free_pages: u64,
    /// Every table of the schema and its row count, by name.
    pub tables: Vec<TableRows>,
    pub resource_versions: u64,
    /// Compressed bytes of every resource version's content.
    pub version_content_bytes: u64,
    pub snapshots: u64,
    /// Snapshots stored whole; the others are differences from one of these.
    pub key_snapshots: u64,
    /// Bytes of every snapshot's member list.
    pub snapshot_member_bytes: u64,
    /// Per target: its scans.
    pub targets: Vec<TargetScans>,
    /// The oldest scan any target still has.
    pub oldest_scan: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRows {
    pub name: String,
    pub rows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetScans {
    pub name: String,
    #[serde(skip)]
    pub id: TargetId,
    /// Scan rows kept.
    pub scans: u64,
    /// Of those, the scans that still have what they saw (snapshots); the
    /// others are old scans kept for a finding event.
    pub scans_with_snapshots: u64,
    pub oldest_scan: Option<DateTime<Utc>>,
    pub newest_scan: Option<DateTime<Utc>>,
}

impl Reader<'_> {
    /// Sizes and row counts. Reads every table once (a few seconds for a
    /// database of a gigabyte); meant for `driftd db stats`, not for a loop.
    pub fn stats(&self) -> Result<StoreSizes, StoreError> {
        let conn = self.conn;
        let pragma = |name: &str| -> Result<u64, StoreError> {
            let v: i64 = conn.pragma_query_value(None, name, |row| row.get(0))?;
            Ok(v.max(0) as u64)
        };
        let path = conn.path().filter(|p| !p.is_empty()).map(str::to_string);
        let file_len = |suffix: &str| {
            path.as_ref().map_or(0, |p| {
                std::fs::metadata(format!("{p}{suffix}")).map_or(0, |m| m.len())
            })
        };
        let count = |sql: &str| -> Result<u64, StoreError> {
            let v: i64 = conn.query_row(sql, [], |row| row.get(0))?;
            Ok(v.max(0) as u64)
        };

        let names: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let rows = count(&format!(
                "SELECT count(*) FROM \"{}\"",
                name.replace('"', "\"\"")
            ))?;
            tables.push(TableRows { name, rows });
        }
        let rows_of = |name: &str| tables.iter().find(|t| t.name == name).map_or(0, |t| t.rows);

        let mut targets = Vec::new();
        let mut per_target = conn.prepare(
            "SELECT t.id, t.name, count(DISTINCT s.id),
                    count(DISTINCT ss.scan_id),
                    min(s.started_at), max(s.started_at)
             FROM targets t
             LEFT JOIN scans s ON s.target_id = t.id
             LEFT JOIN scan_snapshots ss ON ss.scan_id = s.id
             GROUP BY t.id ORDER BY t.name",
        )?;
        let mut rows = per_target.query([])?;
        while let Some(row) = rows.next()? {
            let time = |i: usize| -> Result<Option<DateTime<Utc>>, StoreError> {
                let text: Option<String> = row.get(i)?;
                Ok(text
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc)))
            };
            targets.push(TargetScans {
                id: TargetId(row.get(0)?),
                name: row.get(1)?,
                scans: row.get::<_, i64>(2)?.max(0) as u64,
                scans_with_snapshots: row.get::<_, i64>(3)?.max(0) as u64,
                oldest_scan: time(4)?,
                newest_scan: time(5)?,
            });
        }
        let oldest_scan = targets.iter().filter_map(|t| t.oldest_scan).min();

        Ok(StoreSizes {
            file_bytes: file_len(""),
            wal_bytes: file_len("-wal"),
            path,
            page_size: pragma("page_size")?,
            page_count: pragma("page_count")?,
            free_pages: pragma("freelist_count")?,
            resource_versions: rows_of("resource_versions"),
            version_content_bytes: count(
                "SELECT coalesce(sum(length(content)), 0) FROM resource_versions",
            )?,
            snapshots: rows_of("snapshots"),
            key_snapshots: count("SELECT count(*) FROM snapshots WHERE base_id IS NULL")?,
            snapshot_member_bytes: count(
                "SELECT coalesce(sum(length(members)), 0) FROM snapshots",
            )?,
            tables,
            targets,
            oldest_scan,
        })
    }
}
