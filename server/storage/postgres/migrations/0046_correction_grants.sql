-- PostgreSQL mirror of SQLite's 0046_correction_grants.
-- A county admin's leave to correct the fields of a closed or rated case that move a figure (protocol.corrections):
-- given on the dashboard's case page, sent to the township's PCs with every pull, named by the `corrected` event
-- that uses it (ingest refuses one that names no grant of its case).
CREATE TABLE correction_grants (
    grant_id TEXT COLLATE "C" PRIMARY KEY,
    case_id TEXT COLLATE "C" NOT NULL,
    township_code TEXT COLLATE "C" NOT NULL,    -- 9 digits: whose PCs receive it
    reason TEXT NOT NULL,
    granted_by TEXT NOT NULL,       -- the dashboard account
    granted_at TEXT COLLATE "C" NOT NULL        -- UTC
);
CREATE INDEX correction_grants_township ON correction_grants (township_code, granted_at);
CREATE INDEX correction_grants_case ON correction_grants (case_id);
