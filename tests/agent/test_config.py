"""Agent configuration: clear errors for bad values (tests/ops/test_settings.py checks that every setting is in the
example with its default, for both programs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "agent.example.toml"


def test_the_example_loads():
    config = load_config(EXAMPLE)
    assert config.township_code == "513422100"
    assert config.database.name == "agent.sqlite3" and config.database.parent == EXAMPLE.parent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[county]\nurl = 'http://x'\n", "missing required setting [county] token"),
        ("[county]\nurl = 'http://x'\ntoken = '513422100-a.b'\n[sync]\nbatch_size = 'many'\n",
         "[sync] batch_size = 'many': expected an integer"),
        ("[county]\nurl = 'ftp://x'\ntoken = '513422100-a.b'\n", "expected an http:// or https:// URL"),
        ("[county]\nurl = 'http://x'\ntoken = 'nonsense'\n", "does not look like a token"),
        ("[county]\nurl = 'http://x'\ntoken = '513422100-a.b'\n[agent]\npc_no = 100\n",
         "[agent] pc_no = 100: expected an integer from 1 to 99"),
        ("[county]\nurl = 'http://x'\ntoken = '513422100-a.b'\n[agent]\ncolour = 'red'\n",
         "unknown setting [agent] colour"),
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
