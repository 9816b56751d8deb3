-- The audit log (issue 11): who did what, when, from where, with what outcome. Append-only: triggers refuse every
-- UPDATE, and every DELETE of an entry younger than 183 days (the shortest retention the law allows, 6 months), so
-- that only the retention purge (`Store.purge_audit`) can remove anything, and only what is old enough.
CREATE TABLE audit_log (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,            -- UTC, ISO 8601 with milliseconds (server.clock.now_iso)
    actor TEXT NOT NULL,         -- account name, "admin" (the admin token), cli:<OS user>, or an agent id
    role TEXT,                   -- the actor's role, when an account
    address TEXT NOT NULL,       -- the client's address; "local" for the CLI
    action TEXT NOT NULL,        -- server.accounts.audit.ACTIONS
    target TEXT,                 -- what it was done to: an account, an agent, a table, a case
    outcome TEXT NOT NULL,       -- ok, refused or failed
    detail TEXT,
    event_id TEXT                -- the event, for corrections and settlements sent by PCs (recorded once)
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE UNIQUE INDEX audit_log_event ON audit_log (event_id) WHERE event_id IS NOT NULL;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_early_delete BEFORE DELETE ON audit_log
WHEN old.at >= strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-183 days')
BEGIN
    SELECT RAISE(ABORT, 'audit entries are kept at least 183 days');
END;
