"""Build the offline installation bundle: `python -m ops.bundle --out DIR [--tar]` (or scripts/build-bundle).

The bundle holds everything a machine without network needs, next to an `install.sh` that uses only it:

    township-services-<version>/
      install.sh          creates users and directories, a venv, installs the wheels (--no-index), units, configs
      wheels/             the project and every dependency, for the target Python and platform
      units/              systemd units and timers
      config/             example configs (and example reference CSVs for the county)
      docs/operations.md
      SHA256SUMS

By default the wheels are for the Python running this command. For another target (a township PC with another
Python or CPU), give `--python-version 3.11 --platform manylinux2014_aarch64`: dependencies are then downloaded as
binary wheels for that target only (`pip download --only-binary=:all:`), which fails loudly when a dependency has no
wheel for it instead of producing a bundle that would need a compiler on the PC.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NAME = "township-services"


class BundleError(Exception):
    pass


def _project() -> dict[str, Any]:
    pyproject = ROOT / "pyproject.toml"
    if not pyproject.exists() or not (ROOT / "systemd").is_dir():
        raise BundleError(f"{ROOT} is not a source checkout of {NAME}: run this from the git working tree")
    project: dict[str, Any] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return project


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BundleError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}")


def build(out: Path, *, python_version: str | None = None, platforms: list[str] | None = None,
          make_tar: bool = False) -> Path:
    """Build the bundle directory under `out`; returns it (or the .tar.gz with `make_tar`)."""
    project = _project()
    target = out / f"{NAME}-{project['version']}"
    if target.exists():
        shutil.rmtree(target)
    wheels = target / "wheels"
    wheels.mkdir(parents=True)
    if platforms:
        _pip("wheel", "--no-deps", "--wheel-dir", str(wheels), str(ROOT))
        extra = [a for p in platforms for a in ("--platform", p)]
        pyver = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
        _pip("download", "--only-binary=:all:", "--dest", str(wheels), "--python-version", pyver,
             "--implementation", "cp", *extra, *project["dependencies"])
    else:
        _pip("wheel", "--wheel-dir", str(wheels), str(ROOT))
    (target / "units").mkdir()
    for unit in sorted((ROOT / "systemd").iterdir()):
        if unit.suffix in (".service", ".timer"):
            shutil.copy2(unit, target / "units" / unit.name)
    (target / "config").mkdir()
    for example in sorted((ROOT / "config").glob("*.example.toml")) + sorted((ROOT / "config").glob("*.csv")):
        shutil.copy2(example, target / "config" / example.name)
    (target / "docs").mkdir()
    shutil.copy2(ROOT / "docs" / "operations.md", target / "docs" / "operations.md")
    shutil.copy2(ROOT / "scripts" / "install.sh", target / "install.sh")
    (target / "install.sh").chmod(0o755)
    _write_sums(target)
    if not make_tar:
        return target
    archive = out / f"{target.name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(target, arcname=target.name)
    return archive


def _write_sums(target: Path) -> None:
    lines = []
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(target)}")
    (target / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="Directory to build into (default dist/).")
    parser.add_argument("--tar", action="store_true", help="Also pack the bundle into a .tar.gz.")
    parser.add_argument("--python-version", help="Target Python, e.g. 3.11 (with --platform).")
    parser.add_argument("--platform", action="append", dest="platforms",
                        help="Target platform tag, e.g. manylinux2014_x86_64; repeat for fallbacks.")
    args = parser.parse_args(argv)
    try:
        built = build(args.out, python_version=args.python_version, platforms=args.platforms, make_tar=args.tar)
    except BundleError as e:
        sys.stderr.write(f"bundle: {e}\n")
        return 1
    sys.stdout.write(f"bundle built: {built}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
