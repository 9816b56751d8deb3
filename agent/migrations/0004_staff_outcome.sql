-- What staff decided about a refused event (resent as a corrected copy, or dismissed). An event is sent again when
-- the county lost it (restored from a backup) or the PC takes a new identity; if the county refuses it again, this
-- keeps the staff's decision instead of showing it as refused anew.
ALTER TABLE outbox ADD COLUMN staff_outcome TEXT;
UPDATE outbox SET staff_outcome = status WHERE status IN ('resent', 'dismissed');
