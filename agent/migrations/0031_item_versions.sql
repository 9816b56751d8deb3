-- Cases record the catalog version of their item (`item_version`, issue 12): the case bodies change shape, so the
-- agent refolds them all from their events at its next start, as the county does.
INSERT INTO meta (key, value) VALUES ('refold_needed', '1')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
