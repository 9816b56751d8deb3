"""`township-agent doctor`: is this PC ready to work and sync? Each check says what to fix in plain words."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import aiohttp

from agent.config import AgentConfig, county_tls
from agent.store import migrations
from agent.sync.identity import retired_ids
from ops import doctor
from ops.doctor import Check
from ops.runlock import is_locked
from protocol import API_PREFIX


def run_checks(config: AgentConfig) -> list[Check]:
    checks = [doctor.ok("config", f"{config.source} is valid (agent {config.agent_id})")]
    checks.append(doctor.check_database(config.database, [n for n, _, _ in migrations()]))
    checks.append(doctor.check_disk(config.database))
    checks.extend(_local_checks(config))
    county, offset_ms = asyncio.run(check_county(config))
    checks.extend(county)
    checks.append(doctor.check_clock(offset_ms))
    return checks


def _local_checks(config: AgentConfig) -> list[Check]:
    out = []
    if is_locked(config.database):
        out.append(doctor.ok("running", "township-agent is running on this database"))
    else:
        out.append(doctor.warn("running", "township-agent is not running", "start it: systemctl start "
                               "township-agent (staff cannot save cases until it runs)"))
    if not config.database.exists():
        return out
    try:
        db = sqlite3.connect(f"file:{config.database}?mode=ro", uri=True, timeout=5)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            pending = db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
            quarantined = db.execute("SELECT count(*) FROM outbox WHERE status = 'quarantined'").fetchone()[0]
            staff = db.execute("SELECT count(*), coalesce(sum(role = 'lead'), 0) FROM staff WHERE is_disabled = 0"
                               ).fetchone() if _has_table(db, "staff") else (0, 0)
        finally:
            db.close()
    except sqlite3.Error:
        return out  # the database check already says what is wrong
    if config.agent_id in retired_ids(meta):
        out.append(doctor.fail("identity", f"agent {config.agent_id} may not push from this database "
                               f"({meta.get('identity_retired_reason') or 'retired'})",
                               "register this PC again on the county server (county-server agents add), put the "
                               "new token in county.token and restart township-agent"))
    else:
        out.append(doctor.ok("identity", f"pushing as {config.agent_id}"))
    if quarantined:
        out.append(doctor.warn("outbox", f"{pending} events waiting, {quarantined} refused by the county",
                               "open the agent page: refused events must be corrected or dismissed by staff"))
    else:
        out.append(doctor.ok("outbox", f"{pending} events waiting to upload"))
    if staff[0]:
        out.append(doctor.ok("staff", f"{staff[0]} staff member(s) can sign in, {staff[1]} lead(s)"))
    else:
        out.append(doctor.warn("staff", "no staff member can sign in: the page asks no sign-in and actions name "
                               "nobody", f"township-agent staff add --config {config.source or 'FILE'} --id ID "
                               "--name NAME --lead (or sync: another PC of the township may have staff)"))
    return out


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


async def check_county(config: AgentConfig) -> tuple[list[Check], int | None]:
    """Reach the county with the configured token; measure the clock offset on the way."""
    url = f"{config.county_url.rstrip('/')}{API_PREFIX}/reference"
    timeout = aiohttp.ClientTimeout(total=config.timeout_s)
    sent = time.time()
    try:
        context = county_tls(config)
        connector = aiohttp.TCPConnector(ssl=context) if context is not None else None
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            async with session.get(url, headers={"Authorization": f"Bearer {config.token}"}) as resp:
                status = resp.status
                server_ms = resp.headers.get("X-Server-Time-Ms")
                await resp.read()
    except (aiohttp.ClientError, OSError, TimeoutError) as e:
        reason = type(e).__name__ + (f": {e}" if str(e) else "")
        return [doctor.fail("county", f"cannot reach the county server at {config.county_url} ({reason})",
                            "check the network cable or VPN and county.url; ask the county whether its server "
                            "runs"),
                doctor.warn("token", "not checked", "fix the county connection first")], None
    received = time.time()
    offset = round((sent + received) / 2 * 1000) - int(server_ms) if server_ms and server_ms.isdigit() else None
    checks = [doctor.ok("county", f"county server at {config.county_url} answers")]
    if status == 200:
        checks.append(doctor.ok("token", "the county accepts this PC's token"))
    elif status in (401, 403):
        checks.append(doctor.fail("token", f"the county refuses this PC's token (HTTP {status})",
                                  "ask the county for a new token (county-server agents add or rotate-token) and "
                                  "put it in county.token"))
    else:
        checks.append(doctor.fail("token", f"the county answered HTTP {status}",
                                  "try again later; if it persists, tell the county's operator"))
    return checks, offset
