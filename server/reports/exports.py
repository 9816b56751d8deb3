"""Tables written as XLSX (openpyxl) and CSV; pure: a `Table` in, bytes out.

XLSX: Chinese headers in bold on a frozen first row, counts as integers with thousands separators, rates as real
numbers formatted as percentages (so Excel can sum and sort them), dates as text YYYY-MM-DD (the way reports print
them, and no time-zone surprises), a second sheet 说明 with the period, the unit and the definitions used.
CSV: UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it in the right encoding; rates as "85.67%".

Cells hold what townships typed (names, case numbers, the PCs' software versions): no text may become a formula.
- XLSX: every text cell is written with the string type. openpyxl would store a string that starts with "=" as a
  formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`); control characters XML cannot carry are replaced by U+FFFD.
- CSV, as OWASP's "CSV Injection" advises: a text cell that starts with =, +, -, @, a tab or a carriage return gets a
  leading apostrophe, so spreadsheets show it as text.
- Text of digits only (division codes, case numbers, phone numbers) stays text: a string cell with the text format
  in XLSX, and a leading tab in CSV, which Excel keeps as text instead of turning 513422100000 into 5.13422E+11 or
  dropping a leading zero.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

KINDS = ("text", "int", "decimal", "rate", "date", "code")
_FORMATS = {"int": "#,##0", "decimal": "0.0", "rate": "0.00%", "date": "@", "code": "@", "text": "@"}
_TEXT_KINDS = frozenset({"text", "date", "code"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: what makes a spreadsheet read a cell as a formula
_HEADER_FILL = PatternFill("solid", fgColor="E9EEF4")
MAX_WIDTH = 60


@dataclass(frozen=True)
class Column:
    header: str  # Chinese, with the definition choice where there is one, e.g. 好评率(含基本满意)
    kind: str = "text"

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


@dataclass
class Table:
    name: str  # the sheet's name and the file name's stem, e.g. 乡镇办件统计
    columns: list[Column]
    rows: Sequence[Sequence[Any]]
    notes: list[tuple[str, str]] = field(default_factory=list)  # (label, text) for the 说明 sheet


def to_xlsx(table: Table) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_name(table.name)
    for i, column in enumerate(table.columns, 1):
        cell = _put(ws, 1, i, column.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for r, row in enumerate(table.rows, 2):
        for i, (column, value) in enumerate(zip(table.columns, row, strict=True), 1):
            _put(ws, r, i, _xlsx_value(column, value)).number_format = _FORMATS[column.kind]
    for i, column in enumerate(table.columns, 1):
        widest = max([_display_width(column.header), *(_display_width(_text(column, r[i - 1])) for r in table.rows)])
        ws.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, widest + 2)
    ws.freeze_panes = "A2"
    if table.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
    if table.notes:
        notes = wb.create_sheet("说明")
        for r, (label, text) in enumerate(table.notes, 1):
            _put(notes, r, 1, label)
            _put(notes, r, 2, text)
        notes.column_dimensions["A"].width = 16
        notes.column_dimensions["B"].width = 90
        for (cell,) in notes.iter_rows(min_col=1, max_col=1):
            cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_text(c.header) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_text(_text(c, v)) if c.kind in _TEXT_KINDS else _text(c, v)
                         for c, v in zip(table.columns, row, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_text(text: str) -> str:
    """A text cell as CSV must hold it: never read as a formula, digits kept as text (see the module docstring)."""
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    if text.isdigit() and text.isascii():
        return "\t" + text
    return text


def _put(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write one cell; text always as a string, whatever it starts with."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        cell.data_type = "s"  # openpyxl makes a string that starts with "=" a formula
    else:
        cell.value = value
    return cell


def _xlsx_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind in _TEXT_KINDS:
        return str(value)
    return value


def _text(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value * 100:.2f}%"
    if column.kind == "decimal":
        return f"{value:.1f}"
    return str(value)


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _sheet_name(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, " ")
    return name[:31] or "Sheet1"
