-- PostgreSQL mirror of SQLite's 0020: per-agent usage for the daily quotas, the events waiting for their case's
-- acceptance (the orphan quota), revoked agents, and the role of a dashboard account.

CREATE TABLE agent_usage (
    agent_id TEXT COLLATE "C" NOT NULL,
    day TEXT COLLATE "C" NOT NULL,
    events BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, day)
);

CREATE TABLE orphan_events (
    event_id TEXT COLLATE "C" PRIMARY KEY,
    agent_id TEXT COLLATE "C" NOT NULL,
    case_id TEXT COLLATE "C" NOT NULL
);
CREATE INDEX orphan_events_agent ON orphan_events (agent_id);
CREATE INDEX orphan_events_case ON orphan_events (case_id);
INSERT INTO orphan_events (event_id, agent_id, case_id)
    SELECT event_id, agent_id, case_id FROM events e
    WHERE kind <> 'consulted' AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = e.case_id);

ALTER TABLE agents ADD COLUMN revoked_at TEXT COLLATE "C";

ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'county_admin';
