"""SQLite implementation of `dashboard.DashboardStore`.

Reads run on a read-only connection of their own (WAL lets them run beside ingest, and a slow case list does not
queue behind the stats route). The few writes (accounts, sessions, the login throttle) go through the main store's
write transactions, so the database keeps one writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
import msgspec

from protocol.lifecycle import Case, Rating, ratings_of
from protocol.messages import Conflict, CorrectionGrant
from server.model.case_search import CaseSearch
from server.model.login_throttle import ADDRESS, NAME, Limits, Tally, count_failure
from server.model.rollups import BASES, HANDLED, METRICS, RESIDENCE
from server.storage.case_where import sum_queries, upper_bound
from server.storage.dashboard import (
    CASE_FIGURES,
    CASE_SORTS,
    GROUPS,
    AccountRecord,
    AgentStatus,
    CaseEventRow,
    CaseFilter,
    CaseListRow,
    CasePageRows,
    ConflictRow,
    SessionRecord,
    Sums,
)
from server.storage.sqlite.store import AGENT_COLUMNS, READ_PRAGMAS, SqliteStore, agent_record

_conflict = msgspec.json.Decoder(Conflict)
_case = msgspec.json.Decoder(Case)

# Every metric, plus `online_accepted` and `online_completed`: the accepted and completed counters of the online
# channel, so that the online share of any grouping (over either base) needs no extra grouping by channel.
SUM_METRICS = (*METRICS, "online_accepted", "online_completed")
_SUMS = ", ".join([*(f"SUM({m})" for m in METRICS), "SUM(CASE WHEN channel = 'online' THEN accepted ELSE 0 END)",
                   "SUM(CASE WHEN channel = 'online' THEN completed ELSE 0 END)"])
_OPEN = "state IN ('in_progress', 'suspended')"  # the exact predicate of the partial index cases_open_due
# Where the applicant lives, as `server.model.rollups.residence_of` says: the village, else the unit's county code.
_HOME = "COALESCE(village_code, substr(org_code, 1, 6) || '000000')"
# Who accepted the case: the signed-in staff member of its `accepted` event, as "name（staff id）" from the township's
# staff list (the id alone if the list lacks it); for a case accepted before staff sign-in, the free-text 经办人.
# `_CLOSED_BY`: likewise of the latest event that closed it (办结, 不予受理, 撤回), while it is closed.


def _staff_of(kinds: str) -> str:
    """The staff id of the case's latest event of `kinds` that names one (by the index of events' case_id)."""
    return (f"(SELECT e.staff_id FROM events e WHERE e.case_id = cases.case_id AND e.kind IN ({kinds}) "
            "AND e.staff_id IS NOT NULL ORDER BY e.order_key DESC LIMIT 1)")


def _staff_name(staff_id: str) -> str:
    return (f"coalesce((SELECT s.name || '（' || s.staff_id || '）' FROM staff s WHERE s.township_code = "
            f"cases.township_code AND s.staff_id = {staff_id}), {staff_id})")


_CLOSING = "'completed', 'rejected', 'withdrawn'"
_STAFF = "coalesce(" + _staff_name(_staff_of("'accepted'")) + ", json_extract(body, '$.staff'))"
_CLOSED_BY = f"CASE WHEN state IN ({_CLOSING}) THEN {_staff_name(_staff_of(_CLOSING))} END"
# In CaseListRow's order.
_CASE_COLUMNS = ("case_id, case_no, org_code, item_code, category, channel, state, accepted_on, due_on, "
                 "completed_on, closed_on, rating, rated_on, followed_up_on, is_on_time, "
                 "json_extract(body, '$.applicant_name'), json_extract(body, '$.cert_type'), "
                 f"json_extract(body, '$.cert_no'), {_STAFF}, json_extract(body, '$.trips'), "
                 f"json_extract(body, '$.comment'), {_CLOSED_BY}")
# One lookup per search key, each through its own index (migration 0045; INDEXED BY, so that a planner with
# statistics never walks a county's range of cases instead): `?1` the key, `?2` the end of its range.
_SEARCH_KEYS = {  # the clear keys; a certificate number, its last 4 and a phone go by _HASH_KEYS
    "case_no": "INDEXED BY cases_case_no WHERE case_no >= ?1 AND case_no < ?2",
    "name": "INDEXED BY cases_applicant WHERE json_extract(body, '$.applicant_name') >= ?1 "
            "AND json_extract(body, '$.applicant_name') < ?2",
}
# The sealed keys (migration 0026's hash columns), one lookup per hash.
_HASH_KEYS = {
    "cert_hashes": "INDEXED BY cases_cert_hash WHERE cert_hash = ?1",
    "tail_hashes": "INDEXED BY cases_tail_hash WHERE tail_hash = ?1",
    "phone_hashes": "INDEXED BY cases_phone_hash WHERE phone_hash = ?1",
}
_SORT_SQL = {"accepted_on": "accepted_on", "due_on": "due_on", "completed_on": "completed_on",
             "org_code": "org_code", "staff": _STAFF, "case_no": "case_no",
             "rated_on": "rated_on"}
assert set(_SORT_SQL) == set(CASE_SORTS)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class SqliteDashboardStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self._db = await aiosqlite.connect(self._store.path, isolation_level=None)
        for pragma in READ_PRAGMAS:
            await self._db.execute(pragma)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def _read(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("dashboard store is not open")
        return self._db

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
        rows = await self._read.execute_fetchall(f"SELECT {select} FROM {table} WHERE {where}{group}", params)
        for row in rows:
            if row[n] is None:  # no row matched an ungrouped SUM
                continue
            key = tuple(row[:n])
            total = out.setdefault(key, {})
            for metric, value in zip(SUM_METRICS, row[n:], strict=True):
                if value:
                    total[metric] = total.get(metric, 0) + value

    async def open_overdue_counts(self, unit_len: int, prefix: str, as_of: str, basis: str = HANDLED
                                  ) -> dict[str, int]:
        # INDEXED BY: the partial index holds only the open cases, ordered by (org_code, due_on), so grouping by the
        # whole org_code streams; the units are folded here. A planner without statistics for the index would walk
        # the county's range of cases_org_accepted instead. By residence: the open cases by village (migration
        # 0035's partial index), those without one at their unit's county code, as the rollups count them.
        if basis == RESIDENCE:
            # Two index ranges rather than a scan of an expression: the open cases by village, and those without
            # one, which live at their unit's county code, by the unit (when that code is under the prefix).
            rows = list(await self._read.execute_fetchall(
                f"SELECT village_code, count(*) FROM cases INDEXED BY cases_open_residence WHERE {_OPEN} "
                "AND village_code >= ? AND village_code < ? AND due_on < ? GROUP BY village_code",
                (prefix, upper_bound(prefix), as_of)))
            county = prefix if len(prefix) <= 6 else prefix[:6] if prefix[6:] == "0" * (len(prefix) - 6) else None
            if county is not None:
                rows += list(await self._read.execute_fetchall(
                    f"SELECT substr(org_code, 1, 6) || '000000', count(*) FROM cases INDEXED BY cases_open_residence "
                    f"WHERE {_OPEN} AND village_code IS NULL AND org_code >= ? AND org_code < ? AND due_on < ? "
                    "GROUP BY 1", (county, upper_bound(county), as_of)))
        else:
            rows = list(await self._read.execute_fetchall(
                f"SELECT org_code, count(*) FROM cases INDEXED BY cases_open_due WHERE {_OPEN} "
                "AND org_code >= ? AND org_code < ? AND due_on < ? GROUP BY org_code",
                (prefix, upper_bound(prefix), as_of)))
        out: dict[str, int] = {}
        for org_code, n in rows:
            out[org_code[:unit_len]] = out.get(org_code[:unit_len], 0) + n
        return out

    async def item_counts(self, where: CaseFilter, unit_len: int) -> dict[tuple[str, str], int]:
        sql, params = _case_where(where)
        code = _HOME if where.basis == RESIDENCE else "org_code"
        rows = await self._read.execute_fetchall(
            f"SELECT substr({code}, 1, {int(unit_len)}), item_code, count(*) FROM cases WHERE {sql} GROUP BY 1, 2",
            params)
        return {(unit, item): n for unit, item, n in rows}

    # ---- case lists -----------------------------------------------------------------------------------------

    async def list_cases(self, where: CaseFilter, sort: str, descending: bool, limit: int, offset: int
                         ) -> tuple[int, list[CaseListRow]]:
        sql, params = _case_where(where)
        db = self._read
        [(total,)] = await db.execute_fetchall(f"SELECT count(*) FROM cases WHERE {sql}", params)
        order = f"{_SORT_SQL[sort]} {'DESC' if descending else 'ASC'}, case_no"
        rows = await db.execute_fetchall(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE {sql} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset])
        return total, [_case_list_row(r) for r in rows]

    async def search_cases(self, prefix: str, search: CaseSearch, limit: int) -> list[CaseListRow]:
        found: dict[str, tuple[str, CaseListRow]] = {}
        lookups = [(key, where, value) for key, where in _SEARCH_KEYS.items()
                   if (value := getattr(search, key)) is not None]
        lookups += [(key, where, h) for key, where in _HASH_KEYS.items() for h in getattr(search, key)]
        for key, where, value in lookups:
            # A key's own index finds the few rows; the unit and the order are applied to those.
            rows = await self._read.execute_fetchall(
                f"SELECT {_CASE_COLUMNS} FROM cases {where} AND org_code >= ?3 AND org_code < ?4 LIMIT ?5",
                (value, value + "\U0010ffff" if key == "name" else upper_bound(value), prefix,
                 upper_bound(prefix), limit))
            for r in rows:
                row = _case_list_row(r)
                found[row.case_id] = (row.accepted_on, row)
        ranked = sorted(found.values(), key=lambda x: (x[0], x[1].case_no), reverse=True)
        return [row for _, row in ranked[:limit]]

    async def case_page(self, case_id: str) -> CasePageRows | None:
        db = self._read
        rows = list(await db.execute_fetchall("SELECT body, category FROM cases WHERE case_id = ?", (case_id,)))
        if not rows:
            return None
        body, category = rows[0]
        events = await db.execute_fetchall(
            "SELECT event_id, agent_id, seq, kind, at, offset_ms, data, received_at, replaces, staff_id, "
            "(SELECT s.name FROM staff s WHERE s.township_code = substr(events.agent_id, 1, 9) "
            "AND s.staff_id = events.staff_id) FROM events WHERE case_id = ? ORDER BY order_key, event_id",
            (case_id,))
        conflicts = await db.execute_fetchall(
            "SELECT c.body, c.township_code, k.case_no, c.detected_at, c.settled_at FROM conflicts c "
            "LEFT JOIN cases k ON k.case_id = c.case_id WHERE c.case_id = ? ORDER BY c.detected_at, c.event_id",
            (case_id,))
        return CasePageRows(
            body.encode(), category,
            [CaseEventRow(e, a, seq, k, at, off, data.encode(), received, rep, sid, sname)
             for e, a, seq, k, at, off, data, received, rep, sid, sname in events],
            [ConflictRow(_conflict.decode(b), t, n, f, st) for b, t, n, f, st in conflicts],
            await self.case_grants(case_id))

    async def add_grant(self, grant: CorrectionGrant, township_code: str) -> None:
        await self._write("INSERT INTO correction_grants (grant_id, case_id, township_code, reason, granted_by, "
                          "granted_at) VALUES (?, ?, ?, ?, ?, ?)", (grant.grant_id, grant.case_id, township_code,
                                                                  grant.reason, grant.granted_by, grant.granted_at))

    async def case_grants(self, case_id: str) -> list[CorrectionGrant]:
        rows = await self._read.execute_fetchall(
            "SELECT grant_id, case_id, reason, granted_by, granted_at FROM correction_grants WHERE case_id = ? "
            "ORDER BY granted_at, grant_id", (case_id,))
        return [CorrectionGrant(*r) for r in rows]

    # ---- agents ---------------------------------------------------------------------------------------------

    async def agent_statuses(self, township_code: str | None = None) -> list[AgentStatus]:
        # The pull lag reads the position out of the cursor (`server.model.cursor`: <stream>.<position>), and counts
        # only a cursor of this database's stream.
        rows = await self._read.execute_fetchall(
            f"SELECT {AGENT_COLUMNS}, "
            "(SELECT offset_ms FROM events e WHERE e.agent_id = a.agent_id ORDER BY seq DESC LIMIT 1), "
            "(SELECT count(*) FROM conflicts c WHERE c.agent_id = a.agent_id AND c.is_open = 1), "
            "CASE WHEN pull_cursor LIKE (SELECT value FROM server_meta WHERE key = 'stream') || '.%' THEN "
            "(SELECT count(*) FROM (SELECT 1 FROM events e WHERE substr(e.agent_id, 1, 9) = a.township_code "
            "AND e.pos > CAST(substr(a.pull_cursor, instr(a.pull_cursor, '.') + 1) AS INTEGER) "
            "AND e.kind <> 'consulted' AND e.agent_id <> a.agent_id LIMIT 100000)) END, "
            "(SELECT count(*) FROM refused_events r WHERE r.agent_id = a.agent_id), "
            "(SELECT count(*) FROM conflicts c WHERE c.agent_id = a.agent_id) "
            f"FROM agents a {'WHERE township_code = ?' if township_code else ''} ORDER BY township_code, agent_id",
            (township_code,) if township_code else ())
        return [AgentStatus(agent_record(r[:12]), r[12], r[13], r[14], r[15], r[16]) for r in rows]

    async def list_conflicts(self, prefix: str, is_open: bool | None, limit: int, offset: int
                             ) -> tuple[int, list[ConflictRow]]:
        if len(prefix) == 12:  # a village station: where the case is handled
            where, params = "k.org_code = ?", [prefix]
        elif len(prefix) == 9:
            where, params = "c.township_code = ?", [prefix]
        else:
            where, params = "c.township_code >= ? AND c.township_code < ?", [prefix, upper_bound(prefix)]
        if is_open is not None:
            where += " AND c.is_open = ?"
            params.append(str(int(is_open)))
        joined = f"FROM conflicts c LEFT JOIN cases k ON k.case_id = c.case_id WHERE {where}"
        [(total,)] = await self._read.execute_fetchall(f"SELECT count(*) {joined}", params)
        rows = await self._read.execute_fetchall(
            f"SELECT c.body, c.township_code, k.case_no, c.detected_at, c.settled_at {joined} "
            "ORDER BY c.detected_at DESC, c.event_id LIMIT ? OFFSET ?", [*params, limit, offset])
        return total, [ConflictRow(_conflict.decode(body), township, case_no, found, settled)
                       for body, township, case_no, found, settled in rows]

    async def waiting_bad_ratings(self, prefix: str) -> list[tuple[CaseListRow, list[Rating]]]:
        # The predicate of the partial index cases_bad_pending: a case's summary fields say a bad rating waits.
        rows = await self._read.execute_fetchall(
            f"SELECT {_CASE_COLUMNS}, body FROM cases INDEXED BY cases_bad_pending "
            "WHERE rating IN (1, 2) AND followed_up_on IS NULL AND org_code >= ? AND org_code < ? "
            "ORDER BY rated_on, case_no", (prefix, upper_bound(prefix)))
        out = []
        for r in rows:
            out.append((_case_list_row(r[:-1]), ratings_of(_case.decode(r[-1]))))
        return out

    async def conflict_counts(self) -> dict[tuple[str, bool], int]:
        rows = await self._read.execute_fetchall(
            "SELECT township_code, is_open, count(*) FROM conflicts GROUP BY township_code, is_open")
        return {(t, bool(o)): n for t, o, n in rows}

    # ---- accounts and sessions ------------------------------------------------------------------------------

    async def _write(self, sql: str, params: Sequence[Any]) -> int:
        return await self._store.transaction(lambda conn: conn.execute(sql, params).rowcount)

    async def add_account(self, account: AccountRecord) -> None:
        try:
            await self._write("INSERT INTO accounts (name, password_hash, created_at, is_disabled, role, "
                              "township_code) VALUES (?, ?, ?, ?, ?, ?)",
                              (account.name, account.password_hash, account.created_at, int(account.is_disabled),
                               account.role, account.township_code))
        except sqlite3.IntegrityError:
            raise ValueError(f"account {account.name!r} already exists") from None

    async def set_password(self, name: str, password_hash: str) -> bool:
        def change(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute("UPDATE accounts SET password_hash = ? WHERE name = ?", (password_hash, name))
            conn.execute("DELETE FROM sessions WHERE account = ?", (name,))  # every session of the old password
            return cursor.rowcount == 1

        return await self._store.transaction(change)

    async def account(self, name: str) -> AccountRecord | None:
        rows = list(await self._read.execute_fetchall(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE name = ?", (name,)))
        return _account(rows[0]) if rows else None

    async def list_accounts(self) -> list[AccountRecord]:
        rows = await self._read.execute_fetchall(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY name")
        return [_account(r) for r in rows]

    async def add_session(self, session: SessionRecord) -> None:
        await self._write("INSERT INTO sessions (token_sha256, account, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                          (session.token_sha256, session.account, session.created_at, session.last_seen_at))

    async def session(self, token_sha256: str) -> SessionRecord | None:
        rows = list(await self._read.execute_fetchall(
            "SELECT token_sha256, account, s.created_at, last_seen_at, role, township_code FROM sessions s "
            "JOIN accounts a ON a.name = "
            "s.account WHERE token_sha256 = ? AND NOT a.is_disabled", (token_sha256,)))
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
        def change(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute("UPDATE accounts SET is_disabled = ? WHERE name = ?", (int(is_disabled), name))
            if is_disabled:
                conn.execute("DELETE FROM sessions WHERE account = ?", (name,))
            return cursor.rowcount == 1

        return await self._store.transaction(change)

    # ---- the login throttle (server.model.login_throttle) --------------------------------------------------------

    async def login_locked_until(self, name: str, address: str) -> float:
        rows = list(await self._read.execute_fetchall(LOCKED_UNTIL, (NAME, name, ADDRESS, address)))
        return float(rows[0][0] or 0.0)

    async def count_login_failure(self, name: str, address: str, limits: Limits, now: float) -> list[str]:
        def count(conn: sqlite3.Connection) -> list[str]:  # in BEGIN IMMEDIATE: the one writer of the database
            locked = []
            for kind, value in ((NAME, name), (ADDRESS, address)):
                params, is_locked = counted(conn.execute(TAKE_TALLY, (kind, value)).fetchone(), kind, value, limits,
                                            now)
                conn.execute(SET_TALLY, params)
                if is_locked:
                    locked.append(kind)
            conn.execute(PURGE_TALLIES.format(skip_locked=""), (now,))
            excess = conn.execute("SELECT count(*) FROM login_throttle").fetchone()[0] - limits.max_tallies
            if excess > 0:
                conn.execute(TRIM_TALLIES.format(skip_locked=""), (excess,))
            return locked

        return await self._store.transaction(count)

    async def forget_login_failures(self, name: str) -> None:
        await self._write(FORGET_FAILURES, (NAME, name))

    async def lift_login_lock(self, kind: str, value: str) -> bool:
        return await self._write("DELETE FROM login_throttle WHERE kind = ? AND value = ?", (kind, value)) > 0


# The login throttle's statements, PostgreSQL's too (through `postgres.dialect.translate`). TAKE_TALLY makes the
# row when there is none and answers its state; on PostgreSQL it also takes the row's lock (an upsert that does
# update takes it, and waits for a concurrent one), so that the tally read is the tally written back.
LOCKED_UNTIL = ("SELECT max(locked_until) FROM login_throttle WHERE (kind = ? AND value = ?) "
                "OR (kind = ? AND value = ?)")
TAKE_TALLY = ("INSERT INTO login_throttle (kind, value, failures, locked_until, expires_at) VALUES (?, ?, '[]', 0, 0) "
              "ON CONFLICT (kind, value) DO UPDATE SET failures = login_throttle.failures "
              "RETURNING failures, locked_until")
SET_TALLY = "UPDATE login_throttle SET failures = ?, locked_until = ?, expires_at = ? WHERE kind = ? AND value = ?"
FORGET_FAILURES = "UPDATE login_throttle SET failures = '[]', expires_at = locked_until WHERE kind = ? AND value = ?"
# Expired tallies; then, past the cap, those that expire first. `skip_locked`: PostgreSQL's FOR UPDATE SKIP LOCKED,
# so that a purge never waits for a row a count holds (and so is never part of a deadlock).
PURGE_TALLIES = ("DELETE FROM login_throttle WHERE (kind, value) IN "
                 "(SELECT kind, value FROM login_throttle WHERE expires_at <= ?{skip_locked})")
TRIM_TALLIES = ("DELETE FROM login_throttle WHERE (kind, value) IN "
                "(SELECT kind, value FROM login_throttle ORDER BY expires_at LIMIT ?{skip_locked})")
_failures = msgspec.json.Decoder(tuple[float, ...])


def counted(row: Sequence[Any], kind: str, value: str, limits: Limits, now: float) -> tuple[tuple[Any, ...], bool]:
    """One more failure in the tally `row` (TAKE_TALLY's answer) of `kind` `value`: SET_TALLY's parameters, and
    whether it locked now."""
    tally, is_locked = count_failure(Tally(_failures.decode(row[0]), float(row[1])), kind, limits, now)
    return (msgspec.json.encode(tally.failures).decode(), tally.locked_until, tally.expires_at(limits.window_s),
            kind, value), is_locked


def _case_list_row(row: sqlite3.Row | tuple[Any, ...]) -> CaseListRow:
    values = list(row)  # _CASE_COLUMNS are in CaseListRow's order; is_on_time is stored as 0 or 1
    values[14] = None if values[14] is None else bool(values[14])
    return CaseListRow(*values)


_ACCOUNT_COLUMNS = "name, password_hash, created_at, is_disabled, role, township_code"


def _account(row: sqlite3.Row) -> AccountRecord:
    name, password_hash, created_at, is_disabled, role, township_code = row
    return AccountRecord(name, password_hash, created_at, bool(is_disabled), role, township_code)


def _case_where(f: CaseFilter) -> tuple[str, list[Any]]:
    """The SQL predicate of the cases behind one figure: the same rules as `server.model.rollups.contributions`."""
    assert f.figure in CASE_FIGURES, f.figure
    code = _HOME if f.basis == RESIDENCE else "org_code"
    terms = [f"{code} >= ?", f"{code} < ?"]
    params: list[Any] = [f.prefix, upper_bound(f.prefix)]

    def period(column: str) -> None:
        if f.date_from is not None:
            terms.append(f"{column} >= ?")
            params.append(f.date_from)
        if f.date_to is not None:
            terms.append(f"{column} <= ?")
            params.append(f.date_to)

    searched = [(column, hashes) for column, hashes in (("cert_hash", f.cert_hashes), ("phone_hash", f.phone_hashes),
                                                         ("tail_hash", f.tail_hashes)) if hashes]
    if searched:
        terms.append("(" + " OR ".join(f"{c} IN ({_marks(len(h))})" for c, h in searched) + ")")
        params.extend(x for _, h in searched for x in h)
    figure = f.figure
    if figure in ("accepted", "online", "in_progress"):
        terms.append(_OPEN if figure == "in_progress" else "state <> 'rejected'")
        if figure == "online":
            terms.append("channel = 'online'")
        period("accepted_on")
    elif figure.startswith("completed") or figure == "trips_le1":
        terms.append("state = 'completed'")
        terms.append({"completed": "1", "completed_on_time": "is_on_time = 1", "completed_late": "is_on_time = 0",
                      "completed_no_due_date": "is_on_time IS NULL",
                      "trips_le1": "json_extract(body, '$.trips') <= 1"}[figure])
        period("completed_on")
    elif figure in ("rejected", "withdrawn"):
        terms.append(f"state = '{figure}'")
        period("closed_on")
    elif figure in ("evaluations", "good_ratings", "bad_ratings", "bad_pending", "bad_followed_up"):
        terms.append({"evaluations": "rating IS NOT NULL",
                      "good_ratings": f"rating IN ({', '.join(str(int(r)) for r in f.good_ratings)})",
                      "bad_ratings": "rating IN (1, 2)",
                      "bad_pending": "rating IN (1, 2) AND followed_up_on IS NULL",
                      "bad_followed_up": "rating IN (1, 2) AND followed_up_on IS NOT NULL"}[figure])
        period("rated_on")
    else:  # overdue_open, due_soon: open cases against as_of, whatever the period
        terms += [_OPEN, "due_on < ?" if figure == "overdue_open" else "due_on >= ? AND due_on <= ?"]
        params += [f.as_of] if figure == "overdue_open" else [f.as_of, f.due_until]
    if f.category is not None:
        terms.append("category = ?")
        params.append(f.category)
    if f.channel is not None:
        terms.append("channel = ?")
        params.append(f.channel)
    return " AND ".join(terms), params

