"""Agent configuration: the settings, each declared once with its kind, default and help, and the frozen dataclass
they fill. `ops.settings` reads and checks the TOML; `config/agent.example.toml` documents every setting (a test
keeps the two equal).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.settings import BOOL, FLOAT, INT, LEVEL, OPTIONAL_PATH, PATH, POSITIVE, REQUIRED, STR, Schema, Setting
from ops.tls import client_context

__all__ = ["REQUIRED", "SETTINGS", "AgentConfig", "config_from_dict", "is_loopback", "load_config"]

SETTINGS = [
    Setting("agent", "host", STR, "127.0.0.1", "Address of the local web page and API. Keep it on loopback."),
    Setting("agent", "allow_non_loopback", BOOL, False, "Allow a host other than 127.0.0.1, ::1 or localhost: anyone "
            "on that network then reaches the staff page and its API (logged as a warning at start)."),
    Setting("agent", "port", INT, 8700, "Port of the local web page and API.", low=1, high=65535),
    Setting("agent", "database", PATH, "agent.sqlite3", "SQLite file; relative paths are next to this config file."),
    Setting("agent", "pc_no", INT, 1, "This PC's number within the township (1-99); part of every case number.",
            low=1, high=99),
    Setting("agent", "log_level", LEVEL, "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting("county", "url", STR, REQUIRED, "Base URL of the county server, e.g. https://county.example:8600.",
            attr="county_url"),
    Setting("county", "token", STR, REQUIRED, "This PC's token, printed once by `county-server agents add`."),
    Setting("county", "timeout_s", POSITIVE, 15.0, "Time limit of one request to the county server."),
    Setting("county", "ca_file", OPTIONAL_PATH, "", "PEM file of the CA that signed the county server's certificate "
            "(a county's own CA); empty: the system's trusted CAs.", attr="county_ca_file"),
    Setting("county", "cert_file", OPTIONAL_PATH, "", "This PC's TLS client certificate (PEM), when the county binds "
            "PCs to certificates (`county-server agents bind-cert`); empty: none.", attr="county_cert_file"),
    Setting("county", "key_file", OPTIONAL_PATH, "", "The private key of cert_file (PEM; readable only by the "
            "agent's user).", attr="county_key_file"),
    Setting("sync", "interval_s", POSITIVE, 30.0, "Seconds between sync rounds."),
    Setting("sync", "early_delay_s", FLOAT, 1.0, "A local write starts a sync round this many seconds later."),
    Setting("sync", "batch_size", INT, 500, "Events per push request.", low=1, high=5000),
    Setting("sync", "attempts", INT, 5, "Tries of one request before the round gives up until the next round.",
            low=1),
    Setting("sync", "backoff_initial_s", POSITIVE, 1.0, "First wait between tries; doubles each time, with jitter."),
    Setting("sync", "backoff_max_s", POSITIVE, 60.0, "Longest wait between tries."),
    Setting("sync", "reference_interval_s", POSITIVE, 3600.0, "Seconds between refreshes of catalog and calendar."),
    Setting("attachments", "max_file_bytes", INT, 20 * 1024 * 1024, "Largest scan or photo staff may attach, in bytes.",
            low=1024, attr="attachment_max_file_bytes"),
    Setting("attachments", "max_total_bytes", INT, 4 * 1024**3, "All attachments this PC keeps, in bytes; beyond it "
            "staff are told the PC is full.", low=1024, attr="attachment_max_total_bytes"),
    Setting("attachments", "chunk_bytes", INT, 128 * 1024, "Bytes per request of an attachment's upload: a cut link "
            "loses at most one chunk's worth of time, never bytes the county already holds.", low=1024,
            high=64 * 1024 * 1024, attr="attachment_chunk_bytes"),
]


@dataclass(frozen=True)
class AgentConfig:
    host: str
    allow_non_loopback: bool
    port: int
    database: Path
    pc_no: int
    log_level: str
    county_url: str
    token: str
    timeout_s: float
    county_ca_file: Path | None
    county_cert_file: Path | None
    county_key_file: Path | None
    interval_s: float
    early_delay_s: float
    batch_size: int
    attempts: int
    backoff_initial_s: float
    backoff_max_s: float
    reference_interval_s: float
    attachment_max_file_bytes: int
    attachment_max_total_bytes: int
    attachment_chunk_bytes: int
    source: Path | None = field(default=None, compare=False)

    @property
    def agent_id(self) -> str:
        """The agent id is the token's part before the dot; the server binds it to one township."""
        return self.token.split(".", 1)[0]

    @property
    def township_code(self) -> str:
        return self.agent_id.split("-", 1)[0]

    @property
    def local_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def county_tls(config: AgentConfig) -> ssl.SSLContext | None:
    """The TLS context of the link to the county: its CA file and this PC's client certificate, when configured
    (None: aiohttp's default, the system's CAs). Raises OSError (ssl.SSLError) for a missing or bad file."""
    if not config.county_url.startswith("https://") or (config.county_ca_file is None
                                                        and config.county_cert_file is None):
        return None
    return client_context(config.county_ca_file, config.county_cert_file, config.county_key_file)


def _check(v: dict[str, Any]) -> Iterator[str]:
    if not v["allow_non_loopback"] and not is_loopback(v["host"]):
        yield (f"[agent] host = {v['host']!r} is not a loopback address: any PC of the network could then use the "
               "staff page and its API; keep 127.0.0.1, or set [agent] allow_non_loopback = true")
    if not v["county_url"].startswith(("http://", "https://")):
        yield f"[county] url = {v['county_url']!r}: expected an http:// or https:// URL"
    if (v["county_cert_file"] is None) != (v["county_key_file"] is None):
        yield "[county] cert_file and key_file: give both (a client certificate) or neither"
    if v["county_url"].startswith("http://") and (v["county_ca_file"] or v["county_cert_file"]):
        yield "[county] ca_file and cert_file are for an https:// url"
    token = v["token"]
    agent_id = token.split(".", 1)[0]
    if "." not in token or len(agent_id.split("-", 1)[0]) != 9 or not agent_id[:9].isdigit():
        yield ("[county] token does not look like a token from `county-server agents add` "
               "(<9-digit township>-<id>.<secret>)")


SCHEMA = Schema(AgentConfig, SETTINGS, example="config/agent.example.toml", check=_check)


def load_config(path: str | Path) -> AgentConfig:
    """Read and check the agent's config file; raises ConfigError naming the file, key, value and expected type."""
    return SCHEMA.load(path)


def config_from_dict(raw: dict[str, Any], path: Path | None = None) -> AgentConfig:
    return SCHEMA.from_dict(raw, path)
