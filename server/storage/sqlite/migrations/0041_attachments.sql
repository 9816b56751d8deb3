-- Scanned materials (申请材料) attached to cases on the PCs. The bytes are files on disk beside the database,
-- content-addressed (server/storage/files.py); these tables say which files are whole, which case holds which file,
-- and which uploads are under way.
CREATE TABLE attachment_blobs (
    sha256 TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    stored_at TEXT NOT NULL
);

CREATE TABLE attachments (
    attachment_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    township_code TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    offered_at TEXT NOT NULL,
    UNIQUE (case_id, sha256)
);
CREATE INDEX attachments_by_case ON attachments (case_id, added_at);
CREATE INDEX attachments_by_agent ON attachments (agent_id, sha256);

CREATE TABLE attachment_uploads (
    agent_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    started_at TEXT NOT NULL,
    PRIMARY KEY (agent_id, sha256)
);
