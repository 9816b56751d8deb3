-- Cases record the catalog version of their item (`item_version`, issue 12): the case bodies change shape, so every
-- case is refolded from its events at the next start (and the township digests with it).
INSERT INTO server_meta (key, value) VALUES ('refold_needed', '1')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
