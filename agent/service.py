"""The case service: one staff action = stamp, validate (pure `cases`), store in one transaction with the case's new
fold (`casebook`), nudge sync."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import msgspec

from agent import amendments, cases, consultations, corrections
from agent.casebook import Casebook, own
from agent.errors import CaseNotFound, ConflictNotFound, EventNotQuarantined, InvalidInput
from agent.records import Consultation
from agent.reference import Reference
from agent.staff import SIGNED_IN
from agent.store import AgentStore
from protocol.causal import FoldResult
from protocol.ids import case_number, new_uuid7
from protocol.lifecycle import CHINA_TZ, Case, IllegalTransition, apply_event
from protocol.messages import CorrectionGrant, decode_event_data
from protocol.vocabulary import EventKind, Outcome

log = logging.getLogger(__name__)
_grants = msgspec.json.Decoder(list[CorrectionGrant])


class CaseService:
    def __init__(self, store: AgentStore, *, township_code: str, pc_no: int,
                 reference: Callable[[], Reference | None], offset_ms: Callable[[], int], casebook: Casebook,
                 on_write: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.township_code = township_code
        self.pc_no = pc_no
        self._reference = reference
        self._offset_ms = offset_ms
        self._on_write = on_write
        self.casebook = casebook

    def reference(self) -> Reference:
        ref = self._reference()
        if ref is None:
            raise InvalidInput("尚未从县服务器取得事项目录:请在网络连通时同步一次(township-agent sync)")
        return ref

    def _stamp(self, *, by_agent: bool = False) -> cases.Stamp:
        """The stamp of an action of the staff member signed in for this request (`by_agent`: of the agent itself,
        whoever's request set it off)."""
        return cases.Stamp(event_id=new_uuid7(), now=datetime.now(CHINA_TZ), offset_ms=self._offset_ms(),
                           staff_id=None if by_agent else SIGNED_IN.get())

    async def accept(self, form: dict[str, Any]) -> Case:
        ref = self.reference()
        async with self.store.write():
            stamp = self._stamp()
            day = stamp.when.date().isoformat()
            n = await self.store.next_case_number(case_number(self.township_code, self.pc_no, day, 0)[:-4])
            case, event = cases.accept(form, ref, case_id=new_uuid7(), stamp=stamp,
                                       case_no=case_number(self.township_code, self.pc_no, day, n))
            await self.casebook.record(None, event)
        self._on_write()
        return case

    async def _state(self, case_id: str) -> FoldResult:
        state = await self.casebook.state(case_id)
        if state is None or state.case is None:
            raise CaseNotFound(case_id)
        return state

    async def case(self, case_id: str) -> Case:
        """The case's current state; CaseNotFound when this PC does not have it."""
        state = await self._state(case_id)
        assert state.case is not None
        return state.case

    async def act(self, case_id: str, kind: str, body: dict[str, Any]) -> Case:
        ref = self.reference()
        async with self.store.write():
            state = await self._state(case_id)
            assert state.case is not None
            _, event = cases.act(state.case, kind, body, ref, self._stamp(), parents=tuple(state.meta.heads))
            folded = await self.casebook.record(state, event)
        self._on_write()
        assert folded.case is not None
        return folded.case

    async def correct(self, case_id: str, form: dict[str, Any]) -> Case:
        """更正: the case's fields in `form` corrected, for `form["reason"]` (`amendments.correct`), under the county's
        grant for the case when it has one (pulled: it works offline)."""
        ref = self.reference()
        async with self.store.write():
            state = await self._state(case_id)
            assert state.case is not None
            grant = await self.grant_for(case_id)
            _, event = amendments.correct(state.case, form, ref, self._stamp(), tuple(state.meta.heads),
                                          grant.grant_id if grant else None)
            folded = await self.casebook.record(state, event)
        log.info("case corrected case_id=%s event_id=%s", case_id, event.event_id)
        self._on_write()
        assert folded.case is not None
        return folded.case

    async def grant_for(self, case_id: str) -> CorrectionGrant | None:
        """The county's latest correction grant for the case, as the last pull brought it."""
        grants = _grants.decode((await self.store.get_meta()).get("correction_grants") or "[]")
        mine = [g for g in grants if g.case_id == case_id]
        return max(mine, key=lambda g: g.granted_at) if mine else None

    def today(self) -> date:
        """Today in China time on the county's clock, as actions are dated."""
        return self._stamp().when.date()

    async def consult(self, form: dict[str, Any]) -> Consultation:
        """咨询: a counter entry, stored with its `consulted` event in one transaction."""
        ref = self.reference()
        async with self.store.write():
            row, event = consultations.consult(form, ref, consultation_id=new_uuid7(), stamp=self._stamp())
            await self.store.save_consultation(row, event)
        self._on_write()
        return row

    async def resend(self, event_id: str, changes: dict[str, Any]) -> tuple[int, Case | None]:
        """Send a quarantined event again with `changes` applied (see `corrections`). Returns the new seq and the
        case as it now folds (None for a consultation). Raises EventNotQuarantined or InvalidInput (also when the
        correction would leave the case with a conflict it does not have now); nothing is written then."""
        ref = self.reference()
        async with self.store.write():
            old = await self.store.get_event(event_id)
            if old is None or old.status != "quarantined":
                raise EventNotQuarantined(event_id)
            stamp = cases.Stamp(event_id=new_uuid7(), now=datetime.fromisoformat(old.at), offset_ms=old.offset_ms,
                                staff_id=SIGNED_IN.get())
            event, consultation = corrections.corrected(old, changes, ref, stamp)
            folded = None
            if consultation is None:
                before = await self.casebook.state(old.case_id)
                seq = await self.store.next_seq()
                folded = await self.casebook.fold_with(old.case_id, [own(event, self.casebook.agent_id, seq)])
                _refuse_new_conflicts(before, folded)
            async with self.store.transaction():
                seq = await self.store.resend_event(old.event_id, event, consultation=consultation)
                if folded is not None:
                    await self.store.save_folds({old.case_id: folded})
        log.info("quarantined event resent old_event_id=%s event_id=%s seq=%d", old.event_id, event.event_id, seq)
        self._on_write()
        return seq, folded.case if folded is not None else None

    async def fill_due_dates(self) -> int:
        """Give every case without a due date ("calendar missing") the one the current calendar now reaches, as an
        `updated` event each. Cases paused for a supplement stay without. Returns how many were filled; idempotent."""
        ref = self._reference()
        if ref is None or ref.calendar is None:
            return 0
        filled = 0
        async with self.store.write():
            for case in await self.store.cases_without_due_date():
                due_on = ref.due_on(case.accepted_on, case.promised_days, case.supplements)
                if due_on is None:
                    continue
                state = await self._state(case.case_id)
                _, event = cases.act(case, EventKind.UPDATED, {"due_on": due_on}, ref, self._stamp(by_agent=True),
                                     parents=tuple(state.meta.heads))
                await self.casebook.record(state, event)
                filled += 1
        if filled:
            log.info("due dates filled cases=%d calendar=%s", filled, ref.calendar.version)
            self._on_write()
        return filled

    # ---- conflicts: events the county could not apply (县级未采纳) -----------------------------------------------

    async def accept_conflict(self, event_id: str, note: str | None = None) -> Case:
        """以县级为准: the county's state stands; a `settled` event tells every PC and the county."""
        async with self.store.write():
            conflict, state = await self._open_conflict(event_id)
            event = cases.settle(conflict, Outcome.ACCEPTED, self._stamp(), tuple(state.meta.heads), note=note)
            folded = await self.casebook.record(state, event)
        log.info("conflict settled event_id=%s outcome=accepted", event_id)
        self._on_write()
        assert folded.case is not None
        return folded.case

    async def redo_conflict(self, event_id: str, changes: dict[str, Any] | None = None) -> Case:
        """按当前状态重做: the action the county could not apply, done again on the case's current state (with
        `changes` to its data), and a `settled` event naming it, in one transaction. InvalidInput when the action
        does not fit the current state either."""
        ref = self.reference()
        async with self.store.write():
            conflict, state = await self._open_conflict(event_id)
            assert state.case is not None
            lost = await self.store.known_event(event_id, self.casebook.agent_id)
            if lost is None:
                raise ConflictNotFound(event_id)
            body = {**msgspec.json.decode(lost.data), **(changes or {})}
            heads = tuple(state.meta.heads)
            _, redo = cases.act(state.case, conflict.kind, _redo_body(conflict.kind, body), ref, self._stamp(),
                                parents=heads)
            settled = cases.settle(conflict, Outcome.REDONE, self._stamp(), (redo.event_id,),
                                   redo_event_id=redo.event_id)
            folded = await self.casebook.record(state, redo, settled)
        log.info("conflict settled event_id=%s outcome=redone redo_event_id=%s", event_id, redo.event_id)
        self._on_write()
        assert folded.case is not None
        return folded.case

    async def _open_conflict(self, event_id: str):  # -> tuple[Conflict, FoldResult]
        conflict = await self.store.get_conflict(event_id)
        if conflict is None or not conflict.is_open:
            raise ConflictNotFound(event_id)
        return conflict, await self._state(conflict.case_id)


def can_redo(case: Case, kind: str, data: dict[str, Any]) -> bool:
    """Whether the action of a conflict fits the case's current state (the page offers 按当前状态重做 then)."""
    try:
        event_kind = EventKind(kind)
        if event_kind not in cases.ACTIONS:
            return False
        apply_event(case, case.case_id, event_kind, decode_event_data(event_kind, _redo_body(kind, data)),
                    case.last_at)
    except (ValueError, msgspec.ValidationError, IllegalTransition):
        return False
    return True


def _redo_body(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data a redo starts from: what staff entered, without what the agent derives again (due dates)."""
    return {k: v for k, v in data.items() if k != "due_on"} if kind in ("supplement_received", "updated") else data


def _refuse_new_conflicts(before: FoldResult | None, after: FoldResult) -> None:
    had = {c.event_id for c in before.conflicts} if before is not None else set()
    new = [c for c in after.conflicts if c.event_id not in had]
    if new:
        raise InvalidInput(f"更正后,该办件的操作不再成立: {new[0].message}")
