-- PostgreSQL mirror of SQLite's 0050_login_throttle.
-- The login throttle's tallies (server/model/login_throttle.py), in the database rather than in a server's memory:
-- every server process of one database counts the same failed logins and honours the same locks. One row per
-- account name or client address; times are wall-clock epoch seconds (processes on several hosts share no
-- monotonic clock). A row says nothing once `expires_at` has passed and is deleted with the next failure.
CREATE TABLE login_throttle (
    kind TEXT COLLATE "C" NOT NULL,             -- 'name' or 'address'
    value TEXT COLLATE "C" NOT NULL,
    failures TEXT NOT NULL,                     -- JSON array of the failures' times within the window, oldest first
    locked_until DOUBLE PRECISION NOT NULL,     -- 0: not locked
    expires_at DOUBLE PRECISION NOT NULL,       -- the lock's end or the last failure's end of window, the later
    PRIMARY KEY (kind, value)
);
CREATE INDEX login_throttle_expires ON login_throttle (expires_at);
