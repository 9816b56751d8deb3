-- PostgreSQL mirror of SQLite's 0036_residence_month_channel.
-- The residence month rows with the categories summed (server.model.rollups.RESIDENCE_MONTH_CHANNEL), as
-- rollups_month_channel is for the handled basis: a year's table of units by residence reads 3x fewer rows. Every
-- counter of METRICS; filled from rollups_residence_month with the counters it has here, and the ratings' counters
-- as 0040 sets them on the other residence tables (every rating one case's, at the window, of the whole case); the
-- refold 0030 asked for rebuilds every grain at the next start anyway.
CREATE TABLE rollups_residence_month_channel (
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
    rated_cases BIGINT NOT NULL DEFAULT 0,
    rated_by_resident BIGINT NOT NULL DEFAULT 0,
    bad_followed_up_on_time BIGINT NOT NULL DEFAULT 0,
    rated_via_window BIGINT NOT NULL DEFAULT 0,
    rated_via_phone BIGINT NOT NULL DEFAULT 0,
    rated_via_online BIGINT NOT NULL DEFAULT 0,
    rated_via_callback BIGINT NOT NULL DEFAULT 0,
    rated_at_intake BIGINT NOT NULL DEFAULT 0,
    rated_at_acceptance BIGINT NOT NULL DEFAULT 0,
    rated_at_completion BIGINT NOT NULL DEFAULT 0,
    rated_at_case BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (unit, month, channel)
);
INSERT INTO rollups_residence_month_channel (unit, month, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending, rated_cases, rated_via_window, rated_at_case)
    SELECT unit, month, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending), SUM(rated), SUM(rated), SUM(rated) FROM rollups_residence_month WHERE true GROUP BY 1, 2, 3;
