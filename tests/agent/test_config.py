"""Agent configuration: every setting documented with its default, and clear errors for bad values."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.config import REQUIRED, SETTINGS, load_config
from agent.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "agent.example.toml"


def test_every_setting_appears_in_the_example_with_its_default():
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for s in SETTINGS:
        assert s.key in example.get(s.section, {}), f"{s.section}.{s.key} is not documented"
        if s.default is not REQUIRED:
            assert example[s.section][s.key] == s.default, f"{s.section}.{s.key} differs from its default"
        assert s.help[:25] in EXAMPLE.read_text(encoding="utf-8"), f"{s.section}.{s.key} has no help comment"


def test_the_example_loads():
    config = load_config(EXAMPLE)
    assert config.township_code == "513422100"
    assert config.database.name == "agent.sqlite3" and config.database.parent == EXAMPLE.parent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[county]\nurl = 'http://x'\n", "county.token is required"),
        ("[county]\nurl = 'http://x'\ntoken = '513422100-a.b'\n[sync]\nbatch_size = 'many'\n",
         "sync.batch_size = 'many' is a str, expected int"),
        ("[county]\nurl = 'ftp://x'\ntoken = '513422100-a.b'\n", "expected an http:// or https:// URL"),
        ("[county]\nurl = 'http://x'\ntoken = 'nonsense'\n", "does not look like a token"),
        ("[county]\nurl = 'http://x'\ntoken = '513422100-a.b'\n[agent]\npc_no = 100\n", "between 1 and 99"),
        ("[county]\nurl = 'http://x'\ntoken = '513422100-a.b'\n[agent]\ncolour = 'red'\n", "unknown setting"),
        ("[county\n", "not valid TOML"),
    ],
)
def test_a_bad_value_names_the_file_the_key_and_what_is_expected(tmp_path, text, expected):
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_a_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="agent.example.toml"):
        load_config(tmp_path / "nope.toml")
