"""Ratings as residents give them, pushed through the agents' protocol and read back through the stats API, the
dashboard's overview and the XLSX export: shaped like 阿坝州 2021 (more ratings than completed cases, most of them given
by residents themselves, 网办率 over completed cases), with bad ratings followed up on time, late, and not yet.

The real server on 127.0.0.1 over a real SQLite file, the admin token.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from server.admin import rollups as maintenance
from server.http.common import STORE
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, WACHANG, CountyServer

PERIOD = "from=2026-03-01&to=2026-03-31"


def _rated(agent: Any, case_id: str, at: str, rating: int, **data: Any) -> dict[str, Any]:
    return agent.event("evaluated", case_id, at, {"rating": rating, **data})


async def _get(server: CountyServer, path: str) -> Any:
    status, body = await server.get(path)
    assert status == 200, body
    return body


async def _download(server: CountyServer, path: str) -> tuple[int, bytes]:
    async with server.session.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        return r.status, await r.read()


async def load(server: CountyServer) -> dict[str, Any]:
    """Two townships' March at a reduced scale: 20 cases accepted (16 online), 18 completed (14 of them accepted
    online); 17 completed cases rated at 办结 on the resident's phone (case 19 not at all), the 10 even-numbered
    cases also at 接件 on the window pad, 3 rated once more by a staff phone callback."""
    q, w = await server.add_agent(QIAOWA), await server.add_agent(WACHANG)
    events: list[tuple[Any, list[dict[str, Any]]]] = [(q, []), (w, [])]
    made: dict[str, Any] = {"ids": [], "bad": {}}
    for n in range(20):
        agent = q if n < 12 else w
        channel = "online" if n < 16 else "window"
        day = 2 + n % 10
        acc = agent.accepted(f"2026-03-{day:02d}", channel=channel, due_on="2026-03-31")
        case_id = acc["case_id"]
        made["ids"].append(case_id)
        batch = events[0 if agent is q else 1][1]
        batch.append(acc)
        if n % 2 == 0:  # 10 cases rated at 接件 on the window pad, by the resident
            batch.append(_rated(agent, case_id, f"2026-03-{day:02d}T10:05:00+08:00", 4, step="intake",
                                channel="window", entered_by="resident"))
        if n in (1, 3):  # open: never completed
            continue
        batch.append(agent.completed(case_id, f"2026-03-{day + 5:02d}"))
        if n == 19:
            continue
        level = 1 if n == 4 else 2 if n == 6 else 5
        due = {"follow_up_due": "2026-03-20"} if level <= 2 else {}
        rating = _rated(agent, case_id, f"2026-03-{day + 5:02d}T15:00:00+08:00", level, step="completion",
                        channel="phone", entered_by="resident", **due)
        batch.append(rating)
        if level <= 2:
            made["bad"][n] = rating["event_id"]
        if n in (8, 10, 12):  # a staff phone callback: a second whole-case rating, not 主动
            batch.append(_rated(agent, case_id, "2026-03-25T09:00:00+08:00", 5, step="case", channel="callback"))
    # case 4's 非常不满意 (rated 03-11) is followed up on 03-16, by its last day; case 6's (03-13) is still waiting
    events[0][1].append(q.event("followed_up", made["ids"][4], "2026-03-16T11:00:00+08:00",
                             {"note": "已整改并回访", "rating_id": made["bad"][4]}))
    for agent, batch in events:
        await server.push(agent, batch)
    return made


async def test_figures_of_ratings_as_the_reports_publish_them(county_server: CountyServer) -> None:
    await load(county_server)
    o = await _get(county_server, f"/api/v1/overview?{PERIOD}&as_of=2026-04-01")
    f = o["figures"]
    completed = 18
    rated_cases = completed - 1
    ratings = 10 + rated_cases + 3  # 接件 + 办结 + callbacks
    assert (f["accepted"], f["completed"], f["evaluations"], f["rated_cases"]) == (20, completed, ratings, rated_cases)
    assert f["evaluations"] > f["completed"]  # as 阿坝州: 5,135,202 ratings for 3,537,028 completed cases
    assert f["resident_ratings"] == 10 + rated_cases
    assert f["ratings_by_channel"] == {"window": 10, "phone": rated_cases, "online": 0, "callback": 3}
    assert f["ratings_by_step"] == {"intake": 10, "acceptance": 0, "completion": rated_cases, "case": 3}
    assert f["active_evaluation_rate"] == round(rated_cases / completed, 4)  # rated cases ÷ completed (default)
    assert f["good_rating_rate"] == round((ratings - 2) / ratings, 4)
    assert (f["bad_ratings"], f["bad_followed_up"], f["bad_pending"], f["bad_followed_up_on_time"]) == (2, 1, 1, 1)
    assert f["bad_follow_up_on_time_rate"] == 1.0
    # 网办率 over accepted (the default): 16 of 20
    assert (f["online"], f["online_completed"], f["online_share"]) == (16, 14, 0.8)
    assert await maintenance.verify_rollups(county_server.app[STORE]) == []
    # the stats API: the same figures per township, and the definitions named
    stats = await _get(county_server, "/api/v1/stats?level=township&from=2026-03-01&to=2026-03-31")
    rows = {r["code"]: r for r in stats["rows"]}
    assert rows[QIAOWA + "000"]["evaluations"] + rows[WACHANG + "000"]["evaluations"] == ratings
    assert {d["figure"] for d in stats["definitions"]} >= {"online_share", "active_evaluation_rate"}
    # the XLSX export of the townships table: 评价数 above 办结量, 主动评价率 named with its definition
    status, body = await _download(county_server, f"/api/v1/export/units?{PERIOD}&format=xlsx")
    assert status == 200
    ws = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    header = [c.value for c in ws[1]]
    total = {r[1]: r for r in ws.iter_rows(min_row=2, values_only=True)}["合计"]
    assert total[header.index("评价数")] == ratings and total[header.index("办结量")] == completed
    assert total[header.index("主动评价率(已评价办件/办结量)")] == round(rated_cases / completed, 4)


async def test_the_follow_up_list_names_each_waiting_bad_rating_and_its_last_day(county_server: CountyServer) -> None:
    made = await load(county_server)
    before = await _get(county_server, "/api/v1/follow-ups?state=pending&as_of=2026-03-19")
    assert (before["total"], before["overdue"]) == (1, 0)
    (row,) = before["rows"]
    assert (row["rating_id"], row["rating_label"], row["step_label"], row["channel_label"]) == (
        made["bad"][6], "不满意", "办结", "手机")
    assert (row["rated_on"], row["follow_up_due"], row["days_overdue"]) == ("2026-03-13", "2026-03-20", None)
    assert row["cert_no_masked"] == "513422********123X"
    late = await _get(county_server, "/api/v1/follow-ups?as_of=2026-03-23")
    assert (late["state"], late["total"], late["rows"][0]["days_overdue"]) == ("overdue", 1, 3)
    assert (await _get(county_server, f"/api/v1/follow-ups?as_of=2026-03-23&org={WACHANG}"))["total"] == 0
    status, body = await _download(county_server, "/api/v1/export/follow_ups?as_of=2026-03-23&format=xlsx")
    assert status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    values = [c.value for c in sheet[2]]
    assert "不满意" in values and "2026-03-20" in [str(v)[:10] for v in values if v is not None]
    status, bad = await county_server.get("/api/v1/follow-ups?state=late")
    assert status == 422 and bad["code"] == "invalid_filter" and "state" in bad["fields"]


async def test_a_rating_that_cannot_apply_is_a_conflict_and_the_others_stay(county_server: CountyServer) -> None:
    q = await county_server.add_agent(QIAOWA)
    acc = q.accepted("2026-03-02")
    case_id = acc["case_id"]
    early = _rated(q, case_id, "2026-03-02T11:00:00+08:00", 5, step="completion", channel="window",
                   entered_by="resident")  # before completion
    intake = _rated(q, case_id, "2026-03-02T11:01:00+08:00", 4, step="intake", entered_by="resident")
    again = _rated(q, case_id, "2026-03-02T11:02:00+08:00", 3, step="intake")  # same step and channel
    answer = await county_server.push(q, [acc, early, intake, again])
    assert sorted(c["code"] for c in answer["conflicts"]) == ["already_rated", "not_completed"]
    f = (await _get(county_server, f"/api/v1/overview?{PERIOD}"))["figures"]
    assert (f["evaluations"], f["rated_cases"], f["ratings"]["4"]) == (1, 1, 1)
