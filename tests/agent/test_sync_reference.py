"""The first sync round after start reaches the county, however long the PC has been up."""

from __future__ import annotations

from types import SimpleNamespace

import agent.sync.syncer
from tests.agent.desk import running_agent


async def test_the_first_round_pulls_reference_data_even_just_after_boot(tmp_path, monkeypatch):
    # time.monotonic() counts from an arbitrary origin, often boot: 5 s after boot is an ordinary value. Only the
    # syncer's clock is replaced; the event loop keeps the real one.
    monkeypatch.setattr(agent.sync.syncer, "time", SimpleNamespace(monotonic=lambda: 5.0))
    async with running_agent(tmp_path) as client:  # reference data saved, nothing pending, county unreachable
        summary = await (await client.post("/api/sync", json={})).json()
        status = await (await client.get("/api/status")).json()
    assert summary["ok"] is False
    assert status["last_sync_at"] is None and "127.0.0.1:9" in status["last_error"]
