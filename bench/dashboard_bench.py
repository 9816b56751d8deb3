"""Dashboard benchmark (a script, not a test): a year's overview and township table over HTTP, against the same
figures computed by a plain SQL GROUP BY over the cases table, in the same run, interleaved.

    .venv/bin/python bench/generate_prefecture.py --out /tmp/prefecture        # once, ~7 min, ~4 GB
    .venv/bin/python bench/dashboard_bench.py --data /tmp/prefecture [--rounds 40] [--year 2025]
    # PostgreSQL: the same data copied in once (`county-server storage copy --to postgres`, binary COPY), then
    .venv/bin/python bench/dashboard_bench.py --data /tmp/prefecture --postgres postgresql://postgres@127.0.0.1/test

1. Starts the real server (`county-server serve`) on the generated store, on a free loopback port.
2. Per round: GET /api/v1/overview?period=YEAR (headline figures, monthly trend, categories, channels, the table of
   townships, item figures) and GET /api/v1/units?level=township&period=YEAR (every township with full figures),
   with the admin token, over one keep-alive connection; every few rounds the same figures by GROUP BY over
   `cases` (read-only connection of its own).
3. Checks that both give the same numbers (accepted, completed, on time, online, ratings per township and month),
   then prints p50 and p95 of each and the ratios.

Targets (issue 4): the dashboard answers under 100 ms p95, at least 20x faster than the GROUP BY.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
TOKEN = "bench-admin-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, port: int, dsn: str | None = None) -> subprocess.Popen[bytes]:
    config = data / "bench-server.toml"
    storage = f'[storage]\nbackend = "postgres"\ndsn = "{dsn}"\n' if dsn else ""
    config.write_text((data / "server.toml").read_text(encoding="utf-8").replace(
        "[server]\n", f"[server]\nport = {port}\nlog_level = \"WARNING\"\n", 1) + storage, encoding="utf-8")
    proc = subprocess.Popen([str(BIN / "county-server"), "serve", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=open(data / "bench-server.log", "wb"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"server did not start; see {data / 'bench-server.log'}")


def timed_get(conn: http.client.HTTPConnection, path: str) -> tuple[float, dict]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
    resp = conn.getresponse()
    body = resp.read()
    elapsed = (time.perf_counter() - started) * 1000
    assert resp.status == 200, body[:300]
    return elapsed, json.loads(body)


def group_by_overview(db: sqlite3.Connection, first: str, last: str) -> tuple[float, dict]:
    """The overview's figures straight from the cases: totals per category and channel, and the monthly trend."""
    started = time.perf_counter()
    p = (first, last)
    by_cat_channel = db.execute(
        "SELECT category, channel, "
        "SUM(state <> 'rejected' AND accepted_on BETWEEN ?1 AND ?2), "
        "SUM(state = 'completed' AND completed_on BETWEEN ?1 AND ?2), "
        "SUM(state = 'completed' AND completed_on BETWEEN ?1 AND ?2 AND is_on_time = 1), "
        "SUM(state = 'completed' AND completed_on BETWEEN ?1 AND ?2 AND is_on_time = 0), "
        "SUM(state IN ('in_progress', 'suspended') AND accepted_on BETWEEN ?1 AND ?2), "
        "SUM(state = 'rejected' AND closed_on BETWEEN ?1 AND ?2), "
        "SUM(state = 'withdrawn' AND closed_on BETWEEN ?1 AND ?2), "
        "SUM(rating IS NOT NULL AND rated_on BETWEEN ?1 AND ?2), "
        "SUM(rating >= 3 AND rated_on BETWEEN ?1 AND ?2), "
        "SUM(rating <= 2 AND rated_on BETWEEN ?1 AND ?2 AND followed_up_on IS NULL) "
        "FROM cases GROUP BY category, channel", p).fetchall()
    accepted_by_month = dict(db.execute(
        "SELECT substr(accepted_on, 1, 7), count(*) FROM cases WHERE state <> 'rejected' "
        "AND accepted_on BETWEEN ? AND ? GROUP BY 1", p).fetchall())
    completed_by_month = dict(db.execute(
        "SELECT substr(completed_on, 1, 7), count(*) FROM cases WHERE state = 'completed' "
        "AND completed_on BETWEEN ? AND ? GROUP BY 1", p).fetchall())
    elapsed = (time.perf_counter() - started) * 1000
    total = [sum(r[i] for r in by_cat_channel) for i in range(2, 12)]
    category = {}
    for r in by_cat_channel:
        category[r[0]] = category.get(r[0], 0) + r[2]
    online = sum(r[2] for r in by_cat_channel if r[1] == "online")
    return elapsed, {"total": total, "category": category, "online": online,
                     "accepted_by_month": accepted_by_month, "completed_by_month": completed_by_month}


