"""County reference data: org units (统计用区划代码) and the service-item catalog, read from CSV files.

Both files may carry `#` comment lines. Loading checks everything a push will rely on (codes, levels, parents,
categories), so a typo stops start-up with the file and line instead of refusing events later.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import msgspec

from protocol.certificates import check_phone
from protocol.messages import OrgUnit, ServiceItem
from protocol.vocabulary import LEVEL_PREFIX_LEN, Level, level_of
from server.errors import ConfigError
from server.model.pinyin import initials_of

ORG_COLUMNS = ["code", "name", "level", "parent", "kind"]
ORG_OPTIONAL = ["phone"]
ITEM_COLUMNS = ["code", "name", "category", "promised_days", "legal_days", "is_online", "is_one_trip"]
# Columns a catalog may add after the required ones, in any order. is_online_capable: 可网办 (is_online, 全程网办,
# implies it). version and valid_from: an item may have several rows, one per version, each holding from its
# valid_from (YYYY-MM-DD; empty: from the start) until the next one's.
ITEM_OPTIONAL = ["supplement_days", "aliases", "is_online_capable", "version", "valid_from"]
# Report groups of the glossary (licence / public service / other). Finer 事项类型 go under 其他 in the catalog.
CATEGORIES = ("行政许可", "公共服务", "其他")
# Levels that hold units of their own (a county's, a prefecture's or a province's 政务服务大厅, kind `hall`).
HALL_LEVELS = frozenset({Level.COUNTY, Level.PREFECTURE, Level.PROVINCE})
_BOOLS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}


@dataclass(frozen=True)
class Reference:
    """Org units and catalog held in memory: pushes check scope and items against these dicts without SQL."""

    org_units: dict[str, OrgUnit]
    items: dict[str, ServiceItem]

    @cached_property
    def root(self) -> OrgUnit:
        """The unit the server serves: a county, or a prefecture (or province) with several counties."""
        return next(u for u in self.org_units.values() if u.parent is None)

    @property
    def county(self) -> OrgUnit:
        """The server's top unit (`root`): the county of a county server, the prefecture of a prefecture's."""
        return self.root

    @property
    def root_prefix(self) -> str:
        return self.root.code[:LEVEL_PREFIX_LEN[Level(self.root.level)]]

    def townships(self) -> list[OrgUnit]:
        return [u for u in self.org_units.values() if u.level == Level.TOWNSHIP]

    def township(self, township9: str) -> OrgUnit | None:
        """The township of a 9-digit code; None for anything else (a county's own code included)."""
        unit = self.org_units.get(township9 + "000")
        return unit if unit is not None and unit.level == Level.TOWNSHIP else None

    def hall(self, code: str) -> OrgUnit | None:
        """The service hall (县/州/省政务服务大厅) of a county, prefecture or province code (12 digits, or its first
        9): the unit itself when its kind is `hall`."""
        unit = self.org_units.get(code[:9] + "000") if len(code) in (9, 12) and code[9:] in ("", "000") else None
        return unit if unit is not None and is_hall(unit) else None

    def table_units(self, prefix: str, level: Level) -> list[OrgUnit]:
        """The rows of a table of `level` under `prefix`, by code: the units of that level, plus the units above
        it that handle cases themselves, each counted at its own code's first digits: the halls (a county's hall
        among its townships) and, in a table of villages, the townships' centres."""
        n = LEVEL_PREFIX_LEN[level]
        above = [u for u in self.org_units.values()
                 if u.code.startswith(prefix) and LEVEL_PREFIX_LEN[Level(u.level)] < n
                 and (is_hall(u) or (level is Level.VILLAGE and u.level == Level.TOWNSHIP))]
        return sorted([*self.units_under(prefix, level), *above], key=lambda u: u.code)

    def desk(self, code9: str) -> OrgUnit | None:
        """What a PC registered under the 9-digit `code9` works for: a township's centre, or a hall."""
        return self.township(code9) or self.hall(code9)

    def residence_prefix(self, code9: str) -> str:
        """The codes an applicant's village may have at a desk: its township's, or anywhere in a hall's area (the
        county, prefecture or province a hall serves)."""
        hall = self.hall(code9)
        return code9 if hall is None else hall.code[:LEVEL_PREFIX_LEN[Level(hall.level)]]

    def units_under(self, prefix: str, level: Level | None = None) -> list[OrgUnit]:
        return sorted((u for u in self.org_units.values()
                       if u.code.startswith(prefix) and (level is None or u.level == level)), key=lambda u: u.code)

    @cached_property
    def items_for_agents(self) -> list[ServiceItem]:
        """The catalog as PCs get it, by code, with the pinyin initials of names and aliases for the item search.
        Computed here, on the county, once, for PCs to keep offline (see `server.model.pinyin`)."""
        return [msgspec.structs.replace(i, initials=initials_of([i.name, *i.aliases]), earlier=[])
                for i in sorted(self.items.values(), key=lambda i: i.code)]

    def items_as_of(self, day: str) -> list[ServiceItem]:
        """The catalog as it stood on `day`: each item's version in effect then; items not yet in it left out."""
        out = []
        for item in self.items.values():
            version = version_on(item, day)
            if version is not None:
                out.append(version)
        return out

    def digest(self) -> str:
        blob = msgspec.json.encode([sorted(self.org_units.items()), sorted(self.items.items())])
        return hashlib.sha256(blob).hexdigest()[:16]


def is_hall(unit: OrgUnit) -> bool:
    return unit.kind == "hall" and unit.level in HALL_LEVELS


def expected_parent(code: str) -> str | None:
    """The code of the unit one level up (None for a province)."""
    level = level_of(code)
    if level is Level.PROVINCE:
        return None
    up = {Level.PREFECTURE: 2, Level.COUNTY: 4, Level.TOWNSHIP: 6, Level.VILLAGE: 9}[level]
    return code[:up] + "0" * (12 - up)


def version_on(item: ServiceItem, day: str) -> ServiceItem | None:
    """The version of `item` in effect on `day` (None: the item was not in the catalog yet)."""
    for version in (item, *reversed(item.earlier)):
        if version.valid_from is None or version.valid_from <= day:
            return version
    return None


def item_version(item: ServiceItem, version: str | None, day: str) -> ServiceItem:
    """The entry a case is under: the version it recorded at acceptance, else the one in effect on its acceptance
    day, else (accepted before the item's first version) the first."""
    if version is not None:
        for v in (item, *item.earlier):
            if v.version == version:
                return v
    return version_on(item, day) or (item.earlier[0] if item.earlier else item)


def category_of(item_code: str, items: Mapping[str, ServiceItem], former: str | None, version: str | None = None,
                accepted_on: str | None = None) -> str:
    """The report group of a case's item, by the catalog entry the case is under (`item_version`); an item since
    removed from the catalog keeps the case's former group."""
    item = items.get(item_code)
    if item is not None:
        if item.earlier and accepted_on is not None:
            return item_version(item, version, accepted_on).category
        return item.category
    return former if former is not None else "其他"


def load_reference(org_units_path: Path, catalog_path: Path) -> Reference:
    return Reference(load_org_units(org_units_path), load_catalog(catalog_path))


def _rows(path: Path, columns: list[str], optional: list[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows as dicts with every required and optional column (an optional one the file lacks is empty)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read reference file: {exc.strerror}") from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(line for _, line in numbered)))
    rows = list(reader)
    header = rows[0] if rows else []
    extra = header[len(columns):]
    if header[:len(columns)] != columns or not set(extra) <= set(optional) or len(set(extra)) != len(extra):
        raise ConfigError(f"{path}: the header must be {','.join(columns)}"
                          + (f", then any of {','.join(optional)}" if optional else ""))
    out = []
    for (lineno, _), row in zip(numbered[1:], rows[1:], strict=True):
        if len(row) != len(header):
            raise ConfigError(f"{path}:{lineno}: expected {len(header)} columns ({','.join(header)}), got {len(row)}")
        values = dict.fromkeys(optional, "") | dict(zip(header, (c.strip() for c in row), strict=True))
        out.append((lineno, values))
    return out


def load_org_units(path: Path) -> dict[str, OrgUnit]:
    units: dict[str, OrgUnit] = {}
    for lineno, row in _rows(path, ORG_COLUMNS, ORG_OPTIONAL):
        code = row["code"]
        if not (len(code) == 12 and code.isdigit()):
            raise ConfigError(f"{path}:{lineno}: code {code!r}: expected a 12-digit division code")
        if row["level"] != level_of(code):
            raise ConfigError(f"{path}:{lineno}: level {row['level']!r} does not match code {code} "
                              f"(expected {level_of(code).value})")
        if code in units:
            raise ConfigError(f"{path}:{lineno}: code {code} appears twice")
        if row["phone"] and check_phone(row["phone"]):
            raise ConfigError(f"{path}:{lineno}: phone {row['phone']!r}: expected a mobile number (11 digits) or a "
                              "landline with its area code, e.g. 0834-6601001")
        units[code] = OrgUnit(code=code, name=row["name"], level=row["level"], parent=row["parent"] or None,
                              kind=row["kind"] or None, phone=row["phone"] or None)
    # One top unit (no parent): a county, or a prefecture or province over several counties. Every other unit's
    # parent is the unit one level up by code, and exists.
    roots = [u for u in units.values() if u.parent is None]
    if len(roots) != 1 or roots[0].level not in HALL_LEVELS:
        raise ConfigError(f"{path}: expected exactly one top unit (a county, prefecture or province row with an "
                          f"empty parent), found {len(roots)}: {', '.join(u.code for u in roots) or 'none'}")
    for u in units.values():
        if u is roots[0]:
            continue
        parent = expected_parent(u.code)
        if u.parent != parent or parent not in units:
            raise ConfigError(f"{path}: {u.code} {u.name}: parent must be {parent}, an existing unit")
    return units


def load_catalog(path: Path) -> dict[str, ServiceItem]:
    """Each item's latest version, holding its earlier ones (`ServiceItem.earlier`, oldest first)."""
    versions: dict[str, list[ServiceItem]] = {}
    for lineno, row in _rows(path, ITEM_COLUMNS, ITEM_OPTIONAL):
        where = f"{path}:{lineno}"
        if row["category"] not in CATEGORIES:
            raise ConfigError(f"{where}: category {row['category']!r}: expected one of {', '.join(CATEGORIES)}")
        try:
            promised = int(row["promised_days"])
            legal = int(row["legal_days"]) if row["legal_days"] else None
            supplement = int(row["supplement_days"]) if row["supplement_days"] else None
        except ValueError:
            raise ConfigError(f"{where}: promised_days, legal_days and supplement_days must be whole working "
                              "days") from None
        if supplement is not None and not 1 <= supplement <= 365:
            raise ConfigError(f"{where}: supplement_days must be 1 to 365 working days, or empty")
        aliases = [a.strip() for a in row["aliases"].split("|") if a.strip()]
        flags: dict[str, bool] = {}
        for key in ("is_online", "is_one_trip", "is_online_capable"):
            if row[key].lower() not in _BOOLS:
                raise ConfigError(f"{where}: {key} {row[key]!r}: expected 1/0, true/false or yes/no")
            flags[key] = _BOOLS[row[key].lower()]
        valid_from = row["valid_from"] or None
        if valid_from is not None:
            try:
                if len(valid_from) != 10:
                    raise ValueError
                date.fromisoformat(valid_from)
            except ValueError:
                raise ConfigError(f"{where}: valid_from {valid_from!r}: expected a date YYYY-MM-DD") from None
        earlier = versions.setdefault(row["code"], [])
        if any(v.valid_from == valid_from for v in earlier):
            which = f" with valid_from {valid_from}" if valid_from else " (give each version a valid_from)"
            raise ConfigError(f"{where}: item code {row['code']} appears twice{which}")
        if promised < 0 or (legal is not None and legal < promised):
            raise ConfigError(f"{where}: promised_days must be >= 0 and not longer than legal_days")
        version = row["version"] or valid_from or "1"
        if any(v.version == version for v in earlier):
            raise ConfigError(f"{where}: item {row['code']} has version {version!r} twice")
        earlier.append(ServiceItem(code=row["code"], name=row["name"], category=row["category"],
                                   promised_days=promised, legal_days=legal, supplement_days=supplement,
                                   aliases=aliases, is_online=flags["is_online"], is_one_trip=flags["is_one_trip"],
                                   is_online_capable=flags["is_online_capable"] or flags["is_online"],
                                   version=version, valid_from=valid_from))
    if not versions:
        raise ConfigError(f"{path}: the catalog has no items")
    items: dict[str, ServiceItem] = {}
    for code, rows in versions.items():
        rows.sort(key=lambda v: v.valid_from or "")
        items[code] = msgspec.structs.replace(rows[-1], earlier=rows[:-1]) if len(rows) > 1 else rows[0]
    return items
