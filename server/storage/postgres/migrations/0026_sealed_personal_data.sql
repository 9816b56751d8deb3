-- PostgreSQL mirror of SQLite's 0026_sealed_personal_data.
-- ID numbers and phones are stored sealed (server.model.sealing); exact search goes by keyed hashes of them. Rows
-- from before have none until `county-server keys seal` seals them and fills these in.
ALTER TABLE cases ADD COLUMN cert_hash TEXT COLLATE "C";
ALTER TABLE cases ADD COLUMN phone_hash TEXT COLLATE "C";
ALTER TABLE cases ADD COLUMN tail_hash TEXT COLLATE "C";
CREATE INDEX cases_cert_hash ON cases (cert_hash);
CREATE INDEX cases_phone_hash ON cases (phone_hash);
CREATE INDEX cases_tail_hash ON cases (tail_hash);
