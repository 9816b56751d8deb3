"""The `backup`, `restore` and `doctor` commands, the same for both programs: each program passes how to load its
config, where its database is, which tables a backup must have, and what to say after a restore; a program whose
data may live in a database server (the county server's PostgreSQL) passes how that one is dumped and restored
(`Dumps`), and its dated dumps are named and kept as the SQLite backups are."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ops import doctor as checks_out
from ops import sqlite_backup
from ops.doctor import Check
from ops.runlock import DatabaseInUse
from ops.sqlite_backup import BackupError, BackupInfo

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
SQLITE_SUFFIX = ".sqlite3"


@dataclass(frozen=True)
class Dumps:
    """How a program's database is backed up and restored: its SQLite file by SQLite's backup API (`_sqlite_file`),
    or a database server's by that server's own tools. `suffix`: how the names of dated backups end
    (`<program>-<time><suffix>`); `backup(dest, previous)` writes one (`previous`: the last dated one, whose files it
    links rather than copies again); `restore(source)` puts one back and returns what to print. Both raise
    `BackupError`; `restore` raises `DatabaseInUse` while anything has the database open."""

    suffix: str
    backup: Callable[[Path, Path | None], BackupInfo]
    restore: Callable[[Path], list[str]]


def _no_dumps(config: Any) -> Dumps | None:
    return None


def _sqlite_file(config: Any, database: Path, tables: tuple[str, ...],
                 prepare: Callable[[Any, Path], Callable[[Any], None]] | None) -> Dumps:
    """The backups of a SQLite database file, by SQLite's backup API (`ops.sqlite_backup`)."""

    def restore(source: Path) -> list[str]:
        kept = sqlite_backup.restore(source, database, required_tables=tables,
                                     prepare=prepare(config, source) if prepare else None)
        return [f"restored {database} from {source}"] + ([f"the replaced database is kept as {kept}"] if kept else [])

    return Dumps(SQLITE_SUFFIX, lambda dest, previous: sqlite_backup.backup(
        database, dest, required_tables=tables, previous=previous), restore)


def backup_command(program: str, config_option: Decorator, load: Callable[[str], Any],
                   database: Callable[[Any], Path], tables: tuple[str, ...],
                   dumps: Callable[[Any], Dumps | None] = _no_dumps) -> click.Command:
    @click.command("backup")
    @config_option
    @click.option("--to", "dest", type=click.Path(dir_okay=False), help="Write the backup to this file.")
    @click.option("--to-dir", "directory", type=click.Path(file_okay=False),
                  help="Write a dated backup into this directory and prune old ones (the backup timer's way).")
    @click.option("--keep", default=14, show_default=True, help="With --to-dir: how many backups to keep.")
    def backup(config_path: str, dest: str | None, directory: str | None, keep: int) -> None:
        """Copy the database while the program runs (SQLite online backup): a consistent snapshot."""
        config = load(config_path)
        storage = dumps(config) or _sqlite_file(config, database(config), tables, None)
        if bool(dest) == bool(directory):
            raise click.UsageError("give exactly one of --to FILE or --to-dir DIR")
        pruned: list[Path] = []
        try:
            if dest:
                info = storage.backup(Path(dest), None)
            else:
                folder = Path(directory or ".")
                dated = f"{program}-*{storage.suffix}"
                earlier = sorted(folder.glob(dated))
                info = storage.backup(folder / f"{program}-{time.strftime('%Y%m%dT%H%M%S')}{storage.suffix}",
                                      earlier[-1] if earlier else None)
                pruned = sqlite_backup.prune(folder, dated, keep)
        except BackupError as e:
            click.echo(f"backup failed: {e}", err=True)
            sys.exit(1)
        counts = ", ".join(f"{n} {t}" for t, n in info.tables.items() if t != "schema_migrations")
        click.echo(f"backup written: {info.path} ({info.size_bytes} bytes, {counts}, {info.took_ms} ms)")
        if info.files:
            click.echo(f"files: {info.files} in {sqlite_backup.files_of(info.path)} ({info.files_copied} copied)")
        for path in pruned:
            click.echo(f"old backup removed: {path}")

    return backup


def restore_command(config_option: Decorator, load: Callable[[str], Any], database: Callable[[Any], Path],
                    tables: tuple[str, ...], next_steps: Callable[[Any], str],
                    prepare: Callable[[Any, Path], Callable[[Any], None]] | None = None,
                    dumps: Callable[[Any], Dumps | None] = _no_dumps) -> click.Command:
    @click.command("restore")
    @config_option
    @click.option("--from", "source", required=True, type=click.Path(exists=True, dir_okay=False),
                  help="The backup file to restore.")
    def restore(config_path: str, source: str) -> None:
        """Replace the database with a backup; refused while anything has the database open."""
        config = load(config_path)
        storage = dumps(config) or _sqlite_file(config, database(config), tables, prepare)
        try:
            done = storage.restore(Path(source))
        except (DatabaseInUse, BackupError) as e:
            click.echo(f"restore refused: {e}", err=True)
            sys.exit(1)
        for line in done:
            click.echo(line)
        click.echo(next_steps(config))

    return restore


def doctor_command(config_option: Decorator, load: Callable[[str], Any], what: str,
                   run_checks: Callable[[Any], list[Check]]) -> click.Command:
    @click.command("doctor", help=f"Check {what}; say what to fix. Exits 1 when a check fails.")
    @config_option
    @click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
    def doctor(config_path: str, as_json: bool) -> None:
        checks = run_checks(load(config_path))
        if as_json:
            click.echo(json.dumps(checks_out.as_json(checks), ensure_ascii=False, indent=2))
        else:
            click.echo(checks_out.render(checks))
        sys.exit(1 if any(c.is_failed for c in checks) else 0)

    return doctor
