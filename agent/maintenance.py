"""Backup and restore of the agent's database (`township-agent backup` / `restore`), on top of `ops.sqlite_backup`.

A restored database may not push under the identity it had (see `agent.identity`): `restore` retires both the
identity recorded in the backup and the configured one, and the operator registers the PC again.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from agent.config import AgentConfig
from agent.store import retire_identity
from ops import sqlite_backup
from ops.sqlite_backup import BackupInfo

REQUIRED_TABLES = ("schema_migrations", "meta", "cases", "outbox")
BACKUP_PATTERN = "township-agent-*.sqlite3"


def backup_to(config: AgentConfig, dest: Path) -> BackupInfo:
    return sqlite_backup.backup(config.database, dest, required_tables=REQUIRED_TABLES)


def backup_into(config: AgentConfig, directory: Path, keep: int) -> tuple[BackupInfo, list[Path]]:
    """A dated backup in `directory`, keeping the newest `keep` (the backup timer's way)."""
    info = backup_to(config, directory / f"township-agent-{time.strftime('%Y%m%dT%H%M%S')}.sqlite3")
    return info, sqlite_backup.prune(directory, BACKUP_PATTERN, keep)


def restore_from(config: AgentConfig, backup_file: Path) -> Path | None:
    """Replace the (stopped) agent's database with `backup_file`; returns where the old one was kept."""

    def retire(db: sqlite3.Connection) -> None:
        reason = f"restored from backup {backup_file.name} on {time.strftime('%Y-%m-%d')}"
        row = db.execute("SELECT value FROM meta WHERE key = 'identity_agent_id'").fetchone()
        for agent_id in {config.agent_id, *([row[0]] if row and row[0] else [])}:
            retire_identity(db, agent_id, reason)

    return sqlite_backup.restore(backup_file, config.database, required_tables=REQUIRED_TABLES, prepare=retire)
