"""GET /api/v1/stats: figures per level equal numbers computed by hand for a small data set."""

from __future__ import annotations

import pytest

from tests.server.helpers import QIAOWA, WACHANG, CountyServer, TownshipAgent

Q_CENTRE, Q_VILLAGE = QIAOWA + "000", QIAOWA + "201"
W_CENTRE, W_VILLAGE = WACHANG + "000", WACHANG + "201"


@pytest.fixture
async def data_set(county_server: CountyServer, qiaowa: TownshipAgent) -> CountyServer:
    """Seven cases in two townships; March figures are computed by hand in the tests below."""
    q, w = qiaowa, await county_server.add_agent(WACHANG)
    c1 = q.accepted("2026-03-02", org_code=Q_CENTRE, due_on="2026-03-16")
    c2 = q.accepted("2026-03-02", org_code=Q_VILLAGE, due_on="2026-03-04")
    c3 = q.accepted("2026-03-10", org_code=Q_VILLAGE)
    c4 = q.accepted("2026-03-31", org_code=Q_CENTRE)
    c5 = q.accepted("2026-04-01", org_code=Q_CENTRE)
    await county_server.push(q, [
        c1, q.completed(c1["case_id"], "2026-03-05"), q.evaluated(c1["case_id"], "2026-03-05", 5),
        c2, q.completed(c2["case_id"], "2026-03-06"), q.evaluated(c2["case_id"], "2026-03-06", 2),
        c3, q.rejected(c3["case_id"], "2026-03-11"), c4, c5])
    c6 = w.accepted("2026-03-03", org_code=W_VILLAGE, due_on="2026-03-10")
    c7 = w.accepted("2026-03-03", org_code=W_CENTRE)
    await county_server.push(w, [c6, w.completed(c6["case_id"], "2026-03-04"),
                                 w.evaluated(c6["case_id"], "2026-03-04", 3), c7,
                                 w.withdrawn(c7["case_id"], "2026-03-05")])
    return county_server


def _figures(row: dict) -> tuple:
    return (row["accepted"], row["completed"], row["completed_on_time"], row["on_time_rate"], row["rejected"],
            row["withdrawn"], row["evaluations"], row["good_ratings"], row["good_rating_rate"])


async def test_county_figures_sum_every_township(data_set: CountyServer) -> None:
    rows = await data_set.stats("county", "2026-03-01", "2026-03-31")
    assert list(rows) == ["513422000000"]
    assert _figures(rows["513422000000"]) == (5, 3, 2, 0.6667, 1, 1, 3, 2, 0.6667)
    assert rows["513422000000"]["name"] == "木里藏族自治县"
    april_too = await data_set.stats("county", "2026-03-01", "2026-04-30")
    assert april_too["513422000000"]["accepted"] == 6


async def test_township_figures_sum_the_centre_and_its_villages_and_list_every_township(
        data_set: CountyServer) -> None:
    rows = await data_set.stats("township", "2026-03-01", "2026-03-31")
    assert len(rows) == 11  # the county's own hall (政务服务大厅) and the ten townships
    assert rows["513422000000"]["name"] == "木里藏族自治县政务服务大厅"
    assert _figures(rows[Q_CENTRE]) == (3, 2, 1, 0.5, 1, 0, 2, 1, 0.5)
    assert _figures(rows[W_CENTRE]) == (2, 1, 1, 1.0, 0, 1, 1, 1, 1.0)  # 基本满意 counts as good
    assert _figures(rows["513422204000"]) == (0, 0, 0, None, 0, 0, 0, 0, None)
    assert rows["513422204000"]["name"] == "俄亚纳西族乡"


async def test_village_figures_count_cases_handled_at_that_station(data_set: CountyServer) -> None:
    rows = await data_set.stats("village", "2026-03-01", "2026-03-31", org=QIAOWA)
    assert list(rows) == [QIAOWA + "001", QIAOWA + "002", Q_VILLAGE, QIAOWA + "202"]
    assert _figures(rows[Q_VILLAGE]) == (1, 1, 0, 0.0, 1, 0, 1, 0, 0.0)
    assert _figures(rows[QIAOWA + "001"]) == (0, 0, 0, None, 0, 0, 0, 0, None)
    everywhere = await data_set.stats("village", "2026-03-01", "2026-03-31")
    assert len(everywhere) == 35 + 1  # the villages and the county's hall
    assert _figures(everywhere[W_VILLAGE]) == (1, 1, 1, 1.0, 0, 0, 1, 1, 1.0)


