"""A case's own page on the dashboard, and the search that finds it: every field (the certificate number masked),
every event of its history (which PC, which staff member, when in China time, what a correction changed and why,
ratings with their comment), its conflicts. Nothing here writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from protocol.certificates import CERT_TYPES, mask_certificate
from protocol.corrections import CORRECTABLE, DERIVED, FIELD_LABELS, is_settled, needs_grant
from protocol.ids import new_uuid7
from protocol.lifecycle import CHINA_TZ, Case, corrected_at
from protocol.messages import CorrectionGrant
from server.clock import now_iso
from server.errors import ApiError, invalid_filter
from server.model.case_search import CaseSearch, parse_search, sealed
from server.model.figures import CHANNEL_LABELS, RATING_LABELS
from server.model.reference import Reference
from server.model.sealing import Keyring, open_case, open_event_data
from server.reports.scope import Scope
from server.reports.worklists import KIND_LABELS, CaseItem, ConflictItem, Worklists, conflict_item
from server.storage.dashboard import CaseEventRow, CaseListRow, DashboardStore

SEARCH_LIMIT = 50
RESULT_LABELS = {"approved": "准予办理", "not_approved": "不予批准"}
_decode = msgspec.json.decode


class FieldChange(msgspec.Struct, omit_defaults=False):
    field: str
    label: str
    before: str | None  # as people read it: names for codes
    after: str | None


class HistoryItem(msgspec.Struct, omit_defaults=False):
    event_id: str
    kind: str
    kind_label: str
    agent_id: str
    agent_name: str | None
    staff: str | None  # who: the staff member signed in on the PC (name（工号）), else the one the event names
    seq: int
    at: str  # on the county's clock (the PC's corrected by its offset), China time, to the second
    received_at: str  # when the county stored it, China time
    reason: str | None = None  # a correction's, a refusal's or a withdrawal's
    changes: list[FieldChange] = []  # a correction's fields, before -> after
    granted: bool = False  # a correction under the county's grant
    rating: int | None = None
    rating_label: str | None = None
    comment: str | None = None
    note: str | None = None
    conflict: str | None = None  # the reason the county could not apply it (县级未采纳)


class CaseDetail(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/cases/{case_id}`: the case, its history and conflicts."""

    case: CaseItem
    village_code: str | None
    village_name: str | None
    cert_type_label: str
    phone: str | None
    promised_days: int
    accepted_at: str
    completed_at: str | None
    result_label: str | None
    note: str | None
    reason: str | None
    supplements: list[list[str | None]]
    missing: list[str]
    history: list[HistoryItem]
    conflicts: list[ConflictItem]
    # 更正 of the fields that move a figure: which need a grant now (empty while the case is open), and the grants
    # the county gave (the township's PCs receive them with their next pull).
    locked_fields: list[str] = []
    grants: list[GrantItem] = []


class GrantItem(msgspec.Struct, omit_defaults=False):
    grant_id: str
    reason: str
    granted_by: str
    granted_at: str  # China time


class SearchResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/search?q=`: cases under `org` whose number, applicant, certificate (or its last 4) or phone
    match, newest accepted first."""

    q: str
    org: str
    org_name: str
    total: int
    limit: int
    rows: list[CaseItem]


class CasePages:
    def __init__(self, store: DashboardStore, reference: Reference, worklists: Worklists, keys: Keyring) -> None:
        self._store = store
        self._reference = reference
        self._worklists = worklists
        self._keys = keys  # ID numbers and phones are stored sealed: searched by their hashes, opened to be shown

    def _hashed(self, scope: Scope, search: CaseSearch) -> CaseSearch:
        townships = (u.code[:9] for u in self._reference.org_units.values()
                     if u.code.startswith(scope.prefix[:9]) or scope.prefix.startswith(u.code[:9]))
        return sealed(search, self._keys, townships)

    async def search(self, scope: Scope, query: str) -> SearchResponse:
        try:
            search = parse_search(query)
        except ValueError as e:
            raise invalid_filter("q", str(e)) from None
        if search is None:
            raise invalid_filter("q", "请输入办件编号、申请人姓名、证件号码（或后4位）或电话")
        rows = await self._store.search_cases(scope.prefix, self._hashed(scope, search), SEARCH_LIMIT)
        return SearchResponse(q=search.text, org=scope.unit.code, org_name=scope.unit.name, total=len(rows),
                              limit=SEARCH_LIMIT, rows=[self._worklists.item(r, scope.as_of) for r in rows])

    async def case(self, scope: Scope, case_id: str) -> CaseDetail:
        """Raises `case_not_found` for a case that does not exist or lies outside the reader's scope."""
        found = await self._store.case_page(case_id)
        if found is None:
            raise ApiError("case_not_found", case_id[:40])
        case = _decode(found.body, type=Case)
        if not case.org_code.startswith(scope.prefix):
            raise ApiError("case_not_found", case_id[:40])
        case = open_case(self._keys, case)
        names = {s.agent.agent_id: s.agent.name for s in await self._store.agent_statuses()}
        lost = {c.conflict.event_id: c.conflict.message for c in found.conflicts}
        units = self._reference.org_units
        village = units.get(case.village_code) if case.village_code else None
        row = _list_row(case, found.category)
        return CaseDetail(
            case=self._worklists.item(row, scope.as_of), village_code=case.village_code,
            village_name=village.name if village else None,
            cert_type_label=CERT_TYPES.get(case.cert_type, case.cert_type), phone=case.phone,
            promised_days=case.promised_days, accepted_at=case.accepted_at, completed_at=case.completed_at,
            result_label=RESULT_LABELS.get(case.result or "", case.result), note=case.note, reason=case.reason,
            supplements=case.supplements, missing=case.missing,
            history=[self._history_item(e, names, lost) for e in found.events],
            conflicts=[conflict_item(c, names, self._reference) for c in found.conflicts],
            locked_fields=needs_grant(case, CORRECTABLE),
            grants=[GrantItem(g.grant_id, g.reason, g.granted_by, _china(datetime.fromisoformat(g.granted_at)))
                    for g in found.grants])

    async def grant(self, scope: Scope, case_id: str, reason: str, account: str) -> GrantItem:
        """A county admin's leave to correct the figure fields of a closed or rated case (`protocol.corrections`).
        Raises `case_not_found`, or `invalid_input` without a reason or for a case that needs none."""
        found = await self._store.case_page(case_id)
        case = _decode(found.body, type=Case) if found is not None else None
        if case is None or not case.org_code.startswith(scope.prefix):
            raise ApiError("case_not_found", case_id[:40])
        reason = reason.strip()
        if not reason:
            raise ApiError("invalid_input", "请填写授权原因", {"reason": "请填写授权原因"})
        if not is_settled(case):
            message = "该办件尚未办结或评价，窗口可直接更正，无需授权"
            raise ApiError("invalid_input", message, {"reason": message})
        grant = CorrectionGrant(grant_id=new_uuid7(), case_id=case_id, reason=reason, granted_by=account,
                                granted_at=now_iso())
        await self._store.add_grant(grant, case.org_code[:9])
        return GrantItem(grant.grant_id, reason, account, _china(datetime.fromisoformat(grant.granted_at)))

    def _history_item(self, e: CaseEventRow, names: dict[str, str], lost: dict[str, str]) -> HistoryItem:
        data: dict[str, Any] = _decode(open_event_data(self._keys, e.kind, e.data))
        item = HistoryItem(
            event_id=e.event_id, kind=e.kind, kind_label=KIND_LABELS.get(e.kind, e.kind), agent_id=e.agent_id,
            agent_name=names.get(e.agent_id), staff=_staff(e, data),
            seq=e.seq, at=_china(corrected_at(e.at, e.offset_ms)),
            received_at=_china(datetime.fromisoformat(e.received_at)), conflict=lost.get(e.event_id),
            reason=data.get("reason"), comment=data.get("comment"), note=data.get("note"))
        if e.kind == "corrected":
            before = data.get("before") or {}
            item.changes = [FieldChange(f, FIELD_LABELS.get(f, f), self._shown(f, before.get(f)),
                                        self._shown(f, data[f]))
                            for f in FIELD_LABELS if f in data and f not in DERIVED]
            item.granted = data.get("grant") is not None
        if e.kind == "evaluated":
            item.rating = data.get("rating")
            item.rating_label = RATING_LABELS.get(item.rating or 0)
        return item

    def _shown(self, field: str, value: Any) -> str | None:
        """A field's value as people read it: the names of units, items, channels and certificate types; a
        certificate number masked."""
        if value is None:
            return None
        text = str(value)
        if field in ("org_code", "village_code"):
            unit = self._reference.org_units.get(text)
            return unit.name if unit else text
        if field == "item_code":
            item = self._reference.items.get(text)
            return item.name if item else text
        if field == "channel":
            return CHANNEL_LABELS.get(text, text)
        if field == "cert_type":
            return CERT_TYPES.get(text, text)
        if field == "cert_no":
            return mask_certificate(text)
        return text


def _staff(e: CaseEventRow, data: dict[str, Any]) -> str | None:
    """Who did it: the signed-in staff member as "name（工号）" (the id alone when the township's list lacks it);
    for an event from before staff sign-in, the free-text 经办人 an acceptance carried."""
    if e.staff_id is not None:
        return f"{e.staff_name}（{e.staff_id}）" if e.staff_name else e.staff_id
    return data.get("staff") if isinstance(data.get("staff"), str) else None


def _china(when: datetime) -> str:
    return when.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _list_row(case: Case, category: str) -> CaseListRow:
    return CaseListRow(
        case_id=case.case_id, case_no=case.case_no, org_code=case.org_code, item_code=case.item_code,
        category=category, channel=case.channel, state=case.state, accepted_on=case.accepted_on, due_on=case.due_on,
        completed_on=case.completed_on, closed_on=case.closed_on, rating=case.rating, rated_on=case.rated_on,
        followed_up_on=case.followed_up_on, is_on_time=case.is_on_time, applicant_name=case.applicant_name,
        cert_type=case.cert_type, cert_no=case.cert_no, staff=case.staff, trips=case.trips, comment=case.comment)

