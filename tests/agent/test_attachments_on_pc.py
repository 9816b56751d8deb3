"""Scanned materials on the PC: stored at once under their hash, once however often attached, typed by content,
within the limits, listed and shown; the upload route is closed to other pages."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path
from urllib.parse import quote

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app
from agent.store import AgentStore
from protocol.materials import HEIC, JPEG, PDF, PNG, TIFF, WEBP, sniff
from tests.agent.conftest import accept_form, agent_config, seed_reference
from tests.materials import EXE, pdf, png

UPLOAD = {"Content-Type": "application/octet-stream", "X-Desk-Upload": "1"}


async def new_case(client: TestClient) -> str:
    resp = await client.post("/api/cases", json=accept_form())
    assert resp.status == 201
    return (await resp.json())["case_id"]


async def attach(client: TestClient, case_id: str, body: bytes, name: str = "身份证.png", **headers: str):
    return await client.post(f"/api/cases/{case_id}/attachments", data=body,
                             headers=UPLOAD | {"X-File-Name": quote(name)} | headers)


def test_types_are_told_by_their_first_bytes():
    assert sniff(png()[:16]) == PNG
    assert sniff(pdf()[:16]) == PDF
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01") == JPEG
    assert sniff(b"II*\x00\x08\x00\x00\x00" + b"\x00" * 8) == TIFF
    assert sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == WEBP
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == HEIC
    assert sniff(EXE[:16]) is None
    assert sniff(b"<html><script>") is None


async def test_a_scan_is_stored_at_once_under_its_hash_and_listed_on_the_case(agent_client, tmp_path):
    case_id = await new_case(agent_client)
    scan = png(seed=1)
    resp = await attach(agent_client, case_id, scan)
    assert resp.status == 201
    a = await resp.json()
    sha = hashlib.sha256(scan).hexdigest()
    assert (a["sha256"], a["size_bytes"], a["media_type"], a["name"]) == (sha, len(scan), PNG, "身份证.png")
    assert a["upload_state"] == "pending"
    assert (tmp_path / "agent.sqlite3.attachments" / sha[:2] / sha).read_bytes() == scan
    listed = await (await agent_client.get(f"/api/cases/{case_id}/attachments")).json()
    assert [x["attachment_id"] for x in listed["attachments"]] == [a["attachment_id"]]
    assert listed["limits"]["used_bytes"] == len(scan)
    metrics = await (await agent_client.get("/metrics")).text()
    assert "township_agent_attachments_pending 1.0" in metrics
    assert f"township_agent_attachment_bytes {len(scan)}.0" in metrics
    assert (await (await agent_client.get("/api/status")).json())["attachments"]["pending"] == 1
    shown = await agent_client.get(a["url"])
    assert shown.status == 200 and await shown.read() == scan
    assert shown.headers["Content-Type"] == PNG
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert "default-src 'none'" in shown.headers["Content-Security-Policy"]


async def test_the_same_file_is_stored_once_for_two_cases_and_once_per_case(agent_client, tmp_path):
    first, second = await new_case(agent_client), await new_case(agent_client)
    scan = png(seed=2)
    a = await (await attach(agent_client, first, scan)).json()
    again = await attach(agent_client, first, scan, name="again.png")
    assert again.status == 200 and (await again.json())["attachment_id"] == a["attachment_id"]
    b = await (await attach(agent_client, second, scan)).json()
    assert b["attachment_id"] != a["attachment_id"] and b["sha256"] == a["sha256"]
    files = [p for p in (tmp_path / "agent.sqlite3.attachments").rglob("*") if p.is_file()]
    assert len(files) == 1
    listed = await (await agent_client.get(f"/api/cases/{second}/attachments")).json()
    assert listed["limits"]["used_bytes"] == len(scan)  # each file counted once against the PC's limit


async def test_an_exe_named_jpg_and_an_empty_file_are_refused_in_chinese_and_nothing_is_kept(agent_client, tmp_path):
    case_id = await new_case(agent_client)
    for body in (EXE, b"", b"%PD"):
        resp = await attach(agent_client, case_id, body, name="照片.jpg")
        assert resp.status == 422
        err = await resp.json()
        assert err["code"] == "invalid_input" and "没有保存" in err["message"] and "file" in err["fields"]
    assert [p for p in (tmp_path / "agent.sqlite3.attachments").rglob("*") if p.is_file()] == []
    assert (await (await agent_client.get(f"/api/cases/{case_id}/attachments")).json())["attachments"] == []


async def test_limits_per_file_and_per_pc_come_from_config_with_a_clear_message(tmp_path: Path):
    config = dataclasses.replace(agent_config(tmp_path), attachment_max_file_bytes=20_000,
                                 attachment_max_total_bytes=30_000)
    store = await AgentStore.open(config.database)
    await seed_reference(store)
    await store.close()
    async with TestClient(TestServer(build_app(config, run_schedule=False), host="127.0.0.1")) as client:
        case_id = await new_case(client)
        big = png(120, 120, noise=True)
        assert len(big) > 20_000
        resp = await attach(client, case_id, big)
        err = await resp.json()
        assert resp.status == 422 and "每份材料最大" in err["message"]
        # Without a Content-Length (chunked), the limit holds while reading.
        async def chunks():
            yield big[:10_000]
            yield big[10_000:]
        resp = await client.post(f"/api/cases/{case_id}/attachments", data=chunks(), headers=UPLOAD)
        assert resp.status == 422 and "每份材料最大" in (await resp.json())["message"]
        small = [png(70, 60, noise=True, seed=i) for i in range(3)]
        assert all(10_000 < len(s) < 20_000 for s in small)
        assert (await attach(client, case_id, small[0])).status == 201
        assert (await attach(client, case_id, small[1])).status == 201
        resp = await attach(client, case_id, small[2])
        assert resp.status == 422 and "本机保存的材料已达上限" in (await resp.json())["message"]
        listed = await (await client.get(f"/api/cases/{case_id}/attachments")).json()
        assert len(listed["attachments"]) == 2
    assert len([p for p in (tmp_path / "agent.sqlite3.attachments").rglob("*") if p.is_file()]) == 2


async def test_uploads_need_the_pages_header_and_type_and_no_foreign_origin(agent_client):
    case_id = await new_case(agent_client)
    url = f"/api/cases/{case_id}/attachments"
    scan = png(seed=3)
    plain = await agent_client.post(url, data=scan, headers={"Content-Type": "text/plain"})
    assert plain.status == 415 and (await plain.json())["code"] == "upload_required"
    no_header = await agent_client.post(url, data=scan, headers={"Content-Type": "application/octet-stream"})
    assert no_header.status == 415
    form_data = aiohttp.FormData()
    form_data.add_field("file", io.BytesIO(scan), filename="scan.png")
    form = await agent_client.post(url, data=form_data)  # a form post, multipart
    assert form.status == 415
    foreign = await agent_client.post(url, data=scan, headers=UPLOAD | {"Origin": "http://evil.example"})
    assert foreign.status == 403 and (await foreign.json())["code"] == "cross_origin"
    assert (await (await agent_client.get(url)).json())["attachments"] == []


async def test_a_file_for_an_unknown_case_or_an_unknown_file_is_a_404(agent_client):
    resp = await attach(agent_client, "00000000-0000-4000-8000-000000000000", png())
    assert resp.status == 404
    assert (await agent_client.get("/api/attachments/nope/file")).status == 404


async def test_tiff_is_offered_as_a_download_with_a_safe_name(agent_client):
    case_id = await new_case(agent_client)
    tiff = b"II*\x00\x08\x00\x00\x00" + bytes(range(256)) * 4
    a = await (await attach(agent_client, case_id, tiff, name='../../etc/"户口簿".tif')).json()
    assert a["name"] == "户口簿.tif" and a["media_type"] == TIFF and a["is_inline"] is False
    shown = await agent_client.get(a["url"])
    assert shown.headers["Content-Disposition"].startswith("attachment;")
