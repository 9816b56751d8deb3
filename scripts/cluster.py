"""Start a county server and township agents as real processes on loopback ports, for the demo and e2e tests.

Each process gets its own config file and SQLite file under one directory; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(method: str, url: str, body: object | None = None, token: str | None = None,
              timeout_s: float = 10, staff: tuple[str, str] | None = None) -> tuple[int, dict]:
    """`token`: a bearer token (the county); `staff`: a staff id and PIN for an agent's API (Basic, as `curl -u`)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if staff:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(staff).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def wait_until_up(url: str, proc: subprocess.Popen, timeout_s: float = 20, ca_file: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    context = ssl.create_default_context(cafile=ca_file) if ca_file is not None else None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1, context=context):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s")


@dataclass
class Process:
    name: str
    args: list[str]
    health_url: str
    log_path: Path
    proc: subprocess.Popen | None = None
    ca_file: Path | None = None  # the CA of its HTTPS certificate

    def start(self) -> None:
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wait_until_up(self.health_url, self.proc, ca_file=self.ca_file)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Cluster:
    """A county server plus agents under `base`. Reference data comes from config/ unless given.

    With `keep`, a cluster made before under `base` is taken up again as it was (its configs, tokens, databases):
    the demo keeps its data from one run to the next."""

    base: Path
    server_port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    metrics_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    server_section: str = ""  # more lines of the [server] table, e.g. "body_timeout_s = 2\n"
    server_settings: str = ""  # more tables after [metrics], e.g. "[quotas]\nevents_per_day = 10\n"
    storage: str = ""  # the [storage] table, e.g. PostgreSQL's (tests.postgres.storage_section); none: SQLite
    server: Process | None = None
    agents: dict[str, Process] = field(default_factory=dict)
    agent_ports: dict[str, int] = field(default_factory=dict)
    keep: bool = False
    ca_file: Path | None = None  # the server speaks HTTPS (its [tls] in server_settings), signed by this CA

    def __post_init__(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.server_config = self.base / "server.toml"
        if self.keep and self.server_config.exists():
            kept = tomllib.loads(self.server_config.read_text(encoding="utf-8"))["server"]
            self.server_port, self.admin_token = kept["port"], kept["admin_token"]
            self._server_process()
            return
        self.server_config.write_text(
            "[server]\n"
            f'host = "127.0.0.1"\nport = {self.server_port}\ndatabase = "county.sqlite3"\n'
            f'admin_token = "{self.admin_token}"\n{self.server_section}'
            "[reference]\n"
            f'org_units = "{ROOT / "config" / "org_units.csv"}"\ncatalog = "{ROOT / "config" / "catalog.csv"}"\n'
            f'[metrics]\ntoken = "{self.metrics_token}"\n{self.server_settings}{self.storage}',
            encoding="utf-8",
        )
        self._server_process()

    def _server_process(self) -> None:
        self.server = Process("county-server", [str(BIN / "county-server"), "serve", "--config",
                                                str(self.server_config)],
                              f"{self.server_url}/healthz", self.base / "server.log", ca_file=self.ca_file)

    @property
    def server_url(self) -> str:
        return f"{'https' if self.ca_file else 'http'}://127.0.0.1:{self.server_port}"

    def county(self, *args: str) -> str:
        """Run a `county-server` command against this cluster's config; returns its stdout."""
        out = subprocess.run([str(BIN / "county-server"), *args, "--config", str(self.server_config)],
                             capture_output=True, text=True, cwd=ROOT, check=True)
        return out.stdout

    def add_agent(self, name: str, township: str = "513422100", pc_no: int = 1, *, port: int | None = None,
                  county_url: str | None = None, interval_s: float = 2, early_delay_s: float = 0.2,
                  batch_size: int = 500, county_settings: str = "", unit: str | None = None) -> Process:
        """Register a PC with the county (creates the database if needed) and prepare its agent process: of
        `township`, or of the org unit `unit` (a service hall, by its 12-digit code). With `keep`, a PC of that
        name registered before is taken up again, with its port and token."""
        config = self.base / f"agent-{name}.toml"
        if self.keep and config.exists():
            kept = tomllib.loads(config.read_text(encoding="utf-8"))["agent"]
            return self._agent_process(name, config, kept["port"])
        out = self.county("agents", "add", *(("--unit", unit) if unit else ("--township", township)), "--name", name)
        code9 = unit[:9] if unit else township
        token = next(w for line in out.splitlines() for w in line.split() if w.startswith(f"{code9}-") and "." in w)
        port = port or free_port()
        config.write_text(
            "[agent]\n"
            f'port = {port}\ndatabase = "agent-{name}.sqlite3"\npc_no = {pc_no}\n'
            "[county]\n"
            f'url = "{county_url or self.server_url}"\ntoken = "{token}"\ntimeout_s = 5.0\n{county_settings}'
            "[sync]\n"
            f"interval_s = {interval_s}\nearly_delay_s = {early_delay_s}\nbatch_size = {batch_size}\n"
            "attempts = 2\nbackoff_initial_s = 0.2\nbackoff_max_s = 1.0\nreference_interval_s = 3600.0\n",
            encoding="utf-8",
        )
        return self._agent_process(name, config, port)

    def _agent_process(self, name: str, config: Path, port: int) -> Process:
        agent = Process(f"agent-{name}", [str(BIN / "township-agent"), "run", "--config", str(config)],
                        f"http://127.0.0.1:{port}/healthz", self.base / f"agent-{name}.log")
        agent.config = config  # type: ignore[attr-defined]
        self.agents[name] = agent
        self.agent_ports[name] = port
        return agent

    def agent_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.agent_ports[name]}"

    def stop_all(self) -> None:
        for agent in self.agents.values():
            agent.stop()
        if self.server:
            self.server.stop()
