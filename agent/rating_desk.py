"""The window's rating screen (评价屏): staff hand the case in front of them to a second screen at the window, and the
resident rates it there with one tap (好差评 as residents give them: entered by the resident, at the window).

One request at a time per PC, held in memory: the screen shows it until the resident taps a face or staff hand over
another case or take it back. A restart forgets it; staff press 请群众评价 again. The screen sees the case's item and
the staff member's name only, never the applicant's name, number or phone. The rating itself is an ordinary
`evaluated` event through `CaseService.act`: stored before the answer, uploaded when the county can be reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.errors import InvalidInput
from agent.service import CaseService
from agent.staff import SIGNED_IN
from protocol.ids import new_uuid7
from protocol.lifecycle import Case, IllegalTransition, apply_event
from protocol.messages import EvaluatedData
from protocol.vocabulary import RATING_STEP_LABELS, CaseState, EnteredBy, EventKind, RatingChannel, RatingStep


@dataclass(frozen=True)
class RatingRequest:
    request_id: str
    case_id: str
    case_no: str
    step: str
    item_name: str
    staff: str | None
    org_name: str
    handed_by: str | None = None  # the signed-in staff member who handed it over: the rating event names them

    def view(self) -> dict[str, Any]:
        """What the resident's screen shows: nothing personal."""
        return {"request_id": self.request_id, "case_no": self.case_no, "step": self.step,
                "step_label": RATING_STEP_LABELS[self.step], "item_name": self.item_name, "staff": self.staff,
                "org_name": self.org_name}


def step_for(case: Case) -> RatingStep:
    """What the resident rates when staff hand the case over: its 办结 once completed, else its 受理."""
    return RatingStep.COMPLETION if case.state == CaseState.COMPLETED else RatingStep.ACCEPTANCE


class RatingDesk:
    def __init__(self, service: CaseService) -> None:
        self._service = service
        self._current: RatingRequest | None = None

    @property
    def current(self) -> RatingRequest | None:
        return self._current

    async def hand_over(self, case_id: str, step: str | None = None) -> RatingRequest:
        """Put the case on the rating screen. Refused (in Chinese) when the resident could not rate that step now."""
        case = await self._service.case(case_id)
        try:
            chosen = RatingStep(step) if step else step_for(case)
        except ValueError:
            raise InvalidInput(f"评价环节「{str(step)[:20]}」无效",
                               {"step": "应为 接件、受理、办结 或 整个办件"}) from None
        try:  # the same rule the fold applies, checked before the resident is asked
            apply_event(case, case.case_id, EventKind.EVALUATED, _data(5, chosen), case.last_at)
        except IllegalTransition as e:
            raise InvalidInput(e.message, {"step": e.message}) from None
        ref = self._service.reference()
        item = ref.items.get(case.item_code)
        unit = ref.org_units.get(case.org_code)
        self._current = RatingRequest(
            request_id=new_uuid7(), case_id=case.case_id, case_no=case.case_no, step=chosen.value,
            item_name=item.name if item else case.item_code, staff=case.staff,
            org_name=unit.name if unit else ref.township.name, handed_by=SIGNED_IN.get())
        return self._current

    def take_back(self) -> None:
        self._current = None

    async def rate(self, request_id: str, rating: Any) -> Case:
        """The resident's tap: a rating of the handed-over step, entered by the resident at the window."""
        current = self._current
        if current is None or current.request_id != request_id:
            raise InvalidInput("这个评价请求已结束,请等待工作人员重新发起", {"request_id": "评价请求已结束"})
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise InvalidInput("请选择一个评价", {"rating": "应为 1 至 5"})
        body = {"rating": rating, "step": current.step, "channel": RatingChannel.WINDOW.value,
                "entered_by": EnteredBy.RESIDENT.value}
        # The screen faces the resident and signs nobody in: the rating is made at the window of whoever handed the
        # case over, and names them.
        token = SIGNED_IN.set(current.handed_by)
        try:
            case = await self._service.act(current.case_id, EventKind.EVALUATED.value, body)
        finally:
            SIGNED_IN.reset(token)
        if self._current is current:
            self._current = None
        return case


def _data(rating: int, step: RatingStep) -> EvaluatedData:
    return EvaluatedData(rating=rating, step=step, channel=RatingChannel.WINDOW, entered_by=EnteredBy.RESIDENT)
