"""Composition root: builds the store, uplink, syncer, service and schedule, and owns their lifetimes."""

from __future__ import annotations

import logging

from aiohttp import web

from agent.attachments import BlobDir, Limits, Materials
from agent.casebook import Casebook
from agent.config import AgentConfig, county_tls, is_loopback
from agent.http import api, guard, materials, page, rate, signin, staff
from agent.http.health import routes as health_routes
from agent.rating_desk import RatingDesk
from agent.service import CaseService
from agent.staff import StaffDesk
from agent.store import AgentStore
from agent.sync.attachments import AttachmentLane
from agent.sync.identity import resolve_identity
from agent.sync.schedule import SyncSchedule
from agent.sync.syncer import Syncer
from agent.sync.uplink import Uplink
from ops import metrics
from ops.runlock import RunLock
from ops.serve import PROBE

log = logging.getLogger(__name__)

# Within the units' TimeoutStopSec=30 after the 10 s HTTP drain (ops/serve.py).
SYNC_STOP_S = 10.0


def build_app(config: AgentConfig, *, run_schedule: bool = True) -> web.Application:
    """The agent's aiohttp app. With `run_schedule=False` nothing syncs by itself (tests call `sync_once`)."""
    app = web.Application(middlewares=[guard.guard_middleware(config.host, config.port), api.errors_middleware,
                                       signin.signin_middleware], client_max_size=1024 * 1024)
    app.on_response_prepare.append(guard.security_headers)
    app.add_routes(api.routes)
    app.add_routes(staff.routes)
    app.add_routes(materials.routes)
    app.add_routes(rate.routes)
    app.add_routes(signin.routes)
    app.add_routes(page.routes)
    app.add_routes(health_routes)
    app[api.INFO] = {"township_code": config.township_code, "county_url": config.county_url}
    metrics.instrument(app, "township_agent")

    async def lifetime(app: web.Application):
        # One program per database, and `restore` cannot replace it under us (ops/runlock.py).
        run_lock = RunLock(config.database).acquire("township-agent run")
        store = await AgentStore.open(config.database)
        app[PROBE] = store.ping
        uplink = Uplink(config.county_url, config.token, timeout_s=config.timeout_s, attempts=config.attempts,
                        backoff_initial_s=config.backoff_initial_s, backoff_max_s=config.backoff_max_s,
                        ssl_context=county_tls(config))
        casebook = Casebook(store, config.agent_id)
        await refold_if_needed(casebook)
        syncer = Syncer(store, uplink, agent_id=config.agent_id, batch_size=config.batch_size,
                        reference_interval_s=config.reference_interval_s, casebook=casebook)
        await syncer.load_local_reference()
        meta = await store.get_meta()
        if meta.get("clock_offset_ms"):
            uplink.offset_ms = int(meta["clock_offset_ms"])
        schedule = SyncSchedule(syncer, interval_s=config.interval_s, early_delay_s=config.early_delay_s)
        service = CaseService(
            store, township_code=config.township_code, pc_no=config.pc_no,
            reference=lambda: syncer.reference, offset_ms=lambda: uplink.offset_ms or 0,
            on_write=schedule.nudge if run_schedule else lambda: None, casebook=casebook,
        )
        app[api.STORE], app[api.SYNCER], app[api.SERVICE] = store, syncer, service
        blobs = BlobDir.beside(config.database)
        app[materials.MATERIALS] = attached = Materials(
            store, blobs, Limits(config.attachment_max_file_bytes, config.attachment_max_total_bytes))
        syncer.attachments = AttachmentLane(store, blobs, uplink, chunk_bytes=config.attachment_chunk_bytes)
        if run_schedule:
            attached.on_attach = schedule.nudge
        app[rate.DESK] = RatingDesk(service)
        app[signin.DESK] = StaffDesk(store)
        app[signin.OPS_TOKEN] = signin.ensure_ops_token(config.database)
        if not await store.has_staff():
            log.warning("no staff member can sign in yet: actions name nobody until the township's lead is set up "
                        "(township-agent staff add --lead)")
        syncer.on_reference = service.fill_due_dates
        syncer.identity = await resolve_identity(store, config.agent_id)
        if run_schedule:
            schedule.start()
        await service.fill_due_dates()  # a calendar pulled before a crash may not have been applied yet
        log.info("agent started agent_id=%s listen=%s county=%s", config.agent_id, config.local_url,
                 config.county_url)
        if not is_loopback(config.host):
            log.warning("agent listening beyond loopback host=%s: anyone on that network can reach the staff page "
                        "and its API ([agent] allow_non_loopback = true)", config.host)
        yield
        if run_schedule:
            schedule.shutdown()
        await syncer.attachments.stop()  # a chunk in flight is abandoned: the county keeps what arrived
        await syncer.stop(timeout_s=SYNC_STOP_S)  # abandon a push in flight; record an answer that arrived
        await uplink.close()
        async with store.write():  # a staff action in flight commits or rolls back before the close
            await store.close()
        run_lock.release()
        log.info("agent stopped")

    app.cleanup_ctx.append(lifetime)
    return app


async def refold_if_needed(casebook: Casebook) -> None:
    """After the upgrade to causal order (migration 0010) every case row is folded again, once."""
    if (await casebook.store.get_meta()).get("refold_needed") != "1":
        return
    cases, changed = await casebook.refold_all()
    await casebook.store.set_meta(refold_needed="0")
    log.info("cases refolded in causal order cases=%d changed=%d", cases, changed)
