"""One sync round: refresh reference data when due, then push the outbox in batches until it is empty.

`sync_once()` is the whole loop body; the scheduler decides when it runs, tests call it directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from agent.errors import RefusedRequestError, TransientUplinkError
from agent.reference import Reference
from agent.store import AgentStore
from agent.sync.identity import Identity, retire
from agent.sync.uplink import Uplink
from protocol.codes import CODES
from protocol.lifecycle import CHINA_TZ

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder()


@dataclass
class SyncSummary:
    pushed: int = 0
    acked_seq: int | None = None
    synced: int = 0
    duplicates: int = 0
    refused: int = 0
    batches: int = 0
    pending: int = 0
    reference_version: str | None = None
    error: str | None = None  # the technical text, for ops
    error_code: str | None = None  # why, as a code of protocol.codes with a message staff can read
    refusals: list[str] = field(default_factory=list)

    @property
    def is_ok(self) -> bool:
        return self.error is None


class Syncer:
    def __init__(self, store: AgentStore, uplink: Uplink, *, agent_id: str, batch_size: int,
                 reference_interval_s: float) -> None:
        self.store = store
        self.uplink = uplink
        self.agent_id = agent_id
        self.batch_size = batch_size
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
        self._task: asyncio.Task | None = None

    async def load_local_reference(self) -> Reference | None:
        """The last reference data pulled from the county, so staff can work offline after a restart."""
        saved = await self.store.get_reference()
        if saved is not None:
            self.reference = Reference.from_json(saved[1])
        return self.reference

    async def sync_once(self, *, max_batches: int | None = None) -> SyncSummary:
        """Refresh reference data if due and push pending events. Never raises for network or server trouble:
        the summary carries the error, and `/api/status` shows it."""
        async with self._round:
            self._task = asyncio.current_task()
            summary = SyncSummary()
            try:
                if self.identity is not None and self.identity.is_retired:
                    raise RefusedRequestError(0, "identity_retired", self.identity.hint())
                await self._refresh_reference(summary)
                await self._push(summary, max_batches)
            except TransientUplinkError as e:
                summary.error, summary.error_code = str(e), e.code
            except RefusedRequestError as e:
                summary.error, summary.error_code = str(e), e.code if e.code in CODES else "county_refused"
            finally:
                self._task = None
            self.rounds += 1
            self.failures += summary.error is not None
            summary.pending = await self.store.count_pending()
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

    async def _push(self, summary: SyncSummary, max_batches: int | None) -> None:
        while max_batches is None or summary.batches < max_batches:
            events = await self.store.pending_events(self.batch_size)
            if not events:
                if summary.batches == 0 and summary.reference_version is None:
                    # Nothing to send and no reference pull this round: an empty push still tells the county the
                    # PC is alive (its agent list), measures the clock offset, and proves the link for the page.
                    await self.uplink.push(self.agent_id, [], 0)
                return
            pending = await self.store.count_pending()
            started = time.monotonic()
            base = self.identity.seq_base if self.identity else 0
            if base:
                events = [msgspec.structs.replace(e, seq=e.seq - base) for e in events]
            response = await self.uplink.push(self.agent_id, events, pending)
            if self.identity is not None and self.identity.previous:
                own = [r for r in response.refused if self.identity.is_own_earlier(r)]
                if own:  # delivered under an earlier identity of this database: not refused
                    response.refused = [r for r in response.refused if r not in own]
                    response.duplicates += len(own)
            # Shielded: once the answer is here, SIGTERM does not interrupt recording it (see `stop`).
            marked = await asyncio.shield(self.store.mark_pushed(response.acked_seq + base, response.refused))
            summary.batches += 1
            summary.pushed += len(events)
            summary.synced += marked
            summary.duplicates += response.duplicates
            summary.refused += len(response.refused)
            summary.refusals += [f"seq={r.seq} {r.code}: {r.message}" for r in response.refused]
            summary.acked_seq = response.acked_seq
            log.info("sync pushed events=%d acked_seq=%d refused=%d took_ms=%d", len(events), response.acked_seq,
                     len(response.refused), (time.monotonic() - started) * 1000)
            for r in response.refused:
                log.warning("sync event refused seq=%d code=%s", r.seq, r.code)
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
