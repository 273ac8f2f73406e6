"""Settings of the TCP transport: limits, timeouts, reconnection and security."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigurationError
from .framing import DEFAULT_MAX_FRAME

if TYPE_CHECKING:
    from ..keyring import Keyring

__all__ = ["Security", "TransportOptions"]


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ConfigurationError(f"transport option {attribute.name} must be > 0, not {value!r}")


@attrs.frozen
class Security:
    """How a node keeps strangers out. The mechanisms may be combined.

    With none set, any process that can reach the port and names a member id in its
    handshake is taken for that member: fine on loopback, not on a shared network. A
    shared secret keeps strangers out, but not members: each of them can claim any id.
    A keyring or mutual TLS ties each connection to one node id (*proven* identities).
    """

    secret: bytes | None = None
    """Shared cluster secret for the HMAC-SHA256 challenge-response."""
    keyring: Keyring | None = None
    """The members' Ed25519 public keys and this node's private key
    (:class:`netweave.keyring.Keyring`): each side of a connection signs its proof."""
    ca: Path | None = None
    """Cluster CA certificate (PEM); setting it turns on mutual TLS."""
    cert: Path | None = None
    """This node's certificate (PEM), signed by the cluster CA, naming the node id."""
    key: Path | None = None
    """This node's private key (PEM)."""

    def __attrs_post_init__(self) -> None:
        if self.secret is not None and len(self.secret) < 16:
            raise ConfigurationError("the cluster secret must be at least 16 bytes long")
        tls = (self.ca, self.cert, self.key)
        if any(x is not None for x in tls) and not all(x is not None for x in tls):
            raise ConfigurationError("mutual TLS needs all of ca, cert and key")
        for path in tls:
            if path is not None and not Path(path).is_file():
                raise ConfigurationError(f"TLS file not found: {path}")

    @property
    def tls(self) -> bool:
        """Whether mutual TLS is on."""
        return self.ca is not None

    @property
    def proven(self) -> bool:
        """Whether a connection is tied to one node id (a keyring or mutual TLS): only
        then may a connection claiming a new incarnation replace a live one."""
        return self.keyring is not None or self.tls

    def describe(self) -> str:
        """A short human description (never the secret)."""
        parts = ((["hmac"] if self.secret is not None else [])
                 + (["keyring"] if self.keyring is not None else [])
                 + (["mtls"] if self.tls else []))
        return "+".join(parts) or "none"


@attrs.frozen
class TransportOptions:
    """Limits, timeouts and reconnection of the TCP transport (defaults suit a LAN)."""

    max_frame: int = attrs.field(default=DEFAULT_MAX_FRAME, validator=_positive)
    """Largest frame body accepted, bytes; checked before the body is read."""
    handshake_timeout: float = attrs.field(default=5.0, validator=_positive)
    """Seconds a new connection has to finish TLS and the handshake."""
    frame_timeout: float = attrs.field(default=10.0, validator=_positive)
    """Seconds a started frame has to arrive completely (against slow trickles)."""
    idle_timeout: float = attrs.field(default=30.0, validator=_positive)
    """Seconds without any byte after which a connection is closed (keep-alives at 1/3)."""
    max_pending: int = attrs.field(default=32, validator=_positive)
    """Connections still in their handshake, at most; more are closed at once."""
    max_connections: int = attrs.field(default=256, validator=_positive)
    """Open connections at most, all kinds together; more are closed at once."""
    reconnect_min: float = attrs.field(default=0.05, validator=_positive)
    """First delay before dialing a peer again; doubles up to ``reconnect_max``."""
    reconnect_max: float = attrs.field(default=1.0, validator=_positive)
    """Cap of the reconnection delay (each delay gets +-50 % jitter)."""
    connect_timeout: float = attrs.field(default=3.0, validator=_positive)
    """Seconds one TCP connect may take."""
    send_buffer: int = attrs.field(default=64 * 1024 * 1024, validator=_positive)
    """Bytes queued to one connected peer that does not read them, beyond which the
    connection is closed as ``slow-reader`` (the links resend on the next one)."""
    backlog_buffer: int = attrs.field(default=4 * 1024 * 1024, validator=_positive)
    """Bytes queued for a peer while not connected; beyond, frames are dropped."""
    incarnation_ahead: float = attrs.field(default=600.0, validator=_positive)
    """Without a keyring or mutual TLS (nothing proves which member a connection is): a
    peer's incarnation may be at most this many seconds ahead of this node's wall clock,
    in milliseconds as netweave counts incarnations, so a false claim cannot lock the
    real node out for longer."""
    security: Security = attrs.field(factory=Security)
    """Authentication settings."""
