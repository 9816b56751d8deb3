"""The storage contract, attachments: an offer is idempotent and a case holds a file once; an upload keeps every
byte appended, refuses another offset and a second writer, and stores the file only with its hash; a stored file is
never uploaded again; the quota's sum counts a file once. Every backend of `backends.BACKENDS`."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from protocol.ids import new_uuid7
from server.clock import now_iso
from server.storage.base import AttachmentRecord, OffsetMismatchError
from tests.server.storage.backends import Backend

QIAOWA = "513422100"


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


async def _broken(part: bytes) -> AsyncIterator[bytes]:
    yield part
    raise ConnectionResetError("the link died")


def _record(case_id: str, agent_id: str, body: bytes, attachment_id: str | None = None) -> AttachmentRecord:
    return AttachmentRecord(attachment_id=attachment_id or new_uuid7(), case_id=case_id, township_code=QIAOWA,
                            agent_id=agent_id, sha256=hashlib.sha256(body).hexdigest(), name="scan.png",
                            media_type="image/png", size_bytes=len(body), added_at="2026-03-02T10:00:00+08:00",
                            offered_at=now_iso())


async def test_an_upload_keeps_what_arrived_and_stores_the_file_only_with_its_hash(backend: Backend) -> None:
    record, agent = await backend.add_agent(QIAOWA)
    accepted = agent.accepted()
    await backend.push(record, [accepted])
    store = backend.store.attachments
    assert await store.case_township(accepted["case_id"]) == QIAOWA
    body = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    offered = _record(accepted["case_id"], record.agent_id, body)
    upload = await store.offer(offered, "image/png")
    assert upload is not None and upload.held == 0
    assert await store.offer(offered, "image/png") == upload  # idempotent
    with pytest.raises(ConnectionResetError):
        await store.append(upload, 0, _broken(body[:3000]))
    again = await store.upload_of(record.agent_id, offered.sha256)
    assert again is not None and again.held == 3000
    with pytest.raises(OffsetMismatchError) as mismatch:
        await store.append(again, 0, _chunks(body))
    assert mismatch.value.held == 3000
    with pytest.raises(ValueError):
        await store.append(again, 3000, _chunks(body[3000:] + b"x"))
    assert (await store.upload_of(record.agent_id, offered.sha256)).held == len(body)  # type: ignore[union-attr]
    matched, head = await store.complete(again)
    assert matched and head.startswith(b"\x89PNG")
    assert await store.upload_of(record.agent_id, offered.sha256) is None
    path = store.blob_path(offered.sha256)
    assert path is not None and path.read_bytes() == body
    [listed] = await store.case_attachments(accepted["case_id"])
    assert listed.is_stored and listed.attachment_id == offered.attachment_id
    assert await store.offered_size(record.agent_id, offered.sha256) == len(body)
    # A file stored whole is never uploaded again, whoever offers it; a case holds it once.
    assert await store.offer(_record(accepted["case_id"], record.agent_id, body), "image/png") is None
    assert len(await store.case_attachments(accepted["case_id"])) == 1
    assert await store.agent_attachment_bytes(record.agent_id) == len(body)


async def test_a_wrong_hash_drops_the_bytes_and_a_discard_leaves_nothing(backend: Backend) -> None:
    record, agent = await backend.add_agent(QIAOWA)
    accepted = agent.accepted()
    await backend.push(record, [accepted])
    store = backend.store.attachments
    body = b"%PDF-1.4\n" + b"a" * 5000
    offered = _record(accepted["case_id"], record.agent_id, body)
    upload = await store.offer(offered, "application/pdf")
    assert upload is not None
    await store.append(upload, 0, _chunks(body[:-1] + b"b"))
    matched, _ = await store.complete(upload)
    assert not matched and store.blob_path(offered.sha256) is None
    assert await store.upload_of(record.agent_id, offered.sha256) is None
    upload = await store.offer(offered, "application/pdf")
    assert upload is not None and upload.held == 0
    await store.append(upload, 0, _chunks(body))
    assert (await store.complete(upload))[0]
    await store.discard(upload)
    assert store.blob_path(offered.sha256) is None
    assert [a.is_stored for a in await store.case_attachments(accepted["case_id"])] == [False]
    assert await store.case_township(new_uuid7()) is None
    assert await store.get_attachment(new_uuid7()) is None


async def test_two_requests_never_write_one_upload_at_once(backend: Backend) -> None:
    record, agent = await backend.add_agent(QIAOWA)
    accepted = agent.accepted()
    await backend.push(record, [accepted])
    store = backend.store.attachments
    body = b"\xff\xd8\xff" + bytes(9000)
    upload = await store.offer(_record(accepted["case_id"], record.agent_id, body), "image/jpeg")
    assert upload is not None
    release = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield body[:1000]
        await release.wait()
        yield body[1000:2000]

    first = asyncio.ensure_future(store.append(upload, 0, slow()))
    await asyncio.sleep(0.1)
    with pytest.raises(OffsetMismatchError):  # the retry while the first request still writes
        await store.append(upload, 0, _chunks(body))
    release.set()
    assert await first == 2000
    assert await store.append(upload, 2000, _chunks(body[2000:])) == len(body)
    assert (await store.complete(upload))[0]
