-- PostgreSQL mirror of SQLite's 0002. Figures for the county dashboard (issue 4): two more counters, a monthly grain, indexes for the work lists, and
-- the dashboard's accounts and sessions. Existing data is carried over, so figures stay true without a rebuild.

-- 在办 (accepted, still open) on the acceptance day; 差评待回访 (bad rating, not followed up) on the rating day.
ALTER TABLE rollups ADD COLUMN in_progress BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN bad_pending BIGINT NOT NULL DEFAULT 0;
INSERT INTO rollups (org_code, day, category, channel, in_progress)
    SELECT org_code, accepted_on, category, channel, count(*) FROM cases
    WHERE state IN ('in_progress', 'suspended') GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_code, day, category, channel) DO UPDATE SET in_progress = excluded.in_progress;
INSERT INTO rollups (org_code, day, category, channel, bad_pending)
    SELECT org_code, rated_on, category, channel, count(*) FROM cases
    WHERE rating IN (1, 2) AND rated_on IS NOT NULL AND followed_up_on IS NULL GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_code, day, category, channel) DO UPDATE SET bad_pending = excluded.bad_pending;
-- Short periods over the whole county (a day, a week) read the days by date.
CREATE INDEX rollups_day ON rollups (day);

-- The daily rows summed per month and unit prefix: the county (6 digits), the township (9: centre + villages) and
-- the unit where a case was handled (12). One column per metric of server.rollups.METRICS (a test keeps them equal).
CREATE TABLE rollups_month (
    unit TEXT COLLATE "C" NOT NULL,
    month TEXT COLLATE "C" NOT NULL,            -- YYYY-MM
    category TEXT COLLATE "C" NOT NULL,
    channel TEXT COLLATE "C" NOT NULL,
    accepted BIGINT NOT NULL DEFAULT 0,
    completed BIGINT NOT NULL DEFAULT 0,
    completed_on_time BIGINT NOT NULL DEFAULT 0,
    completed_late BIGINT NOT NULL DEFAULT 0,
    trips_le1 BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    rated_5 BIGINT NOT NULL DEFAULT 0,
    rated_4 BIGINT NOT NULL DEFAULT 0,
    rated_3 BIGINT NOT NULL DEFAULT 0,
    rated_2 BIGINT NOT NULL DEFAULT 0,
    rated_1 BIGINT NOT NULL DEFAULT 0,
    bad_followed_up BIGINT NOT NULL DEFAULT 0,
    consultations BIGINT NOT NULL DEFAULT 0,
    in_progress BIGINT NOT NULL DEFAULT 0,
    bad_pending BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month, category, channel)
);
INSERT INTO rollups_month (unit, month, category, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
    SELECT substr(org_code, 1, 6), substr(day, 1, 7), category, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending)
    FROM rollups GROUP BY 1, 2, 3, 4;
INSERT INTO rollups_month (unit, month, category, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
    SELECT substr(org_code, 1, 9), substr(day, 1, 7), category, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending)
    FROM rollups GROUP BY 1, 2, 3, 4;
INSERT INTO rollups_month (unit, month, category, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
    SELECT substr(org_code, 1, 12), substr(day, 1, 7), category, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending)
    FROM rollups GROUP BY 1, 2, 3, 4;

-- Bad ratings waiting for their follow-up (回访): a small partial index, read by the dashboard's work list.
CREATE INDEX cases_bad_pending ON cases (rated_on) WHERE rating IN (1, 2) AND followed_up_on IS NULL;

-- Dashboard accounts: scrypt password hashes (server/accounts.py), and sessions by the sha256 of their token.
CREATE TABLE accounts (
    name TEXT COLLATE "C" PRIMARY KEY,
    password_hash TEXT NOT NULL,    -- scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>
    created_at TEXT COLLATE "C" NOT NULL,
    is_disabled INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_sha256 TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL REFERENCES accounts (name),
    created_at TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C" NOT NULL      -- UTC ISO; a session idle longer than [dashboard] session_idle_minutes ends
);
CREATE INDEX sessions_account ON sessions (account);
