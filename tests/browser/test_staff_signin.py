"""Staff sign-in in real Chromium with the real county and two PCs of a township: the lead set up on one PC's
command line adds a clerk, the clerk signs in at the other window, accepts a case, and the county stores the case's
events under the clerk's staff id."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from scripts.cluster import BIN, Cluster, http_json
from tests import database, postgres
from tests.browser.conftest import VALID_ID, expect_focus

pytestmark = pytest.mark.browser

TOWNSHIP = "513422100"
LEAD_PIN = "274915"
CLERK_PIN = "583920"


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster", storage=postgres.storage_section(tmp_path))
    yield c
    c.stop_all()


def as_staff(url: str, method: str, path: str, staff: tuple[str, str], body: object | None = None) -> tuple[int, dict]:
    auth = base64.b64encode(f"{staff[0]}:{staff[1]}".encode()).decode()
    request = urllib.request.Request(f"{url}{path}", method=method, data=None if body is None else
                                     json.dumps(body).encode(),
                                     headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_for(check, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("not in time")


def test_a_clerk_signs_in_at_another_window_and_the_county_knows_who_accepted_the_case(cluster, page):
    cluster.server.start()
    pc1, pc2 = cluster.add_agent("pc1", pc_no=1), cluster.add_agent("pc2", pc_no=2)
    subprocess.run([str(BIN / "township-agent"), "staff", "add", "--config", str(pc1.config), "--id", "L01",  # type: ignore[attr-defined]
                    "--name", "卓玛", "--lead", "--secret", LEAD_PIN], check=True, capture_output=True)
    pc1.start()
    pc2.start()
    url1, url2 = cluster.agent_url("pc1"), cluster.agent_url("pc2")
    # The lead signs in at pc1 and adds a clerk on the staff page; a guessable PIN is refused on its field.
    page.goto(f"{url1}/#/staff")
    page.fill("#signin-staff-id", "L01")
    page.fill("#signin-secret", LEAD_PIN)
    page.keyboard.press("Enter")
    page.wait_for_selector("#staff-add")
    page.fill("#s-staff_id", "C07")
    page.fill("#s-name", "扎西")
    page.fill("#s-secret", "123456")
    page.click("#staff-add button[type=submit]")
    expect(page.locator("#err-secret")).to_contain_text("太容易被猜到")
    page.fill("#s-secret", CLERK_PIN)
    page.click("#staff-add button[type=submit]")
    expect(page.locator(".staff-list tr[data-staff-id=C07]")).to_contain_text("办事员")
    # pc2 gets the township's list through the county at its next sync rounds.
    wait_for(lambda: as_staff(url2, "GET", "/api/cases", ("C07", CLERK_PIN))[0] == 200)

    page.goto(f"{url2}/#/today")
    page.wait_for_selector("#signin")
    assert page.get_attribute("body", "data-ready") is None  # the page waits for the sign-in
    expect(page.locator("#view")).not_to_contain_text("今日工作")  # nothing shown before the sign-in
    page.fill("#signin-staff-id", "C07")
    page.fill("#signin-secret", "000000")
    page.keyboard.press("Enter")
    expect(page.locator("#signin [role=alert]")).to_contain_text("工号或密码不对")
    page.fill("#signin-secret", CLERK_PIN)
    page.keyboard.press("Enter")
    expect(page.locator("#signed-in")).to_contain_text("扎西（C07）")
    page.wait_for_selector("body[data-ready=true]")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["staff_session"]["httpOnly"] and cookies["staff_session"]["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # the page's script cannot read it

    page.keyboard.press("Alt+KeyN")
    expect_focus(page, "#f-item")
    assert page.input_value("#f-staff") == "扎西" and page.get_attribute("#f-staff", "readonly") is not None
    page.keyboard.type("最低生活")
    page.wait_for_selector("#f-item-list li[aria-selected=true]")
    page.keyboard.press("Enter")
    page.fill("#f-name", "次仁拉姆")
    page.fill("#f-cert-no", VALID_ID)
    page.select_option("#f-village", f"{TOWNSHIP}201")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("[data-slot=saved]:not([hidden])")
    case_id = page.url.rsplit("/", 1)[-1]

    def county_events():
        with database.connect(cluster.server_config, readonly=True) as db:
            return db.execute("SELECT kind, staff_id FROM events WHERE case_id = ?", (case_id,)).fetchall()

    assert wait_for(county_events) == [("accepted", "C07")]
    # The county's case list (what the dashboard and its exports show) names the clerk.
    code, listed = http_json("GET", f"{cluster.server_url}/api/v1/cases?figure=accepted&org={TOWNSHIP}",
                             token=cluster.admin_token)
    assert code == 200, listed
    assert [r["staff"] for r in listed["rows"] if r["case_id"] == case_id] == ["扎西（C07）"]
    # Signing out ends the session: the page asks again.
    page.click("#sign-out")
    page.wait_for_selector("#signin")
