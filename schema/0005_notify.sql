-- driftd store, schema version 5: tiers and notifications (the outbox).
--
-- Times are RFC 3339 UTC text with nanoseconds (fixed width, so they sort).

-- What a finding's tier depends on (policy::Facts as JSON: where, what
-- changed, tags, security signals, blast radius), gathered when a scan saw
-- it, and the tier last decided, with the rule that decided it and why.
CREATE TABLE finding_policy (
    finding_id TEXT PRIMARY KEY REFERENCES findings (id),
    facts      TEXT NOT NULL,
    tier       INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 3),
    rule       TEXT,
    why        TEXT NOT NULL,
    decided_at TEXT NOT NULL
) STRICT;

-- What people may need to hear about, written in the same transaction as
-- the finding change that caused it. Routing turns each into deliveries.
CREATE TABLE notify_events (
    id         INTEGER PRIMARY KEY,
    finding_id TEXT NOT NULL REFERENCES findings (id),
    kind       TEXT NOT NULL CHECK (kind IN
                   ('new', 'value_changed', 'acknowledged', 'accepted', 'resolved')),
    at         TEXT NOT NULL,
    -- Who, for a human decision.
    by         TEXT,
    -- Routing waits until then (a new finding below tier 3 waits a while
    -- for its actor), or until the finding's attribution has settled.
    not_before TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'routed')),
    routed_at  TEXT,
    -- What routing did, in words.
    outcome    TEXT
) STRICT;

CREATE INDEX notify_events_pending ON notify_events (state, not_before);

-- One message to one channel. `key` says what it is (the event and channel,
-- a route's digest period, an escalation step) and is unique, so the same
-- delivery is never queued twice; it is also the delivery id receivers see.
-- `message` is the message as first sent, so a retry sends the same thing.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    channel      TEXT NOT NULL,
    route        TEXT,
    finding_id   TEXT REFERENCES findings (id),
    event_id     INTEGER REFERENCES notify_events (id),
    kind         TEXT NOT NULL CHECK (kind IN ('new', 'escalated', 'acknowledged',
                     'accepted', 'resolved', 'digest', 'channel_failed')),
    action       TEXT NOT NULL CHECK (action IN ('notify', 'acknowledge', 'resolve')),
    tier         INTEGER CHECK (tier BETWEEN 1 AND 3),
    created_at   TEXT NOT NULL,
    -- Not before then: quiet hours, an escalation's deadline.
    not_before   TEXT NOT NULL,
    -- An escalation: cancelled when the finding is acknowledged (or no
    -- longer open) by then.
    only_if_open INTEGER NOT NULL DEFAULT 0 CHECK (only_if_open IN (0, 1)),
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt TEXT NOT NULL,
    -- A worker holds the row until then (another worker leaves it alone).
    lease_until  TEXT,
    last_error   TEXT,
    last_status  INTEGER,
    message      TEXT,
    -- What the receiver confirmed (a Slack ts, a PagerDuty dedup_key).
    receipt      TEXT,
    done_at      TEXT
) STRICT;

CREATE INDEX outbox_due ON outbox (state, next_attempt);
CREATE INDEX outbox_by_finding ON outbox (finding_id, channel);
