"""Checkpoints run beside staff commits, not inside them, and the WAL still gets copied back."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import agent.store
from tests.agent.conftest import accept_form
from tests.agent.desk import running_agent, store_of


async def test_every_nth_commit_starts_a_passive_checkpoint_beside_the_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(agent.store, "CHECKPOINT_EVERY_COMMITS", 5)
    calls = []
    real = agent.store._checkpoint
    monkeypatch.setattr(agent.store, "_checkpoint", lambda path: (calls.append(path), real(path)))
    async with running_agent(tmp_path) as client:
        store = store_of(client)
        async with store._db.execute("PRAGMA wal_autocheckpoint") as cur:
            autocheckpoint = (await cur.fetchone())[0]
        for _ in range(12):
            assert (await client.post("/api/cases", json=accept_form())).status == 201
        await store._checkpointing
        with closing(sqlite3.connect(store.path)) as db:
            busy, wal_frames, checkpointed = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert autocheckpoint == 0
    assert calls == [store.path, store.path]
    assert busy == 0 and checkpointed == wal_frames
