"""Test helper: a throw-away cluster CA and node certificates, made with the openssl CLI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(directory: Path, name: str = "ca") -> Path:
    """Create ``<name>.pem`` and ``<name>.key`` (a self-signed CA) in ``directory``."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (CI installs it with apt)")
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", f"/CN=netweave test {name}",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=directory)
    return directory / f"{name}.pem"


EC = ("ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")
"""The kind of key (``openssl req -newkey`` and its options): ECDSA P-256."""


def make_cert(directory: Path, node_id: str, ca: str = "ca",
              key: tuple[str, ...] = EC) -> tuple[Path, Path]:
    """Create ``<node_id>.pem``/``.key`` signed by ``ca``, naming ``node_id`` (CN and SAN),
    with a key of the kind ``key`` (``("ed25519",)``, ``("rsa:2048",)``)."""
    ext = directory / f"{node_id}.ext"
    ext.write_text(f"subjectAltName=DNS:{node_id}\n")
    _openssl("req", "-newkey", *key, "-nodes",
             "-subj", f"/CN={node_id}", "-keyout", f"{node_id}.key",
             "-out", f"{node_id}.csr", cwd=directory)
    _openssl("x509", "-req", "-in", f"{node_id}.csr", "-CA", f"{ca}.pem", "-CAkey",
             f"{ca}.key", "-CAcreateserial", "-days", "2", "-extfile", ext.name,
             "-out", f"{node_id}.pem", cwd=directory)
    return directory / f"{node_id}.pem", directory / f"{node_id}.key"


def cluster_tls(directory: Path, ids: list[str]) -> Path:
    """A CA and one certificate per node id in ``directory``; returns the directory."""
    make_ca(directory)
    for node_id in ids:
        make_cert(directory, node_id)
    return directory
