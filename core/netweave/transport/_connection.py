"""One TCP connection: TLS, handshake, then link frames in and out (asyncio protocol).

A connection starts *pending*: it must finish (TLS and) the handshake within
``handshake_timeout`` and may send only tiny frames meanwhile. Once the peer is
identified it becomes the peer's channel connection; every later frame must be a link
message from the incarnation bound by the handshake, or a keep-alive. Any violation
closes the connection with a reason that is logged and counted; the rest of the node
carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal, Protocol, cast

from ..link import LinkAck, LinkBatch, LinkData, LinkFenced, LinkHello
from ..message import Message
from .auth import certificate_names
from .framing import FrameDecoder, FrameEncoder, FrameError, MessageCodec
from .handshake import Handshake, HandshakeError, Hello, Ping, Proof, Refuse
from .options import TransportOptions

__all__ = ["HANDSHAKE_MAX_FRAME", "Connection", "ConnectionOwner"]

log = logging.getLogger("netweave.transport")

HANDSHAKE_MAX_FRAME = 4096
"""Largest frame accepted before the peer is identified."""

_HANDSHAKE_CODEC: MessageCodec[Message] = MessageCodec([Hello, Proof, Refuse])
_LINK_CODEC: MessageCodec[Message] = MessageCodec(
    [LinkData, LinkBatch, LinkAck, LinkHello, LinkFenced, Ping])


class ConnectionOwner(Protocol):
    """What a connection needs from the transport that owns it (``TcpTransport``): its
    node's identity and settings, and the calls by which a connection reports."""

    node_id: str
    cluster: str
    incarnation: int
    members: frozenset[str]
    options: TransportOptions
    loop: asyncio.AbstractEventLoop
    server_tls: ssl.SSLContext | None
    upgrade_tls: bool
    encoder: FrameEncoder
    stats: Any
    receive: Callable[[str, Message], None]

    def admit(self, conn: Connection) -> bool:
        """A new connection (accepted or dialed): whether it may go on."""
        ...

    def established(self, conn: Connection) -> None:
        """The handshake identified the peer of ``conn``."""
        ...

    def closed(self, conn: Connection, reason: str, detail: str, level: int) -> None:
        """``conn`` was closed for ``reason`` (count and log it)."""
        ...

    def forget(self, conn: Connection) -> None:
        """``conn`` is gone: drop every reference to it."""
        ...

    def flush(self, channel: Any) -> None:
        """Write what waits on ``channel`` (the socket can take more)."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task the transport ends when it closes."""
        ...


