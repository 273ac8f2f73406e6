"""The TCP transport: one long-lived, authenticated connection per pair of nodes.

Theory of operation. A pair of members keeps one connection. The member with the
smaller id is the *preferred dialer*: it dials at once, the other only after a short
delay and only while the pair has no connection, so a node that starts late or restarts
reaches its peers without waiting for their reconnection backoff. If both connections
complete anyway, a deterministic tie-break keeps the one the smaller id dialed, on both
sides. A connection from a peer's newer incarnation, or a redial by the same side (it saw
the old one die), replaces the old one. Failed dials wait ``reconnect_min`` doubling to
``reconnect_max``, each delay jittered by +-50 %, until the transport closes.

``send`` is the hot path. It encodes the frame straight into the peer's output buffer
and, once per event-loop iteration, one ``write`` hands the whole buffer to the socket:
when the node is busy, many frames share one system call. When the socket's own buffer
fills, asyncio pauses us and frames wait in ours: nothing addressed to a connected peer
is ever dropped (the perfect links above bound how much they send to a peer that does
not acknowledge), unless it reads nothing until ``send_buffer`` bytes wait, which closes
the connection. While a peer is not connected, frames wait up to ``backlog_buffer``
bytes and beyond are dropped and counted. When a connection is established, whatever
waited is discarded and ``connected(peer, incarnation)`` tells the links, which send
again everything the peer has not acknowledged: a connection that dies takes what it
held with it, and only a new one needs a resend.

A sweep timer closes connections that are idle or trickle a frame too slowly, and sends
keep-alives on quiet ones. Every closed connection is logged and counted by reason in
:class:`TransportStats`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import attrs
import msgspec

from ..errors import ConfigurationError
from ..link import LinkBatch, LinkData
from ..message import Message
from ._connection import Connection
from .auth import client_context, server_context
from .framing import HEADER, FrameEncoder
from .framing import pack_length_into as _pack_length_into
from .handshake import Ping
from .options import TransportOptions

__all__ = ["TcpTransport", "TransportStats", "parse_address"]

log = logging.getLogger("netweave.transport")

_QUIET = frozenset({"peer-closed", "connection-error", "replaced", "duplicate", "shutdown",
                    "identity-conflict"})


def parse_address(text: str) -> tuple[str, int]:
    """Split ``"host:port"`` (``"[v6]:port"`` too) into its parts."""
    host, sep, port = text.rpartition(":")
    if not sep or not (port.isascii() and port.isdecimal()) or not host:
        raise ConfigurationError(f"address {text!r} is not host:port")
    return host.strip("[]"), int(port)


@attrs.define
class TransportStats:
    """Counters of one transport (also reported by ``netweave node``'s ``stats`` command)."""

    accepted: int = 0
    dialed: int = 0
    connect_failures: int = 0
    established: int = 0
    frames_in: int = 0
    frames_out: int = 0
    bytes_out: int = 0
    writes: int = 0
    """Socket writes on peer channels (``frames_out / writes`` is the batching factor)."""
    dropped: int = 0
    """Frames dropped while their peer was not connected, beyond ``backlog_buffer``, or
    when a peer that read nothing had its connection closed (the links resend them on
    the next connection)."""
    discarded: int = 0
    """Frames that waited for a connection and were discarded when it came up: the links
    send again, on it, everything the peer has not acknowledged."""
    bad_payloads: int = 0
    conflicts: int = 0
    """Times two live connections claimed the same member without proof (both closed,
    each counted as ``identity-conflict`` in ``closed``)."""
    closed: Counter[str] = attrs.field(factory=Counter)
    """Closed connections by reason (``frame-too-large``, ``bad-proof``, ...)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        out = attrs.asdict(self)
        out["closed"] = dict(sorted(self.closed.items()))
        return out


@attrs.define(eq=False)
class _Channel:
    """Everything this node holds for one peer."""

    peer: str
    conn: Connection | None = None
    out: bytearray = attrs.field(factory=bytearray)
    waiting: int = 0
    """Frames in ``out`` queued while no connection was up."""
    flush_armed: bool = False
    dialer: asyncio.Task[None] | None = None


class TcpTransport:
    """Connections of one node to its peers, and its listening socket."""

    def __init__(self, *, node_id: str, cluster: str, incarnation: int,
                 members: tuple[str, ...], addresses: dict[str, str], listen: str,
                 receive: Callable[[str, Message], None], options: TransportOptions,
                 loop: asyncio.AbstractEventLoop, rng: random.Random,
                 connected: Callable[[str, int, bool], None] = lambda peer, inc, proven: None
                 ) -> None:
        self.node_id = node_id
        self.cluster = cluster
        self.incarnation = incarnation
        self.members = frozenset(members)
        self.addresses = addresses
        self.listen = listen
        self.receive = receive
        self.connected = connected
        """Called with ``(peer, incarnation, proven)`` when a connection to a peer is up;
        ``proven``: whether the transport proves node ids (keyring or mutual TLS)."""
        self.options = options
        self.loop = loop
        self.rng = rng
        self.stats = TransportStats()
        self.encoder = FrameEncoder()
        self._send_limit = options.send_buffer
        self._max_frame = options.max_frame
        self._encode_into = msgspec.msgpack.Encoder().encode_into
        self._backlog_limit = options.backlog_buffer
        security = options.security
        self.server_tls: ssl.SSLContext | None = server_context(security) if security.tls else None
        self.client_tls: ssl.SSLContext | None = client_context(security) if security.tls else None
        self.upgrade_tls = isinstance(loop, asyncio.BaseEventLoop)
        """Whether accepted connections start plain and upgrade with ``start_tls`` (stdlib
        loops), so that failed TLS handshakes are counted. Other loops (uvloop) do TLS in
        the server; their failed handshakes are only logged by the loop."""
        self.proven = security.proven
        """Whether connections are tied to one node id (keyring or mutual TLS)."""
        self.channels = {p: _Channel(p) for p in sorted(self.members - {node_id})}
        self.connections: set[Connection] = set()
        self.pending = 0
        self.closing = False
        self.address: tuple[str, int] | None = None
        """Where the server listens (the real port when ``listen`` asked for port 0)."""
        self.before_write: Callable[[], None] | None = None
        """Called before frames go to a socket (the runtime flushes the trace there, so a
        message never leaves the process before the trace lines that explain it)."""
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        for peer in self.channels:
            if peer > node_id and peer not in addresses:
                raise ConfigurationError(f"node {node_id!r}: no address for peer {peer!r}")

    # -- lifecycle --------------------------------------------------------------------

    async def bind(self) -> tuple[str, int]:
        """Open the listening socket (not yet accepting); returns its address."""
        host, port = parse_address(self.listen)
        try:
            native = self.server_tls is not None and not self.upgrade_tls
            self._server = await self.loop.create_server(
                lambda: Connection(self, "accept"), host, port, reuse_address=True,
                backlog=128, start_serving=False, ssl=self.server_tls if native else None,
                ssl_handshake_timeout=self.options.handshake_timeout if native else None)
        except OSError as exc:
            raise ConfigurationError(f"node {self.node_id!r} cannot listen on "
                                     f"{self.listen}: {exc.strerror or exc}") from exc
        sockname = self._server.sockets[0].getsockname()
        self.address = (sockname[0], sockname[1])
        return self.address

    async def open(self) -> None:
        """Accept connections and dial the peers this node is responsible for."""
        if self._server is None:
            await self.bind()
        assert self._server is not None
        await self._server.start_serving()
        for peer, ch in self.channels.items():
            if peer in self.addresses:
                ch.dialer = self.loop.create_task(self._dial_forever(ch))
        self._sweep_every = min(0.5, self.options.frame_timeout / 4,
                                self.options.idle_timeout / 6)
        self._sweeper = self.loop.call_later(self._sweep_every, self._sweep)

    async def close(self, grace: float = 1.0) -> None:
        """Flush what is queued, close every connection, stop dialing and listening."""
        self.closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for ch in self.channels.values():
            if ch.dialer is not None:
                ch.dialer.cancel()
            self.flush(ch)
        for task in list(self._tasks):
            task.cancel()
        waiting = [c.done for c in self.connections]
        for conn in list(self.connections):
            conn.close("shutdown", "node stopping", level=logging.DEBUG)
        dialers = [ch.dialer for ch in self.channels.values() if ch.dialer is not None]
        pending = [*waiting, *dialers, *self._tasks]
        if pending:
            await asyncio.wait(pending, timeout=grace)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- sending (the hot path) -------------------------------------------------------

    def send(self, peer: str, message: Message) -> None:
        """Queue one frame for ``peer``; written with the others at the end of this step."""
        ch = self.channels.get(peer)
        if ch is None:
            self.stats.dropped += 1
            return
        out = ch.out
        start = len(out)
        conn = ch.conn
        if start >= (self._send_limit if conn is not None else self._backlog_limit):
            if conn is not None:  # a peer that reads nothing: a new connection starts over
                conn.close("slow-reader", f"{start} bytes not taken by the peer")
            self.stats.dropped += 1
            return
        # FrameEncoder.append, inlined: this runs once per message.
        self._encode_into(message, out, start + HEADER)
        size = len(out) - start - HEADER
        if size > self._max_frame and type(message) is LinkBatch:
            del out[start:]  # too big for the peer as one frame: one frame per message
            self._split(peer, message)
            return
        _pack_length_into(out, start, size)
        self.stats.frames_out += 1
        if conn is None:
            ch.waiting += 1
        if conn is not None and not ch.flush_armed:
            ch.flush_armed = True
            self.loop.call_soon(self.flush, ch)

    def _split(self, peer: str, batch: LinkBatch) -> None:
        metas = batch.metas
        for i, body in enumerate(batch.bodies):
            meta = metas[i] if metas is not None and i < len(metas) else None
            self.send(peer, LinkData(batch.inc, batch.dst, batch.seq + i, body, meta))

    def flush(self, ch: _Channel) -> None:
        ch.flush_armed = False
        conn = ch.conn
        if conn is None or conn.paused or conn.closed or not ch.out:
            return
        if self.before_write is not None:
            self.before_write()
        data = ch.out
        ch.out = bytearray()
        self.stats.bytes_out += len(data)
        self.stats.writes += 1
        conn.tx += len(data)
        assert conn.transport is not None
        conn.transport.write(data)

    # -- connections ------------------------------------------------------------------

    def admit(self, conn: Connection) -> bool:
        if conn.role == "accept":
            self.stats.accepted += 1
            if self.closing:
                conn.close("shutdown", "node stopping", abort=True, level=logging.DEBUG)
                return False
            if len(self.connections) >= self.options.max_connections:
                conn.close("connection-cap", f"{len(self.connections)} connections open",
                           abort=True)
                return False
            if self.pending >= self.options.max_pending:
                conn.close("connection-cap", f"{self.pending} connections in handshake",
                           abort=True)
                return False
        self.connections.add(conn)
        self.pending += 1
        return True

    def established(self, conn: Connection) -> None:
        self.pending -= 1
        ch = self.channels[conn.peer]
        old = ch.conn
        self.stats.established += 1
        log.info("%s: connected to %s (incarnation %d) at %s, %s", self.node_id, conn.peer,
                 conn.peer_incarnation, conn.address, conn.role)
        if old is not None and old is not conn:
            if not self.proven and not self._race(old, conn):
                self._conflict(old, conn)
                return
            if not self._prefer(old, conn):
                if conn.peer_incarnation < old.peer_incarnation:
                    conn.close("stale-incarnation", f"incarnation {conn.peer_incarnation} is "
                               f"lower than {old.peer_incarnation}, connected: incarnations "
                               "must grow across restarts", level=logging.WARNING)
                else:
                    conn.close("duplicate", f"keeping {old}", level=logging.INFO)
                return
            old.close("replaced", f"new connection from {conn.address}", level=logging.INFO)
        ch.conn = conn
        conn.channel = ch
        if ch.out:
            # Frames that waited for a connection: the links send again all that matters.
            if ch.waiting:
                self.stats.discarded += ch.waiting
                log.debug("%s: %d frames that waited for %s discarded; the links resend "
                          "what it has not acknowledged", self.node_id, ch.waiting, conn.peer)
            ch.out = bytearray()
            ch.waiting = 0
        self.connected(conn.peer, conn.peer_incarnation, self.proven)
        if ch.out and not ch.flush_armed:
            ch.flush_armed = True
            self.loop.call_soon(self.flush, ch)

    def _prefer(self, old: Connection, new: Connection) -> bool:
        """Whether ``new`` should replace ``old`` as the connection to their peer."""
        if new.peer_incarnation != old.peer_incarnation:
            return new.peer_incarnation > old.peer_incarnation
        old_dialer = self.node_id if old.role == "dial" else old.peer
        new_dialer = self.node_id if new.role == "dial" else new.peer
        if old_dialer == new_dialer:
            return True  # the same side dialed again: it saw the old one die
        return new_dialer == min(self.node_id, new.peer)

    def _race(self, old: Connection, new: Connection) -> bool:
        """Whether ``new`` and the live ``old`` are the two ends of one pair dialing each
        other at once: same incarnation, each side dialed one (the tie-break decides)."""
        return new.peer_incarnation == old.peer_incarnation and old.role != new.role

    def _conflict(self, old: Connection, new: Connection) -> None:
        """Two live connections claim the same member, and nothing proves which one is
        it (a shared secret lets every member claim every id): believe neither. Closing
        both, rather than keeping the first or the newest, leaves no claim in place that
        would lock the real node out; it dials again, and so may the other claimant, which
        is a conflict again, logged and counted each time."""
        self.stats.conflicts += 1
        log.warning("%s: two connections claim to be %s: incarnation %d at %s (%s) and "
                    "incarnation %d at %s (%s); nothing proves which one is %s (a shared "
                    "secret lets every member claim every id; a keyring or mutual TLS "
                    "would tell): closing both", self.node_id, new.peer,
                    old.peer_incarnation, old.address, old.role, new.peer_incarnation,
                    new.address, new.role, new.peer)
        detail = f"another live connection claims {new.peer}"
        new.close("identity-conflict", detail, level=logging.INFO)
        old.close("identity-conflict", detail, level=logging.INFO)

    def closed(self, conn: Connection, reason: str, detail: str, level: int) -> None:
        self.stats.closed[reason] += 1
        if reason in _QUIET and level > logging.INFO:
            level = logging.INFO
        log.log(level, "%s: closed connection %s: %s (%s)", self.node_id, conn, reason, detail)

    def forget(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            if not conn.established:
                self.pending -= 1
        ch = conn.channel
        if ch is not None and ch.conn is conn:
            ch.conn = None
        if not conn.done.done():
            conn.done.set_result(None)

    async def _dial_forever(self, ch: _Channel) -> None:
        opts = self.options
        preferred = self.node_id < ch.peer
        delay = opts.reconnect_min
        host, port = parse_address(self.addresses[ch.peer])
        tls = self.client_tls
        while not self.closing:
            current = ch.conn
            if current is not None or not preferred:
                if current is not None:
                    await asyncio.shield(current.done)
                    delay = opts.reconnect_min
                if not preferred:  # give the preferred dialer the first chance
                    await asyncio.sleep(2 * opts.reconnect_min * self.rng.uniform(0.5, 1.5))
                    if ch.conn is not None:
                        continue
            conn = Connection(self, "dial", expected=ch.peer)
            self.stats.dialed += 1
            try:
                await asyncio.wait_for(self.loop.create_connection(
                    lambda conn=conn: conn, host, port, ssl=tls,
                    ssl_handshake_timeout=opts.handshake_timeout if tls else None),
                    opts.connect_timeout + (opts.handshake_timeout if tls else 0))
            except ssl.SSLError as exc:
                self.stats.connect_failures += 1
                log.warning("%s: TLS with %s failed: %s", self.node_id, ch.peer, exc)
            except (TimeoutError, OSError) as exc:
                self.stats.connect_failures += 1
                log.debug("%s: dialing %s at %s:%d failed: %r", self.node_id, ch.peer, host,
                          port, exc)
            else:
                await asyncio.shield(conn.done)
                if conn.established:
                    delay = opts.reconnect_min
                    continue
            await asyncio.sleep(delay * self.rng.uniform(0.5, 1.5))
            delay = min(delay * 2, opts.reconnect_max)

    # -- housekeeping -----------------------------------------------------------------

    def _sweep(self) -> None:
        now = self.loop.time()
        opts = self.options
        keepalive = opts.idle_timeout / 3
        for conn in list(self.connections):
            if conn.rx != conn.seen_rx:
                conn.seen_rx = conn.rx
                conn.active_at = now
            elif now - conn.active_at >= opts.idle_timeout:
                conn.close("idle-timeout", f"silent for {now - conn.active_at:.1f}s")
                continue
            frames = conn.decoder.frames
            if conn.decoder.buffered == 0 or frames != conn.seen_frames:
                conn.seen_frames = frames
                conn.frame_since = now
            elif now - conn.frame_since >= opts.frame_timeout:
                conn.close("slow-frame", f"{conn.decoder.buffered} bytes of a frame in "
                           f"{now - conn.frame_since:.1f}s")
                continue
            ch = conn.channel
            if ch is not None:
                if conn.tx != conn.seen_tx:
                    conn.seen_tx = conn.tx
                    conn.tx_at = now
                elif now - conn.tx_at >= keepalive:
                    conn.tx_at = now
                    self.send(ch.peer, Ping())
        if not self.closing:
            self._sweeper = self.loop.call_later(self._sweep_every, self._sweep)
