"""Moving a county onto PostgreSQL and keeping it there: `storage copy --to postgres` (SQLite -> PostgreSQL, then
`rollups verify` on the copy), `storage backup` / `storage restore` (pg_dump / pg_restore; `backup` / `restore` do
the same on PostgreSQL), and `doctor` on the PostgreSQL backend. Needs this machine's PostgreSQL
(`tests.postgres`): skipped without it, failed under CI=true."""

from __future__ import annotations

import asyncio
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from server.cli import main
from server.config import load_config
from tests import database, postgres
from tests.server.helpers import QIAOWA, WACHANG, CountyServer, TownshipAgent, config_text

pytestmark = [pytest.mark.postgres, postgres.sqlite_only("copies the test server's SQLite file")]


async def _cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args))


def _pg_config(where: Path, storage: str, database_file: Path, backend: str = "postgres") -> Path:
    """A config of the test server's database file and its key file (the sealed ID numbers open with it only)."""
    where.mkdir(parents=True, exist_ok=True)
    path = where / "server.toml"
    keys = database_file.parent / "county.keys"
    text = config_text(f'database = "{database_file}"\n', f'[privacy]\nkey_file = "{keys}"\n')
    text = text.replace('database = "county.sqlite3"\n', "")
    path.write_text(text + storage.replace('backend = "postgres"', f'backend = "{backend}"'), encoding="utf-8")
    return path


def _unsettled(config_path: Path) -> list[str]:
    """The tables of the schema not vacuumed and analyzed since they were filled (the planner would have no
    statistics, the open-case counts no index-only scans)."""
    with database.connect(load_config(config_path)) as db:
        return [r[0] for r in db.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
            "AND (last_vacuum IS NULL OR last_analyze IS NULL) ORDER BY relname").fetchall()]


def _counts(config_path: Path) -> tuple[int, ...]:
    with database.connect(load_config(config_path)) as db:
        return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("events", "cases", "agents", "rollups", "rollups_month", "conflicts"))


async def _push_some(server: CountyServer, agent: TownshipAgent, n: int) -> None:
    for _ in range(n):
        case = agent.accepted()
        await server.push(agent, [case, agent.completed(case["case_id"]), agent.evaluated(case["case_id"])])


async def test_a_county_copied_to_postgres_has_its_rows_true_rollups_and_backs_up_and_restores(
        county_server: CountyServer, tmp_path: Path) -> None:
    q, w = await county_server.add_agent(QIAOWA), await county_server.add_agent(WACHANG)
    await _push_some(county_server, q, 5)
    await _push_some(county_server, w, 3)
    storage = postgres.storage_section(tmp_path / "pg", always=True)
    # The source config names the target: backend still sqlite, dsn the new database.
    source = _pg_config(tmp_path / "src", storage, county_server.config.database, backend="sqlite")
    copied = await _cli("storage", "copy", "--to", "postgres", "--config", str(source))
    assert copied.exit_code == 0, copied.output
    assert "events: 24 rows" in copied.output and "rollups match the cases" in copied.output
    target = _pg_config(tmp_path / "dst", storage, county_server.config.database)
    assert _counts(target) == _counts(county_server.config.source)  # type: ignore[arg-type]
    assert _unsettled(target) == []
    again = await _cli("storage", "copy", "--to", "postgres", "--config", str(source))
    assert again.exit_code != 0 and "holds events or cases already" in again.output
    verify = await _cli("rollups", "verify", "--config", str(target))
    assert verify.exit_code == 0, verify.output
    doctor = await _cli("doctor", "--config", str(target))
    assert "PostgreSQL ok, schema" in doctor.output, doctor.output

    dump = tmp_path / "county.pgdump"
    backed_up = await _cli("storage", "backup", "--to", str(dump), "--config", str(target))
    assert backed_up.exit_code == 0, backed_up.output
    assert dump.stat().st_size > 0
    before = _counts(target)
    with database.connect(load_config(target)) as db:  # after the backup: a change the restore takes back
        db.execute("DELETE FROM conflicts")
        db.execute("UPDATE rollups SET accepted = accepted + 1")
        [(stream,)] = db.execute("SELECT value FROM server_meta WHERE key = 'stream'").fetchall()
    restored = await _cli("storage", "restore", "--from", str(dump), "--config", str(target))
    assert restored.exit_code == 0, restored.output
    assert _counts(target) == before
    assert _unsettled(target) == []
    assert (await _cli("rollups", "verify", "--config", str(target))).exit_code == 0
    with database.connect(load_config(target)) as db:
        [(new_stream,)] = db.execute("SELECT value FROM server_meta WHERE key = 'stream'").fetchall()
    assert new_stream != stream  # the PCs' pull cursors of the replaced database start again

    # On PostgreSQL `backup` and `restore` are `storage backup` and `storage restore`.
    again = tmp_path / "again.pgdump"
    backed_up = await _cli("backup", "--to", str(again), "--config", str(target))
    assert backed_up.exit_code == 0, backed_up.output
    assert again.read_bytes()[:5] == b"PGDMP"
    events, cases, agents = before[:3]
    assert f"{agents} agents, {events} events, {cases} cases" in backed_up.output  # counted in the dump's snapshot
    with database.connect(load_config(target)) as db:
        db.execute("DELETE FROM conflicts")
    restored = await _cli("restore", "--from", str(again), "--config", str(target))
    assert restored.exit_code == 0, restored.output
    assert "restored schema" in restored.output and "start every server of the database" in restored.output
    assert _counts(target) == before
    wrong = await _cli("restore", "--from", str(county_server.config.database), "--config", str(target))
    assert wrong.exit_code == 1 and "restore refused" in wrong.output and "a SQLite database" in wrong.output
    assert _counts(target) == before


