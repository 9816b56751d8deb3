"""Every non-2xx answer is an ErrorBody {code, message, detail?} with the status of its code, and every answer
carries X-Server-Time-Ms (datasette's test_error_shape, in spirit)."""

from __future__ import annotations

import gzip
import time
from typing import Any

import msgspec
import pytest

from protocol.codes import CODES
from protocol.messages import ErrorBody
from server.http.common import INGEST
from server.storage.postgres import ingest as postgres_ingest
from server.storage.sqlite import ingest as sqlite_ingest
from tests.server.helpers import CountyServer, TownshipAgent


async def _call(server: CountyServer, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    h = {"Authorization": f"Bearer {token}"} if token else {}
    h.update(headers or {})
    async with server.session.request(method, f"{server.url}{path}", data=body, headers=h) as r:
        return r.status, await r.read(), r.headers


def _push_body(agent: TownshipAgent, **extra: Any) -> bytes:
    return gzip.compress(msgspec.json.encode({"agent_id": agent.agent_id, "events": [], **extra}))


GZ = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
PUSH = "/api/v1/sync/push"
STATS = "/api/v1/stats?level=county&from=2026-01-01&to=2026-01-31"

CASES = {
    "push without token": ("POST", PUSH, None, lambda a: _push_body(a), GZ, 401, "unauthorized"),
    "push with unknown token": ("POST", PUSH, "nope", lambda a: _push_body(a), GZ, 401, "unauthorized"),
    "reference without token": ("GET", "/api/v1/reference", None, None, {}, 401, "unauthorized"),
    "stats without token": ("GET", STATS, None, None, {}, 401, "unauthorized"),
    "stats with agent token": ("GET", STATS, "agent", None, {}, 403, "forbidden"),
    "stats bad params": ("GET", "/api/v1/stats?level=x", "admin", None, {}, 422, "bad_request"),
    "malformed json": ("POST", PUSH, "agent", lambda a: gzip.compress(b'{"agent_id": '), GZ, 400, "bad_json"),
    "corrupt gzip": ("POST", PUSH, "agent", lambda a: b"\x1f\x8b\x08\x00garbage", GZ, 400, "bad_json"),
    "envelope shape": ("POST", PUSH, "agent", lambda a: _push_body(a, extra_field=1), GZ, 422, "bad_request"),
    "envelope types": ("POST", PUSH, "agent", lambda a: gzip.compress(b'{"agent_id": 1, "events": []}'), GZ, 422,
                       "bad_request"),
    "agent mismatch": ("POST", PUSH, "agent", lambda a: gzip.compress(b'{"agent_id": "x", "events": []}'), GZ, 403,
                       "agent_mismatch"),
    "too large": ("POST", PUSH, "agent", lambda a: gzip.compress(b" " * 300_000), GZ, 413, "too_large"),
    "unknown encoding": ("POST", PUSH, "agent", lambda a: _push_body(a), {**GZ, "Content-Encoding": "br"}, 415,
                         "unsupported_encoding"),
    "login as a form": ("POST", "/api/v1/session", None, lambda a: b"name=a&password=b",
                        {"Content-Type": "application/x-www-form-urlencoded"}, 415, "json_required"),
    "login too long": ("POST", "/api/v1/session", None, lambda a: b'{"name": "%s"}' % (b"x" * 20_000),  # > 16 KiB
                       {"Content-Type": "application/json"}, 413, "too_large"),
    "metrics without token": ("GET", "/metrics", None, None, {}, 401, "metrics_token_required"),
    "nul in the path": ("GET", "/dashboard/%00", None, None, {}, 422, "bad_request"),
    "unknown path": ("GET", "/api/v1/nothing-here", None, None, {}, 404, "not_found"),
    "wrong method": ("GET", PUSH, "agent", None, {}, 405, "method_not_allowed"),
    "reversed dashboard range": ("GET", "/api/v1/overview?from=2026-03-05&to=2026-03-01", "admin", None, {}, 422,
                                 "invalid_filter"),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_every_error_path_answers_the_one_error_shape(county_server: CountyServer, qiaowa: TownshipAgent,
                                                            name: str) -> None:
    method, path, token, body, headers, status, code = CASES[name]
    token = {"agent": qiaowa.token, "admin": county_server.config.admin_token}.get(token, token)
    before_ms = time.time_ns() // 1_000_000
    got_status, raw, response_headers = await _call(county_server, method, path, token=token,
                                                    body=body(qiaowa) if body else None, headers=headers)
    assert got_status == status, raw
    error = msgspec.json.decode(raw, type=ErrorBody)
    assert set(msgspec.json.decode(raw)) <= {"code", "message", "detail", "fields"}
    assert error.code == code
    assert CODES[code].status == status
    assert error.message == CODES[code].message
    assert response_headers["Content-Type"].startswith("application/json")
    assert int(response_headers["X-Server-Time-Ms"]) >= before_ms


async def test_a_server_failure_answers_internal_and_applies_nothing(county_server: CountyServer,
                                                                     qiaowa: TownshipAgent,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(county_server.app[INGEST], "push", fail)
    status, raw, headers = await _call(county_server, "POST", PUSH, token=qiaowa.token, body=_push_body(qiaowa),
                                       headers=GZ)
    assert status == 500
    error = msgspec.json.decode(raw, type=ErrorBody)
    assert (error.code, error.detail) == ("internal", None)  # no internals leak to the client
    assert "X-Server-Time-Ms" in headers


def _break_the_acknowledgement(monkeypatch: pytest.MonkeyPatch) -> None:
    """The acknowledgement, the last statement of a batch's transaction, fails (on either backend)."""
    monkeypatch.setattr(sqlite_ingest, "ACK_SQL", "SELECT no_such_column FROM agents")
    monkeypatch.setattr(postgres_ingest, "ACK_SQL", "SELECT no_such_column FROM agents")


async def test_a_failed_transaction_keeps_nothing_of_the_batch(county_server: CountyServer, qiaowa: TownshipAgent,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The acknowledgement, the last statement of the batch's transaction, fails after every row was written.
    _break_the_acknowledgement(monkeypatch)
    acc = qiaowa.accepted()
    async with await county_server.post_push({"agent_id": qiaowa.agent_id, "events": [acc]},
                                             token=qiaowa.token) as r:
        assert r.status == 500
    monkeypatch.undo()
    answer = await county_server.push(qiaowa, [acc])
    assert (answer["stored"], answer["duplicates"]) == (1, 0)  # the first attempt left nothing behind


async def test_healthz_answers_ok_with_the_server_time(county_server: CountyServer) -> None:
    status, raw, headers = await _call(county_server, "GET", "/healthz")
    assert (status, msgspec.json.decode(raw)) == (200, {"status": "ok"})
    assert abs(int(headers["X-Server-Time-Ms"]) - time.time_ns() // 1_000_000) < 5000


async def test_a_failed_transaction_leaves_the_case_cache_as_committed(county_server: CountyServer,
                                                                       qiaowa: TownshipAgent,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    acc = qiaowa.accepted()
    await county_server.push(qiaowa, [acc])  # the case is now cached as in_progress
    done = qiaowa.completed(acc["case_id"])
    # The case row is saved, then the acknowledgement fails: the transaction rolls back.
    _break_the_acknowledgement(monkeypatch)
    async with await county_server.post_push({"agent_id": qiaowa.agent_id, "events": [done]},
                                             token=qiaowa.token) as r:
        assert r.status == 500
    monkeypatch.undo()
    rated = qiaowa.evaluated(acc["case_id"])
    answer = await county_server.push(qiaowa, [rated])  # must fold on the committed state: not completed yet
    assert (answer["stored"], answer["acked_seq"]) == (1, 1)
    row = (await county_server.stats("township"))["513422100000"]
    assert (row["completed"], row["evaluations"]) == (0, 0)
    answer = await county_server.push(qiaowa, [done])  # the completion arrives again: refold puts both in place
    assert answer["acked_seq"] == 3
    row = (await county_server.stats("township"))["513422100000"]
    assert (row["completed"], row["evaluations"]) == (1, 1)
