"""Agent commit benchmark (a script, not a test): the time to commit one new case through the real service path on a
store that already holds 100,000 cases, beside a bare `sqlite3` insert of a similar row, in the same run.

    .venv/bin/python bench/agent_commit_bench.py [--cases 100000] [--commits 2000] [--dir /var/tmp]

1. A fresh agent store (migrated, WAL, synchronous=FULL) filled with `--cases` cases made by the real pure path
   (`agent.cases.accept`) on days of the past year, each with its `accepted` event in the outbox; and a bare
   database with the same `cases` table, the same pragmas and the same rows.
2. `--commits` rounds, interleaved so that drift of the machine's speed hits both sides alike (perf-notes):
   - agent: `CaseService.accept(form)`: stamp, validate, due date, case number, one transaction that writes the
     case row and its outbox event, committed (fsync) before it returns: what a staff member waits for;
   - bare: `INSERT` of one case row of the same shape with Python's `sqlite3`, then `COMMIT`.
3. p50 and p99 of each side in milliseconds, and the agent / bare ratio. Target (issue 3): p99 within 3x.

`--dir` chooses the file system: the default temporary directory may be tmpfs, where fsync costs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from agent import cases
from agent.reference import Reference
from agent.service import CaseService
from agent.store import AgentStore
from protocol.certificates import resident_id_check_char
from protocol.ids import case_number, new_uuid7
from protocol.lifecycle import CHINA_TZ
from protocol.messages import OrgUnit, ReferenceResponse, ServiceItem
from protocol.workdays import WorkCalendar

TOWNSHIP = "513422100"
WARMUP = 50


def reference() -> Reference:
    today = datetime.now(CHINA_TZ).date()
    return Reference.from_response(ReferenceResponse(
        version="bench",
        township=OrgUnit(code=f"{TOWNSHIP}000", name="乔瓦镇", level="township"),
        org_units=[OrgUnit(code=f"{TOWNSHIP}2{n:02d}", name=f"村{n}", level="village") for n in range(1, 20)],
        items=[ServiceItem(code=f"GG-{n:04d}", name=f"事项{n}", category="公共服务", promised_days=n % 12)
               for n in range(1, 60)],
        calendar=WorkCalendar("bench", today.year - 1, today.year + 1).to_json(),
    ))


def form(n: int) -> dict[str, str]:
    body17 = f"513422{1950 + n % 60}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return {"item_code": f"GG-{1 + n % 59:04d}", "applicant_name": f"申请人{n}", "cert_type": "resident_id",
            "cert_no": body17 + resident_id_check_char(body17), "phone": f"138{n % 100_000_000:08d}",
            "channel": "window", "village_code": f"{TOWNSHIP}2{1 + n % 19:02d}", "staff": "窗口一"}


def case_rows(ref: Reference, count: int):
    """(case row, outbox row) pairs of `count` cases accepted over the past 300 days, made by `cases.accept`."""
    start = datetime.now(CHINA_TZ) - timedelta(days=300)
    per_day = count // 300 + 1
    for n in range(count):
        now = start + timedelta(days=n // per_day, seconds=n % per_day)
        stamp = cases.Stamp(event_id=new_uuid7(), now=now, offset_ms=0)
        day = now.date().isoformat()
        case, event = cases.accept(form(n), ref, case_id=new_uuid7(), stamp=stamp,
                                   case_no=case_number(TOWNSHIP, 1, day, n % per_day + 1))
        body = msgspec.json.encode(case)
        yield ((case.case_id, case.case_no, case.state, case.accepted_on, case.due_on, case.applicant_name,
                case.cert_no, body),
               (event.event_id, event.case_id, event.kind, event.at, event.offset_ms, event.data, "synced"))


def fill(path: Path, rows: list[tuple], with_outbox: bool) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN")
    db.executemany("INSERT INTO cases (case_id, case_no, state, accepted_on, due_on, applicant_name, cert_no, body)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [r[0] for r in rows])
    if with_outbox:
        db.executemany("INSERT INTO outbox (event_id, case_id, kind, at, offset_ms, data, status)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", [r[1] for r in rows])
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


BARE_SCHEMA = """
CREATE TABLE cases (case_id TEXT PRIMARY KEY, case_no TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    accepted_on TEXT NOT NULL, due_on TEXT, applicant_name TEXT NOT NULL, cert_no TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX cases_open_by_due ON cases (due_on) WHERE state IN ('in_progress', 'suspended');
CREATE INDEX cases_by_name ON cases (applicant_name);
CREATE INDEX cases_by_cert ON cases (cert_no);
"""


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if q < 100 else max(samples)


async def run(count: int, commits: int, directory: Path) -> None:
    ref = reference()
    started = time.monotonic()
    rows = list(case_rows(ref, count))
    agent_path, bare_path = directory / "agent.sqlite3", directory / "bare.sqlite3"
    store = await AgentStore.open(agent_path)
    await store.close()
    fill(agent_path, rows, with_outbox=True)
    bare = sqlite3.connect(bare_path, isolation_level=None)
    bare.execute("PRAGMA journal_mode=WAL")
    bare.executescript(BARE_SCHEMA)
    bare.close()
    fill(bare_path, rows, with_outbox=False)
    print(f"filled {count} cases into both stores in {time.monotonic() - started:.1f} s ({directory})")

    store = await AgentStore.open(agent_path)
    service = CaseService(store, township_code=TOWNSHIP, pc_no=2, reference=lambda: ref, offset_ms=lambda: 0)
    bare = sqlite3.connect(bare_path, isolation_level=None)
    bare.execute("PRAGMA journal_mode=WAL")
    bare.execute("PRAGMA synchronous=FULL")
    bare_rows = (r[0] for r in case_rows(ref, commits + WARMUP))
    agent_ms: list[float] = []
    bare_ms: list[float] = []
    for n in itertools.count():
        if n == commits + WARMUP:
            break
        t0 = time.perf_counter()
        await service.accept(form(count + n))
        t1 = time.perf_counter()
        row = next(bare_rows)
        row = (new_uuid7(), f"B{n:08d}", *row[2:])  # unique keys, same shape and size
        bare.execute("BEGIN IMMEDIATE")
        bare.execute("INSERT INTO cases (case_id, case_no, state, accepted_on, due_on, applicant_name, cert_no, body)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        bare.execute("COMMIT")
        t2 = time.perf_counter()
        if n >= WARMUP:
            agent_ms.append((t1 - t0) * 1000)
            bare_ms.append((t2 - t1) * 1000)
    bare.close()
    await store.close()

    a50, a99 = percentile(agent_ms, 50), percentile(agent_ms, 99)
    b50, b99 = percentile(bare_ms, 50), percentile(bare_ms, 99)
    print(f"sqlite {sqlite3.sqlite_version}, {commits} commits each side, interleaved, store holds {count}+ cases")
    print(f"agent  CaseService.accept   p50 {a50:7.3f} ms   p99 {a99:7.3f} ms")
    print(f"bare   sqlite3 INSERT+COMMIT p50 {b50:7.3f} ms   p99 {b99:7.3f} ms")
    print(f"ratio  agent / bare          p50 {a50 / b50:7.2f} x   p99 {a99 / b99:7.2f} x   (target p99 <= 3x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None, help="where the two SQLite files go (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        asyncio.run(run(args.cases, args.commits, Path(tmp)))


if __name__ == "__main__":
    main()
