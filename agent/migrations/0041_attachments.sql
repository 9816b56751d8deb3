-- Scanned materials (申请材料) of a case: the files on disk (<database>.attachments/), content-addressed (agent/attachments.py), and which case
-- holds which file. One file is stored once however often it is attached; a case holds it once.
CREATE TABLE attachment_blobs (
    sha256 TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL CHECK (size_bytes > 0),
    media_type TEXT NOT NULL,
    stored_at TEXT NOT NULL
);

CREATE TABLE attachments (
    attachment_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    sha256 TEXT NOT NULL REFERENCES attachment_blobs (sha256),
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    -- pending: still to go to the county; uploaded: the county holds it whole, with the same sha256
    upload_state TEXT NOT NULL DEFAULT 'pending' CHECK (upload_state IN ('pending', 'uploaded')),
    uploaded_at TEXT,
    upload_error TEXT,
    UNIQUE (case_id, sha256)
);
CREATE INDEX attachments_by_case ON attachments (case_id, added_at);
CREATE INDEX attachments_pending ON attachments (added_at) WHERE upload_state = 'pending';
