"""The staff page: an HTML shell, the print pages, scripts, styles and message catalogs, all served from the package.

Nothing is fetched from the internet: the page must work in a township with no link at all. The Content-Security-Policy
says so to the browser too. Text lives only in `web/messages/<lang>.json`; templates and scripts carry keys.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ops.fonts import font_response

WEB = Path(__file__).resolve().parent.parent / "web"
LANGUAGES = ("zh-CN", "en")  # the first is the default

# 'self' only: no CDN, no inline script. Inline styles stay off too; print sizes live in print.css. No page of another
# origin may frame it (clickjacking).
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")

routes = web.RouteTableDef()


def html_file(name: str) -> web.FileResponse:
    return web.FileResponse(WEB / name, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                                 "Content-Type": "text/html; charset=utf-8"})


@routes.get("/")
async def index(request: web.Request) -> web.FileResponse:
    """The working page: today's work, new case, case detail, consultations, search (routes after the #)."""
    return html_file("index.html")


@routes.get(r"/print/{kind:receipt|notice|result}/{case_id}")
async def printable(request: web.Request) -> web.FileResponse:
    """A4 acceptance receipt (受理回执), one-time notice (一次性告知书) or result slip (办结通知书) of one case."""
    return html_file("print.html")


@routes.get("/fonts/{name}")
async def font(request: web.Request) -> web.Response:
    """Tibetan and emoji fonts, shared with the county's dashboard (ops/fonts); fetched only when a page shows such
    text."""
    response = font_response(request.match_info["name"])
    if response is None:
        raise web.HTTPNotFound()
    return response


routes.static("/static", WEB / "static")
routes.static("/messages", WEB / "messages")
