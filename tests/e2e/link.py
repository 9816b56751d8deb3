"""A slow, breakable link on loopback for the attachment tests and bench: a TCP proxy that throttles both directions
to a rate (a township's mountain link), cuts the upload of a file at chosen bytes (the link dies mid-chunk), can be
down, and counts the bytes that crossed it.

Cuts count the body bytes of the PATCH requests (the chunks of attachment uploads) that crossed the link: a cut at
byte N forwards exactly N of them, then resets both connections. It parses just enough HTTP/1.1 to know where a
message ends (`faults._Splitter`).
"""

from __future__ import annotations

import socket
import threading
import time

from tests.e2e.faults import FaultProxy, _Splitter

SLICE_BYTES = 1460  # one TCP segment: throttled sends stay smooth


class _Bucket:
    """A rate shared by every connection in one direction: bytes wait their turn."""

    def __init__(self, rate_bytes_s: float | None) -> None:
        self.rate = rate_bytes_s
        self._next = 0.0
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + n / self.rate
            wait = self._next - now
        time.sleep(wait)


class SlowLink(FaultProxy):
    """`FaultProxy`'s listener and partition (`set_down`), with a throttle, upload cuts and byte counts."""

    def __init__(self, target_port: int, *, rate_bytes_s: float | None = None) -> None:
        self.up = _Bucket(rate_bytes_s)
        self.down_rate = _Bucket(rate_bytes_s)
        self.cuts: list[int] = []  # upload body bytes at which to cut, ascending
        self.cut_count = 0
        self.upload_bytes = 0  # PATCH body bytes that crossed
        self.bytes_up = 0  # every byte that crossed towards the county, headers included
        self.bytes_down = 0
        super().__init__(target_port)

    @property
    def wire_bytes(self) -> int:
        return self.bytes_up + self.bytes_down

    def reset_counts(self) -> None:
        with self._lock:
            self.upload_bytes = self.bytes_up = self.bytes_down = 0

    def set_down(self, is_down: bool) -> None:
        self.set(partitioned=is_down)

    @property
    def is_down(self) -> bool:
        return self.faults.partitioned

    def _handle(self, client: socket.socket) -> None:
        connected = self._connect(client)
        if connected is None:
            return
        upstream, close_both = connected

        def requests() -> None:
            splitter = _Splitter()
            try:
                while data := client.recv(65536):
                    for piece, head, _, starts, _ in splitter.feed(data):
                        is_chunk = head.startswith(b"PATCH ") and not starts
                        if not self._forward_up(piece, is_chunk, upstream):
                            # The county gets every byte before the cut, then the end of the stream (FIN, not a
                            # reset, which could drop bytes still in its socket's buffer); the PC a reset.
                            try:
                                upstream.shutdown(socket.SHUT_WR)
                            except OSError:
                                pass
                            time.sleep(0.05)
                            close_both()
                            return
            except OSError:
                pass
            close_both()

        threading.Thread(target=requests, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                for i in range(0, len(data), SLICE_BYTES):
                    part = data[i:i + SLICE_BYTES]
                    self.down_rate.take(len(part))
                    client.sendall(part)
                    with self._lock:
                        self.bytes_down += len(part)
        except OSError:
            pass
        close_both()

    def _forward_up(self, piece: bytes, is_chunk: bool, upstream: socket.socket) -> bool:
        """Forward `piece`, throttled; False after a cut (what came before the cut byte was forwarded)."""
        for i in range(0, len(piece), SLICE_BYTES):
            part = piece[i:i + SLICE_BYTES]
            cut = False
            with self._lock:
                if is_chunk and self.cuts and self.upload_bytes + len(part) >= self.cuts[0]:
                    part = part[:self.cuts[0] - self.upload_bytes]
                    self.cuts.pop(0)
                    self.cut_count += 1
                    cut = True
            self.up.take(len(part))
            if part:
                upstream.sendall(part)
            with self._lock:
                self.bytes_up += len(part)
                if is_chunk:
                    self.upload_bytes += len(part)
            if cut or self.is_down:
                return False
        return True
