-- driftd store, schema version 1: targets, scans and content-addressed snapshots.
--
-- Each file in schema/ is one upgrade step, applied in order inside the single
-- transaction that also sets PRAGMA user_version (src/store/migrate.rs). A
-- shipped file is never edited: a change to the schema is a new file. Findings,
-- evidence, the outbox and the audit log arrive in later files.
--
-- Times are UTC RFC 3339 text with nine fractional digits
-- (2025-01-02T03:04:05.000000000Z), so text order is time order.

-- One comparison unit from the config, by its unique name.
CREATE TABLE targets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    environment TEXT NOT NULL
) STRICT;

-- One scan of one target. `ended_at` is set exactly when the scan has finished.
CREATE TABLE scans (
    id              INTEGER PRIMARY KEY,
    target_id       INTEGER NOT NULL REFERENCES targets (id),
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    status          TEXT NOT NULL
                    CHECK (status IN ('running', 'complete', 'partial', 'failed')),
    -- JSON array of [origin, version] pairs: the version of every source read
    -- (state serial and lineage, S3 object version, ...).
    source_versions TEXT NOT NULL DEFAULT '[]',
    -- JSON array of diagnostics ({severity, subject, message}).
    diagnostics     TEXT NOT NULL DEFAULT '[]',
    CHECK ((status = 'running') = (ended_at IS NULL))
) STRICT;

CREATE INDEX scans_by_target ON scans (target_id, id);

-- One row per distinct resource content. `hash` is the SHA-256 of `content`,
-- the resource's canonical JSON without its origin (src/store/content.rs).
-- The key and address columns repeat what `content` holds, for lookups.
-- A rowid table on purpose: rows are large and hashes arrive in random
-- order, which in a WITHOUT ROWID table (clustered on `hash`) made 100,000
-- inserts 7 times slower and the file 3 times larger than this layout
-- (rows appended in rowid order, a small separate index on `hash`).
CREATE TABLE resource_versions (
    hash          BLOB PRIMARY KEY CHECK (length(hash) = 32),
    provider      TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    address       TEXT NOT NULL,
    content       TEXT NOT NULL
) STRICT;

CREATE INDEX resource_versions_by_key
    ON resource_versions (provider, resource_type, resource_id);

-- One row per distinct set of resource versions: what one origin (a state
-- file, a cloud region) held. `hash` is the SHA-256 of the member hashes in
-- ascending order, so an unchanged source adds no snapshot and no members.
CREATE TABLE snapshots (
    hash      BLOB PRIMARY KEY CHECK (length(hash) = 32),
    resources INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The members of a snapshot, in ascending hash order (`position` keeps
-- repeated contents apart).
CREATE TABLE snapshot_members (
    snapshot_hash BLOB NOT NULL REFERENCES snapshots (hash),
    position      INTEGER NOT NULL,
    version_hash  BLOB NOT NULL REFERENCES resource_versions (hash),
    PRIMARY KEY (snapshot_hash, position)
) STRICT, WITHOUT ROWID;

-- What a scan saw: per side (desired = Terraform state, live = cloud) and per
-- origin, the snapshot of the resources read from it.
CREATE TABLE scan_snapshots (
    scan_id       INTEGER NOT NULL REFERENCES scans (id),
    side          TEXT NOT NULL CHECK (side IN ('desired', 'live')),
    origin        TEXT NOT NULL,
    snapshot_hash BLOB NOT NULL REFERENCES snapshots (hash),
    PRIMARY KEY (scan_id, side, origin)
) STRICT, WITHOUT ROWID;
