"""SQLite's `AttachmentStore`: rows in the database, bytes as files next to it (`server.storage.files`, in
`<database>.attachments/`). Writes go through the store's writer thread like every other write; reads through its
read connection. A file's rename to its blob name happens before the row that says it is stored commits, so a row
never names a missing file (a crash between leaves a blob no row names, which the same upload finds again)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite

from server.clock import now_iso
from server.storage.base import AttachmentRecord, Upload
from server.storage.files import BlobFiles, attachments_dir

RECORD_COLUMNS = ("a.attachment_id, a.case_id, a.township_code, a.agent_id, a.sha256, a.name, a.media_type, "
                  "a.size_bytes, a.added_at, a.offered_at, b.sha256 IS NOT NULL, g.name")
RECORD_FROM = ("attachments a LEFT JOIN attachment_blobs b ON b.sha256 = a.sha256 "
               "LEFT JOIN agents g ON g.agent_id = a.agent_id")


class SqliteAttachments:
    def __init__(self, database: Path, read: Callable[[], aiosqlite.Connection],
                 transaction: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]) -> None:
        self.files = BlobFiles(attachments_dir(database))
        self._read = read
        self._transaction = transaction

    async def case_township(self, case_id: str) -> str | None:
        rows = list(await self._read().execute_fetchall("SELECT township_code FROM cases WHERE case_id = ?",
                                                        (case_id,)))
        return rows[0][0] if rows else None

    async def agent_attachment_bytes(self, agent_id: str) -> int:
        rows = await self._read().execute_fetchall(
            "SELECT coalesce(sum(size_bytes), 0) FROM (SELECT sha256, max(size_bytes) AS size_bytes FROM attachments "
            "WHERE agent_id = ? GROUP BY sha256) AS offered", (agent_id,))
        return int(next(iter(rows))[0])

    async def offer(self, record: AttachmentRecord, media_type: str) -> Upload | None:
        r = record

        def write(conn: sqlite3.Connection) -> bool:
            conn.execute("INSERT INTO attachments (attachment_id, case_id, township_code, agent_id, sha256, name, "
                         "media_type, size_bytes, added_at, offered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                         "ON CONFLICT DO NOTHING",
                         (r.attachment_id, r.case_id, r.township_code, r.agent_id, r.sha256, r.name, media_type,
                          r.size_bytes, r.added_at, r.offered_at))
            if conn.execute("SELECT 1 FROM attachment_blobs WHERE sha256 = ?", (r.sha256,)).fetchone():
                return False
            conn.execute("INSERT INTO attachment_uploads (agent_id, sha256, size_bytes, media_type, started_at) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (r.agent_id, r.sha256, r.size_bytes, media_type, now_iso()))
            return True

        if not await self._transaction(write):
            return None
        return await self.upload_of(r.agent_id, r.sha256)

    async def offered_size(self, agent_id: str, sha256: str) -> int | None:
        rows = list(await self._read().execute_fetchall(
            "SELECT size_bytes FROM attachments WHERE agent_id = ? AND sha256 = ? LIMIT 1", (agent_id, sha256)))
        return int(rows[0][0]) if rows else None

    async def upload_of(self, agent_id: str, sha256: str) -> Upload | None:
        rows = list(await self._read().execute_fetchall(
            "SELECT size_bytes, media_type FROM attachment_uploads WHERE agent_id = ? AND sha256 = ?",
            (agent_id, sha256)))
        if not rows:
            return None
        size_bytes, media_type = rows[0]
        return Upload(agent_id, sha256, size_bytes, media_type, self.files.held(agent_id, sha256))

    async def append(self, upload: Upload, offset: int, chunks: AsyncIterator[bytes]) -> int:
        return await self.files.append(upload.agent_id, upload.sha256, offset, upload.size_bytes, chunks)

    async def complete(self, upload: Upload) -> tuple[bool, bytes]:
        matched, head = await self.files.complete(upload.agent_id, upload.sha256)
        u = upload

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM attachment_uploads WHERE agent_id = ? AND sha256 = ?", (u.agent_id, u.sha256))
            if matched:
                conn.execute("INSERT INTO attachment_blobs (sha256, size_bytes, media_type, stored_at) VALUES "
                             "(?, ?, ?, ?) ON CONFLICT DO NOTHING", (u.sha256, u.size_bytes, u.media_type, now_iso()))

        await self._transaction(write)
        return matched, head

    async def discard(self, upload: Upload) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM attachment_uploads WHERE agent_id = ? AND sha256 = ?",
                         (upload.agent_id, upload.sha256))
            conn.execute("DELETE FROM attachment_blobs WHERE sha256 = ?", (upload.sha256,))

        await self._transaction(write)
        self.files.drop_part(upload.agent_id, upload.sha256)
        self.files.drop_blob(upload.sha256)

    async def case_attachments(self, case_id: str) -> list[AttachmentRecord]:
        rows = await self._read().execute_fetchall(
            f"SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE a.case_id = ? ORDER BY a.added_at, a.attachment_id",
            (case_id,))
        return [_record(r) for r in rows]

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        rows = list(await self._read().execute_fetchall(
            f"SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE a.attachment_id = ?", (attachment_id,)))
        return _record(rows[0]) if rows else None

    def blob_path(self, sha256: str) -> Path | None:
        path = self.files.blob_path(sha256)
        return path if path.is_file() else None


def _record(row: Any) -> AttachmentRecord:
    return AttachmentRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
                            is_stored=bool(row[10]), agent_name=row[11])
