-- The ratings' counters (0030_ratings) on the rollups by where the applicant lives (0035_residence_rollups), which
-- were made after 0030 with the counters of the time. The existing rows' follow from `rated` as in 0030; the refold
-- that 0030 asked for rebuilds every grain at the next start anyway.

ALTER TABLE rollups_residence ADD COLUMN rated_cases INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_by_resident INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN bad_followed_up_on_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_via_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_via_phone INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_via_online INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_via_callback INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_at_intake INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_at_acceptance INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_at_completion INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence ADD COLUMN rated_at_case INTEGER NOT NULL DEFAULT 0;
UPDATE rollups_residence SET rated_cases = rated, rated_via_window = rated, rated_at_case = rated WHERE rated <> 0;

ALTER TABLE rollups_residence_month ADD COLUMN rated_cases INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_by_resident INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN bad_followed_up_on_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_via_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_via_phone INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_via_online INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_via_callback INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_at_intake INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_at_acceptance INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_at_completion INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_residence_month ADD COLUMN rated_at_case INTEGER NOT NULL DEFAULT 0;
UPDATE rollups_residence_month SET rated_cases = rated, rated_via_window = rated, rated_at_case = rated WHERE rated <> 0;
