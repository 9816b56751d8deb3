"""Real programs as subprocesses on 127.0.0.1: config files, start-up under a fake systemd notify socket, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from agent.store import AgentStore
from tests.agent.conftest import TOKEN, sample_reference
from tests.conftest import free_port

BIN = Path(sys.executable).parent


@dataclass
class Service:
    proc: subprocess.Popen
    port: int
    notify: socket.socket
    config: Path
    log: Path
    messages: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def __post_init__(self) -> None:
        # Read the socket all the time, as systemd does: a datagram socket holds only a few unread messages
        # (net.unix.max_dgram_qlen, 10 on many kernels), and a full one blocks the program's next notify().
        self.notify.settimeout(0.05)
        self.reader = threading.Thread(target=self._read, name=f"notify-{self.port}", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:  # closed
                return

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def read_notify(self, timeout_s: float = 0.0) -> list[str]:
        """The messages so far, after waiting `timeout_s` for more."""
        time.sleep(timeout_s)
        return self.messages

    def wait_ready(self, timeout_s: float = 20) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(m.startswith("READY=1") for m in self.messages):
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError("no READY=1")
            self.read_notify(0.1)

    def terminate(self, timeout_s: float = 30) -> float:
        """SIGTERM; returns the seconds until exit."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout_s)
        return time.monotonic() - started

    def output(self) -> str:
        """What the program logged (to a file: a full pipe would block it)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()


def start(program: str, config: Path, tmp_path: Path, port: int, *, watchdog_s: float = 2.0,
          preexec: list[str] | None = None) -> Service:
    """`program run|serve --config config` with NOTIFY_SOCKET and WATCHDOG_USEC as systemd would set them."""
    sock_path = tmp_path / f"notify-{port}.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": str(int(watchdog_s * 1e6))}
    env.pop("WATCHDOG_PID", None)
    log = tmp_path / f"{program}-{port}.log"
    with open(log, "ab") as out:
        command = "serve" if program == "county-server" else "run"
        proc = subprocess.Popen([*(preexec or []), str(BIN / program), command, "--config", str(config)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    return Service(proc, port, sock, config, log)


def agent_config_file(tmp_path: Path, county_url: str = "http://127.0.0.1:9", token: str = TOKEN,
                      port: int | None = None, **sync: float) -> tuple[Path, int]:
    port = port or free_port()
    extra = "".join(f"{k} = {v}\n" for k, v in sync.items())
    path = tmp_path / "agent.toml"
    path.write_text(
        f'[agent]\nport = {port}\ndatabase = "agent.sqlite3"\nlog_level = "DEBUG"\n'
        f'[county]\nurl = "{county_url}"\ntoken = "{token}"\ntimeout_s = 2.0\n'
        f"[sync]\nattempts = 1\ninterval_s = 3600\n{extra}",
        encoding="utf-8",
    )
    return path, port


def seed_agent_database(database: Path) -> None:
    async def go() -> None:
        store = await AgentStore.open(database)
        ref = sample_reference()
        await store.save_reference(ref.version, msgspec.json.encode(ref))
        await store.close()

    asyncio.run(go())


def cli(program: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / program), *args], capture_output=True, text=True, timeout=120)
