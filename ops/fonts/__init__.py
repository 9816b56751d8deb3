"""Web fonts both programs' pages serve (Tibetan script and emoji), with `fonts.css` declaring them; see README.md."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

FONTS_DIR = Path(__file__).resolve().parent
CONTENT_TYPES = {".woff2": "font/woff2", ".css": "text/css", ".txt": "text/plain"}
FONT_FILES = frozenset(p.name for p in FONTS_DIR.iterdir() if p.suffix in CONTENT_TYPES)


def font_response(name: str) -> web.Response | None:
    """One of the font files (or fonts.css, or the licence), cacheable for a day; None for any other name."""
    if name not in FONT_FILES:
        return None
    path = FONTS_DIR / name
    content_type = CONTENT_TYPES[path.suffix]
    return web.Response(body=path.read_bytes(), content_type=content_type,
                        charset="utf-8" if content_type.startswith("text/") else None,
                        headers={"Cache-Control": "max-age=86400", "X-Content-Type-Options": "nosniff"})
