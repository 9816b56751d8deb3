"""The attachments' lane of sync: files go to the county after their case's events, in a lane of their own, so the
figures never wait for a large file. A sync round pushes and pulls events; when it reached the county, it starts
this lane in the background (`kick`) and ends; the next round's events go while a file is still uploading.

Each file is offered by its sha256 and size; the county answers the bytes it holds, and the file goes in chunks of
`chunk_bytes` from there. A chunk cut at any byte costs only that chunk's time: the county keeps what arrived, and the
lane asks it (HEAD) where to continue. A file the county already holds (the same scan from another PC) is not sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.attachments import BlobDir
from agent.errors import RefusedRequestError, TransientUplinkError
from agent.records import Attachment
from agent.store import AgentStore
from agent.sync.uplink import Uplink
from protocol.codes import staff_message
from protocol.lifecycle import CHINA_TZ
from protocol.materials import AttachmentOffer

log = logging.getLogger(__name__)

# Transient failures of one file's chunks in a row before the lane leaves it for the next round: enough for a link
# that cuts every few seconds, while a dead county ends the lane at the first refused connection.
CHUNK_FAILURES_MAX = 20


@dataclass
class LaneSummary:
    uploaded: int = 0
    bytes_sent: int = 0
    resumed: int = 0  # chunks sent again from the county's offset after a cut
    skipped: int = 0  # files left for a later round (the county refused them for now)
    error: str | None = None


class AttachmentLane:
    def __init__(self, store: AgentStore, blobs: BlobDir, uplink: Uplink, *, chunk_bytes: int) -> None:
        self.store = store
        self.blobs = blobs
        self.uplink = uplink
        self.chunk_bytes = chunk_bytes
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[LaneSummary] | None = None
        self.uploaded_total = 0
        self.bytes_total = 0
        self.last_error: str | None = None

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def kick(self) -> None:
        """Start a run in the background unless one is running."""
        if not self.is_running:
            self._task = asyncio.ensure_future(self.upload_once())

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def upload_once(self) -> LaneSummary:
        """Upload every pending attachment whose case has no event left to push. Never raises for the network or
        the county: the summary (and `last_error`) say what stopped it."""
        summary = LaneSummary()
        async with self._lock:
            for attachment in await self.store.attachments_to_upload():
                try:
                    await self._upload(attachment, summary)
                except TransientUplinkError as e:
                    summary.error = str(e)
                    await self.store.mark_attachment(attachment.attachment_id, uploaded_at=None,
                                                     error=staff_message(e.code))
                    break  # the link or the county: the next round tries again
                except OSError as e:  # the PC's own copy cannot be read (a disk error, a file removed by hand)
                    summary.skipped += 1
                    log.warning("attachment file unreadable attachment_id=%s error=%s", attachment.attachment_id, e)
                    await self.store.mark_attachment(attachment.attachment_id, uploaded_at=None,
                                                     error="本机的材料文件读不出来，请重新添加这份材料")
                except RefusedRequestError as e:
                    summary.skipped += 1
                    log.info("attachment refused for now attachment_id=%s code=%s", attachment.attachment_id,
                             e.code)
                    message = staff_message(e.code) if e.code in _KNOWN else e.message
                    await self.store.mark_attachment(attachment.attachment_id, uploaded_at=None, error=message)
        self.last_error = summary.error
        return summary

    async def _upload(self, a: Attachment, summary: LaneSummary) -> None:
        path = self.blobs.path_of(a.sha256)
        started = time.monotonic()
        offer = AttachmentOffer(attachment_id=a.attachment_id, case_id=a.case_id, sha256=a.sha256,
                                size_bytes=a.size_bytes, media_type=a.media_type, name=a.name, added_at=a.added_at)
        state = await self.uplink.offer_attachment(offer)
        offset, is_complete, failures = state.offset, state.is_complete, 0
        while not is_complete:
            chunk = await asyncio.to_thread(_read, path, offset, self.chunk_bytes)
            try:
                offset, is_complete = await self.uplink.upload_chunk(a.sha256, offset, chunk)
                summary.bytes_sent += len(chunk)
                failures = 0
            except TransientUplinkError as e:
                if e.is_unreachable or failures >= CHUNK_FAILURES_MAX:
                    raise
                failures += 1
                summary.resumed += 1
                offset = await self._held(a, offer)
                log.info("attachment chunk cut, continuing sha256=%s offset=%d error=%s", a.sha256[:12], offset, e)
            except RefusedRequestError as e:
                if e.code not in ("upload_offset_mismatch", "upload_unknown") or failures >= CHUNK_FAILURES_MAX:
                    raise
                failures += 1
                offset = await self._held(a, offer)
        await self.store.mark_attachment(a.attachment_id, uploaded_at=datetime.now(CHINA_TZ).isoformat(
            timespec="seconds"), error=None)
        summary.uploaded += 1
        self.uploaded_total += 1
        self.bytes_total += a.size_bytes
        log.info("attachment uploaded attachment_id=%s size_bytes=%d took_ms=%d", a.attachment_id, a.size_bytes,
                 (time.monotonic() - started) * 1000)

    async def _held(self, a: Attachment, offer: AttachmentOffer) -> int:
        """Where to continue: the county's offset (a dropped upload is offered again, from its answer)."""
        try:
            return await self.uplink.upload_offset(a.sha256)
        except RefusedRequestError:
            return (await self.uplink.offer_attachment(offer)).offset


_KNOWN = frozenset({"attachment_case_unknown", "attachment_too_large", "attachment_type", "attachment_quota",
                    "upload_unknown", "attachment_hash_mismatch", "wrong_township", "forbidden"})


def _read(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)
