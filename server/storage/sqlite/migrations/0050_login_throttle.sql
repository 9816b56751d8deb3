-- The login throttle's tallies (server/model/login_throttle.py), in the database rather than in a server's memory:
-- every server process of one database counts the same failed logins and honours the same locks. One row per
-- account name or client address; times are wall-clock epoch seconds (processes on several hosts share no
-- monotonic clock). A row says nothing once `expires_at` has passed and is deleted with the next failure.
CREATE TABLE login_throttle (
    kind TEXT NOT NULL,             -- 'name' or 'address'
    value TEXT NOT NULL,
    failures TEXT NOT NULL,         -- JSON array of the failures' times within the window, oldest first
    locked_until REAL NOT NULL,     -- 0: not locked
    expires_at REAL NOT NULL,       -- the lock's end or the last failure's end of window, the later
    PRIMARY KEY (kind, value)
);
CREATE INDEX login_throttle_expires ON login_throttle (expires_at);
