"""Online backup is a consistent snapshot while a writer runs; restore refuses a database anything has open."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ops.runlock import DatabaseInUse, RunLock, is_locked
from ops.sqlite_backup import BackupError, backup, prune, restore

TABLES = ("schema_migrations", "pairs")


def make_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY)")
    db.execute("INSERT INTO schema_migrations VALUES (1)")
    # Each transaction writes two rows that must always be seen together.
    db.execute("CREATE TABLE pairs (n INTEGER, side TEXT, pad BLOB)")
    return db


def test_a_backup_taken_while_a_writer_runs_holds_whole_transactions_only(tmp_path):
    source = tmp_path / "live.sqlite3"
    db = make_db(source)
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO pairs VALUES (?, 'a', randomblob(2000))", (n,))
            db.execute("INSERT INTO pairs VALUES (?, 'b', randomblob(2000))", (n,))
            db.execute("COMMIT")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        infos = [backup(source, tmp_path / f"b{i}.sqlite3", required_tables=TABLES) for i in range(3)]
    finally:
        stop.set()
        thread.join()
        db.close()
    for info in infos:
        copy = sqlite3.connect(info.path)
        a, b = (copy.execute("SELECT count(*) FROM pairs WHERE side = ?", (s,)).fetchone()[0] for s in "ab")
        assert a == b > 0
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        copy.close()
        assert info.tables["pairs"] == 2 * a


def test_a_backup_of_a_stopped_database_works_and_leaves_no_temporary_file(tmp_path):
    make_db(tmp_path / "db.sqlite3").close()
    backup(tmp_path / "db.sqlite3", tmp_path / "out" / "copy.sqlite3", required_tables=TABLES)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["copy.sqlite3"]


def test_backup_of_a_missing_database_says_so(tmp_path):
    with pytest.raises(BackupError, match="no such database"):
        backup(tmp_path / "nope.sqlite3", tmp_path / "x.sqlite3")


def test_prune_keeps_the_newest(tmp_path):
    for stamp in ("20261101", "20261102", "20261103"):
        (tmp_path / f"a-{stamp}.sqlite3").write_bytes(b"")
    assert [p.name for p in prune(tmp_path, "a-*.sqlite3", 2)] == ["a-20261101.sqlite3"]


def test_restore_replaces_the_database_and_keeps_the_old_one_with_its_wal(tmp_path):
    live = tmp_path / "db.sqlite3"
    db = make_db(live)
    db.execute("INSERT INTO pairs VALUES (1, 'a', NULL)")
    backup(live, tmp_path / "backup.sqlite3", required_tables=TABLES)
    db.execute("INSERT INTO pairs VALUES (2, 'a', NULL)")
    db.close()
    kept = restore(tmp_path / "backup.sqlite3", live, required_tables=TABLES,
                   prepare=lambda c: c.execute("INSERT INTO pairs VALUES (99, 'restored', NULL)"))
    restored = sqlite3.connect(live)
    assert [r[0] for r in restored.execute("SELECT n FROM pairs ORDER BY n")] == [1, 99]
    assert restored.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    restored.close()
    assert kept is not None and sqlite3.connect(kept).execute("SELECT count(*) FROM pairs").fetchone()[0] == 2
    assert not Path(f"{live}-journal").exists()


def test_restore_refuses_while_the_run_lock_is_held(tmp_path):
    live = tmp_path / "db.sqlite3"
    make_db(live).close()
    backup(live, tmp_path / "backup.sqlite3", required_tables=TABLES)
    with RunLock(live).acquire("township-agent run"):
        assert is_locked(live)
        with pytest.raises(DatabaseInUse, match="township-agent run"):
            restore(tmp_path / "backup.sqlite3", live, required_tables=TABLES)
    assert not is_locked(live)


def test_restore_refuses_while_another_process_has_the_database_open_even_idle(tmp_path):
    live = tmp_path / "db.sqlite3"
    make_db(live).close()
    backup(live, tmp_path / "backup.sqlite3", required_tables=TABLES)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]);"
         " db.execute('SELECT count(*) FROM pairs').fetchone(); print('open', flush=True); sys.stdin.read()",
         str(live)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(DatabaseInUse, match="open in another process"):
            restore(tmp_path / "backup.sqlite3", live, required_tables=TABLES)
    finally:
        holder.communicate("")
    assert restore(tmp_path / "backup.sqlite3", live, required_tables=TABLES) is not None


def test_restore_refuses_a_file_that_is_not_a_backup_of_this_program(tmp_path):
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(BackupError, match="tables missing"):
        restore(other, tmp_path / "db.sqlite3", required_tables=TABLES)
    assert not (tmp_path / "db.sqlite3").exists()
