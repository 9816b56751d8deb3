"""The rows of the tables both SQL backends share, as SQLite's ingest makes them: the columns, and how a case, a
conflict or a day becomes one. PostgreSQL copies the same tuples (binary COPY), so a case is the same row in either
database and the township digest the same number; defined once, in `sqlite.ingest` where the fast path binds them."""

from server.storage.sqlite.ingest import (
    CASE_COLUMNS,
    CONFLICT_COLUMNS,
    CONSULTATION_COLUMNS,
    EVENT_COLUMNS,
    REFUSAL_COLUMNS,
    case_row,
    china_day,
    conflict_row,
)
from server.storage.sqlite.store import AGENT_COLUMNS

__all__ = ["AGENT_COLUMNS", "CASE_COLUMNS", "CONFLICT_COLUMNS", "CONSULTATION_COLUMNS", "EVENT_COLUMNS",
           "REFUSAL_COLUMNS", "case_row", "china_day", "conflict_row"]
