"""Signed origins with the keys of a mutual-TLS cluster: no keyring beside the CA.

Under mutual TLS every member already holds a key pair: its private key (``key``) and a
certificate (``cert``) that the cluster CA (``ca``) issued and that names the node. The
certificates are public, and the cluster file names every member's through the ``{id}``
in ``cert = "tls/{id}.pem"``. :class:`CertificateKeys` reads them all once, when the node
is built, and so lets a node sign what it originates with its TLS key and check every
other origin's signature, as :class:`netweave.keyring.Keyring` does with Ed25519 keys.

Each member's certificate must have been issued by a certificate of the ``ca`` file,
must be valid now, and must name the member (its DNS subject alternative names, or else
its common name: the rule the TLS handshake applies), and this node's private key must
be the key of its own certificate; anything else is a
:class:`~netweave.errors.ConfigurationError` naming the file. The signature scheme
follows the key: Ed25519; ECDSA with SHA-256 (any curve); RSA-PSS with SHA-256.

Like the keyring, this needs the ``cryptography`` package (``netweave[secure]``).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .keyring import cryptography_module

__all__ = ["CertificateKeys", "certificate_files"]


def _crypto() -> Any:
    return cryptography_module("x509", "signing origins with TLS keys")


def certificate_files(template: str | os.PathLike[str], members: Iterable[str]) -> dict[
        str, Path]:
    """Each member's certificate path: ``template`` with ``{id}`` replaced by its id.

    :raises ConfigurationError: when ``template`` has no ``{id}`` (one file cannot be
        every member's certificate).
    """
    text = str(template)
    if "{id}" not in text:
        raise ConfigurationError(
            f"cert = {text!r}: signed origins with TLS keys read every member's certificate, "
            "so cert must name them through {id} (cert = \"tls/{id}.pem\")")
    return {m: Path(text.replace("{id}", m)) for m in members}


def _names(x509: Any, cert: Any) -> frozenset[str]:
    """The DNS subject alternative names, or else the common names (the handshake's rule)."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        dns: list[str] = []
    else:
        dns = sans.value.get_values_for_type(x509.DNSName)
    if dns:
        return frozenset(dns)
    return frozenset(str(a.value) for a in cert.subject.get_attributes_for_oid(
        x509.NameOID.COMMON_NAME))


class _Scheme:
    """Signing and checking with one kind of key."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

        self.ed25519, self.ec, self.rsa = ed25519, ec, rsa
        self.ecdsa = ec.ECDSA(hashes.SHA256())
        self.pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                               salt_length=padding.PSS.DIGEST_LENGTH)
        self.sha256 = hashes.SHA256()

    def supported(self, key: Any) -> bool:
        return isinstance(key, (self.ed25519.Ed25519PublicKey, self.ec.EllipticCurvePublicKey,
                                self.rsa.RSAPublicKey))

    def sign(self, key: Any, data: bytes) -> bytes:
        if isinstance(key, self.ed25519.Ed25519PrivateKey):
            sig: bytes = key.sign(data)
        elif isinstance(key, self.ec.EllipticCurvePrivateKey):
            sig = key.sign(data, self.ecdsa)
        else:
            sig = key.sign(data, self.pss, self.sha256)
        return sig

    def verify(self, key: Any, data: bytes, signature: bytes) -> bool:
        try:
            if isinstance(key, self.ed25519.Ed25519PublicKey):
                key.verify(signature, data)
            elif isinstance(key, self.ec.EllipticCurvePublicKey):
                key.verify(signature, data, self.ecdsa)
            else:
                key.verify(signature, data, self.pss, self.sha256)
        except Exception:  # cryptography's InvalidSignature, or a malformed signature
            return False
        return True


class CertificateKeys:
    """Every member's public key from its certificate, and this node's TLS private key.

    :param node: the node that signs.
    :param ca: the cluster CA file (PEM, one or more certificates).
    :param certificates: member id -> its certificate file (PEM), every member.
    :param key: this node's private key file (PEM, unencrypted).
    :param now: the time the certificates must be valid at (default: now).
    """

    def __init__(self, node: str, *, ca: str | os.PathLike[str],
                 certificates: dict[str, Path], key: str | os.PathLike[str],
                 now: datetime.datetime | None = None) -> None:
        x509 = _crypto()
        from cryptography.hazmat.primitives import serialization

        self.node = node
        self._scheme = _Scheme()
        at = now or datetime.datetime.now(datetime.UTC)
        authorities = self._read(ca, "CA file", x509.load_pem_x509_certificates)
        self._verifiers: dict[str, Any] = {}
        for member, path in certificates.items():
            cert = self._read(path, f"certificate of {member!r}",
                              x509.load_pem_x509_certificate)
            self._verifiers[member] = self._check(x509, member, path, cert, authorities, at)
        if node not in self._verifiers:
            raise ConfigurationError(f"no certificate for {node!r}, the node that signs")
        private = self._read(key, f"private key of {node!r}",
                             lambda data: serialization.load_pem_private_key(data, None))
        if private.public_key() != self._verifiers[node]:
            raise ConfigurationError(f"private key {key}: not the key of {node!r}'s "
                                     f"certificate {certificates[node]}")
        self._signer = private

    @staticmethod
    def _read(path: str | os.PathLike[str], what: str, load: Any) -> Any:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"{what}: {exc}") from None
        try:
            return load(data)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{what} {path}: not PEM: {exc}") from None

    def _check(self, x509: Any, member: str, path: Path, cert: Any, authorities: list[Any],
               at: datetime.datetime) -> Any:
        where = f"certificate of {member!r} ({path})"
        if not any(self._issued(cert, ca) for ca in authorities):
            raise ConfigurationError(f"{where}: not issued by the cluster CA")
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            raise ConfigurationError(
                f"{where}: valid from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} to "
                f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC, not now")
        names = _names(x509, cert)
        if member not in names:
            raise ConfigurationError(
                f"{where}: names {', '.join(sorted(names)) or 'nobody'}, not {member!r}")
        public = cert.public_key()
        if not self._scheme.supported(public):
            raise ConfigurationError(f"{where}: a {type(public).__name__} cannot sign "
                                     "origins (Ed25519, ECDSA or RSA keys can)")
        return public

    @staticmethod
    def _issued(cert: Any, ca: Any) -> bool:
        try:
            cert.verify_directly_issued_by(ca)
        except Exception:  # wrong issuer name, bad signature, unsupported algorithm
            return False
        return True

    @property
    def members(self) -> frozenset[str]:
        """The node ids that have a certificate."""
        return frozenset(self._verifiers)

    def __contains__(self, node: object) -> bool:
        return node in self._verifiers

    def sign(self, data: bytes) -> bytes:
        """This node's signature of ``data`` with its TLS key."""
        return self._scheme.sign(self._signer, data)

    def verify(self, node: str, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is ``node``'s signature of ``data``."""
        key = self._verifiers.get(node)
        if key is None or type(signature) is not bytes:
            return False
        return self._scheme.verify(key, data, signature)

    def __repr__(self) -> str:
        return f"<CertificateKeys of {len(self._verifiers)} members signing as {self.node!r}>"
