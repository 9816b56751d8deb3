-- PostgreSQL mirror of SQLite's 0045_case_search.
-- The dashboard's case search (server.model.case_search): by case number, applicant name, certificate number,
-- its last 4 characters, and phone. Expression indexes over the stored case, so ingest writes no extra rows and
-- every case written before this migration is found too.
CREATE INDEX cases_case_no ON cases (case_no);
CREATE INDEX cases_applicant ON cases ((body::jsonb ->> 'applicant_name'));
CREATE INDEX cases_cert_no ON cases ((body::jsonb ->> 'cert_no'));
CREATE INDEX cases_cert_tail ON cases (right((body::jsonb ->> 'cert_no'), 4));
CREATE INDEX cases_phone ON cases ((body::jsonb ->> 'phone'));
