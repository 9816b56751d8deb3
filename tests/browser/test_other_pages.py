"""Another web page attacking the township agent, in real Chromium against the real agent process: a page on another
origin (evil.example, served by its own HTTP server on loopback) posts cases with `fetch(..., {mode: "no-cors"})`
and a form, asks with JSON (preflight), reads, and frames the staff page; a DNS-rebinding page (rebind.example
resolving to 127.0.0.1) reads the API under its own name. Chromium's host resolver maps both names to 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import VALID_ID, launch_chromium, open_page
from tests.conftest import free_port

pytestmark = pytest.mark.browser

CASE = {"item_code": "GG-0003", "applicant_name": "扎西", "cert_type": "resident_id", "cert_no": VALID_ID,
        "phone": "13800000000", "channel": "window", "village_code": "513422100201"}

ATTACK_PAGE = """<!doctype html><meta charset="utf-8"><title>free movies</title>
<iframe name="sink" id="sink"></iframe><iframe id="framed"></iframe>
<form id="form" method="post" enctype="text/plain" target="sink"><input id="field"></form>
<script>
window.attack = async (agent, caseJson) => {
  const result = {simple: []};
  // The report's attack: a "simple" request needs no preflight, and no-cors hides the answer. The request goes out
  // either way; the agent's Cross-Origin-Resource-Policy also makes the browser reject the (opaque) answer.
  for (const init of [{headers: {"Content-Type": "text/plain"}, body: caseJson}, {body: caseJson},
                      {body: new Blob([caseJson])}, {}]) {
    const path = init.body ? "/api/cases" : "/api/sync";
    try {
      await fetch(agent + path, {method: "POST", mode: "no-cors", ...init});
      result.simple.push("opaque");
    } catch (e) { result.simple.push("rejected"); }
  }
  // JSON needs a preflight, which the agent never grants.
  try {
    await fetch(agent + "/api/cases", {method: "POST", headers: {"Content-Type": "application/json"}, body: caseJson});
    result.json = "sent";
  } catch (e) { result.json = "blocked"; }
  try { result.read = await (await fetch(agent + "/api/cases")).text(); } catch (e) { result.read = "blocked"; }
  return result;
};
window.postForm = (agent, caseJson) => new Promise((resolve) => {
  // enctype=text/plain sends name=value: the name carries the JSON, the value closes it.
  const form = document.getElementById("form"), field = document.getElementById("field");
  form.action = agent + "/api/cases";
  field.name = caseJson.slice(0, -1) + ', "x": "';
  field.value = '"}';
  document.getElementById("sink").onload = () => resolve("loaded");
  form.submit();
});
window.frameIt = (url) => new Promise((resolve) => {
  const frame = document.getElementById("framed");
  frame.onload = () => resolve("loaded");
  frame.src = url;
});
</script>"""


@pytest.fixture
def resolving_browser():
    """Chromium that resolves evil.example and rebind.example to 127.0.0.1, as DNS would for an attacker, and
    without its own guard against public pages reaching local addresses (Local Network Access), which other
    browsers and older Chromium lack: what stops the attack here is the agent."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, extra_args=[
            "--host-resolver-rules=MAP evil.example 127.0.0.1, MAP rebind.example 127.0.0.1",
            "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,"
            "PrivateNetworkAccessSendPreflights"])
        yield browser
        browser.close()


@pytest.fixture
def attacker(tmp_path: Path):
    """The attacker's site: a plain HTTP server of its own on loopback, serving the page above."""
    site = tmp_path / "evil"
    site.mkdir()
    (site / "index.html").write_text(ATTACK_PAGE, encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=site,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield f"http://evil.example:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def _cases(agent) -> list[dict]:
    with urllib.request.urlopen(f"{agent.url}/api/cases", timeout=10) as resp:
        return json.loads(resp.read())["cases"]


def _pending(agent) -> int:
    with urllib.request.urlopen(f"{agent.url}/api/status", timeout=10) as resp:
        return json.loads(resp.read())["pending"]


def test_a_page_on_another_origin_stores_nothing_with_no_cors_fetches_a_form_or_json(resolving_browser, attacker,
                                                                                       offline_agent):
    context = resolving_browser.new_context()
    page = context.new_page()
    page.goto(f"{attacker}/index.html")
    case_json = json.dumps(CASE, ensure_ascii=False)
    result = page.evaluate("([agent, body]) => window.attack(agent, body)", [offline_agent.url, case_json])
    assert page.evaluate("([agent, body]) => window.postForm(agent, body)", [offline_agent.url, case_json]) == "loaded"
    assert len(result["simple"]) == 4 and result["json"] == "blocked" and result["read"] == "blocked"
    assert _cases(offline_agent) == [] and _pending(offline_agent) == 0
    # The same request from the staff page itself (same origin, JSON) is stored: the attack's case was valid.
    own = context.new_page()
    open_page(own, offline_agent.url)
    status = own.evaluate("""async (body) => (await fetch("/api/cases", {method: "POST",
        headers: {"Content-Type": "application/json"}, body})).status""", case_json)
    assert status == 201 and len(_cases(offline_agent)) == 1 and _pending(offline_agent) == 1
    context.close()


def test_another_page_cannot_frame_the_staff_page(resolving_browser, attacker, offline_agent):
    page = resolving_browser.new_page()
    page.goto(f"{attacker}/index.html")
    page.evaluate("(url) => window.frameIt(url)", f"{offline_agent.url}/")
    page.wait_for_timeout(500)
    framed = [f for f in page.frames if f.parent_frame is not None and f.name != "sink"]
    assert framed, [f.url for f in page.frames]
    assert all(f.url != f"{offline_agent.url}/" or f.query_selector("body[data-ready=true]") is None for f in framed)
    assert all("办件" not in (f.content() if not f.is_detached() else "") for f in framed)
    page.close()


def test_a_rebinding_page_reads_nothing_under_its_own_name(resolving_browser, offline_agent):
    """The attacker's page is first served from the attacker's own address (here: fulfilled by the test, as the
    attacker's server would), then its name resolves to 127.0.0.1: its same-origin requests reach the agent."""
    req = urllib.request.Request(f"{offline_agent.url}/api/cases", data=json.dumps(CASE).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    port = offline_agent.url.rsplit(":", 1)[1]
    origin = f"http://rebind.example:{port}"
    page = resolving_browser.new_page()
    page.route(f"{origin}/", lambda route: route.fulfill(status=200, content_type="text/html",
                                                        body="<!doctype html><title>cats</title>"))
    page.goto(f"{origin}/")
    page.unroute(f"{origin}/")
    got = page.evaluate("""async () => {
        const out = [];
        for (const path of ["/api/cases", "/api/status", "/api/today", "/"]) {
          const r = await fetch(path); out.push({path, status: r.status, text: await r.text()});
        }
        const post = await fetch("/api/cases", {method: "POST", headers: {"Content-Type": "application/json"},
                                                body: "{}"});
        out.push({path: "POST", status: post.status, text: await post.text()});
        return out; }""")
    for answer in got:
        assert answer["status"] == 403 and json.loads(answer["text"])["code"] == "host_not_allowed", answer["path"]
        assert VALID_ID not in answer["text"] and "13800000000" not in answer["text"] and "扎西" not in answer["text"]
    assert len(_cases(offline_agent)) == 1
    page.close()
