"""Attachment files on disk, content-addressed: `<root>/blobs/<first two hex>/<sha256>` holds a file whole, under the
hash of its bytes; `<root>/uploads/<agent_id>/<sha256>.part` the bytes of an upload received so far. Shared by every
backend whose files live on a disk (SQLite's root sits next to its database; see `attachments_dir`).

A partial file is the truth of an upload's offset: every byte that arrived is appended and kept, even when the
request is cut, so an upload continues exactly where the link stopped. A blob appears only by an atomic rename of a
partial file whose hash was checked, so a file under a blob name is always whole and always what its name says.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from ops.sqlite_backup import fsync_dir
from protocol.materials import HEAD_BYTES
from server.storage.base import OffsetMismatchError

HASH_STEP_BYTES = 1024 * 1024


def attachments_dir(database: Path) -> Path:
    """Where a SQLite database's attachment files live: `<database>.attachments/` beside it (and beside a backup)."""
    return database.with_name(database.name + ".attachments")


class BlobFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def part_path(self, agent_id: str, sha256: str) -> Path:
        return self.root / "uploads" / agent_id / f"{sha256}.part"

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def held(self, agent_id: str, sha256: str) -> int:
        """Bytes of the upload received so far (0 when none)."""
        try:
            return self.part_path(agent_id, sha256).stat().st_size
        except FileNotFoundError:
            return 0

    async def append(self, agent_id: str, sha256: str, offset: int, size_bytes: int,
                     chunks: AsyncIterator[bytes]) -> int:
        """Append `chunks` to the partial file when it holds exactly `offset` bytes, never past `size_bytes`; the
        bytes held afterwards. What arrived stays on disk whatever interrupts the stream (the exception is raised
        after it is flushed). Raises OffsetMismatchError, or ValueError for bytes beyond the announced size."""
        path = self.part_path(agent_id, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        out = await asyncio.to_thread(open, path, "ab")
        try:
            try:
                # One writer per upload, across processes too: a request the PC gave up on may still be arriving
                # when its retry comes; the retry is told where the file stands and asks again.
                fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OffsetMismatchError(out.tell()) from None
            held = out.tell()
            if held != offset:
                raise OffsetMismatchError(held)
            async for chunk in chunks:
                if held + len(chunk) > size_bytes:
                    out.write(chunk[:size_bytes - held])
                    held = size_bytes
                    raise ValueError(f"bytes beyond the file's {size_bytes}")
                out.write(chunk)
                held += len(chunk)
            return held
        finally:
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
            out.close()

    async def complete(self, agent_id: str, sha256: str) -> tuple[bool, bytes]:
        """Hash the whole partial file; when it is `sha256`, move it to its blob name. (whether it matched, its first
        bytes); a file that did not match is deleted, so the next offer starts from zero."""
        path = self.part_path(agent_id, sha256)
        digest, head = await asyncio.to_thread(_hash_file, path)
        if digest != sha256:
            path.unlink(missing_ok=True)
            return False, head
        final = self.blob_path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, final)
        await asyncio.to_thread(fsync_dir, final.parent)
        return True, head

    def drop_part(self, agent_id: str, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.part_path(agent_id, sha256).unlink()

    def drop_blob(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.blob_path(sha256).unlink()


def _hash_file(path: Path) -> tuple[str, bytes]:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        digest.update(head)
        while block := f.read(HASH_STEP_BYTES):
            digest.update(block)
    return digest.hexdigest(), head
