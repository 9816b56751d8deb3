"""What a figure request is about: one org unit (by division code), a period, and the day open cases are judged on
(`as_of`); parsed from query parameters, pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import msgspec

from protocol.messages import OrgUnit
from protocol.vocabulary import LEVEL_PREFIX_LEN, Level
from server.errors import invalid_filter
from server.model.figures import Period, PeriodError, check_day, parse_period
from server.model.reference import Reference


class OrgRef(msgspec.Struct, omit_defaults=False):
    code: str
    name: str
    level: str
    kind: str | None = None


class Scope(msgspec.Struct, frozen=True):
    unit: OrgUnit
    prefix: str  # the digits every case of the unit starts with: 6, 9 or 12
    period: Period
    as_of: str

    @property
    def is_centre(self) -> bool:
        """The township centre itself (its 12-digit code), without the village stations."""
        return self.unit.level == Level.TOWNSHIP and len(self.prefix) == 12


def org_ref(unit: OrgUnit) -> OrgRef:
    return OrgRef(unit.code, unit.name, unit.level, unit.kind)


def parse_scope(params: Mapping[str, str], reference: Reference, today: date) -> Scope:
    """`org` (a 6/9/12-digit code or prefix; default the county), `period` or `from`/`to` (default the current
    year), `as_of` (default today). Raises ApiError(invalid_filter) saying in Chinese what to fix.

    A township's 9 digits mean the township (its centre and its villages); its 12-digit code ending 000 means the
    cases handled at the centre itself, as the centre's row of the township's table does."""
    org = params.get("org")
    unit = resolve_org(org, reference)
    try:
        if not any(params.get(k) for k in ("period", "from", "to")):
            period = parse_period(str(today.year), None, None)  # the current year
        else:
            period = parse_period(params.get("period"), params.get("from"), params.get("to"))
    except PeriodError as exc:
        raise invalid_filter(exc.field, exc.message) from None
    try:
        as_of = check_day("as_of", params.get("as_of", today.isoformat()))
    except PeriodError as exc:
        raise invalid_filter(exc.field, exc.message) from None
    is_centre = org is not None and len(org) == 12 and unit.level == Level.TOWNSHIP
    prefix = unit.code if is_centre else unit.code[:LEVEL_PREFIX_LEN[Level(unit.level)]]
    return Scope(unit, prefix, period, as_of)


def resolve_org(org: str | None, reference: Reference) -> OrgUnit:
    county = reference.county
    if org is None:
        return county
    code = org + "0" * (12 - len(org)) if org.isdigit() and len(org) in (6, 9) else org
    unit = reference.org_units.get(code) if code.isdigit() and len(code) == 12 else None
    if unit is None:
        raise invalid_filter("org", f"单位代码「{org}」不是{county.name}的单位：应为县（{county.code[:6]}）、"
                                    "乡镇（9位）或村（社区，12位）的区划代码")
    return unit
