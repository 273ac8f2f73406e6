"""The connection handshake: who is on the other end, proven, without I/O.

Theory of operation. The dialer speaks first: ``Hello`` binds the connection to a cluster
name, the sender's node id and incarnation, the protocol version, the node it meant to
reach, and a fresh nonce. The acceptor checks it (same cluster and version, a known
member, not itself, and, under mutual TLS, the id its certificate names) and answers
with its own ``Hello``. Then each side proves who it is in a ``Proof``, the dialer first,
so a stranger who connects never obtains a proof computed by the node it reached; the
acceptor proves itself after checking the dialer's proof. A proof covers both nonces,
both ids, the cluster and the prover's incarnation, with the prover's id first so it
cannot be reflected back to its author. It carries one or both of:

- ``mac``, with a shared cluster secret: an HMAC-SHA256 under the secret, compared in
  constant time. It proves membership, not identity: every holder of the secret can
  compute the proof of any member id;
- ``sig``, with a keyring: an Ed25519 signature by the private key of the node id the
  prover claims, checked with that id's public key. Only that node can make it, so the
  connection is tied to one node id, as a certificate does under mutual TLS.

A refusal raises :class:`HandshakeError` whose ``reason`` is a short counter key; the
front-end sends the peer a ``Refuse`` with the reason, closes, logs and counts. After the
handshake, the connection carries the link messages and ``Ping`` (keep-alive), nothing
else.

The transitions are data: ``_EXPECT`` says which message each state accepts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import TYPE_CHECKING, Literal

import attrs
import msgspec

from ..errors import RemoteProtocolError
from ..message import Message

if TYPE_CHECKING:
    from ..keyring import Keyring

__all__ = [
    "PROTOCOL_VERSION",
    "Handshake",
    "HandshakeError",
    "Hello",
    "Ping",
    "Proof",
    "Refuse",
    "proof_mac",
    "proof_text",
]

PROTOCOL_VERSION = 1
"""Version of the wire protocol; peers of another version are refused."""

Role = Literal["dial", "accept"]


class Hello(Message, tag="nw.hello"):
    """The first frame on a connection, from each side."""

    cluster: str
    node: str
    version: int
    incarnation: int
    nonce: bytes
    to: str = ""
    """The node the sender means to talk to (the dialer's expectation)."""


class Proof(Message, tag="nw.proof"):
    """The sender's proof: an HMAC-SHA256 under the cluster secret (``mac``) and/or an
    Ed25519 signature by the private key of the node it claims to be (``sig``)."""

    mac: bytes
    sig: bytes = b""


class Refuse(Message, tag="nw.refuse"):
    """Sent just before closing a connection that failed the handshake."""

    reason: str


class Ping(Message, tag="nw.ping"):
    """Keeps an otherwise idle connection alive; ignored by the receiver."""


class HandshakeError(RemoteProtocolError):
    """The peer failed the handshake; ``reason`` is a short counter key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def proof_mac(secret: bytes, *, prover: str, verifier: str, cluster: str, incarnation: int,
              prover_nonce: bytes, verifier_nonce: bytes) -> bytes:
    """The HMAC a prover sends; msgpack keeps the fields unambiguous."""
    text = msgspec.msgpack.encode(("netweave-auth", PROTOCOL_VERSION, prover, verifier,
                                   cluster, incarnation, prover_nonce, verifier_nonce))
    return hmac.new(secret, text, hashlib.sha256).digest()


def proof_text(*, prover: str, verifier: str, cluster: str, incarnation: int,
               prover_nonce: bytes, verifier_nonce: bytes) -> bytes:
    """What a prover signs with its private key (keyring mode); its own domain, so no
    other signature of netweave's (an origin's) can pass for it."""
    return msgspec.msgpack.encode(("netweave-identity", PROTOCOL_VERSION, prover, verifier,
                                   cluster, incarnation, prover_nonce, verifier_nonce))


_EXPECT: dict[tuple[Role, str], type[Message]] = {
    ("accept", "hello"): Hello,
    ("dial", "hello"): Hello,
    ("accept", "proof"): Proof,
    ("dial", "proof"): Proof,
}
"""(role, state) -> the one message type accepted; no entry means nothing is expected."""


@attrs.define(eq=False)
class Handshake:
    """One side of one connection's handshake.

    :param role: ``"dial"`` (this side connected) or ``"accept"``.
    :param expected: for a dialer, the node it dialed.
    :param members: the cluster's node ids; anyone else is refused.
    :param secret: the shared cluster secret, or ``None`` for no challenge-response.
    :param certified: under mutual TLS, the names the peer's certificate carries.
    :param keyring: the members' public keys and this node's private key: each side
        signs its proof and the other checks it with the claimed id's public key.
    :param max_incarnation: refuse a peer claiming a higher incarnation (set where the
        claim is not proven: there it bounds how far ahead a false one can be).
    """

    cluster: str
    node: str
    incarnation: int
    role: Role
    members: frozenset[str]
    expected: str | None = None
    secret: bytes | None = None
    certified: frozenset[str] | None = None
    keyring: Keyring | None = None
    max_incarnation: int | None = None
    nonce: bytes = attrs.field(factory=lambda: os.urandom(32))
    state: str = attrs.field(default="hello", init=False)
    """``hello``, ``proof`` or ``done``."""
    peer: str = attrs.field(default="", init=False)
    peer_incarnation: int = attrs.field(default=0, init=False)
    _peer_nonce: bytes = attrs.field(default=b"", init=False)

    @property
    def done(self) -> bool:
        """Whether the peer is identified (and proven, with a secret or a keyring)."""
        return self.state == "done"

    def _hello(self) -> Hello:
        return Hello(self.cluster, self.node, PROTOCOL_VERSION, self.incarnation, self.nonce,
                     self.peer or (self.expected or ""))

    @property
    def proving(self) -> bool:
        """Whether the sides exchange proofs (a secret, a keyring or both)."""
        return self.secret is not None or self.keyring is not None

    def _proof(self) -> Proof:
        mine = (self.node, self.peer, self.incarnation, self.nonce, self._peer_nonce)
        mac = self._mac(*mine) if self.secret is not None else b""
        sig = self.keyring.sign(self._text(*mine)) if self.keyring is not None else b""
        return Proof(mac, sig)

    def _mac(self, prover: str, verifier: str, incarnation: int, prover_nonce: bytes,
             verifier_nonce: bytes) -> bytes:
        assert self.secret is not None
        return proof_mac(self.secret, prover=prover, verifier=verifier, cluster=self.cluster,
                         incarnation=incarnation, prover_nonce=prover_nonce,
                         verifier_nonce=verifier_nonce)

    def _text(self, prover: str, verifier: str, incarnation: int, prover_nonce: bytes,
              verifier_nonce: bytes) -> bytes:
        return proof_text(prover=prover, verifier=verifier, cluster=self.cluster,
                          incarnation=incarnation, prover_nonce=prover_nonce,
                          verifier_nonce=verifier_nonce)

    def initiate(self) -> list[Message]:
        """What to send as soon as the connection is open."""
        return [self._hello()] if self.role == "dial" else []

    def receive(self, msg: Message) -> list[Message]:
        """Process one handshake frame; returns what to send back.

        :raises HandshakeError: the peer is refused (the reason says why).
        """
        if type(msg) is Refuse:
            raise HandshakeError("refused-by-peer", msg.reason[:200])
        want = _EXPECT.get((self.role, self.state))
        if want is None or type(msg) is not want:
            raise HandshakeError("unexpected-message",
                                 f"{type(msg).__name__} in state {self.state}")
        if isinstance(msg, Hello):
            self._check_hello(msg)
            out: list[Message] = []
            if self.role == "accept":
                out.append(self._hello())
            if not self.proving:
                self.state = "done"
            else:
                self.state = "proof"
                if self.role == "dial":
                    out.append(self._proof())
            return out
        assert isinstance(msg, Proof)
        theirs = (self.peer, self.node, self.peer_incarnation, self._peer_nonce, self.nonce)
        if self.secret is not None:
            good = self._mac(*theirs)
            if type(msg.mac) is not bytes or not hmac.compare_digest(good, msg.mac):
                raise HandshakeError("bad-proof",
                                     f"{self.peer} does not hold the cluster secret")
        if self.keyring is not None and not self.keyring.verify(
                self.peer, self._text(*theirs), msg.sig):
            raise HandshakeError("bad-signature",
                                 f"the proof is not signed by {self.peer}'s key")
        self.state = "done"
        return [self._proof()] if self.role == "accept" else []

    def _check_hello(self, hello: Hello) -> None:
        if hello.cluster != self.cluster:
            raise HandshakeError("wrong-cluster", f"{hello.cluster!r} != {self.cluster!r}")
        if hello.version != PROTOCOL_VERSION:
            raise HandshakeError("wrong-version",
                                 f"protocol {hello.version} != {PROTOCOL_VERSION}")
        if hello.node == self.node:
            raise HandshakeError("self-connection", f"peer claims our own id {self.node!r}")
        if hello.node not in self.members:
            raise HandshakeError("unknown-node", f"{hello.node[:64]!r} is not a member")
        if self.expected is not None and hello.node != self.expected:
            raise HandshakeError("unexpected-node",
                                 f"dialed {self.expected!r}, answered by {hello.node!r}")
        if self.role == "accept" and hello.to and hello.to != self.node:
            raise HandshakeError("wrong-destination", f"meant for {hello.to[:64]!r}")
        if self.certified is not None and hello.node not in self.certified:
            raise HandshakeError("certificate-mismatch",
                                 f"certificate names {sorted(self.certified)}, hello "
                                 f"claims {hello.node!r}")
        if self.keyring is not None and hello.node not in self.keyring:
            raise HandshakeError("no-key", f"the keyring has no key for {hello.node!r}")
        if hello.incarnation <= 0:
            raise HandshakeError("bad-incarnation", f"incarnation {hello.incarnation}")
        if self.max_incarnation is not None and hello.incarnation > self.max_incarnation:
            raise HandshakeError("bad-incarnation",
                                 f"incarnation {hello.incarnation} is ahead of this node's "
                                 f"clock (at most {self.max_incarnation})")
        if len(hello.nonce) < 16:
            raise HandshakeError("bad-nonce", f"nonce of {len(hello.nonce)} bytes")
        self.peer = hello.node
        self.peer_incarnation = hello.incarnation
        self._peer_nonce = hello.nonce
