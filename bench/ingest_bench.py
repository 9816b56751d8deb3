"""Ingest benchmark (a script, not a test): 100,000 events through the real HTTP path vs the same rows written by
plain `sqlite3` executemany, in the same run.

    .venv/bin/python bench/ingest_bench.py [--events 100000] [--batch 1000] [--rounds 1] [--agents 2]
    .venv/bin/python bench/ingest_bench.py --backend postgres [--dsn URL] [--servers 1,2] [--agents 4]

Per round:
1. A fresh config and SQLite file; township agents (two by default, one township each) registered with
   `county-server agents add`; the real server started as a subprocess (`python -m server serve`) on a loopback
   port, with the default config: two ingest worker processes, the townships dealt to them in code order.
2. A realistic mix on the sample catalog and org units (~45 % accepted, ~40 % completed, ~15 % evaluated), in
   each agent's seq order, pre-encoded as gzip level 6 JSON batches (the agent's encoding cost is not the server's).
3. The agents push at once over keep-alive connections, one batch in flight each, as agents do: events/s from
   the first request to the last acknowledgement, and bytes on the wire per event (compressed body + request
   headers as sent; the response is reported separately).
4. The same rows the server wrote (event rows, the case rows each batch touched, the rows of every rollup table
   each batch touched) written into a fresh SQLite file with the same schema and pragmas by plain `sqlite3`
   `executemany`, one transaction per batch, three times (the disk's speed drifts from one second to the next):
   events/s of the median run, and the ratio HTTP / plain.
The machine's speed drifts too: run several rounds (--rounds N); the median of the rounds' ratios is reported.

With --backend postgres the server stores in a schema of its own of --dsn (TEST_POSTGRES_DSN, else this machine's
test database), --servers N starts N server processes on it (agent i pushes to server i mod N; --servers 1,2 runs
one and two in every round, in turn, and prints their ratio), and the plain path
is bench/pg_plain.py: the same rows by asyncpg binary COPY + INSERT ... ON CONFLICT, one transaction per batch.

Targets (issue 2): ratio >= 0.5, <= 150 bytes per event on the wire; PostgreSQL (issue 10): ratio >= 0.5, two
server processes >= 1.5x one.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pg_plain  # noqa: E402 - bench/pg_plain.py, beside this script

from protocol.ids import new_uuid7  # noqa: E402
from server.model.reference import load_reference  # noqa: E402
from server.model.rollups import UNIT_LENGTHS  # noqa: E402
from server.storage.rollup_tables import (  # noqa: E402
    MONTH_CHANNEL_TABLE,
    MONTH_TABLE,
    RESIDENCE_DAILY_TABLE,
    RESIDENCE_MONTH_CHANNEL_TABLE,
    RESIDENCE_MONTH_TABLE,
)
from server.storage.sqlite.ingest import CASE_COLUMNS, CASES, EVENT_COLUMNS, EVENTS, ROLLUP_UPSERTS  # noqa: E402
from server.storage.sqlite.store import MIGRATIONS_DIR, WRITE_PRAGMAS  # noqa: E402

# The single-row forms of the server's statements, for executemany.
INSERT_EVENTS_SQL = EVENTS.sql(1)
SAVE_CASES_SQL = CASES.sql(1)
(UPSERT_SQL, UPSERT_MONTH_SQL, UPSERT_MONTH_CHANNEL_SQL, UPSERT_RESIDENCE_SQL, UPSERT_RESIDENCE_MONTH_SQL,
 UPSERT_RESIDENCE_MONTH_CHANNEL_SQL) = (u.sql(1) for u in ROLLUP_UPSERTS)

CHINA = timezone(timedelta(hours=8))
PLAIN_RUNS = 3
TOWNSHIPS = ("513422100", "513422204", "513422101", "513422203", "513422102", "513422202", "513422103", "513422201")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗扎格拉次央卓阿吉"
GIVEN = "明华丽强军平芳敏静伟秀英桂兰德吉卓玛拉姆次仁多吉尼玛顿珠措"


@dataclass
class AgentLoad:
    agent_id: str
    token: str
    events: list[dict] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # gzip level 6
    raw_bytes: int = 0


def make_events(township: str, n_events: int, rng: random.Random, ref) -> list[dict]:
    """Cases of one township in time order: ~45 % accepted, ~40 % completed, ~15 % evaluated (of all events)."""
    units = [u.code for u in ref.units_under(township)]
    items = list(ref.items.values())
    n_cases = round(n_events * 0.45)
    n_completed = round(n_events * 0.40)
    n_rated = n_events - n_cases - n_completed
    start = datetime(2026, 3, 2, 8, 30, tzinfo=CHINA)
    raw: list[tuple[datetime, str, str, dict]] = []
    for i in range(n_cases):
        at = start + timedelta(minutes=(i * 263_000 / n_cases) + rng.random() * 20)  # ~6 months of office time
        item = rng.choice(items)
        case_id = new_uuid7()
        org = rng.choice(units)
        due = (at + timedelta(days=round(item.promised_days * 1.4))).date().isoformat()
        data = {"case_no": f"{township}01{at:%Y%m%d}{i % 10000:04d}", "item_code": item.code, "org_code": org,
                "channel": rng.choices(["window", "online", "proxy", "home_visit"], [70, 20, 8, 2])[0],
                "applicant_name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2)))),
                "cert_type": "居民身份证",
                "cert_no": f"513422{rng.randint(1950, 2008)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
                           f"{rng.randint(0, 999):03d}{rng.choice('0123456789X')}",
                "phone": f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
                "promised_days": item.promised_days, "due_on": due}
        raw.append((at, case_id, "accepted", data))
        if i < n_completed:
            done_at = at + timedelta(minutes=5) if item.promised_days == 0 else at + timedelta(
                days=rng.randint(1, max(1, item.promised_days + 2)), minutes=rng.randint(0, 300))
            raw.append((done_at, case_id, "completed", {"result": "approved" if rng.random() < 0.97
                                                         else "not_approved"}))
            if i < n_rated:
                raw.append((done_at + timedelta(minutes=2), case_id, "evaluated",
                            {"rating": rng.choices([5, 4, 3, 2, 1], [90, 7, 2, 0.7, 0.3])[0]}))
    raw.sort(key=lambda r: r[0])
    return [{"event_id": new_uuid7(), "seq": seq, "case_id": case_id, "kind": kind,
             "at": at.isoformat(timespec="seconds"), "data": data, "offset_ms": 1250}
            for seq, (at, case_id, kind, data) in enumerate(raw, 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_head_bytes(port: int, token: str, body_len: int) -> int:
    """The request line and headers aiohttp sends for one push (measured shape, exact lengths)."""
    head = (f"POST /api/v1/sync/push HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Accept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
            f"User-Agent: Python/3.11 aiohttp/{aiohttp.__version__}\r\nContent-Length: {body_len}\r\n\r\n")
    return len(head.encode())


async def push_all(ports: list[int], loads: list[AgentLoad]) -> tuple[float, int, int, list[dict]]:
    """Agent i pushes to the server on ports[i % len(ports)]."""
    answers: list[dict] = []
    response_bytes = 0

    async def one_agent(load: AgentLoad, session: aiohttp.ClientSession, port: int) -> None:
        nonlocal response_bytes
        url = f"http://127.0.0.1:{port}/api/v1/sync/push"
        headers = {"Authorization": f"Bearer {load.token}", "Content-Type": "application/json",
                   "Content-Encoding": "gzip"}
        for body in load.bodies:
            async with session.post(url, data=body, headers=headers) as r:
                raw = await r.read()
                assert r.status == 200, raw[:500]
                response_bytes += len(raw) + sum(len(k) + len(v) + 4 for k, v in r.raw_headers) + 17
                answers.append(json.loads(raw))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one_agent(load, session, ports[i % len(ports)]) for i, load in enumerate(loads)))
        took = time.perf_counter() - started
    head = sum(request_head_bytes(ports[0], load.token, len(b)) for load in loads for b in load.bodies)
    return took, head, response_bytes, answers


Rows = tuple[list, list, list, list, list, list, list, list]


def plain_rows(db_path: Path, loads: list[AgentLoad], batch: int) -> list[Rows]:
    """Per batch, the rows the server wrote: its event rows, the case rows and rollup rows that batch touched
    (values as finally stored; same count and width of rows)."""
    with sqlite3.connect(db_path) as db:
        events = {r[0]: r for r in db.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events")}
        cases = {r[0]: r for r in db.execute(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases")}
        rollups = {r[:4]: r for r in db.execute("SELECT * FROM rollups")}
        months = {r[:4]: r for r in db.execute(f"SELECT * FROM {MONTH_TABLE.name}")}
        month_channels = {r[:3]: r for r in db.execute(f"SELECT * FROM {MONTH_CHANNEL_TABLE.name}")}
        residence = {r[:4]: r for r in db.execute(f"SELECT * FROM {RESIDENCE_DAILY_TABLE.name}")}
        residence_months = {r[:4]: r for r in db.execute(f"SELECT * FROM {RESIDENCE_MONTH_TABLE.name}")}
        residence_channels = {r[:3]: r for r in db.execute(f"SELECT * FROM {RESIDENCE_MONTH_CHANNEL_TABLE.name}")}
    out = []
    for load in loads:
        for i in range(0, len(load.events), batch):
            chunk = load.events[i:i + batch]
            ev_rows = [events[e["event_id"]] for e in chunk]
            touched = dict.fromkeys(e["case_id"] for e in chunk)
            case_rows = [cases[c] for c in touched if c in cases]
            keys = dict.fromkeys((cases[e["case_id"]][3], e["at"][:10], cases[e["case_id"]][6],
                                  cases[e["case_id"]][7]) for e in chunk if e["case_id"] in cases)
            rollup_rows = [rollups[k] for k in keys if k in rollups]
            month_keys = dict.fromkeys((org[:n], day[:7], category, channel)
                                       for org, day, category, channel in keys for n in UNIT_LENGTHS)
            month_rows = [months[k] for k in month_keys if k in months]
            channel_keys = dict.fromkeys((unit, month, channel) for unit, month, _, channel in month_keys)
            channel_rows = [month_channels[k] for k in channel_keys if k in month_channels]
            # by where the applicant lives (the case's village, else its unit's county code)
            homes = dict.fromkeys((cases[e["case_id"]][4] or cases[e["case_id"]][3][:6] + "000000", e["at"][:10],
                                   cases[e["case_id"]][6], cases[e["case_id"]][7])
                                  for e in chunk if e["case_id"] in cases)
            residence_rows = [residence[k] for k in homes if k in residence]
            home_months = dict.fromkeys((home[:n], day[:7], category, channel)
                                        for home, day, category, channel in homes for n in UNIT_LENGTHS)
            residence_month_rows = [residence_months[k] for k in home_months if k in residence_months]
            home_channels = dict.fromkeys((unit, month, channel) for unit, month, _, channel in home_months)
            residence_channel_rows = [residence_channels[k] for k in home_channels if k in residence_channels]
            out.append((ev_rows, case_rows, rollup_rows, month_rows, channel_rows, residence_rows,
                        residence_month_rows, residence_channel_rows))
    return out


def plain_write(path: Path, batches: list[Rows]) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in WRITE_PRAGMAS:
        db.execute(pragma)
    for migration in sorted(MIGRATIONS_DIR.glob("*.sql")):  # the server's schema, indexes included
        db.executescript(migration.read_text(encoding="utf-8"))
    started = time.perf_counter()
    for (ev_rows, case_rows, rollup_rows, month_rows, channel_rows, residence_rows, residence_month_rows,
         residence_channel_rows) in batches:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(INSERT_EVENTS_SQL, ev_rows)
        db.executemany(SAVE_CASES_SQL, case_rows)
        db.executemany(UPSERT_SQL, rollup_rows)
        db.executemany(UPSERT_MONTH_SQL, month_rows)
        db.executemany(UPSERT_MONTH_CHANNEL_SQL, channel_rows)
        db.executemany(UPSERT_RESIDENCE_SQL, residence_rows)
        db.executemany(UPSERT_RESIDENCE_MONTH_SQL, residence_month_rows)
        db.executemany(UPSERT_RESIDENCE_MONTH_CHANNEL_SQL, residence_channel_rows)
        db.execute("COMMIT")
    took = time.perf_counter() - started
    db.close()
    return took


def cpu_times() -> tuple[int, int]:
    """The machine's busy and total CPU time so far (/proc/stat, every core): how much of the machine the pushes
    used, servers, PostgreSQL and all (1.0: every core busy, nothing left for another server process)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def run_round(n_events: int, batch: int, seed: int, profile: str | None = None, keep: bool = False,
              agents: int = 2, ingest_workers: int | None = None, backend: str = "sqlite", dsn: str = "",
              servers: int = 1) -> dict:
    rng = random.Random(seed)
    ref = load_reference(REPO / "config" / "org_units.csv", REPO / "config" / "catalog.csv")
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    ports = [free_port() for _ in range(servers)]
    storage = ""
    schema = ""
    if backend == "postgres":
        schema, server_dsn = pg_plain.run(pg_plain.create_schema(dsn, "bench_http"))
        storage = f'[storage]\nbackend = "postgres"\ndsn = "{server_dsn}"\n'
    configs = []
    for n, port in enumerate(ports):
        config = work / f"server{n}.toml"
        config.write_text(f'[server]\nport = {port}\nadmin_token = "bench-admin-token-0000"\n'
                          f'database = "county.sqlite3"\nlog_level = "WARNING"\n'
                          + (f"ingest_workers = {ingest_workers}\n" if ingest_workers is not None else "") +
                          f'[reference]\norg_units = "{REPO / "config" / "org_units.csv"}"\n'
                          f'catalog = "{REPO / "config" / "catalog.csv"}"\n'
                          f'[privacy]\nkey_file = "{work / "county.keys"}"\n' + storage, encoding="utf-8")
        configs.append(config)
    config = configs[0]
    cli = [sys.executable, "-m", "server"]
    loads = []
    for township in TOWNSHIPS[:agents]:
        out = subprocess.run([*cli, "agents", "add", "--township", township, "--name", "bench", "--json",
                              "--config", str(config)], check=True, capture_output=True, text=True, cwd=REPO)
        info = json.loads(out.stdout)
        loads.append(AgentLoad(info["agent_id"], info["token"]))
    per_agent = n_events // len(loads)
    for load, township in zip(loads, TOWNSHIPS[:agents], strict=True):
        load.events = make_events(township, per_agent, rng, ref)
        enc = msgspec.json.Encoder()
        for i in range(0, len(load.events), batch):
            raw = enc.encode({"agent_id": load.agent_id, "events": load.events[i:i + batch]})
            load.raw_bytes += len(raw)
            load.bodies.append(gzip.compress(raw, compresslevel=6))
    total = sum(len(load.events) for load in loads)

    processes = []
    for n, cfg in enumerate(configs):
        serve = [*cli, "serve", "--config", str(cfg)]
        if profile and n == 0:  # cProfile of the (first) server process, written when it stops
            serve = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "server", *serve[3:]]
        processes.append(subprocess.Popen(serve, cwd=REPO, stderr=open(work / f"server{n}.log", "w")))
    try:
        for port, server in zip(ports, processes, strict=True):
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.05)
        busy_before = cpu_times()
        took, head_bytes, response_bytes, answers = asyncio.run(push_all(ports, loads))
        busy, cpu_total = (after - before for after, before in zip(cpu_times(), busy_before, strict=True))
    finally:
        for server in processes:
            server.terminate()
        for server in processes:
            server.wait(10)
    stored = sum(a["stored"] for a in answers)
    refused = sum(len(a.get("refused", [])) for a in answers)
    assert stored == total and refused == 0, (stored, refused, total)
    body_bytes = sum(len(b) for load in loads for b in load.bodies)

    if backend == "postgres":
        batches = pg_plain.run(pg_plain.plain_rows(pg_plain.schema_dsn(dsn, schema), loads, batch))
        plain_runs = sorted(pg_plain.run(pg_plain.plain_write(dsn, batches)) for _ in range(PLAIN_RUNS))
        if not keep:
            pg_plain.run(pg_plain.drop_schema(dsn, schema))
    else:
        batches = plain_rows(work / "county.sqlite3", loads, batch)
        plain_runs = sorted(plain_write(work / f"plain-{n}.sqlite3", batches) for n in range(PLAIN_RUNS))
    plain_took = statistics.median(plain_runs)
    rows = [sum(len(b[i]) for b in batches) for i in range(len(batches[0]))]
    if not keep:
        shutil.rmtree(work)
    return {"events": total, "http_s": took, "http_eps": total / took, "plain_s": plain_took,
            "plain_eps_range": (total / plain_runs[-1], total / plain_runs[0]),
            "plain_eps": total / plain_took, "ratio": plain_took and (total / took) / (total / plain_took),
            "json_bytes_per_event": sum(load.raw_bytes for load in loads) / total,
            "body_bytes_per_event": body_bytes / total, "wire_bytes_per_event": (body_bytes + head_bytes) / total,
            "response_bytes_per_event": response_bytes / total, "rows": rows, "work": str(work),
            "busy": busy / cpu_total if cpu_total else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--agents", type=int, default=2, choices=range(1, len(TOWNSHIPS) + 1), metavar="N",
                        help=f"agents pushing at once, one township each (1-{len(TOWNSHIPS)})")
    parser.add_argument("--ingest-workers", type=int, metavar="N",
                        help="[server] ingest_workers for the server (default: the server's default)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the server process to FILE")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the server log")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                        help="postgres: a schema of its own in --dsn; the plain path is asyncpg COPY + INSERT ... "
                             "ON CONFLICT (bench/pg_plain.py)")
    parser.add_argument("--dsn", default=os.environ.get("TEST_POSTGRES_DSN") or pg_plain.DEFAULT_DSN)
    parser.add_argument("--servers", default="1", help="server processes (PostgreSQL only; agents are dealt to "
                        "them in turn); a list such as 1,2 runs each count in every round, in turn, and prints the "
                        "ratio of their events/s")
    args = parser.parse_args()
    counts = [int(n) for n in args.servers.split(",")]
    if max(counts) > 1 and args.backend != "postgres":
        parser.error("several server processes need --backend postgres")
    results = []
    by_count: dict[int, list[float]] = {n: [] for n in counts}
    for r, servers in ((r, n) for r in range(args.rounds) for n in counts):
        res = run_round(args.events, args.batch, args.seed + r, args.profile, args.keep, args.agents,
                        args.ingest_workers, args.backend, args.dsn, servers)
        results.append(res)
        by_count[servers].append(res["http_eps"])
        print(f"round {r + 1} ({args.backend}, {servers} server process(es), {args.agents} agents): "
              f"http {res['http_eps']:,.0f} events/s ({res['http_s']:.2f} s) | plain {args.backend} "
              f"{res['plain_eps']:,.0f} events/s ({res['plain_s']:.2f} s, median of {PLAIN_RUNS}: "
              f"{res['plain_eps_range'][0]:,.0f}-{res['plain_eps_range'][1]:,.0f}) | ratio {res['ratio']:.2f} | "
              f"wire {res['wire_bytes_per_event']:.1f} B/event (gzip body {res['body_bytes_per_event']:.1f}, "
              f"JSON {res['json_bytes_per_event']:.0f}; response {res['response_bytes_per_event']:.1f}) | "
              f"machine busy {res['busy']:.0%} of {os.cpu_count()} cores while pushing")
        print(f"  rows per path: events={res['rows'][0]:,} cases={res['rows'][1]:,} rollups={res['rows'][2]:,} "
              f"month rollups={res['rows'][3]:,} month-by-channel rollups={res['rows'][4]:,} "
              f"residence rollups={res['rows'][5]:,} residence month rollups={res['rows'][6]:,} "
              f"residence month-by-channel rollups={res['rows'][7]:,}"
              + (f"; files in {res['work']}" if args.keep else ""))
    if len(counts) > 1:
        base = statistics.median(by_count[counts[0]])
        for n in counts[1:]:
            print(f"{n} server processes / {counts[0]}: {statistics.median(by_count[n]) / base:.2f}x "
                  f"(medians {statistics.median(by_count[n]):,.0f} / {base:,.0f} events/s; target for 2 / 1: >= 1.5x)")
    ratio = statistics.median(r["ratio"] for r in results)
    wire = statistics.median(r["wire_bytes_per_event"] for r in results)
    print(f"median: ratio {ratio:.2f} (target >= 0.5), wire {wire:.1f} B/event (target <= 150) -> "
          f"{'OK' if ratio >= 0.5 and wire <= 150 else 'MISSED'}")


if __name__ == "__main__":
    main()
