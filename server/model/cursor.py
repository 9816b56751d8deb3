"""The pull cursor the county hands out: `<stream>.<position>`, opaque to agents.

`stream` names the database's event positions (a copy restored from a backup gets another, `Store.stream`), so a
cursor from before a restore starts the pull again from the beginning instead of skipping events whose positions
came back. Positions grow with every event stored.
"""

from __future__ import annotations


def cursor_of(stream: str, position: int) -> str:
    return f"{stream}.{position}"


def position_of(cursor: str, stream: str) -> int | None:
    """The position after which to pull: 0 for "" (from the beginning); None for a cursor of another stream (start
    again from 0, and say so); raises ValueError for one that is not a cursor at all."""
    if not cursor:
        return 0
    name, dot, position = cursor.rpartition(".")
    if not dot or not name or not position.isdigit() or len(position) > 18:
        raise ValueError(f"{cursor!r} is not a pull cursor")
    return int(position) if name == stream else None
