"""Scanned materials (申请材料) attached to a case: which files are accepted, judged by their content, and the
messages of the resumable upload from a PC to the county (`/api/v1/attachments`, `/api/v1/uploads/{sha256}`).

The upload is shaped after tus (tus.io): the PC offers a file by its sha256 and size; the county answers how many
bytes of it it already holds; the PC sends the rest in chunks, each at the offset the county holds (`Upload-Offset`);
a chunk cut at any byte leaves the bytes that arrived on the county's disk, so the next chunk starts where the link
stopped. When the last byte is in, the county hashes the whole file and keeps it only when the hash is the one
offered. A file the county already has (the same scan attached at two PCs) is never sent or stored twice.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# Content types by their first bytes. A name or a declared type is never trusted: a `.jpg` that is an .exe is refused.
JPEG, PNG, PDF, TIFF = "image/jpeg", "image/png", "application/pdf", "image/tiff"
WEBP, HEIC = "image/webp", "image/heic"
MEDIA_TYPES = (JPEG, PNG, PDF, TIFF, WEBP, HEIC)
# What a browser can show itself; the rest (TIFF, HEIC) is offered as a download.
INLINE_TYPES = frozenset({JPEG, PNG, WEBP, PDF})
HEAD_BYTES = 16  # enough of a file's start to tell its type
_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")

SHA256_PATTERN = r"^[0-9a-f]{64}$"
MAX_NAME = 200
# Request header and content type of a chunk, as in tus.
OFFSET_HEADER = "Upload-Offset"
LENGTH_HEADER = "Upload-Length"
CHUNK_TYPE = "application/offset+octet-stream"


def sniff(head: bytes) -> str | None:
    """The media type of a file starting with `head` (at least HEAD_BYTES of it, or all of a shorter file), or None
    when it is none of the accepted kinds."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return HEIC
    return None


def clean_name(name: str, media_type: str) -> str:
    """A file name fit to show and to put in a Content-Disposition: no path, no control characters, bounded, and
    never empty (the type's usual extension then)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?').strip(" .")
    if not base:
        base = "材料." + EXTENSIONS[media_type]
    return base[:MAX_NAME]


EXTENSIONS = {JPEG: "jpg", PNG: "png", PDF: "pdf", TIFF: "tif", WEBP: "webp", HEIC: "heic"}

Sha256 = Annotated[str, msgspec.Meta(pattern=SHA256_PATTERN)]
Uuid = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
Size = Annotated[int, msgspec.Meta(ge=1, le=2**40)]


class AttachmentOffer(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`POST /api/v1/attachments`: a PC names one file attached to one of its township's cases. Idempotent by
    `attachment_id`; answered with an `UploadState`."""

    attachment_id: Uuid
    case_id: Uuid
    sha256: Sha256
    size_bytes: Size
    media_type: Annotated[str, msgspec.Meta(max_length=40)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
    added_at: Annotated[str, msgspec.Meta(max_length=40)]


class UploadState(msgspec.Struct, omit_defaults=False):
    """How much of a file the county holds: `offset` bytes received so far; `is_complete` once it is stored whole
    with the offered hash (then nothing more is to be sent)."""

    sha256: str
    size_bytes: int
    offset: int
    is_complete: bool
