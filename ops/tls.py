"""TLS for both programs, from the standard library's `ssl`: the county server's context (its certificate, and the
CA whose client certificates it accepts), the agent's (the CA that signed the county's certificate, and its own
client certificate), and the fingerprint of the certificate a peer presented.

TLS 1.2 at least (等保 2.0 and ASVS 9.1.2/9.1.3 ask for current protocols); the defaults of
`ssl.create_default_context` otherwise: certificate and host name checked, no compression, forward-secret ciphers.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any


def server_context(cert_file: Path, key_file: Path, client_ca_file: Path | None = None) -> ssl.SSLContext:
    """The server's context. With `client_ca_file`, a client may present a certificate signed by that CA (checked
    in the handshake; one signed by another CA fails it); a client without one still connects (the dashboard's
    browsers), and what needs one (the PCs' routes) asks for it above TLS (`peer_sha256`). Raises OSError or
    ssl.SSLError for a missing or bad file."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    if client_ca_file is not None:
        context.load_verify_locations(cafile=client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def client_context(ca_file: Path | None = None, cert_file: Path | None = None, key_file: Path | None = None
                   ) -> ssl.SSLContext:
    """The agent's context: the system's trusted CAs, or only `ca_file` (a county's private CA); the PC's client
    certificate when given. Raises OSError or ssl.SSLError for a missing or bad file."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def peer_sha256(transport: Any) -> str | None:
    """The SHA-256 (hex) of the DER certificate the peer presented and the handshake verified, or None (no TLS, no
    certificate)."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return hashlib.sha256(der).hexdigest() if der else None


def file_sha256(cert_file: Path) -> str:
    """The SHA-256 (hex) of a PEM or DER certificate file's certificate: what `agents bind-cert` registers.
    Raises ValueError for a file that holds no certificate."""
    raw = cert_file.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in raw:
        pem = raw[raw.index(b"-----BEGIN CERTIFICATE-----"):].decode("ascii", "replace")
        end = pem.find("-----END CERTIFICATE-----")
        if end < 0:
            raise ValueError(f"{cert_file}: no whole certificate")
        raw = ssl.PEM_cert_to_DER_cert(pem[:end + len("-----END CERTIFICATE-----")])
    if not raw.startswith(b"\x30"):
        raise ValueError(f"{cert_file}: not a certificate (PEM or DER)")
    return hashlib.sha256(raw).hexdigest()
