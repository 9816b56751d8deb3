-- PostgreSQL mirror of SQLite's 0048_search_by_hash.
-- ID numbers and phones are stored sealed (0026): the dashboard's search finds them by their keyed hashes
-- (cases_cert_hash, cases_tail_hash, cases_phone_hash). 0045's indexes over the clear values index ciphertext.
DROP INDEX IF EXISTS cases_cert_no;
DROP INDEX IF EXISTS cases_cert_tail;
DROP INDEX IF EXISTS cases_phone;
