"""Two `county-server serve` processes on one PostgreSQL database, four township PCs of two townships pushing into
them at once (each township's two PCs through different servers, so a township's batches meet at its row lock in
the database, and both townships share the county's month rows): nothing lost or doubled, no deadlock, and the
rollups true, with `rollups verify` and `rollups rebuild` run while the pushes go on.

Needs this machine's PostgreSQL (`tests.postgres`): skipped without it, failed under CI=true.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from contextlib import closing
from pathlib import Path

import pytest

from scripts.cluster import BIN, Cluster, http_json
from server.config import load_config
from tests import database, postgres
from tests.e2e.conftest import accept, act, stats, wait_synced

pytestmark = pytest.mark.postgres

QIAOWA, WACHANG = "513422100", "513422101"
CASES_PER_PC = 30


def _own_event_ids(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {r[0] for r in db.execute("SELECT event_id FROM outbox WHERE status = 'synced'")}


def _county(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "county-server"), *args, "--config", str(config)], capture_output=True,
                          text=True, timeout=120)


def test_two_servers_and_four_pcs_of_two_townships_push_at_once_and_stay_exact(tmp_path: Path) -> None:
    storage = postgres.storage_section(tmp_path / "shared", always=True)  # one schema for both servers
    keys = f'[privacy]\nkey_file = "{tmp_path / "county.keys"}"\n'  # every server seals with the same keys
    one = Cluster(tmp_path / "one", storage=storage, server_section="ingest_workers = 1\n", server_settings=keys)
    two = Cluster(tmp_path / "two", storage=storage, server_section="ingest_workers = 0\n", server_settings=keys)
    try:
        starting = [threading.Thread(target=c.server.start) for c in (one, two)]  # type: ignore[union-attr]
        for t in starting:  # both migrate the empty schema at the same moment
            t.start()
        for t in starting:
            t.join()
        pcs = {"q1": (QIAOWA, 1, one), "q2": (QIAOWA, 2, two), "w1": (WACHANG, 1, one), "w2": (WACHANG, 2, two)}
        for name, (township, pc_no, server) in pcs.items():
            one.add_agent(name, township, pc_no, county_url=server.server_url, interval_s=0.3, early_delay_s=0.05,
                          batch_size=7).start()
            http_json("POST", f"{one.agent_url(name)}/api/sync")  # the catalog, before the first case
        failures: list[BaseException] = []

        def work(name: str, township: str) -> None:
            try:
                url = one.agent_url(name)
                for n in range(CASES_PER_PC):
                    case = accept(url, n, village_code=f"{township}201")
                    act(url, case["case_id"], "completed", result="approved")
            except BaseException as exc:
                failures.append(exc)

        writers = [threading.Thread(target=work, args=(name, t)) for name, (t, _, _) in pcs.items()]
        for t in writers:
            t.start()
        # Meanwhile, from the other server's config: verify reads one snapshot, rebuild waits for the batches in
        # flight and holds the next ones back; neither loses or doubles a count.
        during = [_county(two.server_config, "rollups", "verify"), _county(two.server_config, "rollups", "rebuild")]
        for t in writers:
            t.join()
        assert failures == []
        assert [r.returncode for r in during] == [0, 0], [r.stderr for r in during]
        for name in pcs:
            wait_synced(one.agent_url(name), timeout_s=60)

        made = {name: _own_event_ids(one.base / f"agent-{name}.sqlite3") for name in pcs}
        assert all(len(ids) == 2 * CASES_PER_PC for ids in made.values()), {k: len(v) for k, v in made.items()}
        with database.connect(load_config(one.server_config)) as db:
            rows = db.execute("SELECT event_id FROM events").fetchall()
            agents = db.execute("SELECT count(*), sum(acked_seq) FROM agents").fetchone()
        stored = [r[0] for r in rows]
        assert len(stored) == len(set(stored))  # none doubled
        assert set(stored) == set().union(*made.values())  # none lost, none made up
        assert agents == (4, 4 * 2 * CASES_PER_PC)
        verify = _county(one.server_config, "rollups", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "rollups match the cases" in verify.stdout
        for cluster in (one, two):  # either server answers the same figures
            county = stats(cluster, "county")["513422000000"]
            assert (county["accepted"], county["completed"]) == (4 * CASES_PER_PC, 4 * CASES_PER_PC)
        for cluster in (one, two):
            log = (cluster.base / "server.log").read_text(encoding="utf-8")
            assert "deadlock" not in log.lower() and "ERROR" not in log, log[-3000:]
    finally:
        one.stop_all()
        two.stop_all()
