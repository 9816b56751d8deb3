"""Files for the attachment tests: real PNGs and PDFs made here (no fixture files), and things that only look like
them by name."""

from __future__ import annotations

import os
import struct
import zlib


def png(width: int = 64, height: int = 48, *, noise: bool = False, seed: int = 0) -> bytes:
    """A valid RGB PNG; with `noise` it hardly compresses, so its size follows width * height * 3."""
    rows = []
    rnd = os.urandom if noise else None
    for y in range(height):
        if rnd is not None:
            row = rnd(width * 3)
        else:
            row = bytes(((x * 4 + seed) % 256, (y * 5) % 256, (x + y + seed) % 256)[i % 3] for x in range(width)
                        for i in range(3))
        rows.append(b"\x00" + row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
            + chunk(b"IEND", b""))


def sized_png(size_bytes: int) -> bytes:
    """A PNG of about `size_bytes` (random pixels)."""
    side = max(8, int((size_bytes / 3) ** 0.5))
    return png(side, side, noise=True)


def pdf(text: str = "scan") -> bytes:
    body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>endobj\n"
            + f"4 0 obj<</Length {len(body)}>>stream\n".encode() + body
            + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200  # a Windows program's start
