"""Pull benchmark (a script, not a test): a township PC pulling a 100,000-event backlog of its township, beside the
push of the same events, in the same run.

    .venv/bin/python bench/pull_bench.py [--events 100000] [--batch 1000] [--rounds 1]

Per round:
1. A fresh county server (subprocess, default config) and two PCs of one township registered with `county-server
   agents add`: window 1 has made the events (the realistic mix of bench/ingest_bench.py, with each event naming its
   case's heads as a protocol-2 PC does), window 2 is a new PC.
2. Push: window 1 pushes them in batches of `--batch`, gzip JSON over keep-alive: events/s and bytes per event on
   the wire (request line, headers and compressed body).
3. Pull over the wire: a client pulls them all, `--batch` at a time, as the agent asks (gzip), and throws them away:
   events/s and bytes per event on the wire (the answers' headers and compressed bodies).
4. Pull by the PC: window 2 is a real `township-agent` process; one `township-agent sync` round pulls the whole
   backlog, stores every event and folds every case (`agent.casebook`) in one transaction per batch: events/s from
   the start of the round to its end, and the agent's digest agreeing with the county's.
The machine's speed drifts within minutes (perf-notes): compare the three as ratios in the same round, and run
several rounds (`--rounds`); the medians are printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ingest_bench import free_port, make_events, request_head_bytes  # noqa: E402
from server.model.reference import load_reference  # noqa: E402

TOWNSHIP = "513422100"
BIN = Path(sys.executable).parent


def with_parents(events: list[dict]) -> list[dict]:
    """Each event names the case's head as its PC had it (protocol 2): the case's previous event."""
    last: dict[str, str] = {}
    for e in events:
        e["parents"] = [last[e["case_id"]]] if e["case_id"] in last else []
        last[e["case_id"]] = e["event_id"]
        e["at"] = e["at"].replace("+08:00", ".000+08:00")
    return events


def wait_port(port: int, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"nothing listens on {port}") from None
            time.sleep(0.05)


async def push(port: int, token: str, bodies: list[bytes]) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for body in bodies:
            async with session.post(f"http://127.0.0.1:{port}/api/v1/sync/push", data=body, headers=headers) as r:
                answer = await r.read()
                assert r.status == 200 and json.loads(answer)["refused"] == [] if b"refused" in answer else True
        return time.perf_counter() - started


async def pull_wire(port: int, token: str, batch: int) -> tuple[float, int, int]:
    """(seconds, events, bytes on the wire) of pulling everything, as the agent asks."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept-Encoding": "gzip"}
    cursor, events, wire = "", 0, 0
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        started = time.perf_counter()
        while True:
            body = gzip.compress(json.dumps({"cursor": cursor, "limit": batch}).encode())
            async with session.post(f"http://127.0.0.1:{port}/api/v1/sync/pull", data=body,
                                    headers={**headers, "Content-Encoding": "gzip"}) as r:
                raw = await r.read()
                assert r.status == 200, raw[:300]
                wire += len(raw) + sum(len(k) + len(v) + 4 for k, v in r.raw_headers) + 17
            answer = json.loads(gzip.decompress(raw))
            events += len(answer["events"])
            cursor = answer["cursor"]
            if not answer["has_more"]:
                return time.perf_counter() - started, events, wire


def pull_by_pc(work: Path, server_port: int, token: str, batch: int) -> tuple[float, dict]:
    port = free_port()
    config = work / "agent.toml"
    config.write_text(f'[agent]\nport = {port}\ndatabase = "agent.sqlite3"\nlog_level = "WARNING"\n'
                      f'[county]\nurl = "http://127.0.0.1:{server_port}"\ntoken = "{token}"\ntimeout_s = 120.0\n'
                      f"[sync]\ninterval_s = 3600\nearly_delay_s = 3600\nbatch_size = {batch}\n", encoding="utf-8")
    agent = subprocess.Popen([str(BIN / "township-agent"), "run", "--config", str(config)], cwd=REPO,
                             stderr=open(work / "agent.log", "w"))
    try:
        wait_port(port, agent)
        started = time.perf_counter()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/sync", method="POST", data=b"{}",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=1800) as resp:
            summary = json.loads(resp.read())
        took = time.perf_counter() - started
    finally:
        agent.terminate()
        agent.wait(30)
    return took, summary


