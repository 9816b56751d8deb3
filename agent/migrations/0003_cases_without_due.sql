-- Cases without a due date (calendar missing, or paused for a supplement): read at start and after every new
-- reference version to fill in what the calendar now reaches, without scanning every case.
CREATE INDEX cases_without_due ON cases (accepted_on) WHERE due_on IS NULL;
