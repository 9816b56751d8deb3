"""The frames between the server process and its ingest workers (`server.ingest.pool`, `server.ingest.worker`):
msgpack, each after its length (4 bytes, big-endian), over a Unix socket pair."""

from __future__ import annotations

import asyncio
from typing import TypeVar

import msgspec

from protocol.messages import PushResponse
from server.storage.base import AgentRecord

T = TypeVar("T")

_HEADER = 4
_encoder = msgspec.msgpack.Encoder()

# The PostgreSQL DSN a worker connects with, set by the server in the worker's environment (never on its command
# line, which every local user can read).
DSN_ENV = "COUNTY_SERVER_POSTGRES_DSN"


class PushJob(msgspec.Struct, array_like=True):
    """A push for the worker: the authenticated agent and the request body (JSON, decompressed)."""

    job: int
    agent: AgentRecord
    body: bytes


class PushDone(msgspec.Struct, array_like=True):
    """The worker's answer: the response, or the code of `protocol.codes` to answer with."""

    job: int
    response: PushResponse | None = None
    error_code: str | None = None
    error_detail: str | None = None


def frame(message: PushJob | PushDone) -> bytes:
    payload = _encoder.encode(message)
    return len(payload).to_bytes(_HEADER, "big") + payload


async def read_frame(reader: asyncio.StreamReader, decoder: msgspec.msgpack.Decoder[T]) -> T | None:
    """The next message, or None when the other side closed its end."""
    try:
        header = await reader.readexactly(_HEADER)
        return decoder.decode(await reader.readexactly(int.from_bytes(header, "big")))
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
