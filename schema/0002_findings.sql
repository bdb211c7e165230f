-- driftd store, schema version 2: findings, their history, and the audit log.
--
-- A finding is one drift (kind + resource key + set of top-level attributes)
-- tracked over time; its id is a hash of those, the target's name included,
-- so the same drift has the same id in every scan (src/findings.rs).

CREATE TABLE findings (
    id            TEXT PRIMARY KEY CHECK (length(id) = 16),
    target_id     INTEGER NOT NULL REFERENCES targets (id),
    kind          TEXT NOT NULL CHECK (kind IN ('changed', 'unmanaged', 'missing')),
    provider      TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    -- The Terraform address, when a state names the resource.
    address       TEXT,
    -- JSON array of the top-level attributes that differ (changed only).
    attributes    TEXT NOT NULL DEFAULT '[]',
    state         TEXT NOT NULL
                  CHECK (state IN ('open', 'acknowledged', 'accepted', 'snoozed', 'resolved')),
    -- Who put it in its state and why (a human decision, or 'driftd').
    state_by      TEXT,
    state_reason  TEXT,
    state_at      TEXT NOT NULL,
    -- `snoozed` only: when the snooze ends.
    snoozed_until TEXT,
    -- `resolved` only: the scan that no longer saw it.
    resolved_scan INTEGER,
    -- Consecutive complete scans that saw it; it is visible (shown and
    -- notifiable) once that reaches the configured count or a re-read confirmed it.
    seen          INTEGER NOT NULL CHECK (seen >= 0),
    visible       INTEGER NOT NULL CHECK (visible IN (0, 1)),
    -- The ignore rule that covered it at its last sighting (counted, not shown).
    ignored_by    TEXT,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    first_scan    INTEGER NOT NULL,
    last_scan     INTEGER NOT NULL,
    -- The differing values at the last sighting, as reports show them
    -- (secrets are already "sensitive"): JSON {attribute path: {recorded, live}}.
    changes       TEXT NOT NULL DEFAULT '{}',
    -- The resource versions (resource_versions.hash) at the last sighting:
    -- retention keeps them while the finding exists.
    desired_version BLOB CHECK (desired_version IS NULL OR length(desired_version) = 32),
    live_version    BLOB CHECK (live_version IS NULL OR length(live_version) = 32),
    CHECK ((state = 'snoozed') = (snoozed_until IS NOT NULL)),
    CHECK ((state = 'resolved') = (resolved_scan IS NOT NULL))
) STRICT;

CREATE INDEX findings_by_target ON findings (target_id, state);

-- Everything that happened to a finding, oldest first. `scan_id` is the scan
-- that caused a lifecycle event (NULL for a human decision); it has no foreign
-- key on purpose: retention removes old scans, and keeps every scan that
-- opened, reopened or resolved a finding.
CREATE TABLE finding_events (
    id              INTEGER PRIMARY KEY,
    finding_id      TEXT NOT NULL REFERENCES findings (id),
    at              TEXT NOT NULL,
    scan_id         INTEGER,
    event           TEXT NOT NULL CHECK (event IN (
                        'opened', 'confirmed', 'value_changed', 'resolved', 'reopened',
                        'snooze_ended', 'acknowledged', 'accepted', 'snoozed',
                        'reopened_by_human')),
    actor           TEXT NOT NULL,
    reason          TEXT,
    -- JSON: what the event needs beyond the columns (new values, snooze end).
    details         TEXT NOT NULL DEFAULT '{}',
    desired_version BLOB CHECK (desired_version IS NULL OR length(desired_version) = 32),
    live_version    BLOB CHECK (live_version IS NULL OR length(live_version) = 32)
) STRICT;

CREATE INDEX finding_events_by_finding ON finding_events (finding_id, id);
CREATE INDEX finding_events_by_scan ON finding_events (scan_id) WHERE scan_id IS NOT NULL;

-- The audit log: every human decision, every action driftd takes, every
-- config reload. Append-only (the triggers refuse UPDATE and DELETE), and
-- hash-chained: `hash` is an HMAC-SHA-256, under a key derived from the
-- install's secret key, of `prev_hash` and this row's fields, so a row edited,
-- removed or inserted by anyone without the key breaks the chain at that row
-- (`driftd audit verify`). Never pruned.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    -- JSON object.
    details   TEXT NOT NULL,
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
