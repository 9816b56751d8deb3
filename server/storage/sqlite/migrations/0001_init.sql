-- The county server's first schema. Portable SQL where it costs nothing (PostgreSQL backend to come).
-- Dates are TEXT 'YYYY-MM-DD', instants TEXT ISO 8601 with offset; JSON columns hold msgspec-encoded documents.

CREATE TABLE org_units (
    code TEXT PRIMARY KEY,          -- 12-digit 统计用区划代码
    name TEXT NOT NULL,
    level TEXT NOT NULL,            -- county, township, village
    parent TEXT,
    kind TEXT
);

CREATE TABLE service_items (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    promised_days INTEGER NOT NULL,
    legal_days INTEGER,
    is_online INTEGER NOT NULL,
    is_one_trip INTEGER NOT NULL
);

CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,      -- <9-digit township>-<6 hex>
    township_code TEXT NOT NULL,    -- 9 digits
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    last_push_at TEXT,
    software_version TEXT,
    pending INTEGER
);

CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    case_id TEXT NOT NULL,          -- for `consulted`: the consultation's own id
    kind TEXT NOT NULL,
    at TEXT NOT NULL,               -- the PC's clock
    offset_ms INTEGER NOT NULL,     -- PC clock minus server clock, as last measured by the agent
    order_key TEXT NOT NULL,        -- corrected time | agent_id | seq: the fold order
    data TEXT NOT NULL,             -- the event's data, JSON
    received_at TEXT NOT NULL,
    UNIQUE (agent_id, seq)
);
CREATE INDEX events_case_id ON events (case_id);

-- Events refused at push time: recorded so the agent's acknowledgement can move past them.
CREATE TABLE refused_events (
    event_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    code TEXT NOT NULL,
    detail TEXT,
    body TEXT NOT NULL,             -- the event as sent, JSON
    received_at TEXT NOT NULL
);
CREATE INDEX refused_events_agent_seq ON refused_events (agent_id, seq);

CREATE TABLE cases (
    case_id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL,
    township_code TEXT NOT NULL,    -- 9 digits
    org_code TEXT NOT NULL,         -- where handled: township centre or village station
    village_code TEXT,
    item_code TEXT NOT NULL,
    category TEXT NOT NULL,         -- the item's category when the case was last folded
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    accepted_on TEXT NOT NULL,
    due_on TEXT,
    completed_on TEXT,
    closed_on TEXT,
    rating INTEGER,
    rated_on TEXT,
    followed_up_on TEXT,
    is_on_time INTEGER,
    last_key TEXT NOT NULL,         -- highest order_key among the case's stored events
    body TEXT NOT NULL,             -- the whole protocol.lifecycle.Case, JSON
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_org_accepted ON cases (org_code, accepted_on);
-- Open overdue cases depend on "now": counted from this index over open cases only.
CREATE INDEX cases_open_due ON cases (due_on) WHERE state IN ('in_progress', 'suspended');

CREATE TABLE consultations (
    consultation_id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    org_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    consulted_on TEXT NOT NULL,
    body TEXT NOT NULL
);

-- One column per metric of server.rollups.METRICS (a test keeps them equal).
CREATE TABLE rollups (
    org_code TEXT NOT NULL,
    day TEXT NOT NULL,
    category TEXT NOT NULL,
    channel TEXT NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    completed_on_time INTEGER NOT NULL DEFAULT 0,
    completed_late INTEGER NOT NULL DEFAULT 0,
    trips_le1 INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    rated INTEGER NOT NULL DEFAULT 0,
    rated_5 INTEGER NOT NULL DEFAULT 0,
    rated_4 INTEGER NOT NULL DEFAULT 0,
    rated_3 INTEGER NOT NULL DEFAULT 0,
    rated_2 INTEGER NOT NULL DEFAULT 0,
    rated_1 INTEGER NOT NULL DEFAULT 0,
    bad_followed_up INTEGER NOT NULL DEFAULT 0,
    consultations INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_code, day, category, channel)
);
