"""The systemd units: verified by systemd-analyze, exposure at most 2.5 each, and the directives the issue names."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
SERVICES = ["township-agent.service", "county-server.service"]
BACKUPS = ["township-agent-backup.service", "county-server-backup.service"]


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",), comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name, encoding="utf-8")
    return parser


def test_check_units_passes_verify_and_the_exposure_threshold():
    if shutil.which("systemd-analyze") is None and os.environ.get("CI") != "true":
        pytest.skip("systemd-analyze not installed (apt-get install systemd); under CI=true scripts/check-units "
                    "installs it")
    result = subprocess.run([str(ROOT / "scripts" / "check-units")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("exposure") == len(SERVICES + BACKUPS)
    print(result.stdout)


@pytest.mark.parametrize("name", SERVICES)
def test_services_notify_ping_restart_with_a_limit_and_run_as_their_own_user(name):
    u = unit(name)
    service = u["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert "StartLimitBurst" in u["Unit"] and "StartLimitIntervalSec" in u["Unit"]
    assert service["User"] == name.removesuffix(".service")
    assert service["StateDirectory"] == service["User"]
    assert service["ConfigurationDirectory"] == service["User"]
    assert "PYTHONUNBUFFERED=1" in service["Environment"]


@pytest.mark.parametrize("name", SERVICES + BACKUPS)
def test_every_unit_has_the_hardening_the_issue_names_or_says_why_not(name):
    text = (UNITS / name).read_text(encoding="utf-8")
    service = unit(name)["Service"]
    required = {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
        "SystemCallFilter": "@system-service", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
        "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "",
        "PrivateDevices": "yes", "ProtectClock": "yes", "ProtectHostname": "yes", "RestrictRealtime": "yes",
        "RestrictSUIDSGID": "yes", "SystemCallArchitectures": "native", "UMask": "0077",
    }
    for key, value in required.items():
        assert f"\n{key}={value}\n" in text, f"{name}: {key}={value}"
    assert service["RestrictAddressFamilies"] in ("AF_INET AF_INET6 AF_UNIX", "AF_UNIX")
    if "IPAddressDeny" not in service:
        assert "# IPAddressDeny/Allow" in text  # left out, with the reason
    assert "DynamicUser=" in text  # the choice of a static user is explained


@pytest.mark.parametrize("name", BACKUPS)
def test_backup_timers_run_daily_and_catch_up(name):
    timer = unit(name.replace(".service", ".timer"))["Timer"]
    assert timer["OnCalendar"].startswith("*-*-* ")
    assert timer["Persistent"] == "true"
    assert "--to-dir /var/backups/" in unit(name)["Service"]["ExecStart"]


def test_the_county_backup_may_reach_postgresql_and_the_township_backup_no_network():
    county = unit("county-server-backup.service")["Service"]
    # On PostgreSQL the backup is pg_dump against [storage] dsn, on this host or another.
    assert "PrivateNetwork" not in county and "IPAddressDeny" not in county
    assert set(county["RestrictAddressFamilies"].split()) >= {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "network-online.target" in unit("county-server-backup.service")["Unit"]["After"]
    township = unit("township-agent-backup.service")["Service"]
    assert township["PrivateNetwork"] == "yes" and township["RestrictAddressFamilies"] == "AF_UNIX"
