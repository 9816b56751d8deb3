"""Browser fixtures: the real agent as a process on a loopback port, and real headless Chromium through Playwright.

Chromium is Debian's (`/usr/bin/chromium`); Playwright never downloads one. Without it the tests skip on a developer
machine and fail under CI=true, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest

from agent.store import AgentStore
from protocol.messages import OrgUnit, ReferenceResponse, ServiceItem
from scripts.cluster import Cluster
from server.model.calendar import package_calendar
from server.model.pinyin import initials_of
from server.model.reference import load_catalog
from tests import postgres
from tests.conftest import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TOWNSHIP = "513422100"
TOKEN = f"{TOWNSHIP}-browser.secret-secret-secret"
BIN = Path(sys.executable).parent
VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example
WRONG_CHECK_DIGIT_ID = "110105194912310021"

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

_ITEMS = [  # a few township items as the county catalog lists them: (code, name, category, promised working days)
    ("GG-0001", "城乡居民基本养老保险参保登记", "公共服务", 0),
    ("GG-0003", "城乡居民养老保险待遇申领", "公共服务", 5),
    ("GG-0004", "最低生活保障申请", "公共服务", 10),
    ("GG-0006", "临时救助申请", "公共服务", 5),
    ("GG-0009", "高龄津贴申请", "公共服务", 5),
    ("GG-0012", "就业创业证申领", "公共服务", 3),
    ("GG-0014", "农村危房改造申请", "公共服务", 10),
    ("XK-0002", "农村村民宅基地用地审批", "行政许可", 10),
    ("XK-0004", "食品小经营店登记", "行政许可", 5),
    ("QT-0003", "森林草原防火期野外用火审批", "其他", 1),
    ("QT-0005", "人民调解申请", "其他", 30),
]
_VILLAGES = [("001", "城北社区"), ("002", "城南社区"), ("201", "锄头湾村"), ("202", "项脚村")]


CENTRE_PHONE = "0834-6601001"


def sample_reference() -> ReferenceResponse:
    """乔瓦镇 of 木里藏族自治县 with the national working calendar as `chinesecalendar` knows it; the items' aliases and
    supplement days from the sample catalog, with their pinyin initials as the county sends them."""
    catalog = load_catalog(Path(__file__).resolve().parents[2] / "config" / "catalog.csv")
    return ReferenceResponse(
        version="browser-1",
        township=OrgUnit(code=f"{TOWNSHIP}000", name="乔瓦镇", level="township", parent="513422000000", kind="centre",
                         phone=CENTRE_PHONE),
        org_units=[OrgUnit(code=f"{TOWNSHIP}{n}", name=name, level="village", parent=f"{TOWNSHIP}000", kind="station")
                   for n, name in _VILLAGES],
        items=[ServiceItem(code=c, name=n, category=cat, promised_days=d, aliases=catalog[c].aliases,
                           supplement_days=catalog[c].supplement_days, initials=initials_of([n, *catalog[c].aliases]))
               for c, n, cat, d in _ITEMS],
        calendar=package_calendar().to_json(),
    )


def write_agent_config(directory: Path, port: int, county_url: str, token: str = TOKEN) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "agent.toml"
    config.write_text(
        f'[agent]\nport = {port}\ndatabase = "agent.sqlite3"\n\n'
        f'[county]\nurl = "{county_url}"\ntoken = "{token}"\ntimeout_s = 2.0\n\n'
        "[sync]\ninterval_s = 2.0\nearly_delay_s = 0.2\nattempts = 1\nbackoff_initial_s = 0.05\nbackoff_max_s = 0.1\n",
        encoding="utf-8",
    )
    return config


def seed_reference(database: Path, reference: ReferenceResponse) -> None:
    """What the agent would have pulled from the county before the link went down."""

    async def go() -> None:
        store = await AgentStore.open(database)
        try:
            await store.save_reference(reference.version, msgspec.json.encode(reference))
        finally:
            await store.close()

    # A thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result()


class AgentProcess:
    """`township-agent run` in a subprocess; `url` is its page."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.url = f"http://127.0.0.1:{port}"
        self.log = config.parent / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([str(BIN / "township-agent"), "run", "--config", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"agent at {self.url} did not answer within {timeout_s}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def start_agent(directory: Path, county_url: str, reference: ReferenceResponse | None = None) -> AgentProcess:
    port = free_port()
    config = write_agent_config(directory, port, county_url)
    if reference is not None:
        seed_reference(directory / "agent.sqlite3", reference)
    agent = AgentProcess(config, port)
    agent.start()
    return agent


@pytest.fixture
def offline_agent(tmp_path: Path) -> Iterator[AgentProcess]:
    """The agent with the county's reference data already pulled, and the county server down (nothing listens)."""
    agent = start_agent(tmp_path / "agent", f"http://127.0.0.1:{free_port()}", sample_reference())
    yield agent
    agent.stop()


def launch_chromium(playwright, extra_args: list[str] | None = None):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *(extra_args or [])])


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def cluster(tmp_path):
    """A county server and township agents as real processes (`scripts.cluster`), stopped after the test."""
    c = Cluster(tmp_path / "cluster", storage=postgres.storage_section(tmp_path))
    yield c
    c.stop_all()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def open_page(page, base_url: str, path: str = "/") -> None:
    """Load a page of the agent and wait until its script has rendered it."""
    page.goto(f"{base_url}{path}")
    page.wait_for_selector("body[data-ready=true]")
    page.bring_to_front()


def expect_focus(page, selector: str) -> None:
    """Wait until `selector` is the page's focused element. Playwright's `to_be_focused` also wants
    `document.hasFocus()`, which a headless window may lose to another one at any time; the keys Playwright types
    go to `document.activeElement` either way, so that is what counts here."""
    page.wait_for_function("s => document.activeElement !== null && document.activeElement.matches(s)", arg=selector,
                           timeout=5_000)


def act(page, action: str, *keys: str) -> None:
    """On a case's page: open the action's form with Enter, fill it from the keyboard, save with Ctrl+Enter, and
    wait for the event to appear in the case's history. `keys` are typed, except Tab, Space and ArrowDown."""
    from playwright.sync_api import expect

    # A case always has its 受理 in the history: wait for the rows, or a page just opened counts 0 and never sees +1.
    page.wait_for_selector("[data-slot=history] tbody tr")
    events = page.locator("[data-slot=history] tbody tr").count()
    page.focus(f"[data-action={action}]")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"form[data-kind={action}]")
    for key in keys:
        if key in ("Tab", "Space", "ArrowDown"):
            page.keyboard.press(key)
        else:
            page.keyboard.type(key)
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-slot=history] tbody tr")).to_have_count(events + 1, timeout=10_000)


def enter_case(page, name: str = "扎西卓玛", village: str | None = None) -> None:
    """On the staff page: a new 最低生活保障申请 case typed from the keyboard and saved (Ctrl+Enter)."""
    page.keyboard.press("Alt+KeyN")
    expect_focus(page, "#f-item")
    page.keyboard.type("最低生活")
    page.wait_for_selector("#f-item-list li[aria-selected=true]")
    page.keyboard.press("Enter")
    page.fill("#f-name", name)
    page.fill("#f-cert-no", VALID_ID)
    if village is not None:
        page.select_option("#f-village", village)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("[data-slot=saved]:not([hidden])")