def group_by_townships(db: sqlite3.Connection, first: str, last: str) -> tuple[float, dict]:
    started = time.perf_counter()
    rows = db.execute(
        "SELECT township_code, "
        "SUM(state <> 'rejected' AND accepted_on BETWEEN ?1 AND ?2), "
        "SUM(state = 'completed' AND completed_on BETWEEN ?1 AND ?2), "
        "SUM(state = 'completed' AND completed_on BETWEEN ?1 AND ?2 AND is_on_time = 1), "
        "SUM(state <> 'rejected' AND accepted_on BETWEEN ?1 AND ?2 AND channel = 'online'), "
        "SUM(rating IS NOT NULL AND rated_on BETWEEN ?1 AND ?2), "
        "SUM(state = 'completed' AND completed_on BETWEEN ?1 AND ?2 AND json_extract(body, '$.trips') <= 1) "
        "FROM cases GROUP BY township_code", (first, last)).fetchall()
    return (time.perf_counter() - started) * 1000, {r[0]: tuple(r[1:]) for r in rows}


def group_by_residence(db: sqlite3.Connection, first: str, last: str) -> tuple[float, dict]:
    """The township table by where applicants live (the case's village, else its unit's county code)."""
    started = time.perf_counter()
    rows = db.execute(
        "SELECT substr(COALESCE(village_code, substr(org_code, 1, 6) || '000000'), 1, 9), "
        "SUM(state <> 'rejected' AND accepted_on BETWEEN ?1 AND ?2), "
        "SUM(state = 'completed' AND completed_on BETWEEN ?1 AND ?2) "
        "FROM cases GROUP BY 1", (first, last)).fetchall()
    return (time.perf_counter() - started) * 1000, {r[0]: tuple(r[1:]) for r in rows}


def check_residence(units: dict, sql: dict) -> None:
    for row in units["rows"]:
        g = row["figures"]
        assert (g["accepted"], g["completed"]) == sql.get(row["org"]["code"][:9], (0, 0)), row["org"]["code"]


class PostgresCases:
    """The GROUP BY queries above on PostgreSQL: SQLite's SQL said in PostgreSQL's dialect, a truth value summed as
    an integer."""

    def __init__(self, dsn: str) -> None:
        import asyncio

        import asyncpg

        self._loop = asyncio.new_event_loop()
        self._conn = self._loop.run_until_complete(asyncpg.connect(dsn))

    def execute(self, sql: str, params: tuple = ()) -> PostgresCases:
        from server.storage.postgres.dialect import plain, translate_params

        text, order = translate_params(_sum_ints(sql))
        values = [params[i] for i in order] if order is not None else list(params)
        rows = self._loop.run_until_complete(self._conn.fetch(text, *values))
        self._rows = [tuple(plain(v) for v in r) for r in rows]
        return self

    def fetchall(self) -> list[tuple]:
        return self._rows


def _sum_ints(sql: str) -> str:
    out, i = [], 0
    while (at := sql.find("SUM(", i)) >= 0:
        depth, j = 0, at + 3
        while True:
            depth += {"(": 1, ")": -1}.get(sql[j], 0)
            if depth == 0:
                break
            j += 1
        out.append(sql[i:at] + f"SUM(({sql[at + 4:j]})::int)")
        i = j + 1
    out.append(sql[i:])
    return "".join(out)


def check_same(overview: dict, units: dict, sql_overview: dict, sql_townships: dict) -> None:
    f = overview["figures"]
    http_total = [f["accepted"], f["completed"], f["completed_on_time"], f["completed_late"], f["in_progress"],
                  f["rejected"], f["withdrawn"], f["evaluations"], f["good_ratings"], f["bad_pending"]]
    assert http_total == sql_overview["total"], (http_total, sql_overview["total"])
    assert f["online"] == sql_overview["online"]
    assert {b["key"]: b["figures"]["accepted"] for b in overview["by_category"] if b["figures"]["accepted"]} == \
        sql_overview["category"]
    assert {t["key"]: t["figures"]["accepted"] for t in overview["trend"]} == sql_overview["accepted_by_month"]
    assert {t["key"]: t["figures"]["completed"] for t in overview["trend"]} == sql_overview["completed_by_month"]
    for row in units["rows"]:
        g = row["figures"]
        expected = sql_townships.get(row["org"]["code"][:9], (0, 0, 0, 0, 0, 0))
        got = (g["accepted"], g["completed"], g["completed_on_time"], g["online"], g["evaluations"], g["trips_le1"])
        assert got == expected, (row["org"]["code"], got, expected)


def pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the directory bench/generate_prefecture.py wrote")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--sql-every", type=int, default=8, help="run the GROUP BY every N rounds")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--verbose", action="store_true", help="print every HTTP sample")
    parser.add_argument("--postgres", metavar="DSN", help="the server on this PostgreSQL database (the data copied "
                        "there by `county-server storage copy --to postgres`), and the GROUP BY there too")
    args = parser.parse_args()
    first, last = f"{args.year}-01-01", f"{args.year}-12-31"
    db_path = args.data / "prefecture.sqlite3"
    db: Any = PostgresCases(args.postgres) if args.postgres else sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    [(cases,)] = db.execute("SELECT count(*) FROM cases").fetchall()
    port = free_port()
    proc = start_server(args.data, port, args.postgres)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        overview_path = f"/api/v1/overview?period={args.year}&as_of={args.year + 1}-01-05"
        units_path = f"/api/v1/units?level=township&period={args.year}&as_of={args.year + 1}-01-05"
        residence_path = units_path + "&basis=residence"
        for _ in range(3):  # warm the server's caches and the page cache like a dashboard in use
            timed_get(conn, overview_path)
            timed_get(conn, units_path)
        http_overview: list[float] = []
        http_units: list[float] = []
        http_residence: list[float] = []
        sql_overview: list[float] = []
        sql_units: list[float] = []
        sql_residence: list[float] = []
        last_answers: dict = {}
        for i in range(args.rounds):
            ms, last_answers["overview"] = timed_get(conn, overview_path)
            http_overview.append(ms)
            ms, last_answers["units"] = timed_get(conn, units_path)
            http_units.append(ms)
            ms, last_answers["residence"] = timed_get(conn, residence_path)
            http_residence.append(ms)
            if i % args.sql_every == 0:
                ms, last_answers["sql_overview"] = group_by_overview(db, first, last)
                sql_overview.append(ms)
                ms, last_answers["sql_units"] = group_by_townships(db, first, last)
                sql_units.append(ms)
                ms, last_answers["sql_residence"] = group_by_residence(db, first, last)
                sql_residence.append(ms)
                conn.close()  # the GROUP BYs may outlast the server's keep-alive (header_timeout_s): a new one
        check_same(last_answers["overview"], last_answers["units"], last_answers["sql_overview"],
                   last_answers["sql_units"])
        check_residence(last_answers["residence"], last_answers["sql_residence"])
    finally:
        proc.terminate()
        proc.wait(30)
    if args.postgres:
        [(size,)] = db.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON "
            "n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'").fetchall()
        size_gb = size / 2**30
    else:
        size_gb = db_path.stat().st_size / 2**30
    print(f"store ({'postgres' if args.postgres else 'sqlite'}): {cases:,} cases, "
          f"{len(last_answers['units']['rows'])} townships, {size_gb:.1f} GiB; "
          f"year {args.year}; {args.rounds} HTTP rounds, {len(sql_overview)} GROUP BY rounds; figures agree")
    rows = [("overview (HTTP)", http_overview), ("township table (HTTP)", http_units),
            ("by residence (HTTP)", http_residence), ("overview (GROUP BY)", sql_overview),
            ("township table (GROUP BY)", sql_units), ("by residence (GROUP BY)", sql_residence)]
    for label, samples in rows:
        p50, p95 = pcts(samples)
        print(f"  {label:<27} p50 {p50:9.1f} ms   p95 {p95:9.1f} ms")
    for label, http_samples, sql_samples in (("overview", http_overview, sql_overview),
                                             ("township table", http_units, sql_units),
                                             ("by residence", http_residence, sql_residence)):
        h50, h95 = pcts(http_samples)
        s50, _ = pcts(sql_samples)
        print(f"  {label:<27} GROUP BY p50 / HTTP p50 = {s50 / h50:6.0f}x   GROUP BY p50 / HTTP p95 = "
              f"{s50 / h95:6.0f}x")
    if args.verbose:
        print("  samples overview:", " ".join(f"{x:.0f}" for x in http_overview))
        print("  samples townships:", " ".join(f"{x:.0f}" for x in http_units))
    ok = all(pcts(s)[1] < 100 for s in (http_overview, http_units, http_residence)) and all(
        pcts(s)[0] / pcts(h)[1] >= 20 for s, h in ((sql_overview, http_overview), (sql_units, http_units),
                                                    (sql_residence, http_residence)))
    print("targets (p95 < 100 ms, >= 20x): " + ("met" if ok else "NOT met"))


if __name__ == "__main__":
    main()
