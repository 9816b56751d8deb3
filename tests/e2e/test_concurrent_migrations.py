"""Two `county-server agents add` started at once on a new database both succeed: the migrations run under a lock
(on SQLite a file lock, ops/migrationlock.py; on PostgreSQL an advisory lock of the schema), so the second waits for
the first and finds them applied. Real processes."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import asyncpg
import pytest

from ops.migrationlock import migration_lock_path
from server.config import load_config
from tests import database, postgres
from tests.e2e.processes import BIN
from tests.server.helpers import QIAOWA, WACHANG, config_text


def _start_add(config: Path, township: str, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "county-server"), "agents", "add", "--township", township, "--name", name,
                             "--json", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> dict[str, str]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    body: dict[str, str] = json.loads(out)
    return body


def test_two_agents_add_at_once_on_a_new_database_both_succeed(tmp_path: Path) -> None:
    for round_ in range(3):  # the race is a matter of timing: several fresh databases
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        config = folder / "server.toml"
        config.write_text(config_text(where=folder), encoding="utf-8")
        procs = [_start_add(config, QIAOWA, "窗口1"), _start_add(config, WACHANG, "窗口1")]
        added = [_finish(p) for p in procs]
        assert sorted(a["township_code"] for a in added) == [QIAOWA, WACHANG]
        with database.connect(config) as db:
            assert db.execute("SELECT count(*) FROM agents").fetchone()[0] == 2
            versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert len(versions) == len(set(versions)) and versions  # each migration applied once


@postgres.sqlite_only("holds the SQLite database's migration lock file")
def test_a_command_waits_for_the_migration_lock_then_finds_the_schema_migrated(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text(config_text(), encoding="utf-8")
    database = tmp_path / "county.sqlite3"
    fd = os.open(migration_lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a first command migrating would hold it
    try:
        procs = [_start_add(config, QIAOWA, "窗口1"), _start_add(config, QIAOWA, "窗口2")]
        time.sleep(3)  # ample for both to start and reach the migrations
        assert [p.poll() for p in procs] == [None, None]  # both wait for the lock
        with sqlite3.connect(database) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name = 'agents'")]
        assert tables == []  # nothing migrated while the lock is held
    finally:
        os.close(fd)
    added = [_finish(p) for p in procs]
    assert sorted(a["name"] for a in added) == ["窗口1", "窗口2"]


@pytest.mark.postgres
async def test_on_postgres_a_command_waits_for_the_schemas_migration_lock_then_finds_it_migrated(
        tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text(config_text() + postgres.storage_section(tmp_path, always=True), encoding="utf-8")
    conn = await asyncpg.connect(load_config(config).postgres_dsn)
    try:
        # As a first command migrating would hold it: the advisory lock of this schema's migrations.
        await conn.execute("SELECT pg_advisory_lock(hashtext(current_schema() || '.county-server migrations'))")
        procs = [_start_add(config, QIAOWA, "窗口1"), _start_add(config, QIAOWA, "窗口2")]
        await asyncio.sleep(3)  # ample for both to start and reach the migrations
        assert [p.poll() for p in procs] == [None, None]  # both wait for the lock
        assert await conn.fetchval("SELECT to_regclass('agents')") is None  # nothing migrated meanwhile
    finally:
        await conn.close()  # the lock goes with the session
    added = await asyncio.to_thread(lambda: [_finish(p) for p in procs])
    assert sorted(a["name"] for a in added) == ["窗口1", "窗口2"]
    with database.connect(config) as db:
        versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert len(versions) == len(set(versions)) and versions  # each migration applied once
