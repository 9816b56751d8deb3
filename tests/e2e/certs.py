"""Certificates made at test time with the openssl CLI: a county CA, the server's certificate (127.0.0.1,
localhost), PCs' client certificates, and a stranger's CA with its own client certificate. EC P-256, valid 2 days."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


def make_ca(where: Path, name: str) -> Pair:
    where.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=where)
    return Pair(where / f"{name}.crt", where / f"{name}.key")


def make_leaf(where: Path, ca: Pair, name: str, *, server: bool) -> Pair:
    """A certificate signed by `ca`: for a server (127.0.0.1 and localhost) or a client."""
    ext = where / f"{name}.ext"
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   + ("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" if server
                      else "extendedKeyUsage=clientAuth\n"), encoding="ascii")
    _openssl("req", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=where)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca.cert), "-CAkey", str(ca.key), "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name, cwd=where)
    return Pair(where / f"{name}.crt", where / f"{name}.key")
