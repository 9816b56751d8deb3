-- The agent's store: the current case rows, and an append-only outbox of events, written in one transaction
-- per staff action.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE cases (
    case_id        TEXT PRIMARY KEY,
    case_no        TEXT NOT NULL UNIQUE,
    state          TEXT NOT NULL,
    accepted_on    TEXT NOT NULL,
    due_on         TEXT,
    applicant_name TEXT NOT NULL,
    cert_no        TEXT NOT NULL,
    body           TEXT NOT NULL  -- the whole protocol.lifecycle.Case as JSON
);
CREATE INDEX cases_open_by_due ON cases (due_on) WHERE state IN ('in_progress', 'suspended');
CREATE INDEX cases_by_name ON cases (applicant_name);
CREATE INDEX cases_by_cert ON cases (cert_no);

-- seq is the gap-free local sequence the server acknowledges ("everything up to seq N").
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    case_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    at              TEXT NOT NULL,
    offset_ms       INTEGER NOT NULL,
    data            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending, synced, quarantined
    refusal_code    TEXT,
    refusal_message TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE status = 'pending';
CREATE INDEX outbox_quarantined ON outbox (seq) WHERE status = 'quarantined';
CREATE INDEX outbox_by_case ON outbox (case_id);

-- Reference data pulled from the county (catalog, org units, calendar), kept for offline work.
CREATE TABLE reference (
    name    TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    body    TEXT NOT NULL
);
