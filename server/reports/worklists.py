"""The lists behind the figures: the cases that count in a figure, open cases overdue or due soon, bad ratings
awaiting follow-up, and the township PCs (agents) with their sync health. Certificate numbers leave the server
masked (`protocol.certificates.mask_certificate`); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from protocol.certificates import mask_certificate
from protocol.workdays import CalendarMissing, WorkCalendar, due_date
from server.errors import invalid_filter
from server.model.figures import CHANNEL_LABELS, RATING_LABELS, Definitions
from server.model.reference import Reference
from server.model.sealing import Keyring, opened_certificate
from server.reports.scope import Scope
from server.storage.dashboard import CASE_FIGURES, CASE_SORTS, CaseFilter, ConflictRow, DashboardStore

MAX_PAGE = 500
STATE_LABELS = {"in_progress": "办理中", "suspended": "补正中", "completed": "办结", "rejected": "不予受理",
                "withdrawn": "撤回"}
# Figures whose cases ignore the period: they are about open cases on `as_of`.
OPEN_FIGURES = ("overdue_open", "due_soon")


class CaseItem(msgspec.Struct, omit_defaults=False):
    case_id: str
    case_no: str
    township_code: str
    township_name: str
    org_code: str
    org_name: str  # where handled: the centre or a village station
    item_code: str
    item_name: str
    category: str
    channel: str
    channel_label: str
    state: str
    state_label: str
    accepted_on: str
    due_on: str | None
    completed_on: str | None
    closed_on: str | None
    is_on_time: bool | None
    rating: int | None
    rating_label: str | None  # 非常满意 … 非常不满意
    rated_on: str | None
    followed_up_on: str | None
    applicant_name: str
    cert_no_masked: str
    staff: str | None  # who accepted it (受理人)
    trips: int
    closed_by: str | None  # who closed it (办结人): completed, refused or withdrew
    days_overdue: int | None  # calendar days past the due date on as_of, for open cases
    comment: str | None = None  # the resident's words with the rating (差评回访 shows them)


class CaseListResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/cases`: the cases behind one figure, one page at a time."""

    figure: str
    org: str
    org_name: str
    date_from: str | None
    date_to: str | None
    as_of: str
    due_until: str | None
    total: int
    offset: int
    limit: int
    sort: str
    order: str
    rows: list[CaseItem]


class AgentItem(msgspec.Struct, omit_defaults=False):
    agent_id: str
    name: str
    township_code: str
    township_name: str
    created_at: str
    last_push_at: str | None
    hours_since_push: float | None
    pending: int | None
    acked_seq: int
    clock_offset_ms: int | None
    software_version: str | None
    is_silent: bool  # never pushed, or not for longer than [dashboard] agent_silent_hours; never when revoked
    revoked_at: str | None = None  # `county-server agents revoke`
    protocol_version: int = 1  # 1: an old agent (no pull; its events in seq order)
    digest_agrees: bool | None = None  # its last agreement check with the county (None: none yet)
    open_conflicts: int = 0  # its events the county could not apply, not settled yet
    pull_lag: int | None = None  # township events stored after its acknowledged pull (None: never pulled)
    refused: int = 0  # its events the county refused
    conflicts: int = 0  # its events that could not apply, open or settled

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class AgentsResponse(msgspec.Struct, omit_defaults=False):
    silent_after_hours: int
    rows: list[AgentItem]


class ConflictItem(msgspec.Struct, omit_defaults=False):
    event_id: str
    case_id: str
    case_no: str | None
    township_code: str
    township_name: str
    agent_id: str
    agent_name: str | None
    kind: str
    kind_label: str
    code: str
    message: str
    at: str  # the event's time on the county's clock, China time
    lost_to: str | None
    lost_to_agent_id: str | None
    lost_to_agent_name: str | None
    lost_to_kind: str | None
    lost_to_kind_label: str | None
    lost_to_at: str | None
    detected_at: str  # when the county found it (UTC)
    is_open: bool
    outcome: str | None  # accepted (以县级为准) or redone (按当前状态重做)
    outcome_label: str | None
    settled_at: str | None


class ConflictsResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/conflicts`: conflicts of the cases under `org`, open, settled or all, newest found first."""

    org: str
    org_name: str
    state: str
    total: int
    offset: int
    limit: int
    rows: list[ConflictItem]


KIND_LABELS = {"accepted": "受理", "updated": "修改", "corrected": "更正", "supplement_requested": "要求补正",
               "supplement_received": "补正材料已收到", "completed": "办结", "rejected": "不予受理",
               "withdrawn": "撤回", "evaluated": "评价", "followed_up": "差评回访", "settled": "处理冲突"}
OUTCOME_LABELS = {"accepted": "以县级为准", "redone": "按当前状态重做"}
CONFLICT_STATES = ("open", "settled", "all")


class Worklists:
    def __init__(self, store: DashboardStore, reference: Reference, definitions: Definitions,
                 calendar: WorkCalendar | None, due_soon_workdays: int, agent_silent_hours: int, *,
                 keys: Keyring | None = None) -> None:
        self._store = store
        self._keys = keys  # ID numbers are stored sealed: opened here only to be masked
        self._reference = reference
        self._definitions = definitions
        self._calendar = calendar
        self._due_soon_workdays = due_soon_workdays
        self._silent_hours = agent_silent_hours

    def due_until(self, as_of: str) -> str:
        """The last day that is "due soon" seen from `as_of`: the N-th working day after it. Without a calendar for
        that year, N calendar days plus a weekend, so the list errs on the side of showing more."""
        day = date.fromisoformat(as_of)
        if self._calendar is not None:
            try:
                return due_date(self._calendar, day, self._due_soon_workdays).isoformat()
            except CalendarMissing:
                pass
        return (day + timedelta(days=self._due_soon_workdays + 2)).isoformat()

    async def cases(self, scope: Scope, params: Mapping[str, str], *, has_period: bool) -> CaseListResponse:
        figure = params.get("figure", "accepted")
        if figure not in CASE_FIGURES:
            raise invalid_filter("figure", f"没有「{figure}」这个指标的办件清单")
        default_sort = "due_on" if figure in OPEN_FIGURES else "rated_on" if figure == "bad_pending" else "accepted_on"
        sort = params.get("sort", default_sort)
        order = params.get("order", "desc" if default_sort == "accepted_on" else "asc")
        if sort not in CASE_SORTS:
            raise invalid_filter("sort", f"不能按「{sort}」排序：可按 {'、'.join(CASE_SORTS)} 排序")
        if order not in ("asc", "desc"):
            raise invalid_filter("order", f"排序方向「{order}」无效：应为 asc（升序）或 desc（降序）")
        limit, offset = int_param(params, "limit", 100, 1, MAX_PAGE), int_param(params, "offset", 0, 0, 10**9)
        category, channel = params.get("category"), params.get("channel")
        if channel is not None and channel not in CHANNEL_LABELS:
            raise invalid_filter("channel", f"没有「{channel}」这种受理渠道：应为 {'、'.join(CHANNEL_LABELS)} 之一")
        dated = has_period and figure not in OPEN_FIGURES
        due_until = self.due_until(scope.as_of) if figure == "due_soon" else None
        where = CaseFilter(prefix=scope.prefix, figure=figure,
                           date_from=scope.period.date_from if dated else None,
                           date_to=scope.period.date_to if dated else None, as_of=scope.as_of, due_until=due_until,
                           good_ratings=self._definitions.good_ratings, category=category, channel=channel,
                           basis=scope.basis, **self._search(scope.prefix, params.get("q")))
        total, rows = await self._store.list_cases(where, sort, order == "desc", limit, offset)
        org_name = scope.unit.name + ("便民服务中心" if scope.is_centre else "政务服务大厅" if scope.is_hall else "")
        return CaseListResponse(figure=figure, org=scope.unit.code, org_name=org_name,
                                date_from=where.date_from, date_to=where.date_to,
                                as_of=scope.as_of, due_until=due_until, total=total, offset=offset, limit=limit,
                                sort=sort, order=order, rows=[self.item(r, scope.as_of) for r in rows])

    def item(self, r: Any, as_of: str) -> CaseItem:
        """One row of a case list, as the dashboard shows it (names for codes, the certificate number masked)."""
        units, items = self._reference.org_units, self._reference.items
        township = units.get(r.org_code[:9] + "000")
        org = units.get(r.org_code)
        item = items.get(r.item_code)
        is_open = r.state in ("in_progress", "suspended")
        overdue = None
        if is_open and r.due_on is not None and r.due_on < as_of:
            overdue = (date.fromisoformat(as_of) - date.fromisoformat(r.due_on)).days
        return CaseItem(
            case_id=r.case_id, case_no=r.case_no, township_code=r.org_code[:9],
            township_name=township.name if township else r.org_code[:9], org_code=r.org_code,
            org_name=(org.name if org else r.org_code) if r.org_code[9:] != "000"
            else "政务服务大厅" if self._reference.hall(r.org_code) else "便民服务中心",
            item_code=r.item_code, item_name=item.name if item else r.item_code,
            category=r.category, channel=r.channel, channel_label=CHANNEL_LABELS.get(r.channel, r.channel),
            state=r.state, state_label=STATE_LABELS.get(r.state, r.state), accepted_on=r.accepted_on,
            due_on=r.due_on, completed_on=r.completed_on, closed_on=r.closed_on, is_on_time=r.is_on_time,
            rating=r.rating, rating_label=RATING_LABELS.get(r.rating) if r.rating else None, rated_on=r.rated_on,
            followed_up_on=r.followed_up_on, applicant_name=r.applicant_name,
            cert_no_masked=mask_certificate(opened_certificate(self._keys, r.cert_no)), staff=r.staff, trips=r.trips,
            closed_by=r.closed_by, days_overdue=overdue, comment=r.comment)

    def _search(self, prefix: str, q: str | None) -> dict[str, tuple[str, ...]]:
        """`q`: a whole ID number, a phone, or an ID number's last 4 characters (then per township in scope), as
        keyed hashes: the clear numbers are not in the database to compare with."""
        if not q or not q.strip():
            return {}
        if self._keys is None:
            raise invalid_filter("q", "本服务器没有配置密钥文件，不能按证件号码或电话查询")
        q = q.strip()
        keys = self._keys
        if len(q) == 4 and q[:3].isdigit() and (q[3].isdigit() or q[3] in "xX"):
            townships = [u.code[:9] for u in self._reference.townships() if u.code.startswith(prefix[:9])
                         or prefix.startswith(u.code[:9])]
            return {"tail_hashes": tuple(h for t in townships for h in keys.tail_hashes(t, q))}
        if not q.replace("-", "").replace("+", "").replace(" ", "").replace("X", "").replace("x", "").isdigit() \
                or not 5 <= len(q) <= 40:
            raise invalid_filter("q", "请输入完整的证件号码、电话号码，或证件号码的后4位")
        return {"cert_hashes": tuple(keys.hashes("cert_no", q)), "phone_hashes": tuple(keys.hashes("phone", q))}

    async def agents(self, now: datetime, township_code: str | None = None) -> AgentsResponse:
        """Every PC, or those of one township, their silence measured up to `now` (aware)."""
        rows = []
        for status in await self._store.agent_statuses(township_code):
            a = status.agent
            township = self._reference.org_units.get(a.township_code + "000")
            hours = None
            if a.last_push_at is not None:
                hours = round((now - datetime.fromisoformat(a.last_push_at)).total_seconds() / 3600, 1)
            rows.append(AgentItem(
                agent_id=a.agent_id, name=a.name, township_code=a.township_code,
                township_name=township.name if township else a.township_code, created_at=a.created_at,
                last_push_at=a.last_push_at, hours_since_push=hours, pending=a.pending, acked_seq=a.acked_seq,
                clock_offset_ms=status.last_offset_ms, software_version=a.software_version,
                is_silent=a.revoked_at is None and (hours is None or hours > self._silent_hours),
                revoked_at=a.revoked_at, protocol_version=a.protocol_version, digest_agrees=a.digest_agrees,
                open_conflicts=status.open_conflicts, pull_lag=status.pull_lag, refused=status.refused,
                conflicts=status.conflicts))
        return AgentsResponse(silent_after_hours=self._silent_hours, rows=rows)

    async def conflicts(self, scope: Scope, params: Mapping[str, str]) -> ConflictsResponse:
        """The conflicts (县级未采纳) of the cases under the scope's unit: who lost to whom, and how it was settled."""
        state = params.get("state", "open")
        if state not in CONFLICT_STATES:
            raise invalid_filter("state", f"状态「{state}」无效：应为 {'、'.join(CONFLICT_STATES)} 之一")
        limit, offset = int_param(params, "limit", 100, 1, MAX_PAGE), int_param(params, "offset", 0, 0, 10**9)
        total, rows = await self._store.list_conflicts(
            scope.prefix, None if state == "all" else state == "open", limit, offset)
        names = {s.agent.agent_id: s.agent.name for s in await self._store.agent_statuses(
            scope.prefix[:9] if len(scope.prefix) >= 9 else None)} if rows else {}
        items = [conflict_item(r, names, self._reference) for r in rows]
        org_name = scope.unit.name + ("便民服务中心" if scope.is_centre else "")
        return ConflictsResponse(org=scope.unit.code, org_name=org_name, state=state, total=total, offset=offset,
                                 limit=limit, rows=items)


def conflict_item(r: ConflictRow, names: Mapping[str, str], reference: Reference) -> ConflictItem:
    """A conflict as the dashboard shows it: who lost to whom, in words, and how it was settled."""
    c = r.conflict
    township = reference.org_units.get(r.township_code + "000")
    return ConflictItem(
        event_id=c.event_id, case_id=c.case_id, case_no=r.case_no, township_code=r.township_code,
        township_name=township.name if township else r.township_code, agent_id=c.agent_id,
        agent_name=names.get(c.agent_id), kind=c.kind, kind_label=KIND_LABELS.get(c.kind, c.kind), code=c.code,
        message=c.message, at=c.at, lost_to=c.lost_to, lost_to_agent_id=c.lost_to_agent_id,
        lost_to_agent_name=names.get(c.lost_to_agent_id or ""), lost_to_kind=c.lost_to_kind,
        lost_to_kind_label=KIND_LABELS.get(c.lost_to_kind or "", c.lost_to_kind), lost_to_at=c.lost_to_at,
        detected_at=r.detected_at, is_open=c.is_open, outcome=c.outcome,
        outcome_label=OUTCOME_LABELS.get(c.outcome or ""), settled_at=r.settled_at)


def int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError
    except ValueError:
        raise invalid_filter(name, f"{name}「{raw}」应为 {low} 到 {high} 之间的整数") from None
    return value

