"""The offline bundle: built from this checkout, installed into a fresh root with pip's network off (--no-index),
and both programs start from the installed venv."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ops.bundle import build

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("dist"))


def test_the_bundle_holds_wheels_units_configs_docs_installer_and_checksums(bundle):
    names = {p.name for p in (bundle / "wheels").iterdir()}
    assert any(n.startswith("township_services-") for n in names)
    for dependency in ("aiohttp", "aiosqlite", "msgspec", "click", "tenacity", "APScheduler", "chinesecalendar",
                       "prometheus_client"):
        assert any(n.lower().startswith(dependency.lower()) for n in names), dependency
    assert sorted(p.name for p in (bundle / "units").iterdir()) == sorted(
        p.name for p in (ROOT / "systemd").iterdir() if p.suffix in (".service", ".timer"))
    assert (bundle / "config" / "agent.example.toml").exists()
    assert (bundle / "install.sh").stat().st_mode & 0o111
    for line in (bundle / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest


def test_install_sh_installs_offline_into_a_fresh_root_and_both_programs_run(bundle, tmp_path):
    root = tmp_path / "root"
    result = subprocess.run(
        ["sh", str(bundle / "install.sh"), "--role", "both", "--root", str(root), "--python", sys.executable],
        capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": "/dev/null"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    venv_bin = root / "opt" / "township-services" / "venv" / "bin"
    for program, command in (("township-agent", "run"), ("county-server", "serve")):
        run = subprocess.run([str(venv_bin / program), "--help"], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert command in run.stdout and "backup" in run.stdout and "doctor" in run.stdout
        # The paths the units name exist after the install.
        unit = (root / "etc" / "systemd" / "system" / f"{program}.service").read_text()
        exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
        assert exec_start.split("=", 1)[1].split()[0] == f"/opt/township-services/venv/bin/{program}"
        assert (root / "etc" / "systemd" / "system" / f"{program}-backup.timer").exists()
        assert (root / "var" / "lib" / program).is_dir() and (root / "var" / "backups" / program).is_dir()
    agent = tomllib.loads((root / "etc" / "township-agent" / "agent.toml").read_text())
    assert agent["agent"]["database"] == "/var/lib/township-agent/agent.sqlite3"
    server = tomllib.loads((root / "etc" / "county-server" / "server.toml").read_text())
    assert server["server"]["database"] == "/var/lib/county-server/county.sqlite3"
    assert (root / "opt" / "township-services" / "docs" / "operations.md").exists()
    assert "systemd is not running here" in result.stdout or "enabled" in result.stdout

    # Running it again is an upgrade: configs are kept.
    again = subprocess.run(
        ["sh", str(bundle / "install.sh"), "--role", "agent", "--root", str(root), "--python", sys.executable],
        capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "PIP_NO_INDEX": "1"},
    )
    assert again.returncode == 0, again.stderr
    assert "kept the existing /etc/township-agent/agent.toml" in again.stdout
