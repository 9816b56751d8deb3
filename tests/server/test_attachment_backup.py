"""The county's backup holds its attachment files, and a restore brings them back: the restored server serves
the identical file. `county-server backup --to-dir` links the files of the last backup instead of copying them."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from click.testing import CliRunner

from ops.sqlite_backup import files_of, restore
from server.cli import main
from server.storage.files import attachments_dir
from server.storage.sqlite.store import SqliteStore
from tests.materials import sized_png
from tests.server.helpers import CountyServer, TownshipAgent
from tests.server.test_attachment_upload import case_of, offer, offer_of, patch


async def test_backup_and_restore_carry_the_files_and_a_restored_server_serves_them(
        county_server: CountyServer, qiaowa: TownshipAgent, config_file: Path, tmp_path: Path) -> None:
    case_id = await case_of(county_server, qiaowa)
    scan = sized_png(150_000)
    sha = hashlib.sha256(scan).hexdigest()
    await offer(county_server, qiaowa, offer_of(case_id, scan))
    assert (await patch(county_server, qiaowa, sha, 0, scan))[0] == 200
    # Another upload under way: its bytes are not part of a backup.
    unfinished = sized_png(90_000)
    await offer(county_server, qiaowa, offer_of(case_id, unfinished))
    await patch(county_server, qiaowa, hashlib.sha256(unfinished).hexdigest(), 0, unfinished[:1000])

    runner = CliRunner()
    dest = tmp_path / "backups" / "county.sqlite3"
    result = runner.invoke(main, ["backup", "--config", str(config_file), "--to", str(dest)])
    assert result.exit_code == 0, result.output
    assert "files: 1 in" in result.output
    assert (files_of(dest) / "blobs" / sha[:2] / sha).read_bytes() == scan
    assert not (files_of(dest) / "uploads").exists()

    # Two dated backups: the second links the first's files (same inode), copies nothing.
    folder = tmp_path / "dated"
    for _ in range(2):
        result = runner.invoke(main, ["backup", "--config", str(config_file), "--to-dir", str(folder)])
        assert result.exit_code == 0, result.output
        await asyncio.sleep(1.1)  # the names carry the second
    first, second = sorted(folder.glob("county-server-*.sqlite3"))
    assert "(0 copied)" in result.output
    assert (files_of(first) / "blobs" / sha[:2] / sha).stat().st_ino == \
        (files_of(second) / "blobs" / sha[:2] / sha).stat().st_ino

    # Restore into a fresh place (the live server keeps its own database open).
    target = tmp_path / "restored" / "county.sqlite3"
    target.parent.mkdir()
    restore(dest, target)
    restored = SqliteStore(target)
    await restored.open()
    try:
        [record] = [a for a in await restored.attachments.case_attachments(case_id) if a.sha256 == sha]
        path = restored.attachments.blob_path(sha)
        assert record.is_stored and path is not None and hashlib.sha256(path.read_bytes()).hexdigest() == sha
    finally:
        await restored.close()
    assert attachments_dir(target) == files_of(target)  # the server's files are where backups look
