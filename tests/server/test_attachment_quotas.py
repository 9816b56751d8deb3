"""Per-file size and per-PC quota of attachments on the county, from its config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.materials import sized_png
from tests.server.helpers import CountyServer, TownshipAgent, config_text
from tests.server.test_attachment_upload import case_of, offer, offer_of


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(config_text(tables="[attachments]\nmax_file_bytes = 100000\nquota_bytes_per_agent = 150000\n",
                                where=tmp_path), encoding="utf-8")
    return path


async def test_the_file_size_and_the_pcs_quota_come_from_config(county_server: CountyServer,
                                                                 qiaowa: TownshipAgent) -> None:
    case_id = await case_of(county_server, qiaowa)
    status, body = await offer(county_server, qiaowa, offer_of(case_id, sized_png(120_000)))
    assert status == 413 and body["code"] == "attachment_too_large"
    first, second = sized_png(80_000), sized_png(80_000)
    assert (await offer(county_server, qiaowa, offer_of(case_id, first)))[0] == 200
    status, body = await offer(county_server, qiaowa, offer_of(case_id, second))
    assert status == 429 and body["code"] == "attachment_quota"
    # Offering the same file again is not counted twice.
    assert (await offer(county_server, qiaowa, offer_of(case_id, first)))[0] == 200