async def test_org_may_be_a_twelve_digit_code_or_a_prefix(data_set: CountyServer) -> None:
    by_code = await data_set.stats("township", "2026-03-01", "2026-03-31", org=Q_CENTRE)
    by_prefix = await data_set.stats("township", "2026-03-01", "2026-03-31", org=QIAOWA)
    assert by_code == by_prefix
    assert list(by_code) == [Q_CENTRE]
    one_village = await data_set.stats("village", "2026-03-01", "2026-03-31", org=Q_VILLAGE)
    assert list(one_village) == [Q_VILLAGE]


async def test_a_single_day_period_is_inclusive(data_set: CountyServer) -> None:
    rows = await data_set.stats("township", "2026-03-05", "2026-03-05")
    assert (rows[Q_CENTRE]["completed"], rows[W_CENTRE]["withdrawn"]) == (1, 1)


@pytest.mark.parametrize(("query", "fix"), [
    ("from=2026-03-01&to=2026-03-31", "level"),
    ("level=province&from=2026-03-01&to=2026-03-31", "level"),
    ("level=county&from=2026-3-1&to=2026-03-31", "from"),
    ("level=county&from=2026-03-01&to=2026-02-30", "to"),
    ("level=county&from=2026-03-31&to=2026-03-01", "after"),
    ("level=county&from=2026-03-01&to=2026-03-31&org=5134221", "org"),
    ("level=county&from=2026-03-01&to=2026-03-31&org=513422100", "deeper"),
    ("level=township&from=2026-03-01&to=2026-03-31&org=510100", "not in this server's area"),
    ("level=county&from=2026-03-01&to=2026-03-31&orgs=513422", "unknown parameter"),
])
async def test_bad_parameters_answer_422_saying_what_to_fix(county_server: CountyServer, query: str,
                                                            fix: str) -> None:
    status, body = await county_server.get(f"/api/v1/stats?{query}")
    assert status == 422
    assert body["code"] == "bad_request"
    assert fix in body["detail"]


async def test_stats_need_the_admin_token(county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    path = "/api/v1/stats?level=county&from=2026-03-01&to=2026-03-31"
    assert (await county_server.get(path, token=None))[0] == 401
    assert (await county_server.get(path, token="not-the-admin-token"))[0] == 401
    status, body = await county_server.get(path, token=qiaowa.token)
    assert (status, body["code"]) == (403, "forbidden")


@pytest.mark.parametrize(("date_from", "date_to"), [
    ("2026-03-01", "2026-03-31"),  # a whole month: the monthly grain
    ("2026-03-04", "2026-04-01"),  # days at both ends: the daily rows
    ("2026-01-01", "2026-12-31"),  # a year
])
@pytest.mark.parametrize("level", ["county", "township", "village"])
async def test_stats_answer_the_dashboards_figures(data_set: CountyServer, level: str, date_from: str,
                                                   date_to: str) -> None:
    """One path to every figure: each row of the stats API holds the dashboard's figures of that unit."""
    org = "" if level != "village" else f"&org={QIAOWA}"
    status, units = await data_set.get(f"/api/v1/units?from={date_from}&to={date_to}&level={level}{org}")
    assert status == 200
    dashboard = {r["org"]["code"]: r["figures"] for r in units["rows"]}
    stats = await data_set.stats(level, date_from, date_to, **({"org": QIAOWA} if level == "village" else {}))
    fields = ("accepted", "completed", "completed_on_time", "on_time_rate", "rejected", "withdrawn", "evaluations",
              "good_ratings", "good_rating_rate")
    assert set(stats) <= set(dashboard)
    assert any(row[f] for row in stats.values() for f in fields)  # figures to compare, not only zeros
    for code, row in stats.items():
        assert tuple(row[f] for f in fields) == tuple(dashboard[code][f] for f in fields), code
