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

from ops.settings import BOOL, DATES, INT, LEVEL, OPTIONAL_PATH, PATH, REQUIRED, STR, Kind, Schema, Setting, choice
from server.clock import DEFAULT_ZONE, zone_named

__all__ = ["MAX_INGEST_WORKERS", "REQUIRED", "SETTINGS", "ServerConfig", "config_from_dict", "load_config"]

# More ingest processes than this only wait for the one SQLite writer.
MAX_INGEST_WORKERS = 8


def _token(value: Any, base: Path) -> str:
    if not isinstance(value, str) or 0 < len(value) < 16:
        raise ValueError
    return value


def _zone(value: Any, base: Path) -> str:
    if not isinstance(value, str):
        raise ValueError
    zone_named(value)  # ValueError for a zone the host does not know
    return value


ZONE = Kind("zone", "an IANA time zone name the host knows, e.g. \"Asia/Shanghai\"", _zone)

# A secret that may be left empty (the feature it opens is then off), else long enough not to be guessed.
TOKEN = Kind("token", "an empty string or a string of at least 16 characters", _token)


def _address(value: Any, base: Path) -> str:
    import ipaddress

    if not isinstance(value, str):
        raise ValueError
    if value:
        ipaddress.ip_address(value)  # ValueError for anything but one IP address
    return value


ADDRESS = Kind("address", 'an IP address, or "" for none', _address)


def _dsn(value: Any, base: Path) -> str:
    if not isinstance(value, str) or (value and not value.startswith(("postgresql://", "postgres://"))):
        raise ValueError
    return value


DSN = Kind("dsn", 'an empty string or a URL like "postgresql://user@host:5432/database"', _dsn)

