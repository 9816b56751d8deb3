"""Wire messages of `/api/v1`, defined once for both sides.

The server decodes strictly (`forbid_unknown_fields`); agents decode responses leniently, so a newer server may add
fields. Event `data` is decoded per kind by `decode_event_data`, so one bad event is refused alone.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import msgspec

from protocol.vocabulary import Channel, EnteredBy, EventKind, Outcome, RatingChannel, RatingStep, Result

# Bounds that keep a push small enough to hold in memory and quick to commit. Every string and number the server
# decodes has a bound: what is stored is shown to every dashboard reader, and SQLite holds 64-bit integers only.
MAX_BATCH_EVENTS = 5000
MAX_TEXT = 2000
MAX_SEQ = 2**63 - 1  # SQLite's INTEGER
# The PC clock minus the server clock: 317 years either way covers any clock a PC can be set to (a dead CMOS battery
# gives 1970 or 2000); the corrected time must then still fall in the server's plausibility window.
MAX_OFFSET_MS = 10**13
MAX_PENDING = 10**9
# A case's heads on one PC: one per PC that acted on it concurrently, so a handful; more is a forged event.
MAX_PARENTS = 64


class Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class Lenient(msgspec.Struct, omit_defaults=True):
    pass


# ---- event data, one struct per kind -------------------------------------------------------------------------

Code12 = msgspec.Meta(pattern=r"^\d{12}$", description="12-digit division code")
# No control characters (a NUL, an escape sequence) in what people typed: a name is one line; a text may have tabs
# and line breaks.
Text = msgspec.Meta(max_length=MAX_TEXT, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
Name = msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
Date = msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")
Uuid = msgspec.Meta(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# A staff member's id within the township (工号), chosen by the township's lead: letters, digits, - and _.
StaffId = msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", description="staff id (工号) within the township")

class AcceptedData(Strict):
    """受理: everything the case starts with. `due_on` is null when the calendar does not reach that far."""

    case_no: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    item_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    org_code: Annotated[str, Code12]
    channel: Channel
    applicant_name: Annotated[str, Name]
    cert_type: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    cert_no: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    promised_days: Annotated[int, msgspec.Meta(ge=0, le=3650)]
    village_code: Annotated[str, Code12] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    due_on: Annotated[str, Date] | None = None
    trips: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    staff: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    # The catalog version of the item the case was accepted under (absent from an older agent: the version in effect
    # on the acceptance day), so that a catalog change later in the year leaves the case under its entry.
    item_version: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None


class UpdatedData(Strict):
    """A correction: only the fields given change."""

    item_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    item_version: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    org_code: Annotated[str, Code12] | None = None
    village_code: Annotated[str, Code12] | None = None
    channel: Channel | None = None
    applicant_name: Annotated[str, Name] | None = None
    cert_type: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    cert_no: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    promised_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] | None = None
    due_on: Annotated[str, Date] | None = None


MAX_REASON = 500
Before = Annotated[str, Text] | int | None


class CorrectedData(Strict):
    """更正: the case's own fields given change (`protocol.corrections`), for `reason`; `before` holds what the author
    saw of each (for the history; the fold does not read it). `grant`: the county's grant for this case, needed to
    change a field that moves a figure once the case is closed or rated. `promised_days` and `due_on` are derived by
    the agent when the item changes."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON)]
    applicant_name: Annotated[str, Name] | None = None
    cert_type: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    cert_no: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    village_code: Annotated[str, Code12] | None = None
    staff: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)] | None = None
    item_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    org_code: Annotated[str, Code12] | None = None
    channel: Channel | None = None
    promised_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] | None = None
    due_on: Annotated[str, Date] | None = None
    before: Annotated[dict[Annotated[str, msgspec.Meta(max_length=32)], Before], msgspec.Meta(max_length=16)] = {}
    grant: Annotated[str, Uuid] | None = None


class SupplementRequestedData(Strict):
    missing: Annotated[list[Annotated[str, Text]], msgspec.Meta(min_length=1, max_length=100)]
    note: Annotated[str, Text] | None = None


class SupplementReceivedData(Strict):
    due_on: Annotated[str, Date] | None = None
    trips: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1


class CompletedData(Strict):
    result: Result
    note: Annotated[str, Text] | None = None
    trips: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0


class RejectedData(Strict):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]


class WithdrawnData(Strict):
    reason: Annotated[str, Text] | None = None


