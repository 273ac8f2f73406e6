"""Cluster files: one TOML file describes every node of a real cluster.

::

    cluster = "demo"                  # a name both ends of a connection must agree on

    [members]                         # node id -> host:port, every node of the cluster
    n1 = "127.0.0.1:7001"
    n2 = "127.0.0.1:7002"

    [plugins]                         # the stack, in order, each with its options
    perfect-fd = { period = 0.5, timeout = 2.0 }
    urb = {}

    [links]                           # optional: netweave.LinkOptions
    rto = 0.2

    [transport]                       # optional: netweave.transport.TransportOptions
    max_frame = 16777216
    handshake_timeout = 5.0

    [security]                        # optional; paths are relative to this file
    secret_file = "cluster.secret"    # or secret = "...": HMAC challenge-response
    ca = "tls/ca.pem"                 # mutual TLS: the cluster CA,
    cert = "tls/{id}.pem"             # each node's certificate ({id} is the node id)
    key = "tls/{id}.key"              # and key
    keyring = "keys/keyring.toml"     # per-node keys: every member's public key
    private_key = "keys/{id}.key"     # (or an inline keys = { n1 = "ed25519:..." }) and its own
    signed_origins = true             # origins sign what they broadcast (keyring or TLS keys)
    profile = "secure"                # "standard" (default) or "secure" (per-node keys
                                      # or certificates, and signed origins)

Every mistake is a :class:`~netweave.errors.ConfigurationError` naming the file and key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from . import _toml
from .errors import ConfigurationError
from .keyring import Keyring, parse_public_key, read_keyring_file, read_private_key
from .link import LinkOptions
from .node import Node
from .origins import OriginKeys
from .transport.options import Security, TransportOptions
from .transport.tcp import parse_address

__all__ = ["ClusterConfig"]

_TOP = {"cluster", "members", "plugins", "links", "transport", "security", "fill"}
_SECURITY = {"secret", "secret_file", "ca", "cert", "key", "keyring", "keys", "private_key",
             "signed_origins", "profile"}
_PATHS = ("secret_file", "ca", "cert", "key", "keyring", "private_key")
PROFILES = ("standard", "secure")
"""``standard``: every mechanism as configured. ``secure``: per-node identities (a keyring,
or mutual TLS with a certificate per node) are required and origins sign what they
broadcast."""


def _fields(cls: type[Any]) -> set[str]:
    return {f.name for f in attrs.fields(cls)}


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: [{key}] must be a table")
    return value


def _options(cls: type[Any], values: dict[str, Any], where: str, **extra: Any) -> Any:
    unknown = set(values) - _fields(cls)
    if unknown:
        raise ConfigurationError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(sorted(_fields(cls) - set(extra)))}")
    try:
        return cls(**values, **extra)
    except (TypeError, ValueError, ConfigurationError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from exc


@attrs.frozen
class ClusterConfig:
    """A parsed cluster file (or the same built in code, e.g. by ``netweave demo``)."""

    name: str
    """The cluster name bound by every handshake."""
    members: dict[str, str]
    """Node id -> ``"host:port"``."""
    plugins: tuple[tuple[str, dict[str, Any]], ...]
    """Plugin names with their options, in the order given."""
    links: LinkOptions = attrs.field(factory=LinkOptions)
    transport: dict[str, Any] = attrs.field(factory=dict)
    """Transport options as written (security is added per node)."""
    security: dict[str, Any] = attrs.field(factory=dict)
    """Security settings as written; paths already resolved against ``base``."""
    fill: str = "implicit"
    source: str = "<config>"

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> ClusterConfig:
        """Read and validate a cluster file."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"cluster file not found: {p}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{p}: not valid TOML: {exc}") from exc
        return cls.from_dict(data, base=p.parent, source=str(p))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: str | os.PathLike[str] = ".",
                  source: str = "<config>") -> ClusterConfig:
        """Validate a cluster description given as plain values."""
        unknown = set(data) - _TOP
        if unknown:
            raise ConfigurationError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
        name = data.get("cluster", "netweave")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"{source}: cluster must be a non-empty string")
        members = _table(data, "members", source)
        if not members:
            raise ConfigurationError(f"{source}: [members] must list at least one node")
        for node_id, address in members.items():
            if not isinstance(address, str):
                raise ConfigurationError(f"{source}: members.{node_id} must be \"host:port\"")
            parse_address(address)
        plugins = _table(data, "plugins", source)
        if not plugins:
            raise ConfigurationError(f"{source}: [plugins] must select at least one plugin")
        for plugin, options in plugins.items():
            if not isinstance(options, dict):
                raise ConfigurationError(f"{source}: plugins.{plugin} must be a table of "
                                         "options ({} for none)")
        links = _options(LinkOptions, _table(data, "links", source), f"{source} [links]")
        transport = _table(data, "transport", source)
        _options(TransportOptions, transport, f"{source} [transport]")
        security = dict(_table(data, "security", source))
        bad = set(security) - _SECURITY
        if bad:
            raise ConfigurationError(f"{source}: unknown [security] key(s) "
                                     f"{', '.join(sorted(bad))}; known: {sorted(_SECURITY)}")
        for key in _PATHS:
            if key in security:
                security[key] = str(Path(base) / str(security[key]))
        _check_security(security, source)
        fill = data.get("fill", "implicit")
        if fill not in ("implicit", "defaults", "none"):
            raise ConfigurationError(f"{source}: fill must be implicit, defaults or none")
        config = cls(name, dict(members), tuple((k, dict(v)) for k, v in plugins.items()),
                     links, dict(transport), security, fill, source)
        config.public_keys()  # every member has a usable public key
        for node_id in members:
            # Every node's settings are usable; its private key is read when it starts.
            config.transport_options(node_id, private=False)
        return config

    def _check_member(self, node_id: str) -> None:
        if node_id not in self.members:
            raise ConfigurationError(f"{self.source}: {node_id!r} is not a member; members: "
                                     f"{', '.join(self.members)}")

    @property
    def signed_origins(self) -> bool:
        """Whether origins sign what they broadcast (``signed_origins``, or the secure
        profile)."""
        sec = self.security
        return bool(sec.get("signed_origins", sec.get("profile") == "secure"))

    def public_keys(self) -> dict[str, bytes] | None:
        """Every member's Ed25519 public key, from ``keys`` or the ``keyring`` file;
        ``None`` without per-node keys."""
        sec = self.security
        if "keys" in sec:
            written = sec["keys"]
            where = f"{self.source} [security] keys"
        elif "keyring" in sec:
            written = read_keyring_file(sec["keyring"])
            where = f"keyring {sec['keyring']}"
        else:
            return None
        missing = [m for m in self.members if m not in written]
        if missing:
            raise ConfigurationError(f"{where}: no public key for {', '.join(missing)}")
        return {m: parse_public_key(written[m], f"{where}: {m}") for m in self.members}

    def keyring(self, node_id: str) -> Keyring | None:
        """The keyring of ``node_id``: every member's public key and its own private key
        (``private_key``, ``{id}`` replaced by the node id); ``None`` without one."""
        self._check_member(node_id)
        public = self.public_keys()
        if public is None:
            return None
        path = str(self.security["private_key"]).replace("{id}", node_id)
        try:
            return Keyring(public, node=node_id, private=read_private_key(path))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.source}: {exc}") from None

    def transport_options(self, node_id: str, *, private: bool = True) -> TransportOptions:
        """The transport options of ``node_id`` (its own certificate paths and keys filled
        in; ``private=False`` leaves its private key unread, the keyring out)."""
        self._check_member(node_id)
        sec = self.security
        secret: bytes | None = None
        if "secret" in sec and "secret_file" in sec:
            raise ConfigurationError(f"{self.source}: give secret or secret_file, not both")
        if "secret" in sec:
            secret = str(sec["secret"]).encode()
        elif "secret_file" in sec:
            try:
                secret = Path(sec["secret_file"]).read_bytes().strip()
            except OSError as exc:
                raise ConfigurationError(f"{self.source}: secret_file: {exc}") from exc

        def path(key: str) -> Path | None:
            value = sec.get(key)
            return Path(str(value).replace("{id}", node_id)) if value else None

        keyring = self.keyring(node_id) if private else None
        security = Security(secret=secret, keyring=keyring, ca=path("ca"), cert=path("cert"),
                            key=path("key"))
        options: TransportOptions = _options(
            TransportOptions, self.transport, f"{self.source} [transport]", security=security)
        return options

    def origin_keys(self, node_id: str) -> OriginKeys | None:
        """The keys ``node_id`` signs and checks origins with: the keyring when there is
        one, else the members' TLS certificates and its TLS key
        (:class:`~netweave.certificates.CertificateKeys`); ``None`` when origins are not
        signed."""
        self._check_member(node_id)
        if not self.signed_origins:
            return None
        keyring = self.keyring(node_id)
        if keyring is not None:
            return keyring
        from .certificates import CertificateKeys, certificate_files

        sec = self.security
        try:
            return CertificateKeys(
                node_id, ca=sec["ca"], certificates=certificate_files(sec["cert"], self.members),
                key=str(sec["key"]).replace("{id}", node_id))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.source} [security] signed_origins: {exc}") from None

    def node(self, node_id: str) -> Node:
        """A new, unbuilt :class:`~netweave.Node` for ``node_id`` with the cluster's stack."""
        keys = self.origin_keys(node_id)
        node = Node(node_id, peers=self.members, cluster=self.name,
                    link_options=self.links, fill=self.fill,  # type: ignore[arg-type]
                    origin_keys=keys)
        for plugin, options in self.plugins:
            node.use(plugin, **options)
        return node

    def to_toml(self) -> str:
        """This configuration as a cluster file, which :meth:`from_toml` reads back.

        :raises ConfigurationError: for a value TOML has no type for (``None``, an integer
            beyond 64 bits).
        """
        # Security paths were resolved against the base directory when this configuration
        # was read; written relative, the reader would resolve them again against the new
        # file's directory (a relative base ``d`` would become ``d/d/...``).
        security = {k: str(Path(v).absolute()) if k in _PATHS else v
                    for k, v in self.security.items()}
        try:
            lines = [f"cluster = {_toml.value(self.name)}", f"fill = {_toml.value(self.fill)}",
                     "", "[members]", *_toml.pairs(self.members), "", "[plugins]"]
            lines += [f"{_toml.key(plugin)} = {_toml.value(options, spaced=True)}"
                      for plugin, options in self.plugins]
            lines += ["", "[links]", *_toml.pairs(attrs.asdict(self.links))]
            for title, table in (("transport", self.transport), ("security", security)):
                if table:
                    lines += ["", f"[{title}]", *_toml.pairs(table, spaced=True)]
        except ConfigurationError as exc:
            raise ConfigurationError(f"cannot write a cluster file: {exc}") from None
        return "\n".join(lines) + "\n"


