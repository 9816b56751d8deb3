"""docs/operations.md names every metric both programs export and every command of both CLIs."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from agent.cli import main as agent_cli
from server.cli import main as server_cli

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def exported_metrics() -> set[str]:
    names = set()
    for path in (ROOT / "agent" / "http" / "health.py", ROOT / "server" / "http" / "health.py"):
        names |= set(re.findall(r'F\("((?:township_agent|county_server)_[a-z_]+)"', path.read_text()))
    return names


def commands(group: click.Group, prefix: str) -> list[str]:
    out = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += commands(command, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def test_the_health_modules_export_metrics_at_all():
    assert len(exported_metrics()) >= 15


@pytest.mark.parametrize("name", sorted(exported_metrics()))
def test_every_metric_is_explained(name):
    assert f"`{name}" in DOC


@pytest.mark.parametrize("command", commands(agent_cli, "township-agent") + commands(server_cli, "county-server"))
def test_every_command_is_documented(command):
    assert command in DOC
