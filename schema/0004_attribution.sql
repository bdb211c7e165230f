-- driftd store, schema version 4: attribution (CloudTrail events, what was
-- fetched, and the evidence tied to each finding).
--
-- Times are RFC 3339 UTC text with nanoseconds (fixed width, so they sort).

-- Write events read from CloudTrail (LookupEvents or trail objects in S3),
-- each once: `event_id` is CloudTrail's eventID. `raw` is the record with
-- secrets stripped (src/attribution/event.rs), zstd-compressed JSON.
CREATE TABLE trail_events (
    event_id     TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    event_time   TEXT NOT NULL,
    event_source TEXT NOT NULL,
    event_name   TEXT NOT NULL,
    raw          BLOB NOT NULL
) STRICT;

CREATE INDEX trail_events_by_time ON trail_events (account, region, event_time);

-- Spans of time whose events were fetched completely: a LookupEvents sweep of
-- write events (`lookup` = '*'), a ResourceName lookup (`lookup` = the name),
-- or a trail bucket (`lookup` = 's3://bucket/prefix'). A span never ends later
-- than CloudTrail's delivery delay before the fetch: events still on their way
-- are fetched again later, and an event is stored once whatever fetched it.
CREATE TABLE trail_fetched (
    id         INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    lookup     TEXT NOT NULL,
    span_start TEXT NOT NULL,
    span_end   TEXT NOT NULL CHECK (span_end >= span_start),
    -- Write events the fetch returned (the planner's estimate of event rates).
    events     INTEGER NOT NULL CHECK (events >= 0),
    calls      INTEGER NOT NULL CHECK (calls >= 0),
    fetched_at TEXT NOT NULL
) STRICT;

CREATE INDEX trail_fetched_by_lookup ON trail_fetched (account, region, lookup, span_end);

-- Trail objects read from S3, so they are never read twice.
CREATE TABLE trail_objects (
    bucket  TEXT NOT NULL,
    key     TEXT NOT NULL,
    etag    TEXT NOT NULL,
    read_at TEXT NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
) STRICT, WITHOUT ROWID;

-- One row per finding that attribution has looked at: the window searched
-- and where the search stands.
CREATE TABLE attributions (
    finding_id   TEXT PRIMARY KEY REFERENCES findings (id),
    -- 'pending': still looking (events arrive late); 'found': an event explains
    -- it, and the window has settled; 'unknown': nothing explains it and the
    -- retry time is over. A finding with no explaining event shows as unknown
    -- while pending, never with a guessed actor.
    status       TEXT NOT NULL CHECK (status IN ('pending', 'found', 'unknown')),
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    -- The ResourceName LookupEvents is asked for.
    lookup_name  TEXT NOT NULL,
    -- The resource attributes the event table binds (JSON object), kept so a
    -- retry needs no resource versions.
    subject      TEXT NOT NULL DEFAULT '{}',
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL CHECK (window_end >= window_start),
    -- The scan whose sighting opened this search (a reopen or a new value
    -- starts a new one).
    scan_id      INTEGER NOT NULL,
    -- Stop looking after this (first sighting + [attribution] retry_for).
    give_up_at   TEXT NOT NULL,
    next_attempt TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    checked_at   TEXT,
    -- Why the last attempt could not look (throttled, no permission, ...).
    last_error   TEXT
) STRICT;

CREATE INDEX attributions_due ON attributions (status, next_attempt);

-- The events that explain a finding, oldest first; `explains` marks the
-- latest successful one (the explanation of the current value).
CREATE TABLE evidence (
    finding_id TEXT NOT NULL REFERENCES findings (id),
    event_id   TEXT NOT NULL REFERENCES trail_events (event_id),
    ordinal    INTEGER NOT NULL,
    explains   INTEGER NOT NULL CHECK (explains IN (0, 1)),
    PRIMARY KEY (finding_id, event_id)
) STRICT, WITHOUT ROWID;
