"""The configuration loader both programs share: every setting of each program is in its example file with its
default and help, the examples load, and a bad value of any setting names the file, the key, the value and what is
expected."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from agent import config as agent_config
from ops.settings import INT, REQUIRED, STR, ConfigError, Schema, Setting
from server import config as server_config

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = {"agent": agent_config.SCHEMA, "server": server_config.SCHEMA}
ALL_SETTINGS = [(name, s) for name, schema in PROGRAMS.items() for s in schema.settings]


def _example(schema: Schema[Any]) -> Path:
    return ROOT / schema.example


def _comments_above(text: str) -> dict[tuple[str, str], str]:
    """(section, key) -> the comment lines right above the key in an example file, joined into one line."""
    out: dict[tuple[str, str], str] = {}
    section, comment = "", []
    for line in text.splitlines():
        if line.startswith("#"):
            comment.append(line.lstrip("# "))
            continue
        if m := re.fullmatch(r"\[(\w+)\]", line):
            section = m.group(1)
        elif m := re.match(r"(\w+) = ", line):
            out[(section, m.group(1))] = " ".join(comment)
        comment = []
    return out


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_every_setting_is_in_the_example_with_its_default_and_help(program: str) -> None:
    schema = PROGRAMS[program]
    text = _example(schema).read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    documented = {(section, key) for section, table in raw.items() for key in table}
    assert documented == {(s.section, s.key) for s in schema.settings}
    comments = _comments_above(text)
    for s in schema.settings:
        assert " ".join(s.help.split()) in comments[(s.section, s.key)], f"help of [{s.section}] {s.key}"
        if s.default is not REQUIRED:
            assert raw[s.section][s.key] == s.default, f"[{s.section}] {s.key} differs from its default"


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_the_example_loads_into_a_frozen_config(program: str) -> None:
    schema = PROGRAMS[program]
    config = schema.load(_example(schema))
    assert config.source == _example(schema)
    assert config.database == _example(schema).parent / config.database.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]


def _wrong_value(s: Setting) -> Any:
    """A value the setting's kind never accepts."""
    return 12 if s.kind.name in ("str", "path", "level", "choice") else "x"


@pytest.mark.parametrize(("program", "setting"), ALL_SETTINGS, ids=lambda v: v if isinstance(v, str) else v.key)
def test_a_value_of_the_wrong_type_names_the_file_the_key_the_value_and_the_expected_type(
        tmp_path: Path, program: str, setting: Setting) -> None:
    schema = PROGRAMS[program]
    raw = tomllib.loads(_example(schema).read_text(encoding="utf-8"))
    raw[setting.section][setting.key] = _wrong_value(setting)
    source = tmp_path / "bad.toml"
    with pytest.raises(ConfigError) as info:
        schema.from_dict(raw, source)
    assert str(info.value) == (f"{source}: [{setting.section}] {setting.key} = {_wrong_value(setting)!r}: "
                               f"expected {setting.expected}")


@pytest.mark.parametrize(("program", "setting"), [(p, s) for p, s in ALL_SETTINGS if s.low is not None],
                         ids=lambda v: v if isinstance(v, str) else v.key)
def test_a_number_below_its_bound_is_refused_and_the_bound_itself_is_accepted(
        program: str, setting: Setting) -> None:
    schema = PROGRAMS[program]
    raw = tomllib.loads(_example(schema).read_text(encoding="utf-8"))
    assert setting.low is not None
    raw[setting.section][setting.key] = int(setting.low) - 1
    with pytest.raises(ConfigError, match=re.escape(f"[{setting.section}] {setting.key} = {int(setting.low) - 1}")):
        schema.from_dict(raw)
    raw[setting.section][setting.key] = int(setting.low)
    assert getattr(schema.from_dict(raw), setting.name) == setting.low


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_numbers_and_booleans_do_not_pass_for_each_other(program: str) -> None:
    schema = PROGRAMS[program]
    raw = tomllib.loads(_example(schema).read_text(encoding="utf-8"))
    section = schema.settings[0].section
    raw[section]["port"] = True
    with pytest.raises(ConfigError, match=re.escape(f"[{section}] port = True: expected an integer")):
        schema.from_dict(raw)


def test_a_float_setting_takes_a_whole_number_and_a_positive_one_refuses_zero() -> None:
    raw = tomllib.loads(_example(agent_config.SCHEMA).read_text(encoding="utf-8"))
    raw["sync"]["interval_s"] = 5
    config = agent_config.config_from_dict(raw)
    assert config.interval_s == 5.0 and isinstance(config.interval_s, float)
    raw["sync"]["interval_s"] = 0
    with pytest.raises(ConfigError, match=re.escape("[sync] interval_s = 0: expected a number > 0")):
        agent_config.config_from_dict(raw)


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_unknown_sections_and_keys_and_a_key_in_place_of_a_table_are_named(program: str) -> None:
    schema = PROGRAMS[program]
    raw = tomllib.loads(_example(schema).read_text(encoding="utf-8"))
    section = schema.sections[0]
    with pytest.raises(ConfigError, match=re.escape(f"unknown setting [{section}] colour; see {schema.example}")):
        schema.from_dict({**raw, section: {**raw[section], "colour": "red"}})
    with pytest.raises(ConfigError, match=re.escape("unknown section [colours]; expected one of")):
        schema.from_dict({**raw, "colours": {}})
    with pytest.raises(ConfigError, match=re.escape(f"{section} = 3: expected a table [{section}]")):
        schema.from_dict({**raw, section: 3})


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_files_that_cannot_be_read_are_named_with_what_to_do(tmp_path: Path, program: str) -> None:
    schema = PROGRAMS[program]
    with pytest.raises(ConfigError, match=re.escape(f"config file not found (pass --config FILE; {schema.example}")):
        schema.load(tmp_path / "nope.toml")
    (tmp_path / "latin1.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="latin1.toml: not valid TOML"):
        schema.load(tmp_path / "latin1.toml")
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ConfigError, match="dir.toml: cannot read config file"):
        schema.load(tmp_path / "dir.toml")


def test_a_schema_must_match_a_frozen_dataclass_field_for_field() -> None:
    @dataclasses.dataclass(frozen=True)
    class Config:
        port: int
        source: Path | None = None

    @dataclasses.dataclass
    class Mutable:
        port: int
        source: Path | None = None

    port = Setting("x", "port", INT, 1, "Port.")
    assert Schema(Config, [port], example="x.toml").from_dict({"x": {"port": 2}}).port == 2
    with pytest.raises(TypeError, match="frozen"):
        Schema(Mutable, [port], example="x.toml")
    with pytest.raises(TypeError, match=r"\['host'\]"):
        Schema(Config, [port, Setting("x", "host", STR, "h", "Host.")], example="x.toml")
    with pytest.raises(TypeError, match="declared twice"):
        Schema(Config, [port, port], example="x.toml")
