"""差评回访: the bad ratings waiting for their follow-up, one row per rating, with the last day the county's rule gives
(`[ratings] follow_up_workdays` working days after the rating day) and how far past it a rating is on `as_of`.

The last day is the one the PC computed when the rating was given (`Rating.follow_up_due`); a rating from an older
agent has none, and gets it here from the county calendar. A day the calendar cannot reach is left empty: such a
rating is listed as waiting, never as overdue by a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import msgspec

from protocol.certificates import mask_certificate
from protocol.lifecycle import Rating
from protocol.vocabulary import RATING_CHANNEL_LABELS, RATING_STEP_LABELS
from protocol.workdays import CalendarMissing, WorkCalendar, due_date
from server.errors import invalid_filter
from server.model.figures import RATING_LABELS
from server.model.reference import Reference
from server.model.sealing import Keyring, opened_certificate
from server.reports.scope import Scope
from server.reports.worklists import MAX_PAGE, int_param
from server.storage.dashboard import CaseListRow, DashboardStore

FOLLOW_UP_STATES = ("overdue", "pending")


class FollowUpItem(msgspec.Struct, omit_defaults=False):
    rating_id: str  # the `evaluated` event's id: what a `followed_up` names
    case_id: str
    case_no: str
    township_code: str
    township_name: str
    org_code: str
    item_code: str
    item_name: str
    staff: str | None
    applicant_name: str
    cert_no_masked: str
    rating: int
    rating_label: str
    step: str
    step_label: str  # 接件 受理 办结 整个办件
    channel: str
    channel_label: str  # 窗口评价器 手机 网上 电话回访
    entered_by: str  # resident or staff
    comment: str | None
    rated_on: str
    follow_up_due: str | None  # the last day for the follow-up; None: the calendar does not reach it
    days_overdue: int | None  # calendar days past that day on as_of


class FollowUpsResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/follow-ups`: bad ratings under `org` still waiting for their follow-up, oldest first."""

    org: str
    org_name: str
    state: str  # overdue: past their last day on as_of; pending: all waiting
    as_of: str
    follow_up_workdays: int
    total: int
    overdue: int  # of all waiting, those past their last day
    offset: int
    limit: int
    rows: list[FollowUpItem]


class FollowUps:
    def __init__(self, store: DashboardStore, reference: Reference, calendar: WorkCalendar | None,
                 follow_up_workdays: int, keys: Keyring | None = None) -> None:
        self._keys = keys  # certificate numbers are stored sealed: opened to be masked
        self._store = store
        self._reference = reference
        self._calendar = calendar
        self.workdays = follow_up_workdays

    def last_day(self, rating: Rating) -> str | None:
        """The rating's last day for its follow-up: the PC's, else the county calendar's."""
        if rating.follow_up_due is not None or not self.workdays or self._calendar is None:
            return rating.follow_up_due
        try:
            return due_date(self._calendar, date.fromisoformat(rating.on), self.workdays).isoformat()
        except CalendarMissing:
            return None

    async def list(self, scope: Scope, params: Mapping[str, str]) -> FollowUpsResponse:
        state = params.get("state", "overdue")
        if state not in FOLLOW_UP_STATES:
            raise invalid_filter("state", f"状态「{state}」无效：应为 overdue（已超期）或 pending（全部待回访）")
        limit, offset = int_param(params, "limit", 100, 1, MAX_PAGE), int_param(params, "offset", 0, 0, 10**9)
        as_of = scope.as_of
        waiting = []
        for case, ratings in await self._store.waiting_bad_ratings(scope.prefix):
            for r in ratings:
                if r.is_pending:
                    waiting.append(self._item(case, r, self.last_day(r), as_of))
        overdue = [w for w in waiting if w.days_overdue is not None]
        rows = overdue if state == "overdue" else waiting
        rows.sort(key=lambda w: (w.follow_up_due or "9999", w.rated_on, w.case_no))
        return FollowUpsResponse(
            org=scope.unit.code, org_name=scope.unit.name + ("便民服务中心" if scope.is_centre else ""), state=state,
            as_of=as_of, follow_up_workdays=self.workdays, total=len(rows), overdue=len(overdue), offset=offset,
            limit=limit, rows=rows[offset:offset + limit])

    def _item(self, case: CaseListRow, r: Rating, due: str | None, as_of: str) -> FollowUpItem:
        township = self._reference.org_units.get(case.org_code[:9] + "000")
        item = self._reference.items.get(case.item_code)
        late = None if due is None or due >= as_of else (date.fromisoformat(as_of) - date.fromisoformat(due)).days
        return FollowUpItem(
            rating_id=r.id, case_id=case.case_id, case_no=case.case_no, township_code=case.org_code[:9],
            township_name=township.name if township else case.org_code[:9], org_code=case.org_code,
            item_code=case.item_code, item_name=item.name if item else case.item_code, staff=case.staff,
            applicant_name=case.applicant_name,
            cert_no_masked=mask_certificate(opened_certificate(self._keys, case.cert_no)), rating=r.rating,
            rating_label=RATING_LABELS[r.rating], step=r.step, step_label=RATING_STEP_LABELS.get(r.step, r.step),
            channel=r.channel, channel_label=RATING_CHANNEL_LABELS.get(r.channel, r.channel),
            entered_by=r.entered_by, comment=r.comment, rated_on=r.on, follow_up_due=due, days_overdue=late)

