"""Agent configuration: TOML parsed once into a frozen dataclass. Each setting is declared once, with its default.

`config/agent.example.toml` documents every setting (a test keeps the two equal).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import ConfigError

REQUIRED = object()


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    type: type
    default: Any
    help: str
    attr: str = ""  # the AgentConfig field, when it is not the key

    @property
    def name(self) -> str:
        return self.attr or self.key


SETTINGS = [
    Setting("agent", "host", str, "127.0.0.1", "Address of the local web page and API. Keep it on loopback."),
    Setting("agent", "port", int, 8700, "Port of the local web page and API."),
    Setting("agent", "database", str, "agent.sqlite3", "SQLite file; relative paths are next to this config file."),
    Setting("agent", "pc_no", int, 1, "This PC's number within the township (1-99); part of every case number."),
    Setting("agent", "log_level", str, "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting("county", "url", str, REQUIRED, "Base URL of the county server, e.g. https://county.example:8600.",
            "county_url"),
    Setting("county", "token", str, REQUIRED, "This PC's token, printed once by `county-server agents add`."),
    Setting("county", "timeout_s", float, 15.0, "Time limit of one request to the county server."),
    Setting("sync", "interval_s", float, 30.0, "Seconds between sync rounds."),
    Setting("sync", "early_delay_s", float, 1.0, "A local write starts a sync round this many seconds later."),
    Setting("sync", "batch_size", int, 500, "Events per push request."),
    Setting("sync", "attempts", int, 5, "Tries of one request before the round gives up until the next round."),
    Setting("sync", "backoff_initial_s", float, 1.0, "First wait between tries; doubles each time, with jitter."),
    Setting("sync", "backoff_max_s", float, 60.0, "Longest wait between tries."),
    Setting("sync", "reference_interval_s", float, 3600.0, "Seconds between refreshes of catalog and calendar."),
]


@dataclass(frozen=True)
class AgentConfig:
    host: str
    port: int
    database: Path
    pc_no: int
    log_level: str
    county_url: str
    token: str
    timeout_s: float
    interval_s: float
    early_delay_s: float
    batch_size: int
    attempts: int
    backoff_initial_s: float
    backoff_max_s: float
    reference_interval_s: float
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


def load_config(path: str | Path) -> AgentConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file; copy config/agent.example.toml and edit it") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return config_from_dict(raw, path)


def config_from_dict(raw: dict[str, Any], path: Path | None = None) -> AgentConfig:
    where = str(path) if path else "<config>"
    known = {(s.section, s.key) for s in SETTINGS}
    for section, body in raw.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        for key in body:
            if (section, key) not in known:
                raise ConfigError(f"{where}: unknown setting {section}.{key}")
    values: dict[str, Any] = {}
    for s in SETTINGS:
        value = raw.get(s.section, {}).get(s.key, s.default)
        if value is REQUIRED:
            raise ConfigError(f"{where}: {s.section}.{s.key} is required: {s.help}")
        if s.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, s.type) or isinstance(value, bool):
            raise ConfigError(
                f"{where}: {s.section}.{s.key} = {value!r} is a {type(value).__name__}, expected {s.type.__name__}"
            )
        values[s.name] = value
    _check(where, values)
    base = path.parent if path else Path.cwd()
    values["database"] = (base / values["database"]).resolve()
    return AgentConfig(**values, source=path)


def _check(where: str, v: dict[str, Any]) -> None:
    problems = []
    if not 1 <= v["pc_no"] <= 99:
        problems.append(f"agent.pc_no = {v['pc_no']} must be between 1 and 99")
    if not 0 < v["port"] < 65536:
        problems.append(f"agent.port = {v['port']} is not a port number")
    if v["log_level"].upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(f"agent.log_level = {v['log_level']!r}: expected DEBUG, INFO, WARNING or ERROR")
    if not v["county_url"].startswith(("http://", "https://")):
        problems.append(f"county.url = {v['county_url']!r}: expected an http:// or https:// URL")
    token = v["token"]
    agent_id = token.split(".", 1)[0]
    if "." not in token or len(agent_id.split("-", 1)[0]) != 9 or not agent_id[:9].isdigit():
        problems.append("county.token does not look like a token from `county-server agents add` "
                        "(<9-digit township>-<id>.<secret>)")
    if v["batch_size"] < 1 or v["batch_size"] > 5000:
        problems.append(f"sync.batch_size = {v['batch_size']} must be between 1 and 5000")
    if v["attempts"] < 1:
        problems.append(f"sync.attempts = {v['attempts']} must be at least 1")
    for key in ("interval_s", "timeout_s", "backoff_initial_s", "backoff_max_s", "reference_interval_s"):
        if v[key] <= 0:
            problems.append(f"{key} = {v[key]} must be positive")
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
