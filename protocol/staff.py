"""Which version of a staff record stands, the same on every PC and the county.

A lead changes a staff record on one PC (a new PIN, a role, disabled), possibly offline while another lead changes
the same record on another PC. Each change raises the record's `rev` by one from the version its PC had, so a
change made after seeing another always wins over it. Two changes made without seeing each other have the same
`rev`: the one whose content sorts last stands (a fixed rule, not a wall clock that a PC can set), and its PC's
lead sees the other's change gone on the staff page.
"""

from __future__ import annotations

import msgspec

from protocol.messages import StaffMember

_key = msgspec.json.Encoder()


def newer(candidate: StaffMember, current: StaffMember | None) -> bool:
    """Whether `candidate` replaces `current` (None: no record yet)."""
    if current is None:
        return True
    if candidate.rev != current.rev:
        return candidate.rev > current.rev
    return _key.encode(candidate) > _key.encode(current)
