"""Request bodies read within bounds: at most `limit` bytes both as sent and after decompression, whole within
`timeout_s`, decompressed here as they stream in, a slice at a time.

aiohttp's own decompression is switched off (`HANDLER_ARGS` in `server.app`): it inflated a body in the event loop
even when no route read it (aiohttp drains an unread body before it answers the next request), so a 1 MB gzip of
1 GiB of zeros held the loop for seconds, the login route and /healthz included. Here a body is inflated only by a
route that reads it, never more than `limit` bytes of output, and in steps of `STEP_BYTES` with the loop free for
other requests between them.
"""

from __future__ import annotations

import asyncio
import zlib

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from server.errors import ApiError, ClientGone

# Output of one decompression step: about 0.3 ms of zlib on this box, so other requests wait at most that long.
STEP_BYTES = 256 * 1024
# Content-Encoding -> zlib's wbits: gzip (RFC 1952); deflate is the zlib format (RFC 9110 8.4.1.2).
_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


async def read_body(request: web.Request, limit: int, timeout_s: float) -> bytes:
    """The body of `request`, decompressed per its Content-Encoding. Raises ApiError: `too_large` (more than `limit`
    bytes as sent or decompressed), `body_timeout`, `unsupported_encoding`, or `bad_json` (a broken stream); and
    ClientGone when the connection closed before the body ended (a cut upload: nobody is left to answer)."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in _WBITS and encoding not in ("identity", ""):
        raise ApiError("unsupported_encoding", f"Content-Encoding: {encoding[:40]}")
    if request.content_length is not None and request.content_length > limit:
        raise ApiError("too_large", f"Content-Length {request.content_length} exceeds {limit} bytes")
    inflater = zlib.decompressobj(wbits=_WBITS[encoding]) if encoding in _WBITS else None
    parts: list[bytes] = []
    sent = size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.content.iter_any():
                sent += len(chunk)
                if sent > limit:
                    raise ApiError("too_large", f"the body exceeds {limit} bytes")
                if inflater is None:
                    parts.append(chunk)
                    continue
                if inflater.eof:
                    raise ApiError("bad_json", "data after the end of the compressed body")
                data = chunk
                while data:
                    piece = inflater.decompress(data, STEP_BYTES)
                    size += len(piece)
                    if size > limit:
                        raise ApiError("too_large", f"the body exceeds {limit} bytes after decompression")
                    parts.append(piece)
                    data = inflater.unconsumed_tail
                    if data:
                        await asyncio.sleep(0)  # let other requests run between steps
                if inflater.unused_data:
                    raise ApiError("bad_json", "data after the end of the compressed body")
    except TimeoutError:
        raise ApiError("body_timeout", f"the body did not arrive within {timeout_s:g} s ({sent} bytes came)") from None
    except ConnectionError as exc:
        raise ClientGone(f"{exc} after {sent} of the {request.content_length} bytes the body announced") from None
    except (RequestPayloadError, HttpProcessingError) as exc:
        raise ApiError("bad_json", f"the body could not be read: {exc}") from None
    except zlib.error as exc:
        raise ApiError("bad_json", f"the body could not be decompressed: {exc}") from None
    if inflater is not None and sent and not inflater.eof:
        raise ApiError("bad_json", "the compressed body ends before its stream does")
    return b"".join(parts)
