"""Tables written as XLSX (openpyxl) and CSV; pure: a `Table` in, bytes out.

XLSX: Chinese headers in bold on a frozen first row, counts as integers with thousands separators, rates as real
numbers formatted as percentages (so Excel can sum and sort them), dates as text YYYY-MM-DD (the way reports print
them, and no time-zone surprises), a second sheet 说明 with the period, the unit and the definitions used.
CSV: UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it in the right encoding; rates as "85.67%".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

KINDS = ("text", "int", "rate", "date", "code")
_FORMATS = {"int": "#,##0", "rate": "0.00%", "date": "@", "code": "@", "text": "General"}
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
    rows: list[Sequence[Any]]
    notes: list[tuple[str, str]] = field(default_factory=list)  # (label, text) for the 说明 sheet


def to_xlsx(table: Table) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_name(table.name)
    ws.append([c.header for c in table.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in table.rows:
        ws.append([_xlsx_value(c, v) for c, v in zip(table.columns, row, strict=True)])
    for i, column in enumerate(table.columns, 1):
        letter = get_column_letter(i)
        fmt = _FORMATS[column.kind]
        for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
            cell.number_format = fmt
        widest = max([_display_width(column.header), *(_display_width(_text(column, r[i - 1])) for r in table.rows)])
        ws.column_dimensions[letter].width = min(MAX_WIDTH, widest + 2)
    ws.freeze_panes = "A2"
    if table.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
    if table.notes:
        notes = wb.create_sheet("说明")
        for label, text in table.notes:
            notes.append([label, text])
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
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow([_text(c, v) for c, v in zip(table.columns, row, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind in ("date", "code", "text"):
        return str(value)
    return value


def _text(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value * 100:.2f}%"
    return str(value)


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _sheet_name(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, " ")
    return name[:31] or "Sheet1"
