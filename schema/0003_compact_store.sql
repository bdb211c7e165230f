-- driftd store, schema version 3: compact snapshots and compressed resource
-- versions, so that a year of scans every 10 minutes stays small, and
-- retention can remove what no scan, snapshot or finding needs any more
-- (src/store/retention.rs).
--
-- Version 1 stored one `snapshot_members` row (about 80 bytes with its key)
-- per resource per snapshot: with 100,000 resources and a resource changing
-- every few scans, every scan added 8 MB. Now a snapshot is one row whose
-- members are resource-version row ids in a delta-encoded blob, and most
-- snapshots are a small difference from a full "key" snapshot of the same
-- origin. Resource contents are stored zstd-compressed (about 2.5 times
-- smaller). Identities do not change: a version is still addressed by the
-- SHA-256 of its canonical JSON, a snapshot by the SHA-256 of its sorted
-- member hashes, and findings keep referring to versions by hash.
--
-- The step runs in three parts inside the upgrade transaction (with foreign
-- keys off, checked before the commit): the new tables are created under
-- `*_v3` names (below), src/store/migrate.rs copies the rows (compressing
-- contents, encoding member lists), and the part after the marker line drops
-- the old tables and gives the new ones their names.

-- One row per distinct resource content. `id` is the stable row id that
-- snapshot member lists refer to (an INTEGER PRIMARY KEY, so VACUUM keeps
-- it; AUTOINCREMENT, so an id retention freed is never given to another
-- content, which lets the writer trust ids it remembers); `hash` is the SHA-256 of the canonical JSON (src/store/content.rs);
-- `content` is that JSON, compressed as one zstd frame.
CREATE TABLE resource_versions_v3 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    hash          BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    provider      TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    address       TEXT NOT NULL,
    content       BLOB NOT NULL
) STRICT;

-- One row per distinct set of resource versions: what one origin (a state
-- file, a cloud region) held. `hash` is the SHA-256 of the member hashes in
-- ascending order, so an unchanged source adds no snapshot.
--
-- `members` lists resource_versions ids in ascending order (repeats allowed:
-- two resources of one origin may have equal contents), each as the unsigned
-- LEB128 varint of its difference from the one before (the first from 0).
-- With `base_id` NULL that list is the whole snapshot (a key snapshot).
-- Otherwise `members` is the difference from the key snapshot `base_id`:
-- a varint count of removed ids, the removed ids, then the added ids, both
-- lists encoded as above. A base is always a key snapshot (one level deep).
CREATE TABLE snapshots_v3 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    hash      BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    resources INTEGER NOT NULL CHECK (resources >= 0),
    base_id   INTEGER REFERENCES snapshots_v3 (id),
    members   BLOB NOT NULL
) STRICT;

-- What a scan saw: per side (desired = Terraform state, live = cloud) and per
-- origin, the snapshot of the resources read from it. Retention removes these
-- rows for old scans (the scan row itself stays when a finding event names it).
CREATE TABLE scan_snapshots_v3 (
    scan_id     INTEGER NOT NULL REFERENCES scans (id),
    side        TEXT NOT NULL CHECK (side IN ('desired', 'live')),
    origin      TEXT NOT NULL,
    snapshot_id INTEGER NOT NULL REFERENCES snapshots_v3 (id),
    PRIMARY KEY (scan_id, side, origin)
) STRICT, WITHOUT ROWID;

-- driftd: rows are copied here --

DROP TABLE scan_snapshots;
DROP TABLE snapshot_members;
DROP TABLE snapshots;
DROP TABLE resource_versions;

ALTER TABLE resource_versions_v3 RENAME TO resource_versions;
ALTER TABLE snapshots_v3 RENAME TO snapshots;
ALTER TABLE scan_snapshots_v3 RENAME TO scan_snapshots;

CREATE INDEX resource_versions_by_key
    ON resource_versions (provider, resource_type, resource_id);

-- Retention: which snapshots still serve as a base, and which scans still
-- point to a snapshot.
CREATE INDEX snapshots_by_base ON snapshots (base_id) WHERE base_id IS NOT NULL;
CREATE INDEX scan_snapshots_by_snapshot ON scan_snapshots (snapshot_id);

-- Retention keeps every version a finding or a finding event refers to; it
-- asks about the few versions no snapshot holds any more, by hash.
CREATE INDEX findings_by_desired_version ON findings (desired_version)
    WHERE desired_version IS NOT NULL;
CREATE INDEX findings_by_live_version ON findings (live_version)
    WHERE live_version IS NOT NULL;
CREATE INDEX finding_events_by_desired_version ON finding_events (desired_version)
    WHERE desired_version IS NOT NULL;
CREATE INDEX finding_events_by_live_version ON finding_events (live_version)
    WHERE live_version IS NOT NULL;
