-- PostgreSQL mirror of SQLite's 0025_staff.
-- Staff of the townships (工作人员), as their PCs made them: the PIN or password only as its scrypt hash. The county
-- keeps each township's list so that every PC of the township can sign its staff in offline
-- (protocol.staff.newer decides which version of a record stands; `agent_id`: the PC that sent it).
CREATE TABLE staff (
    township_code TEXT COLLATE "C" NOT NULL,
    staff_id      TEXT COLLATE "C" NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    is_disabled   INTEGER NOT NULL,
    rev           BIGINT NOT NULL,
    changed_at    TEXT COLLATE "C" NOT NULL,
    changed_by    TEXT,
    agent_id      TEXT COLLATE "C" NOT NULL,
    received_at   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (township_code, staff_id)
);

-- Who did it: the staff member signed in on the PC (NULL: an agent from before staff sign-in, or the agent itself).
ALTER TABLE events ADD COLUMN staff_id TEXT COLLATE "C";
