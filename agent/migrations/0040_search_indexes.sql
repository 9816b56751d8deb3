-- The search box (agent/search.py) finds a case by the last 4 characters of its certificate number and by its phone
-- number; without these each such search read every case row and parsed its JSON body (190 ms at 20,000 cases).
-- The phone key must stay the expression `AgentStore.list_cases` compares (store.PHONE_KEY).
CREATE INDEX cases_by_cert_tail ON cases (substr(cert_no, -4));
CREATE INDEX cases_by_phone ON cases (replace(replace(json_extract(body, '$.phone'), '-', ''), '+86', ''));
