"""Per-node identities without a CA: one Ed25519 key pair per member, a keyring of their
public keys.

Every member holds its own private key and the public keys of every member (the
*keyring*, a small TOML file or a table of the cluster file). The handshake binds a
connection to one node id by a signature only that node's private key can make (see
:mod:`netweave.transport.handshake`), and, with signed origins, the origin of a
broadcast signs what it broadcasts (:mod:`netweave.origins`). Unlike a shared secret,
nothing a member holds lets it speak as another member; unlike mutual TLS, there is no
certificate authority to run: adding a member is adding a line to the keyring.

Keys are written ``ed25519:`` followed by the base64 of the 32 raw bytes (the format of
``netweave keys``); a private key may also be a PKCS#8 PEM file (``openssl genpkey
-algorithm ed25519``) and a public key a SubjectPublicKeyInfo PEM (``openssl pkey
-pubout``).

The Ed25519 arithmetic comes from the ``cryptography`` package, an optional dependency
(``pip install 'netweave[secure]'``), imported only when a keyring is used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "PREFIX",
    "Keyring",
    "cryptography_module",
    "format_key",
    "generate_private_key",
    "parse_public_key",
    "public_key_of",
    "read_keyring_file",
    "read_private_key",
    "seeded_keyrings",
    "write_keys",
]

PREFIX = "ed25519:"
"""How a key written by netweave starts."""

SIGNATURE_SIZE = 64


def cryptography_module(name: str, purpose: str) -> Any:
    """``cryptography.<name>``, or a :class:`ConfigurationError` saying that ``purpose``
    needs the ``secure`` extra."""
    try:
        return importlib.import_module(f"cryptography.{name}")
    except ImportError:  # pragma: no cover - depends on the installation
        raise ConfigurationError(f"{purpose} needs the 'cryptography' package: "
                                 "pip install 'netweave[secure]'") from None


def _ed25519() -> Any:
    return cryptography_module("hazmat.primitives.asymmetric.ed25519",
                               "a keyring (per-node keys, signed origins)")


def generate_private_key() -> bytes:
    """32 fresh random bytes: an Ed25519 private key."""
    return os.urandom(32)


def public_key_of(private: bytes) -> bytes:
    """The 32-byte public key of a 32-byte private key."""
    from cryptography.hazmat.primitives import serialization

    key = _ed25519().Ed25519PrivateKey.from_private_bytes(private)
    raw: bytes = key.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    return raw


def format_key(raw: bytes) -> str:
    """``ed25519:<base64>``: how netweave writes a key."""
    return PREFIX + base64.b64encode(raw).decode("ascii")


def _decode(text: str, what: str) -> bytes:
    body = text.strip()
    if not body.startswith(PREFIX):
        raise ConfigurationError(f"{what}: a key is written 'ed25519:<base64>' or as PEM")
    try:
        raw = base64.b64decode(body[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{what}: not valid base64") from None
    if len(raw) != 32:
        raise ConfigurationError(f"{what}: an Ed25519 key has 32 bytes, not {len(raw)}")
    return raw


def parse_public_key(text: str, what: str = "public key") -> bytes:
    """A public key as written in a keyring: ``ed25519:<base64>`` or a PEM block."""
    if not isinstance(text, str):
        raise ConfigurationError(f"{what}: a key is a string, not {type(text).__name__}")
    if "-----BEGIN" in text:
        from cryptography.hazmat.primitives import serialization

        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError as exc:
            raise ConfigurationError(f"{what}: not a PEM public key: {exc}") from None
        if not isinstance(key, _ed25519().Ed25519PublicKey):
            raise ConfigurationError(f"{what}: not an Ed25519 key")
        raw: bytes = key.public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw)
        return raw
    raw = _decode(text, what)
    try:
        _ed25519().Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{what}: {exc}") from None
    return raw


def read_private_key(path: str | os.PathLike[str]) -> bytes:
    """This node's private key from a file: ``ed25519:<base64>`` or a PKCS#8 PEM."""
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"private key {p}: {exc}") from None
    if "-----BEGIN" in text:
        from cryptography.hazmat.primitives import serialization

        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"private key {p}: not a PEM private key: {exc}") from None
        if not isinstance(key, _ed25519().Ed25519PrivateKey):
            raise ConfigurationError(f"private key {p}: not an Ed25519 key")
        raw: bytes = key.private_bytes(serialization.Encoding.Raw,
                                       serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption())
        return raw
    return _decode(text, f"private key {p}")


