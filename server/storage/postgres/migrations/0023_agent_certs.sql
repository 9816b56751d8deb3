-- PostgreSQL mirror of SQLite's 0023_agent_certs.
-- TLS client certificates (issue 11): the SHA-256 of the certificate bound to a PC (`county-server agents
-- bind-cert`); its token is refused over a connection without that certificate. One certificate, one PC.
ALTER TABLE agents ADD COLUMN cert_sha256 TEXT COLLATE "C";
CREATE UNIQUE INDEX agents_cert ON agents (cert_sha256) WHERE cert_sha256 IS NOT NULL;
