-- Security (issue 11): per-agent usage for the daily quotas, the events waiting for their case's acceptance (the
-- orphan quota), revoked agents, and the role of a dashboard account.

-- What each agent sent per day (China time): events received (stored, duplicate or refused) and request bytes after
-- decompression. One row per agent and day, added to in each push's transaction.
CREATE TABLE agent_usage (
    agent_id TEXT NOT NULL,
    day TEXT NOT NULL,              -- YYYY-MM-DD, China time
    events INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, day)
) WITHOUT ROWID;

-- Stored events whose case has no row yet (no `accepted` has arrived): written with the events, deleted when the
-- case is saved.
CREATE TABLE orphan_events (
    event_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    case_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX orphan_events_agent ON orphan_events (agent_id);
CREATE INDEX orphan_events_case ON orphan_events (case_id);
INSERT INTO orphan_events (event_id, agent_id, case_id)
    SELECT event_id, agent_id, case_id FROM events e
    WHERE kind <> 'consulted' AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = e.case_id);

-- `county-server agents revoke`: the token stops working at once; `agents rotate-token` re-admits the PC.
ALTER TABLE agents ADD COLUMN revoked_at TEXT;

-- What a dashboard account may see and do. Every account is a county admin for now (the whole county); the
-- township viewer and the auditor come with roles.
ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'county_admin';
