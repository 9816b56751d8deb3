"""Schema and documents: migrations, the rollup columns, the OpenAPI document, the reference response."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from protocol.messages import ReferenceResponse
from server.http.openapi import build_openapi
from server.model.rollups import (
    KEY_COLUMNS,
    METRICS,
    MONTH,
    MONTH_CHANNEL,
    RESIDENCE_DAILY,
    RESIDENCE_MONTH,
    RESIDENCE_MONTH_CHANNEL,
)
from server.storage.sqlite import store as sqlite_store
from server.storage.sqlite.store import SqliteStore
from tests.server.helpers import QIAOWA, CountyServer, TownshipAgent

MIGRATIONS = Path(sqlite_store.__file__).parent / "migrations"


async def test_migrations_are_applied_once_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "county.sqlite3"
    for _ in range(2):
        store = SqliteStore(path)
        await store.open()
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version, name FROM schema_migrations").fetchall() == [
            (1, "0001_init"), (2, "0002_dashboard"), (3, "0003_unit_tables"), (10, "0010_causal"),
            (20, "0020_quotas_and_revocation")] + [  # and every later one, each once, in number order
            (int(p.stem[:4]), p.stem) for p in sorted(MIGRATIONS.glob("*.sql")) if int(p.stem[:4]) > 20]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        columns = [r[1] for r in db.execute("PRAGMA table_info(rollups)")]
        month_columns = [r[1] for r in db.execute("PRAGMA table_info(rollups_month)")]
        channel_columns = [r[1] for r in db.execute("PRAGMA table_info(rollups_month_channel)")]
        for grain in (RESIDENCE_DAILY, RESIDENCE_MONTH, RESIDENCE_MONTH_CHANNEL):
            assert [r[1] for r in db.execute(f"PRAGMA table_info({grain.name})")] == [*grain.key_columns, *METRICS]
    assert columns == [*KEY_COLUMNS, *METRICS]  # the metric list is declared once, in server.model.rollups
    assert month_columns == [*MONTH.key_columns, *METRICS]
    assert channel_columns == [*MONTH_CHANNEL.key_columns, *METRICS]


async def test_the_openapi_document_describes_every_route_and_method(county_server: CountyServer) -> None:
    doc = build_openapi()
    assert doc["openapi"].startswith("3.1")
    routes = [(r.resource.canonical, r.method.lower()) for r in county_server.app.router.routes()
              if r.resource is not None]
    # aiohttp answers HEAD beside every GET; a HEAD of its own (the upload's offset) is documented.
    served = {(path, method) for path, method in routes if method != "head" or (path, "get") not in routes}
    assert {(path, method) for path, ops in doc["paths"].items() for method in ops} == served
    for name in ("PushRequest", "PushResponse", "ErrorBody", "ReferenceResponse", "StatsResponse", "Event",
                 "AcceptedData"):
        assert name in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["PushRequest"]["properties"]["events"]["items"] == {
        "$ref": "#/components/schemas/Event"}


async def test_openapi_is_served(county_server: CountyServer) -> None:
    status, body = await county_server.get("/api/v1/openapi.json", token=None)
    assert status == 200
    assert body == msgspec.json.decode(msgspec.json.encode(build_openapi()))


async def test_the_reference_holds_the_township_its_villages_the_catalog_and_the_calendar(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    status, body = await county_server.get("/api/v1/reference", token=qiaowa.token)
    assert status == 200
    ref = msgspec.convert(body, ReferenceResponse)
    assert (ref.township.code, ref.township.name) == (QIAOWA + "000", "乔瓦镇")
    assert [u.code for u in ref.org_units] == [QIAOWA + c for c in ("001", "002", "201", "202")]
    assert len(ref.items) == 32 and {i.category for i in ref.items} == {"行政许可", "公共服务", "其他"}
    assert any(i.promised_days == 0 for i in ref.items)
    assert ref.calendar is not None and ref.calendar["first_year"] <= 2026 <= ref.calendar["last_year"]
    again = msgspec.convert((await county_server.get("/api/v1/reference", token=qiaowa.token))[1],
                            ReferenceResponse)
    assert again.version == ref.version
    other = await county_server.add_agent("513422204")
    theirs = msgspec.convert((await county_server.get("/api/v1/reference", token=other.token))[1],
                             ReferenceResponse)
    assert theirs.version != ref.version and theirs.township.name == "俄亚纳西族乡"
