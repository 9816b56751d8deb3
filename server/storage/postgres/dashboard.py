"""PostgreSQL implementation of `dashboard.DashboardStore`, on the pool of the `PostgresStore` beside it.

The same queries as `server.storage.sqlite.dashboard` in PostgreSQL's dialect: sums cast back to bigint (SUM of a
bigint is numeric), the case body read as jsonb, and `?` placeholders numbered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from protocol.lifecycle import Case, Rating, ratings_of
from protocol.messages import Conflict
from server.model.rollups import BASES, HANDLED, METRICS, RESIDENCE
from server.storage.case_where import HOME, OPEN, case_where, sum_queries, upper_bound
from server.storage.dashboard import (
    CASE_SORTS,
    GROUPS,
    AccountRecord,
    AgentStatus,
    CaseFilter,
    CaseListRow,
    ConflictRow,
    SessionRecord,
    Sums,
)
from server.storage.postgres.ingest import Connection
from server.storage.postgres.store import PostgresStore, agent_record
from server.storage.rows import AGENT_COLUMNS

_conflict = msgspec.json.Decoder(Conflict)
_case = msgspec.json.Decoder(Case)
SUM_METRICS = (*METRICS, "online_accepted", "online_completed")  # as on SQLite
_SUMS = ", ".join([*(f"SUM({m})::bigint" for m in METRICS),
                   "SUM(CASE WHEN channel = 'online' THEN accepted ELSE 0 END)::bigint",
                   "SUM(CASE WHEN channel = 'online' THEN completed ELSE 0 END)::bigint"])


def _json_field(key: str, integer: bool = False) -> str:
    return f"((body::jsonb ->> '{key}')::int)" if integer else f"(body::jsonb ->> '{key}')"


_CASE_COLUMNS = ("case_id, case_no, org_code, item_code, category, channel, state, accepted_on, due_on, "
                 "completed_on, closed_on, rating, rated_on, followed_up_on, is_on_time, "
                 + ", ".join(_json_field(k, k == "trips") for k in ("applicant_name", "cert_type", "cert_no", "staff",
                                                                    "trips")))
_SORT_SQL = {"accepted_on": "accepted_on", "due_on": "due_on", "completed_on": "completed_on",
             "org_code": "org_code", "staff": _json_field("staff"), "case_no": "case_no", "rated_on": "rated_on"}
assert set(_SORT_SQL) == set(CASE_SORTS)

_MARK = re.compile(r"\?")


def numbered(sql: str) -> str:
    """`?` placeholders as $1, $2, ... (the SQL here has no `?` in a literal)."""
    n = 0

    def mark(_: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    return _MARK.sub(mark, sql)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _status_count(status: str) -> int:
    """The row count of a command status such as 'UPDATE 1'."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresDashboardStore:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def open(self) -> None:
        self._store.pool  # noqa: B018 - raises when the store is not open

    async def close(self) -> None:
        pass  # the pool is the store's

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._store.pool.fetch(numbered(sql), *params))

    # ---- figures --------------------------------------------------------------------------------------------

    async def figure_sums(self, unit_len: int, prefix: str, date_from: str, date_to: str, by: Sequence[str],
                          units: Sequence[str] | None = None, basis: str = HANDLED) -> Sums:
        assert all(g in GROUPS for g in by) and basis in BASES, (by, basis)
        out: Sums = {}
        for table, cols, where, params in sum_queries(unit_len, prefix, date_from, date_to, by, units, basis):
            await self._sum_into(out, table, cols, where, params, len(by))
        return out

    async def _sum_into(self, out: Sums, table: str, cols: list[str], where: str, params: list[Any], n: int) -> None:
        select = ", ".join([*cols, _SUMS])
        group = f" GROUP BY {', '.join(str(i + 1) for i in range(n))}" if n else ""
        for row in await self._fetch(f"SELECT {select} FROM {table} WHERE {where}{group}", params):
            if row[n] is None:  # no row matched an ungrouped SUM
                continue
            total = out.setdefault(tuple(row[:n]), {})
            for metric, value in zip(SUM_METRICS, row[n:], strict=True):
                if value:
                    total[metric] = total.get(metric, 0) + value

    async def open_overdue_counts(self, unit_len: int, prefix: str, as_of: str, basis: str = HANDLED
                                  ) -> dict[str, int]:
        code = HOME if basis == RESIDENCE else "org_code"  # by residence: the village, else the unit's county code
        rows = await self._fetch(
            f"SELECT {code}, count(*) FROM cases WHERE {OPEN} AND {code} >= ? AND {code} < ? AND due_on < ? "
            "GROUP BY 1", (prefix, upper_bound(prefix), as_of))
        out: dict[str, int] = {}
        for org_code, n in rows:
            out[org_code[:unit_len]] = out.get(org_code[:unit_len], 0) + n
        return out

    async def item_counts(self, where: CaseFilter, unit_len: int) -> dict[tuple[str, str], int]:
        sql, params = case_where(where, _json_field)
        code = HOME if where.basis == RESIDENCE else "org_code"
        rows = await self._fetch(
            f"SELECT substr({code}, 1, {int(unit_len)}), item_code, count(*) FROM cases WHERE {sql} GROUP BY 1, 2",
            params)
        return {(unit, item): n for unit, item, n in rows}

    # ---- case lists -----------------------------------------------------------------------------------------

    async def list_cases(self, where: CaseFilter, sort: str, descending: bool, limit: int, offset: int
                         ) -> tuple[int, list[CaseListRow]]:
        sql, params = case_where(where, _json_field)
        [(total,)] = await self._fetch(f"SELECT count(*) FROM cases WHERE {sql}", params)
        order = f"{_SORT_SQL[sort]} {'DESC' if descending else 'ASC'}, case_no"
        rows = await self._fetch(f"SELECT {_CASE_COLUMNS} FROM cases WHERE {sql} ORDER BY {order} LIMIT ? OFFSET ?",
                                 [*params, limit, offset])
        return total, [_case_list_row(r) for r in rows]

    # ---- agents and conflicts -------------------------------------------------------------------------------

    async def agent_statuses(self) -> list[AgentStatus]:
        # As on SQLite: the pull lag reads the position out of the cursor (<stream>.<position>), for a cursor of
        # this database's stream only.
        rows = await self._fetch(
            f"SELECT {AGENT_COLUMNS}, "
            "(SELECT offset_ms FROM events e WHERE e.agent_id = a.agent_id ORDER BY seq DESC LIMIT 1), "
            "(SELECT count(*) FROM conflicts c WHERE c.agent_id = a.agent_id AND c.is_open = 1), "
            "CASE WHEN pull_cursor LIKE (SELECT value FROM server_meta WHERE key = 'stream') || '.%' THEN "
            "(SELECT count(*) FROM (SELECT 1 FROM events e WHERE substr(e.agent_id, 1, 9) = a.township_code "
            "AND e.pos > CAST(substr(a.pull_cursor, strpos(a.pull_cursor, '.') + 1) AS BIGINT) "
            "AND e.kind <> 'consulted' AND e.agent_id <> a.agent_id LIMIT 100000) AS lag) END "
            "FROM agents a ORDER BY township_code, agent_id")
        return [AgentStatus(agent_record(r[:12]), r[12], r[13], r[14]) for r in rows]

    async def list_conflicts(self, prefix: str, is_open: bool | None, limit: int, offset: int
                             ) -> tuple[int, list[ConflictRow]]:
        params: list[Any]
        if len(prefix) == 12:
            where, params = "k.org_code = ?", [prefix]
        elif len(prefix) == 9:
            where, params = "c.township_code = ?", [prefix]
        else:
            where, params = "c.township_code >= ? AND c.township_code < ?", [prefix, upper_bound(prefix)]
        if is_open is not None:
            where += " AND c.is_open = ?"
            params.append(int(is_open))
        joined = f"FROM conflicts c LEFT JOIN cases k ON k.case_id = c.case_id WHERE {where}"
        [(total,)] = await self._fetch(f"SELECT count(*) {joined}", params)
        rows = await self._fetch(
            f"SELECT c.body, c.township_code, k.case_no, c.detected_at, c.settled_at {joined} "
            "ORDER BY c.detected_at DESC, c.event_id LIMIT ? OFFSET ?", [*params, limit, offset])
        return total, [ConflictRow(_conflict.decode(body), township, case_no, found, settled)
                       for body, township, case_no, found, settled in rows]

    async def waiting_bad_ratings(self, prefix: str) -> list[tuple[CaseListRow, list[Rating]]]:
        # The predicate of the partial index cases_bad_pending, as on SQLite.
        rows = await self._fetch(
            f"SELECT {_CASE_COLUMNS}, body FROM cases WHERE rating IN (1, 2) AND followed_up_on IS NULL "
            "AND org_code >= ? AND org_code < ? ORDER BY rated_on, case_no", [prefix, upper_bound(prefix)])
        return [(_case_list_row(r[:-1]), ratings_of(_case.decode(r[-1]))) for r in rows]

    async def conflict_counts(self) -> dict[tuple[str, bool], int]:
        rows = await self._fetch(
            "SELECT township_code, is_open, count(*) FROM conflicts GROUP BY township_code, is_open")
        return {(t, bool(o)): n for t, o, n in rows}

    # ---- accounts and sessions ------------------------------------------------------------------------------

    async def _write(self, sql: str, params: Sequence[Any]) -> int:
        return _status_count(await self._store.pool.execute(numbered(sql), *params))

    async def add_account(self, account: AccountRecord) -> None:
        try:
            await self._write("INSERT INTO accounts (name, password_hash, created_at, is_disabled, role) "
                              "VALUES (?, ?, ?, ?, ?)", (account.name, account.password_hash, account.created_at,
                                                         int(account.is_disabled), account.role))
        except asyncpg.UniqueViolationError:
            raise ValueError(f"account {account.name!r} already exists") from None

    async def set_password(self, name: str, password_hash: str) -> bool:
        async def change(conn: Connection) -> bool:
            status = await conn.execute("UPDATE accounts SET password_hash = $1 WHERE name = $2", password_hash, name)
            await conn.execute("DELETE FROM sessions WHERE account = $1", name)  # every session of the old password
            return _status_count(status) == 1

        return await self._store.transaction(change)

    async def account(self, name: str) -> AccountRecord | None:
        rows = await self._fetch(
            "SELECT name, password_hash, created_at, is_disabled, role FROM accounts WHERE name = ?", (name,))
        return _account(rows[0]) if rows else None

    async def list_accounts(self) -> list[AccountRecord]:
        rows = await self._fetch(
            "SELECT name, password_hash, created_at, is_disabled, role FROM accounts ORDER BY name")
        return [_account(r) for r in rows]

    async def add_session(self, session: SessionRecord) -> None:
        await self._write("INSERT INTO sessions (token_sha256, account, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                          (session.token_sha256, session.account, session.created_at, session.last_seen_at))

    async def session(self, token_sha256: str) -> SessionRecord | None:
        rows = await self._fetch(
            "SELECT token_sha256, account, s.created_at, last_seen_at FROM sessions s JOIN accounts a ON a.name = "
            "s.account WHERE token_sha256 = ? AND a.is_disabled = 0", (token_sha256,))
        return SessionRecord(*rows[0]) if rows else None

    async def touch_session(self, token_sha256: str, seen_at: str) -> None:
        await self._write("UPDATE sessions SET last_seen_at = ? WHERE token_sha256 = ?", (seen_at, token_sha256))

    async def end_sessions(self, *, token_sha256: str | None = None, idle_before: str | None = None,
                           created_before: str | None = None) -> int:
        if token_sha256 is not None:
            return await self._write("DELETE FROM sessions WHERE token_sha256 = ?", (token_sha256,))
        return await self._write("DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?",
                                 (idle_before or "", created_before or ""))

    async def set_disabled(self, name: str, is_disabled: bool) -> bool:
        async def change(conn: Connection) -> bool:
            status = await conn.execute("UPDATE accounts SET is_disabled = $1 WHERE name = $2", int(is_disabled), name)
            if is_disabled:
                await conn.execute("DELETE FROM sessions WHERE account = $1", name)
            return _status_count(status) == 1

        return await self._store.transaction(change)


def _case_list_row(row: Any) -> CaseListRow:
    values = list(row)
    values[14] = None if values[14] is None else bool(values[14])
    return CaseListRow(*values)


def _account(row: Any) -> AccountRecord:
    name, password_hash, created_at, is_disabled, role = row
    return AccountRecord(name, password_hash, created_at, bool(is_disabled), role)