class EvaluatedData(Strict):
    """好差评: one rating, identified by its event's id. An agent from before ratings per step sends `rating` (and
    `comment`) only: its one rating is of the whole case, entered by staff, at the window (the defaults).
    `follow_up_due`: for a bad rating, the last day of its follow-up (回访) under the county's rule, as the PC's
    calendar computed it (null when the calendar does not reach it, or from an older agent)."""

    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, Text] | None = None
    step: RatingStep = RatingStep.CASE
    channel: RatingChannel = RatingChannel.WINDOW
    entered_by: EnteredBy = EnteredBy.STAFF
    follow_up_due: Annotated[str, Date] | None = None


class FollowedUpData(Strict):
    """回访 of a bad rating: `rating_id` (the `evaluated` event's id) names which; absent (an older agent), the
    earliest bad rating of the case still waiting."""

    note: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
    rating_id: Annotated[str, Uuid] | None = None


class SettledData(Strict):
    """A conflict settled by staff: `event_id` is the event the county could not apply (县级未采纳)."""

    event_id: Annotated[str, Uuid]
    outcome: Outcome
    redo_event_id: Annotated[str, Uuid] | None = None
    note: Annotated[str, Text] | None = None


class ConsultedData(Strict):
    topic: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    org_code: Annotated[str, Code12]
    channel: Channel


DATA_TYPES: dict[EventKind, type[Strict]] = {
    EventKind.ACCEPTED: AcceptedData,
    EventKind.UPDATED: UpdatedData,
    EventKind.SUPPLEMENT_REQUESTED: SupplementRequestedData,
    EventKind.SUPPLEMENT_RECEIVED: SupplementReceivedData,
    EventKind.COMPLETED: CompletedData,
    EventKind.REJECTED: RejectedData,
    EventKind.WITHDRAWN: WithdrawnData,
    EventKind.EVALUATED: EvaluatedData,
    EventKind.FOLLOWED_UP: FollowedUpData,
    EventKind.CONSULTED: ConsultedData,
    EventKind.SETTLED: SettledData,
    EventKind.CORRECTED: CorrectedData,
}


def decode_event_data(kind: EventKind, data: dict[str, Any]) -> Strict:
    """Validate one event's data against its kind. Raises `msgspec.ValidationError` with a readable message."""
    return msgspec.convert(data, DATA_TYPES[kind])


# ---- events and push -----------------------------------------------------------------------------------------

Instant = msgspec.Meta(
    pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}:\d{2}$",
    description="ISO 8601 local time with offset, e.g. 2026-11-23T09:15:02+08:00",
)


D = TypeVar("D")  # how `Event.data` is held: a dict on the agent, raw JSON while the server checks it per kind
E = TypeVar("E")  # how `PushRequest.events` are held: `Event`s, or plain objects when one may be malformed


class Event(Strict, Generic[D]):
    """One staff action. `event_id` is the idempotency key; `seq` is gap-free per agent.

    `at` is the PC's wall clock (to the millisecond since protocol 2); `offset_ms` the PC clock minus the server clock,
    as last measured by the agent. `parents` (protocol 2) are the case's heads as the PC had applied them: the ids of
    the case's events no other of its events follows (none for `accepted`); absent from an agent of protocol 1, whose
    events follow their agent's previous one. `replaces`: the refused event this one corrects (it takes its place in
    the order). The order both sides fold in: `protocol.causal`.
    """

    event_id: Annotated[str, Uuid]
    seq: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
    case_id: Annotated[str, Uuid]
    kind: EventKind
    at: Annotated[str, Instant]
    data: D
    offset_ms: Annotated[int, msgspec.Meta(ge=-MAX_OFFSET_MS, le=MAX_OFFSET_MS)] = 0
    parents: Annotated[list[Annotated[str, Uuid]], msgspec.Meta(max_length=MAX_PARENTS)] | None = None
    replaces: Annotated[str, Uuid] | None = None
    # Who did it: the signed-in staff member of the PC's township (absent: an agent from before staff sign-in, or
    # what the agent did by itself, e.g. a due date a new calendar reaches).
    staff_id: Annotated[str, StaffId] | None = None


