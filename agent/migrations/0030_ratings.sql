-- Ratings as residents give them (issue 12): a case keeps every rating (`ratings` in its body). The case rows hold
-- their one rating in the summary fields only: the agent refolds them all from their events at its next start.
INSERT INTO meta (key, value) VALUES ('refold_needed', '1')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
