-- PostgreSQL mirror of SQLite's 0003: the month rows with the categories summed, and overdue counts read from an
-- index alone. (SQLite's rebuild of rollups_month WITHOUT ROWID has no PostgreSQL counterpart: a B-tree primary
-- key is already the lookup of a unit's months.)

CREATE TABLE rollups_month_channel (
    unit TEXT COLLATE "C" NOT NULL,
    month TEXT COLLATE "C" NOT NULL,
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
    PRIMARY KEY (unit, month, channel)
);
INSERT INTO rollups_month_channel (unit, month, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
    SELECT unit, month, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending) FROM rollups_month GROUP BY 1, 2, 3;

-- Open cases by where they are handled, then due date: the overdue count of every unit under a prefix.
DROP INDEX cases_open_due;
CREATE INDEX cases_open_due ON cases (org_code, due_on) WHERE state IN ('in_progress', 'suspended');
