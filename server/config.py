"""Server configuration: the settings, each declared once with its kind, default and help, and the frozen dataclass
they fill. `ops.settings` reads and checks the TOML; `config/server.example.toml` documents every setting (a test
keeps the two equal).

Relative paths resolve against the directory of the config file, so a config and its reference CSVs travel together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ops.settings import BOOL, DATES, INT, LEVEL, PATH, REQUIRED, STR, Schema, Setting, choice

__all__ = ["MAX_INGEST_WORKERS", "REQUIRED", "SETTINGS", "ServerConfig", "config_from_dict", "load_config"]

# More ingest processes than this only wait for the one SQLite writer.
MAX_INGEST_WORKERS = 8

SETTINGS = [
    Setting("server", "host", STR, "127.0.0.1",
            "Address to listen on; put a TLS reverse proxy in front for WAN use."),
    Setting("server", "port", INT, 8600, "TCP port to listen on.", low=1, high=65535),
    Setting("server", "database", PATH, "county.sqlite3", "SQLite file; relative paths are next to this file."),
    Setting("server", "admin_token", STR, REQUIRED, "Bearer token for /api/v1/stats and other admin calls "
            "(required; at least 16 characters)."),
    Setting("server", "max_body_bytes", INT, 16 * 1024 * 1024, "Largest request body accepted, after gzip "
            "decompression; bigger pushes get 413 too_large.", low=1024),
    Setting("server", "log_level", LEVEL, "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting("server", "ingest_workers", INT, 2, "Processes that ingest pushes, townships divided among them (all "
            "pushes of a township go to the same one); 0 = ingest in the server process. Python runs one thread at "
            "a time per process: 2 uses both cores of a 2-core box (bench/ingest_bench.py).",
            low=0, high=MAX_INGEST_WORKERS),
    Setting("reference", "org_units", PATH, "org_units.csv", "CSV of the county's org units (12-digit codes)."),
    Setting("reference", "catalog", PATH, "catalog.csv", "CSV of the service-item catalog."),
    Setting("calendar", "regional_holidays", DATES, [], "Extra days off the national calendar does not know "
            "(藏历新年, 彝族年 ...), as ISO dates."),
    Setting("calendar", "extra_workdays", DATES, [], "Extra working days, as ISO dates."),
    # Figure definitions that are a choice, not a rule (shared/domain/glossary.md); named beside each figure.
    Setting("figures", "active_evaluation_rate", choice("rated_over_completed", "active_over_ratings"),
            "rated_over_completed",
            "主动评价率: rated_over_completed (evaluations / completed cases) or active_over_ratings (ratings the "
            "applicant gave / all ratings; every rating the agents record is given by the applicant, so this is "
            "100 % whenever there is one)"),
    Setting("figures", "good_includes_basic", BOOL, True,
            "好评率: whether 基本满意 (basically satisfied) counts as a good rating."),
    Setting("dashboard", "session_idle_minutes", INT, 30, "A dashboard session ends after this many idle minutes.",
            low=1),
    Setting("dashboard", "agent_silent_hours", INT, 24,
            "The agents list warns about a township PC that has not pushed for this many hours.", low=1),
    Setting("dashboard", "due_soon_workdays", INT, 2,
            "Open cases due within this many working days are listed as due soon.", low=1),
]


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    database: Path
    admin_token: str
    max_body_bytes: int
    log_level: str
    ingest_workers: int
    org_units: Path
    catalog: Path
    regional_holidays: tuple[date, ...]
    extra_workdays: tuple[date, ...]
    active_evaluation_rate: str
    good_includes_basic: bool
    session_idle_minutes: int
    agent_silent_hours: int
    due_soon_workdays: int
    source: Path | None = field(default=None, compare=False)


def _check(v: dict[str, Any]) -> Iterator[str]:
    if len(v["admin_token"]) < 16:
        yield "[server] admin_token is too short: expected at least 16 characters"


SCHEMA = Schema(ServerConfig, SETTINGS, example="config/server.example.toml", check=_check)


def load_config(path: str | Path) -> ServerConfig:
    """Read and check a config file. Raises `ConfigError` naming the file, key, bad value and expected type."""
    return SCHEMA.load(path)


def config_from_dict(raw: dict[str, Any], source: Path | None = None) -> ServerConfig:
    return SCHEMA.from_dict(raw, source)
