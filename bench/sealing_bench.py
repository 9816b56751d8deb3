"""Sealing benchmark (a script, not a test): what storing ID numbers and phones sealed costs the county's ingest.

    .venv/bin/python bench/sealing_bench.py [--events 40000] [--batch 1000] [--rounds 3]

Per round, the same events (whole cases: each accepted with an ID number and a phone, 90 % completed, a third of
those rated) go through the real `Ingestor` in this process into a fresh SQLite file
twice: without a keyring (the baseline: stored in clear, as before sealing) and with one (sealed, with the search
hashes). Reported: events/s of each, the ratio sealed / clear (the median of the rounds), and the cost of sealing
and opening one value.

Target: ratio >= 0.85 (sealing costs ingest at most 15 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocol.ids import new_uuid7  # noqa: E402
from server.accounts.agents import register_agent  # noqa: E402
from server.ingest.ingestor import Ingestor  # noqa: E402
from server.model.reference import load_reference  # noqa: E402
from server.model.sealing import Keyring  # noqa: E402
from server.storage.sqlite.store import SqliteStore  # noqa: E402

TOWNSHIP = "513422100"
CHINA = timezone(timedelta(hours=8))


def cases_of(n_events: int, rng: random.Random, ref) -> list[dict]:
    """Whole cases in seq order: each accepted (ID number, phone), most completed, some rated (~45/40/15 %)."""
    units = [u.code for u in ref.units_under(TOWNSHIP)]
    items = list(ref.items.values())
    out: list[dict] = []
    start = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)
    while len(out) < n_events:
        i = len(out)
        case_id, item, at = new_uuid7(), rng.choice(items), start + timedelta(minutes=i)
        steps = [("accepted", {
            "case_no": f"{TOWNSHIP}01{at:%Y%m%d}{i % 10000:04d}", "item_code": item.code,
            "org_code": rng.choice(units), "channel": "window", "applicant_name": "扎西", "cert_type": "居民身份证",
            "cert_no": f"513422{rng.randint(1950, 2008)}0101{rng.randint(0, 9999):04d}",
            "phone": f"139{rng.randint(0, 99_999_999):08d}", "promised_days": item.promised_days})]
        if rng.random() < 0.9:
            steps.append(("completed", {"result": "approved"}))
            if rng.random() < 0.35:
                steps.append(("evaluated", {"rating": 5}))
        for k, (kind, data) in enumerate(steps):
            out.append({"event_id": new_uuid7(), "seq": len(out) + 1, "case_id": case_id, "kind": kind,
                        "at": (at + timedelta(seconds=k)).isoformat(timespec="seconds"), "data": data})
    return out[:n_events]


async def ingest(directory: Path, bodies: list[bytes], township: str, keys: Keyring | None, ref) -> float:
    store = SqliteStore(directory / "county.sqlite3", serving=True)
    await store.open()
    try:
        await store.upsert_reference(ref.org_units.values(), ref.items.values())
        agent, _ = await register_agent(store, ref, township, "窗口1")
        ingestor = Ingestor(store, ref, keys)
        started = time.perf_counter()
        for body in bodies:
            await ingestor.push_body(agent, body.replace(b"__AGENT__", agent.agent_id.encode()))
        return time.perf_counter() - started
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ref = load_reference(ROOT / "config" / "org_units.csv", ROOT / "config" / "catalog.csv")
    township = TOWNSHIP
    events = cases_of(args.events, random.Random(7), ref)
    bodies = [json.dumps({"agent_id": "__AGENT__", "events": events[i:i + args.batch]}, ensure_ascii=False).encode()
              for i in range(0, len(events), args.batch)]
    keys = Keyring.new()
    ratios = []
    for n in range(args.rounds):
        times = {}
        for label, ring in (("clear", None), ("sealed", keys)):
            with tempfile.TemporaryDirectory() as d:
                times[label] = asyncio.run(ingest(Path(d), bodies, township, ring, ref))
        ratio = times["clear"] / times["sealed"]
        ratios.append(ratio)
        print(f"round {n + 1}: clear {len(events) / times['clear']:,.0f} events/s, sealed "
              f"{len(events) / times['sealed']:,.0f} events/s, ratio sealed/clear {ratio:.3f}")
    n = 20_000
    fresh = Keyring(keys.current, keys.keys)  # nothing remembered: every value is new to it
    started = time.perf_counter()
    sealed = [fresh.seal(f"5134221990{i:07d}X", "cert_no") for i in range(n)]
    seal_us = (time.perf_counter() - started) / n * 1e6
    reader = Keyring(keys.current, keys.keys)
    started = time.perf_counter()
    for s in sealed:
        reader.open(s, "cert_no")
    open_us = (time.perf_counter() - started) / n * 1e6
    print(f"seal one value {seal_us:.1f} µs, open one {open_us:.1f} µs, sealed ID number {len(sealed[0])} chars")
    print(f"median ratio sealed/clear over {args.rounds} round(s): {statistics.median(ratios):.3f} (target >= 0.85)")


if __name__ == "__main__":
    main()
