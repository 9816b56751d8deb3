"""When sync rounds run: an APScheduler interval job (one instance at a time) plus an early run after a write."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from agent.sync.syncer import Syncer

log = logging.getLogger(__name__)
JOB_ID = "sync"


class SyncSchedule:
    def __init__(self, syncer: Syncer, *, interval_s: float, early_delay_s: float) -> None:
        self._syncer = syncer
        self._early = timedelta(seconds=early_delay_s)
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(
            self._run, "interval", seconds=interval_s, id=JOB_ID, max_instances=1, coalesce=True,
            next_run_time=datetime.now() + self._early, misfire_grace_time=None,
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=False)

    def nudge(self) -> None:
        """A local write happened: run a round soon, unless one is due sooner anyway."""
        job = self._scheduler.get_job(JOB_ID)
        if job is None or job.next_run_time is None:
            return
        soon = datetime.now(job.next_run_time.tzinfo) + self._early
        if job.next_run_time > soon:
            job.modify(next_run_time=soon)

    async def _run(self) -> None:
        try:
            summary = await self._syncer.sync_once()
            lane = self._syncer.attachments
            if summary.is_ok and lane is not None:
                lane.kick()  # files after the events, in their own lane: the next round does not wait for them
        except Exception:  # the job must survive anything, or sync stops for good
            log.exception("sync round crashed")
