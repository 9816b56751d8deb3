-- PostgreSQL mirror of SQLite's 0030_ratings.
-- Ratings as residents give them (issue 12): several per case, each with its step, channel and who entered it.
-- New counters on every rollup grain (server.model.rollups.METRICS). The case bodies keep their one rating in the
-- summary fields until refolded: `refold_needed` makes the next start refold every case from its events (each old
-- rating becomes a rating of the whole case, entered by staff, at the window) and rebuild the rollups.

ALTER TABLE rollups ADD COLUMN rated_cases BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_by_resident BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN bad_followed_up_on_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_via_window BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_via_phone BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_via_online BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_via_callback BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_at_intake BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_at_acceptance BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_at_completion BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups ADD COLUMN rated_at_case BIGINT NOT NULL DEFAULT 0;

ALTER TABLE rollups_month ADD COLUMN rated_cases BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_by_resident BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN bad_followed_up_on_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_via_window BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_via_phone BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_via_online BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_via_callback BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_at_intake BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_at_acceptance BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_at_completion BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month ADD COLUMN rated_at_case BIGINT NOT NULL DEFAULT 0;

ALTER TABLE rollups_month_channel ADD COLUMN rated_cases BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_by_resident BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN bad_followed_up_on_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_via_window BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_via_phone BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_via_online BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_via_callback BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_at_intake BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_at_acceptance BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_at_completion BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_month_channel ADD COLUMN rated_at_case BIGINT NOT NULL DEFAULT 0;

-- Until now every rating was one per case, of the whole case, at the window, entered by staff, without a follow-up
-- last day: the new counters of the existing rows follow from `rated` exactly.
UPDATE rollups SET rated_cases = rated, rated_via_window = rated, rated_at_case = rated WHERE rated <> 0;
UPDATE rollups_month SET rated_cases = rated, rated_via_window = rated, rated_at_case = rated WHERE rated <> 0;
UPDATE rollups_month_channel SET rated_cases = rated, rated_via_window = rated, rated_at_case = rated
    WHERE rated <> 0;

INSERT INTO server_meta (key, value) VALUES ('refold_needed', '1')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