def run_round(n_events: int, batch: int, seed: int, keep: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="pull-bench-"))
    port = free_port()
    config = work / "server.toml"
    config.write_text(f'[server]\nport = {port}\nadmin_token = "bench-admin-token-0000"\ndatabase = "county.sqlite3"\n'
                      f'log_level = "WARNING"\n[reference]\norg_units = "{REPO / "config" / "org_units.csv"}"\n'
                      f'catalog = "{REPO / "config" / "catalog.csv"}"\n', encoding="utf-8")
    tokens = []
    for name in ("window 1", "window 2"):
        out = subprocess.run([str(BIN / "county-server"), "agents", "add", "--township", TOWNSHIP, "--name", name,
                              "--json", "--config", str(config)], check=True, capture_output=True, text=True)
        tokens.append(json.loads(out.stdout))
    ref = load_reference(REPO / "config" / "org_units.csv", REPO / "config" / "catalog.csv")
    events = with_parents(make_events(TOWNSHIP, n_events, random.Random(seed), ref))
    enc = msgspec.json.Encoder()
    bodies = [gzip.compress(enc.encode({"agent_id": tokens[0]["agent_id"], "events": events[i:i + batch],
                                        "protocol_version": 2}), 6) for i in range(0, len(events), batch)]
    push_wire = sum(len(b) + request_head_bytes(port, tokens[0]["token"], len(b)) for b in bodies)
    server = subprocess.Popen([str(BIN / "county-server"), "serve", "--config", str(config)], cwd=REPO,
                              stderr=open(work / "server.log", "w"))
    try:
        wait_port(port, server)
        push_s = asyncio.run(push(port, tokens[0]["token"], bodies))
        wire_s, pulled, pull_wire_bytes = asyncio.run(pull_wire(port, tokens[1]["token"], batch))
        pc_s, summary = pull_by_pc(work, port, tokens[1]["token"], batch)
    finally:
        server.terminate()
        server.wait(30)
    assert pulled == n_events and summary["ok"] and summary["pulled"] == n_events, (pulled, summary)
    with sqlite3.connect(work / "agent.sqlite3") as db:
        (cases,) = db.execute("SELECT count(*) FROM cases").fetchone()
    if not keep:
        shutil.rmtree(work)
    return {"events": n_events, "cases": cases, "push_eps": n_events / push_s, "push_s": push_s,
            "push_bytes": push_wire / n_events, "wire_eps": n_events / wire_s, "wire_s": wire_s,
            "pull_bytes": pull_wire_bytes / n_events, "pc_eps": n_events / pc_s, "pc_s": pc_s,
            "agrees": summary["digest_agrees"], "work": str(work)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per push and per pull (the agent's default "
                        "pull batch is 1000)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args()
    results = []
    for r in range(args.rounds):
        res = run_round(args.events, args.batch, args.seed + r, args.keep)
        results.append(res)
        print(f"round {r + 1}: {res['events']:,} events, {res['cases']:,} cases | push {res['push_eps']:,.0f} "
              f"events/s ({res['push_s']:.1f} s, {res['push_bytes']:.0f} B/event) | pull over the wire "
              f"{res['wire_eps']:,.0f} events/s ({res['wire_s']:.1f} s, {res['pull_bytes']:.0f} B/event) | "
              f"pull by the PC, stored and folded {res['pc_eps']:,.0f} events/s ({res['pc_s']:.1f} s; digest "
              f"{'agrees' if res['agrees'] else 'DIFFERS'})" + (f"; files in {res['work']}" if args.keep else ""))
    med = {k: statistics.median(r[k] for r in results) for k in ("push_eps", "wire_eps", "pc_eps", "push_bytes",
                                                                 "pull_bytes")}
    print(f"median: push {med['push_eps']:,.0f} events/s, {med['push_bytes']:.0f} B/event | pull (wire) "
          f"{med['wire_eps']:,.0f} events/s = {med['wire_eps'] / med['push_eps']:.2f}x push, {med['pull_bytes']:.0f} "
          f"B/event | pull by the PC {med['pc_eps']:,.0f} events/s = {med['pc_eps'] / med['push_eps']:.2f}x push")


if __name__ == "__main__":
    main()