class PushRequest(Strict, Generic[E]):
    """`POST /api/v1/sync/push`. The envelope is strict; each event is checked on its own (see `Event`).

    The server decodes `PushRequest[Event[msgspec.Raw]]` in one pass; only when that fails does it fall back to
    `PushRequest[dict]` and check event by event, so that one malformed event is refused alone.
    """

    agent_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    events: Annotated[list[E], msgspec.Meta(max_length=MAX_BATCH_EVENTS)]
    software_version: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    # Events the agent still has waiting, for the county's agent list.
    pending: Annotated[int, msgspec.Meta(ge=0, le=MAX_PENDING)] | None = None
    protocol_version: Annotated[int, msgspec.Meta(ge=1, le=99)] = 1  # absent: an agent of protocol 1
    pull_cursor: Annotated[str, msgspec.Meta(max_length=200)] | None = None  # the last pull applied (its ack)
    digest_agrees: bool | None = None  # the last agreement check: None = not checked yet


class Refusal(Lenient):
    event_id: str
    seq: int
    code: str
    message: str
    detail: str | None = None


class Conflict(Lenient):
    """An event that could not apply at its place in the order (`protocol.causal`), with both sides: the rule it broke
    (`code`, and `message` in plain Chinese) and the event it lost to (`lost_to`: the last applied event its author
    had not seen; None when its author had seen every applied event, which only a faulty or forged event can be)."""

    event_id: str
    case_id: str
    agent_id: str
    seq: int
    kind: str
    code: str
    message: str
    at: str  # the losing event's corrected time
    lost_to: str | None = None
    lost_to_agent_id: str | None = None
    lost_to_kind: str | None = None
    lost_to_at: str | None = None
    settled_by: str | None = None  # the `settled` event, once staff settled it
    outcome: str | None = None  # `vocabulary.Outcome`
    redo_event_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.settled_by is None


class PushResponse(Lenient):
    """`acked_seq`: every event of this agent with seq <= acked_seq is stored or refused for good. `conflicts`: this
    agent's events in the cases the batch changed that the county could not apply, open ones."""

    acked_seq: int
    stored: int
    duplicates: int
    refused: list[Refusal] = []
    server_time_ms: int = 0
    conflicts: list[Conflict] = []


MAX_PULL_EVENTS = 5000


class PullRequest(Strict):
    """`POST /api/v1/sync/pull` (or GET with `cursor` and `limit` in the query): the township's events after
    `cursor` ("" = from the beginning), the PC's own events left out (it has them)."""

    cursor: Annotated[str, msgspec.Meta(max_length=200)] = ""
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PULL_EVENTS)] = 1000


class PulledEvent(Lenient, Generic[D]):
    """An event of another PC of the township, as the county stored it."""

    event_id: str
    agent_id: str
    seq: int
    case_id: str
    kind: str
    at: str
    data: D
    offset_ms: int = 0
    parents: list[str] | None = None
    replaces: str | None = None
    staff_id: str | None = None


class CorrectionGrant(Lenient):
    """A county admin's leave to correct, on any PC of the case's township, the fields of a closed or rated case
    that move a figure (`protocol.corrections`). It reaches the PCs with the pull, so they use it offline; a
    `corrected` event names it in `grant`, and the county refuses one that names no grant of its case."""

    grant_id: str
    case_id: str
    reason: str
    granted_by: str
    granted_at: str  # UTC


class AgentName(Lenient):
    agent_id: str
    name: str


class PullResponse(Lenient, Generic[D]):
    """One batch of the pull. `cursor`: what to send next time (and to acknowledge with the next push); `has_more`:
    pull again at once. On the last batch (`has_more` false) `digest` is the township digest
    (`protocol.causal.township_digest`) as of that batch: a PC that has applied every batch and has nothing left to
    push must compute the same. `reset`: the cursor was not one of this database's (it was restored from a backup),
    so the batch starts from the beginning. `conflicts`: the open conflicts of this PC's events."""

    events: list[PulledEvent[D]]
    cursor: str
    has_more: bool
    digest: str | None = None
    reset: bool = False
    conflicts: list[Conflict] = []
    agents: list[AgentName] = []  # the township's PCs, to show who did what
    server_time_ms: int = 0
    grants: list[CorrectionGrant] = []  # the county's grants for the township's cases (更正 of figure fields)


class ErrorBody(Lenient):
    """The one error shape of every non-2xx answer."""

    code: str
    message: str
    detail: str | None = None
    fields: dict[str, str] | None = None  # per-field messages, shown next to the field in the page


# ---- staff of a township (reference data the PCs make) --------------------------------------------------------

