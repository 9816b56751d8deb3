"""The staff page's scanned materials (申请材料) of a case: attach a file, list them, show one. HTTP only: the limits
and the files are `agent.attachments`.

An upload is the file's bytes as the body (`Content-Type: application/octet-stream`, the name percent-encoded in
`X-File-Name`) with the header `X-Desk-Upload: 1`, which `guard` requires of this route instead of JSON: a custom
header and that content type both make a cross-origin page's request need a CORS preflight the agent never grants,
so only the staff page itself (same origin) can attach a file.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from agent.attachments import Materials
from agent.errors import CaseNotFound
from agent.http.api import STORE, code_response
from agent.records import Attachment
from protocol.materials import INLINE_TYPES

MATERIALS = web.AppKey("materials", Materials)
UPLOAD_HEADER = "X-Desk-Upload"
UPLOAD_TYPE = "application/octet-stream"
READ_BYTES = 64 * 1024

routes = web.RouteTableDef()


def attachment_json(a: Attachment) -> dict[str, Any]:
    return asdict(a) | {"url": f"/api/attachments/{a.attachment_id}/file", "is_inline": a.media_type in INLINE_TYPES}


def is_upload_route(request: web.Request) -> bool:
    return request.method == "POST" and request.match_info.route.name == "attach"


def is_upload(request: web.Request) -> bool:
    """A file upload as the staff page sends it (see the module's docstring); `guard` lets it through without JSON."""
    return request.content_type == UPLOAD_TYPE and request.headers.get(UPLOAD_HEADER) == "1"


@routes.post("/api/cases/{case_id}/attachments", name="attach")
async def attach(request: web.Request) -> web.Response:
    materials = request.app[MATERIALS]
    materials.check_declared(request.content_length)
    name = unquote(request.headers.get("X-File-Name", ""))[:1000]
    attachment, is_new = await materials.attach(request.match_info["case_id"], name,
                                                request.content.iter_chunked(READ_BYTES))
    return web.json_response(attachment_json(attachment) | {"is_new": is_new}, status=201 if is_new else 200)


@routes.get("/api/cases/{case_id}/attachments")
async def case_attachments(request: web.Request) -> web.Response:
    store, materials = request.app[STORE], request.app[MATERIALS]
    case_id = request.match_info["case_id"]
    if await store.get_case(case_id) is None:
        raise CaseNotFound(case_id)
    found = await store.case_attachments(case_id)
    limits = materials.limits
    return web.json_response({
        "attachments": [attachment_json(a) for a in found],
        "limits": {"max_file_bytes": limits.max_file_bytes, "max_total_bytes": limits.max_total_bytes,
                   "used_bytes": await store.attachment_bytes()},
    })


@routes.get("/api/attachments/{attachment_id}/file")
async def attachment_file(request: web.Request) -> web.StreamResponse:
    """The file: images and PDFs shown in the browser, TIFF and HEIC as a download; typed by their content (never
    sniffed again by the browser: `nosniff` on every answer) and with a policy that runs nothing."""
    found = await request.app[STORE].get_attachment(request.match_info["attachment_id"])
    path = request.app[MATERIALS].blobs.path_of(found.sha256) if found else None
    if found is None or path is None or not path.is_file():
        return code_response("attachment_not_found")
    return web.FileResponse(path, headers=file_headers(found.name, found.media_type))


def file_headers(name: str, media_type: str) -> dict[str, str]:
    how = "inline" if media_type in INLINE_TYPES else "attachment"
    return {"Content-Type": media_type, "Content-Disposition": f"{how}; filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; frame-ancestors 'none'"}
