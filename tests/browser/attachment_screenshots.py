"""Take the screenshots of scanned materials in docs/screenshots/ (a script, not a test): the case page's 申请材料
on the PC, the receipt's 材料清单, and the dashboard's materials of the case, with a real county and agent.

    .venv/bin/python -m tests.browser.attachment_screenshots [--out docs/screenshots]

The "scans" are drawn in the page itself (a canvas with an ID card and a household register's page), so they carry
real Chinese text and no file of anyone's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from scripts.cluster import Cluster
from tests.browser.conftest import launch_chromium
from tests.browser.county import add_account, log_in, visit
from tests.browser.test_attachment_pages import wait_uploaded
from tests.e2e.conftest import accept

DRAW = """async ([caseId, title, lines, w, h, name]) => {
  const c = document.createElement("canvas"); c.width = w; c.height = h;
  const g = c.getContext("2d");
  g.fillStyle = "#f7f3e8"; g.fillRect(0, 0, w, h);
  g.strokeStyle = "#7a6a4f"; g.lineWidth = 6; g.strokeRect(20, 20, w - 40, h - 40);
  g.fillStyle = "#222"; g.font = "bold 56px sans-serif"; g.fillText(title, 60, 120);
  g.font = "36px sans-serif";
  lines.forEach((line, i) => g.fillText(line, 60, 200 + i * 60));
  const blob = await new Promise((ok) => c.toBlob(ok, "image/jpeg", 0.85));
  const r = await fetch(`/api/cases/${caseId}/attachments`, { method: "POST", body: blob, headers: {
    "Content-Type": "application/octet-stream", "X-Desk-Upload": "1", "X-File-Name": encodeURIComponent(name) } });
  return r.status;
}"""


SCANS = [  # title, lines, width, height, file name
    ("居民身份证", ["姓名  扎西卓玛", "性别  女    民族  藏", "出生  1949年12月31日",
                "住址  四川省木里藏族自治县乔瓦镇锄头湾村", "公民身份号码  11010519491231002X"], 1000, 630,
     "身份证正面.jpg"),
    ("常住人口登记卡", ["户主姓名  扎西", "与户主关系  妻", "籍贯  四川木里", "登记日期  2019年3月2日"], 900, 1200,
     "户口簿本人页.jpg"),
]


def take(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp) / "cluster")
        try:
            cluster.server.start()
            add_account(cluster)
            cluster.add_agent("pc1").start()
            url = cluster.agent_url("pc1")
            time.sleep(2)  # the first round pulls the catalog
            case = accept(url)
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
                page.goto(f"{url}/#/case/{case['case_id']}")
                page.wait_for_selector("body[data-ready=true]")
                for args in SCANS:
                    assert page.evaluate(DRAW, [case["case_id"], *args]) == 201
                page.reload()
                page.wait_for_selector("body[data-ready=true] .materials .material")
                wait_uploaded(url, case["case_id"], 2, timeout_s=60)
                page.reload()
                page.wait_for_selector("body[data-ready=true] .materials [data-state=uploaded]")
                page.locator("[data-slot=materials]").screenshot(path=str(out / "case-materials.png"))
                page.goto(f"{url}/print/receipt/{case['case_id']}")
                page.wait_for_selector("body[data-ready=true]")
                page.screenshot(path=str(out / "receipt-materials.png"), full_page=True)
                dash = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000}).new_page()
                log_in(dash, cluster.server_url)
                visit(dash, cluster.server_url, f"#/case/{case['case_id']}")
                dash.wait_for_function("() => [...document.querySelectorAll('#case-materials img')].length === 2 && "
                                       "[...document.querySelectorAll('#case-materials img')].every(i => i.complete)")
                dash.screenshot(path=str(out / "dashboard-materials.png"))
                browser.close()
        finally:
            cluster.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    take(parser.parse_args().out)


if __name__ == "__main__":
    main()
