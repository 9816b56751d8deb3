"""Attachment upload benchmark (a script, not a test): scans of 1, 5 and 20 MB over a loopback link throttled to
256 kbit/s that cuts the upload twice, the resumable upload beside a plain single upload of the same file.

    .venv/bin/python bench/attachment_bench.py [--sizes-mb 1,5,20] [--rate-kbit 256] [--cuts 2] [--no-scale]

Per size:
1. A county server process (default config) and a PC registered with `county-server agents add`; the case's
   acceptance pushed first, as the agent does before its files.
2. Resumable: the agent's own lane (`agent.sync.attachments.AttachmentLane`: offer, chunks of 128 KiB at the
   county's offset, HEAD after a cut) through `tests/e2e/link.SlowLink`, which throttles both directions and cuts the
   upload at two random bytes of the file. Measured: every byte that crossed the link (request and answer heads,
   bodies, the offer and the HEADs) over the file's size, and the time to the county holding the file whole (its
   sha256 checked).
3. Plain: one request with the whole file (PATCH of a sink that reads the body) through the same link, cut at the
   same bytes of the file; a plain upload cannot continue, so each cut sends the file again from its first byte.
   Also its time with no cut at all (the floor: size / rate).

Scaling (`--no-scale` turns it off): 20 MB at 256 kbit/s is 11 minutes per upload. By default each file runs over a
link that is (size / 1 MB) times faster, so every upload takes about what 1 MB takes at 256 kbit/s, and the times are
multiplied back by that factor and printed as "at 256 kbit/s (scaled)". On loopback the link's rate is the only
bottleneck, so time scales with size / rate; the byte ratios do not depend on the rate at all. The 1 MB row is
measured at the true rate.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.attachments import BlobDir  # noqa: E402
from agent.records import Attachment  # noqa: E402
from agent.store import AgentStore  # noqa: E402
from agent.sync.attachments import AttachmentLane  # noqa: E402
from agent.sync.uplink import Uplink  # noqa: E402
from protocol.ids import new_uuid7  # noqa: E402
from scripts.cluster import Cluster, http_json  # noqa: E402
from server.storage.files import attachments_dir  # noqa: E402
from tests.e2e.link import SlowLink  # noqa: E402

TOWNSHIP = "513422100"
MB = 1024 * 1024
CHUNK_BYTES = 128 * 1024  # the agent's default [attachments] chunk_bytes


def scan_bytes(size: int) -> bytes:
    """A JPEG-like file of `size` bytes: a JPEG start, then bytes that do not compress (as a scan's do not)."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(size - 11)


_seqs = itertools.count(1)


def accepted_case(agent_id: str) -> dict:
    case_id = new_uuid7()
    return {"event_id": new_uuid7(), "seq": next(_seqs), "case_id": case_id, "kind": "accepted",
            "at": "2026-03-02T10:00:00.000+08:00", "parents": [],
            "data": {"case_no": f"{TOWNSHIP}0120260302{random.randint(1, 9999):04d}", "item_code": "GG-0004",
                     "org_code": f"{TOWNSHIP}000", "channel": "window", "applicant_name": "扎西",
                     "cert_type": "居民身份证", "cert_no": "51342219900101123X", "promised_days": 10}}


async def resumable(cluster: Cluster, token: str, agent_id: str, body: bytes, rate: float, cuts: list[int],
                    work: Path) -> tuple[int, float, int]:
    """(bytes on the wire, seconds, chunks resumed) of the agent's lane uploading `body`."""
    event = accepted_case(agent_id)
    code, answer = http_json("POST", f"{cluster.server_url}/api/v1/sync/push",
                             {"agent_id": agent_id, "events": [event], "software_version": "bench", "pending": 0},
                             token=token)
    assert code == 200 and not answer.get("refused"), answer
    store = await AgentStore.open(work / f"agent-{len(body)}.sqlite3")
    blobs = BlobDir.beside(store.path)
    sha = hashlib.sha256(body).hexdigest()
    blobs.path_of(sha).parent.mkdir(parents=True, exist_ok=True)
    blobs.path_of(sha).write_bytes(body)
    await store.add_attachment(Attachment(new_uuid7(), event["case_id"], sha, "scan.jpg", "image/jpeg", len(body),
                                          "2026-03-02T10:01:00+08:00", "pending", None, None))
    link = SlowLink(cluster.server_port, rate_bytes_s=rate)
    link.cuts = sorted(cuts)
    uplink = Uplink(link.url, token, timeout_s=60, attempts=1, backoff_initial_s=0.1, backoff_max_s=1)
    lane = AttachmentLane(store, blobs, uplink, chunk_bytes=CHUNK_BYTES)
    started = time.monotonic()
    resumed = 0
    try:
        while True:
            summary = await lane.upload_once()
            resumed += summary.resumed
            if summary.uploaded:
                break
            if summary.error is None:
                raise RuntimeError(f"nothing uploaded: {summary}")
    finally:
        took = time.monotonic() - started
        await uplink.close()
        await store.close()
        link.close()
    blob = attachments_dir(cluster.base / "county.sqlite3") / "blobs" / sha[:2] / sha
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha, "the county's copy differs"
    assert link.cut_count == len(cuts), (link.cut_count, cuts)
    return link.wire_bytes, took, resumed


async def plain(body: bytes, rate: float, cuts: list[int]) -> tuple[int, float, int]:
    """(bytes on the wire, seconds, attempts) of one request with the whole file, sent again whole after a cut."""
    received: list[int] = []

    async def sink(request: web.Request) -> web.Response:
        digest, n = hashlib.sha256(), 0
        try:
            async for chunk in request.content.iter_any():
                digest.update(chunk)
                n += len(chunk)
        except ConnectionError:  # the cut: a plain upload's bytes so far are worth nothing
            return web.Response(status=499)
        received.append(n)
        return web.json_response({"sha256": digest.hexdigest(), "size_bytes": n})

    app = web.Application(client_max_size=64 * MB)
    app.router.add_patch("/plain", sink)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    link = SlowLink(port, rate_bytes_s=rate)
    # The same bytes of the file as the resumable run: each attempt starts at byte 0, so the k-th cut falls that
    # far into the k-th attempt.
    link.cuts, total = [], 0
    for cut in sorted(cuts):
        total += cut
        link.cuts.append(total)
    attempts = 0
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as session:
            while True:
                attempts += 1
                try:
                    async with session.patch(f"{link.url}/plain", data=body, headers={
                            "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}) as r:
                        answer = await r.json()
                    if answer["size_bytes"] == len(body):
                        break
                except (aiohttp.ClientError, OSError):
                    await asyncio.sleep(0.1)
    finally:
        took = time.monotonic() - started
        link.close()
        await runner.cleanup()
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    return link.wire_bytes, took, attempts


async def run(args: argparse.Namespace) -> None:
    rate_256 = args.rate_kbit * 1000 / 8  # bytes per second
    work = Path(tempfile.mkdtemp(prefix="attachment-bench-"))
    cluster = Cluster(work / "cluster")
    cluster.server.start()
    out = json.loads(cluster.county("agents", "add", "--township", TOWNSHIP, "--name", "bench", "--json"))
    token, agent_id = out["token"], out["agent_id"]
    rows = []
    try:
        for size_mb in args.sizes_mb:
            size = int(size_mb * MB)
            scale = max(1.0, size / MB) if args.scale else 1.0
            rate = rate_256 * scale
            body = scan_bytes(size)
            cuts = sorted(random.Random(args.seed + size).sample(range(CHUNK_BYTES // 3, size), args.cuts))
            r_bytes, r_s, resumed = await resumable(cluster, token, agent_id, body, rate, cuts, work)
            p_bytes, p_s, attempts = await plain(body, rate, cuts)
            floor_s = size / rate_256
            row = {"size_mb": size_mb, "scale": scale, "cuts": cuts,
                   "resumable_wire_ratio": r_bytes / size, "resumable_s": r_s * scale, "resumed_chunks": resumed,
                   "plain_wire_ratio": p_bytes / size, "plain_s": p_s * scale, "plain_attempts": attempts,
                   "floor_s": floor_s}
            rows.append(row)
            print(f"{size_mb:>5} MB  x{scale:<4g} resumable: {row['resumable_wire_ratio']:.4f} bytes/byte, "
                  f"{row['resumable_s']:7.1f} s ({resumed} chunks resumed) | plain: {row['plain_wire_ratio']:.4f} "
                  f"bytes/byte, {row['plain_s']:7.1f} s ({attempts} attempts) | floor {floor_s:7.1f} s | "
                  f"time resumable/plain {row['resumable_s'] / row['plain_s']:.2f}", flush=True)
    finally:
        cluster.stop_all()
    how = "scaled" if args.scale else "measured"
    print(f"\nat {args.rate_kbit:g} kbit/s ({how}), {args.cuts} cuts per upload at random bytes of the file, "
          f"chunks of {CHUNK_BYTES // 1024} KiB:")
    print("| file | resumable: wire / file | resumable: time | plain: wire / file | plain: time | no-cut floor |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['size_mb']:g} MB | {r['resumable_wire_ratio']:.3f} | {r['resumable_s']:.0f} s | "
              f"{r['plain_wire_ratio']:.3f} | {r['plain_s']:.0f} s | {r['floor_s']:.0f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mb", default="1,5,20", type=lambda v: [float(x) for x in v.split(",")])
    parser.add_argument("--rate-kbit", type=float, default=256.0)
    parser.add_argument("--cuts", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-scale", dest="scale", action="store_false",
                        help="run every size at the true rate (20 MB: about 11 minutes per upload)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