SETTINGS = [
    Setting("server", "host", STR, "127.0.0.1",
            "Address to listen on. Another address than loopback only with [tls] cert_file, or behind the TLS reverse "
            "proxy of trusted_proxy: tokens, passwords and personal data must not cross a network in clear."),
    Setting("server", "port", INT, 8600, "TCP port to listen on.", low=1, high=65535),
    Setting("server", "database", PATH, "county.sqlite3", "SQLite file ([storage] backend = \"sqlite\"); relative "
            "paths are next to this file. With PostgreSQL, the run lock and the SQLite backups live beside it."),
    Setting("server", "admin_token", STR, REQUIRED, "Bearer token for /api/v1/stats and other admin calls "
            "(required; at least 16 characters)."),
    Setting("server", "max_body_bytes", INT, 16 * 1024 * 1024, "Largest request body accepted, after gzip "
            "decompression; bigger pushes get 413 too_large.", low=1024),
    Setting("server", "log_level", LEVEL, "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting("server", "trusted_proxy", ADDRESS, "", "The address of the TLS reverse proxy in front of the server: "
            "only requests from it have their X-Forwarded-Proto (https: Secure cookies, HSTS) and X-Forwarded-For "
            "(the client's address, for login throttling and the audit log) believed. Empty: no proxy is trusted."),
    Setting("server", "header_timeout_s", INT, 20, "A connection that has not sent a whole request head (request "
            "line and headers) this many seconds after it opened, or after its previous answer, is closed: half-sent "
            "headers and idle keep-alive connections.", low=1),
    Setting("server", "body_timeout_s", INT, 60, "A request body must arrive whole within this many seconds; a "
            "slower or stalled one is cut with 408 body_timeout.", low=1),
    Setting("server", "ingest_workers", INT, 2, "Processes that ingest pushes, townships divided among them (all "
            "pushes of a township go to the same one); 0 = ingest in the server process. Python runs one thread at "
            "a time per process: 2 uses both cores of a 2-core box (bench/ingest_bench.py).",
            low=0, high=MAX_INGEST_WORKERS),
    Setting("server", "time_zone", ZONE, DEFAULT_ZONE, "The zone of the county's dates: \"today\", periods, "
            "overdue and due-soon lists, \"截至\" dates, exports and the yearbook, whatever the host's own zone.",
            attr="time_zone"),
    Setting("tls", "cert_file", OPTIONAL_PATH, "", "PEM certificate (chain) the server presents: with key_file, the "
            "server speaks HTTPS itself (TLS 1.2 or later) and sends HSTS. Empty: plain HTTP (loopback or behind "
            "trusted_proxy only).", attr="tls_cert_file"),
    Setting("tls", "key_file", OPTIONAL_PATH, "", "PEM private key of cert_file (mode 0600, owned by the service "
            "user).", attr="tls_key_file"),
    Setting("tls", "client_ca_file", OPTIONAL_PATH, "", "PEM CA certificate(s) that sign the township PCs' client "
            "certificates. A PC bound to a certificate (`county-server agents bind-cert`) is refused without it.",
            attr="tls_client_ca_file"),
    Setting("tls", "require_client_cert", BOOL, False, "Refuse every PC request that does not come with the client "
            "certificate bound to its agent (browsers of the dashboard need none).", attr="tls_require_client_cert"),
    Setting("tls", "hsts_max_age_s", INT, 31_536_000, "max-age of the Strict-Transport-Security header sent over "
            "HTTPS (one year).", low=0, attr="tls_hsts_max_age_s"),
    Setting("storage", "backend", choice("sqlite", "postgres"), "sqlite", "Where the server stores: sqlite (one "
            "file, one county on one box) or postgres (a prefecture and beyond; several server processes may share "
            "it, see docs/scaling.md).", attr="storage_backend"),
    Setting("storage", "dsn", DSN, "", "PostgreSQL connection URL when backend = \"postgres\", e.g. "
            "postgresql://county@127.0.0.1:5432/county (a password is better in ~/.pgpass or PGPASSWORD than here); "
            "query parameters other than libpq's are server settings, e.g. ?search_path=aba.",
            attr="postgres_dsn"),
    Setting("storage", "pool_size", INT, 8, "PostgreSQL connections per server process (and per ingest worker).",
            low=1, high=100, attr="postgres_pool_size"),
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
    Setting("figures", "online_share_base", choice("accepted", "completed"), "accepted",
            "网上办理率: accepted (cases accepted online / accepted cases, by acceptance day) or completed (completed "
            "cases that were accepted online / completed cases, by completion day: 阿坝州 2021's 85.67 %)."),
    Setting("figures", "promise_speedup", choice("mean_of_items", "ratio_of_totals"), "mean_of_items",
            "承诺提速率 over catalogue items with a legal limit: mean_of_items (the mean of "
            "(legal - promised) / legal) or ratio_of_totals ((sum of legal - sum of promised) / sum of legal: the "
            "average limit's compression)."),
    Setting("ratings", "follow_up_workdays", INT, 15, "差评回访: a bad rating is followed up within this many "
            "working days after the rating day (a Sichuan rule: 15 working days; 德州 5; 0 = no rule). The PCs "
            "compute each bad rating's last day with the county calendar; later ones are listed as overdue.",
            low=0, high=365),
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
    Setting("audit", "retention_days", INT, 365, "Days the audit log keeps an entry; older entries are purged once "
            "a day. At least 183 (6 months, as 网络安全法 art. 21 asks).", low=183, attr="audit_retention_days"),
    Setting("attachments", "max_file_bytes", INT, 50 * 1024 * 1024, "Largest scan or photo a PC may upload, in bytes.",
            low=1024, attr="attachment_max_file_bytes"),
    Setting("attachments", "quota_bytes_per_agent", INT, 8 * 1024**3, "All the attachment files one PC may upload, "
            "in bytes (each file once); beyond it the PC keeps its files and staff are told.", low=1024,
            attr="attachment_quota_bytes"),
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
    trusted_proxy: str
    tls_cert_file: Path | None
    tls_key_file: Path | None
    tls_client_ca_file: Path | None
    tls_require_client_cert: bool
    tls_hsts_max_age_s: int
    ingest_workers: int
    storage_backend: str
    postgres_dsn: str
    postgres_pool_size: int
    org_units: Path
    catalog: Path
    regional_holidays: tuple[date, ...]
    extra_workdays: tuple[date, ...]
    active_evaluation_rate: str
    good_includes_basic: bool
    online_share_base: str
    promise_speedup: str
    follow_up_workdays: int
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
    time_zone: str
    quota_events_per_day: int
    quota_bytes_per_day: int
    quota_orphan_events: int
    audit_retention_days: int
    attachment_max_file_bytes: int
    attachment_quota_bytes: int
    metrics_token: str
    metrics_host: str
    metrics_port: int
    key_file: Path
    source: Path | None = field(default=None, compare=False)


def _check(v: dict[str, Any]) -> Iterator[str]:
    if len(v["admin_token"]) < 16:
        yield "[server] admin_token is too short: expected at least 16 characters"
    if (v["tls_cert_file"] is None) != (v["tls_key_file"] is None):
        yield "[tls] cert_file and key_file: give both (HTTPS) or neither (plain HTTP)"
    if v["tls_client_ca_file"] is not None and v["tls_cert_file"] is None:
        yield "[tls] client_ca_file needs cert_file and key_file: client certificates come with HTTPS"
    if v["tls_require_client_cert"] and v["tls_client_ca_file"] is None:
        yield "[tls] require_client_cert = true needs client_ca_file, the CA of the PCs' certificates"
    if v["tls_cert_file"] is None and not v["trusted_proxy"] and not _is_loopback(v["host"]):
        yield (f"[server] host = {v['host']!r} without [tls] cert_file or [server] trusted_proxy: plain HTTP on a "
               "network carries tokens, passwords and personal data readable; set [tls] cert_file and key_file")
    if v["storage_backend"] == "postgres" and not v["postgres_dsn"]:
        yield '[storage] dsn is empty: backend = "postgres" needs the PostgreSQL URL'


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SCHEMA = Schema(ServerConfig, SETTINGS, example="config/server.example.toml", check=_check)


def load_config(path: str | Path) -> ServerConfig:
    """Read and check a config file. Raises `ConfigError` naming the file, key, bad value and expected type."""
    return SCHEMA.load(path)


def config_from_dict(raw: dict[str, Any], source: Path | None = None) -> ServerConfig:
    return SCHEMA.from_dict(raw, source)
