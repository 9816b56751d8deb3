"""The configuration loader of both programs: each setting declared once (section, key, kind, default, help, bounds),
a TOML file read with `tomllib` and checked against the declarations, and the values handed over as one frozen
dataclass per program (`agent.config.AgentConfig`, `server.config.ServerConfig`).

Every error names the file, the key, the bad value and what is expected, e.g.
`/etc/county-server/server.toml: [server] port = '8600': expected an integer`. Relative paths resolve against the
directory of the config file, so a config and the files it names travel together. `config/*.example.toml` shows
every setting with its default and help (tests/ops/test_settings.py keeps them equal).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ops.logs import LEVELS

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

C = TypeVar("C", bound="DataclassInstance")


class ConfigError(Exception):
    """A bad or missing setting (or a file a setting names). The message names the file, the key and what was
    expected; the programs print it on one line and exit with status 2."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a setting that has none: the file must give it."""


@dataclass(frozen=True)
class Kind:
    """What a setting's value must be. `parse(value, base)` returns the value to hand over (`base` is the config
    file's directory) or raises ValueError; `expected` says in words what it wants, for the error message."""

    name: str
    expected: str
    parse: Callable[[Any, Path], Any]


def _string(value: Any, base: Path) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError
    return value


def _integer(value: Any, base: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):  # TOML's true is not 1
        raise ValueError
    return value


def _number(value: Any, base: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError
    return float(value)


def _positive(value: Any, base: Path) -> float:
    number = _number(value, base)
    if not number > 0:
        raise ValueError
    return number


def _boolean(value: Any, base: Path) -> bool:
    if not isinstance(value, bool):
        raise ValueError
    return value


def _path(value: Any, base: Path) -> Path:
    return (base / _string(value, base)).resolve()


def _optional_path(value: Any, base: Path) -> Path | None:
    if value == "":
        return None
    return _path(value, base)


def _level(value: Any, base: Path) -> str:
    if _string(value, base).upper() not in LEVELS:
        raise ValueError
    return str(value).upper()


def _dates(value: Any, base: Path) -> tuple[date, ...]:
    if not isinstance(value, list):
        raise ValueError
    days = []
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):  # a TOML local date arrives as a date
            days.append(item)
        elif isinstance(item, str):
            days.append(date.fromisoformat(item))  # ValueError for a day that does not exist
        else:
            raise ValueError
    return tuple(sorted(days))


STR = Kind("str", "a non-empty string", _string)
INT = Kind("int", "an integer", _integer)
FLOAT = Kind("float", "a number", _number)
POSITIVE = Kind("positive", "a number > 0", _positive)
BOOL = Kind("bool", "true or false", _boolean)
PATH = Kind("path", "a file path string", _path)
OPTIONAL_PATH = Kind("path", 'a file path string, or "" for none', _optional_path)
LEVEL = Kind("level", f"one of {', '.join(LEVELS)}", _level)
DATES = Kind("dates", 'a list of ISO dates like "2026-02-16"', _dates)


def choice(*options: str) -> Kind:
    """One of `options`, exactly as written."""

    def parse(value: Any, base: Path) -> str:
        if value not in options:
            raise ValueError
        return str(value)

    return Kind("choice", f"one of {', '.join(options)}", parse)


@dataclass(frozen=True)
class Setting:
    """One setting: `[section] key`, its kind, its default (or REQUIRED) and its help (the example file shows the
    help above the key). `low`/`high` bound a number, both ends included; `attr` names the config dataclass's
    field when it is not the key."""

    section: str
    key: str
    kind: Kind
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    attr: str = ""

    @property
    def name(self) -> str:
        return self.attr or self.key

    @property
    def expected(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.kind.expected} from {_num(self.low)} to {_num(self.high)}"
        if self.low is not None:
            return f"{self.kind.expected} >= {_num(self.low)}"
        if self.high is not None:
            return f"{self.kind.expected} <= {_num(self.high)}"
        return self.kind.expected

    def within_bounds(self, value: Any) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def _num(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


Check = Callable[[dict[str, Any]], Iterable[str]]


class Schema(Generic[C]):
    """The settings of one program and the frozen dataclass they fill (a field per setting, plus `source`, the file
    they came from). `check` sees the converted values by field name and returns a problem per rule that spans
    settings or goes beyond kind and bounds (a token's shape, a URL's scheme); each problem names its key."""

    def __init__(self, config: type[C], settings: Sequence[Setting], *, example: str,
                 check: Check | None = None) -> None:
        self.config = config
        self._make: Callable[..., C] = config
        self.settings = tuple(settings)
        self.example = example
        self.check = check
        params = vars(config).get("__dataclass_params__")
        if params is None or not params.frozen:
            raise TypeError(f"{config.__name__} must be a frozen dataclass")
        fields = {f.name for f in dataclasses.fields(config)} - {"source"}
        names = [s.name for s in self.settings]
        if len(set(names)) != len(names) or set(names) != fields:
            raise TypeError(f"the settings of {config.__name__} and its fields differ: "
                            f"{sorted(set(names) ^ fields)} (or a setting is declared twice)")

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(s.section for s in self.settings))

    def load(self, path: str | Path) -> C:
        """Read and check a config file. Raises ConfigError naming the file, key, bad value and expected type."""
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found (pass --config FILE; {self.example} shows every "
                              "setting)") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        return self.from_dict(raw, path)

    def from_dict(self, raw: dict[str, Any], source: Path | None = None) -> C:
        """The config of parsed TOML; relative paths resolve against the directory of `source` (else the current
        directory), and errors name `source`."""
        where = str(source) if source else "<config>"
        base = source.resolve().parent if source else Path.cwd()
        self._refuse_unknown(raw, where)
        values: dict[str, Any] = {}
        for s in self.settings:
            table = raw.get(s.section, {})
            if s.key not in table:
                if s.default is REQUIRED:
                    raise ConfigError(f"{where}: missing required setting [{s.section}] {s.key}: {s.help}")
                value = s.default
            else:
                value = table[s.key]
            try:
                converted = s.kind.parse(value, base)
                if not s.within_bounds(converted):
                    raise ValueError
            except (ValueError, TypeError):
                raise ConfigError(f"{where}: [{s.section}] {s.key} = {value!r}: expected {s.expected}") from None
            values[s.name] = converted
        problems = list(self.check(values)) if self.check else []
        if problems:
            raise ConfigError(f"{where}: " + "; ".join(problems))
        return self._make(**values, source=source)

    def _refuse_unknown(self, raw: dict[str, Any], where: str) -> None:
        known = {(s.section, s.key) for s in self.settings}
        sections = self.sections
        for section, table in raw.items():
            if section not in sections:
                raise ConfigError(f"{where}: unknown section [{section}]; expected one of {', '.join(sections)}")
            if not isinstance(table, dict):
                raise ConfigError(f"{where}: {section} = {table!r}: expected a table [{section}]")
            for key in table:
                if (section, key) not in known:
                    raise ConfigError(f"{where}: unknown setting [{section}] {key}; see {self.example}")
