"""The dashboard serves the township page's fonts for Tibetan names and emoji, and nothing else from there."""

from __future__ import annotations

import re

from ops.fonts import FONTS_DIR
from tests.server.helpers import CountyServer


async def test_the_dashboard_serves_the_shared_fonts_and_links_them(county_server: CountyServer) -> None:
    files = re.findall(r"url\(([^)]+)\)", (FONTS_DIR / "fonts.css").read_text(encoding="utf-8"))
    session, url = county_server.session, county_server.url
    for name in files:
        async with session.get(f"{url}/dashboard/fonts/{name}") as r:
            assert (r.status, r.headers["Content-Type"]) == (200, "font/woff2")
            assert await r.read() == (FONTS_DIR / name).read_bytes()
    async with session.get(f"{url}/dashboard/fonts/__init__.py") as r:
        assert r.status == 404
    async with session.get(f"{url}/dashboard/") as r:
        assert '<link rel="stylesheet" href="/dashboard/fonts/fonts.css">' in await r.text()
