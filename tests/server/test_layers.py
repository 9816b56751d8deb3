"""The server's import ladder: cli -> app -> routes -> services (ingest, stats, maintenance) -> storage, with the
pure rule modules (fold, rollups, reference) beside them and errors as a leaf. Lower layers never import higher."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "server"
RANK = {
    "errors": 0, "logs": 0, "clock": 0,
    "fold": 1, "rollups": 1, "reference": 1, "config": 1, "calendar_source": 1,
    "figures": 1.2, "exports": 1, "scope": 1.5,  # figures use the catalog categories of reference
    "storage": 2,
    "pending": 2.5,  # ingest's batches folded but not yet committed
    "interpreter": 0,
    "auth": 3, "ingest": 3, "stats": 3, "maintenance": 3, "openapi": 3.8, "operations": 3,
    "ingest_frames": 3.1, "ingest_pool": 3.2, "ingest_worker": 3.2,  # ingest in worker processes
    "accounts": 3, "overview": 3, "worklists": 3,
    "tables": 3.5,  # service answers as export tables
    "openapi_dashboard": 3.7,
    "routes": 4,
    "app": 5,
    "cli": 6, "__main__": 7,
}


def _module(path: Path) -> str:
    return path.relative_to(SERVER).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        out |= {n.split(".")[1] for n in names if n.startswith("server.")}
    return out


@pytest.mark.parametrize("path", sorted(p for p in SERVER.rglob("*.py") if p.name != "__init__.py"),
                         ids=lambda p: str(p.relative_to(SERVER)))
def test_a_module_imports_only_lower_layers(path: Path) -> None:
    mine = RANK[_module(path)]
    higher = sorted(m for m in _imports(path) if m != _module(path) and RANK[m] >= mine)
    assert higher == [], f"{path.name} imports {higher}"
