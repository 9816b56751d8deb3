"""The demo as a person runs it: the county stops and starts again while the agent keeps working, and a second run
keeps the first one's data unless asked to start fresh."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.cluster import ROOT, http_json
from scripts.demo import DEMO_STAFF
from tests.conftest import free_port
from tests.e2e.conftest import accept

pytestmark = pytest.mark.e2e

DEMO = ROOT / "scripts" / "demo.py"


class RunningDemo:
    def __init__(self, base: Path, ports: tuple[int, int], *extra: str) -> None:
        self.base, (self.county_port, self.agent_port) = base, ports
        self.agent_url = f"http://127.0.0.1:{self.agent_port}"
        self.log = base.parent / f"demo-{time.monotonic_ns()}.log"
        with self.log.open("w") as out:  # no terminal: the demo takes signals and `county stop|start` instead
            self.proc = subprocess.Popen(
                [sys.executable, str(DEMO), "--dir", str(base), "--county-port", str(self.county_port),
                 "--agent-port", str(self.agent_port), *extra], stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=ROOT)
        self.wait_for("q or Ctrl-C quits", timeout_s=90)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, text: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()}"
            time.sleep(0.2)

    def county(self, action: str) -> str:
        done = subprocess.run([sys.executable, str(DEMO), "--dir", str(self.base), "county", action],
                              capture_output=True, text=True, check=True)
        return done.stdout

    def cases(self) -> int:
        return len(http_json("GET", f"{self.agent_url}/api/cases?limit=1000", staff=DEMO_STAFF)[1]["cases"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def test_the_agent_works_on_while_the_demo_stops_the_county_and_the_data_stays_for_the_next_run(tmp_path):
    base, ports = tmp_path / "demo", (free_port(), free_port())  # a kept demo keeps its ports
    demo = RunningDemo(base, ports)
    try:
        assert "(new demo data)" in demo.output() and "press c to stop the county server" in demo.output()
        assert demo.cases() == 40
        # The county's own hall has a PC and cases too, and village figures by residence are not zero.
        token = re.search(r"admin token: (\S+)\)", demo.output()).group(1)  # type: ignore[union-attr]
        county_url, year = f"http://127.0.0.1:{demo.county_port}", time.localtime().tm_year
        query = f"from={year}-01-01&to={year}-12-31"
        _, townships = http_json("GET", f"{county_url}/api/v1/stats?level=township&{query}", token=token)
        hall = next(r for r in townships["rows"] if r["code"] == "513422000000")
        assert (hall["name"], hall["accepted"]) == ("木里藏族自治县政务服务大厅", 24)
        _, villages = http_json("GET", f"{county_url}/api/v1/stats?level=village&basis=residence&{query}",
                                token=token)
        lived = [r for r in villages["rows"] if r["code"][9:] != "000" and r["accepted"]]
        assert len(lived) > 10 and sum(r["accepted"] for r in villages["rows"]) == 40 + 24
        assert "asked the demo" in demo.county("stop")
        demo.wait_for("county server stopped")
        status = http_json("GET", f"{demo.agent_url}/api/status", staff=DEMO_STAFF)[1]
        assert status["last_error_code"] == "county_unreachable"
        accept(demo.agent_url, 1, staff=DEMO_STAFF)  # staff go on working offline
        assert http_json("GET", f"{demo.agent_url}/api/status", staff=DEMO_STAFF)[1]["pending"] == 1
        demo.county("start")
        demo.wait_for("county server running again")
        status = http_json("GET", f"{demo.agent_url}/api/status", staff=DEMO_STAFF)[1]
        assert (status["pending"], status["last_error_code"]) == (0, None)
    finally:
        demo.stop()
    assert demo.proc.returncode == 0 and not (base / "demo.pid").exists()

    again = RunningDemo(base, ports)
    try:
        assert "the data of the last run" in again.output()
        assert again.cases() == 41
    finally:
        again.stop()
    fresh = RunningDemo(base, ports, "--fresh")
    try:
        assert "(new demo data)" in fresh.output() and fresh.cases() == 40
    finally:
        fresh.stop()