def read_keyring_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``[keys]`` table of a keyring file (node id -> public key, as written)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"keyring file not found: {p}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"keyring {p}: {exc}") from None
    keys = data.get("keys")
    if not isinstance(keys, dict) or set(data) - {"keys"}:
        raise ConfigurationError(f"keyring {p}: one [keys] table of node id = public key")
    return keys


class Keyring:
    """The public keys of a cluster's members and, for one node, its own private key.

    :param public: node id -> 32-byte Ed25519 public key, for every member.
    :param node: the node this keyring signs for (``None``: verify only).
    :param private: that node's 32-byte private key; it must match its public key.
    """

    def __init__(self, public: Mapping[str, bytes], *, node: str | None = None,
                 private: bytes | None = None) -> None:
        ed = _ed25519()
        self.public = dict(public)
        self._verifiers = {}
        for member, raw in self.public.items():
            try:
                self._verifiers[member] = ed.Ed25519PublicKey.from_public_bytes(raw)
            except ValueError as exc:
                raise ConfigurationError(f"public key of {member!r}: {exc}") from None
        self.node = node
        self._signer = None
        if (node is None) != (private is None):
            raise ConfigurationError("a keyring signs for a node given with its private key")
        if node is not None and private is not None:
            if node not in self.public:
                raise ConfigurationError(f"the keyring has no public key for {node!r}")
            try:
                self._signer = ed.Ed25519PrivateKey.from_private_bytes(private)
            except ValueError as exc:
                raise ConfigurationError(f"private key of {node!r}: {exc}") from None
            if public_key_of(private) != self.public[node]:
                raise ConfigurationError(
                    f"the private key of {node!r} does not match its public key in the "
                    "keyring")

    @property
    def members(self) -> frozenset[str]:
        """The node ids that have a public key."""
        return frozenset(self.public)

    def __contains__(self, node: object) -> bool:
        return node in self._verifiers

    def for_node(self, node: str, private: bytes) -> Keyring:
        """The same public keys, signing as ``node`` with ``private``."""
        return Keyring(self.public, node=node, private=private)

    def sign(self, data: bytes) -> bytes:
        """This node's signature of ``data`` (64 bytes)."""
        if self._signer is None:
            raise ConfigurationError("this keyring holds no private key: it cannot sign")
        sig: bytes = self._signer.sign(data)
        return sig

    def verify(self, node: str, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is ``node``'s signature of ``data``."""
        key = self._verifiers.get(node)
        if key is None or type(signature) is not bytes or len(signature) != SIGNATURE_SIZE:
            return False
        try:
            key.verify(signature, data)
        except Exception:  # cryptography's InvalidSignature
            return False
        return True

    def fingerprint(self, node: str) -> str:
        """A short, stable digest of ``node``'s public key (for logs)."""
        return hashlib.sha256(self.public[node]).hexdigest()[:16]

    def __repr__(self) -> str:
        who = f" signing as {self.node!r}" if self.node else ""
        return f"<Keyring of {len(self.public)} members{who}>"


def seeded_keyrings(members: Iterable[str], seed: object) -> dict[str, Keyring]:
    """A keyring per member, every key derived from ``seed`` (simulated clusters only: the
    same seed gives the same keys, which anyone can compute)."""
    ids = list(members)
    private = {m: hashlib.sha256(f"netweave-sim-key/{seed}/{m}".encode()).digest() for m in ids}
    public = {m: public_key_of(k) for m, k in private.items()}
    return {m: Keyring(public, node=m, private=private[m]) for m in ids}


def write_keys(directory: str | os.PathLike[str], members: Iterable[str]) -> Path:
    """Write ``<id>.key`` (mode 600) for every member and ``keyring.toml`` in ``directory``;
    returns the keyring's path. Existing private keys are kept (their public key is
    listed), so adding a member does not re-key the others."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# netweave keyring: the public key of every member (give it to every member)",
             "[keys]"]
    for member in members:
        path = out / f"{member}.key"
        if path.exists():
            private = read_private_key(path)
        else:
            private = generate_private_key()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(format_key(private) + "\n")
        key = member if member.replace("-", "").replace("_", "").isalnum() \
            else json.dumps(member)
        lines.append(f'{key} = "{format_key(public_key_of(private))}"')
    keyring = out / "keyring.toml"
    keyring.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return keyring
