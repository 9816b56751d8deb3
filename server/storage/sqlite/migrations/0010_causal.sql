-- Causal order, the pull, conflicts and the township digest (protocol 2, issue 9).

-- Events get `pos`, the order the county stored them in (the pull's cursor), as the table's INTEGER PRIMARY KEY: the
-- same B-tree as the rowid it replaces, but a rowid alias keeps its values through VACUUM. Existing events keep
-- their rowid as their position. `parents` and `replaces` (JSON list, event id) come with protocol 2.
CREATE TABLE events_new (
    pos INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    agent_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    case_id TEXT NOT NULL,          -- for `consulted`: the consultation's own id
    kind TEXT NOT NULL,
    at TEXT NOT NULL,               -- the PC's clock
    offset_ms INTEGER NOT NULL,     -- PC clock minus server clock, as last measured by the agent
    order_key TEXT NOT NULL,        -- corrected time (ms, +08:00) | event_id: the tie-break of protocol.causal
    data TEXT NOT NULL,             -- the event's data, JSON
    received_at TEXT NOT NULL,
    parents TEXT,                   -- JSON list of the case's heads its PC had applied; NULL: a protocol-1 event
    replaces TEXT,                  -- the refused event this one corrects
    UNIQUE (agent_id, seq)
);
INSERT INTO events_new (pos, event_id, agent_id, seq, case_id, kind, at, offset_ms, order_key, data, received_at)
    SELECT rowid, event_id, agent_id, seq, case_id, kind, at, offset_ms,
           substr(order_key, 1, instr(order_key, '|')) || event_id, data, received_at
    FROM events ORDER BY rowid;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_case_id ON events (case_id);
-- The pull: a township's events in the order stored (a township's agents share its 9-digit prefix).
CREATE INDEX events_pull ON events (substr(agent_id, 1, 9), pos) WHERE kind <> 'consulted';

-- A case row keeps what the next fold needs (protocol.causal.CaseMeta) and its share of the township digest, summed
-- per township from this index alone. Rows from before have an empty meta, which makes their next event refold them.
ALTER TABLE cases ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
ALTER TABLE cases ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_township_digest ON cases (township_code, digest);

-- Conflicts: events that could not apply at their place in the causal order (protocol.messages.Conflict), derived from
-- the case's events and replaced with its row at every fold; `detected_at` is when the county first found one.
CREATE TABLE conflicts (
    event_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    township_code TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    lost_to TEXT,
    is_open INTEGER NOT NULL,
    detected_at TEXT NOT NULL,
    settled_at TEXT,
    body TEXT NOT NULL
);
CREATE INDEX conflicts_case ON conflicts (case_id);
CREATE INDEX conflicts_township ON conflicts (township_code, is_open, detected_at);
CREATE INDEX conflicts_agent_open ON conflicts (agent_id) WHERE is_open = 1;

-- What each PC said at its last push: its protocol, the pull it had applied, its last agreement check.
ALTER TABLE agents ADD COLUMN protocol_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN pull_cursor TEXT;
ALTER TABLE agents ADD COLUMN digest_agrees INTEGER;

-- `stream`: names this database's positions; a restored copy gets a new one, so a PC's cursor from before restarts.
-- `refold_needed`: the cases were folded by time; the server refolds them all (and rebuilds the rollups) at start.
CREATE TABLE server_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO server_meta (key, value) VALUES ('stream', lower(hex(randomblob(8)))), ('refold_needed', '1');
