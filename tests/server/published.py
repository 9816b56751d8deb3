"""Data of our own shaped like the published reports, as township (and hall) PCs send it: a generator of wire
events, pushed in full batches through the agents' protocol to a real server (`CountyServer.push`).

Each case is an `accepted` event (with its due date, as the PC computes it) and, when it is completed, a
`completed` event within its promised time; consultations are `consulted` events. Every number the tests expect is
given to the generator, never read back from the server.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from protocol.messages import MAX_BATCH_EVENTS
from tests.server.helpers import CountyServer, TownshipAgent

# Items of the repository's catalog by report group (config/catalog.csv).
ITEMS = {"行政许可": ["XK-0001", "XK-0002", "XK-0004"], "公共服务": ["GG-0001", "GG-0004", "GG-0017"],
         "其他": ["QT-0001", "QT-0004"]}
CERT = "51342219900101123X"


@dataclass
class Spec:
    """`n` cases handled at `org_code` (a hall, a centre or a station) by the PC `agent`, accepted on days of
    [first, last], of applicants living in `villages` (in turn), `completed` of them completed within their due
    date (the rest stay open), `online` of them through the online channel."""

    agent: TownshipAgent
    org_code: str
    category: str
    n: int
    completed: int
    first: date
    last: date
    villages: Sequence[str | None] = (None,)
    online: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


_numbers = itertools.count(1)


def build(spec: Spec, rng: random.Random) -> list[dict[str, Any]]:
    """The events of `spec`'s cases, in the order a PC would send them."""
    a = spec.agent
    span = (spec.last - spec.first).days
    villages = itertools.cycle(spec.villages)
    items = ITEMS[spec.category]
    out = []
    for i in range(spec.n):
        accepted_on = spec.first + timedelta(days=rng.randint(0, span))
        due_on = accepted_on + timedelta(days=10)
        data: dict[str, Any] = {
            "case_no": f"{a.township}09{next(_numbers):010d}", "item_code": items[i % len(items)],
            "org_code": spec.org_code, "channel": "online" if i < spec.online else "window",
            "applicant_name": "卓玛", "cert_type": "居民身份证", "cert_no": CERT, "promised_days": 10,
            "due_on": due_on.isoformat()}
        village = next(villages)
        if village is not None:
            data["village_code"] = village
        accepted = a.event("accepted", _case_id(a, i), f"{accepted_on.isoformat()}T09:30:00+08:00", data)
        out.append(accepted)
        if i < spec.completed:
            done = min(accepted_on + timedelta(days=rng.randint(0, 9)), spec.last)
            out.append(a.event("completed", accepted["case_id"], f"{done.isoformat()}T16:00:00+08:00",
                               {"result": "approved", "trips": 1}))
    return out


def _case_id(agent: TownshipAgent, i: int) -> str:
    # A uuid-shaped id of our own (fast, unique per agent and case): the server only needs it unique.
    n = next(_numbers)
    return f"{n:08x}-{i % 0xFFFF:04x}-7000-8000-{int(agent.agent_id[-6:], 16):012x}"


def consultations(agent: TownshipAgent, org_code: str, n: int, first: date, last: date, rng: random.Random
                  ) -> list[dict[str, Any]]:
    span = (last - first).days
    return [agent.event("consulted", _case_id(agent, i),
                        f"{(first + timedelta(days=rng.randint(0, span))).isoformat()}T11:00:00+08:00",
                        {"topic": "办事指南", "org_code": org_code, "channel": "window"}) for i in range(n)]


def batches(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(events), MAX_BATCH_EVENTS):
        yield events[i:i + MAX_BATCH_EVENTS]


async def push_all(server: CountyServer, agent: TownshipAgent, events: list[dict[str, Any]]) -> None:
    """Push every event in full batches, as a PC catching up does; every event must be stored."""
    for batch in batches(events):
        answer = await server.push(agent, batch)
        assert answer["stored"] == len(batch), answer.get("refused", [])[:3]
