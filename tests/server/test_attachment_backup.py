"""The county's backup holds its attachment files, and a restore brings them back: the restored server serves
the identical file. On SQLite `county-server backup` and `restore`, on PostgreSQL `storage backup` and `storage
restore` (into a new database, as on a new machine). `county-server backup --to-dir` links the files of the last
backup instead of copying them (SQLite's dated backups and PostgreSQL's dated dumps alike)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from click.testing import CliRunner

from ops.sqlite_backup import files_of
from server.cli import main
from server.config import load_config
from server.storage.choose import make_store
from server.storage.files import attachments_dir
from tests import postgres
from tests.materials import sized_png
from tests.server.helpers import CountyServer, TownshipAgent, backup_args, backup_name, config_text, restore_args
from tests.server.test_attachment_upload import case_of, offer, offer_of, patch


async def _upload(server: CountyServer, agent: TownshipAgent) -> tuple[str, bytes]:
    """A case with one scan stored whole and another upload under way: (the case, the stored scan)."""
    case_id = await case_of(server, agent)
    scan = sized_png(150_000)
    await offer(server, agent, offer_of(case_id, scan))
    assert (await patch(server, agent, hashlib.sha256(scan).hexdigest(), 0, scan))[0] == 200
    # Another upload under way: its bytes are not part of a backup.
    unfinished = sized_png(90_000)
    await offer(server, agent, offer_of(case_id, unfinished))
    await patch(server, agent, hashlib.sha256(unfinished).hexdigest(), 0, unfinished[:1000])
    return case_id, scan


def _new_place(where: Path, server: CountyServer) -> Path:
    """The config of a county on a new machine: its own database file beside it (and files directory); on
    PostgreSQL the server's schema in a new, empty database, where its dump restores."""
    where.mkdir()
    storage = ""
    if server.config.storage_backend == "postgres":
        dsn = postgres.in_new_database(server.config.postgres_dsn, where)
        storage = f'[storage]\nbackend = "postgres"\ndsn = "{dsn}"\npool_size = 2\n'
    path = where / "server.toml"
    path.write_text(config_text() + storage, encoding="utf-8")
    return path


async def test_backup_and_restore_carry_the_files_and_a_restored_server_serves_them(
        county_server: CountyServer, qiaowa: TownshipAgent, tmp_path: Path) -> None:
    case_id, scan = await _upload(county_server, qiaowa)
    sha = hashlib.sha256(scan).hexdigest()

    runner = CliRunner()
    dest = tmp_path / "backups" / backup_name(county_server.config)
    result = await asyncio.to_thread(runner.invoke, main, backup_args(county_server.config, dest))
    assert result.exit_code == 0, result.output
    assert "files: 1 in" in result.output
    assert (files_of(dest) / "blobs" / sha[:2] / sha).read_bytes() == scan
    assert not (files_of(dest) / "uploads").exists()

    # Restore into a fresh place (the live server keeps its own database open).
    config = load_config(_new_place(tmp_path / "restored", county_server))
    assert not attachments_dir(config.database).exists()
    result = await asyncio.to_thread(runner.invoke, main, restore_args(config, dest))
    assert result.exit_code == 0, result.output
    restored = make_store(config.storage_backend, config.database, config.postgres_dsn, 2)
    await restored.open()
    try:
        [record] = [a for a in await restored.attachments.case_attachments(case_id) if a.sha256 == sha]
        path = restored.attachments.blob_path(sha)
        assert record.is_stored and path is not None and hashlib.sha256(path.read_bytes()).hexdigest() == sha
    finally:
        await restored.close()
    assert path == attachments_dir(config.database) / "blobs" / sha[:2] / sha  # the restored server's own files
    assert attachments_dir(config.database) == files_of(config.database)  # the server's files are where backups look


async def test_dated_backups_link_the_files_of_the_one_before(
        county_server: CountyServer, qiaowa: TownshipAgent, config_file: Path, tmp_path: Path) -> None:
    _, scan = await _upload(county_server, qiaowa)
    sha = hashlib.sha256(scan).hexdigest()
    runner = CliRunner()
    # Two dated backups: the second links the first's files (same inode), copies nothing.
    folder = tmp_path / "dated"
    for _ in range(2):
        result = await asyncio.to_thread(runner.invoke, main,
                                         ["backup", "--config", str(config_file), "--to-dir", str(folder)])
        assert result.exit_code == 0, result.output
        await asyncio.sleep(1.1)  # the names carry the second
    suffix = ".pgdump" if county_server.config.storage_backend == "postgres" else ".sqlite3"
    first, second = sorted(folder.glob(f"county-server-*{suffix}"))
    assert "(0 copied)" in result.output
    assert (files_of(first) / "blobs" / sha[:2] / sha).read_bytes() == scan
    assert (files_of(first) / "blobs" / sha[:2] / sha).stat().st_ino == \
        (files_of(second) / "blobs" / sha[:2] / sha).stat().st_ino
