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

from ops.settings import BOOL, DATES, INT, LEVEL, PATH, REQUIRED, STR, Kind, Schema, Setting, choice

__all__ = ["MAX_INGEST_WORKERS", "REQUIRED", "SETTINGS", "ServerConfig", "config_from_dict", "load_config"]

# More ingest processes than this only wait for the one SQLite writer.
MAX_INGEST_WORKERS = 8


def _token(value: Any, base: Path) -> str:
    if not isinstance(value, str) or 0 < len(value) < 16:
        raise ValueError
    return value


# A secret that may be left empty (the feature it opens is then off), else long enough not to be guessed.
TOKEN = Kind("token", "an empty string or a string of at least 16 characters", _token)

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
    Setting("server", "header_timeout_s", INT, 20, "A connection that has not sent a whole request head (request "
            "line and headers) this many seconds after it opened, or after its previous answer, is closed: half-sent "
            "headers and idle keep-alive connections.", low=1),
    Setting("server", "body_timeout_s", INT, 60, "A request body must arrive whole within this many seconds; a "
            "slower or stalled one is cut with 408 body_timeout.", low=1),
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
    Setting("dashboard", "session_max_hours", INT, 12, "A dashboard session ends this many hours after the login, "
            "however busy.", low=1),
    Setting("dashboard", "login_failures_per_account", INT, 5, "Failed logins to one account within "
            "login_window_minutes that lock it for login_lock_minutes (429 login_throttled, the right password "
            "included).", low=1),
    Setting("dashboard", "login_failures_per_address", INT, 20, "Failed logins from one address within "
            "login_window_minutes that lock it out for login_lock_minutes.", low=1),
    Setting("dashboard", "login_window_minutes", INT, 15, "The window in which failed logins are counted.", low=1),
    Setting("dashboard", "login_lock_minutes", INT, 15, "How long a lock lasts.", low=1),
    Setting("dashboard", "agent_silent_hours", INT, 24,
            "The agents list warns about a township PC that has not pushed for this many hours.", low=1),
    Setting("dashboard", "due_soon_workdays", INT, 2,
            "Open cases due within this many working days are listed as due soon.", low=1),
    # Per township PC (agent token), so that one stolen token cannot fill the county's disk. A push is refused with
    # 429 once a quota is reached (the batch that reaches it is taken whole); the PC keeps its events.
    Setting("quotas", "events_per_day", INT, 200_000, "Events one PC may send per day (China time); a PC that "
            "comes back after months offline sends about 10 per case.", low=1, attr="quota_events_per_day"),
    Setting("quotas", "bytes_per_day", INT, 512 * 1024 * 1024, "Request bytes (after decompression) one PC may "
            "send per day: 512 MiB.", low=1, attr="quota_bytes_per_day"),
    Setting("quotas", "orphan_events", INT, 20_000, "Events of one PC stored while the acceptance (受理) of their "
            "case has not arrived; beyond it the PC's pushes wait until the PC that accepted those cases has uploaded.",
            low=1, attr="quota_orphan_events"),
    Setting("metrics", "token", TOKEN, "", "Bearer token that GET /metrics on the main address requires; empty: "
            "/metrics is not served there (401).", attr="metrics_token"),
    Setting("metrics", "host", STR, "127.0.0.1", "Address of the metrics listener; keep it on loopback.",
            attr="metrics_host"),
    Setting("metrics", "port", INT, 0, "Port of a listener of its own that serves GET /metrics without a token "
            "(and /healthz, /readyz); 0: none.", low=0, high=65535, attr="metrics_port"),
    Setting("privacy", "key_file", PATH, "county.keys", "Key file that seals ID numbers and phones in the database; "
            "keep it outside the database's backups. Made (mode 0600) by `county-server keys init`, or at the "
            "first start; relative paths are next to this file.", attr="key_file"),
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
    session_max_hours: int
    login_failures_per_account: int
    login_failures_per_address: int
    login_window_minutes: int
    login_lock_minutes: int
    agent_silent_hours: int
    due_soon_workdays: int
    header_timeout_s: int
    body_timeout_s: int
    quota_events_per_day: int
    quota_bytes_per_day: int
    quota_orphan_events: int
    metrics_token: str
    metrics_host: str
    metrics_port: int
    key_file: Path
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
