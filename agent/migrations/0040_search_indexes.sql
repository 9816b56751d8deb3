-- The search box (agent/search.py) finds a case by the last 4 characters of its certificate number and by its phone
-- number; without these each such search read every case row and parsed its JSON body (190 ms at 20,000 cases).
-- The phone key must stay the expression `AgentStore.list_cases` compares (store.PHONE_KEY). IF NOT EXISTS: 0010,
-- which rebuilds the cases table, makes them too (a PC may get 0010 after 0040).
CREATE INDEX IF NOT EXISTS cases_by_cert_tail ON cases (substr(cert_no, -4));
CREATE INDEX IF NOT EXISTS cases_by_phone ON cases (replace(replace(json_extract(body, '$.phone'), '-', ''), '+86', ''));
