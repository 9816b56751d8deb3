"""Config: clear errors naming file, key, value and expected type (tests/ops/test_settings.py checks that every
setting is in the example with its default and help, for both programs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import main
from server.config import load_config
from server.errors import ConfigError
from tests.server.helpers import REPO

EXAMPLE = REPO / "config" / "server.example.toml"


def test_the_example_loads_and_its_paths_resolve_next_to_it() -> None:
    config = load_config(EXAMPLE)
    assert config.port == 8600 and config.host == "127.0.0.1"
    assert config.database == EXAMPLE.parent / "county.sqlite3"
    assert config.org_units.is_file() and config.catalog.is_file()
    assert config.regional_holidays == ()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = '[server]\nadmin_token = "0123456789abcdef"\n'


@pytest.mark.parametrize(("text", "expected"), [
    ("[server]\nport = 1\n", "missing required setting [server] admin_token"),
    (GOOD + 'port = "8600"\n', "[server] port = '8600': expected an integer"),
    (GOOD + "port = 70000\n", "expected an integer from 1 to 65535"),
    (GOOD + "prot = 8600\n", "unknown setting [server] prot"),
    (GOOD + "[calendar]\nregional_holidays = [\"2026-02-30\"]\n", "regional_holidays = ['2026-02-30']: expected a "
                                                                  "list of ISO dates"),
    (GOOD + 'log_level = "LOUD"\n', "log_level = 'LOUD': expected one of DEBUG"),
    ('[server]\nadmin_token = "short"\n', "admin_token is too short"),
    ("[server\n", "not valid TOML"),
    (GOOD + "[sever]\n", "unknown section [sever]"),
])
def test_a_bad_value_names_file_key_value_and_expected_type(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_relative_paths_resolve_against_the_config_directory_and_dates_parse(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "server.toml"
    path.write_text(GOOD + 'database = "../var/county.sqlite3"\n[calendar]\nregional_holidays = '
                    '["2026-02-18", 2026-02-17]\n', encoding="utf-8")
    config = load_config(path)
    assert config.database == tmp_path / "var" / "county.sqlite3"
    assert config.regional_holidays == (date(2026, 2, 17), date(2026, 2, 18))


def test_the_cli_prints_one_line_and_exits_2_on_a_bad_config(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + 'port = "x"\n')
    for args in (["serve"], ["agents", "list"], ["rollups", "verify"]):
        result = CliRunner().invoke(main, [*args, "--config", str(path)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert "port = 'x': expected an integer" in result.output
    missing = CliRunner().invoke(main, ["serve", "--config", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "config file not found" in missing.output


def test_a_broken_reference_file_stops_the_cli_with_its_line(tmp_path: Path) -> None:
    org = tmp_path / "org.csv"
    org.write_text("code,name,level,parent,kind\n513422000000,木里,county,,hall\n5134221,乔瓦镇,township,,\n",
                   encoding="utf-8")
    path = _write(tmp_path, GOOD + f'[reference]\norg_units = "{org}"\ncatalog = "{REPO / "config" / "catalog.csv"}"\n')
    result = CliRunner().invoke(main, ["agents", "list", "--config", str(path)])
    assert result.exit_code == 2
    assert f"{org}:3: code '5134221': expected a 12-digit division code" in result.output
