"""SQLite's read SQL, run on PostgreSQL: the dashboard's and the attachments' reads are written once, in
`server.storage.sqlite`, and this module says them in PostgreSQL's dialect, so that a query added there is a query
here too. What differs is small and mechanical: JSON paths (`json_extract(body, '$.k')` is `body::jsonb ->> 'k'`),
SQLite's planner hints (`INDEXED BY`), `instr`, a negative `substr`, an integer used as a truth value, numbered
placeholders, and parameters bound as the column's type (SQLite takes '1' for an integer; PostgreSQL's binary
protocol does not). Sums come back as integers (PostgreSQL's SUM of a bigint is numeric).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

_INT_JSON = ("trips", "rev")


def translate(sql: str) -> str:
    """SQLite SQL (as `server.storage.sqlite` writes it) in PostgreSQL's dialect."""
    return translate_params(sql)[0]


@functools.lru_cache(maxsize=1024)
def translate_params(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """`translate`, and for SQL with numbered placeholders (`?3`) the parameters PostgreSQL takes, by their index
    in SQLite's list: PostgreSQL numbers them without gaps and must know the type of every one (SQLite lets a
    query skip one)."""
    out = re.sub(r"\s*INDEXED BY \w+", "", sql)
    out = re.sub(r"substr\(json_extract\(body, '\$\.(\w+)'\), -(\d+)\)", r"right((body::jsonb ->> '\1'), \2)", out)
    out = re.sub(r"json_extract\(body, '\$\.(\w+)'\)",
                 lambda m: (f"((body::jsonb ->> '{m.group(1)}')::int)" if m.group(1) in _INT_JSON
                            else f"(body::jsonb ->> '{m.group(1)}')"), out)
    out = out.replace("instr(", "strpos(")
    out = re.sub(r"\bNOT (\w+\.)?is_disabled\b", r"\1is_disabled = 0", out)
    out = re.sub(r"\bAND 1\b(?!\s*[=<>,)])", "AND true", out)
    out = re.sub(r"\bWHERE 1\b(?!\s*[=<>,)])", "WHERE true", out)
    out = _alias_subqueries(out)
    if re.search(r"\?\d", out):
        used = sorted({int(m) for m in re.findall(r"\?(\d+)", out)})
        number = {old: new for new, old in enumerate(used, 1)}
        return re.sub(r"\?(\d+)", lambda m: f"${number[int(m.group(1))]}", out), tuple(u - 1 for u in used)
    n = 0

    def mark(_: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    return re.sub(r"\?", mark, out), None


def _alias_subqueries(sql: str) -> str:
    """Give every subquery in FROM an alias (PostgreSQL before 16 requires one; SQLite does not)."""
    out, i, n = [], 0, 0
    while (at := sql.find("FROM (", i)) >= 0:
        depth, j = 0, at + 5
        while j < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[j], 0)
            if depth == 0:
                break
            j += 1
        rest = sql[j + 1:]
        out.append(sql[i:j + 1])
        if not re.match(r"\s*(AS\s+)?(?!(WHERE|GROUP|ORDER|LIMIT|UNION|JOIN|LEFT|ON)\b)[A-Za-z_]\w*", rest,
                        re.IGNORECASE):
            n += 1
            out.append(f" AS _sub{n}")
        i = j + 1
    out.append(sql[i:])
    return "".join(out)


def plain(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) and value == value.to_integral_value() else value


def _bind(value: Any, type_name: str) -> Any:
    if value is None:
        return None
    if type_name in ("int2", "int4", "int8") and isinstance(value, str | bool):
        return int(value)
    if type_name == "text" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if type_name == "text" and isinstance(value, bytes):
        return value.decode()
    return value


_TYPES: dict[str, list[str]] = {}


class PoolReader:
    """`execute_fetchall(sql, params)` as aiosqlite answers it (tuples), on an asyncpg pool or connection."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        text, order = translate_params(sql)
        if order is not None:
            params = [params[i] for i in order]
        async with self._pool.acquire() as conn:
            types = _TYPES.get(text)
            if types is None:  # once per statement: its parameters' types (then asyncpg's statement cache)
                types = _TYPES[text] = [t.name for t in (await conn.prepare(text)).get_parameters()]
            values = [_bind(v, t) for v, t in zip(params, types, strict=False)]
            return [tuple(plain(v) for v in row) for row in await conn.fetch(text, *values)]
