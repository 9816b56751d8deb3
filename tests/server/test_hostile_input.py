"""Hostile input to the county API, as an attacker with or without a PC's token would send it: gzip bombs and broken
streams, unbounded strings and numbers, times from year 1 to 9999, NUL bytes, deep JSON. Each answers a 4xx with the
one error shape, or refuses the one event with a reason; never a 500, and nothing is stored half."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from protocol.codes import message_of
from protocol.lifecycle import CHINA_TZ
from protocol.messages import MAX_OFFSET_MS
from server.app import build_app
from server.config import load_config
from server.model.event_time import EVENT_TIME_FUTURE, EVENT_TIME_PAST
from tests import database
from tests.server.attacks import gzip_bomb, post_head, raw_request
from tests.server.helpers import ADMIN_TOKEN, CountyServer, TownshipAgent, config_text


def _db(server: CountyServer) -> Any:
    return database.connect(server.config)


def _count(server: CountyServer, table: str) -> int:
    with _db(server) as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


async def _post(server: CountyServer, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    async with server.session.post(f"{server.url}{path}", data=io.BytesIO(body), headers=headers) as r:
        return r.status, await r.json()


def _push_headers(agent: TownshipAgent | None, encoding: str | None = "gzip") -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if agent is not None:
        h["Authorization"] = f"Bearer {agent.token}"
    if encoding:
        h["Content-Encoding"] = encoding
    return h


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb()


async def test_a_gzip_bomb_is_refused_with_413_at_the_size_limit_whoever_sends_it(county_server, qiaowa, bomb):
    assert len(bomb) < 1_100_000 and county_server.config.max_body_bytes == 262_144
    for path, agent, status, code in (("/api/v1/sync/push", qiaowa, 413, "too_large"),
                                      ("/api/v1/sync/push", None, 401, "unauthorized"),
                                      ("/api/v1/session", None, 413, "too_large")):
        started = time.monotonic()
        answer = await _post(county_server, path, bomb, _push_headers(agent))
        assert answer[0] == status and answer[1]["code"] == code, (path, answer)
        assert time.monotonic() - started < 2.0
    assert _count(county_server, "events") == 0


async def test_the_event_loop_keeps_answering_while_four_bombs_arrive(county_server, qiaowa, bomb):
    worst = 0.0

    async def poll(until: float) -> None:
        nonlocal worst
        while time.monotonic() < until:
            started = time.monotonic()
            async with county_server.session.get(f"{county_server.url}/healthz") as r:
                assert r.status == 200
            worst = max(worst, time.monotonic() - started)
            await asyncio.sleep(0.02)

    async def send(agent) -> int:
        return (await _post(county_server, "/api/v1/sync/push", bomb, _push_headers(agent)))[0]

    poller = asyncio.ensure_future(poll(time.monotonic() + 3))
    statuses = await asyncio.gather(*(send(agent) for agent in (qiaowa, None, qiaowa, None)))
    await poller
    assert statuses == [413, 401, 413, 401]
    assert worst < 1.0


# mtime=0: the same bytes, so the same test ids, in every pytest-xdist worker
@pytest.mark.parametrize(("body", "code", "status"), [
    (gzip.compress(b'{"agent_id": "x", "events": []}', mtime=0)[:-12], "bad_json", 400),  # cut off
    (gzip.compress(b'{"agent_id": "x", "events": []}', mtime=0) + b"trailing", "bad_json", 400),
    (b"not gzip at all", "bad_json", 400),
])
async def test_a_broken_gzip_stream_is_bad_json(county_server, qiaowa, body, code, status):
    answer = await _post(county_server, "/api/v1/sync/push", body, _push_headers(qiaowa))
    assert answer[0] == status and answer[1]["code"] == code


async def test_deflate_and_plain_bodies_are_read_and_other_encodings_are_refused(county_server, qiaowa):
    body = json.dumps({"agent_id": qiaowa.agent_id, "events": [qiaowa.accepted()]}).encode()
    assert (await _post(county_server, "/api/v1/sync/push", zlib.compress(body), _push_headers(qiaowa, "deflate"))
            )[1]["stored"] == 1
    for encoding in ("br", "zstd", "gzip, br", "compress"):
        status, answer = await _post(county_server, "/api/v1/sync/push", body, _push_headers(qiaowa, encoding))
        assert (status, answer["code"]) == (415, "unsupported_encoding"), encoding


async def test_deeply_nested_json_is_bad_json_in_a_push_and_in_a_login(county_server, qiaowa):
    deep = b"[" * 100_000 + b"]" * 100_000
    for body in (b'{"agent_id": "%s", "events": [{"data": %s}]}' % (qiaowa.agent_id.encode(), deep),
                 b'{"agent_id": "%s", "events": [%s]}' % (qiaowa.agent_id.encode(), deep), deep):
        status, answer = await _post(county_server, "/api/v1/sync/push", gzip.compress(body), _push_headers(qiaowa))
        assert 400 <= status < 500 and answer["code"] in ("bad_json", "bad_request"), answer
    status, answer = await _post(county_server, "/api/v1/session", b'{"name": %s}' % deep[99_000:101_000],
                                 {"Content-Type": "application/json"})  # 1,000 deep: within the login's 4 KiB
    assert 400 <= status < 500 and answer["code"] in ("bad_json", "bad_request")


async def test_unbounded_strings_and_numbers_of_the_envelope_are_refused_whole(county_server, qiaowa):
    for extra in ({"software_version": "x" * 65}, {"software_version": "x" * 15_000_000},
                  {"pending": 2**70}, {"pending": -1}, {"agent_id": "x" * 10_000}):
        body = gzip.compress(json.dumps({"agent_id": qiaowa.agent_id, "events": [qiaowa.accepted()], **extra}).encode())
        status, answer = await _post(county_server, "/api/v1/sync/push", body, _push_headers(qiaowa))
        assert 400 <= status < 500 and answer["message"], extra
    qiaowa.seq = 0  # none of those was stored
    body = {"agent_id": qiaowa.agent_id, "events": [], "software_version": "v" * 64, "pending": 10**9}
    async with await county_server.post_push(body, token=qiaowa.token) as r:
        assert r.status == 200
    assert _count(county_server, "events") == 0


async def test_a_seq_no_database_can_hold_is_refused_with_the_event_and_nothing_is_stored(county_server, qiaowa):
    good = qiaowa.accepted()
    for seq in (2**63, 2**64, 10**30):
        bad = dict(qiaowa.accepted(), seq=seq)
        answer = await county_server.push(qiaowa, [good, bad])
        assert [r["code"] for r in answer["refused"]] == ["invalid_event"]
        assert "seq" in answer["refused"][0]["detail"]
    assert answer["acked_seq"] == 1  # the good event; the bad one cannot be acknowledged by any seq
    assert _count(county_server, "events") == 1 and _count(county_server, "refused_events") == 0


async def test_an_offset_beyond_any_clock_is_refused_per_event_and_acknowledged(county_server, qiaowa):
    events = [dict(qiaowa.accepted(), offset_ms=offset) for offset in (10**18, -(2**63), MAX_OFFSET_MS + 1)]
    answer = await county_server.push(qiaowa, events)
    assert [(r["seq"], r["code"]) for r in answer["refused"]] == [(1, "invalid_event"), (2, "invalid_event"),
                                                                  (3, "invalid_event")]
    assert answer["acked_seq"] == 3 and answer["stored"] == 0  # refused for good: the agent quarantines them


def _china(delta: timedelta) -> str:
    """Now plus `delta`, as a PC on China time writes it."""
    return (datetime.now(UTC) + delta).astimezone(CHINA_TZ).isoformat(timespec="seconds")


async def test_event_times_outside_the_plausibility_window_are_refused_with_a_reason(county_server, qiaowa):
    times = ["9999-12-31T23:59:59+08:00", "0001-01-01T00:00:00+08:00", "0001-01-01T00:30:00+09:00",
             "9999-12-31T23:59:59-10:00", "1970-01-01T08:00:00+08:00", _china(timedelta(days=2)),
             _china(timedelta(days=-3660))]
    answer = await county_server.push(qiaowa, [qiaowa.accepted(at) for at in times])
    codes = [r["code"] for r in answer["refused"]]
    assert len(codes) == len(times) and set(codes) <= {"implausible_time", "invalid_event"}
    assert codes[0] == codes[1] == codes[4] == codes[5] == codes[6] == "implausible_time"
    assert all(r["message"] and r["detail"] for r in answer["refused"])
    assert answer["acked_seq"] == len(times) and _count(county_server, "cases") == 0
    # Inside the window, old and new: stored. A PC clock 26 years slow whose offset corrects it is inside too.
    pc_minus_server = datetime(2000, 6, 1, 1, tzinfo=UTC) - datetime.now(UTC)
    slow = dict(qiaowa.accepted("2000-06-01T09:00:00+08:00"), offset_ms=int(pc_minus_server.total_seconds() * 1000))
    answer = await county_server.push(qiaowa, [qiaowa.accepted(_china(timedelta(days=-3000))),
                                               qiaowa.accepted(_china(timedelta(hours=12))), slow])
    assert answer.get("refused", []) == [] and answer["stored"] == 3


async def test_an_at_with_a_million_digits_is_refused(county_server, qiaowa):
    answer = await county_server.push(qiaowa, [qiaowa.accepted("2026-03-02T10:00:00." + "1" * 1_000 + "+08:00")])
    assert [r["code"] for r in answer["refused"]] == ["invalid_event"]


@pytest.mark.parametrize("query", [
    "period=0000", "period=9999", "period=9999-12", "period=9999-Q4", "period=0000-01-01",
    "from=0001-01-01&to=0001-12-31",
    "from=2026-01-01&to=9999-12-31", "as_of=9999-12-31", "as_of=0001-01-01", "period=2026&as_of=2026-13-01",
    "org=5134%00", "period=2026%00"])
async def test_hostile_query_parameters_answer_4xx_on_every_figure_route(county_server, query):
    for route in ("overview", "units", "summary", "cases", "export/units", "export/cases"):
        status, body = await _get(county_server, f"/api/v1/{route}?{query}&figure=accepted")
        assert 400 <= status < 500, (route, query, status, body)
        assert body["code"] in ("bad_request", "invalid_filter") and body["message"]


@pytest.mark.parametrize("query", ["limit=99999999999999999999999", "offset=-1", "offset=1e9", "limit=0",
                                   "sort=%00", "order=sideways", "figure=../../etc"])
async def test_hostile_paging_of_a_case_list_answers_4xx(county_server, query):
    for route in ("cases", "export/cases"):
        status, body = await _get(county_server, f"/api/v1/{route}?{query}&figure=accepted")
        assert 400 <= status < 500, (route, query, status, body)
        assert body["code"] in ("bad_request", "invalid_filter") and body["message"]


async def _get(server: CountyServer, path: str) -> tuple[int, dict]:
    async with server.session.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        return r.status, await r.json()


@pytest.mark.parametrize("path", ["/dashboard/%00", "/dashboard/a%00b.js", "/api/v1/export/%00", "/api/v1/cases%00",
                                  "/dashboard/" + "x" * 5000, "/dashboard/" + "a/" * 2000])
async def test_nul_bytes_and_overlong_names_in_a_path_answer_4xx(county_server, path):
    status, body = await _get(county_server, path)
    assert 400 <= status < 500 and body["code"] in ("bad_request", "not_found"), (path, status)


async def test_half_sent_headers_and_bodies_are_cut(tmp_path):
    """`[server] header_timeout_s` and `body_timeout_s` at 1 s: a head that never ends is closed without an
    answer, a body that stops is answered 408 and closed; meanwhile the server answers everyone else."""
    path = tmp_path / "server.toml"
    path.write_text(config_text("header_timeout_s = 1\nbody_timeout_s = 1\n", where=tmp_path), encoding="utf-8")
    async with TestServer(await build_app(load_config(path)), host="127.0.0.1", port=0) as server:
        port = server.port
        started = time.monotonic()
        head = asyncio.to_thread(raw_request, port, "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1",
                                 b"", 10, is_head_complete=False)
        body = asyncio.to_thread(raw_request, port, post_head("/api/v1/session", 1000, Content_Type="application/json"),
                                 b'{"name": "', 10)
        (head_status, _), (body_status, body_data) = await asyncio.gather(head, body)
        took = time.monotonic() - started
        assert head_status == 0  # closed, never answered
        assert body_status == 408 and b'"body_timeout"' in body_data
        assert took < 6


def test_the_refusal_message_states_the_window_the_checks_apply():
    assert f"from {round(EVENT_TIME_PAST.days / 365.25)} years before" in message_of("implausible_time")
    assert f"to {EVENT_TIME_FUTURE.days} day after" in message_of("implausible_time")


@pytest.mark.parametrize("query", ["to=", "period=", "org=", "as_of=", "from=2026-01-01&to="])
async def test_an_empty_filter_is_invalid_not_ignored(county_server, query):
    status, body = await county_server.get(f"/api/v1/overview?{query}")
    assert status == 422 and body["code"] == "invalid_filter" and body["fields"], body


async def test_a_bad_figure_is_refused_on_every_export_and_a_405_names_the_methods(county_server):
    for table in ("units", "cases", "agents"):
        status, body = await county_server.get(f"/api/v1/export/{table}?figure=AAA")
        assert status == 422 and "figure" in body["fields"], (table, body)
    async with county_server.session.request("TRACE", f"{county_server.url}/api/v1/sync/push") as r:
        assert r.status == 405 and set(r.headers["Allow"].split(",")) == {"POST"}, dict(r.headers)
        assert (await r.json())["code"] == "method_not_allowed"
