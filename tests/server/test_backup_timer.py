"""The county's daily backup, as its timer runs it: the ExecStart of systemd/county-server-backup.service, read from
the unit file (its paths replaced by the test's, its --keep by 2), run as a process several times against a running
server on SQLite and on PostgreSQL. Each run leaves a backup that restores the county as it was when it ran (into a
new place: on PostgreSQL a new database, by `storage restore`), with its scanned materials, the files of the run
before linked rather than copied again; only the newest two backups and their files directories remain."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from ops.sqlite_backup import files_of
from server.app import build_app
from server.cli import main
from server.config import ServerConfig, load_config
from server.storage.files import attachments_dir
from tests import database, postgres
from tests.materials import sized_png
from tests.ops.test_units import unit
from tests.server.helpers import CountyServer, config_text
from tests.server.test_attachment_upload import case_of, offer, offer_of, patch

UNIT = "county-server-backup.service"
CONFIG, FOLDER = "/etc/county-server/server.toml", "/var/backups/county-server"
TABLES = ("agents", "events", "cases", "attachments", "rollups")
RUNS, KEEP = 3, 2


def timer_command(config: Path, folder: Path) -> tuple[list[str], dict[str, str]]:
    """The unit's ExecStart with the test's config, backup folder and --keep, and the environment it sets."""
    service = unit(UNIT)["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "county-server" and argv[1] == "backup", argv
    assert argv.count(CONFIG) == 1 and argv.count(FOLDER) == 1 and "--keep" in argv, argv
    replaced = {CONFIG: str(config), FOLDER: str(folder), argv[argv.index("--keep") + 1]: str(KEEP)}
    program = Path(sys.executable).parent / "county-server"  # this checkout's, installed as the bundle installs it
    env = dict(os.environ, **dict(pair.split("=", 1) for pair in shlex.split(service["Environment"])))
    return [str(program)] + [replaced.get(arg, arg) for arg in argv[1:]], env


def head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(16)


def counts(config: ServerConfig | Path) -> dict[str, int]:
    with database.connect(config) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture(params=["sqlite", "postgres"])
async def county(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CountyServer]:
    """A running county server on each backend, whatever TEST_SERVER_BACKEND says."""
    where = tmp_path / "live"
    where.mkdir()
    storage = postgres.storage_section(where, always=True) if request.param == "postgres" else ""
    path = where / "server.toml"
    path.write_text(config_text() + storage, encoding="utf-8")
    config = load_config(path)
    app = await build_app(config)
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as session:
        yield CountyServer(str(server.make_url("")).rstrip("/"), app, config, session)


def _new_place(where: Path, live: ServerConfig) -> Path:
    """A county on a new machine: its own database file (and files directory), on PostgreSQL the live schema's name
    in a new, empty database (a dump restores into the schema it was taken from)."""
    where.mkdir()
    storage = ""
    if live.storage_backend == "postgres":
        storage = f'[storage]\nbackend = "postgres"\ndsn = "{postgres.in_new_database(live.postgres_dsn, where)}"\n'
    path = where / "server.toml"
    path.write_text(config_text() + storage, encoding="utf-8")
    return path


async def test_the_timers_command_leaves_restorable_dated_backups_and_keeps_the_newest(
        county: CountyServer, tmp_path: Path) -> None:
    live = county.config
    assert live.source is not None
    on_postgres = live.storage_backend == "postgres"
    suffix = ".pgdump" if on_postgres else ".sqlite3"
    folder = tmp_path / "backups"
    command, env = timer_command(live.source, folder)
    agent = await county.add_agent()
    written: list[Path] = []
    scans: list[str] = []
    for run in range(RUNS):
        for _ in range(run + 1):  # each run's backup holds more than the one before
            case = agent.accepted()
            await county.push(agent, [case, agent.completed(case["case_id"])])
        scan = sized_png(40_000 + 1000 * run)
        scans.append(hashlib.sha256(scan).hexdigest())
        await offer(county, agent, offer_of(await case_of(county, agent), scan))
        assert (await patch(county, agent, scans[-1], 0, scan))[0] == 200
        before = counts(live)

        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, env=env,
                                       cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        [path] = re.findall(r"^backup written: (\S+) ", done.stdout, re.M)
        backup = Path(path)
        assert backup.parent == folder and re.fullmatch(rf"county-server-\d{{8}}T\d{{6}}{re.escape(suffix)}",
                                                        backup.name), backup
        assert head(backup).startswith(b"PGDMP" if on_postgres else b"SQLite format 3\x00")
        assert f"{before['agents']} agents, {before['events']} events, {before['cases']} cases" in done.stdout
        # Every scan so far is in it; those of the backup before are linked to it, this run's one copied.
        assert f"files: {run + 1} in {files_of(backup)} (1 copied)" in done.stdout, done.stdout
        for sha in scans[:-1]:
            assert (files_of(backup) / "blobs" / sha[:2] / sha).stat().st_ino == \
                (files_of(written[-1]) / "blobs" / sha[:2] / sha).stat().st_ino
        written.append(backup)
        removed = re.findall(r"^old backup removed: (\S+)$", done.stdout, re.M)
        assert removed == ([str(written[run - KEEP])] if run >= KEEP else []), done.stdout

        # It restores the county as it was when the backup ran, with its files, on a new machine.
        place = load_config(_new_place(tmp_path / f"restored-{run}", live))
        args = ["storage", "restore"] if on_postgres else ["restore"]
        restored = await asyncio.to_thread(CliRunner().invoke, main,
                                           [*args, "--config", str(place.source), "--from", str(backup)])
        assert restored.exit_code == 0, restored.output
        assert counts(place) == before
        for sha in scans:
            path_of = attachments_dir(place.database) / "blobs" / sha[:2] / sha
            assert hashlib.sha256(path_of.read_bytes()).hexdigest() == sha
        await asyncio.sleep(1.1)  # the names carry the second

    # The newest two backups and their files directories, nothing else (no temporary file, no older backup).
    kept = written[-KEEP:]
    assert sorted(p.name for p in folder.iterdir()) == sorted([p.name for p in kept] + [files_of(p).name for p in kept])
    assert not written[0].exists() and not files_of(written[0]).exists()