def _check_security(sec: dict[str, Any], source: str) -> None:
    where = f"{source} [security]"
    if "keys" in sec and "keyring" in sec:
        raise ConfigurationError(f"{where}: give keys or keyring, not both")
    if "keys" in sec and not (isinstance(sec["keys"], dict) and all(
            isinstance(v, str) for v in sec["keys"].values())):
        raise ConfigurationError(f"{where}: keys must be a table of node id = "
                                 "\"ed25519:<base64 public key>\"")
    keyed = "keys" in sec or "keyring" in sec
    tls = all(k in sec for k in ("ca", "cert", "key"))
    if keyed != ("private_key" in sec):
        raise ConfigurationError(f"{where}: per-node keys need both the public keys (keyring "
                                 "or keys) and each node's private_key")
    profile = sec.get("profile", "standard")
    if profile not in PROFILES:
        raise ConfigurationError(f"{where}: profile must be one of {', '.join(PROFILES)}, "
                                 f"not {profile!r}")
    signed = sec.get("signed_origins")
    if signed is not None and not isinstance(signed, bool):
        raise ConfigurationError(f"{where}: signed_origins must be true or false")
    if profile == "secure":
        if not (keyed or tls):
            raise ConfigurationError(
                f"{where}: the secure profile needs per-node identities: keyring (or keys) "
                "and private_key (netweave keys --out DIR n1 n2 ... writes them), or mutual "
                "TLS (ca, cert and key)")
        if signed is False:
            raise ConfigurationError(f"{where}: the secure profile signs origins; drop "
                                     "signed_origins = false or the profile")
    if (signed or profile == "secure") and not keyed:
        if not tls:
            raise ConfigurationError(f"{where}: signed_origins needs per-node keys: keyring "
                                     "(or keys) and private_key, or mutual TLS (ca, cert and "
                                     "key)")
        from .certificates import certificate_files

        try:
            certificate_files(sec["cert"], ())  # every member's certificate must be findable
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
