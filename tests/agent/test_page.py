"""The staff page is served from the package, fetches nothing from outside, and takes every word from the catalogs."""

from __future__ import annotations

import json
import re

from agent.cases import ACTIONS
from agent.http.page import LANGUAGES, WEB
from agent.today import Flag
from ops.fonts import FONTS_DIR
from protocol.certificates import CERT_TYPES, MESSAGES
from protocol.corrections import CORRECTABLE, DERIVED
from protocol.vocabulary import CaseState, Channel, EventKind, Result
from tests.agent.desk import running_agent

CATALOGS = {lang: json.loads((WEB / "messages" / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}
SOURCES = sorted([*WEB.glob("*.html"), *WEB.glob("static/**/*.js"), *WEB.glob("static/*.css")])
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
COMMENT = re.compile(r"/\*.*?\*/|<!--.*?-->|(?<![:\"'])//[^\n]*", re.DOTALL)  # Chinese terms may be named there
OUTBOX_STATUSES = ("pending", "synced", "quarantined", "dismissed", "resent", "county")  # county: pulled


def keys_used() -> set[str]:
    """Every quoted "prefix.name" in the sources whose prefix is a catalog section, plus data-i18n attributes."""
    sections = "|".join(sorted({k.split(".")[0] for k in CATALOGS["en"]}))
    literal = re.compile(rf"""["'`]((?:{sections})\.[a-z_][a-z_.0-9]*)["'`]""")
    found: set[str] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([a-z_.0-9]+)"', text))
        found |= set(literal.findall(text))
    return found


def test_both_catalogs_have_the_same_keys_and_no_empty_message():
    zh, en = CATALOGS["zh-CN"], CATALOGS["en"]
    assert set(zh) == set(en)
    assert [k for k, v in {**zh, **en}.items() if not v.strip()] == []


def test_every_key_the_page_uses_is_in_the_catalog():
    # certificates.js returns protocol message keys ("resident_id.length"); the page shows them as "cert.<key>".
    assert sorted(k for k in keys_used() - set(CATALOGS["en"]) if f"cert.{k}" not in CATALOGS["en"]) == []


def test_every_value_the_page_turns_into_a_key_has_a_message():
    """Keys built at run time, like `state.${c.state}`, from the protocol's own vocabularies."""
    expected = {f"state.{s}" for s in CaseState} | {f"channel.{c}" for c in Channel}
    expected |= {f"kind.{k}" for k in EventKind} | {f"result.{r}" for r in Result}
    expected |= {f"rating.{n}" for n in range(1, 6)} | {f"cert_type.{c}" for c in CERT_TYPES}
    expected |= {f"flag.{f}" for f in Flag} | {f"upload.{s}" for s in OUTBOX_STATUSES}
    # The agent's own changes of open cases (`updated`) are made through the API, not offered on the page; staff
    # correct a case with `corrected` (更正), every field of it labelled.
    expected |= {f"action.{a}" for a in ACTIONS - {EventKind.UPDATED}} | {f"cert.{k}" for k in MESSAGES}
    expected |= {"action.corrected"} | {f"correct.field.{f}" for f in (*CORRECTABLE, *DERIVED)}
    assert sorted(expected - set(CATALOGS["zh-CN"])) == []


def test_certificate_messages_in_the_page_are_the_servers_own():
    """The page checks check digits while typing; it must say exactly what the API says on save."""
    assert {k: CATALOGS["zh-CN"][f"cert.{k}"] for k in MESSAGES} == MESSAGES


def test_no_text_is_hard_coded_in_templates_scripts_or_styles():
    with_text = [p for p in SOURCES if HAN.search(COMMENT.sub("", p.read_text(encoding="utf-8")))]
    assert [str(p.relative_to(WEB)) for p in with_text] == []


def test_no_asset_comes_from_outside_the_agent():
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", text), path
        assert not re.search(r"""(?:import|fetch)\s*\(?\s*["'`]https?://""", text), path
        assert "@import url(http" not in text, path


async def test_the_page_and_its_assets_are_served_with_a_strict_content_security_policy(tmp_path):
    async with running_agent(tmp_path) as client:
        page = await client.get("/")
        html = await page.text()
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
        statuses = {a: (await client.get(a)).status for a in assets}
        module_imports = set()
        for script in WEB.glob("static/**/*.js"):
            module_imports |= set(re.findall(r'from "\.\.?/([^"]+)"', script.read_text(encoding="utf-8")))
        catalogs = {lang: (await client.get(f"/messages/{lang}.json")).status for lang in LANGUAGES}
        receipt = await client.get("/print/receipt/00000000-0000-7000-8000-000000000000")
        other = await client.get("/print/invoice/00000000-0000-7000-8000-000000000000")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert assets and set(statuses.values()) == {200}, statuses
    assert all((WEB / "static" / name).exists() or (WEB / "static" / "views" / name).exists()
               for name in module_imports), module_imports
    assert set(catalogs.values()) == {200}
    assert receipt.status == 200 and other.status == 404


async def test_the_fonts_for_tibetan_and_emoji_come_with_the_agent_with_their_licence(tmp_path):
    css = (FONTS_DIR / "fonts.css").read_text(encoding="utf-8")
    files = re.findall(r"url\(([^)]+)\)", css)
    assert "noto-serif-tibetan.woff2" in files and len(files) == 12
    # Each face covers its own script only: no digit or Latin letter is ever drawn in them.
    assert all(int(r.split("-")[0], 16) >= 0x0F00 for r in re.findall(r"U\+([0-9a-fA-F-]+)", css))
    assert "SIL Open Font License" in (FONTS_DIR / "OFL.txt").read_text(encoding="utf-8")
    async with running_agent(tmp_path) as client:
        sheet = await client.get("/fonts/fonts.css")
        served = {name: await client.get(f"/fonts/{name}") for name in files}
        print_page = await (await client.get("/print/result/00000000-0000-7000-8000-000000000000")).text()
    assert sheet.status == 200 and sheet.headers["Content-Type"].startswith("text/css")
    assert {(r.status, r.headers["Content-Type"]) for r in served.values()} == {(200, "font/woff2")}
    assert '<link rel="stylesheet" href="/fonts/fonts.css">' in print_page
