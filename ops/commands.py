"""The `backup`, `restore` and `doctor` commands, the same for both programs: each program passes how to load its
config, where its database is, which tables a backup must have, and what to say after a restore."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ops import doctor as checks_out
from ops import sqlite_backup
from ops.doctor import Check
from ops.runlock import DatabaseInUse
from ops.sqlite_backup import BackupError

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def backup_command(program: str, config_option: Decorator, load: Callable[[str], Any],
                   database: Callable[[Any], Path], tables: tuple[str, ...]) -> click.Command:
    @click.command("backup")
    @config_option
    @click.option("--to", "dest", type=click.Path(dir_okay=False), help="Write the backup to this file.")
    @click.option("--to-dir", "directory", type=click.Path(file_okay=False),
                  help="Write a dated backup into this directory and prune old ones (the backup timer's way).")
    @click.option("--keep", default=14, show_default=True, help="With --to-dir: how many backups to keep.")
    def backup(config_path: str, dest: str | None, directory: str | None, keep: int) -> None:
        """Copy the database while the program runs (SQLite online backup): a consistent snapshot."""
        source = database(load(config_path))
        if bool(dest) == bool(directory):
            raise click.UsageError("give exactly one of --to FILE or --to-dir DIR")
        pruned: list[Path] = []
        try:
            if dest:
                info = sqlite_backup.backup(source, Path(dest), required_tables=tables)
            else:
                folder = Path(directory or ".")
                name = f"{program}-{time.strftime('%Y%m%dT%H%M%S')}.sqlite3"
                earlier = sorted(folder.glob(f"{program}-*.sqlite3"))
                info = sqlite_backup.backup(source, folder / name, required_tables=tables,
                                            previous=earlier[-1] if earlier else None)
                pruned = sqlite_backup.prune(folder, f"{program}-*.sqlite3", keep)
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
                    prepare: Callable[[Any, Path], Callable[[Any], None]] | None = None) -> click.Command:
    @click.command("restore")
    @config_option
    @click.option("--from", "source", required=True, type=click.Path(exists=True, dir_okay=False),
                  help="The backup file to restore.")
    def restore(config_path: str, source: str) -> None:
        """Replace the database with a backup; refused while anything has the database open."""
        config = load(config_path)
        target = database(config)
        try:
            kept = sqlite_backup.restore(Path(source), target, required_tables=tables,
                                         prepare=prepare(config, Path(source)) if prepare else None)
        except (DatabaseInUse, BackupError) as e:
            click.echo(f"restore refused: {e}", err=True)
            sys.exit(1)
        click.echo(f"restored {target} from {source}")
        if kept:
            click.echo(f"the replaced database is kept as {kept}")
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
