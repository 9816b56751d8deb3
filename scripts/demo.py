"""The demo: a county server and one township agent (乔瓦镇) on loopback, with sample cases entered and synced.

Its state is kept in run/demo/ from one run to the next (both databases, configs and tokens); `--fresh` starts
over. While it runs, the county server can be stopped and started again to try offline work: the agent goes on
without it. Press c to stop or start the county, q to quit; or from another terminal `scripts/demo county stop` and
`scripts/demo county start`.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import select
import shutil
import signal
import subprocess
import sys
import termios
import time
import tty
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.cluster import BIN, ROOT, Cluster, Process, http_json

BASE = ROOT / "run" / "demo"
PID_NAME = "demo.pid"  # the running demo, in its directory, for `scripts/demo county stop|start`
SIGNALS = {"stop": signal.SIGUSR1, "start": signal.SIGUSR2}
VILLAGES = ["513422100201", "513422100202", "513422100203"]
HALL = "513422000000"  # 木里藏族自治县 and its 县政务服务大厅
NAMES = ["扎西", "卓玛", "次仁", "拉姆", "格桑", "央金", "阿呷", "木呷", "王芳", "李明"]


def resident_id(rng: random.Random) -> str:
    body = f"513422{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


# The demo township's lead (负责人), set up on the demo's first run as `township-agent staff add --lead` does.
DEMO_STAFF = ("L01", "274915")


def add_lead(agent: Process) -> None:
    """The PC's lead, as `township-agent staff add --lead` sets one up, before the agent starts."""
    subprocess.run([str(BIN / "township-agent"), "staff", "add", "--config", str(agent.config),  # type: ignore[attr-defined]
                    "--id", DEMO_STAFF[0], "--name", "卓玛", "--lead", "--secret", DEMO_STAFF[1]],
                   check=True, capture_output=True)


def load_sample_cases(agent_url: str, count: int = 40, seed: int = 20261123) -> None:
    rng = random.Random(seed)
    ref = http_json("GET", f"{agent_url}/api/reference", staff=DEMO_STAFF)[1]
    items = [i["code"] for i in ref["items"]]
    villages = [o["code"] for o in ref["org_units"] if o["level"] == "village"] or VILLAGES
    for n in range(count):
        status, case = http_json("POST", f"{agent_url}/api/cases", {
            "item_code": rng.choice(items), "applicant_name": rng.choice(NAMES), "cert_type": "resident_id",
            "cert_no": resident_id(rng), "phone": f"139{rng.randint(0, 99999999):08d}",
            "channel": rng.choice(["window", "window", "window", "online", "proxy", "home_visit"]),
            "village_code": rng.choice(villages),
        }, staff=DEMO_STAFF)
        assert status == 201, case
        url = f"{agent_url}/api/cases/{case['case_id']}/events"
        if n % 4 != 3:
            http_json("POST", url, {"kind": "completed", "data": {"result": "approved"}}, staff=DEMO_STAFF)
            if n % 2 == 0:
                http_json("POST", url, {"kind": "evaluated", "data": {"rating": rng.choice([5, 5, 5, 4, 3, 2])}},
                          staff=DEMO_STAFF)


def dashboard_login(cluster: Cluster, is_new: bool) -> str:
    """The admin account's password: a new one each run (the account stays; its old sessions end)."""
    password = secrets.token_urlsafe(12)
    subprocess.run([str(BIN / "county-server"), "users", "add" if is_new else "password", "--name", "admin",
                    "--password-stdin", "--config", str(cluster.server_config)],
                   input=password, text=True, check=True, capture_output=True)
    return password


def tell_running_demo(base: Path, action: str) -> int:
    """`scripts/demo county stop|start`: ask the demo running in another terminal to do it."""
    try:
        pid = int((base / PID_NAME).read_text())
        os.kill(pid, SIGNALS[action])
    except (OSError, ValueError):
        print("no demo is running (start one with scripts/demo)", file=sys.stderr)
        return 1
    print(f"asked the demo (pid {pid}) to {action} the county server")
    return 0


@contextmanager
def single_keys():
    """Keys arrive one by one, without Enter, while the demo runs in a terminal; nothing changes elsewhere."""
    if not sys.stdin.isatty():
        yield False
        return
    saved = termios.tcgetattr(sys.stdin)
    try:
        tty.setcbreak(sys.stdin)
        yield True
    finally:
        termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)


