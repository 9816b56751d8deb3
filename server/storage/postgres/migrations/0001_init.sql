-- The county server's first schema on PostgreSQL, the same tables and columns as SQLite's 0001 (the contract suite
-- compares both backends' answers). Codes, ids and ISO dates are TEXT COLLATE "C": their range scans (a prefix and
-- its upper bound) need byte order, whatever the database's collation. JSON columns hold msgspec-encoded text.

CREATE TABLE org_units (
    code TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent TEXT COLLATE "C",
    kind TEXT
);

CREATE TABLE service_items (
    code TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    promised_days INTEGER NOT NULL,
    legal_days INTEGER,
    is_online INTEGER NOT NULL,
    is_one_trip INTEGER NOT NULL
);

CREATE TABLE agents (
    agent_id TEXT COLLATE "C" PRIMARY KEY,
    township_code TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    token_sha256 TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at TEXT COLLATE "C" NOT NULL,
    acked_seq BIGINT NOT NULL DEFAULT 0,
    last_push_at TEXT COLLATE "C",
    software_version TEXT,
    pending BIGINT
);

CREATE TABLE events (
    event_id TEXT COLLATE "C" PRIMARY KEY,
    agent_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    case_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    offset_ms BIGINT NOT NULL,
    order_key TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (agent_id, seq)
);
CREATE INDEX events_case_id ON events (case_id);

CREATE TABLE refused_events (
    event_id TEXT COLLATE "C" PRIMARY KEY,
    agent_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    code TEXT NOT NULL,
    detail TEXT,
    body TEXT NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX refused_events_agent_seq ON refused_events (agent_id, seq);

CREATE TABLE cases (
    case_id TEXT COLLATE "C" PRIMARY KEY,
    case_no TEXT COLLATE "C" NOT NULL,
    township_code TEXT COLLATE "C" NOT NULL,
    org_code TEXT COLLATE "C" NOT NULL,
    village_code TEXT COLLATE "C",
    item_code TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    channel TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    accepted_on TEXT COLLATE "C" NOT NULL,
    due_on TEXT COLLATE "C",
    completed_on TEXT COLLATE "C",
    closed_on TEXT COLLATE "C",
    rating INTEGER,
    rated_on TEXT COLLATE "C",
    followed_up_on TEXT COLLATE "C",
    is_on_time INTEGER,
    last_key TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX cases_org_accepted ON cases (org_code, accepted_on);
CREATE INDEX cases_open_due ON cases (due_on) WHERE state IN ('in_progress', 'suspended');

CREATE TABLE consultations (
    consultation_id TEXT COLLATE "C" PRIMARY KEY,
    event_id TEXT COLLATE "C" NOT NULL,
    org_code TEXT COLLATE "C" NOT NULL,
    channel TEXT COLLATE "C" NOT NULL,
    consulted_on TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE rollups (
    org_code TEXT COLLATE "C" NOT NULL,
    day TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    channel TEXT COLLATE "C" NOT NULL,
    accepted BIGINT NOT NULL DEFAULT 0,
    completed BIGINT NOT NULL DEFAULT 0,
    completed_on_time BIGINT NOT NULL DEFAULT 0,
    completed_late BIGINT NOT NULL DEFAULT 0,
    trips_le1 BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    rated_5 BIGINT NOT NULL DEFAULT 0,
    rated_4 BIGINT NOT NULL DEFAULT 0,
    rated_3 BIGINT NOT NULL DEFAULT 0,
    rated_2 BIGINT NOT NULL DEFAULT 0,
    rated_1 BIGINT NOT NULL DEFAULT 0,
    bad_followed_up BIGINT NOT NULL DEFAULT 0,
    consultations BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_code, day, category, channel)
);
