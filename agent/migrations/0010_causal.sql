-- Causal order, the pull and conflicts (protocol 2). The PC keeps every event of its township's cases it knows: its
-- own in the outbox, the other PCs' in `pulled`; each case row is their fold (protocol.causal), with what the next
-- fold needs (`meta`), the case's share of the township digest (`digest`), and its conflicts.

-- The case's heads when the event was made (JSON list; NULL: made before protocol 2), and the refused event a
-- correction replaces.
ALTER TABLE outbox ADD COLUMN parents TEXT;
ALTER TABLE outbox ADD COLUMN replaces TEXT;

-- Events of the township's cases made on other PCs (or on this one under an earlier identity), as the county has them.
CREATE TABLE pulled (
    event_id  TEXT PRIMARY KEY,
    agent_id  TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    case_id   TEXT NOT NULL,
    kind      TEXT NOT NULL,
    at        TEXT NOT NULL,
    offset_ms INTEGER NOT NULL,
    parents   TEXT,
    replaces  TEXT,
    data      TEXT NOT NULL
);
CREATE INDEX pulled_by_case ON pulled (case_id);

-- Case numbers are unique per PC, not per table any more: the township's other PCs' cases are here too.
CREATE TABLE cases_new (
    case_id        TEXT PRIMARY KEY,
    case_no        TEXT NOT NULL,
    state          TEXT NOT NULL,
    accepted_on    TEXT NOT NULL,
    due_on         TEXT,
    applicant_name TEXT NOT NULL,
    cert_no        TEXT NOT NULL,
    body           TEXT NOT NULL,              -- the whole protocol.lifecycle.Case as JSON
    meta           TEXT NOT NULL DEFAULT '{}', -- protocol.causal.CaseMeta as JSON
    digest         INTEGER NOT NULL DEFAULT 0  -- protocol.causal.case_digest
);
INSERT INTO cases_new (case_id, case_no, state, accepted_on, due_on, applicant_name, cert_no, body)
    SELECT case_id, case_no, state, accepted_on, due_on, applicant_name, cert_no, body FROM cases;
DROP TABLE cases;
ALTER TABLE cases_new RENAME TO cases;
CREATE INDEX cases_by_no ON cases (case_no);
CREATE INDEX cases_open_by_due ON cases (due_on) WHERE state IN ('in_progress', 'suspended');
CREATE INDEX cases_by_name ON cases (applicant_name);
CREATE INDEX cases_by_cert ON cases (cert_no);
CREATE INDEX cases_bad_rating_open ON cases (json_extract(body, '$.rated_on'))
    WHERE json_extract(body, '$.rating') IN (1, 2) AND json_extract(body, '$.followed_up_on') IS NULL;
CREATE INDEX cases_without_due ON cases (accepted_on) WHERE due_on IS NULL;
-- The search's indexes (0040): dropped with the old table on a PC that had them already, so made again here.
CREATE INDEX IF NOT EXISTS cases_by_cert_tail ON cases (substr(cert_no, -4));
CREATE INDEX IF NOT EXISTS cases_by_phone ON cases (replace(replace(json_extract(body, '$.phone'), '-', ''), '+86', ''));

-- Conflicts: events that could not apply at their place in the order (protocol.messages.Conflict as JSON), derived
-- from the case's events like the case row, and replaced with it at every fold.
CREATE TABLE conflicts (
    event_id TEXT PRIMARY KEY,
    case_id  TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    is_open  INTEGER NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX conflicts_by_case ON conflicts (case_id);
CREATE INDEX conflicts_open ON conflicts (agent_id) WHERE is_open = 1;

-- The case rows were folded by the old order (time, agent, seq): the agent refolds them all at its next start.
INSERT INTO meta (key, value) VALUES ('refold_needed', '1')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