async def test_the_servers_connections_compile_no_statement_and_keep_the_settings_of_the_dsn(tmp_path: Path) -> None:
    from server.storage.postgres.store import PostgresStore

    schema = postgres.schema_name(str(tmp_path), "jit")
    store = PostgresStore(await postgres.create_schema(schema), 2, files=tmp_path / "county.sqlite3")
    await store.open()
    try:
        async with store.pool.acquire() as conn:
            assert await conn.fetchval("SHOW jit") == "off"  # 30-40 ms of compiling per dashboard read otherwise
            assert await conn.fetchval("SELECT current_schema()") == schema  # the DSN's search_path still holds
    finally:
        await store.close()
        await postgres.drop_schemas([schema])


async def test_a_dump_that_fails_leaves_no_file_and_a_restore_names_a_file_that_is_no_dump(
        county_server: CountyServer, tmp_path: Path) -> None:
    storage = postgres.storage_section(tmp_path / "empty", always=True)  # a schema without the county's tables
    config = _pg_config(tmp_path / "cfg", storage, tmp_path / "county.sqlite3")
    dump = tmp_path / "out" / "county.pgdump"
    failed = await _cli("storage", "backup", "--to", str(dump), "--config", str(config))
    assert failed.exit_code == 1 and "holds no county's tables (missing: schema_migrations" in failed.output
    assert not dump.parent.exists() or list(dump.parent.iterdir()) == []  # nothing under the name, no leftover

    sqlite_file = county_server.config.database
    refused = await _cli("storage", "restore", "--from", str(sqlite_file), "--config", str(config))
    assert refused.exit_code == 1 and "is a backup of a SQLite database, not a pg_dump" in refused.output
    other = tmp_path / "notes.txt"
    other.write_text("not a backup", encoding="utf-8")
    refused = await _cli("storage", "restore", "--from", str(other), "--config", str(config))
    assert refused.exit_code == 1 and "is not a pg_dump archive" in refused.output


async def test_a_backup_without_pg_dump_or_without_the_database_says_what_to_fix(tmp_path: Path) -> None:
    import subprocess
    import sys

    from server.storage.postgres.store import PostgresStore

    storage = postgres.storage_section(tmp_path / "pg", always=True)
    config = _pg_config(tmp_path / "cfg", storage, tmp_path / "county.sqlite3")
    store = PostgresStore(load_config(config).postgres_dsn, 2, files=tmp_path / "county.sqlite3")
    await store.open()  # the county's tables
    await store.close()
    dump = tmp_path / "out" / "county.pgdump"
    program = str(Path(sys.executable).parent / "county-server")
    done = await asyncio.to_thread(subprocess.run, [program, "backup", "--config", str(config), "--to", str(dump)],
                                   capture_output=True, text=True, env={"PATH": str(tmp_path / "no-bin")})
    assert done.returncode == 1 and "pg_dump not found: install PostgreSQL's client programs" in done.stderr
    assert list(dump.parent.iterdir()) == []

    dsn = load_config(config).postgres_dsn
    nowhere = urllib.parse.urlunsplit(urllib.parse.urlsplit(dsn)._replace(netloc="postgres@127.0.0.1:9"))
    unreachable = _pg_config(tmp_path / "off", storage.replace(dsn, nowhere), tmp_path / "county.sqlite3")
    for args in (["backup", "--to", str(dump)], ["restore", "--from", str(tmp_path / "x.pgdump")]):
        (tmp_path / "x.pgdump").write_bytes(b"PGDMP")
        failed = await _cli(*args, "--config", str(unreachable))
        assert failed.exit_code == 1 and "cannot connect to [storage] dsn" in failed.output, failed.output
