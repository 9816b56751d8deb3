"""Scanned materials in real Chromium: staff attach a scan by the file picker and a PDF by drag and drop while the
county is down; the receipt prints the materials list; the county comes back and the link cuts the upload twice at
random bytes; the county ends with the identical files (same sha256) and the dashboard shows them. A page of
another origin cannot attach anything; a webcam's photo is attached as a JPEG."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from server.storage.files import attachments_dir
from tests.browser.conftest import VALID_ID, launch_chromium, open_page
from tests.browser.county import add_account, log_in, visit
from tests.browser.test_offline_page import api
from tests.e2e.conftest import accept
from tests.e2e.link import SlowLink
from tests.materials import pdf, sized_png

pytestmark = pytest.mark.browser

TOWNSHIP = "513422100"


def drop_file(page, selector: str, name: str, body: bytes, mime: str) -> None:
    """A file dragged from the desktop onto `selector`: a DataTransfer holding it, and the drop events."""
    transfer = page.evaluate_handle(
        """([name, bytes, mime]) => { const dt = new DataTransfer();
             dt.items.add(new File([new Uint8Array(bytes)], name, { type: mime })); return dt; }""",
        [name, list(body), mime])
    page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def wait_uploaded(agent_url: str, case_id: str, n: int, timeout_s: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{agent_url}/api/cases/{case_id}/attachments", timeout=5) as resp:
            found = json.loads(resp.read())["attachments"]
        if len(found) == n and all(a["upload_state"] == "uploaded" for a in found):
            return found
        time.sleep(0.5)
    raise AssertionError(f"not uploaded within {timeout_s} s: {found}")


def test_a_scan_attached_offline_reaches_the_county_whole_through_a_link_that_cuts_it_twice(
        cluster, page, tmp_path: Path, request):
    cluster.server.start()
    add_account(cluster)
    link = SlowLink(cluster.server_port)
    request.addfinalizer(link.close)
    agent = cluster.add_agent("pc1", county_url=link.url)
    agent.config.write_text(agent.config.read_text() + "[attachments]\nchunk_bytes = 65536\n")  # several chunks
    agent.start()
    url = cluster.agent_url("pc1")
    open_page(page, url, "/#/today")
    expect(page.locator("#sync-indicator")).to_have_attribute("data-state", "online", timeout=20_000)

    cluster.server.stop()
    case = accept(url)
    open_page(page, url, f"/#/case/{case['case_id']}")
    expect(page.locator("#sync-indicator")).to_have_attribute("data-state", "offline", timeout=20_000)
    scan = sized_png(600_000)
    scan_path = tmp_path / "身份证正反面.png"
    scan_path.write_bytes(scan)
    page.set_input_files("[data-slot=file]", str(scan_path))  # the file picker
    expect(page.locator(".materials .material")).to_have_count(1)
    expect(page.locator("[data-slot=materials-status].ok")).to_contain_text("已保存 1 份材料到本机")
    letter = pdf("hukou")
    drop_file(page, "[data-slot=dropzone]", "户口簿.pdf", letter, "application/pdf")
    expect(page.locator(".materials .material")).to_have_count(2)
    expect(page.locator(".materials img.thumb")).to_have_count(1)
    expect(page.locator(".materials [data-state=pending]")).to_have_count(2)
    expect(page.locator("#sync-pending")).to_contain_text("材料待上传 2 份", timeout=20_000)
    # A program with a picture's name is refused, in Chinese, and not listed.
    exe = tmp_path / "照片.jpg"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 500)
    page.set_input_files("[data-slot=file]", str(exe))
    expect(page.locator("[data-slot=materials-status].error")).to_contain_text("文件类型不对")
    expect(page.locator(".materials .material")).to_have_count(2)

    receipt = page.context.new_page()
    open_page(receipt, url, f"/print/receipt/{case['case_id']}")
    expect(receipt.locator("#sheet-materials li")).to_have_count(2)
    expect(receipt.locator("#sheet-materials")).to_contain_text("身份证正反面.png")
    expect(receipt.locator("#sheet-materials")).to_contain_text("户口簿.pdf")
    receipt.screenshot(path=str(tmp_path / "receipt.png"))
    receipt.close()

    link.cuts = sorted(random.Random().sample(range(1, len(scan) + len(letter)), 2))
    cluster.server.start()
    found = wait_uploaded(url, case["case_id"], 2)
    assert link.cut_count == 2, link.cuts
    blobs = attachments_dir(cluster.base / "county.sqlite3") / "blobs"
    for body in (scan, letter):
        sha = hashlib.sha256(body).hexdigest()
        assert hashlib.sha256((blobs / sha[:2] / sha).read_bytes()).hexdigest() == sha
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator(".materials [data-state=uploaded]")).to_have_count(2)
    expect(page.locator("#sync-pending")).to_have_text("已全部上传", timeout=20_000)

    dashboard = page.context.new_page()
    log_in(dashboard, cluster.server_url)
    visit(dashboard, cluster.server_url, f"#/cases?figure=accepted&org={TOWNSHIP}")
    dashboard.locator(f"a[href*='case_id={case['case_id']}']").click()
    dashboard.wait_for_selector("body[data-ready=true] #case-materials")
    expect(dashboard.locator("#case-materials .material")).to_have_count(2)
    expect(dashboard.locator("#case-materials img.thumb")).to_have_count(1)
    expect(dashboard.locator("#case-materials")).to_contain_text("户口簿.pdf")
    dashboard.wait_for_function("() => [...document.querySelectorAll('#case-materials img')].every(i => i.complete "
                                "&& i.naturalWidth > 0)")
    src = dashboard.get_attribute("#case-materials img.thumb", "src")
    shown = dashboard.request.get(f"{cluster.server_url}{src}")
    assert shown.status == 200 and hashlib.sha256(shown.body()).hexdigest() == hashlib.sha256(scan).hexdigest()
    assert shown.headers["x-content-type-options"] == "nosniff"
    # The case's own page (办件详情) shows the same section.
    visit(dashboard, cluster.server_url, f"#/case/{case['case_id']}")
    dashboard.wait_for_selector("#case-history")
    expect(dashboard.locator("#case-materials .material")).to_have_count(2)
    expect(dashboard.locator("#case-materials [data-stored=true]")).to_have_count(2)
    assert {a["sha256"] for a in found} == {hashlib.sha256(b).hexdigest() for b in (scan, letter)}


class _EvilPage(BaseHTTPRequestHandler):
    """A page of another origin that tries every way a page can send a file to the agent without asking."""

    target = ""

    def do_GET(self):
        case_url = self.target
        body = f"""<!doctype html><meta charset=utf-8><body><script>
        const png = new Uint8Array([0x89,0x50,0x4e,0x47,0x0d,0x0a,0x1a,0x0a,0,0,0,0,0,0,0,0,1,2,3]);
        const results = {{}};
        async function tryIt(name, init) {{
          try {{ const r = await fetch("{case_url}", init); results[name] = r.status; }}
          catch (e) {{ results[name] = "blocked"; }}
        }}
        (async () => {{
          await tryIt("with_header", {{ method: "POST", body: png,
            headers: {{ "Content-Type": "application/octet-stream", "X-Desk-Upload": "1" }} }});
          await tryIt("no_cors", {{ method: "POST", mode: "no-cors", body: png,
            headers: {{ "Content-Type": "text/plain", "X-Desk-Upload": "1" }} }});
          const form = new FormData(); form.append("file", new Blob([png], {{ type: "image/png" }}), "a.png");
          await tryIt("form", {{ method: "POST", mode: "no-cors", body: form }});
          document.body.dataset.done = JSON.stringify(results);
        }})();
        </script>"""
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_page_of_another_origin_cannot_attach_a_file(page, offline_agent):
    case = api(offline_agent, "POST", "/api/cases", {"item_code": "GG-0004", "applicant_name": "扎西",
                                                     "cert_type": "resident_id", "cert_no": VALID_ID})
    target = f"{offline_agent.url}/api/cases/{case['case_id']}/attachments"
    handler = type("Evil", (_EvilPage,), {"target": target})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.wait_for_selector("body[data-done]", state="attached")
        results = json.loads(page.get_attribute("body", "data-done"))
    finally:
        server.shutdown()
        server.server_close()
    # The custom header needs a preflight the agent never grants: the browser does not send it at all. The others
    # go without the header (no-cors drops it) or as a form: the agent refuses them, and its
    # Cross-Origin-Resource-Policy keeps even the refusal from the page.
    assert results == {"with_header": "blocked", "no_cors": "blocked", "form": "blocked"}
    assert api(offline_agent, "GET", f"/api/cases/{case['case_id']}/attachments")["attachments"] == []


def test_a_photo_taken_with_the_webcam_is_attached_as_a_jpeg(offline_agent):
    """Chromium's fake camera stands in for a document camera: 用摄像头拍, then 拍下."""
    case = api(offline_agent, "POST", "/api/cases", {"item_code": "GG-0004", "applicant_name": "扎西",
                                                     "cert_type": "resident_id", "cert_no": VALID_ID})
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, ["--use-fake-device-for-media-stream",
                                               "--use-fake-ui-for-media-stream"])
        try:
            context = browser.new_context(locale="zh-CN")
            context.grant_permissions(["camera"], origin=offline_agent.url)
            page = context.new_page()
            open_page(page, offline_agent.url, f"/#/case/{case['case_id']}")
            page.get_by_role("button", name="用摄像头拍").click()
            page.wait_for_function("() => { const v = document.querySelector('video.webcam'); "
                                   "return v && v.videoWidth > 0; }")
            page.get_by_role("button", name="拍下").click()
            expect(page.locator(".materials .material")).to_have_count(1)
            expect(page.locator("video.webcam")).to_have_count(0)  # the camera is let go
        finally:
            browser.close()
    [photo] = api(offline_agent, "GET", f"/api/cases/{case['case_id']}/attachments")["attachments"]
    assert photo["media_type"] == "image/jpeg" and photo["name"] == "photo.jpg" and photo["size_bytes"] > 1000
