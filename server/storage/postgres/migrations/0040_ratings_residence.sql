-- PostgreSQL mirror of SQLite's 0040_ratings_residence.
-- The ratings' counters (0030_ratings) on the rollups by where the applicant lives (0035_residence_rollups), which
-- were made after 0030 with the counters of the time. The existing rows' follow from `rated` as in 0030; the refold
-- that 0030 asked for rebuilds every grain at the next start anyway.

ALTER TABLE rollups_residence ADD COLUMN rated_cases BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_by_resident BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN bad_followed_up_on_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_via_window BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_via_phone BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_via_online BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_via_callback BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_at_intake BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_at_acceptance BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_at_completion BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_at_case BIGINT NOT NULL DEFAULT 0;
UPDATE rollups_residence SET rated_cases = rated, rated_via_window = rated, rated_at_case = rated WHERE rated <> 0;

ALTER TABLE rollups_residence_month ADD COLUMN rated_cases BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_by_resident BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN bad_followed_up_on_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_via_window BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_via_phone BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_via_online BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_via_callback BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_at_intake BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_at_acceptance BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_at_completion BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_at_case BIGINT NOT NULL DEFAULT 0;
UPDATE rollups_residence_month SET rated_cases = rated, rated_via_window = rated, rated_at_case = rated WHERE rated <> 0;
