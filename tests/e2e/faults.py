"""A fault proxy on loopback between township agents and the county server, for the fault tests.

It forwards HTTP/1.1 (keep-alive, Content-Length bodies: what aiohttp's client and server send) and can, at any
moment, for every connection through it:
- `partitioned`: reset every connection at once and every new one (the link is down);
- `drop_answers`: swallow the next N answers to pushes or pulls after the server sent them (the server committed,
  the agent never hears) and close the connection;
- `cut_requests_over`: cut any request longer than this many bytes after that many (the upload dies midway: the
  server sees a client that went away);
- `cut_responses_over`: likewise for answers (a pull's download dies midway).
It parses just enough of each message to know where it ends and which request an answer belongs to.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

SYNC_PATHS = (b"/api/v1/sync/push", b"/api/v1/sync/pull")


@dataclass
class Faults:
    partitioned: bool = False
    drop_answers: int = 0
    cut_requests_over: int | None = None
    cut_responses_over: int | None = None
    counts: Counter[str] = field(default_factory=Counter)


class _Splitter:
    """Splits one direction of an HTTP/1.1 connection into pieces, each within one message."""

    def __init__(self) -> None:
        self.buffer = b""
        self.head: bytes | None = None  # of the message being read
        self.remaining = 0  # its body bytes still to come
        self.total = 0

    def feed(self, data: bytes) -> list[tuple[bytes, bytes, int, bool, bool]]:
        """(piece, its message's head, that message's size, piece starts it, piece ends it) for what `data` adds."""
        out = []
        self.buffer += data
        while self.buffer or (self.head is not None and self.remaining == 0):
            if self.head is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    break  # the rest of the head is still to come
                self.head, self.buffer = self.buffer[:end + 4], self.buffer[end + 4:]
                self.remaining = _content_length(self.head)
                self.total = len(self.head) + self.remaining
                piece, starts = self.head, True
            else:
                piece, self.buffer = self.buffer[:self.remaining], self.buffer[self.remaining:]
                self.remaining -= len(piece)
                starts = False
            ends = self.remaining == 0
            out.append((piece, self.head, self.total, starts, ends))
            if ends:
                self.head = None
        return out


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class FaultProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.faults = Faults()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def counts(self) -> Counter[str]:
        return self.faults.counts

    def set(self, **faults: object) -> None:
        with self._lock:
            for name, value in faults.items():
                setattr(self.faults, name, value)
        if faults.get("partitioned"):
            self._reset_all()

    def heal(self) -> None:
        self.set(partitioned=False, drop_answers=0, cut_requests_over=None, cut_responses_over=None)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self._reset_all()

    def _reset_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            _reset(s)

    def _serve(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.faults.partitioned:
                self.faults.counts["refused"] += 1
                _reset(client)
                continue
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _take_drop(self) -> bool:
        with self._lock:
            if self.faults.drop_answers > 0:
                self.faults.drop_answers -= 1
                self.faults.counts["dropped"] += 1
                return True
            return False

    def _connect(self, client: socket.socket) -> tuple[socket.socket, Callable[[], None]] | None:
        """The connection to the server for `client`, and what resets both; None (client reset) if it fails."""
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            _reset(client)
            return None
        with self._lock:
            self._sockets |= {client, upstream}

        def close_both() -> None:
            for s in (client, upstream):
                _reset(s)
            with self._lock:
                self._sockets -= {client, upstream}

        return upstream, close_both

    def _handle(self, client: socket.socket) -> None:
        connected = self._connect(client)
        if connected is None:
            return
        upstream, close_both = connected
        paths: deque[bytes] = deque()  # the path of each request still waiting for its answer

        def requests() -> None:
            splitter, sent = _Splitter(), 0
            try:
                while chunk := client.recv(65536):
                    for piece, head, total, starts, _ in splitter.feed(chunk):
                        if starts:
                            paths.append(head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"")
                            sent = 0
                        limit = self.faults.cut_requests_over
                        if limit is not None and total > limit and sent + len(piece) > limit:
                            upstream.sendall(piece[:max(0, limit - sent)])
                            self.faults.counts["cut_request"] += 1
                            break
                        upstream.sendall(piece)
                        sent += len(piece)
                    else:
                        continue
                    break
            except OSError:
                pass
            close_both()

        threading.Thread(target=requests, daemon=True).start()
        splitter, sent, dropping = _Splitter(), 0, False
        try:
            while chunk := upstream.recv(65536):
                for piece, _head, total, starts, ends in splitter.feed(chunk):
                    if starts:
                        path = paths.popleft() if paths else b""
                        dropping = path.startswith(SYNC_PATHS) and self._take_drop()
                        sent = 0
                    if dropping:
                        if ends:  # the whole answer arrived and was swallowed: hang up
                            raise ConnectionAbortedError
                        continue
                    limit = self.faults.cut_responses_over
                    if limit is not None and total > limit and sent + len(piece) > limit:
                        client.sendall(piece[:max(0, limit - sent)])
                        self.faults.counts["cut_response"] += 1
                        raise ConnectionAbortedError
                    client.sendall(piece)
                    sent += len(piece)
        except OSError:
            pass
        close_both()


def _reset(s: socket.socket) -> None:
    """Close with a TCP reset, as a dead link looks to the other side. `shutdown` first: it wakes a thread blocked
    in `recv` on the socket, which a bare `close` would not."""
    for step in (lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
                 lambda: s.shutdown(socket.SHUT_RDWR), s.close):
        try:
            step()
        except OSError:
            pass
