"""The case service: one staff action = stamp, validate (pure `cases`), store in one transaction, nudge sync."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent import cases
from agent.errors import CaseNotFound, InvalidInput
from agent.reference import Reference
from agent.store import AgentStore
from protocol.ids import case_number, new_uuid7
from protocol.lifecycle import CHINA_TZ, Case


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
            n = await self.store.next_case_number(day)
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

