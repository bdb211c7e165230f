-- Version 6: what the report pages show of each scan, and a daily history
-- that outlives the retention of scans (src/store/history.rs).

-- The scan's totals as a JSON object (`store::ScanSummary`): resources
-- listed, managed, unmanaged, missing, changed, ignored, not checked,
-- coverage, the listings that did not complete, open findings after it.
-- NULL for a scan that did not compare with the cloud, and for scans made
-- before version 6.
ALTER TABLE scans ADD COLUMN summary TEXT;

-- One row per target and UTC day with a finished scan: the overview's trend.
-- Written with the scan; never pruned (a small row a day a target).
CREATE TABLE scan_days (
    target_id     INTEGER NOT NULL REFERENCES targets (id),
    -- YYYY-MM-DD, UTC.
    day           TEXT NOT NULL,
    scans         INTEGER NOT NULL,
    partial       INTEGER NOT NULL,
    failed        INTEGER NOT NULL,
    -- After the day's last scan that compared with the cloud; NULL when none did.
    open_findings INTEGER,
    coverage      REAL,
    PRIMARY KEY (target_id, day)
) STRICT, WITHOUT ROWID;

-- The days of the scans an older driftd kept (their totals are unknown).
INSERT INTO scan_days (target_id, day, scans, partial, failed)
SELECT target_id, substr(ended_at, 1, 10), count(*),
       sum(status = 'partial'), sum(status = 'failed')
FROM scans
WHERE ended_at IS NOT NULL
GROUP BY target_id, substr(ended_at, 1, 10);
