-- The dashboard's case search (server.model.case_search): by case number, applicant name, certificate number,
-- its last 4 characters, and phone. Expression indexes over the stored case, so ingest writes no extra rows and
-- every case written before this migration is found too.
CREATE INDEX cases_case_no ON cases (case_no);
CREATE INDEX cases_applicant ON cases (json_extract(body, '$.applicant_name'));
CREATE INDEX cases_cert_no ON cases (json_extract(body, '$.cert_no'));
CREATE INDEX cases_cert_tail ON cases (substr(json_extract(body, '$.cert_no'), -4));
CREATE INDEX cases_phone ON cases (json_extract(body, '$.phone'));
