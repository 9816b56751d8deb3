"""Scanned materials (申请材料): the PCs' resumable upload, and the files on the dashboard.

Agents (bearer token), after tus (protocol/materials.py):
- `POST /api/v1/attachments`: offer a file of a case (`AttachmentOffer`), answered with an `UploadState`: how many
  bytes the county holds, or that it holds the file whole (then nothing is sent: another PC sent the same scan).
- `HEAD /api/v1/uploads/{sha256}`: the bytes held, in `Upload-Offset` (and `Upload-Length`).
- `PATCH /api/v1/uploads/{sha256}`: a chunk at `Upload-Offset`, as `application/offset+octet-stream`. Every byte
  that arrives is kept, even when the request is cut; the answer (204) says the new offset. The chunk that brings
  the last byte is answered (200) once the whole file's sha256 and type are checked.
An agent may offer files only for cases of its own township that the county already holds (their events go first),
within its quota (`[attachments] quota_bytes_per_agent`).

Dashboard readers (session): `GET /api/v1/cases/{case_id}/attachments` and `GET /api/v1/attachments/{id}/file`,
served as what their content is, never sniffed, images inline and the rest as a download, with a policy that runs
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from protocol import API_PREFIX
from protocol.materials import (
    CHUNK_TYPE,
    JPEG,
    LENGTH_HEADER,
    MEDIA_TYPES,
    OFFSET_HEADER,
    PNG,
    WEBP,
    AttachmentOffer,
    UploadState,
    clean_name,
    sniff,
)
from server.clock import now_iso
from server.errors import ApiError, ClientGone
from server.http.body import read_body
from server.http.common import CONFIG, REFERENCE, STORE, decode, error_response, json_response, require_agent
from server.http.dashboard import require_reader
from server.http.health import INSTRUMENTS, Instruments
from server.storage.base import AgentRecord, AttachmentRecord, OffsetMismatchError, Upload

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

OFFER_BODY_BYTES = 4096  # an offer is a few ids and a name
SHOWN_INLINE = frozenset({JPEG, PNG, WEBP})  # on the dashboard; PDFs and the rest are downloads
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"


def _state(sha256: str, size_bytes: int, held: int | None) -> UploadState:
    return UploadState(sha256=sha256, size_bytes=size_bytes, offset=size_bytes if held is None else held,
                       is_complete=held is None)


@routes.post(f"{API_PREFIX}/attachments")
async def offer(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    config, store = request.app[CONFIG], request.app[STORE].attachments
    body = await read_body(request, OFFER_BODY_BYTES, config.body_timeout_s)
    asked: AttachmentOffer = decode(body, AttachmentOffer)
    if asked.media_type not in MEDIA_TYPES:
        raise ApiError("attachment_type", f"media_type {asked.media_type[:40]}")
    if asked.size_bytes > config.attachment_max_file_bytes:
        raise ApiError("attachment_too_large", f"{asked.size_bytes} > {config.attachment_max_file_bytes} bytes")
    township = await store.case_township(asked.case_id)
    if township is None:
        raise ApiError("attachment_case_unknown", asked.case_id)
    if township != agent.township_code:
        raise ApiError("wrong_township", f"case {asked.case_id} is of township {township}")
    known = await store.get_attachment(asked.attachment_id)
    if known is not None and (known.agent_id, known.case_id, known.sha256) != (agent.agent_id, asked.case_id,
                                                                               asked.sha256):
        raise ApiError("forbidden", f"attachment {asked.attachment_id} is another one")
    if known is None and await store.upload_of(agent.agent_id, asked.sha256) is None:
        used = await store.agent_attachment_bytes(agent.agent_id)
        if used + asked.size_bytes > config.attachment_quota_bytes:
            raise ApiError("attachment_quota", f"{used} + {asked.size_bytes} > {config.attachment_quota_bytes} bytes",
                           retry_after_s=3600)
    record = AttachmentRecord(
        attachment_id=asked.attachment_id, case_id=asked.case_id, township_code=township, agent_id=agent.agent_id,
        sha256=asked.sha256, name=clean_name(asked.name, asked.media_type), media_type=asked.media_type,
        size_bytes=asked.size_bytes, added_at=asked.added_at, offered_at=now_iso())
    upload = await store.offer(record, asked.media_type)
    return json_response(_state(asked.sha256, asked.size_bytes, None if upload is None else upload.held))


async def _upload(request: web.Request, agent: AgentRecord) -> tuple[Upload | None, str]:
    sha256 = request.match_info["sha256"]
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        raise ApiError("not_found", "not a sha256")
    return await request.app[STORE].attachments.upload_of(agent.agent_id, sha256), sha256


async def _stored_size(request: web.Request, agent: AgentRecord, sha256: str) -> int:
    """The size of a file the county holds whole and this agent offered; else upload_unknown."""
    store = request.app[STORE].attachments
    size = await store.offered_size(agent.agent_id, sha256)
    if size is None or store.blob_path(sha256) is None:
        raise ApiError("upload_unknown", sha256)
    return size


def _offset_headers(held: int, size_bytes: int) -> dict[str, str]:
    return {OFFSET_HEADER: str(held), LENGTH_HEADER: str(size_bytes), "Cache-Control": "no-store"}


@routes.route("HEAD", API_PREFIX + "/uploads/{sha256}")
async def upload_offset(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    upload, sha256 = await _upload(request, agent)
    if upload is None:
        size = await _stored_size(request, agent, sha256)
        return web.Response(status=200, headers=_offset_headers(size, size))
    return web.Response(status=200, headers=_offset_headers(upload.held, upload.size_bytes))


@routes.patch(API_PREFIX + "/uploads/{sha256}")
async def upload_chunk(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    if request.content_type != CHUNK_TYPE or not request.headers.get(OFFSET_HEADER, "").isdigit():
        raise ApiError("chunk_type_required", f"Content-Type: {request.content_type[:60]}")
    offset = int(request.headers[OFFSET_HEADER])
    upload, sha256 = await _upload(request, agent)
    if upload is None:
        size = await _stored_size(request, agent, sha256)
        return json_response(_state(sha256, size, None))
    if request.content_length is not None and offset + request.content_length > upload.size_bytes:
        raise ApiError("bad_request", f"the chunk ends past the file's {upload.size_bytes} bytes")
    store = request.app[STORE].attachments
    timeout_s = request.app[CONFIG].body_timeout_s
    instruments = request.app[INSTRUMENTS]
    try:
        held = await store.append(upload, offset, _counted(_chunks(request, timeout_s), instruments))
    except OffsetMismatchError as exc:
        response = error_response("upload_offset_mismatch", f"the chunk starts at {offset}, {exc.held} held")
        response.headers.update(_offset_headers(exc.held, upload.size_bytes))
        return response
    except ValueError as exc:
        raise ApiError("bad_request", str(exc)) from None
    except TimeoutError:
        raise ApiError("body_timeout", f"the chunk did not arrive within {timeout_s} s; what came is kept") from None
    except (ConnectionError, RequestPayloadError, HttpProcessingError) as exc:
        raise ClientGone(f"upload {sha256[:12]} cut after offset {offset}: {exc}") from None
    if held < upload.size_bytes:
        return web.Response(status=204, headers=_offset_headers(held, upload.size_bytes))
    matched, head = await store.complete(upload)
    if not matched:
        instruments.attachments.labels("hash_mismatch").inc()
        raise ApiError("attachment_hash_mismatch", f"{held} bytes received, not those of {sha256}")
    if sniff(head) != upload.media_type:
        await store.discard(upload)
        instruments.attachments.labels("wrong_type").inc()
        raise ApiError("attachment_type", f"offered as {upload.media_type}, the content is {sniff(head)}")
    instruments.attachments.labels("stored").inc()
    log.info("attachment stored sha256=%s size_bytes=%d agent_id=%s", sha256[:12], upload.size_bytes,
             agent.agent_id)
    return json_response(_state(sha256, upload.size_bytes, None))


async def _counted(chunks: AsyncIterator[bytes], instruments: Instruments) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        instruments.attachment_bytes.inc(len(chunk))
        yield chunk


async def _chunks(request: web.Request, timeout_s: float) -> AsyncIterator[bytes]:
    async with asyncio.timeout(timeout_s):
        async for chunk in request.content.iter_any():
            yield chunk


# ---- the dashboard --------------------------------------------------------------------------------------------


def attachment_json(a: AttachmentRecord) -> dict[str, object]:
    return {"attachment_id": a.attachment_id, "case_id": a.case_id, "name": a.name, "media_type": a.media_type,
            "size_bytes": a.size_bytes, "sha256": a.sha256, "added_at": a.added_at, "agent_id": a.agent_id,
            "agent_name": a.agent_name,
            "is_stored": a.is_stored, "is_inline": a.media_type in SHOWN_INLINE,
            "url": f"{API_PREFIX}/attachments/{a.attachment_id}/file"}


async def _readable(request: web.Request, township_code: str) -> None:
    """A logged-in reader may read the materials of the townships its role lets it see (a township viewer: its
    own; `server.accounts.roles`). The one place that decides it."""
    reader = await require_reader(request)
    if not township_code.startswith(request.app[REFERENCE].root_prefix) or not reader.allows_org(township_code):
        raise ApiError("outside_township", f"账号 {reader.name} 不能查看这个办件的材料")


@routes.get(API_PREFIX + "/cases/{case_id}/attachments")
async def case_attachments(request: web.Request) -> web.Response:
    store = request.app[STORE].attachments
    township = await store.case_township(request.match_info["case_id"])
    await require_reader(request)
    if township is None:
        raise ApiError("not_found", "no such case")
    await _readable(request, township)
    found = await store.case_attachments(request.match_info["case_id"])
    return json_response({"attachments": [attachment_json(a) for a in found]})


@routes.get(API_PREFIX + "/attachments/{attachment_id}/file")
async def attachment_file(request: web.Request) -> web.StreamResponse:
    await require_reader(request)
    store = request.app[STORE].attachments
    found = await store.get_attachment(request.match_info["attachment_id"][:64])
    path = store.blob_path(found.sha256) if found is not None else None
    if found is None or path is None:
        raise ApiError("not_found", "no such attachment, or its file has not arrived yet")
    await _readable(request, found.township_code)
    how = "inline" if found.media_type in SHOWN_INLINE else "attachment"
    return web.FileResponse(path, headers={
        "Content-Type": found.media_type, "Content-Disposition": f"{how}; filename*=UTF-8''{quote(found.name)}",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": FILE_CSP, "Cache-Control": "private, no-store",
        "Cross-Origin-Resource-Policy": "same-origin", "Referrer-Policy": "no-referrer"})
