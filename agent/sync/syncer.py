"""One sync round: refresh reference data when due, push the outbox in batches until it is empty, pull the township's
events from the other PCs, and check that this PC and the county agree (the township digest).

`sync_once()` is the whole loop body; the scheduler decides when it runs, tests call it directly.

Batches adapt to the link (`AdaptiveBatch`): a push or pull that fails transiently after the connection was made is
sent again at once at half the size, down to one event, and the size doubles again after a few successes, so a link
that cuts every transfer after a few kilobytes still drains. A county that cannot be reached at all ends the round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from agent import __version__
from agent.casebook import Casebook
from agent.errors import RefusedRequestError, TransientUplinkError
from agent.reference import Reference
from agent.store import AgentStore
from agent.sync.attachments import AttachmentLane
from agent.sync.identity import Identity, retire
from agent.sync.uplink import Uplink
from protocol import PROTOCOL_VERSION
from protocol.codes import CODES
from protocol.lifecycle import CHINA_TZ
from protocol.messages import PullRequest, PullResponse, PushRequest, StaffPush

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder()

PULL_BATCH = 1000  # events per pull request at most (the county allows up to 5000)


@dataclass
class AdaptiveBatch:
    """How many events go in one request: halved after a transient failure, doubled after `GROW_AFTER` successes in
    a row, between 1 and `maximum`."""

    maximum: int
    size: int = 0
    streak: int = 0
    GROW_AFTER = 4

    def __post_init__(self) -> None:
        self.size = self.size or self.maximum

    @property
    def can_shrink(self) -> bool:
        return self.size > 1

    def failed(self) -> bool:
        """Halve; False when the size is 1 already (the failure is not about size)."""
        self.streak = 0
        if self.size == 1:
            return False
        self.size = max(1, self.size // 2)
        return True

    def succeeded(self) -> None:
        self.streak += 1
        if self.streak >= self.GROW_AFTER and self.size < self.maximum:
            self.size, self.streak = min(self.maximum, self.size * 2), 0


@dataclass
class SyncSummary:
    pushed: int = 0
    acked_seq: int | None = None
    synced: int = 0
    duplicates: int = 0
    refused: int = 0
    batches: int = 0
    pending: int = 0
    pulled: int = 0
    pull_batches: int = 0
    shrunk: int = 0  # requests sent again smaller after a transient failure
    conflicts: int = 0  # open conflicts of this PC's events after the round
    digest_agrees: bool | None = None  # None: not checked this round (events still to push, or no pull)
    repulled: bool = False
    reference_version: str | None = None
    staff_changed: int = 0  # staff records taken from the county's list this round
    error: str | None = None  # the technical text, for ops
    error_code: str | None = None  # why, as a code of protocol.codes with a message staff can read
    refusals: list[str] = field(default_factory=list)

    @property
    def is_ok(self) -> bool:
        return self.error is None


class Syncer:
    def __init__(self, store: AgentStore, uplink: Uplink, *, agent_id: str, batch_size: int,
                 reference_interval_s: float, casebook: Casebook | None = None) -> None:
        self.store = store
        self.uplink = uplink
        self.agent_id = agent_id
        self.casebook = casebook or Casebook(store, agent_id)
        self.batch_size = batch_size
        self.push_batch = AdaptiveBatch(batch_size)
        self.pull_batch = AdaptiveBatch(PULL_BATCH)
        self.reference_interval_s = reference_interval_s
        self.reference: Reference | None = None
        # Called after a new reference version is loaded, e.g. to fill in due dates a new calendar now reaches.
        self.on_reference: Callable[[], Awaitable[object]] | None = None
        self._reference_at: float | None = None  # monotonic time of the last pull; None: not yet since start
        self._round = asyncio.Lock()  # one round at a time, whoever asks
        # Which identity and seq numbering to push under (agent/sync/identity.py); None: the configured id, local seqs.
        self.identity: Identity | None = None
        self.rounds = 0
        self.failures = 0  # rounds that ended with an error, since start (the /metrics counter)
        self.pulled_total = 0  # events pulled since start
        self.repulls = 0  # full re-pulls after a disagreeing digest, since start
        self._task: asyncio.Task | None = None
        self.attachments: AttachmentLane | None = None  # the files' lane, started after a round (schedule.py)

    async def load_local_reference(self) -> Reference | None:
        """The last reference data pulled from the county, so staff can work offline after a restart."""
        saved = await self.store.get_reference()
        if saved is not None:
            self.reference = Reference.from_json(saved[1])
        return self.reference

    async def sync_once(self, *, max_batches: int | None = None) -> SyncSummary:
        """Refresh reference data if due, push pending events, pull. Never raises for network or server trouble:
        the summary carries the error, and `/api/status` shows it. With `max_batches` (the CLI's progress bar) the
        round pushes at most that many batches and pulls only once the outbox is empty."""
        async with self._round:
            self._task = asyncio.current_task()
            summary = SyncSummary()
            try:
                if self.identity is not None and self.identity.is_retired:
                    raise RefusedRequestError(0, "identity_retired", self.identity.hint())
                await self._refresh_reference(summary)
                await self._sync_staff(summary)
                await self._push(summary, max_batches)
                if max_batches is None or await self.store.count_pending() == 0:
                    await self._pull(summary)
            except TransientUplinkError as e:
                summary.error, summary.error_code = str(e), e.code
            except RefusedRequestError as e:
                summary.error, summary.error_code = str(e), e.code if e.code in CODES else "county_refused"
            finally:
                self._task = None
            self.rounds += 1
            self.failures += summary.error is not None
            summary.pending = await self.store.count_pending()
            summary.conflicts = await self.store.count_open_conflicts(self.agent_id)
            await self._record(summary)
            return summary

    async def _refresh_reference(self, summary: SyncSummary) -> None:
        # The monotonic clock's origin is arbitrary (often boot), so "never" must not be 0.0: a PC up for less than
        # reference_interval_s would skip the first pull and report a sync without having reached the county.
        if (self.reference is not None and self._reference_at is not None
                and time.monotonic() - self._reference_at < self.reference_interval_s):
            return
        response = await self.uplink.reference()
        self._reference_at = time.monotonic()
        summary.reference_version = response.version
        if self.reference is None or self.reference.version != response.version:
            await self.store.save_reference(response.version, _encode.encode(response))
            self.reference = Reference.from_response(response)
            log.info("reference updated version=%s items=%d", response.version, len(response.items))
            if self.on_reference is not None:
                await self.on_reference()

    async def _sync_staff(self, summary: SyncSummary) -> None:
        """Staff changes made here go up; the township's list as the county holds it comes back (agent/staff.py),
        every round (a small answer): a clerk added at another window signs in here after this PC's next sync. A
        county from before staff sign-in (404) leaves the list as it is on this PC."""
        sent = await self.store.dirty_staff()
        try:
            answer = await self.uplink.staff(StaffPush(members=sent))
        except RefusedRequestError as e:
            if e.status != 404:
                raise
            return
        summary.staff_changed = await self.store.merge_staff(answer.members, sent)
        if summary.staff_changed or sent:
            log.info("staff list synced sent=%d changed_here=%d township_staff=%d", len(sent), summary.staff_changed,
                     len(answer.members))

    async def _request(self, events: list, pending: int) -> PushRequest:
        meta = await self.store.get_meta()
        agrees = meta.get("digest_agrees")
        return PushRequest(agent_id=self.agent_id, events=events, software_version=__version__, pending=pending,
                           protocol_version=PROTOCOL_VERSION, pull_cursor=meta.get("pull_cursor") or None,
                           digest_agrees=None if not agrees else agrees == "1")

    async def _push(self, summary: SyncSummary, max_batches: int | None) -> None:
        while max_batches is None or summary.batches < max_batches:
            events = await self.store.pending_events(self.push_batch.size)
            if not events:
                if summary.batches == 0 and summary.reference_version is None:
                    # Nothing to send and no reference pull this round: an empty push still tells the county the
                    # PC is alive (its agent list), measures the clock offset, and proves the link for the page.
                    await self.uplink.push(await self._request([], 0))
                return
            pending = await self.store.count_pending()
            started = time.monotonic()
            base = self.identity.seq_base if self.identity else 0
            if base:
                events = [msgspec.structs.replace(e, seq=e.seq - base) for e in events]
            try:
                response = await self.uplink.push(await self._request(events, pending),
                                                  attempts=1 if self.push_batch.can_shrink else None)
            except TransientUplinkError as e:
                if e.is_unreachable or not self.push_batch.failed():
                    raise
                summary.shrunk += 1
                log.info("sync push failed, sending smaller batches events=%d next=%d error=%s", len(events),
                         self.push_batch.size, e)
                continue
            self.push_batch.succeeded()
            if self.identity is not None and self.identity.previous:
                own = [r for r in response.refused if self.identity.is_own_earlier(r)]
                if own:  # delivered under an earlier identity of this database: not refused
                    response.refused = [r for r in response.refused if r not in own]
                    response.duplicates += len(own)
            # Shielded: once the answer is here, SIGTERM does not interrupt recording it (see `stop`).
            marked = await asyncio.shield(self.casebook.record_push(response.acked_seq + base, response.refused))
            summary.batches += 1
            summary.pushed += len(events)
            summary.synced += marked
            summary.duplicates += response.duplicates
            summary.refused += len(response.refused)
            summary.refusals += [f"seq={r.seq} {r.code}: {r.message}" for r in response.refused]
            summary.acked_seq = response.acked_seq
            log.info("sync pushed events=%d acked_seq=%d refused=%d conflicts=%d took_ms=%d", len(events),
                     response.acked_seq, len(response.refused), len(response.conflicts),
                     (time.monotonic() - started) * 1000)
            for r in response.refused:
                log.warning("sync event refused seq=%d code=%s", r.seq, r.code)
            for c in response.conflicts:
                log.warning("sync event not applied by the county event_id=%s code=%s lost_to=%s", c.event_id,
                            c.code, c.lost_to)
            if self.identity is not None and any(r.code == "seq_reused" for r in response.refused):
                self.identity = await retire(self.store, self.identity, "the county already has other events "
                                             "with these seqs (seq_reused): the database was reset or restored")
                summary.error, summary.error_code = self.identity.hint(), "identity_retired"
                return
            if response.acked_seq < events[0].seq - 1 and not response.refused:
                # The county holds less than it acknowledged before: it was restored from a backup. Send again
                # everything after what it has; event_id makes that idempotent.
                resent = await self.store.resend_after(response.acked_seq + base)
                log.warning("county has fewer events than acknowledged before acked_seq=%d resending=%d",
                            response.acked_seq, resent)
                if resent:
                    continue
            if response.acked_seq < events[-1].seq:
                # The server holds a gap before this batch (events it never got): nothing more to gain now.
                summary.error = f"server acknowledged only up to seq {response.acked_seq}"
                summary.error_code = "county_gap"
                return

    # ---- the pull, and the agreement check ----------------------------------------------------------------

    async def _pull(self, summary: SyncSummary) -> None:
        last = await self._pull_all(summary, (await self.store.get_meta()).get("pull_cursor") or "")
        agrees = await self._check_agreement(last, summary)
        if agrees is False:
            # Disagreement: fold every case again (a stale row), and if that is not it, pull everything again.
            cases, changed = await self.casebook.refold_all()
            log.warning("township digest differs: cases refolded cases=%d changed=%d", cases, changed)
            agrees = await self._check_agreement(last, summary)
            if agrees is False:
                self.repulls += 1
                summary.repulled = True
                log.warning("township digest differs: pulling everything again")
                last = await self._pull_all(summary, "")
                agrees = await self._check_agreement(last, summary)
        summary.digest_agrees = agrees
        if agrees is False:
            log.warning("township digest still differs after a full pull local=%s county=%s",
                        await self.casebook.digest(), last.digest)

    async def _pull_all(self, summary: SyncSummary, cursor: str) -> PullResponse:
        while True:
            started = time.monotonic()
            try:
                response = await self.uplink.pull(PullRequest(cursor=cursor, limit=self.pull_batch.size),
                                                  attempts=1 if self.pull_batch.can_shrink else None)
            except TransientUplinkError as e:
                if e.is_unreachable or not self.pull_batch.failed():
                    raise
                summary.shrunk += 1
                log.info("sync pull failed, asking for smaller batches next=%d error=%s", self.pull_batch.size, e)
                continue
            self.pull_batch.succeeded()
            names = {a.agent_id: a.name for a in response.agents}
            # Shielded like the push's answer: a batch that arrived is applied whole.
            cases = await asyncio.shield(self.casebook.apply_pull(
                response.events, pull_cursor=response.cursor, township_agents=_encode.encode(names).decode(),
                correction_grants=_encode.encode(response.grants).decode(),
                last_pull_at=datetime.now(CHINA_TZ).isoformat(timespec="seconds")))
            summary.pulled += len(response.events)
            summary.pull_batches += 1
            self.pulled_total += len(response.events)
            if response.events or response.reset:
                log.info("sync pulled events=%d cases=%d reset=%s has_more=%s took_ms=%d", len(response.events),
                         cases, response.reset, response.has_more, (time.monotonic() - started) * 1000)
            cursor = response.cursor
            if not response.has_more:
                return response

    async def _check_agreement(self, last: PullResponse, summary: SyncSummary) -> bool | None:
        """Compare the township digest with the county's, when this PC has nothing left to push (its own events
        still to send would differ); None when not checked."""
        if last.digest is None:
            return None
        async with self.store.write():
            if await self.store.count_pending():
                return None
            local = await self.casebook.digest()
        agrees = local == last.digest
        await self.store.set_meta(digest_agrees="1" if agrees else "0", digest_local=local,
                                  digest_county=last.digest,
                                  digest_checked_at=datetime.now(CHINA_TZ).isoformat(timespec="seconds"))
        return agrees

    async def stop(self, timeout_s: float) -> None:
        """For shutdown: abandon the round in flight unless it is recording an answer, and wait for it to end.

        A push whose answer has not arrived is abandoned: its events stay pending and go again after the restart,
        where the county counts them as duplicates. An answer that arrived is recorded in full (shielded).
        """
        task = self._task
        if task is not None and not task.done():
            task.cancel()
        try:
            async with asyncio.timeout(timeout_s):
                async with self._round:
                    pass
        except TimeoutError:
            log.warning("sync round did not end in time timeout_s=%s", timeout_s)

    async def _record(self, summary: SyncSummary) -> None:
        now = datetime.now(CHINA_TZ).isoformat(timespec="seconds")
        values: dict[str, str | int | None] = {"last_attempt_at": now, "last_error": summary.error,
                                                "last_error_code": summary.error_code}
        if summary.is_ok:
            values["last_sync_at"] = now
        if self.uplink.offset_ms is not None:
            values["clock_offset_ms"] = self.uplink.offset_ms
        await self.store.set_meta(**values)
        if summary.error:
            log.warning("sync failed error=%s pending=%d", summary.error, summary.pending)
