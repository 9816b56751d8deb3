"""The county's reference data as the agent keeps it offline: its township, org units, catalog and calendar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import msgspec

from protocol.lifecycle import Case
from protocol.messages import OrgUnit, ReferenceResponse, ServiceItem
from protocol.workdays import CalendarMissing, WorkCalendar, due_date_or_none

_decode = msgspec.json.Decoder(ReferenceResponse)


@dataclass(frozen=True)
class Reference:
    version: str
    township: OrgUnit
    org_units: dict[str, OrgUnit]
    items: dict[str, ServiceItem]
    calendar: WorkCalendar | None
    follow_up_workdays: int | None = None  # 差评回访 within this many working days (the county's rule)

    @classmethod
    def from_response(cls, response: ReferenceResponse) -> Reference:
        return cls(
            version=response.version,
            township=response.township,
            org_units={o.code: o for o in [response.township, *response.org_units]},
            items={i.code: i for i in response.items},
            calendar=WorkCalendar.from_json(response.calendar) if response.calendar else None,
            follow_up_workdays=response.follow_up_workdays,
        )

    @classmethod
    def from_json(cls, body: bytes) -> Reference:
        return cls.from_response(_decode.decode(body))

    def due_on(self, accepted_on: str, promised_days: int, pauses: Sequence[Sequence[str | None]] = ()) -> str | None:
        """The due date as YYYY-MM-DD, or None when it cannot be known yet: no calendar, a year the calendar does not
        know ("calendar missing"), or a supplement still outstanding. Never a guess. `pauses` are the case's
        supplements: [requested_on, received_on or None]."""
        if self.calendar is None:
            return None
        parsed = []
        for requested, received in pauses:
            assert requested is not None, pauses  # a supplement starts on the day it was requested
            parsed.append((date.fromisoformat(requested), date.fromisoformat(received) if received else None))
        try:
            due = due_date_or_none(self.calendar, date.fromisoformat(accepted_on), promised_days, parsed)
        except CalendarMissing:
            return None
        return due.isoformat() if due else None

    def supplement_deadline(self, case: Case) -> str | None:
        """补正期限 of the latest one-time notice: the item's `supplement_days`-th working day after the day it was
        given, as the county's calendar counts them. None when the catalog gives the item no such limit, or the
        calendar cannot say."""
        item = self.items.get(case.item_code)
        if not case.supplements or item is None or not item.supplement_days:
            return None
        return self.due_on(str(case.supplements[-1][0]), item.supplement_days)

    def follow_up_due(self, rated_on: str) -> str | None:
        """A bad rating's last day for its follow-up: the county rule's N-th working day after the rating day; None
        when the county set no rule or the calendar cannot say."""
        if not self.follow_up_workdays:
            return None
        return self.due_on(rated_on, self.follow_up_workdays)

    def phone_of(self, org_code: str) -> str | None:
        """The phone residents call about a case handled at `org_code`: the station's own, else the centre's."""
        unit = self.org_units.get(org_code)
        return (unit.phone if unit else None) or self.township.phone