class Demo:
    def __init__(self, cluster: Cluster, agent: Process, agent_url: str) -> None:
        self.cluster, self.agent, self.agent_url = cluster, agent, agent_url
        self.wanted: str | None = None  # "stop" or "start", asked by a key or a signal
        self.quit = False

    @property
    def county(self) -> Process:
        assert self.cluster.server is not None
        return self.cluster.server

    def toggle(self) -> None:
        self.wanted = "stop" if self.county.is_running else "start"

    def apply(self) -> None:
        wanted, self.wanted = self.wanted, None
        if wanted == "stop" and self.county.is_running:
            self.county.stop()
            said = ("county server stopped. The agent keeps working: accept a case on the page; the indicator says "
                    "离线 and why. Press c to start the county again.")
        elif wanted == "start" and not self.county.is_running:
            print("starting the county server …", flush=True)
            self.county.start()
            said = "county server running again; the agent has uploaded what it kept."
        else:
            return
        # The page shows the new state at once.
        http_json("POST", f"{self.agent_url}/api/sync", timeout_s=30, staff=DEMO_STAFF)
        print(said, flush=True)

    def run(self) -> None:
        with single_keys() as has_keys:
            while not self.quit:
                if has_keys and select.select([sys.stdin], [], [], 0.5)[0]:
                    key = sys.stdin.read(1).lower()
                    if key == "c":
                        self.toggle()
                    elif key == "q":
                        self.quit = True
                elif not has_keys:
                    time.sleep(0.5)
                if self.wanted:
                    self.apply()
                if not self.agent.is_running:
                    print(f"the agent stopped; see {self.agent.log_path}", file=sys.stderr)
                    return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", action="store_true", help="delete run/demo/ and start with new sample data")
    parser.add_argument("what", nargs="*", metavar="county stop|start",
                        help="ask the running demo to stop or start its county server")
    parser.add_argument("--dir", type=Path, default=BASE, help="where the demo keeps its state (run/demo)")
    parser.add_argument("--county-port", type=int, default=8600,
                        help="the county server's port on 127.0.0.1 (a kept demo keeps its own)")
    parser.add_argument("--agent-port", type=int, default=8700,
                        help="the township agent's port on 127.0.0.1 (a kept demo keeps its own)")
    args = parser.parse_args()
    base: Path = args.dir.resolve()
    if args.what:
        if len(args.what) != 2 or args.what[0] != "county" or args.what[1] not in SIGNALS:
            parser.error("say: scripts/demo county stop, or scripts/demo county start")
        return tell_running_demo(base, args.what[1])
    if args.fresh and base.exists():
        shutil.rmtree(base)
    is_new = not (base / "server.toml").exists()
    print("starting the county server and the township agent " + ("(new demo data)" if is_new else
          f"(the data of the last run, kept in {base}/; --fresh starts over)") + " …", flush=True)
    cluster = Cluster(base, server_port=args.county_port, keep=True)
    assert cluster.server is not None
    cluster.server.start()
    password = dashboard_login(cluster, is_new)
    agent = cluster.add_agent("qiaowa-01", port=args.agent_port, interval_s=15)
    if is_new:
        add_lead(agent)
    agent.start()
    agent_url = cluster.agent_url("qiaowa-01")
    # The county's own service hall (县政务服务大厅) has a PC too; its applicants live all over the county, so the
    # dashboard's village pages by residence (按申请人居住地) show them. Its lead signs in as the township's does.
    hall = cluster.add_agent("hall-01", unit=HALL, interval_s=15)
    if is_new:
        add_lead(hall)
    hall.start()
    hall_url = cluster.agent_url("hall-01")
    for url, count, seed in ((agent_url, 40, 20261123), (hall_url, 24, 20261124)):
        http_json("POST", f"{url}/api/sync", staff=DEMO_STAFF)
        if not http_json("GET", f"{url}/api/cases?limit=1", staff=DEMO_STAFF)[1].get("cases"):
            load_sample_cases(url, count, seed)
            http_json("POST", f"{url}/api/sync", staff=DEMO_STAFF)
    year = time.localtime().tm_year
    print(f"county server  {cluster.server_url}   (admin token: {cluster.admin_token})")
    print(f"dashboard      {cluster.server_url}/dashboard/   (login admin / {password})")
    print(f"township agent {agent_url}/   (乔瓦镇 便民服务中心, PC 01; staff sign-in {DEMO_STAFF[0]} / PIN "
          f"{DEMO_STAFF[1]}, the township's lead)")
    print(f"county hall    {hall_url}/   (木里藏族自治县政务服务大厅, PC 01; the same sign-in)")
    print(f"figures        curl -H 'Authorization: Bearer {cluster.admin_token}' "
          f"'{cluster.server_url}/api/v1/stats?level=township&from={year}-01-01&to={year}-12-31'")
    print(f"state and logs {base}/   (kept for the next run; scripts/demo --fresh starts over)")
    print()
    print("Try offline work: press c to stop the county server. The township page keeps working: its indicator turns")
    print("离线 and says why; accept a case. Press c again to start the county: the case goes up at once.")
    print("From another terminal: scripts/demo county stop, scripts/demo county start.   q or Ctrl-C quits.",
          flush=True)
    demo = Demo(cluster, agent, agent_url)
    pid_file = base / PID_NAME
    pid_file.write_text(str(os.getpid()))

    def on_signal(signum: int, _frame: object) -> None:
        if signum in (signal.SIGINT, signal.SIGTERM):
            demo.quit = True
        else:
            demo.wanted = "stop" if signum == signal.SIGUSR1 else "start"

    for sig in (signal.SIGINT, signal.SIGTERM, *SIGNALS.values()):
        signal.signal(sig, on_signal)
    try:
        demo.run()
    finally:
        pid_file.unlink(missing_ok=True)
        print("stopping …", flush=True)
        cluster.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
