"""sd_notify datagrams reach $NOTIFY_SOCKET; the watchdog pings only while the database answers a writer (the
county's SQLite file, or its PostgreSQL schema)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3

import asyncpg
import pytest

from agent.store import AgentStore
from ops.systemd_notify import ServiceNotifier, Watchdog, notify, watchdog_period_s
from tests import postgres


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_notify_sends_one_datagram_and_is_a_no_op_outside_systemd(notify_socket, monkeypatch):
    assert notify("READY=1", "STATUS=serving")
    assert received(notify_socket) == ["READY=1\nSTATUS=serving"]
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not notify("READY=1")


def test_notify_never_blocks_when_systemd_stops_reading(notify_socket):
    # A receiver whose datagram queue is full must cost a lost ping, never a frozen event loop.
    sent = [notify(f"STATUS=ping {i}") for i in range(500)]
    assert sent[0] is True
    assert False in sent  # the queue filled up and later sends were dropped, each returning at once
    assert len(received(notify_socket)) == sent.index(False)


def test_the_watchdog_period_is_only_for_the_process_systemd_named(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_period_s() is None
    monkeypatch.delenv("WATCHDOG_PID")
    assert watchdog_period_s() == 30.0


async def test_watchdog_stops_pinging_while_the_database_does_not_answer_and_resumes(tmp_path, notify_socket):
    store = await AgentStore.open(tmp_path / "agent.sqlite3")
    dog = Watchdog(lambda: store.ping(0.3), period_s=1.0)
    try:
        assert await dog.run_once()
        assert received(notify_socket) == ["WATCHDOG=1"]

        # Another process takes the write lock: the agent could not save a staff action now.
        other = sqlite3.connect(tmp_path / "agent.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        assert not await dog.run_once()
        assert not await dog.run_once()
        assert received(notify_socket) == []
        assert dog.failures == 2

        other.execute("ROLLBACK")
        other.close()
        for _ in range(50):  # the probe still waiting inside SQLite's busy timeout finishes first
            if await dog.run_once():
                break
            await asyncio.sleep(0.1)
        assert received(notify_socket) == ["WATCHDOG=1"]
        # The connection was left clean, outside any transaction: a write still works.
        await store.set_meta(probe="ok")
        assert (await store.get_meta())["probe"] == "ok"
    finally:
        await store.close()


async def test_watchdog_does_not_ping_when_the_probe_hangs(notify_socket):
    async def hang():
        await asyncio.sleep(10)

    dog = Watchdog(hang, period_s=0.2)
    assert not await dog.run_once()
    assert received(notify_socket) == []


async def test_the_notifier_says_ready_starts_the_watchdog_and_says_stopping(notify_socket, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    calls = []

    async def probe():
        calls.append(1)

    notifier = ServiceNotifier(probe)
    notifier.ready("serving")
    await asyncio.sleep(0.25)
    await notifier.stopping()
    messages = received(notify_socket)
    assert messages[0].startswith("READY=1\nSTATUS=serving\nMAINPID=")
    assert messages.count("WATCHDOG=1") >= 2
    assert messages[-1] == "STOPPING=1\nSTATUS=stopping"
    assert len(calls) >= 2


async def test_the_server_store_probe_fails_while_another_writer_holds_the_database(tmp_path, notify_socket):
    from server.storage.sqlite.store import SqliteStore

    store = SqliteStore(tmp_path / "county.sqlite3")
    await store.open()
    dog = Watchdog(lambda: store.ping(0.3), period_s=1.0)
    try:
        assert await dog.run_once()
        other = sqlite3.connect(tmp_path / "county.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        assert not await dog.run_once()
        assert received(notify_socket) == ["WATCHDOG=1"]
        other.execute("ROLLBACK")
        other.close()
        for _ in range(120):  # the probe waits out SQLite's busy timeout, then rolls back
            if await dog.run_once():
                break
            await asyncio.sleep(0.1)
        assert received(notify_socket) == ["WATCHDOG=1"]
    finally:
        await store.close()


@pytest.mark.postgres
async def test_on_postgres_the_server_store_probe_fails_while_its_table_is_locked_and_recovers(
        tmp_path, notify_socket):
    """PostgreSQL lets readers pass a writer, so what stops its store's probe is a lock that stops every reader of
    the table it reads (a `LOCK TABLE`, as a long migration or a VACUUM FULL takes); cancelled, the probe leaves its
    connection clean."""
    from server.storage.base import AuditEntry
    from server.storage.postgres.store import PostgresStore

    dsn = postgres.server_dsn(tmp_path, always=True)
    assert dsn is not None
    store = PostgresStore(dsn, 2, files=tmp_path / "county.sqlite3")
    await store.open()
    other = await asyncpg.connect(dsn)
    dog = Watchdog(lambda: store.ping(0.3), period_s=1.0)
    try:
        assert await dog.run_once()
        locking = other.transaction()
        await locking.start()
        await other.execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
        assert not await dog.run_once()
        assert not await dog.run_once()
        assert received(notify_socket) == ["WATCHDOG=1"]
        assert dog.failures == 2

        await locking.rollback()
        for _ in range(50):
            if await dog.run_once():
                break
            await asyncio.sleep(0.1)
        assert received(notify_socket) == ["WATCHDOG=1"]
        # Every connection of the pool was left clean, outside any transaction: both answer at once, a write goes in.
        await asyncio.gather(store.ping(5.0), store.ping(5.0))
        entry = AuditEntry(at="2026-03-02T02:00:00+00:00", actor="test", address="127.0.0.1", action="probe",
                           outcome="ok")
        assert await store.append_audit([entry]) == 1
    finally:
        await other.close()
        await store.close()
