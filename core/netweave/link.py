"""Perfect links over a fair-loss transport, without I/O.

Theory of operation. Every link message carries the sender's incarnation ``inc`` and the
incarnation it believes the receiver has, ``dst``. A *session* is one pair of
incarnations; sequence numbers start at 1 in every session. Before sending data to a peer
whose incarnation is unknown, the link sends ``Hello`` and queues the data; any message
from the peer teaches its incarnation. When a peer shows a higher incarnation (it
restarted: a new process), its receive state is reset and the messages it never
acknowledged are sequenced anew for the new session. Messages addressed to another of
our incarnations are dropped: they were meant for a process that no longer exists.

The receiver delivers each ``(peer, incarnation, seq)`` once: it keeps the highest
contiguous sequence number it has seen and the set of numbers above it (bounded by the
sender's window), and acknowledges cumulatively, with a few selective acks, coalesced
once per run-to-completion step. The sender retransmits unacknowledged messages after a
timeout that doubles (up to a cap) while no acknowledgement makes progress, so a healed
partition or a reconnect resends what TCP may have lost in its buffers. A peer silent for a
whole timeout gets one probe instead of its whole queue; its first answer makes everything
overdue go out again at once.

Over a transport that is reliable while a connection lives (TCP: ``reliable=True``),
nothing is resent on a timer: a message can only be lost with its connection, so the
runtime calls :meth:`PerfectLinks.connected` when a new connection to a peer is up, and
everything that peer has not acknowledged is sent again then. Resending over a live
connection only adds load, and under load it turns into a storm. Timers still repeat a
``Hello`` to a peer whose incarnation is unknown. There, too, what one run-to-completion
step sends to a peer leaves as one ``LinkBatch`` when the step ends (up to ``batch``
messages): one frame to encode, decode and dispatch instead of one per message.

Fencing makes a perfect failure detector's verdict true. ``forget(peer)`` (the peer was
declared crashed) also *fences* the peer's current incarnation: whatever arrives from
it later is answered with ``LinkFenced`` (at most once per timeout), and a process that
learns it was fenced ends (``on_fenced``). A pause or an overload that outlasted the
detector's timeout becomes a crash, and a new incarnation of the node may join, instead
of a zombie that the others ignore while it goes on accepting work. What the fenced
process sent before it learnt is still delivered, as a crashed process's messages in
flight are: the layers above decide what to do with them (the book's algorithms relay
them).

Memory is bounded and nothing is lost silently: a peer's unacknowledged messages count
against ``high_water``, above which :meth:`PerfectLinks.congested` asks the application
to wait; a receiver that cannot keep up (:meth:`PerfectLinks.hold_acks`) withholds its
acknowledgements, so its senders' queues fill and push back in turn. Messages are
dropped only for a peer that is gone: one a perfect failure detector declared crashed
(``forget``; its newest ``crashed_backlog`` are kept for its next process) or one silent
for ``stall_after`` whose queue reached ``hard_limit``. Every drop is counted in
:attr:`PerfectLinks.dropped` and logged once per peer and episode.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._link_types import (
    DEFAULT_LINK_OPTIONS,
    LinkAck,
    LinkBatch,
    LinkData,
    LinkFenced,
    LinkHello,
    LinkOptions,
)
from .message import Message, revive

__all__ = ["LinkAck", "LinkBatch", "LinkData", "LinkFenced", "LinkHello", "LinkOptions",
           "PerfectLinks"]

log = logging.getLogger("netweave.link")


class _Peer:
    """What one endpoint knows of one peer (send and receive state of the session)."""

    __slots__ = ("ack_due", "backlog", "dropping", "fenced", "forgotten", "heard_at", "hello_at",
                 "inc", "learnt_at", "next_seq", "outbox", "past", "received", "resync_rx",
                 "resync_tx", "rto", "rx_ahead", "rx_upto", "told_at", "unacked", "waiting")

    def __init__(self, rto: float, heard_at: float) -> None:
        self.inc = 0
        self.next_seq = 1
        self.unacked: dict[int, tuple[Any, Any, float]] = {}
        self.waiting: deque[tuple[Any, Any]] = deque()
        self.rto = rto
        self.hello_at = -1.0
        self.rx_upto = 0
        self.rx_ahead: set[int] = set()
        self.ack_due = False
        self.forgotten = False
        self.backlog: deque[tuple[Any, Any]] | None = None  # only once declared crashed
        self.heard_at = heard_at
        self.received: float | None = None  # last message from the current process
        self.learnt_at: float | None = None  # when the current process was learnt
        self.dropping = 0  # messages dropped in the current episode (logged when it starts)
        self.fenced = 0  # this incarnation and older ones are refused (declared crashed)
        self.outbox: list[tuple[int, Any, Any]] = []  # reliable: sent when the step ends
        self.told_at = -1.0  # when the fenced process was last told so
        # A session taken up again (``connected(proven=False)``): the numbers it continues
        # at come from the peer's first data (rx) and its first acknowledgement (tx).
        self.resync_rx = False
        self.resync_tx = False
        # The session the last restart ended: (inc, rx_upto, rx_ahead, next_seq, unacked).
        self.past: tuple[int, int, set[int], int, dict[int, tuple[Any, Any, float]]] | None
        self.past = None


class PerfectLinks:
    """The perfect-link endpoint of one node (one per incarnation)."""

    def __init__(
        self,
        node_id: str,
        incarnation: int,
        *,
        transmit: Callable[[str, Message], None],
        deliver: Callable[[str, Any, dict[str, Any] | None], None],
        now: Callable[[], float],
        call_later: Callable[[float, Callable[[], None]], Any],
        call_soon: Callable[[Callable[[], None]], Any] | None = None,
        on_peer_restart: Callable[[str, int], None] = lambda peer, inc: None,
        on_fenced: Callable[[str], None] = lambda peer: None,
        options: LinkOptions | None = None,
        reliable: bool = False,
    ) -> None:
        self.node_id = node_id
        self.incarnation = incarnation
        self.options = options or DEFAULT_LINK_OPTIONS  # also sets _rto, _max_rto, _hard_limit
        self._transmit = transmit
        self._deliver = deliver
        self._now = now
        self._call_later = call_later
        self._call_soon = call_soon or (lambda fn: call_later(0.0, fn))
        self._on_peer_restart = on_peer_restart
        self._on_fenced = on_fenced
        self._peers: dict[str, _Peer] = {}
        self._timer_armed = False
        self._ack_flush_armed = False
        self.reliable = reliable
        """Whether the transport loses nothing while a connection lives (resend only on
        :meth:`connected`, never on a timer)."""
        self._holding = False
        self._outbox_armed = False
        self._headroom = 0  # sends left before a cached "not congested" must be checked
        self._clear_until = 0.0
        # Bound once: every acknowledgement and every timer schedules one of them.
        self._flush: Callable[[], None] = self._flush_acks
        self._tick: Callable[[], None] = self._on_timer
        self.dropped = 0
        """Messages dropped on this side, all for a peer that is gone: a peer silent for
        ``stall_after`` whose queue was at ``hard_limit``, or a crashed peer whose backlog
        already held its ``crashed_backlog`` newest messages. Never a live peer's."""
        self.duplicates = 0
        """Data messages received more than once (and delivered once)."""
        self.resent: dict[str, int] = {}
        """Data messages sent again, per peer: on a timer over a lossy transport, on a new
        connection over a reliable one."""
        self.stale = 0
        """Messages from or for another incarnation, dropped."""
        self.malformed = 0
        """Messages that are not link messages at all, dropped."""
        self.fenced = 0
        """Messages that arrived from a process after it was declared crashed (each is
        answered, at most once per timeout, with ``LinkFenced``; see ``forget``)."""
        self._lower_seen: set[tuple[str, int]] = set()

    @property
    def options(self) -> LinkOptions:
        """The tuning of these links; may be replaced while they run."""
        return self._options

    @options.setter
    def options(self, value: LinkOptions) -> None:
        self._options = value
        # Read on every message and timer: plain attributes, not the options' own.
        self._rto = value.rto
        self._max_rto = value.max_rto
        self._hard_limit = value.hard_limit
        self._batch = value.batch

    # -- sending ----------------------------------------------------------------------

    def _peer(self, peer: str) -> _Peer:
        state = self._peers.get(peer)
        if state is None:
            state = self._peers[peer] = _Peer(self._rto, self._now())
        return state

    def send(self, peer: str, body: Any, meta: dict[str, Any] | None = None) -> None:
        """Send ``body`` to ``peer``: delivered exactly once while both stay up."""
        p = self._peer(peer)
        if p.forgotten:
            # A peer declared crashed gets nothing until it comes back as a new process;
            # that process may have started before we learn of it, so keep the newest.
            self._hold(p, ((body, meta),))
            return
        if len(p.unacked) + len(p.waiting) >= self._hard_limit and self._gone(p):
            self._drop(peer, p, "silent for stall_after with hard_limit messages queued")
            return
        if p.inc == 0 or p.resync_tx:
            self._headroom -= 1
            p.waiting.append((body, meta))
            self._hello(peer, p)
        else:
            self._send_data(peer, p, body, meta)
            if self.reliable:
                return  # nothing to time: the transport reports a lost connection
        if not self._timer_armed:
            self._arm_timer()

    def _send_data(self, peer: str, p: _Peer, body: Any, meta: Any) -> None:
        self._headroom -= 1
        seq = p.next_seq
        p.next_seq = seq + 1
        p.unacked[seq] = (body, meta, self._now())
        if self.reliable and self._batch > 1:
            p.outbox.append((seq, body, meta))
            if not self._outbox_armed:
                self._outbox_armed = True
                self._call_soon(self._flush_outboxes)
            return
        self._transmit(peer, LinkData(self.incarnation, p.inc, seq, body, meta))

    def _flush_outboxes(self) -> None:
        """Send what this step queued for each peer, ``batch`` messages per frame."""
        self._outbox_armed = False
        size = self._batch
        inc = self.incarnation
        for name, p in self._peers.items():
            out = p.outbox
            if not out:
                continue
            p.outbox = []
            for start in range(0, len(out), size):
                part = out[start:start + size]
                if len(part) == 1:
                    seq, body, meta = part[0]
                    self._transmit(name, LinkData(inc, p.inc, seq, body, meta))
                    continue
                metas = [meta for _, _, meta in part]
                self._transmit(name, LinkBatch(
                    inc, p.inc, part[0][0], [body for _, body, _ in part],
                    metas if any(m is not None for m in metas) else None))

    def _gone(self, p: _Peer) -> bool:
        """Whether ``p`` has been silent for ``stall_after`` (it may have crashed)."""
        return p.heard_at <= self._now() - self.options.stall_after

    def _drop(self, peer: str, p: _Peer, why: str) -> None:
        self.dropped += 1
        p.dropping += 1
        if p.dropping == 1:
            log.warning("%s: dropping messages to %s (%s); counted in links.dropped",
                        self.node_id, peer, why)

    def _hello(self, peer: str, p: _Peer) -> None:
        now = self._now()
        if p.hello_at < 0 or now - p.hello_at >= p.rto:
            p.hello_at = now
            self._transmit(peer, LinkHello(self.incarnation, p.inc))

    def greet(self, peers: Iterable[str]) -> None:
        """Learn the incarnations of ``peers`` now, so the first message pays no round trip."""
        for peer in peers:
            p = self._peer(peer)
            if p.inc == 0:
                self._hello(peer, p)
        self._arm_timer_if(any(p.inc == 0 for p in self._peers.values()))

    def pending(self, peer: str | None = None) -> int:
        """Messages not yet acknowledged, to ``peer`` or to everyone."""
        return sum(len(p.unacked) + len(p.waiting) for p in self._select(peer))

    def _select(self, peer: str | None) -> list[_Peer]:
        """The state of ``peer`` (none if unknown), or of every peer."""
        if peer is None:
            return list(self._peers.values())
        return [self._peers[peer]] if peer in self._peers else []

    def congested(self, ignore: frozenset[str] = frozenset()) -> bool:
        """Whether some live peer (not in ``ignore``) has ``high_water`` messages unacked,
        or, over a reliable transport, a peer heard lately has had one unacknowledged for
        more than ``max_delay`` seconds.

        A peer silent for ``stall_after`` seconds does not count: a crashed peer must not
        stop the cluster from broadcasting when no perfect detector reports the crash.
        The delay rule only counts a peer whose current process was heard within
        ``2 * max_delay``: one that went silent may have crashed, and one never heard may
        not be there at all; both fall back to the count.
        """
        now = self._now()
        if not ignore and self._headroom > 0 and now < self._clear_until:
            return False  # asked again within the same moment, and nothing sent since
        options = self.options
        hw = options.high_water
        since = now - options.stall_after
        max_delay = options.max_delay if self.reliable else 0.0
        lately = now - 2 * max_delay
        headroom = hw
        clear_until = now + 0.002
        for name, p in self._peers.items():
            if name in ignore:
                continue
            unacked = p.unacked
            queued = len(unacked) + len(p.waiting)
            if queued >= hw and p.heard_at > since:
                return True
            headroom = min(headroom, hw - queued)
            received = p.received
            if max_delay and unacked and received is not None and received > lately:
                for _body, _meta, sent in unacked.values():  # the oldest comes first
                    if now - sent > max_delay:
                        return True
                    clear_until = min(clear_until, sent + max_delay)
                    break
        if not ignore:
            # Not congested: the answer holds until a send could reach high_water, or
            # until the oldest message could exceed max_delay (2 ms at most, for peers
            # that start or stop being heard meanwhile).
            self._headroom = headroom
            self._clear_until = clear_until
        return False

    def congestion(self) -> str:
        """Why :meth:`congested` holds, naming the peer and the rule ("" if it does not)."""
        now = self._now()
        options = self.options
        hw = options.high_water
        since = now - options.stall_after
        max_delay = options.max_delay if self.reliable else 0.0
        for name, p in self._peers.items():
            queued = len(p.unacked) + len(p.waiting)
            if queued >= hw and p.heard_at > since:
                return (f"peer {name!r} has {queued} messages unacknowledged "
                        f"(high_water {hw})")
            received = p.received
            if max_delay and p.unacked and received is not None and (
                    received > now - 2 * max_delay):
                sent = next(iter(p.unacked.values()))[2]
                if now - sent > max_delay:
                    return (f"peer {name!r} has left a message unacknowledged for "
                            f"{now - sent:.3f}s (max_delay {max_delay}s)")
        return ""

    def forget(self, peer: str) -> None:
        """Stop sending to ``peer`` (declared crashed by a perfect detector).

        Its queue shrinks to the newest ``crashed_backlog`` messages, kept for a new
        process of the same node: one may have started before this report arrived, and
        what was sent since it started is owed to it.
        """
        p = self._peer(peer)
        p.fenced = max(p.fenced, p.inc)
        self._hold(p, [(body, meta) for _, (body, meta, _) in sorted(p.unacked.items())])
        self._hold(p, p.waiting)
        p.unacked.clear()
        p.waiting.clear()
        p.outbox = []
        p.forgotten = True
        if self.reliable and p.fenced:
            self._arm_timer()  # tells the fenced process, until a new one joins

    def _hold(self, p: _Peer, items: Iterable[tuple[Any, Any]]) -> None:
        """Keep ``items`` for a crashed peer's next process; the oldest beyond
        ``crashed_backlog`` are lost (and counted in :attr:`dropped`)."""
        if p.backlog is None:
            p.backlog = deque(maxlen=self.options.crashed_backlog)
        backlog = p.backlog
        for item in items:
            if len(backlog) == backlog.maxlen:
                self.dropped += 1
                if p.dropping == 0:
                    log.info("%s: a peer declared crashed has %d messages held for its next "
                             "process; older ones are dropped", self.node_id, backlog.maxlen)
                p.dropping += 1
            backlog.append(item)

    def peer_incarnation(self, peer: str) -> int | None:
        """The incarnation of ``peer``'s process these links talk to (``None``: not known)."""
        state = self._peers.get(peer)
        return state.inc or None if state is not None else None

    def heard_from(self, peer: str) -> float | None:
        """When a message of ``peer``'s current process last arrived, or when that
        process was learnt (by its connection) if no message came since; ``None`` if
        never."""
        state = self._peers.get(peer)
        if state is None:
            return None
        received, learnt = state.received, state.learnt_at
        if received is None or (learnt is not None and learnt > received):
            return learnt
        return received

    def held(self, peer: str | None = None) -> int:
        """Messages kept for the next process of a peer declared crashed (or all such peers)."""
        return sum(len(p.backlog) for p in self._select(peer) if p.backlog is not None)

    # -- receiving --------------------------------------------------------------------

    def on_receive(self, peer: str, msg: Message) -> None:
        """Process one link message that arrived from ``peer`` (already authenticated)."""
        m: Any = msg  # one of the three link messages, once the check below passed
        kind = type(m)
        if kind is not LinkData and kind is not LinkAck and kind is not LinkHello \
                and kind is not LinkBatch:
            if kind is LinkFenced:
                self._fenced_by(peer, m)
            else:
                self.malformed += 1  # a peer's garbage must not raise into the runtime
            return
        p = self._peers.get(peer) or self._peer(peer)
        if m.inc <= p.fenced:
            self._tell_fenced(peer, p, m.inc)
        p.heard_at = self._now()
        if p.dropping and not p.forgotten:
            log.warning("%s: %s is heard again; %d messages to it were dropped while it "
                        "was silent", self.node_id, peer, p.dropping)
            p.dropping = 0
        recover = False
        # Typed locals: their comparisons compile to machine integers in a compiled build.
        inc: int = m.inc
        dst: int = m.dst
        if inc != p.inc:
            if inc < p.inc:
                self.stale += 1
                self._lower(peer, inc, p.inc)
                return
            self._learn(peer, p, inc)
        elif p.unacked and p.rto > self._rto:
            if kind is LinkAck:  # apply it first: it may cover what would be resent
                recover = True
            else:
                self._recover(peer, p)
        p.received = p.heard_at
        if (p.resync_rx or p.resync_tx) and dst == self.incarnation:
            self._resync(peer, p, m)
        if kind is LinkData or kind is LinkBatch:
            if dst != self.incarnation:
                self.stale += 1
                self._transmit(peer, LinkHello(self.incarnation, p.inc))
                return
            if kind is LinkData:
                self._receive_data(peer, p, m.inc, m.seq, (m.body,), (m.meta,))
            else:
                self._receive_data(peer, p, m.inc, m.seq, m.bodies, m.metas)
        elif kind is LinkAck:
            if dst == self.incarnation:
                self._acked(p, m.upto, m.sacks)
            if recover and p.unacked:
                self._recover(peer, p)
        elif p.hello_at < 0 or p.heard_at - p.hello_at >= self._rto:
            # Answer a hello, unless ours crossed it less than a timeout ago: ours tells the
            # peer our incarnation, and if it was lost the peer asks again after its timeout.
            self._transmit(peer, self._ack_for(p))

    def _receive_data(self, peer: str, p: _Peer, inc: int, seq: int, bodies: Sequence[Any],
                      metas: Sequence[dict[str, Any] | None] | None) -> None:
        """Deliver the payloads numbered ``seq``, ``seq + 1``... once each (a link.data
        carries one, a link.batch several), and acknowledge them."""
        self._schedule_ack(p)
        deliver = self._deliver
        for i, body in enumerate(bodies):
            s = seq + i
            if s <= p.rx_upto or s in p.rx_ahead:
                self.duplicates += 1
                continue
            if s == p.rx_upto + 1:
                p.rx_upto = s
                ahead = p.rx_ahead
                while p.rx_upto + 1 in ahead:
                    p.rx_upto += 1
                    ahead.discard(p.rx_upto)
            else:
                p.rx_ahead.add(s)
            meta = metas[i] if metas is not None and i < len(metas) else None
            # Only what came through a codec can be a map that names a message class.
            deliver(peer, revive(body) if type(body) is dict else body, meta)
            if p.inc != inc:
                return  # a delivery made us learn a newer process of the peer: stop here

    def _learn(self, peer: str, p: _Peer, inc: int) -> None:
        # A peer declared crashed that speaks again is a new process, even when its crashed
        # incarnation never reached us (it died before its first message arrived).
        restarted = p.inc != 0 or p.forgotten
        # Kept until the next restart: a restart claimed without proof may be undone
        # (connected(proven=False)), and then the session goes on exactly where it was.
        p.past = (p.inc, p.rx_upto, p.rx_ahead, p.next_seq, dict(p.unacked)) \
            if p.inc else None
        p.inc = inc
        # The new process is heard of now (its first message, or a connection it proved):
        # the old one's last message must not count as this one's silence.
        p.learnt_at = self._now()
        p.rx_upto = 0
        p.rx_ahead = set()
        p.forgotten = False
        # Oldest first (probes reorder the queue): the new session keeps the send order.
        resend = [(body, meta) for _, (body, meta, _) in sorted(p.unacked.items())]
        if p.backlog is not None:
            resend.extend(p.backlog)
            p.backlog = None
        resend.extend(p.waiting)
        p.unacked.clear()
        p.waiting.clear()
        p.outbox = []  # sequenced for the old session; resent below in the new one
        p.next_seq = 1
        p.rto = self._rto
        for body, meta in resend:
            self._send_data(peer, p, body, meta)
        if restarted:
            self._on_peer_restart(peer, inc)
        self._arm_timer()

    def connected(self, peer: str, incarnation: int, proven: bool = True) -> None:
        """A new connection to ``peer``'s process ``incarnation`` is up (reliable transports).

        What the old connection held may be lost with it: everything unacknowledged goes
        out again, with our acknowledgement (the peer's copy of it may be lost too). A
        newer incarnation is a restart, learnt here before its first message.

        ``proven=False``: the transport does not prove which node a connection is (a
        shared secret), so the higher incarnation known may have been claimed by another
        member under the peer's name; a lower one, connected now (and not fenced), is
        then the peer's process, with a new session, rather than refused for ever.
        """
        p = self._peer(peer)
        if incarnation <= p.fenced:
            self._tell_fenced(peer, p, incarnation)
            return
        if incarnation < p.inc and not proven:
            log.warning("%s: %s connects as incarnation %d, lower than %d seen before; its "
                        "identity is not proven (no keyring or mutual TLS), so %d may have "
                        "been another member's claim: taking %d as %s's process",
                        self.node_id, peer, incarnation, p.inc, p.inc, incarnation, peer)
            self._rebind(peer, p, incarnation)
            return
        if incarnation < p.inc or (incarnation == p.inc and p.forgotten):
            return
        if incarnation > p.inc:
            self._learn(peer, p, incarnation)
            return
        p.hello_at = -1.0
        now = self._now()
        # All of it is in unacked, sent again in batches when this step ends.
        p.outbox = []
        for seq, (body, meta, _) in sorted(p.unacked.items()):
            p.unacked[seq] = (body, meta, now)
            p.outbox.append((seq, body, meta))
        if p.outbox:
            self.resent[peer] = self.resent.get(peer, 0) + len(p.outbox)
        if p.outbox and not self._outbox_armed:
            self._outbox_armed = True
            self._call_soon(self._flush_outboxes)
        if p.rx_upto or p.rx_ahead:
            self._transmit(peer, self._ack_for(p))

    def _rebind(self, peer: str, p: _Peer, inc: int) -> None:
        """Take up a session with process ``inc`` of ``peer``, lower than the one we knew,
        which was claimed without proof. If ``inc`` is the process that newer one replaced,
        its session goes on where it was (both sides' numbers, what it had not
        acknowledged), with what was sent since. Otherwise that process goes on numbering
        where it was, which only it knows: its first data says where its numbers continue,
        its first acknowledgement (asked for with a hello) where ours do, and what we send
        waits until then, as for a peer not yet heard of."""
        later = [(body, meta) for _, (body, meta, _) in sorted(p.unacked.items())]
        if p.backlog is not None:
            later.extend(p.backlog)
            p.backlog = None
        later.extend(p.waiting)
        p.waiting.clear()
        p.outbox = []
        p.forgotten = False
        p.rto = self._rto
        past = p.past
        p.past = None
        p.inc = inc
        if past is not None and past[0] == inc:
            _, p.rx_upto, p.rx_ahead, p.next_seq, p.unacked = past
            kept = {id(body) for body, _, _ in p.unacked.values()}
            now = self._now()
            for seq, (body, meta, _) in sorted(p.unacked.items()):
                p.unacked[seq] = (body, meta, now)
                self._transmit(peer, LinkData(self.incarnation, inc, seq, body, meta))
            for body, meta in later:
                if id(body) not in kept:
                    self._send_data(peer, p, body, meta)
            self._transmit(peer, self._ack_for(p))
        else:
            p.unacked = {}
            p.waiting.extend(later)
            p.rx_upto = 0
            p.rx_ahead = set()
            p.next_seq = 1
            p.resync_rx = p.resync_tx = True
            p.hello_at = -1.0
            self._hello(peer, p)
        self._on_peer_restart(peer, inc)
        self._arm_timer()

    def _resync(self, peer: str, p: _Peer, m: Any) -> None:
        kind = type(m)
        if p.resync_rx and (kind is LinkData or kind is LinkBatch):
            p.resync_rx = False
            first: int = m.seq
            p.rx_upto = max(0, first - 1)  # what came before was delivered here
        if p.resync_tx and kind is LinkAck:
            p.resync_tx = False
            after: int = m.upto + 1
            for seq in m.sacks:  # numbers it holds above its watermark are taken too
                if seq >= after:
                    after = seq + 1
            p.next_seq = after
            waiting = list(p.waiting)
            p.waiting.clear()
            for body, meta in waiting:
                self._send_data(peer, p, body, meta)

    def _tell_fenced(self, peer: str, p: _Peer, inc: int) -> None:
        """Something from process ``inc`` of ``peer``, declared crashed: tell it (rarely)."""
        self.fenced += 1
        now = self._now()
        if p.told_at < 0 or now - p.told_at >= self._rto:
            if p.told_at < 0:
                log.info("%s: %s incarnation %d speaks after it was declared crashed: "
                         "telling it that it is fenced", self.node_id, peer, inc)
            p.told_at = now
            self._transmit(peer, LinkFenced(self.incarnation, inc, self._alive()))

    def _alive(self) -> int:
        """Processes this one takes for alive: itself and every peer not declared crashed."""
        return 1 + sum(1 for p in self._peers.values() if not p.forgotten)

    def _fenced_by(self, peer: str, m: Any) -> None:
        if m.dst != self.incarnation:
            return
        p = self._peers.get(peer)
        if p is not None and p.forgotten and m.inc <= p.fenced:
            # Both declared each other crashed (a partition both ways, or a one-way cut
            # that silenced the cut side's view of everyone): the side that takes fewer
            # processes for alive ends, the lower id winning a tie, so a cut-off minority
            # cannot fence the rest of the cluster.
            mine, theirs = self._alive(), int(m.alive)
            if not (theirs > mine or (theirs == mine and peer < self.node_id)):
                log.info("%s: %s (which this node declared crashed) says this node is "
                         "fenced; it takes %d processes for alive, this node %d: ignored",
                         self.node_id, peer, theirs, mine)
                return
        log.warning("%s (incarnation %d) was declared crashed by %s and is fenced: it "
                    "must end; a new incarnation may join", self.node_id,
                    self.incarnation, peer)
        self._on_fenced(peer)

    def _lower(self, peer: str, inc: int, current: int) -> None:
        if (peer, inc) not in self._lower_seen and len(self._lower_seen) < 1024:
            self._lower_seen.add((peer, inc))
            log.warning("%s: %s speaks as incarnation %d, lower than %d seen before: its "
                        "messages are refused as stale. Incarnations must grow across "
                        "restarts (keep one --state-dir, or none, for a node)",
                        self.node_id, peer, inc, current)

    def hold_acks(self, hold: bool) -> None:
        """Withhold acknowledgements (``True``) while the application cannot keep up.

        Data keeps arriving and being delivered, but senders see their queues to this node
        fill until :meth:`congested` makes them wait: the push-back travels to its source
        instead of the receiver's memory growing without end. ``False`` sends what was
        withheld at once.
        """
        if hold == self._holding:
            return
        self._holding = hold
        if not hold and any(p.ack_due for p in self._peers.values()):
            self._schedule_flush()

    @property
    def holding_acks(self) -> bool:
        """Whether acknowledgements are withheld (see :meth:`hold_acks`)."""
        return self._holding

    def _recover(self, peer: str, p: _Peer) -> None:
        # The peer is heard again after a silence (healed partition, reconnect): resend
        # what is overdue now instead of waiting out a backed-off timeout.
        p.rto = self._rto
        self._resend_overdue(peer, p, self._now())

    def _resend_overdue(self, peer: str, p: _Peer, now: float) -> bool:
        """Send again every message unacknowledged for ``p.rto``; whether any was."""
        resent = False
        for seq, (body, meta, sent) in list(p.unacked.items()):
            if now - sent >= p.rto:
                p.unacked[seq] = (body, meta, now)
                self._transmit(peer, LinkData(self.incarnation, p.inc, seq, body, meta))
                self.resent[peer] = self.resent.get(peer, 0) + 1
                resent = True
        return resent

    def _acked(self, p: _Peer, upto: int, sacks: tuple[int, ...]) -> None:
        progress = False
        unacked = p.unacked
        if unacked:
            for seq in [s for s in unacked if s <= upto]:
                del unacked[seq]
                progress = True
            for seq in sacks:
                if unacked.pop(seq, None) is not None:
                    progress = True
        if progress:
            p.rto = self._rto

    def _ack_for(self, p: _Peer) -> LinkAck:
        sacks = tuple(sorted(p.rx_ahead)[:32]) if p.rx_ahead else ()
        return LinkAck(self.incarnation, p.inc, p.rx_upto, sacks)

    def _schedule_ack(self, p: _Peer) -> None:
        p.ack_due = True
        if not self._ack_flush_armed and not self._holding:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        self._ack_flush_armed = True
        self._call_soon(self._flush)

    def _flush_acks(self) -> None:
        self._ack_flush_armed = False
        if self._holding:
            return
        for name, p in self._peers.items():
            if p.ack_due:
                p.ack_due = False
                self._transmit(name, self._ack_for(p))

    # -- retransmission ---------------------------------------------------------------

    def _arm_timer_if(self, condition: bool) -> None:
        if condition:
            self._arm_timer()

    def _arm_timer(self, delay: float | None = None) -> None:
        if not self._timer_armed:
            self._timer_armed = True
            self._call_later(self._rto if delay is None else delay, self._tick)

    def _on_timer(self) -> None:
        self._timer_armed = False
        now = self._now()
        busy = False
        wait = self._max_rto
        for name, p in self._peers.items():
            if p.inc == 0 or p.resync_tx:
                if p.waiting or not p.forgotten:
                    busy = True
                    if now - p.hello_at >= p.rto:
                        self._hello(name, p)
                        p.rto = min(p.rto * 2, self._max_rto)
                    wait = min(wait, p.rto)
                continue
            if p.forgotten and p.fenced and self.reliable:
                # Keep telling a process declared crashed, at a slow pace: after a
                # partition heals it may have nothing to say to this node (it declared
                # this node crashed too), and only this notice ends the split.
                busy = True
                if p.told_at < 0 or now - p.told_at >= self._max_rto:
                    p.told_at = now
                    self._transmit(name, LinkFenced(self.incarnation, p.fenced,
                                                    self._alive()))
                continue
            if not p.unacked or self.reliable:
                continue
            busy = True
            # Nothing heard for a whole timeout: a probe, not the whole queue.
            silent = p.heard_at <= now - p.rto
            retransmitted = (self._probe(name, p, now) if silent
                             else self._resend_overdue(name, p, now))
            if retransmitted:
                p.rto = min(p.rto * 2, self._max_rto)
            wait = min(wait, p.rto)
        if busy:
            self._arm_timer(wait)

    def _probe(self, peer: str, p: _Peer, now: float) -> bool:
        # A peer silent for a whole timeout gets one message, not its whole queue (as TCP
        # shrinks its window to one segment after a timeout): it may have crashed or be
        # cut off, and a queue near hard_limit would otherwise be sent again every
        # max_rto. The probe rotates through the queue, so a one-way partition still
        # delivers everything, slowly; the peer's first answer makes _recover resend
        # everything overdue at once.
        for seq, (body, meta, sent) in p.unacked.items():
            if now - sent >= p.rto:
                del p.unacked[seq]
                p.unacked[seq] = (body, meta, now)
                self._transmit(peer, LinkData(self.incarnation, p.inc, seq, body, meta))
                self.resent[peer] = self.resent.get(peer, 0) + 1
                return True
        return False
