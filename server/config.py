"""Server configuration: TOML parsed once into frozen dataclasses. Each setting is declared once, with its default
and help, in `SETTINGS`; `config/server.example.toml` documents every one of them (a test keeps the two equal).

Relative paths resolve against the directory of the config file, so a config and its reference CSVs travel together.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ops.logs import LEVELS
from server.errors import ConfigError

REQUIRED = object()
# More ingest processes than this only wait for the one SQLite writer.
MAX_INGEST_WORKERS = 8


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    type: str  # "str", "int", "bool", "choice", "path", "dates", "level"
    default: Any
    help: str
    choices: tuple[str, ...] = ()  # for "choice"


SETTINGS = [
    Setting("server", "host", "str", "127.0.0.1",
            "Address to listen on; put a TLS reverse proxy in front for WAN use."),
    Setting("server", "port", "int", 8600, "TCP port to listen on."),
    Setting("server", "database", "path", "county.sqlite3", "SQLite file; relative paths are next to this file."),
    Setting("server", "admin_token", "str", REQUIRED, "Bearer token for /api/v1/stats and other admin calls "
            "(required; at least 16 characters)."),
    Setting("server", "max_body_bytes", "int", 16 * 1024 * 1024, "Largest request body accepted, after gzip "
            "decompression; bigger pushes get 413 too_large."),
    Setting("server", "log_level", "level", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting("server", "ingest_workers", "int", 2, "Processes that ingest pushes, townships divided among them (all "
            "pushes of a township go to the same one); 0 = ingest in the server process. Python runs one thread at "
            "a time per process: 2 uses both cores of a 2-core box (bench/ingest_bench.py)."),
    Setting("reference", "org_units", "path", "org_units.csv", "CSV of the county's org units (12-digit codes)."),
    Setting("reference", "catalog", "path", "catalog.csv", "CSV of the service-item catalog."),
    Setting("calendar", "regional_holidays", "dates", [], "Extra days off the national calendar does not know "
            "(藏历新年, 彝族年 ...), as ISO dates."),
    Setting("calendar", "extra_workdays", "dates", [], "Extra working days, as ISO dates."),
    # Figure definitions that are a choice, not a rule (shared/domain/glossary.md); named beside each figure.
    Setting("figures", "active_evaluation_rate", "choice", "rated_over_completed",
            "主动评价率: rated_over_completed (evaluations / completed cases) or active_over_ratings (ratings the "
            "applicant gave / all ratings)", choices=("rated_over_completed", "active_over_ratings")),
    Setting("figures", "good_includes_basic", "bool", True,
            "好评率: whether 基本满意 (basically satisfied) counts as a good rating."),
    Setting("dashboard", "session_idle_minutes", "int", 30, "A dashboard session ends after this many idle minutes."),
    Setting("dashboard", "agent_silent_hours", "int", 24,
            "The agents list warns about a township PC that has not pushed for this many hours."),
    Setting("dashboard", "due_soon_workdays", "int", 2,
            "Open cases due within this many working days are listed as due soon."),
]

_EXPECTED = {
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
    "path": "a file path string",
    "dates": "a list of ISO dates like \"2026-02-16\"",
    "level": f"one of {', '.join(LEVELS)}",
}


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    database: Path
    admin_token: str
    max_body_bytes: int
    log_level: str
    org_units: Path
    catalog: Path
    regional_holidays: tuple[date, ...]
    extra_workdays: tuple[date, ...]
    active_evaluation_rate: str = "rated_over_completed"
    good_includes_basic: bool = True
    session_idle_minutes: int = 30
    agent_silent_hours: int = 24
    due_soon_workdays: int = 2
    ingest_workers: int = 2
    source: Path | None = field(default=None, compare=False)


def load_config(path: str | Path) -> ServerConfig:
    """Read and check a config file. Raises `ConfigError` naming the file, key, bad value and expected type."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (pass --config FILE)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return config_from_dict(raw, source=path)


def config_from_dict(raw: dict[str, Any], source: Path | None = None) -> ServerConfig:
    where = str(source) if source else "<config>"
    base = source.resolve().parent if source else Path.cwd()
    known = {(s.section, s.key) for s in SETTINGS}
    sections = {s.section for s in SETTINGS}
    for section, table in raw.items():
        if section not in sections:
            raise ConfigError(f"{where}: unknown section [{section}]; expected one of {sorted(sections)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {section} must be a table [{section}]")
        for key in table:
            if (section, key) not in known:
                raise ConfigError(f"{where}: unknown setting [{section}] {key}; see config/server.example.toml")
    values: dict[str, Any] = {}
    for s in SETTINGS:
        table = raw.get(s.section, {})
        if s.key not in table:
            if s.default is REQUIRED:
                raise ConfigError(f"{where}: missing required setting [{s.section}] {s.key}: {s.help}")
            value = s.default
        else:
            value = table[s.key]
        values[s.key] = _convert(s, value, where, base)
    if len(values["admin_token"]) < 16:
        raise ConfigError(f"{where}: [server] admin_token is too short: expected at least 16 characters")
    if not 0 < values["port"] < 65536:
        raise ConfigError(f"{where}: [server] port = {values['port']!r}: expected an integer from 1 to 65535")
    for key in ("session_idle_minutes", "agent_silent_hours", "due_soon_workdays"):
        if values[key] < 1:
            raise ConfigError(f"{where}: [dashboard] {key} = {values[key]!r}: expected an integer >= 1")
    if not 0 <= values["ingest_workers"] <= MAX_INGEST_WORKERS:
        raise ConfigError(f"{where}: [server] ingest_workers = {values['ingest_workers']!r}: expected an integer "
                          f"from 0 to {MAX_INGEST_WORKERS}")
    if values["max_body_bytes"] < 1024:
        raise ConfigError(f"{where}: [server] max_body_bytes = {values['max_body_bytes']!r}: expected >= 1024")
    return ServerConfig(**values, source=source)


def _convert(s: Setting, value: Any, where: str, base: Path) -> Any:
    def bad() -> ConfigError:
        return ConfigError(f"{where}: [{s.section}] {s.key} = {value!r}: expected {_EXPECTED[s.type]}")

    if s.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if s.type == "bool":
        if not isinstance(value, bool):
            raise bad()
        return value
    if s.type == "choice":
        if value not in s.choices:
            raise ConfigError(f"{where}: [{s.section}] {s.key} = {value!r}: expected one of {', '.join(s.choices)}")
        return value
    if s.type in ("str", "path", "level"):
        if not isinstance(value, str) or not value:
            raise bad()
        if s.type == "path":
            return (base / value).resolve()
        if s.type == "level":
            if value.upper() not in LEVELS:
                raise bad()
            return value.upper()
        return value
    if s.type == "dates":
        if not isinstance(value, list):
            raise bad()
        days = []
        for item in value:
            if isinstance(item, date) and not isinstance(item, datetime):  # TOML local dates arrive as date
                days.append(item)
                continue
            try:
                days.append(date.fromisoformat(item))
            except (TypeError, ValueError):
                raise bad() from None
        return tuple(sorted(days))
    raise AssertionError(s.type)
