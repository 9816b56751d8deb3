-- PostgreSQL mirror of SQLite's 0035_residence_rollups.
-- Figures by where the applicant lives (server.model.rollups.BASES): the same counters as rollups and rollups_month,
-- keyed by the applicant's village (cases.village_code; a case without one at its handling unit's county code)
-- instead of the unit that handled the case. Filled here from the cases by the rules of
-- server.model.rollups.add_case (the contract suite checks a migrated database against `rollups verify`).

CREATE TABLE rollups_residence (
    res_code TEXT COLLATE "C" NOT NULL,
    day TEXT COLLATE "C" NOT NULL,
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
    PRIMARY KEY (res_code, day, category, channel)
);

CREATE TABLE rollups_residence_month (
    unit TEXT COLLATE "C" NOT NULL,
    month TEXT COLLATE "C" NOT NULL,
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

-- Open cases by the applicant's village, for overdue counts by residence.
CREATE INDEX cases_open_residence ON cases (village_code, due_on) WHERE state IN ('in_progress', 'suspended');

INSERT INTO rollups_residence (res_code, day, category, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
SELECT code, day, category, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending) FROM (
    SELECT COALESCE(village_code, substr(org_code, 1, 6) || '000000') AS code, accepted_on AS day, category, channel, 1 AS accepted, 0 AS completed, 0 AS completed_on_time, 0 AS completed_late, 0 AS trips_le1, 0 AS rejected, 0 AS withdrawn, 0 AS rated, 0 AS rated_5, 0 AS rated_4, 0 AS rated_3, 0 AS rated_2, 0 AS rated_1, 0 AS bad_followed_up, 0 AS consultations, (state IN ('in_progress', 'suspended'))::int AS in_progress, 0 AS bad_pending
    FROM cases WHERE state <> 'rejected'
    UNION ALL
    SELECT COALESCE(village_code, substr(org_code, 1, 6) || '000000') AS code, completed_on AS day, category, channel, 0 AS accepted, 1 AS completed, (is_on_time IS NOT DISTINCT FROM 1)::int AS completed_on_time, (is_on_time IS NOT DISTINCT FROM 0)::int AS completed_late, (((body::jsonb ->> 'trips')::int <= 1)::int) AS trips_le1, 0 AS rejected, 0 AS withdrawn, 0 AS rated, 0 AS rated_5, 0 AS rated_4, 0 AS rated_3, 0 AS rated_2, 0 AS rated_1, 0 AS bad_followed_up, 0 AS consultations, 0 AS in_progress, 0 AS bad_pending
    FROM cases WHERE state = 'completed' AND completed_on IS NOT NULL
    UNION ALL
    SELECT COALESCE(village_code, substr(org_code, 1, 6) || '000000') AS code, closed_on AS day, category, channel, 0 AS accepted, 0 AS completed, 0 AS completed_on_time, 0 AS completed_late, 0 AS trips_le1, 1 AS rejected, 0 AS withdrawn, 0 AS rated, 0 AS rated_5, 0 AS rated_4, 0 AS rated_3, 0 AS rated_2, 0 AS rated_1, 0 AS bad_followed_up, 0 AS consultations, 0 AS in_progress, 0 AS bad_pending
    FROM cases WHERE state = 'rejected' AND closed_on IS NOT NULL
    UNION ALL
    SELECT COALESCE(village_code, substr(org_code, 1, 6) || '000000') AS code, closed_on AS day, category, channel, 0 AS accepted, 0 AS completed, 0 AS completed_on_time, 0 AS completed_late, 0 AS trips_le1, 0 AS rejected, 1 AS withdrawn, 0 AS rated, 0 AS rated_5, 0 AS rated_4, 0 AS rated_3, 0 AS rated_2, 0 AS rated_1, 0 AS bad_followed_up, 0 AS consultations, 0 AS in_progress, 0 AS bad_pending
    FROM cases WHERE state = 'withdrawn' AND closed_on IS NOT NULL
    UNION ALL
    SELECT COALESCE(village_code, substr(org_code, 1, 6) || '000000') AS code, rated_on AS day, category, channel, 0 AS accepted, 0 AS completed, 0 AS completed_on_time, 0 AS completed_late, 0 AS trips_le1, 0 AS rejected, 0 AS withdrawn, 1 AS rated, (rating = 5)::int AS rated_5, (rating = 4)::int AS rated_4, (rating = 3)::int AS rated_3, (rating = 2)::int AS rated_2, (rating = 1)::int AS rated_1, 0 AS bad_followed_up, 0 AS consultations, 0 AS in_progress, (rating IN (1, 2) AND followed_up_on IS NULL)::int AS bad_pending
    FROM cases WHERE rating IS NOT NULL AND rated_on IS NOT NULL
    UNION ALL
    SELECT COALESCE(village_code, substr(org_code, 1, 6) || '000000') AS code, followed_up_on AS day, category, channel, 0 AS accepted, 0 AS completed, 0 AS completed_on_time, 0 AS completed_late, 0 AS trips_le1, 0 AS rejected, 0 AS withdrawn, 0 AS rated, 0 AS rated_5, 0 AS rated_4, 0 AS rated_3, 0 AS rated_2, 0 AS rated_1, 1 AS bad_followed_up, 0 AS consultations, 0 AS in_progress, 0 AS bad_pending
    FROM cases WHERE followed_up_on IS NOT NULL
    UNION ALL
    SELECT substr(org_code, 1, 6) || '000000' AS code, consulted_on AS day, '咨询' AS category, channel, 0 AS accepted, 0 AS completed, 0 AS completed_on_time, 0 AS completed_late, 0 AS trips_le1, 0 AS rejected, 0 AS withdrawn, 0 AS rated, 0 AS rated_5, 0 AS rated_4, 0 AS rated_3, 0 AS rated_2, 0 AS rated_1, 0 AS bad_followed_up, 1 AS consultations, 0 AS in_progress, 0 AS bad_pending
    FROM consultations
) AS c
GROUP BY 1, 2, 3, 4 HAVING SUM(accepted) <> 0 OR SUM(completed) <> 0 OR SUM(completed_on_time) <> 0 OR SUM(completed_late) <> 0 OR SUM(trips_le1) <> 0 OR SUM(rejected) <> 0 OR SUM(withdrawn) <> 0 OR SUM(rated) <> 0 OR SUM(rated_5) <> 0 OR SUM(rated_4) <> 0 OR SUM(rated_3) <> 0 OR SUM(rated_2) <> 0 OR SUM(rated_1) <> 0 OR SUM(bad_followed_up) <> 0 OR SUM(consultations) <> 0 OR SUM(in_progress) <> 0 OR SUM(bad_pending) <> 0;

INSERT INTO rollups_residence_month (unit, month, category, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
    SELECT substr(res_code, 1, 6), substr(day, 1, 7), category, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending) FROM rollups_residence
    GROUP BY 1, 2, 3, 4;
INSERT INTO rollups_residence_month (unit, month, category, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
    SELECT substr(res_code, 1, 9), substr(day, 1, 7), category, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending) FROM rollups_residence
    GROUP BY 1, 2, 3, 4;
INSERT INTO rollups_residence_month (unit, month, category, channel, accepted, completed, completed_on_time, completed_late, trips_le1, rejected, withdrawn, rated, rated_5, rated_4, rated_3, rated_2, rated_1, bad_followed_up, consultations, in_progress, bad_pending)
    SELECT substr(res_code, 1, 12), substr(day, 1, 7), category, channel, SUM(accepted), SUM(completed), SUM(completed_on_time), SUM(completed_late), SUM(trips_le1), SUM(rejected), SUM(withdrawn), SUM(rated), SUM(rated_5), SUM(rated_4), SUM(rated_3), SUM(rated_2), SUM(rated_1), SUM(bad_followed_up), SUM(consultations), SUM(in_progress), SUM(bad_pending) FROM rollups_residence
    GROUP BY 1, 2, 3, 4;
