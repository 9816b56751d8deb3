"""The storage contract, audit half: entries appended in order and read newest first with filters; a PC's event
recorded once; no update and no early delete, through the interface or straight on the database; the retention purge
removes only what is older than the retention, never less than 183 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from server.clock import now_iso
from server.storage.base import MIN_AUDIT_RETENTION_DAYS, AuditEntry, AuditQuery
from tests.server.storage.backends import Backend


def _at(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="milliseconds")


def _entry(days_ago: float, action: str = "login", actor: str = "zhangsan", outcome: str = "ok",
           event_id: str | None = None) -> AuditEntry:
    return AuditEntry(at=_at(days_ago), actor=actor, address="10.0.0.7", action=action, outcome=outcome,
                      target="zhangsan", detail="{}", role="county_admin", event_id=event_id)


async def test_entries_are_appended_in_order_and_read_newest_first_with_filters(backend: Backend) -> None:
    store = backend.store
    assert await store.append_audit([_entry(3), _entry(2, "login_failed", outcome="refused"),
                                     _entry(1, "export", actor="lisi")]) == 3
    assert await store.append_audit([]) == 0
    total, rows = await store.audit_entries(AuditQuery())
    assert total == 3 and [r.action for r in rows] == ["export", "login_failed", "login"]
    assert rows[0].entry_id > rows[1].entry_id > rows[2].entry_id > 0
    assert rows[2] == msgspec.structs.replace(_entry(3), at=rows[2].at, entry_id=rows[2].entry_id)
    assert (await store.audit_entries(AuditQuery(actor="lisi")))[0] == 1
    assert (await store.audit_entries(AuditQuery(outcome="refused")))[1][0].action == "login_failed"
    total, rows = await store.audit_entries(AuditQuery(since=_at(2.5), until=_at(1.5)))
    assert total == 1 and rows[0].action == "login_failed"
    total, rows = await store.audit_entries(AuditQuery(limit=1, offset=1))
    assert total == 3 and [r.action for r in rows] == ["login_failed"]


async def test_an_event_is_recorded_once_however_often_it_is_sent(backend: Backend) -> None:
    store = backend.store
    first = _entry(0, "case_corrected", actor="513422100-000000", event_id="0190a0b0-0000-7000-8000-000000000001")
    assert await store.append_audit([first]) == 1
    assert await store.append_audit([first, _entry(0, "login")]) == 1
    assert (await store.audit_entries(AuditQuery(action="case_corrected")))[0] == 1


async def test_nothing_updates_or_deletes_an_entry_younger_than_183_days(backend: Backend) -> None:
    store = backend.store
    await store.append_audit([_entry(MIN_AUDIT_RETENTION_DAYS - 1), _entry(0)])
    for sql in ("UPDATE audit_log SET outcome = 'ok', actor = 'nobody'", "DELETE FROM audit_log",
                "DELETE FROM audit_log WHERE at < '9999'"):
        error = await backend.kind.tamper_audit(backend.where, backend.database, sql)
        assert error is not None and ("append-only" in error or "183 days" in error), (sql, error)
    with pytest.raises(ValueError, match="183"):
        await store.purge_audit(_at(MIN_AUDIT_RETENTION_DAYS - 1), now_iso())
    total, rows = await store.audit_entries(AuditQuery())
    assert total == 2 and {r.actor for r in rows} == {"zhangsan"}


async def test_the_purge_removes_only_entries_older_than_the_retention(backend: Backend) -> None:
    store = backend.store
    await store.append_audit([_entry(400), _entry(200), _entry(190), _entry(10)])
    assert await store.purge_audit(_at(300), now_iso()) == 1
    assert await store.purge_audit(_at(MIN_AUDIT_RETENTION_DAYS + 1), now_iso()) == 2
    total, rows = await store.audit_entries(AuditQuery())
    assert total == 1 and rows[0].at > _at(11)


async def test_a_pc_is_bound_to_one_certificate_and_a_certificate_to_one_pc(backend: Backend) -> None:
    store = backend.store
    one, _ = await backend.add_agent("513422100")
    two, _ = await backend.add_agent("513422100", "窗口2")
    assert await store.agent_cert(one.agent_id) is None
    assert await store.bind_agent_cert(one.agent_id, "a" * 64) is True
    assert await store.agent_cert(one.agent_id) == "a" * 64
    with pytest.raises(ValueError):
        await store.bind_agent_cert(two.agent_id, "a" * 64)
    assert await store.agent_cert(two.agent_id) is None
    assert await store.bind_agent_cert("513422100-ffffff", "b" * 64) is False
    assert await store.bind_agent_cert(one.agent_id, None) is True
    assert await store.bind_agent_cert(two.agent_id, "a" * 64) is True
