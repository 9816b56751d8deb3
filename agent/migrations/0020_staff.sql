-- Staff sign-in (工作人员登录). The township's staff list, kept on every PC of the township and at the county: the
-- PIN or password only as its scrypt hash. `dirty`: changed on this PC and not yet acknowledged by the county.
-- `failures` and `locked_until` are this PC's own (failed sign-ins here), never synced.
CREATE TABLE staff (
    staff_id     TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,              -- clerk | lead
    secret_hash  TEXT NOT NULL,
    is_disabled  INTEGER NOT NULL DEFAULT 0,
    rev          INTEGER NOT NULL,
    changed_at   TEXT NOT NULL,
    changed_by   TEXT,
    dirty        INTEGER NOT NULL DEFAULT 1,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0     -- unix time
);

-- Who did it: the signed-in staff member (NULL: before sign-in existed, or the agent itself).
ALTER TABLE outbox ADD COLUMN staff_id TEXT;
ALTER TABLE pulled ADD COLUMN staff_id TEXT;
