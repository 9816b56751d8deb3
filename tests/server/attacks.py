"""What the attack tests send: a gzip bomb, raw HTTP over a socket (half-sent heads and bodies)."""

from __future__ import annotations

import socket
import struct
import zlib


def gzip_bomb(mib: int = 1024) -> bytes:
    """A valid gzip body of `mib` MiB of zeros in about 1 KB per MiB (1 GiB -> 1.06 MB), made in a fraction of a
    second: one fully flushed deflate block of 1 MiB of zeros, repeated (each block stands alone), then an empty
    final block and the true CRC-32 and length."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(1 << 20)) + comp.flush(zlib.Z_FULL_FLUSH)
    crc, zero = 0, bytes(1 << 20)
    for _ in range(mib):
        crc = zlib.crc32(zero, crc)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + block * mib + b"\x03\x00"
            + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF))


def raw_request(port: int, head: str, body: bytes = b"", timeout_s: float = 30, *,
                is_head_complete: bool = True) -> tuple[int, bytes]:
    """Send a request as written (`head` without the blank line that ends it, which is added unless
    `is_head_complete` is false) and read until the server closes: (status, all). Status 0 when the server closed
    without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(head.encode() + (b"\r\n\r\n" if is_head_complete else b"\r\n"))
        try:
            s.sendall(body)
        except OSError:
            pass  # the server answered and closed before the whole body went out
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except OSError:
            pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


def post_head(path: str, length: int, **headers: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}", "Connection: close"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines)
