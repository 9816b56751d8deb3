-- The residence month rows with the categories summed (server.model.rollups.RESIDENCE_MONTH_CHANNEL), as
-- rollups_month_channel is for the handled basis: a year's table of units by residence reads 3x fewer rows. Every
-- counter of METRICS; filled from rollups_residence_month with the counters it has here, and the ratings' counters
-- as 0040 sets them on the other residence tables (every rating one case's, at the window, of the whole case); the
-- refold 0030 asked for rebuilds every grain at the next start anyway.
CREATE TABLE rollups_residence_month_channel (
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
    rated_cases INTEGER NOT NULL DEFAULT 0,
    rated_by_resident INTEGER NOT NULL DEFAULT 0,
    bad_followed_up_on_time INTEGER NOT NULL DEFAULT 0,
    rated_via_window INTEGER NOT NULL DEFAULT 0,
    rated_via_phone INTEGER NOT NULL DEFAULT 0,
    rated_via_online INTEGER NOT NULL DEFAULT 0,
    rated_via_callback INTEGER NOT NULL DEFAULT 0,
    rated_at_intake INTEGER NOT NULL DEFAULT 0,
    rated_at_acceptance INTEGER NOT NULL DEFAULT 0,
    rated_at_completion INTEGER NOT NULL DEFAULT 0,
    rated_at_case INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month, channel)
) WITHOUT ROWID;
INSERT INTO rollups_residence_month_channel (unit, month, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending, rated_cases, rated_via_window, rated_at_case)
    SELECT unit, month, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending), SUM(rated), SUM(rated), SUM(rated) FROM rollups_residence_month WHERE true GROUP BY 1, 2, 3;
