"""PostgreSQL's `AttachmentStore`: the rows in the database, the bytes as files (`server.storage.files`) in the
`<database>.attachments/` directory beside the configured SQLite path, as on SQLite. Several server processes on one
host share that directory; on several hosts it must be one shared directory (docs/scaling.md). The reads are
SQLite's (`server.storage.sqlite.attachments`) said in PostgreSQL's dialect; the writes are here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from server.clock import now_iso
from server.storage.base import AttachmentRecord, Upload
from server.storage.postgres.dialect import PoolReader
from server.storage.sqlite.attachments import SqliteAttachments

Connection = Any


class PostgresAttachments(SqliteAttachments):
    def __init__(self, database: Path, pool: Callable[[], Any],
                 transaction: Callable[[Callable[[Connection], Awaitable[Any]]], Awaitable[Any]]) -> None:
        super().__init__(database, lambda: PoolReader(pool()), transaction)  # type: ignore[arg-type, return-value]
        self._pg_transaction = transaction

    async def offer(self, record: AttachmentRecord, media_type: str) -> Upload | None:
        r = record

        async def write(conn: Connection) -> bool:
            await conn.execute(
                "INSERT INTO attachments (attachment_id, case_id, township_code, agent_id, sha256, name, media_type, "
                "size_bytes, added_at, offered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                "ON CONFLICT DO NOTHING", r.attachment_id, r.case_id, r.township_code, r.agent_id, r.sha256, r.name,
                media_type, r.size_bytes, r.added_at, r.offered_at)
            if await conn.fetchval("SELECT 1 FROM attachment_blobs WHERE sha256 = $1", r.sha256):
                return False
            await conn.execute("INSERT INTO attachment_uploads (agent_id, sha256, size_bytes, media_type, started_at) "
                               "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                               r.agent_id, r.sha256, r.size_bytes, media_type, now_iso())
            return True

        if not await self._pg_transaction(write):
            return None
        return await self.upload_of(r.agent_id, r.sha256)

    async def complete(self, upload: Upload) -> tuple[bool, bytes]:
        matched, head = await self.files.complete(upload.agent_id, upload.sha256)
        u = upload

        async def write(conn: Connection) -> None:
            await conn.execute("DELETE FROM attachment_uploads WHERE agent_id = $1 AND sha256 = $2", u.agent_id,
                               u.sha256)
            if matched:
                await conn.execute("INSERT INTO attachment_blobs (sha256, size_bytes, media_type, stored_at) VALUES "
                                   "($1, $2, $3, $4) ON CONFLICT DO NOTHING", u.sha256, u.size_bytes, u.media_type,
                                   now_iso())

        await self._pg_transaction(write)
        return matched, head

    async def discard(self, upload: Upload) -> None:
        async def write(conn: Connection) -> None:
            await conn.execute("DELETE FROM attachment_uploads WHERE agent_id = $1 AND sha256 = $2",
                               upload.agent_id, upload.sha256)
            await conn.execute("DELETE FROM attachment_blobs WHERE sha256 = $1", upload.sha256)

        await self._pg_transaction(write)
        self.files.drop_part(upload.agent_id, upload.sha256)
        self.files.drop_blob(upload.sha256)
