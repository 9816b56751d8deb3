-- PostgreSQL mirror of SQLite's 0041_attachments.
-- Scanned materials (申请材料) attached to cases on the PCs. The bytes are files on disk beside the database,
-- content-addressed (server/storage/files.py); these tables say which files are whole, which case holds which file,
-- and which uploads are under way.
CREATE TABLE attachment_blobs (
    sha256 TEXT COLLATE "C" PRIMARY KEY,
    size_bytes BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    stored_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE attachments (
    attachment_id TEXT COLLATE "C" PRIMARY KEY,
    case_id TEXT COLLATE "C" NOT NULL,
    township_code TEXT COLLATE "C" NOT NULL,
    agent_id TEXT COLLATE "C" NOT NULL,
    sha256 TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    added_at TEXT COLLATE "C" NOT NULL,
    offered_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (case_id, sha256)
);
CREATE INDEX attachments_by_case ON attachments (case_id, added_at);
CREATE INDEX attachments_by_agent ON attachments (agent_id, sha256);

CREATE TABLE attachment_uploads (
    agent_id TEXT COLLATE "C" NOT NULL,
    sha256 TEXT COLLATE "C" NOT NULL,
    size_bytes BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (agent_id, sha256)
);
