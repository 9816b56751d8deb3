"""The case service: one staff action = stamp, validate (pure `cases`), store in one transaction, nudge sync."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from agent import cases, consultations, corrections
from agent.errors import CaseNotFound, EventNotQuarantined, InvalidInput
from agent.records import Consultation
from agent.reference import Reference
from agent.store import AgentStore
from protocol.ids import case_number, new_uuid7
from protocol.lifecycle import CHINA_TZ, Case
from protocol.vocabulary import EventKind

log = logging.getLogger(__name__)


class CaseService:
    def __init__(self, store: AgentStore, *, township_code: str, pc_no: int,
                 reference: Callable[[], Reference | None], offset_ms: Callable[[], int],
                 on_write: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.township_code = township_code
        self.pc_no = pc_no
        self._reference = reference
        self._offset_ms = offset_ms
        self._on_write = on_write

    def reference(self) -> Reference:
        ref = self._reference()
        if ref is None:
            raise InvalidInput("尚未从县服务器取得事项目录:请在网络连通时同步一次(township-agent sync)")
        return ref

    def _stamp(self) -> cases.Stamp:
        return cases.Stamp(event_id=new_uuid7(), now=datetime.now(CHINA_TZ), offset_ms=self._offset_ms())

    async def accept(self, form: dict[str, Any]) -> Case:
        ref = self.reference()
        async with self.store.write():
            stamp = self._stamp()
            day = stamp.when.date().isoformat()
            n = await self.store.next_case_number(case_number(self.township_code, self.pc_no, day, 0)[:-4])
            case, event = cases.accept(form, ref, case_id=new_uuid7(), stamp=stamp,
                                       case_no=case_number(self.township_code, self.pc_no, day, n))
            await self.store.save_action(case, event)
        self._on_write()
        return case

    async def act(self, case_id: str, kind: str, body: dict[str, Any]) -> Case:
        ref = self.reference()
        async with self.store.write():
            case = await self.store.get_case(case_id)
            if case is None:
                raise CaseNotFound(case_id)
            new_case, event = cases.act(case, kind, body, ref, self._stamp())
            await self.store.save_action(new_case, event)
        self._on_write()
        return new_case

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
        rebuilt case (None for a consultation). Raises EventNotQuarantined or InvalidInput; nothing is written then."""
        ref = self.reference()
        async with self.store.write():
            old = await self.store.get_event(event_id)
            if old is None or old.status != "quarantined":
                raise EventNotQuarantined(event_id)
            stamp = cases.Stamp(event_id=new_uuid7(), now=datetime.fromisoformat(old.at), offset_ms=old.offset_ms)
            event, consultation = corrections.corrected(old, changes, ref, stamp)
            case = corrections.replay(await self.store.case_events(old.case_id), old.event_id, event)
            seq = await self.store.resend_event(old.event_id, event, case=case, consultation=consultation)
        log.info("quarantined event resent old_event_id=%s event_id=%s seq=%d", old.event_id, event.event_id, seq)
        self._on_write()
        return seq, case

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
                new_case, event = cases.act(case, EventKind.UPDATED, {"due_on": due_on}, ref, self._stamp())
                await self.store.save_action(new_case, event)
                filled += 1
        if filled:
            log.info("due dates filled cases=%d calendar=%s", filled, ref.calendar.version)
            self._on_write()
        return filled