STAFF_ROLES = ("clerk", "lead")  # 办事员; 负责人, who manages the township's staff
MAX_STAFF = 500


class StaffMember(Strict):
    """One staff member of a township as every PC and the county keep it: the PIN or password only as its scrypt
    hash (`ops.passwords`), never in clear. `rev` grows by one at every change on a PC; of two versions the one
    `protocol.staff.newer` picks stands everywhere."""

    staff_id: Annotated[str, StaffId]
    name: Annotated[str, Name]
    role: Annotated[str, msgspec.Meta(pattern=r"^(clerk|lead)$")]
    secret_hash: Annotated[str, msgspec.Meta(min_length=20, max_length=200)]
    rev: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
    changed_at: Annotated[str, Instant]
    is_disabled: bool = False
    changed_by: Annotated[str, StaffId] | None = None  # None: set up on the PC's command line


class StaffPush(Strict):
    """`POST /api/v1/staff`: the staff records this PC changed since the county last acknowledged them (often
    none). The answer is the township's whole list (`StaffList`), which the PC takes as its own."""

    members: Annotated[list[StaffMember], msgspec.Meta(max_length=MAX_STAFF)] = []


class StaffList(Lenient):
    members: list[StaffMember] = []
    server_time_ms: int = 0


# ---- reference data ------------------------------------------------------------------------------------------


class OrgUnit(Lenient):
    code: str  # 12 digits
    name: str
    level: str
    parent: str | None = None
    kind: str | None = None  # e.g. centre (便民服务中心), station (便民服务站)
    phone: str | None = None  # the centre's or station's phone, printed on what residents take home


class ServiceItem(Lenient):
    code: str
    name: str
    category: str  # 行政许可, 公共服务, 其他 ...
    promised_days: int
    legal_days: int | None = None
    is_online: bool = False  # 全程网办
    is_one_trip: bool = False  # 最多跑一次
    supplement_days: int | None = None  # 补正期限: working days the applicant has to bring missing materials
    aliases: list[str] = []  # other names staff know the item by, e.g. 低保 for 最低生活保障申请
    # Pinyin initials of the name, then of each alias, one each (zdshbzsq, db): computed by the county for the page's
    # item search, so that PCs need no pinyin dictionary.
    initials: list[str] = []
    is_online_capable: bool = False  # 可网办: can be applied for online (全程网办 implies it)
    version: str | None = None  # the catalog entry's version; a case records the one it was accepted under
    valid_from: str | None = None  # YYYY-MM-DD the version holds from (None: from the start)
    # The item's earlier versions, oldest first (the county's own copy; PCs get the current version only).
    earlier: list[ServiceItem] = []


class ReferenceResponse(Lenient):
    """`GET /api/v1/reference`: what an agent needs offline. `version` changes when any part changes."""

    version: str
    township: OrgUnit
    org_units: list[OrgUnit]
    items: list[ServiceItem]
    calendar: dict[str, Any] | None = None
    server_time_ms: int = 0
    # 差评回访: working days after the rating day by which a bad rating must be followed up (county rule)
    follow_up_workdays: int | None = None


# ---- stats ---------------------------------------------------------------------------------------------------


class StatsRow(Lenient, omit_defaults=False):
    """One org unit's figures. Every field is always present, zeros and null rates included: a dashboard reads
    rows of fixed shape."""

    code: str
    name: str
    level: str
    accepted: int = 0
    completed: int = 0
    completed_on_time: int = 0
    on_time_rate: float | None = None
    rejected: int = 0
    withdrawn: int = 0
    evaluations: int = 0
    good_ratings: int = 0
    good_rating_rate: float | None = None
    online: int = 0  # accepted online
    online_completed: int = 0  # completed, accepted online
    online_share: float | None = None  # over accepted or completed: see `definitions`
    active_evaluation_rate: float | None = None


class FigureDefinition(Lenient, omit_defaults=False):
    """The county's choice for a figure that reports define two ways (server config `[figures]`, docs/figures.md)."""

    figure: str
    choice: str
    text: str
    label: str = ""


class StatsResponse(Lenient, omit_defaults=False):
    level: str
    date_from: str
    date_to: str
    org: str | None
    rows: list[StatsRow]
    basis: str = "handled"  # handled: by where cases were handled; residence: by where applicants live
    definitions: list[FigureDefinition] = []


encoder = msgspec.json.Encoder()


def decoder(kind: type) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(kind)
