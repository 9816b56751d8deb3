"""Scanned materials (申请材料) on the PC: files kept under the agent's data directory by their sha256, so the same
scan is stored once however often it is attached, and the limits staff meet when they attach one.

A file is streamed to a temporary name while it is hashed and checked, fsynced, then renamed to its hash: a file
under its final name is always whole. The row that says a case holds it is written after (`AgentStore
.add_attachment`); a crash between the two leaves a file no row names, which the next attach of the same scan uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.errors import CaseNotFound, InvalidInput
from agent.records import Attachment
from agent.store import AgentStore
from ops.sqlite_backup import fsync_dir
from protocol.ids import new_uuid7
from protocol.lifecycle import CHINA_TZ
from protocol.materials import HEAD_BYTES, clean_name, sniff


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_total_bytes: int


@dataclass(frozen=True)
class Received:
    """A file written whole under its hash."""

    sha256: str
    size_bytes: int
    media_type: str
    path: Path


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def too_large(limits: Limits) -> InvalidInput:
    return InvalidInput(f"文件太大，没有保存：每份材料最大 {_mib(limits.max_file_bytes)}。请降低扫描分辨率或分页扫描",
                        {"file": "文件太大"})


def pc_full(limits: Limits, used: int) -> InvalidInput:
    return InvalidInput(f"本机保存的材料已达上限 {_mib(limits.max_total_bytes)}（已用 {_mib(used)}），没有保存。"
                        "请联系运维清理或调大 [attachments] max_total_bytes", {"file": "本机材料空间已满"})


def wrong_type() -> InvalidInput:
    return InvalidInput("文件类型不对，没有保存：只能添加 JPEG、PNG、PDF、TIFF、WebP 或 HEIC 格式的扫描件或照片"
                        "（按文件内容判断，不看扩展名）", {"file": "不是扫描件或照片"})


class BlobDir:
    """`<database>.attachments/<first two hex>/<sha256>` beside the database: files named by their content."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def beside(cls, database: Path) -> BlobDir:
        return cls(database.with_name(database.name + ".attachments"))

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str, size_bytes: int) -> bool:
        try:
            return self.path_of(sha256).stat().st_size == size_bytes
        except FileNotFoundError:
            return False

    async def receive(self, chunks: AsyncIterator[bytes], limits: Limits, room_bytes: int) -> Received:
        """Write `chunks` to a temporary file, hashing and checking as they come, and rename it to its hash.
        Raises InvalidInput (nothing kept) for a file over `max_file_bytes` or over `room_bytes` (what is left of
        the PC's limit), empty, or not of an accepted type by its first bytes."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{os.getpid()}-{os.urandom(8).hex()}"
        digest, size, head, media_type = hashlib.sha256(), 0, b"", None
        # Writes go to the page cache (fast); the fsync, which waits for the disk, runs on a thread.
        out = await asyncio.to_thread(open, tmp, "wb")
        try:
            with out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limits.max_file_bytes:
                        raise too_large(limits)
                    if size > room_bytes:
                        raise pc_full(limits, limits.max_total_bytes - room_bytes)
                    if media_type is None:
                        head += chunk[:HEAD_BYTES - len(head)]
                        if len(head) >= HEAD_BYTES:
                            media_type = sniff(head) or _refuse()
                    digest.update(chunk)
                    out.write(chunk)
                if size == 0:
                    raise InvalidInput("文件是空的，没有保存", {"file": "空文件"})
                media_type = media_type or sniff(head) or _refuse()
                out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())
            sha256 = digest.hexdigest()
            final = self.path_of(sha256)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # the same bytes under the same name: replacing an existing copy changes nothing
            await asyncio.to_thread(fsync_dir, final.parent)
            return Received(sha256, size, media_type, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def remove(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_of(sha256).unlink()


class Materials:
    """Attaching files to cases: the limits, the files and their rows."""

    def __init__(self, store: AgentStore, blobs: BlobDir, limits: Limits) -> None:
        self.store = store
        self.blobs = blobs
        self.limits = limits
        self.on_attach: Callable[[], object] = lambda: None  # the sync schedule's nudge

    def check_declared(self, size_bytes: int | None) -> None:
        """Refuse at once what the request says is too large, before reading a byte of it."""
        if size_bytes is not None and size_bytes > self.limits.max_file_bytes:
            raise too_large(self.limits)

    async def attach(self, case_id: str, name: str, chunks: AsyncIterator[bytes]) -> tuple[Attachment, bool]:
        """Store a file and attach it to the case; (the attachment, whether it is new to the case)."""
        if await self.store.get_case(case_id) is None:
            raise CaseNotFound(case_id)
        used = await self.store.attachment_bytes()
        if used >= self.limits.max_total_bytes:
            raise pc_full(self.limits, used)
        received = await self.blobs.receive(chunks, self.limits, self.limits.max_total_bytes - used)
        now = datetime.now(CHINA_TZ).isoformat(timespec="seconds")
        made = Attachment(new_uuid7(), case_id, received.sha256, clean_name(name, received.media_type),
                          received.media_type, received.size_bytes, now, "pending", None, None)
        stored = await self.store.add_attachment(made)
        self.on_attach()
        return stored, stored.attachment_id == made.attachment_id


def _refuse() -> str:
    raise wrong_type()
