"""Every figure, at every level, against numbers worked out by hand for a small data set: eleven cases and three
consultations in two townships, with a case accepted just before the 2026 Spring Festival (due after it), cases
completed late, one without a due date, open cases overdue and due soon, good, basic and bad ratings.

The real server on 127.0.0.1 over a real SQLite file; figures read through HTTP with the admin token.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import openpyxl
import pytest
from aiohttp.test_utils import TestServer

from protocol.codes import CODES
from protocol.workdays import due_date
from server.admin import rollups as maintenance
from server.app import build_app
from server.config import load_config
from server.http.common import REFERENCE, STORE
from server.model.calendar import package_calendar
from tests import postgres
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, WACHANG, CountyServer

COUNTY = "513422"
QC, Q201, Q202 = QIAOWA + "000", QIAOWA + "201", QIAOWA + "202"
WC, W201 = WACHANG + "000", WACHANG + "201"
Q1 = "period=2026-Q1&as_of=2026-04-01"


def test_due_dates_of_the_data_set_span_the_spring_festival_as_worked_out_by_hand() -> None:
    calendar = package_calendar()
    # Thu 02-12 + 5 working days: Fri 13, Sat 14 (调休 make-up day), holiday 15-23, Tue 24, Wed 25, Thu 26.
    assert due_date(calendar, date(2026, 2, 12), 5) == date(2026, 2, 26)
    # Wed 04-01 + 2 working days: Thu 2, Fri 3 (清明 holiday Sat 4 - Mon 6): due soon means due by 04-03.
    assert due_date(calendar, date(2026, 4, 1), 2) == date(2026, 4, 3)


async def load_data_set(server: CountyServer) -> dict[str, dict[str, Any]]:
    q, w = await server.add_agent(QIAOWA), await server.add_agent(WACHANG)
    c = {
        "c1": q.accepted("2026-03-02", org_code=QC, item_code="GG-0004", due_on="2026-03-16"),
        "c2": q.accepted("2026-02-12", org_code=QC, item_code="XK-0002", channel="online", due_on="2026-02-26",
                         promised_days=5),
        "c3": q.accepted("2026-02-12", org_code=QC, item_code="XK-0002", due_on="2026-02-26", promised_days=5,
                         cert_no="110105194912310021", staff="李梅"),
        "c4": q.accepted("2026-03-10", org_code=QC, item_code="GG-0004", channel="proxy", due_on="2026-03-24",
                         staff="王芳"),
        "c5": q.accepted("2026-03-11", org_code=QC, item_code="QT-0003", due_on="2026-03-12"),
        "c6": q.accepted("2026-03-03", org_code=Q201, item_code="GG-0001", channel="online", due_on="2026-03-03",
                         promised_days=0),
        "c7": q.accepted("2026-03-20", org_code=Q201, item_code="GG-0004", due_on="2026-04-03"),
        "c8": q.accepted("2026-03-04", org_code=Q202, item_code="GG-0003", channel="home_visit", due_on="2026-03-11"),
    }
    await server.push(q, [
        c["c1"], q.completed(c["c1"]["case_id"], "2026-03-05"), q.evaluated(c["c1"]["case_id"], "2026-03-05", 5),
        c["c2"], q.completed(c["c2"]["case_id"], "2026-02-25"), q.evaluated(c["c2"]["case_id"], "2026-02-25", 3),
        c["c3"], q.completed(c["c3"]["case_id"], "2026-02-27", trips=1),
        q.evaluated(c["c3"]["case_id"], "2026-02-27", 1), q.followed_up(c["c3"]["case_id"], "2026-03-02"),
        c["c4"], c["c5"], q.rejected(c["c5"]["case_id"], "2026-03-11"),
        c["c6"], q.completed(c["c6"]["case_id"], "2026-03-03"), q.evaluated(c["c6"]["case_id"], "2026-03-03", 2),
        c["c7"], q.event("supplement_requested", c["c7"]["case_id"], "2026-03-23", {"missing": ["户口簿复印件"]}),
        c["c8"], q.withdrawn(c["c8"]["case_id"], "2026-03-06"),
        q.consulted("2026-03-03"), {**q.consulted("2026-03-03", channel="online"), "offset_ms": 1500}])
    c |= {
        "c9": w.accepted("2026-01-05", org_code=WC, item_code="GG-0004", channel="self_service", due_on="2026-01-19"),
        "c10": w.accepted("2026-03-09", org_code=WC, item_code="XK-0004", due_on=None),
        "c11": w.accepted("2026-03-16", org_code=W201, item_code="GG-0006", due_on="2026-03-23"),
    }
    await server.push(w, [c["c9"], w.completed(c["c9"]["case_id"], "2026-01-20"), c["c10"],
                          w.completed(c["c10"]["case_id"], "2026-03-12"), c["c11"],
                          w.consulted("2026-01-06", org_code=W201)])
    return c


@pytest.fixture
async def data_set(county_server: CountyServer) -> CountyServer:
    county_server.cases = await load_data_set(county_server)  # type: ignore[attr-defined]
    return county_server


COUNTS = ("accepted", "completed", "completed_on_time", "completed_late", "completed_no_due_date", "in_progress",
          "overdue_open", "rejected", "withdrawn", "online", "trips_le1", "evaluations", "good_ratings",
          "bad_ratings", "bad_followed_up", "bad_pending", "consultations")
#                acc com ont lat ndd inp ovd rej wdr onl trp eva goo bad bfu bpd con
EXPECTED = {
    COUNTY: (10, 6, 3, 2, 1, 3, 2, 1, 1, 2, 5, 4, 2, 2, 1, 1, 3),
    QC[:9]: (7, 4, 3, 1, 0, 2, 1, 1, 1, 2, 3, 4, 2, 2, 1, 1, 2),
    QC: (4, 3, 2, 1, 0, 1, 1, 1, 0, 1, 2, 3, 2, 1, 1, 0, 2),
    Q201: (2, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0),
    Q202: (1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
    WC[:9]: (3, 2, 0, 1, 1, 1, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1),
    WC: (2, 2, 0, 1, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0),
    W201: (1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
}


def counts(figures: dict[str, Any]) -> tuple[int, ...]:
    return tuple(figures[name] for name in COUNTS)


async def _get(server: CountyServer, path: str) -> Any:
    status, body = await server.get(path)
    assert status == 200, body
    return body


async def test_every_count_at_every_level_for_the_first_quarter(data_set: CountyServer) -> None:
    county = await _get(data_set, f"/api/v1/overview?{Q1}")
    assert counts(county["figures"]) == EXPECTED[COUNTY]
    children = {u["org"]["code"]: u["figures"] for u in county["children"]}
    assert len(children) == 11  # the county's hall and every township, those without cases too
    assert county["children"][0]["org"] == {"code": COUNTY + "000000", "name": "木里藏族自治县政务服务大厅",
                                            "level": "county", "kind": "hall"}
    assert counts(children[COUNTY + "000000"]) == (0,) * len(EXPECTED[COUNTY])  # no case was handled at the hall
    assert counts(children[QC]) == EXPECTED[QC[:9]]
    assert counts(children[WC]) == EXPECTED[WC[:9]]
    for township in (QIAOWA, WACHANG):
        drill = await _get(data_set, f"/api/v1/overview?{Q1}&org={township}")
        assert [p["code"] for p in drill["path"]] == [COUNTY + "000000", township + "000"]
        rows = {u["org"]["code"]: u["figures"] for u in drill["children"]}
        assert counts(drill["figures"]) == EXPECTED[township]
        for code, expected in EXPECTED.items():
            if len(code) == 12 and code.startswith(township):
                assert counts(rows[code]) == expected, code
        assert sum(r["accepted"] for r in rows.values()) == drill["figures"]["accepted"]
    village = await _get(data_set, f"/api/v1/overview?{Q1}&org={Q201}")
    assert counts(village["figures"]) == EXPECTED[Q201] and village["children"] == []


async def test_rates_and_ratings_follow_the_published_definitions(data_set: CountyServer) -> None:
    f = (await _get(data_set, f"/api/v1/overview?{Q1}"))["figures"]
    assert f["ratings"] == {"5": 1, "4": 0, "3": 1, "2": 1, "1": 1}
    assert (f["completion_rate"], f["on_time_rate"], f["overdue_rate"]) == (0.6, 0.5, 0.3333)
    assert (f["online_share"], f["one_trip_share"]) == (0.2, 0.8333)
    assert (f["active_evaluation_rate"], f["good_rating_rate"], f["bad_follow_up_rate"]) == (0.6667, 0.5, 0.5)
    empty = (await _get(data_set, f"/api/v1/overview?{Q1}&org={Q202}"))["figures"]
    assert (empty["on_time_rate"], empty["good_rating_rate"], empty["completion_rate"]) == (None, None, 0.0)


async def test_categories_channels_and_the_monthly_trend(data_set: CountyServer) -> None:
    o = await _get(data_set, f"/api/v1/overview?{Q1}")
    category = {b["key"]: b["figures"] for b in o["by_category"]}
    assert [b["label"] for b in o["by_category"]] == ["行政许可", "公共服务", "其他服务"]
    assert [(category[k]["accepted"], category[k]["completed"], category[k]["completed_on_time"])
            for k in ("行政许可", "公共服务", "其他")] == [(3, 3, 1), (7, 3, 2), (0, 0, 0)]
    assert category["其他"]["rejected"] == 1
    channel = {b["key"]: b["figures"]["accepted"] for b in o["by_channel"]}
    assert channel == {"window": 5, "online": 2, "proxy": 1, "home_visit": 1, "self_service": 1}
    assert [(t["key"], t["label"], t["figures"]["accepted"], t["figures"]["completed"]) for t in o["trend"]] == [
        ("2026-01", "1月", 1, 1), ("2026-02", "2月", 2, 2), ("2026-03", "3月", 7, 3)]


async def test_a_range_that_cuts_months_sums_days_and_months_alike(data_set: CountyServer) -> None:
    mixed = (await _get(data_set, "/api/v1/overview?from=2026-02-15&to=2026-03-31"))["figures"]
    assert (mixed["accepted"], mixed["completed"], mixed["completed_late"], mixed["evaluations"]) == (7, 5, 1, 4)
    days = (await _get(data_set, "/api/v1/overview?from=2026-02-25&to=2026-03-03"))["figures"]
    assert (days["accepted"], days["completed"], days["consultations"]) == (2, 3, 2)
    assert (await _get(data_set, "/api/v1/overview?period=2026-03-03"))["period"]["label"] == "2026年3月3日"
    year = await _get(data_set, "/api/v1/overview?period=2026")
    assert counts(year["figures"])[:6] == EXPECTED[COUNTY][:6] and len(year["trend"]) == 12


async def test_a_whole_level_as_one_table_with_its_total(data_set: CountyServer) -> None:
    villages = await _get(data_set, f"/api/v1/units?{Q1}&level=village&org={QIAOWA}")
    assert [r["org"]["code"] for r in villages["rows"]] == [QC, QIAOWA + "001", QIAOWA + "002", Q201, Q202]
    assert counts(villages["total"]) == EXPECTED[QIAOWA]
    everywhere = await _get(data_set, f"/api/v1/units?{Q1}&level=village")
    assert len(everywhere["rows"]) == 35 + 10 + 1  # villages, the ten centres and the county's hall
    assert sum(r["figures"]["accepted"] for r in everywhere["rows"]) == 10
    townships = await _get(data_set, f"/api/v1/units?{Q1}&level=township")
    assert counts(townships["total"]) == EXPECTED[COUNTY]


async def test_the_yearbook_sentence_and_its_table(data_set: CountyServer) -> None:
    s = await _get(data_set, f"/api/v1/summary?{Q1}")
    assert s["sentence"] == ("2026年第一季度，木里藏族自治县办理各类行政许可和公共服务事项6件，其中：行政许可办结3件，"
                             "公共服务事项办结3件；其他服务事项办结0件，按时办结率50%。累计受理各类事项10件、办结6件，"
                             "受理群众咨询3人次。")
    assert [(r["label"], r["completed"]) for r in s["rows"]] == [("行政许可", 3), ("公共服务", 3), ("其他服务", 0)]
    assert (s["total"]["completed"], s["consultations"]) == (6, 3)
    year = await _get(data_set, "/api/v1/summary?period=2026")
    assert year["sentence"].startswith("2026年，木里藏族自治县全年办理各类行政许可和公共服务事项6件")
    centre = await _get(data_set, f"/api/v1/summary?{Q1}&org={QC}")
    assert centre["sentence"].startswith("2026年第一季度，乔瓦镇便民服务中心办理各类行政许可和公共服务事项3件")
    empty = await _get(data_set, "/api/v1/summary?period=2025")
    assert empty["sentence"] == "2025年，木里藏族自治县全年未受理或办结行政许可和公共服务事项。"
    open_only = await _get(data_set, "/api/v1/summary?period=2026-03-20")  # c7 accepted, nothing completed
    assert open_only["sentence"] == "2026年3月20日，木里藏族自治县受理各类事项1件，尚无办结。"
    months = await _get(data_set, "/api/v1/summary?from=2026-01-01&to=2026-03-31")
    assert months["sentence"].startswith("2026年1至3月，木里藏族自治县办理")
    assert "—" not in empty["sentence"] + open_only["sentence"]


async def test_the_cases_behind_a_figure_match_it_and_mask_certificates(data_set: CountyServer) -> None:
    c = data_set.cases  # type: ignore[attr-defined]

    async def listed(query: str) -> list[str]:
        body = await _get(data_set, f"/api/v1/cases?{query}")
        assert body["total"] == len(body["rows"])
        return sorted(r["case_no"] for r in body["rows"])

    def nos(*names: str) -> list[str]:
        return sorted(c[n]["data"]["case_no"] for n in names)

    assert await listed(f"{Q1}&figure=completed_late") == nos("c3", "c9")
    assert await listed(f"{Q1}&figure=accepted&org={QIAOWA}") == nos("c1", "c2", "c3", "c4", "c6", "c7", "c8")
    assert await listed(f"{Q1}&figure=completed&category=行政许可") == nos("c2", "c3", "c10")
    assert await listed(f"{Q1}&figure=online") == nos("c2", "c6")
    assert await listed(f"{Q1}&figure=good_ratings") == nos("c1", "c2")
    assert await listed("as_of=2026-04-01&figure=overdue_open") == nos("c4", "c11")
    assert await listed("as_of=2026-04-01&figure=due_soon") == nos("c7")
    assert await listed("figure=bad_pending") == nos("c6")
    late = (await _get(data_set, f"/api/v1/cases?{Q1}&figure=completed_late&org={QIAOWA}"))["rows"][0]
    assert (late["cert_no_masked"], late["staff"], late["township_name"], late["org_name"]) == (
        "110105********0021", "李梅", "乔瓦镇", "便民服务中心")
    overdue = (await _get(data_set, "/api/v1/cases?as_of=2026-04-01&figure=overdue_open&sort=due_on"))["rows"]
    assert [(r["due_on"], r["days_overdue"]) for r in overdue] == [("2026-03-23", 9), ("2026-03-24", 8)]


async def test_the_agents_list_shows_contact_pending_offset_and_silence(data_set: CountyServer) -> None:
    body = await _get(data_set, "/api/v1/agents")
    rows = {r["township_code"]: r for r in body["rows"]}
    assert rows[QIAOWA]["clock_offset_ms"] == 1500 and rows[WACHANG]["clock_offset_ms"] == 0
    assert rows[QIAOWA]["township_name"] == "乔瓦镇" and rows[QIAOWA]["acked_seq"] == 22
    assert not rows[QIAOWA]["is_silent"] and rows[QIAOWA]["hours_since_push"] < 1
    assert body["silent_after_hours"] == 24
    await data_set.add_agent(QIAOWA, "窗口2")  # never pushed
    never = [r for r in (await _get(data_set, "/api/v1/agents"))["rows"] if r["name"] == "窗口2"]
    assert never[0]["is_silent"] and never[0]["last_push_at"] is None


async def test_rollups_stay_equal_to_a_recomputation(data_set: CountyServer) -> None:
    assert await maintenance.verify_rollups(data_set.app[STORE]) == []


async def test_the_definitions_are_named_and_a_county_can_choose_others(data_set: CountyServer,
                                                                         tmp_path: Path) -> None:
    o = await _get(data_set, f"/api/v1/overview?{Q1}")
    assert [(d["figure"], d["choice"], d["label"]) for d in o["definitions"]] == [
        ("online_share", "accepted", "÷受理量"),
        ("active_evaluation_rate", "rated_over_completed", "已评价办件/办结量"),
        ("good_rating_rate", "includes_basic", "含基本满意"), ("promise_speedup", "mean_of_items", "事项平均")]
    source = data_set.config.source
    assert source is not None
    other = tmp_path / "other" / "server.toml"
    other.parent.mkdir()
    # A database of its own: the first config's [storage], if any, is left out and made anew for this directory.
    other.write_text(source.read_text("utf-8").split("[storage]")[0] + '[figures]\nactive_evaluation_rate = '
                     '"active_over_ratings"\ngood_includes_basic = false\nonline_share_base = "completed"\n'
                     'promise_speedup = "ratio_of_totals"\n' + postgres.storage_section(other.parent),
                     encoding="utf-8")
    config = load_config(other)
    app = await build_app(config)
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as session:
        again = CountyServer(str(server.make_url("")).rstrip("/"), app, config, session)
        await load_data_set(again)
        o = await _get(again, f"/api/v1/overview?{Q1}")
        f = o["figures"]
        # every rating of the data set was entered by staff (an agent before ratings per step): none is 主动
        assert (f["good_ratings"], f["good_rating_rate"], f["active_evaluation_rate"]) == (1, 0.25, 0.0)
        assert (await _get(again, f"/api/v1/cases?{Q1}&figure=good_ratings"))["total"] == 1
        assert "基本满意不计为好评" in next(d["text"] for d in o["definitions"] if d["figure"] == "good_rating_rate")
        # 网办率 over completed: of the 6 completed cases, c2 and c6 were accepted online (over accepted: 2 / 10)
        assert (f["online"], f["online_completed"], f["completed"], f["online_share"]) == (2, 2, 6, 0.3333)
        assert [d["label"] for d in o["definitions"]] == ["÷办结量", "群众本人/全部评价", "不含基本满意", "时限合计"]
        items = o["items"]
        catalog = list(again.app[REFERENCE].items.values())
        legal = [(i.legal_days, i.promised_days) for i in catalog if i.legal_days]
        assert items["promise_speedup"] == round(1 - sum(p for _, p in legal) / sum(x for x, _ in legal), 4)
        stats = await _get(again, "/api/v1/stats?level=county&from=2026-01-01&to=2026-03-31")
        assert stats["rows"][0]["online_share"] == 0.3333
        assert [d["choice"] for d in stats["definitions"]] == [
            "completed", "active_over_ratings", "excludes_basic", "ratio_of_totals"]


@pytest.mark.parametrize(("query", "field", "expected"), [
    ("period=2026-13", "period", "统计期间「2026-13」无法识别"),
    ("from=2026-03-05&to=2026-03-01", "from", "开始日期 2026-03-05 晚于结束日期 2026-03-01"),
    ("from=2026-03-05", "to", "请填写结束日期"),
    ("from=2026-02-30&to=2026-03-01", "from", "开始日期「2026-02-30」不是有效的日期"),
    ("period=2026&from=2026-01-01&to=2026-02-01", "period", "只能选一种"),
    ("period=2026&org=513423", "org", "单位代码「513423」不是木里藏族自治县的单位"),
    ("period=2026&as_of=tomorrow", "as_of", "判断日期「tomorrow」不是有效的日期"),
])
async def test_bad_filters_say_in_chinese_what_to_fix_and_name_the_filter(county_server: CountyServer, query: str,
                                                                           field: str, expected: str) -> None:
    status, body = await county_server.get(f"/api/v1/overview?{query}")
    assert status == 422 and body["code"] == "invalid_filter"
    assert expected in body["detail"] and list(body["fields"]) == [field] and body["fields"][field] == body["detail"]
    assert body["message"] == CODES["invalid_filter"].message


async def test_the_case_list_checks_its_own_filters_too(county_server: CountyServer) -> None:
    for query, field in (("figure=nope", "figure"), ("sort=nope", "sort"), ("order=up", "order"),
                         ("limit=0", "limit"), ("channel=fax", "channel")):
        status, body = await county_server.get(f"/api/v1/cases?period=2026&{query}")
        assert (status, body["code"], list(body["fields"])) == (422, "invalid_filter", [field]), query


async def test_figures_need_a_session_or_the_admin_token(county_server: CountyServer) -> None:
    status, body = await county_server.get("/api/v1/overview?period=2026", token=None)
    assert (status, body["code"]) == (401, "login_required")
    status, _ = await county_server.get("/api/v1/overview?period=2026", token="not-the-admin-token-at-all")
    assert status == 401


async def test_a_townships_twelve_digit_code_is_its_centre_alone(data_set: CountyServer) -> None:
    centre = await _get(data_set, f"/api/v1/overview?{Q1}&org={QC}")
    assert counts(centre["figures"]) == EXPECTED[QC] and centre["children"] == []
    assert [p["name"] for p in centre["path"]] == ["木里藏族自治县", "乔瓦镇", "乔瓦镇便民服务中心"]
    listed = await _get(data_set, f"/api/v1/cases?{Q1}&org={QC}&figure=accepted")
    assert listed["total"] == 4 and listed["org_name"] == "乔瓦镇便民服务中心"
    county = await _get(data_set, f"/api/v1/overview?{Q1}&org={COUNTY}")
    assert counts(county["figures"]) == EXPECTED[COUNTY]
    hall = await _get(data_set, f"/api/v1/overview?{Q1}&org={COUNTY}000000")  # the county's 12 digits: its hall
    assert hall["org"]["name"] == "木里藏族自治县政务服务大厅" and hall["children"] == []
    assert counts(hall["figures"]) == (0,) * len(EXPECTED[COUNTY])


async def test_report_tables_of_months_by_units_and_items_by_units(data_set: CountyServer) -> None:
    r = await _get(data_set, f"/api/v1/report?{Q1}&table=months")
    assert [c["label"] for c in r["columns"]] == ["1月", "2月", "3月"] and r["figure_label"] == "受理量"
    rows = {row["key"]: (row["cells"], row["total"]) for row in r["rows"]}
    assert list(rows)[0] == COUNTY + "000000" and r["rows"][0]["label"] == "木里藏族自治县政务服务大厅"
    assert rows[QC] == ([0, 2, 5], 7) and rows[WC] == ([1, 0, 2], 3)
    assert (r["total"]["cells"], r["total"]["total"]) == ([1, 2, 7], EXPECTED[COUNTY][0])
    rate = await _get(data_set, f"/api/v1/report?{Q1}&table=months&figure=on_time_rate&org={QIAOWA}")
    assert rate["total"]["total"] == (await _get(data_set, f"/api/v1/overview?{Q1}&org={QIAOWA}"))["figures"][
        "on_time_rate"]
    items = await _get(data_set, f"/api/v1/report?{Q1}&table=items&figure=completed")
    by_item = {row["key"]: row for row in items["rows"]}
    assert by_item["XK-0002"]["total"] == 2 and by_item["XK-0002"]["cells"][1] == 2  # 乔瓦镇 is the 2nd column
    assert items["total"]["total"] == EXPECTED[COUNTY][1]
    assert items["columns"][0]["label"] == "木里藏族自治县政务服务大厅"
    status, body = await data_set.get(f"/api/v1/report?{Q1}&table=items&figure=on_time_rate")
    assert status == 422 and list(body["fields"]) == ["figure"]
    async with data_set.session.get(f"{data_set.url}/api/v1/export/report?{Q1}&table=months&format=xlsx",
                                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as resp:
        assert resp.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("单位", "1月", "2月", "3月", "合计")
    assert values[-1] == ("合计", 1, 2, 7, 10)
