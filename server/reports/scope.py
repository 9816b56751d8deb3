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
from server.model.reference import HALL_LEVELS, Reference
from server.model.rollups import BASES, HANDLED, RESIDENCE


class OrgRef(msgspec.Struct, omit_defaults=False):
    code: str
    name: str
    level: str
    kind: str | None = None


class Scope(msgspec.Struct, frozen=True):
    unit: OrgUnit
    prefix: str  # the digits every case of the unit starts with: 2, 4, 6, 9 or 12
    period: Period
    as_of: str
    basis: str = HANDLED  # count cases where they were handled, or where the applicant lives (residence)

    @property
    def is_centre(self) -> bool:
        """The township centre itself (its 12-digit code), without the village stations."""
        return self.unit.level == Level.TOWNSHIP and len(self.prefix) == 12

    @property
    def is_hall(self) -> bool:
        """A county's (prefecture's, province's) service hall itself: the cases handled at its code."""
        return self.unit.level in HALL_LEVELS and len(self.prefix) == 9


BASIS_LABELS = {HANDLED: "按办理地", RESIDENCE: "按申请人居住地"}


def parse_basis(params: Mapping[str, str]) -> str:
    basis = params.get("basis", HANDLED)
    if basis not in BASES:
        raise invalid_filter("basis", f"统计口径「{basis}」无效：应为 handled（按办理地）"
                                      "或 residence（按申请人居住地）")
    return basis


def org_ref(unit: OrgUnit) -> OrgRef:
    return OrgRef(unit.code, unit.name, unit.level, unit.kind)


def parse_scope(params: Mapping[str, str], reference: Reference, today: date) -> Scope:
    """`org` (a 6/9/12-digit code or prefix; default the county), `period` or `from`/`to` (default the current
    year), `as_of` (default today). Raises ApiError(invalid_filter) saying in Chinese what to fix.

    A township's 9 digits mean the township (its centre and its villages); its 12-digit code ending 000 means the
    cases handled at the centre itself, as the centre's row of the township's table does."""
    for name in ("org", "period", "from", "to", "as_of"):
        if params.get(name) == "":  # the page never sends an empty filter: leave it out for the default
            raise invalid_filter(name, f"筛选条件 {name} 为空：请填写，或去掉这个条件")
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
    is_hall = org is not None and len(org) in (9, 12) and reference.hall(org) is unit
    prefix = (unit.code if is_centre else unit.code[:9] if is_hall
              else unit.code[:LEVEL_PREFIX_LEN[Level(unit.level)]])
    return Scope(unit, prefix, period, as_of, parse_basis(params))


def resolve_org(org: str | None, reference: Reference) -> OrgUnit:
    """The unit of a code or prefix: 2 (province), 4 (prefecture), 6 (county), 9 (township; a county's code
    followed by 000: its hall) or 12 digits."""
    root = reference.root
    if org is None:
        return root
    code = org + "0" * (12 - len(org)) if org.isdigit() and len(org) in (2, 4, 6, 9) else org
    unit = reference.org_units.get(code) if code.isdigit() and len(code) == 12 else None
    if unit is None or not code.startswith(reference.root_prefix):
        raise invalid_filter("org", f"单位代码「{org}」不是{root.name}的单位：应为{root.name}"
                                    f"（{reference.root_prefix}）下的县（6位）、乡镇（9位）或村（社区，12位）的区划代码")
    return unit