class Connection(asyncio.Protocol):
    """The protocol object of one connection, dialed or accepted."""

    def __init__(self, tcp: ConnectionOwner, role: Literal["dial", "accept"],
                 expected: str | None = None) -> None:
        self.tcp = tcp
        self.role = role
        self.expected = expected
        self.transport: asyncio.Transport | None = None
        self.decoder = FrameDecoder(HANDSHAKE_MAX_FRAME)
        self.handshake: Handshake | None = None
        self.peer = ""
        self.peer_incarnation = 0
        self.channel: Any = None
        """The owner's state for this connection's peer, once established."""
        self.established = False
        self.closed = False
        self.paused = False
        self.address = "?"
        self.rx = 0
        """Bytes received so far (watched by the transport's sweep)."""
        self.tx = 0
        """Bytes handed to the socket on the peer channel (for keep-alives)."""
        self.seen_tx = 0
        self.tx_at = 0.0
        self.seen_rx = 0
        self.seen_frames = 0
        self.active_at = 0.0
        self.frame_since = 0.0
        self.done: asyncio.Future[None] = tcp.loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._early = bytearray()

    # -- asyncio callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport: no isinstance check here.
        self.transport = cast(asyncio.Transport, transport)
        transport = self.transport
        peername = transport.get_extra_info("peername")
        if peername:
            self.address = f"{peername[0]}:{peername[1]}"
        now = self.tcp.loop.time()
        self.active_at = self.frame_since = self.tx_at = now
        if not self.tcp.admit(self):
            return
        self._timer = self.tcp.loop.call_later(self.tcp.options.handshake_timeout,
                                               self._handshake_expired)
        if self.role == "accept" and self.tcp.server_tls is not None and self.tcp.upgrade_tls:
            transport.pause_reading()  # the TLS layer reads first; start_tls() resumes
            self.tcp.spawn(self._accept_tls(transport))
        else:
            self._begin(transport)

    async def _accept_tls(self, raw: asyncio.Transport) -> None:
        tcp = self.tcp
        try:
            tls = await tcp.loop.start_tls(
                raw, self, tcp.server_tls, server_side=True,  # type: ignore[arg-type]
                ssl_handshake_timeout=tcp.options.handshake_timeout)
        except (TimeoutError, OSError, ConnectionError) as exc:
            self.close("tls-failed", f"{type(exc).__name__}: {exc}", abort=True)
            return
        if self.closed or tls is None:
            if tls is not None:
                tls.abort()
            return
        self.transport = tls
        self._begin(tls)

    def _begin(self, transport: asyncio.Transport) -> None:
        tcp = self.tcp
        certified = None
        if tcp.server_tls is not None:
            certified = certificate_names(transport.get_extra_info("peercert"))
        security = tcp.options.security
        # Where nothing proves which member a connection is, a claimed incarnation is
        # bounded: a false one far ahead would outlast every restart of the real node.
        ahead = None if security.proven else int(
            (time.time() + tcp.options.incarnation_ahead) * 1000)
        self.handshake = Handshake(
            tcp.cluster, tcp.node_id, tcp.incarnation, self.role, tcp.members,
            expected=self.expected, secret=security.secret, certified=certified,
            keyring=security.keyring, max_incarnation=ahead)
        self._write_now(self.handshake.initiate())
        if self._early:
            early, self._early = bytes(self._early), bytearray()
            self.rx -= len(early)
            self.data_received(early)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.rx += len(data)
        if self.handshake is None:
            # TLS finished and the peer spoke before start_tls() returned: hold it briefly.
            self._early += data
            if len(self._early) > HANDSHAKE_MAX_FRAME:
                self.close("frame-too-large", "too much data before the handshake")
            return
        try:
            bodies = self.decoder.feed(data) if self.established else self._handshake_feed(data)
        except FrameError as exc:
            self.close(exc.reason, str(exc), refuse=not self.established)
            return
        if not bodies:
            return
        self.tcp.stats.frames_in += len(bodies)
        decode = _LINK_CODEC.decode
        receive = self.tcp.receive
        peer = self.peer
        inc = self.peer_incarnation
        for body in bodies:
            try:
                msg: Any = decode(body)
            except FrameError as exc:
                self.close(exc.reason, str(exc))
                return
            if type(msg) is Ping:
                continue
            if msg.inc != inc:
                self.close("wrong-sender", f"frame from incarnation {msg.inc} on the "
                           f"connection of {peer} incarnation {inc}")
                return
            try:
                receive(peer, msg)
            except Exception as exc:  # a payload that does not revive: count, keep going
                self.tcp.stats.bad_payloads += 1
                log.warning("%s: bad payload from %s: %r", self.tcp.node_id, peer, exc)

    def _handshake_feed(self, data: bytes) -> list[memoryview]:
        """Read the handshake's frames one by one under its own size limit; once it is
        done, the frames that came with its last one, under the connection's ``max_frame``
        (a peer may send its first link frames in the same write as its last handshake
        frame)."""
        hs = self.handshake
        assert hs is not None
        decoder = self.decoder
        while True:
            bodies = decoder.feed(data, 1)
            data = b""
            if not bodies:
                return []
            try:
                replies = hs.receive(_HANDSHAKE_CODEC.decode(bodies[0]))
            except (FrameError, HandshakeError) as exc:
                self.close(exc.reason, str(exc), refuse=exc.reason != "refused-by-peer")
                return []
            self._write_now(replies)
            if self.closed:
                return []
            if hs.done:
                self._identified(hs)
                return decoder.feed(b"") if not self.closed else []

    def _identified(self, hs: Handshake) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.peer = hs.peer
        self.peer_incarnation = hs.peer_incarnation
        self.decoder.max_frame = self.tcp.options.max_frame
        self.established = True
        self.tcp.established(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            reason = "peer-closed" if exc is None else "connection-error"
            self.tcp.closed(self, reason, str(exc or "end of stream"), logging.INFO)
        self.tcp.forget(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.channel is not None:
            self.tcp.flush(self.channel)

    # -- actions ----------------------------------------------------------------------

    def _write_now(self, messages: list[Message]) -> None:
        if messages and self.transport is not None and not self.closed:
            buf = bytearray()
            for m in messages:
                self.tcp.encoder.append(buf, m)
            self.transport.write(buf)

    def _handshake_expired(self) -> None:
        self._timer = None
        if not self.established:
            self.close("handshake-timeout",
                       f"no handshake within {self.tcp.options.handshake_timeout}s")

    def close(self, reason: str, detail: str, *, refuse: bool = False,
              abort: bool = False, level: int = logging.WARNING) -> None:
        """Close with a logged, counted ``reason``; ``refuse`` tells the peer why first."""
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        transport = self.transport
        if transport is not None:
            if refuse and not abort:
                with contextlib.suppress(Exception):  # the transport may already be broken
                    transport.write(self.tcp.encoder.frame(Refuse(reason)))
            if abort:
                transport.abort()
            else:
                transport.close()
        self.tcp.closed(self, reason, detail, level)
        self.tcp.forget(self)

    def __repr__(self) -> str:
        who = self.peer or self.expected or "?"
        return f"<Connection {self.role} {who} {self.address}>"
