"""The lab's certificate authority, made at start with trustme."""

from __future__ import annotations

import os
from pathlib import Path

import trustme


def make_ca(directory: Path) -> tuple[Path, Path, Path]:
    """Write ``ca.pem`` (public), ``s3-cert.pem`` and ``s3-key.pem`` (0600) for loopback."""
    ca = trustme.CA(organization_name="pytest-hastate local lab")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca_path = directory / "ca.pem"
    cert_path = directory / "s3-cert.pem"
    key_path = directory / "s3-key.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server.cert_chain_pems[0].write_to_path(str(cert_path))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_path), append=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(server.private_key_pem.bytes())
    return ca_path, cert_path, key_path
