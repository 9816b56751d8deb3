"""Reference files with their optional columns (aliases, supplement days, phones), and the pinyin initials the county
sends PCs for the item search."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from protocol.messages import ReferenceResponse
from server.errors import ConfigError
from server.model.pinyin import initials, initials_of
from server.model.reference import load_catalog, load_org_units
from tests.server.helpers import QIAOWA, REPO, CountyServer, TownshipAgent

HEADER = "code,name,category,promised_days,legal_days,is_online,is_one_trip"


def _catalog(tmp_path: Path, header: str, *rows: str) -> Path:
    path = tmp_path / "catalog.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_initials_take_the_first_letter_of_each_reading_and_read_polyphonic_characters_in_their_phrase() -> None:
    assert initials("最低生活保障申请") == "zdshbzsq"
    assert initials("低保") == "db"
    assert initials("银行卡复印件") == "yhkfyj"  # 行 as hang, not xing
    assert initials("重度残疾人护理补贴") == "zdcjrhlbt"  # 重 as zhong
    assert initials("个体工商户设立登记(委托受理)") == "gtgshsldjwtsl"
    assert initials("GG-0003 养老") == "gg0003yl"
    assert initials_of(["最低生活保障申请", "低保", "(?)"]) == ["zdshbzsq", "db", ""]


def test_the_sample_catalog_has_aliases_and_supplement_days_for_every_item() -> None:
    items = load_catalog(REPO / "config" / "catalog.csv")
    assert items["GG-0004"].aliases == ["低保"]
    assert items["GG-0014"].aliases == ["危房改造", "危改"]
    assert all(i.aliases and i.supplement_days for i in items.values())


def test_a_catalog_with_only_the_required_columns_still_loads(tmp_path: Path) -> None:
    items = load_catalog(_catalog(tmp_path, HEADER, "GG-0004,最低生活保障申请,公共服务,10,30,0,1"))
    assert items["GG-0004"].aliases == [] and items["GG-0004"].supplement_days is None


def test_optional_catalog_columns_may_come_in_any_order(tmp_path: Path) -> None:
    items = load_catalog(_catalog(tmp_path, HEADER + ",aliases,supplement_days",
                                  "GG-0004,最低生活保障申请,公共服务,10,30,0,1, 低保 | 低保金 ,7"))
    assert (items["GG-0004"].aliases, items["GG-0004"].supplement_days) == (["低保", "低保金"], 7)


@pytest.mark.parametrize(("header", "row", "says"), [
    (HEADER + ",nickname", "GG-0004,最低生活保障申请,公共服务,10,30,0,1,低保", "then any of supplement_days,aliases"),
    (HEADER + ",aliases,aliases", "GG-0004,最低生活保障申请,公共服务,10,30,0,1,低保,低保", "the header must be"),
    (HEADER + ",supplement_days", "GG-0004,最低生活保障申请,公共服务,10,30,0,1,five", "must be whole working days"),
    (HEADER + ",supplement_days", "GG-0004,最低生活保障申请,公共服务,10,30,0,1,0", "supplement_days must be 1 to 365"),
])
def test_a_bad_optional_catalog_column_stops_start_up_naming_what_to_fix(tmp_path: Path, header: str, row: str,
                                                                          says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_catalog(_catalog(tmp_path, header, row))


def test_org_units_carry_the_centres_phone_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    units = load_org_units(REPO / "config" / "org_units.csv")
    assert units[QIAOWA + "000"].phone == "0834-6601001"
    assert units[QIAOWA + "201"].phone is None
    text = (REPO / "config" / "org_units.csv").read_text(encoding="utf-8").replace("0834-6601001", "6601001")
    (tmp_path / "org.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"org.csv:\d+: phone '6601001'"):
        load_org_units(tmp_path / "org.csv")


class _OlderItem(msgspec.Struct):
    """A service item as an agent before aliases decodes it."""

    code: str
    name: str
    category: str
    promised_days: int


class _OlderReference(msgspec.Struct):
    version: str
    items: list[_OlderItem]


async def test_pcs_get_aliases_initials_and_phone_and_an_older_agent_still_decodes_the_reference(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    status, body = await county_server.get("/api/v1/reference", token=qiaowa.token)
    assert status == 200
    ref = msgspec.convert(body, ReferenceResponse)
    dibao = next(i for i in ref.items if i.code == "GG-0004")
    assert (dibao.aliases, dibao.initials, dibao.supplement_days) == (["低保"], ["zdshbzsq", "db"], 5)
    assert ref.township.phone == "0834-6601001"
    older = msgspec.json.decode(msgspec.json.encode(body), type=_OlderReference)
    assert [i.code for i in older.items] == [i.code for i in ref.items]
