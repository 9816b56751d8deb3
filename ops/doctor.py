"""What `doctor` prints: a list of checks, each ok, warn or fail, with what to do in plain words.

The programs build their own checks (config, database, county, token); the shared ones are here.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Below this the SQLite file may not grow a day's work and WAL checkpoints start to fail.
DISK_FAIL_BYTES = 200 * 1024 * 1024
DISK_WARN_BYTES = 1024 * 1024 * 1024
# Beyond this the county flags event times as skewed; due dates are still counted by the county calendar.
CLOCK_WARN_MS = 60_000
CLOCK_FAIL_MS = 10 * 60_000


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn, fail
    detail: str
    fix: str = ""

    @property
    def is_failed(self) -> bool:
        return self.status == "fail"


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warn", detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def check_disk(path: Path) -> Check:
    where = path if path.exists() else path.parent
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    text = f"{free / 2**30:.1f} GiB free on the disk of {where}"
    if free < DISK_FAIL_BYTES:
        return fail("disk", text, "free disk space now: delete old backups or move them off this machine")
    if free < DISK_WARN_BYTES:
        return warn("disk", text, "free some disk space soon (old backups, downloads)")
    return ok("disk", text)


def check_database(path: Path, shipped: list[int], column: str = "number") -> Check:
    """The file opens read-only, passes quick_check, and which of the `shipped` migrations are applied
    (`column` of schema_migrations holds their numbers)."""
    if not path.exists():
        return warn("database", f"{path} does not exist yet", "it is created at the first start of the program")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            applied = {r[0] for r in db.execute(f"SELECT {column} FROM schema_migrations")}
        finally:
            db.close()
    except sqlite3.Error as e:
        return fail("database", f"{path} cannot be read: {e}",
                    "check the file's owner and permissions; if it is damaged, restore the last backup")
    if result != "ok":
        return fail("database", f"{path} is damaged: {result}", "stop the program and restore the last backup")
    missing = [n for n in shipped if n not in applied]
    unknown = sorted(applied - set(shipped))
    if unknown:
        return fail("database", f"{path} has migrations {unknown} this version does not know",
                    "the database is from a newer version: install that version again, do not downgrade")
    if missing:
        return warn("database", f"{path} ok; migrations {missing} will be applied at the next start",
                    "restart the program to apply them")
    return ok("database", f"{path} ok, schema {max(applied, default=0)}")


def check_clock(offset_ms: int | None) -> Check:
    if offset_ms is None:
        return warn("clock", "offset to the county unknown", "fix the county connection first")
    text = f"this machine's clock is {abs(offset_ms) / 1000:.1f} s {'ahead of' if offset_ms > 0 else 'behind'} " \
           "the county server"
    if abs(offset_ms) >= CLOCK_FAIL_MS:
        return fail("clock", text, "set the date and time (timedatectl set-time, or enable NTP: timedatectl "
                    "set-ntp true)")
    if abs(offset_ms) >= CLOCK_WARN_MS:
        return warn("clock", text, "enable time synchronisation: timedatectl set-ntp true")
    return ok("clock", text)


def render(checks: list[Check]) -> str:
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines = []
    for c in checks:
        lines.append(f"{marks[c.status]} {c.name:<10} {c.detail}")
        if c.fix:
            lines.append(f"     {'':<10} -> {c.fix}")
    failed = sum(c.is_failed for c in checks)
    lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
    return "\n".join(lines)


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"ok": not any(c.is_failed for c in checks),
            "checks": [{"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix} for c in checks]}
