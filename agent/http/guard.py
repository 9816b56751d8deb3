"""What keeps other web pages out of the agent's local API. Any page a clerk opens can send requests to 127.0.0.1,
so the agent trusts nothing for being local:

- **Host allow-list.** A DNS-rebinding page (`rebind.example` resolving to 127.0.0.1) is same-origin with itself
  and could read every answer; its requests carry `Host: rebind.example:8700`. Only the configured address,
  `127.0.0.1` and `localhost` with the port the request came in on are answered; anything else gets 403
  `host_not_allowed` and no data.
- **State changes only as JSON from no page or our own.** A cross-origin page can send a "simple" request without
  asking (a form post, `fetch(..., {mode: "no-cors"})` with `text/plain`); every request that changes something
  must carry `Content-Type: application/json`, which a cross-origin page can only send after a CORS preflight that
  the agent never grants (it sends no `Access-Control-Allow-*` header at all), and an `Origin` header, when there
  is one, must be the agent's own. curl and scripts send no `Origin`.
- **A file upload is the one change that is not JSON**: the staff page's attach route takes the file's bytes as
  `application/octet-stream` with the header `X-Desk-Upload: 1` (agent/http/materials.py). Both are outside what
  a cross-origin page may send without a preflight, and `Origin` is checked as for JSON.
- **Headers on every answer**: `frame-ancestors 'none'` (no page may frame the staff page and trick clicks),
  `nosniff`, no referrer, and `Cross-Origin-Resource-Policy: same-origin` (no other page may load an answer as an
  image or a script).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agent.http.api import error_response
from agent.http.materials import is_upload, is_upload_route
from protocol.codes import message_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
# For answers that are not the staff page (whose own policy in `page` adds the same frame-ancestors).
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def allowed_hosts(configured_host: str, port: int) -> frozenset[str]:
    """The `Host` header values the agent answers, lower case."""
    names = {configured_host.lower(), *LOOPBACK_NAMES}
    names = {f"[{n}]" if ":" in n else n for n in names}  # IPv6 literals are bracketed in Host
    hosts = {f"{n}:{port}" for n in names}
    if port == 80:  # a browser leaves the default port out
        hosts |= names
    return frozenset(hosts)


def guard_middleware(configured_host: str, configured_port: int) -> Any:
    def refuse(status: int, code: str, detail: str) -> web.Response:
        return error_response(status, code, message_of(code), detail=detail)

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
        port = sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else configured_port
        allowed = allowed_hosts(configured_host, port)
        host = request.headers.get("Host", "").lower()
        if host not in allowed:
            return refuse(403, "host_not_allowed", f"Host: {host[:100]}")
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("Origin")
            if origin is not None and origin.lower() not in {f"http://{h}" for h in allowed}:
                return refuse(403, "cross_origin", f"Origin: {origin[:100]}")
            if is_upload_route(request):
                if not is_upload(request):
                    return refuse(415, "upload_required", f"Content-Type: {request.content_type[:100]}")
                return await handler(request)
            if request.content_type != "application/json":
                return refuse(415, "json_required", f"Content-Type: {request.content_type[:100]}")
        return await handler(request)

    return guard


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: on every answer, errors and static files included."""
    headers = response.headers
    csp = headers.get("Content-Security-Policy")
    if csp is None:
        headers["Content-Security-Policy"] = API_CSP
    elif "frame-ancestors" not in csp:
        headers["Content-Security-Policy"] = f"{csp}; frame-ancestors 'none'"
    headers["X-Frame-Options"] = "DENY"  # for browsers older than frame-ancestors
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"  # names, ID numbers and phones stay out of the browser's cache
