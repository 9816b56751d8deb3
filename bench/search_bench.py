"""Case search benchmark (a script, not a test): the dashboard's search (`DashboardStore.search_cases`, one index per
key) against the same search as a scan of the cases table, in the same run, on the same database.

    .venv/bin/python bench/search_bench.py [--cases 200000] [--queries 60]

1. Makes a county database with the real migrations, and fills `cases` with N cases over 10 townships (names from a
   list of common Tibetan, Yi and Han names, case numbers, and the keyed hashes a sealing ingest stores for the
   last 4 characters of an ID: here one hash per (township, last 4), as `server.model.sealing` computes them).
2. Per query kind (a name or its beginning, a whole case number, an ID's last 4): the store's search through its
   indexes with the dashboard's limit (50), and the scan a search without them costs (`NOT INDEXED`, the same
   predicates), checked to find the same cases (the first 50 of them), then p50 and p95 of each and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import msgspec

from server.model.case_search import CaseSearch, parse_search
from server.reports.casepage import SEARCH_LIMIT
from server.storage.sqlite.dashboard import SqliteDashboardStore
from server.storage.sqlite.store import SqliteStore

COUNTY = "513422"
TOWNSHIPS = [f"513422{n:03d}" for n in (100, 101, 102, 103, 104, 105, 201, 202, 203, 204)]
FAMILY = ["扎西", "次仁", "格桑", "泽仁", "阿西", "王", "李", "张", "杨", "刘", "达瓦", "央金", "卓玛", "拉姆"]
GIVEN = ["卓玛", "多吉", "拉姆", "措", "木呷", "秀英", "建华", "德明", "国强", "丽", "平措", "曲珍", "尼玛", "次旦"]


def tail_hash(township: str, last4: str) -> str:
    return hashlib.sha256(f"cert_tail|{township}|{last4}".encode()).hexdigest()[:16]


def fill(path: Path, n: int, rng: random.Random) -> list[tuple[str, str, str, str]]:
    """N cases; returns (case_id, case_no, name, township|last4) of each."""
    db = sqlite3.connect(path)
    columns = [(r[1], r[3], r[4]) for r in db.execute("PRAGMA table_info(cases)")]  # name, notnull, default
    out = []
    rows = []
    for i in range(n):
        township = TOWNSHIPS[i % len(TOWNSHIPS)]
        name = rng.choice(FAMILY) + rng.choice(GIVEN)
        last4 = f"{rng.randint(0, 999):03d}{rng.choice('0123456789X')}"
        case_id = f"{i:08x}-0000-7000-8000-000000000000"
        case_no = f"{township}01{20260101 + i // 3000:08d}{i % 3000:04d}"
        day = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
        values = {"case_id": case_id, "case_no": case_no, "township_code": township, "org_code": township + "000",
                  "item_code": "GG-0004", "category": "公共服务", "channel": "window", "state": "completed",
                  "accepted_on": day, "last_key": day, "updated_at": day, "meta": "{}", "digest": 0,
                  "tail_hash": tail_hash(township, last4),
                  "body": msgspec.json.encode({"applicant_name": name, "cert_type": "resident_id", "trips": 1,
                                               "cert_no": "sealed", "staff": "李梅"}).decode()}
        rows.append(tuple(values.get(c, "" if notnull and default is None else None)
                          for c, notnull, default in columns))
        out.append((case_id, case_no, name, f"{township}|{last4}"))
    db.executemany(f"INSERT INTO cases VALUES ({', '.join('?' * len(columns))})", rows)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return out


def scan(db: sqlite3.Connection, search: CaseSearch) -> set[str]:
    """The same predicates as `search_cases`, without an index: every row read."""
    terms, params = [], []
    if search.case_no:
        terms.append("(case_no >= ? AND case_no < ?)")
        params += [search.case_no, search.case_no[:-1] + chr(ord(search.case_no[-1]) + 1)]
    if search.name:
        terms.append("(json_extract(body, '$.applicant_name') >= ? AND json_extract(body, '$.applicant_name') < ?)")
        params += [search.name, search.name + "\U0010ffff"]
    for h in search.tail_hashes:
        terms.append("tail_hash = ?")
        params.append(h)
    sql = f"SELECT case_id FROM cases NOT INDEXED WHERE ({' OR '.join(terms)}) AND org_code >= ? AND org_code < ?"
    return {r[0] for r in db.execute(sql, [*params, COUNTY, COUNTY[:-1] + chr(ord(COUNTY[-1]) + 1)])}


def percentile(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(p * len(values)))]


async def run(n: int, queries: int) -> None:
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "county.sqlite3"
        store = SqliteStore(path)
        await store.open()
        await store.close()
        started = time.perf_counter()
        cases = fill(path, n, rng)
        print(f"{n} cases written in {time.perf_counter() - started:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        store = SqliteStore(path)
        await store.open()
        dashboard = SqliteDashboardStore(store)
        await dashboard.open()
        raw = sqlite3.connect(path)
        picks = rng.sample(cases, queries)
        kinds: dict[str, list[CaseSearch]] = {"name (2-4 characters)": [], "case number": [], "ID's last 4": []}
        for _, case_no, name, tail in picks:
            kinds["name (2-4 characters)"].append(parse_search(name[:rng.choice((2, 3, len(name)))]))  # type: ignore[arg-type]
            kinds["case number"].append(parse_search(case_no))  # type: ignore[arg-type]
            township, last4 = tail.split("|")
            search = parse_search(last4)
            assert search is not None
            kinds["ID's last 4"].append(msgspec.structs.replace(  # as `case_search.sealed` makes it
                search, cert_tail=None, tail_hashes=tuple(tail_hash(t, last4) for t in TOWNSHIPS)))
        print(f"{'query':<24}{'index p50':>11}{'p95':>9}{'scan p50':>11}{'p95':>9}{'ratio p50':>11}  found (mean)")
        for kind, searches in kinds.items():
            indexed, scanned, found = [], [], []
            for search in searches:
                t0 = time.perf_counter()
                rows = await dashboard.search_cases(COUNTY, search, SEARCH_LIMIT)
                t1 = time.perf_counter()
                expected = scan(raw, search)
                t2 = time.perf_counter()
                got = {r.case_id for r in rows}  # at most SEARCH_LIMIT, as the dashboard asks
                assert got <= expected and len(got) == min(len(expected), SEARCH_LIMIT), kind
                indexed.append((t1 - t0) * 1000)
                scanned.append((t2 - t1) * 1000)
                found.append(len(rows))
            i50, s50 = statistics.median(indexed), statistics.median(scanned)
            print(f"{kind:<24}{i50:>9.2f}ms{percentile(indexed, 0.95):>7.2f}ms{s50:>9.1f}ms"
                  f"{percentile(scanned, 0.95):>7.1f}ms{s50 / i50:>10.0f}x  {statistics.mean(found):.1f}")
        raw.close()
        await dashboard.close()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(run(args.cases, args.queries))


if __name__ == "__main__":
    main()
