-- Faster tables of units at prefecture scale (bench/dashboard_bench.py, 3.5 M cases): the monthly grain stored in key
-- order, the same months with the categories summed, and overdue counts read from an index alone.

-- rollups_month WITHOUT ROWID: a unit's months are one sweep of the table instead of an index walk plus a row
-- look-up each.
CREATE TABLE rollups_month_new (
    unit TEXT NOT NULL,
    month TEXT NOT NULL,
    category TEXT NOT NULL,
    channel TEXT NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    completed_on_time INTEGER NOT NULL DEFAULT 0,
    completed_late INTEGER NOT NULL DEFAULT 0,
    trips_le1 INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    rated INTEGER NOT NULL DEFAULT 0,
    rated_5 INTEGER NOT NULL DEFAULT 0,
    rated_4 INTEGER NOT NULL DEFAULT 0,
    rated_3 INTEGER NOT NULL DEFAULT 0,
    rated_2 INTEGER NOT NULL DEFAULT 0,
    rated_1 INTEGER NOT NULL DEFAULT 0,
    bad_followed_up INTEGER NOT NULL DEFAULT 0,
    consultations INTEGER NOT NULL DEFAULT 0,
    in_progress INTEGER NOT NULL DEFAULT 0,
    bad_pending INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month, category, channel)
) WITHOUT ROWID;
INSERT INTO rollups_month_new SELECT unit, month, category, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending FROM rollups_month;
DROP TABLE rollups_month;
ALTER TABLE rollups_month_new RENAME TO rollups_month;

-- The month rows with the categories summed (server.rollups.MONTH_CHANNEL): about 5 rows per unit and month.
CREATE TABLE rollups_month_channel (
    unit TEXT NOT NULL,
    month TEXT NOT NULL,
    channel TEXT NOT NULL,
    accepted INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    completed_on_time INTEGER NOT NULL DEFAULT 0,
    completed_late INTEGER NOT NULL DEFAULT 0,
    trips_le1 INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    rated INTEGER NOT NULL DEFAULT 0,
    rated_5 INTEGER NOT NULL DEFAULT 0,
    rated_4 INTEGER NOT NULL DEFAULT 0,
    rated_3 INTEGER NOT NULL DEFAULT 0,
    rated_2 INTEGER NOT NULL DEFAULT 0,
    rated_1 INTEGER NOT NULL DEFAULT 0,
    bad_followed_up INTEGER NOT NULL DEFAULT 0,
    consultations INTEGER NOT NULL DEFAULT 0,
    in_progress INTEGER NOT NULL DEFAULT 0,
    bad_pending INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month, channel)
) WITHOUT ROWID;
INSERT INTO rollups_month_channel (unit, month, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
    SELECT unit, month, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending) FROM rollups_month WHERE true GROUP BY 1, 2, 3;

-- Open cases by where they are handled, then due date: the overdue count of every unit under a prefix is one ordered
-- sweep of this index, without reading a case row or sorting (17 ms for 100,000 open cases instead of 160).
DROP INDEX cases_open_due;
CREATE INDEX cases_open_due ON cases (org_code, due_on) WHERE state IN ('in_progress', 'suspended');
