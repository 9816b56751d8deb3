"""The server's rooms and what each may import (docs/architecture.md). A room is a folder with one job; a top-level
module is a room of its own. Rooms lower in the house never import higher ones: pure rules (`model`) know no
storage, storage knows no reports or ingest, routes (`http`) are the only room that knows aiohttp's web server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "server"
# room -> the rooms it may import (besides itself, `protocol` and `ops`)
LEAVES = {"errors", "clock", "interpreter"}
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(), "clock": set(), "interpreter": set(),
    "config": {"errors", "clock"},
    "model": {"errors"},  # pure rules: no clock, no storage, no I/O
    "storage": {"model", "errors", "clock"},  # the only SQL
    "accounts": {"model", "storage", "errors", "clock"},
    "reports": {"model", "storage", "errors", "clock"},
    "keys": {"model", "errors"},  # the key file (server.model.sealing has the cipher)
    "ingest": {"model", "storage", "config", "keys", *LEAVES},
    "admin": {"model", "storage", "config", "ingest", "errors", "clock"},
    "http": {"model", "storage", "accounts", "reports", "ingest", "admin", "config", *LEAVES},
    "app": {"model", "storage", "accounts", "reports", "ingest", "admin", "http", "config", "keys", *LEAVES},
    "cli": {"model", "storage", "accounts", "reports", "ingest", "admin", "app", "config", "keys", *LEAVES},
    "__main__": {"cli"},
}


def _room(path: Path) -> str:
    return path.relative_to(SERVER).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        if isinstance(node, ast.ImportFrom) and node.module == "server":
            names = [f"server.{a.name}" for a in node.names]
        out |= {n.split(".")[1] for n in names if n.startswith("server.")}
    return out


def test_every_room_has_a_rule() -> None:
    rooms = {_room(p) for p in SERVER.rglob("*.py") if p.name != "__init__.py"}
    assert rooms - set(MAY_IMPORT) == set()


@pytest.mark.parametrize("path", sorted(p for p in SERVER.rglob("*.py") if p.name != "__init__.py"),
                         ids=lambda p: str(p.relative_to(SERVER)))
def test_a_module_imports_only_the_rooms_its_room_may(path: Path) -> None:
    room = _room(path)
    forbidden = sorted(r for r in _imports(path) if r != room and r not in MAY_IMPORT[room])
    assert forbidden == [], f"{path.relative_to(SERVER)} ({room}) imports {forbidden}"
