"""A PC's attachments reach the county after the case's events, through a link that cuts the upload at random
bytes: the county ends with the identical file, each byte that crossed sent about once."""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from server.storage.files import attachments_dir
from tests.agent.conftest import accept_form
from tests.e2e.link import SlowLink
from tests.materials import png, sized_png
from tests.server.helpers import CountyServer
from tests.township.conftest import PC

UPLOAD = {"Content-Type": "application/octet-stream", "X-Desk-Upload": "1"}


async def attach(pc: TestClient, case_id: str, body: bytes, name: str = "户口簿.png") -> dict:
    resp = await pc.post(f"/api/cases/{case_id}/attachments", data=io.BytesIO(body),
                         headers=UPLOAD | {"X-File-Name": quote(name)})
    assert resp.status in (200, 201), await resp.text()
    return await resp.json()


async def new_case(pc: TestClient) -> dict:
    if (await pc.get("/api/reference")).status != 200:
        await pc.post("/api/sync", json={})  # the catalog first
    resp = await pc.post("/api/cases", json=accept_form(item_code="GG-0003"))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def sync(pc: TestClient) -> dict:
    return await (await pc.post("/api/sync?attachments=1", json={})).json()


def county_file(server: CountyServer, sha: str) -> Path:
    return attachments_dir(server.config.database) / "blobs" / sha[:2] / sha


@pytest.fixture
def link(county_server: CountyServer):
    proxy = SlowLink(int(county_server.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


async def test_an_upload_cut_twice_at_random_bytes_ends_with_the_identical_file(
        county_server: CountyServer, township_pc: PC, link: SlowLink) -> None:
    pc = await township_pc(county_url=link.url)
    case = await new_case(pc)
    scan = sized_png(700_000)
    sha = hashlib.sha256(scan).hexdigest()
    a = await attach(pc, case["case_id"], scan)
    rnd = random.Random(13)
    link.cuts = sorted(rnd.sample(range(1, len(scan)), 2))
    rounds = []
    for _ in range(6):
        rounds.append(await sync(pc))
        listed = await (await pc.get(f"/api/cases/{case['case_id']}/attachments")).json()
        if listed["attachments"][0]["upload_state"] == "uploaded":
            break
    assert link.cut_count == 2
    assert county_file(county_server, sha).read_bytes() == scan
    assert listed["attachments"][0]["upload_state"] == "uploaded"
    # The case's events went before the file, in the first round.
    assert rounds[0]["synced"] == 1
    assert sum(r["attachments"]["resumed"] for r in rounds) >= 2
    # Every byte the county kept crossed once: what crossed is the file, plus at most what was in flight at a cut.
    assert len(scan) <= link.upload_bytes <= len(scan) + 2 * 128 * 1024
    code, shown = await county_server.get(f"/api/v1/cases/{case['case_id']}/attachments")
    assert [x["attachment_id"] for x in shown["attachments"]] == [a["attachment_id"]]
    status = await (await pc.get("/api/status")).json()
    assert status["attachments"]["pending"] == 0


async def test_files_wait_for_their_cases_events_and_a_known_file_is_not_sent_again(
        county_server: CountyServer, township_pc: PC, link: SlowLink) -> None:
    first = await township_pc(county_url=link.url)
    second = await township_pc(name="窗口2", county_url=link.url)
    case = await new_case(first)
    scan = png(200, 200, noise=True)
    await attach(first, case["case_id"], scan)
    link.set_down(True)
    offline = await sync(first)
    assert offline["ok"] is False and "attachments" not in offline
    listed = await (await first.get(f"/api/cases/{case['case_id']}/attachments")).json()
    assert listed["attachments"][0]["upload_state"] == "pending"
    link.set_down(False)
    assert (await sync(first))["attachments"]["uploaded"] == 1
    other = await new_case(second)
    await attach(second, other["case_id"], scan)
    link.reset_counts()
    done = await sync(second)
    assert done["attachments"] == {"uploaded": 1, "bytes_sent": 0, "resumed": 0, "skipped": 0, "error": None}
    assert link.upload_bytes == 0  # the county held it: offered, never sent


async def test_the_lane_leaves_a_file_whose_case_has_events_still_to_push(
        county_server: CountyServer, township_pc: PC, link: SlowLink) -> None:
    pc = await township_pc(county_url=link.url)
    case = await new_case(pc)
    await attach(pc, case["case_id"], png(seed=9))
    from agent.http.api import SYNCER
    lane = pc.server.app[SYNCER].attachments
    assert lane is not None
    summary = await lane.upload_once()  # the events were never pushed
    assert (summary.uploaded, summary.bytes_sent) == (0, 0)
    assert link.upload_bytes == 0


async def test_events_go_while_a_large_file_is_still_uploading(county_server: CountyServer, township_pc: PC) -> None:
    from agent.http.api import SYNCER
    slow = SlowLink(int(county_server.url.rsplit(":", 1)[1]), rate_bytes_s=150_000)
    try:
        pc = await township_pc(county_url=slow.url)
        case = await new_case(pc)
        await attach(pc, case["case_id"], sized_png(1_200_000))
        assert (await (await pc.post("/api/sync", json={})).json())["synced"] == 1
        lane = pc.server.app[SYNCER].attachments
        assert lane is not None
        lane.kick()  # as the schedule does after a round that reached the county
        await asyncio.sleep(0.5)
        second = await new_case(pc)
        started = time.monotonic()
        round_ = await (await pc.post("/api/sync", json={})).json()
        assert round_["synced"] == 1 and lane.is_running  # the event went; the file is still on its way
        assert time.monotonic() - started < 5
        code, listed = await county_server.get(f"/api/v1/cases/{second['case_id']}/attachments")
        assert code == 200 and listed["attachments"] == []
        await lane.stop()
    finally:
        slow.close()


async def test_a_file_gone_from_the_pcs_disk_is_said_on_the_attachment_and_the_others_go(
        county_server: CountyServer, township_pc: PC, link: SlowLink) -> None:
    pc = await township_pc(county_url=link.url)
    case = await new_case(pc)
    lost = await attach(pc, case["case_id"], png(seed=21), name="丢失.png")
    kept = await attach(pc, case["case_id"], png(seed=22), name="留着.png")
    from agent.http.materials import MATERIALS
    pc.server.app[MATERIALS].blobs.path_of(lost["sha256"]).unlink()
    done = await sync(pc)
    assert done["attachments"]["uploaded"] == 1 and done["attachments"]["skipped"] == 1
    listed = {a["name"]: a for a in (await (await pc.get(f"/api/cases/{case['case_id']}/attachments")).json())
              ["attachments"]}
    assert listed["留着.png"]["upload_state"] == "uploaded" and kept["sha256"] == listed["留着.png"]["sha256"]
    assert listed["丢失.png"]["upload_state"] == "pending" and "重新添加" in listed["丢失.png"]["upload_error"]
