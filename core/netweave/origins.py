"""Signed origins: the process that broadcasts a message signs it, every process checks.

A broadcast layer that relays (reliable, uniform reliable broadcast) delivers a message
under the origin its id names, ``"<origin>/<incarnation>/<n>"``. The link it came over
proves only who *relayed* it, so without more any member could relay a message naming
another origin, with that origin's next numbers, and every process would deliver it
(and then drop the real one as a duplicate). With signed origins (off by default;
``signed_origins = true`` or ``profile = "secure"`` in a cluster file) the origin signs
each such message with its Ed25519 key, relays carry the signature unchanged, and a
process checks it before any layer sees the message.

One extension point serves every layer. A layer's data message subclasses
:class:`OriginMessage` (its ``id`` names the origin; ``sig`` carries the signature), and
the layer builds it through ``ctx.sign(...)`` where it broadcasts. The node does the
rest, in one place: it checks the signature of every :class:`OriginMessage` at each door
into a layer, before the layer's handler runs (and so before it de-duplicates):

- a lower layer delivering it (``ctx.deliver`` with the message as payload: the
  best-effort/reliable boundary);
- a link delivering it directly (a relay sent to one process with ``ctx.send``);
- :func:`~netweave.forward_relays` handing it back to a reliable broadcast (a JOIN).

A message that fails is dropped, counted by reason in :attr:`OriginGuard.dropped`
(``unsigned``, ``bad-signature``, ``unknown-origin``, ``no-origin``) and logged; it never
reaches the layer, so it never stands for a genuine message. Signatures are checked once
per distinct message: a relay that carries a message already checked here costs a hash.

The signature covers the whole message but ``sig`` (the msgpack encoding the wire
carries, so a relay may decode and encode it again), and the cluster name: a layer's
numbering (``seq``) and the payload, layers above included, cannot be changed without the
origin's key. A node that does not sign origins never calls any of this.

The kernel holds no key and does no cryptography: the node is given an
:class:`OriginKeys` (a :class:`netweave.keyring.Keyring`, or the simulator's seeded one).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from typing import Any, ClassVar, Protocol, TypeVar

import msgspec

from .message import Message

__all__ = ["DOMAIN", "REASONS", "OriginGuard", "OriginKeys", "OriginMessage", "origin_node"]

log = logging.getLogger("netweave.origins")

DOMAIN = "netweave-origin"
"""What an origin signature is of (a handshake proof is of another domain)."""

CACHE = 8192
"""Distinct signed messages remembered as checked (relays of them cost a hash)."""

REASONS = ("unsigned", "bad-signature", "unknown-origin", "no-origin")
"""Why a message is refused: it carries no signature; a signature that is not its
origin's of this message; an origin with no key in the keyring; an id that names no
origin."""

M = TypeVar("M", bound="OriginMessage")


class OriginKeys(Protocol):
    """The keys a node signs and checks origins with."""

    def sign(self, data: bytes) -> bytes:
        """This node's signature of ``data``."""
        ...

    def verify(self, node: str, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is ``node``'s signature of ``data``."""
        ...

    def __contains__(self, node: object) -> bool:
        """Whether ``node`` has a key."""
        ...


class OriginMessage(Message, kw_only=True, omit_defaults=True):
    """Base of a broadcast layer's data message that names its origin.

    The field named by :attr:`origin_field` (``id`` unless a subclass says otherwise)
    holds the broadcast id ``"<origin>/<incarnation>/<n>"``. ``sig`` is the origin's
    signature when the node signs origins, empty otherwise (and then not even sent).
    """

    sig: bytes = b""
    """The origin's Ed25519 signature of the rest of the message (see the module)."""
    origin_field: ClassVar[str] = "id"
    """The field that holds the broadcast id naming the origin."""


def origin_node(message_id: object) -> str | None:
    """The origin node of a broadcast id ``"<origin>/<incarnation>/<n>"``, or ``None``."""
    if type(message_id) is not str:
        return None
    parts = message_id.split("/")
    if len(parts) != 3 or not parts[0]:
        return None
    return parts[0]


class OriginGuard:
    """The signing and checking of one node (see the module's documentation)."""

    __slots__ = ("_checked", "_encode", "_logged", "cached", "cluster", "dropped", "keys",
                 "node_id", "signed", "verified")

    def __init__(self, node_id: str, cluster: str, keys: OriginKeys) -> None:
        self.node_id = node_id
        self.cluster = cluster
        self.keys = keys
        self.signed = 0
        """Messages this node signed as their origin."""
        self.verified = 0
        """Signatures checked (and good)."""
        self.cached = 0
        """Messages taken as checked because the same one was checked before."""
        self.dropped: Counter[str] = Counter()
        """Messages refused, by reason."""
        self._checked: dict[bytes, bytes] = {}  # signature -> digest of what it signed
        self._logged: Counter[str] = Counter()
        self._encode = msgspec.msgpack.Encoder().encode

    def _content(self, message: OriginMessage) -> bytes:
        unsigned = msgspec.structs.replace(message, sig=b"") if message.sig else message
        return self._encode((DOMAIN, self.cluster, unsigned))

    def sign(self, message: M) -> M:
        """``message`` with this node's signature (it must be its origin)."""
        origin = origin_node(getattr(message, message.origin_field, None))
        if origin != self.node_id:
            raise ValueError(f"{self.node_id} cannot sign a message of origin {origin!r}")
        content = self._content(message)
        sig = self.keys.sign(content)
        self.signed += 1
        self._remember(sig, content)
        signed: M = msgspec.structs.replace(message, sig=sig)
        return signed

    def check(self, message: OriginMessage) -> bool:
        """Whether ``message`` carries its origin's signature; counts and logs if not."""
        origin = origin_node(getattr(message, message.origin_field, None))
        if origin is None:
            return self._drop("no-origin", message, "?")
        if origin not in self.keys:
            return self._drop("unknown-origin", message, origin)
        sig = message.sig
        if type(sig) is not bytes or not sig:
            return self._drop("unsigned", message, origin)
        content = self._content(message)
        digest = self._checked.get(sig)
        if digest is not None and digest == hashlib.blake2b(content, digest_size=16).digest():
            self.cached += 1
            return True
        if not self.keys.verify(origin, content, sig):
            return self._drop("bad-signature", message, origin)
        self.verified += 1
        self._remember(sig, content)
        return True

    def _remember(self, sig: bytes, content: bytes) -> None:
        checked = self._checked
        if len(checked) >= CACHE:
            del checked[next(iter(checked))]  # the oldest first
        checked[sig] = hashlib.blake2b(content, digest_size=16).digest()

    def _drop(self, reason: str, message: Any, origin: str) -> bool:
        self.dropped[reason] += 1
        self._logged[reason] += 1
        seen = self._logged[reason]
        if seen <= 10 or seen % 1000 == 0:
            log.warning("%s: dropped %s %r claiming origin %s: %s (%d so far)", self.node_id,
                        type(message).__name__, getattr(message, message.origin_field, None),
                        origin, reason, self.dropped[reason])
        return False

    def stats(self) -> dict[str, Any]:
        """The counters, as plain values."""
        return {"signed": self.signed, "verified": self.verified, "cached": self.cached,
                "dropped": dict(sorted(self.dropped.items()))}
