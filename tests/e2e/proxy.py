"""A TCP proxy on loopback that can drop a connection after the server answered, before the client hears it."""

from __future__ import annotations

import socket
import threading

PUSH = b"POST /api/v1/sync/push"


class DroppingProxy:
    """Forwards 127.0.0.1:port to the target. While `drops` > 0, the answer to the next push is swallowed and the
    connection closed: the server has committed the batch, the agent never learns it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.drops = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _take_drop(self) -> bool:
        with self._lock:
            if self.drops > 0:
                self.drops -= 1
                self.dropped += 1
                return True
            return False

    def _handle(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        state = {"push": False}

        def close_both() -> None:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

        def requests() -> None:
            try:
                while chunk := client.recv(65536):
                    if chunk.startswith(b"POST ") or chunk.startswith(b"GET "):
                        state["push"] = chunk.startswith(PUSH)
                    upstream.sendall(chunk)
            except OSError:
                pass
            close_both()

        threading.Thread(target=requests, daemon=True).start()
        try:
            while chunk := upstream.recv(65536):
                if state["push"] and self._take_drop():
                    break
                client.sendall(chunk)
        except OSError:
            pass
        close_both()
