"""The county's side of scanned materials: a resumable upload scoped to the agent's township and cases, every byte
that arrived kept, a wrong hash or type refused, the same file stored once, quotas per PC, and the dashboard's
reads behind a login with safe headers."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import aiohttp

from protocol.ids import new_uuid7
from server.storage.files import attachments_dir
from tests.materials import EXE, png, sized_png
from tests.server.helpers import ADMIN_TOKEN, METRICS_TOKEN, QIAOWA, WACHANG, CountyServer, TownshipAgent

CHUNK = "application/offset+octet-stream"


def offer_of(case_id: str, body: bytes, media_type: str = "image/png", **extra: Any) -> dict[str, Any]:
    return {"attachment_id": new_uuid7(), "case_id": case_id, "sha256": hashlib.sha256(body).hexdigest(),
            "size_bytes": len(body), "media_type": media_type, "name": "身份证.png",
            "added_at": "2026-03-02T10:01:00+08:00", **extra}


async def offer(server: CountyServer, agent: TownshipAgent, body: dict[str, Any]) -> tuple[int, Any]:
    async with server.session.post(f"{server.url}/api/v1/attachments", json=body,
                                   headers={"Authorization": f"Bearer {agent.token}"}) as r:
        return r.status, await r.json()


async def patch(server: CountyServer, agent: TownshipAgent, sha: str, offset: int, data: bytes
                ) -> tuple[int, dict[str, str], Any]:
    async with server.session.patch(f"{server.url}/api/v1/uploads/{sha}", data=data, headers={
            "Authorization": f"Bearer {agent.token}", "Content-Type": CHUNK, "Upload-Offset": str(offset)}) as r:
        body = await r.json() if r.content_type == "application/json" else None
        return r.status, dict(r.headers), body


async def head(server: CountyServer, agent: TownshipAgent, sha: str) -> tuple[int, int | None]:
    async with server.session.head(f"{server.url}/api/v1/uploads/{sha}",
                                   headers={"Authorization": f"Bearer {agent.token}"}) as r:
        return r.status, int(r.headers["Upload-Offset"]) if "Upload-Offset" in r.headers else None


async def case_of(server: CountyServer, agent: TownshipAgent) -> str:
    accepted = agent.accepted()
    await server.push(agent, [accepted])
    return accepted["case_id"]


def blob(server: CountyServer, sha: str) -> Path:
    return attachments_dir(server.config.database) / "blobs" / sha[:2] / sha


async def test_a_file_sent_in_chunks_is_stored_whole_under_its_hash_and_shown_to_readers(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    case_id = await case_of(county_server, qiaowa)
    scan = sized_png(300_000)
    sha = hashlib.sha256(scan).hexdigest()
    status, state = await offer(county_server, qiaowa, offer_of(case_id, scan))
    assert status == 200 and state == {"sha256": sha, "size_bytes": len(scan), "offset": 0, "is_complete": False}
    offset = 0
    for start in range(0, len(scan), 100_000):
        status, headers, body = await patch(county_server, qiaowa, sha, offset, scan[start:start + 100_000])
        offset = int(headers["Upload-Offset"]) if status == 204 else len(scan)
    assert status == 200 and body["is_complete"] is True
    assert blob(county_server, sha).read_bytes() == scan
    code, listed = await county_server.get(f"/api/v1/cases/{case_id}/attachments")
    assert code == 200 and [a["sha256"] for a in listed["attachments"]] == [sha]
    assert listed["attachments"][0]["is_stored"] is True
    async with county_server.session.get(county_server.url + listed["attachments"][0]["url"],
                                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        assert r.status == 200 and await r.read() == scan
        assert r.headers["Content-Type"] == "image/png" and r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"].startswith("inline;")
        assert "sandbox" in r.headers["Content-Security-Policy"]
    async with county_server.session.get(county_server.url + listed["attachments"][0]["url"]) as r:
        assert r.status == 401  # no login, no file
    async with county_server.session.get(f"{county_server.url}/api/v1/cases/{case_id}/attachments") as r:
        assert r.status == 401


async def test_a_cut_chunk_keeps_what_arrived_and_the_upload_continues_there(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    case_id = await case_of(county_server, qiaowa)
    scan = sized_png(200_000)
    sha = hashlib.sha256(scan).hexdigest()
    await offer(county_server, qiaowa, offer_of(case_id, scan))
    cut_at = 77_777
    # A request that announces the whole file but whose connection closes after `cut_at` bytes.
    host, port = county_server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write((f"PATCH /api/v1/uploads/{sha} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {qiaowa.token}\r\n"
                  f"Content-Type: {CHUNK}\r\nUpload-Offset: 0\r\nContent-Length: {len(scan)}\r\n\r\n").encode()
                 + scan[:1000])
    await writer.drain()
    await asyncio.sleep(0.3)  # the county is reading the body when the link dies
    writer.write(scan[1000:cut_at])
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()
    await writer.wait_closed()
    for _ in range(50):
        status, held = await head(county_server, qiaowa, sha)
        if held == cut_at:
            break
        await asyncio.sleep(0.05)
    assert (status, held) == (200, cut_at)
    wrong = await patch(county_server, qiaowa, sha, 0, scan)
    assert wrong[0] == 409 and wrong[2]["code"] == "upload_offset_mismatch" and wrong[1]["Upload-Offset"] == str(cut_at)
    status, _, body = await patch(county_server, qiaowa, sha, cut_at, scan[cut_at:])
    assert status == 200 and body["is_complete"]
    assert hashlib.sha256(blob(county_server, sha).read_bytes()).hexdigest() == sha


async def test_bytes_that_are_not_the_offered_hash_are_dropped_and_the_upload_starts_again(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    case_id = await case_of(county_server, qiaowa)
    scan = png(seed=5)
    forged = bytearray(scan)
    forged[-20] ^= 0xFF
    sha = hashlib.sha256(scan).hexdigest()
    await offer(county_server, qiaowa, offer_of(case_id, scan))
    status, _, body = await patch(county_server, qiaowa, sha, 0, bytes(forged))
    assert status == 422 and body["code"] == "attachment_hash_mismatch"
    assert not blob(county_server, sha).exists()
    assert (await head(county_server, qiaowa, sha))[0] == 404
    status, state = await offer(county_server, qiaowa, offer_of(case_id, scan))
    assert state["offset"] == 0 and not state["is_complete"]
    assert (await patch(county_server, qiaowa, sha, 0, scan))[0] == 200
    async with county_server.session.get(f"{county_server.url}/metrics",
                                         headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as r:
        text = await r.text()
    assert 'county_server_attachments_total{outcome="hash_mismatch"} 1.0' in text
    assert 'county_server_attachments_total{outcome="stored"} 1.0' in text
    assert f"county_server_attachment_bytes_total {2 * len(scan)}.0" in text


async def test_an_exe_offered_as_a_png_is_refused_once_its_bytes_are_in(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    case_id = await case_of(county_server, qiaowa)
    sha = hashlib.sha256(EXE).hexdigest()
    await offer(county_server, qiaowa, offer_of(case_id, EXE))
    status, _, body = await patch(county_server, qiaowa, sha, 0, EXE)
    assert status == 415 and body["code"] == "attachment_type"
    assert not blob(county_server, sha).exists()
    code, listed = await county_server.get(f"/api/v1/cases/{case_id}/attachments")
    assert [a["is_stored"] for a in listed["attachments"]] == [False]
    status, body = await offer(county_server, qiaowa, offer_of(case_id, EXE, media_type="application/x-msdownload"))
    assert status == 415 and body["code"] == "attachment_type"


async def test_offers_are_scoped_to_the_agents_township_and_to_cases_the_county_holds(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    wachang = await county_server.add_agent(WACHANG)
    case_id = await case_of(county_server, qiaowa)
    scan = png(seed=6)
    status, body = await offer(county_server, wachang, offer_of(case_id, scan))
    assert status == 403 and body["code"] == "wrong_township"
    status, body = await offer(county_server, qiaowa, offer_of(new_uuid7(), scan))
    assert status == 409 and body["code"] == "attachment_case_unknown"
    # Another township's PC cannot write to, nor read the offset of, this PC's upload.
    await offer(county_server, qiaowa, offer_of(case_id, scan))
    sha = hashlib.sha256(scan).hexdigest()
    assert (await patch(county_server, wachang, sha, 0, scan))[0] == 404
    assert (await head(county_server, wachang, sha))[0] == 404
    async with county_server.session.post(f"{county_server.url}/api/v1/attachments", json=offer_of(case_id, scan)) as r:
        assert r.status == 401


async def test_the_same_file_from_a_second_pc_is_never_sent_or_stored_twice(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    second = await county_server.add_agent(QIAOWA, "窗口2")
    case_id = await case_of(county_server, qiaowa)
    scan = png(seed=7)
    sha = hashlib.sha256(scan).hexdigest()
    await offer(county_server, qiaowa, offer_of(case_id, scan))
    assert (await patch(county_server, qiaowa, sha, 0, scan))[0] == 200
    other_case = await case_of(county_server, second)
    status, state = await offer(county_server, second, offer_of(other_case, scan))
    assert status == 200 and state["is_complete"] and state["offset"] == len(scan)
    files = [p for p in (attachments_dir(county_server.config.database) / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 1
    again = offer_of(case_id, scan)
    status, state = await offer(county_server, qiaowa, again)
    assert state["is_complete"]
    code, listed = await county_server.get(f"/api/v1/cases/{case_id}/attachments")
    assert len(listed["attachments"]) == 1  # a case holds a file once


async def test_a_chunk_needs_its_type_and_offset(county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    case_id = await case_of(county_server, qiaowa)
    scan = png(seed=8)
    sha = hashlib.sha256(scan).hexdigest()
    await offer(county_server, qiaowa, offer_of(case_id, scan))
    async with county_server.session.patch(f"{county_server.url}/api/v1/uploads/{sha}", data=scan, headers={
            "Authorization": f"Bearer {qiaowa.token}", "Content-Type": "application/octet-stream"}) as r:
        assert r.status == 415 and (await r.json())["code"] == "chunk_type_required"
    status, _, body = await patch(county_server, qiaowa, sha, 0, scan + b"more")
    assert status == 422 and body["code"] == "bad_request"
    assert isinstance(aiohttp.__version__, str)
