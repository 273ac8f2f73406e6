"""Mutual TLS for the transport: contexts from the cluster CA, and who a certificate names.

Every node presents a certificate signed by the cluster CA and requires one from its
peer, in both directions. Host names are not checked (nodes are often addressed by IP);
instead the node id a peer claims in its handshake must be one of the names its
certificate carries (DNS subject alternative names, else the common name).
"""

from __future__ import annotations

import ssl
from typing import Any

from .options import Security

__all__ = ["certificate_names", "client_context", "server_context"]


def _context(purpose: ssl.Purpose, security: Security) -> ssl.SSLContext:
    assert security.ca is not None and security.cert is not None and security.key is not None
    ctx = ssl.create_default_context(purpose, cafile=str(security.ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(security.cert), str(security.key))
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def server_context(security: Security) -> ssl.SSLContext:
    """The context of the accepting side: a client certificate is required."""
    return _context(ssl.Purpose.CLIENT_AUTH, security)


def client_context(security: Security) -> ssl.SSLContext:
    """The context of the dialing side: the server's certificate is verified."""
    return _context(ssl.Purpose.SERVER_AUTH, security)


def certificate_names(peercert: dict[str, Any] | None) -> frozenset[str]:
    """The names a verified peer certificate carries (DNS SANs, else the common name)."""
    if not peercert:
        return frozenset()
    sans = {value for kind, value in peercert.get("subjectAltName", ()) if kind == "DNS"}
    if sans:
        return frozenset(sans)
    names = {value for rdn in peercert.get("subject", ()) for key, value in rdn
             if key == "commonName"}
    return frozenset(names)
