"""What a restore of the agent's database must change (`township-agent restore`, see `ops.commands`).

A restored database may not push under the identity it had (see `agent.sync.identity`): the restore retires both the
identity recorded in the backup and the configured one, and the operator registers the PC again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from agent.config import AgentConfig
from agent.store import retire_identity

REQUIRED_TABLES = ("schema_migrations", "meta", "cases", "outbox")


def retire_on_restore(config: AgentConfig, backup_file: Path) -> Callable[[sqlite3.Connection], None]:
    """The change to make in the restored copy, inside the restore's transaction."""

    def retire(db: sqlite3.Connection) -> None:
        reason = f"restored from backup {backup_file.name} on {time.strftime('%Y-%m-%d')}"
        row = db.execute("SELECT value FROM meta WHERE key = 'identity_agent_id'").fetchone()
        for agent_id in {config.agent_id, *([row[0]] if row and row[0] else [])}:
            retire_identity(db, agent_id, reason)

    return retire
