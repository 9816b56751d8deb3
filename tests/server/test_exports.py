"""Exports: every dashboard table as XLSX (Chinese headers, frozen header row, number formats) and as CSV (UTF-8
with BOM), with the figures the API gives."""

from __future__ import annotations

import io

import openpyxl
import pytest

from server.reports.tables import TABLES, offset_seconds
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, CountyServer, push_conflict
from tests.server.test_figures import Q1, load_data_set


async def _download(server: CountyServer, path: str) -> tuple[int, str, bytes]:
    async with server.session.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        return r.status, r.headers.get("Content-Disposition", ""), await r.read()


@pytest.fixture
async def data_set(county_server: CountyServer) -> CountyServer:
    await load_data_set(county_server)
    await push_conflict(county_server, day="2026-07-01")  # after the first quarter the figures are of
    return county_server


async def test_the_townships_table_as_xlsx_has_typed_cells_and_a_frozen_chinese_header(data_set: CountyServer) -> None:
    status, disposition, body = await _download(data_set, f"/api/v1/export/units?{Q1}&format=xlsx")
    assert status == 200 and "filename*=UTF-8''" in disposition
    wb = openpyxl.load_workbook(io.BytesIO(body))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["区划代码", "单位", "受理量", "办结量"]
    assert "好评率(含基本满意)" in header and "主动评价率(已评价办件/办结量)" in header
    assert "网上办理率(÷受理量)" in header
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    rows = {r[1]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    qiaowa = rows["乔瓦镇"]
    assert (qiaowa[0], qiaowa[2], qiaowa[3]) == (QIAOWA + "000", 7, 4)
    rate_col = header.index("按时办结率") + 1
    assert ws.cell(row=2, column=rate_col).number_format == "0.00%"
    assert ws.cell(row=2, column=3).number_format == "#,##0"
    assert rows["合计"][2] == 10 and rows["合计"][header.index("按时办结率")] == 0.5
    notes = dict(wb["说明"].iter_rows(values_only=True))
    assert notes["统计期间"].startswith("2026年第一季度") and "基本满意" in "".join(str(v) for v in notes.values())


async def test_csv_starts_with_a_bom_and_writes_rates_as_percentages(data_set: CountyServer) -> None:
    status, _, body = await _download(data_set, f"/api/v1/export/summary?{Q1}&format=csv")
    assert status == 200 and body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == "事项类别,受理量,办结量,按时办结,按时办结率,在办"
    assert lines[-1] == "合计,10,6,3,50.00%,3"


@pytest.mark.parametrize("table", TABLES)
async def test_every_table_exports_in_both_formats(data_set: CountyServer, table: str) -> None:
    for fmt in ("xlsx", "csv"):
        status, _, body = await _download(
            data_set, f"/api/v1/export/{table}?{Q1}&format={fmt}&figure=completed&org={QIAOWA}")
        assert status == 200, body[:300]
        if fmt == "xlsx":
            ws = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
            assert ws.max_row >= 2 and ws.freeze_panes == "A2"
        else:
            assert body.startswith(b"\xef\xbb\xbf") and len(body.decode("utf-8-sig").splitlines()) >= 2


async def test_an_unknown_table_or_format_is_a_bad_request(data_set: CountyServer) -> None:
    status, _, _ = await _download(data_set, "/api/v1/export/everything?format=xlsx")
    assert status == 422
    status, _, _ = await _download(data_set, "/api/v1/export/units?format=pdf")
    assert status == 422


async def test_the_case_list_export_names_ratings_in_words(data_set: CountyServer) -> None:
    status, _, body = await _download(data_set, f"/api/v1/export/cases?{Q1}&format=xlsx&figure=evaluations")
    assert status == 200
    ws = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    column = [c.value for c in ws[1]].index("评价")
    ratings = {row[column] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert ratings and ratings <= {"非常满意", "满意", "基本满意", "不满意", "非常不满意"}, ratings


def test_a_clock_offset_that_rounds_to_nothing_is_zero_never_minus_zero() -> None:
    got = [offset_seconds(ms) for ms in (-40, 40, 0, -49, -50, 50, 1234, -61000)]
    assert got == [0.0, 0.0, 0.0, 0.0, -0.1, 0.1, 1.2, -61.0]
    assert [f"{x:.1f}" for x in got[:4]] == ["0.0"] * 4  # as the CSV writes it
