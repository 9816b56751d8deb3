-- Consultations (咨询): counter entries without a case. Each also travels to the county as a `consulted` event.
CREATE TABLE consultations (
    consultation_id TEXT PRIMARY KEY,  -- the `consulted` event's case_id: a uuid7 of its own
    day             TEXT NOT NULL,     -- YYYY-MM-DD in China time, on the county's clock
    at              TEXT NOT NULL,
    topic           TEXT NOT NULL,
    channel         TEXT NOT NULL,
    org_code        TEXT NOT NULL
);
CREATE INDEX consultations_by_day ON consultations (day);

-- A quarantined event that staff corrected is sent again as a new event (status 'resent' on the old one).
ALTER TABLE outbox ADD COLUMN resent_as TEXT;

-- Bad ratings (差评) still waiting for their follow-up (回访): the today page lists them on every load.
CREATE INDEX cases_bad_rating_open ON cases (json_extract(body, '$.rated_on'))
    WHERE json_extract(body, '$.rating') IN (1, 2) AND json_extract(body, '$.followed_up_on') IS NULL;
