"""The storage interface of the county dashboard: summed figures, work lists, agents, accounts, sessions and the
login throttle's tallies.

Read-mostly and separate from `base.Store` (what ingest needs), so the ingest path stays small. Implementations:
`sqlite.dashboard.SqliteDashboardStore`, beside `sqlite.store.SqliteStore` and writing through its transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from protocol.lifecycle import Rating
from protocol.messages import Conflict, CorrectionGrant
from server.model.case_search import CaseSearch
from server.model.login_throttle import Limits
from server.storage.base import AgentRecord

GROUPS = ("unit", "month", "category", "channel")  # what figure sums can be grouped by, in key order
# The figures a case list can show, each the exact case set behind that counter (see docs/figures.md).
CASE_FIGURES = ("accepted", "online", "in_progress", "completed", "completed_on_time", "completed_late",
                "completed_no_due_date", "trips_le1", "rejected", "withdrawn", "evaluations", "good_ratings",
                "bad_ratings", "bad_pending", "bad_followed_up", "overdue_open", "due_soon")
CASE_SORTS = ("accepted_on", "due_on", "completed_on", "org_code", "staff", "case_no", "rated_on")

Sums = dict[tuple[str, ...], dict[str, int]]


class CaseFilter(msgspec.Struct, frozen=True):
    """Which cases: those under `prefix` that count in `figure` for the period (`overdue_open` and `due_soon` look at
    open cases and `as_of` instead; `good_ratings` needs the good rating levels)."""

    prefix: str
    figure: str
    date_from: str | None = None
    date_to: str | None = None
    as_of: str | None = None
    due_until: str | None = None  # due_soon: due on or before this day
    good_ratings: tuple[int, ...] = (5, 4, 3)
    category: str | None = None
    channel: str | None = None
    basis: str = "handled"  # prefix of where the case was handled (org_code), or of where the applicant lives
    # A search by ID number, phone or ID's last 4 (`q` of the case list): the keyed hashes it may match (cert_hash,
    # phone_hash, tail_hash columns; server.model.sealing). All empty: no search.
    cert_hashes: tuple[str, ...] = ()
    phone_hashes: tuple[str, ...] = ()
    tail_hashes: tuple[str, ...] = ()


class CaseListRow(msgspec.Struct, omit_defaults=False):
    case_id: str
    case_no: str
    org_code: str
    item_code: str
    category: str
    channel: str
    state: str
    accepted_on: str
    due_on: str | None
    completed_on: str | None
    closed_on: str | None
    rating: int | None
    rated_on: str | None
    followed_up_on: str | None
    is_on_time: bool | None
    applicant_name: str
    cert_type: str
    cert_no: str  # unmasked here: the service masks it before anything leaves the server
    staff: str | None  # who accepted it: "name（staff id）" of the signed-in staff member, else the free-text 经办人
    trips: int
    comment: str | None = None  # the resident's words with the rating
    closed_by: str | None = None  # who completed, refused or withdrew it (name（staff id）), while it is closed


class CaseEventRow(msgspec.Struct, omit_defaults=False):
    """One stored event of a case, for its page."""

    event_id: str
    agent_id: str
    seq: int
    kind: str
    at: str  # the PC's clock
    offset_ms: int
    data: bytes  # JSON
    received_at: str  # UTC
    replaces: str | None = None
    staff_id: str | None = None  # the staff member signed in on the PC (None: before staff sign-in)
    staff_name: str | None = None  # from the township's staff list


class CasePageRows(msgspec.Struct, omit_defaults=False):
    """A case as stored (`body`: the whole `protocol.lifecycle.Case`), every event of it in fold order, and its
    conflicts."""

    body: bytes
    category: str
    events: list[CaseEventRow]
    conflicts: list[ConflictRow]
    grants: list[CorrectionGrant] = []


class AgentStatus(msgspec.Struct, omit_defaults=False):
    agent: AgentRecord
    last_offset_ms: int | None  # the clock offset carried by the agent's latest event
    open_conflicts: int = 0  # of its events
    pull_lag: int | None = None  # the township's events (not its own) stored after its acknowledged pull cursor
    refused: int = 0  # its events the county refused (quarantined on the PC until corrected)
    conflicts: int = 0  # its events that could not apply, open or settled


class ConflictRow(msgspec.Struct, omit_defaults=False):
    conflict: Conflict
    township_code: str
    case_no: str | None
    detected_at: str  # when the county first found it
    settled_at: str | None


class AccountRecord(msgspec.Struct, frozen=True):
    name: str
    password_hash: str
    created_at: str
    is_disabled: bool = False
    role: str = "county_admin"  # `server.accounts.roles`: county_admin, township_viewer or auditor
    township_code: str | None = None  # a township viewer's township (9 digits)


class SessionRecord(msgspec.Struct, frozen=True):
    token_sha256: str
    account: str
    created_at: str
    last_seen_at: str
    role: str = "county_admin"  # its account's, as read with the session
    township_code: str | None = None


class DashboardStore(Protocol):
    async def open(self) -> None:
        """Open the read connection (the schema is migrated by the main store)."""
        ...

    async def close(self) -> None: ...

    async def figure_sums(self, unit_len: int, prefix: str, date_from: str, date_to: str, by: Sequence[str],
                          units: Sequence[str] | None = None, basis: str = "handled") -> Sums:
        """Every rollup metric summed over [date_from, date_to] for units of `unit_len` digits under `prefix`
        (or exactly `units`, each `unit_len` long), plus `online_accepted` and `online_completed` (accepted and
        completed through the online channel), grouped by `by` (a subsequence of GROUPS; "unit" is the first
        `unit_len` digits of where the case was handled, or with `basis` "residence" of where the applicant lives).
        `unit_len` may be 2 or 4 (a province's, a prefecture's units). Whole months come from the monthly grain, the
        days at either end from the daily table; the result is the same either way. Keys follow the order of `by`."""
        ...

    async def item_counts(self, where: CaseFilter, unit_len: int) -> dict[tuple[str, str], int]:
        """The cases behind one figure (`where`, the rule of the case lists) counted per (the first `unit_len`
        digits of the unit, by `where.basis`; item code)."""
        ...

    async def open_overdue_counts(self, unit_len: int, prefix: str, as_of: str, basis: str = "handled"
                                  ) -> dict[str, int]:
        """Open cases (办理中, 补正中) under `prefix` whose due date is before `as_of`, per unit of `unit_len`, by
        where they are handled or (`basis` "residence") where the applicant lives."""
        ...

    async def list_cases(self, where: CaseFilter, sort: str, descending: bool, limit: int, offset: int
                         ) -> tuple[int, list[CaseListRow]]:
        """(how many cases match, one page of them sorted by `sort` (one of CASE_SORTS), then case_no)."""
        ...

    async def search_cases(self, prefix: str, search: CaseSearch, limit: int) -> list[CaseListRow]:
        """Cases under `prefix` that match any key of `search` (`server.model.case_search`), newest accepted first,
        at most `limit`. Each key is looked up through an index of its own."""
        ...

    async def case_page(self, case_id: str) -> CasePageRows | None:
        """The case, its events (by their time on the county's clock: `order_key`) and its conflicts; None when
        there is no such case."""
        ...

    async def add_grant(self, grant: CorrectionGrant, township_code: str) -> None:
        """Store a correction grant (its id is new); the township's PCs receive it with their next pull."""
        ...

    async def case_grants(self, case_id: str) -> list[CorrectionGrant]:
        """The grants given for the case, oldest first."""
        ...

    async def agent_statuses(self, township_code: str | None = None) -> list[AgentStatus]:
        """Every agent (of `township_code` only, when given) with its last clock offset, its open conflicts, how
        far behind its pull is (None: it never acknowledged a pull; the lag counts at most 100,000), and its
        refused and conflicting events."""
        ...

    async def list_conflicts(self, prefix: str, is_open: bool | None, limit: int, offset: int
                             ) -> tuple[int, list[ConflictRow]]:
        """(how many, one page of) the conflicts of the cases under `prefix` (6, 9 or 12 digits), open, settled or
        both (None), the newest found first."""
        ...

    async def waiting_bad_ratings(self, prefix: str) -> list[tuple[CaseListRow, list[Rating]]]:
        """The cases under `prefix` (where handled) with a bad rating waiting for its follow-up, each with its
        ratings; oldest first rating first. Bad ratings are rare, so all of them (the service filters and pages)."""
        ...

    async def conflict_counts(self) -> dict[tuple[str, bool], int]:
        """(township_code, is_open) -> how many conflicts."""
        ...

    async def add_account(self, account: AccountRecord) -> None:
        """Raises ValueError if the name exists."""
        ...

    async def set_password(self, name: str, password_hash: str) -> bool:
        """Replace the hash and end the account's sessions; False if there is no such account."""
        ...

    async def account(self, name: str) -> AccountRecord | None: ...

    async def list_accounts(self) -> list[AccountRecord]: ...

    async def add_session(self, session: SessionRecord) -> None: ...

    async def session(self, token_sha256: str) -> SessionRecord | None:
        """The session with its account's role and township, unless there is none or its account is disabled."""
        ...

    async def touch_session(self, token_sha256: str, seen_at: str) -> None: ...

    async def end_sessions(self, *, token_sha256: str | None = None, idle_before: str | None = None,
                           created_before: str | None = None) -> int:
        """Delete one session, or every session last seen before `idle_before` or opened before `created_before`;
        returns how many."""
        ...

    async def set_disabled(self, name: str, is_disabled: bool) -> bool:
        """Mark the account disabled (deleting its sessions in the same transaction) or enabled; False if there is
        no such account."""
        ...

    async def login_locked_until(self, name: str, address: str) -> float:
        """The later end of the login throttle's locks on account name `name` and client address `address` (epoch
        seconds, `server.model.login_throttle`; an ended lock may be answered), 0.0 when neither is locked."""
        ...

    async def count_login_failure(self, name: str, address: str, limits: Limits, now: float) -> list[str]:
        """Count a failed login of `name` from `address` at `now` (epoch seconds) in the tallies of the name and the
        address by `login_throttle.count_failure`, both in one transaction: failures counted at once by several
        processes are all counted. Returns the kinds ("name", "address") this failure locked. Deletes the tallies
        expired by `now`, and past `limits.max_tallies` tallies those that expire first."""
        ...

    async def forget_login_failures(self, name: str) -> None:
        """A right password for `name`: its failures are forgotten (a lock set meanwhile stays; the address's
        tally stays)."""
        ...

    async def lift_login_lock(self, kind: str, value: str) -> bool:
        """An administrator ends the lock and forgets the failures of one name or address (`kind` "name" or
        "address"); False when it had no tally."""
        ...
