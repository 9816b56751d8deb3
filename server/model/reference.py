"""County reference data: org units (统计用区划代码) and the service-item catalog, read from CSV files.

Both files may carry `#` comment lines. Loading checks everything a push will rely on (codes, levels, parents,
categories), so a typo stops start-up with the file and line instead of refusing events later.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import msgspec

from protocol.messages import OrgUnit, ServiceItem
from protocol.vocabulary import Level, level_of
from server.errors import ConfigError

ORG_COLUMNS = ["code", "name", "level", "parent", "kind"]
ITEM_COLUMNS = ["code", "name", "category", "promised_days", "legal_days", "is_online", "is_one_trip"]
# Report groups of the glossary (licence / public service / other). Finer 事项类型 go under 其他 in the catalog.
CATEGORIES = ("行政许可", "公共服务", "其他")
_BOOLS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}


@dataclass(frozen=True)
class Reference:
    """Org units and catalog held in memory: pushes check scope and items against these dicts without SQL."""

    org_units: dict[str, OrgUnit]
    items: dict[str, ServiceItem]

    @property
    def county(self) -> OrgUnit:
        return next(u for u in self.org_units.values() if u.level == Level.COUNTY)

    def townships(self) -> list[OrgUnit]:
        return [u for u in self.org_units.values() if u.level == Level.TOWNSHIP]

    def township(self, township9: str) -> OrgUnit | None:
        return self.org_units.get(township9 + "000")

    def units_under(self, prefix: str, level: Level | None = None) -> list[OrgUnit]:
        return sorted((u for u in self.org_units.values()
                       if u.code.startswith(prefix) and (level is None or u.level == level)), key=lambda u: u.code)

    def digest(self) -> str:
        blob = msgspec.json.encode([sorted(self.org_units.items()), sorted(self.items.items())])
        return hashlib.sha256(blob).hexdigest()[:16]


def load_reference(org_units_path: Path, catalog_path: Path) -> Reference:
    return Reference(load_org_units(org_units_path), load_catalog(catalog_path))


def _rows(path: Path, columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read reference file: {exc.strerror}") from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(line for _, line in numbered)))
    rows = list(reader)
    if not rows or rows[0] != columns:
        raise ConfigError(f"{path}: the header must be {','.join(columns)}")
    out = []
    for (lineno, _), row in zip(numbered[1:], rows[1:], strict=True):
        if len(row) != len(columns):
            raise ConfigError(f"{path}:{lineno}: expected {len(columns)} columns ({','.join(columns)}), got {len(row)}")
        out.append((lineno, dict(zip(columns, (c.strip() for c in row), strict=True))))
    return out


def load_org_units(path: Path) -> dict[str, OrgUnit]:
    units: dict[str, OrgUnit] = {}
    for lineno, row in _rows(path, ORG_COLUMNS):
        code = row["code"]
        if not (len(code) == 12 and code.isdigit()):
            raise ConfigError(f"{path}:{lineno}: code {code!r}: expected a 12-digit division code")
        if row["level"] != level_of(code):
            raise ConfigError(f"{path}:{lineno}: level {row['level']!r} does not match code {code} "
                              f"(expected {level_of(code).value})")
        if code in units:
            raise ConfigError(f"{path}:{lineno}: code {code} appears twice")
        units[code] = OrgUnit(code=code, name=row["name"], level=row["level"], parent=row["parent"] or None,
                              kind=row["kind"] or None)
    counties = [u for u in units.values() if u.level == Level.COUNTY]
    if len(counties) != 1:
        raise ConfigError(f"{path}: expected exactly one county row, found {len(counties)}")
    county = counties[0]
    for u in units.values():
        if u is county:
            continue
        expected_parent = county.code if u.level == Level.TOWNSHIP else u.code[:9] + "000"
        if u.parent != expected_parent or expected_parent not in units or not u.code.startswith(county.code[:6]):
            raise ConfigError(f"{path}: {u.code} {u.name}: parent must be {expected_parent}, an existing unit")
    return units


def load_catalog(path: Path) -> dict[str, ServiceItem]:
    items: dict[str, ServiceItem] = {}
    for lineno, row in _rows(path, ITEM_COLUMNS):
        where = f"{path}:{lineno}"
        if row["category"] not in CATEGORIES:
            raise ConfigError(f"{where}: category {row['category']!r}: expected one of {', '.join(CATEGORIES)}")
        try:
            promised = int(row["promised_days"])
            legal = int(row["legal_days"]) if row["legal_days"] else None
        except ValueError:
            raise ConfigError(f"{where}: promised_days and legal_days must be whole working days") from None
        flags = {}
        for key in ("is_online", "is_one_trip"):
            if row[key].lower() not in _BOOLS:
                raise ConfigError(f"{where}: {key} {row[key]!r}: expected 1/0, true/false or yes/no")
            flags[key] = _BOOLS[row[key].lower()]
        if row["code"] in items:
            raise ConfigError(f"{where}: item code {row['code']} appears twice")
        if promised < 0 or (legal is not None and legal < promised):
            raise ConfigError(f"{where}: promised_days must be >= 0 and not longer than legal_days")
        items[row["code"]] = ServiceItem(code=row["code"], name=row["name"], category=row["category"],
                                         promised_days=promised, legal_days=legal, **flags)
    if not items:
        raise ConfigError(f"{path}: the catalog has no items")
    return items
