"""Modelled links: perfect-link semantics given directly, the network as data.

Theory of operation. With ``SimCluster(links="modelled")`` a node's links are a
:class:`ModelledLinks` instead of :class:`~netweave.link.PerfectLinks` over the fair-loss
network: no link message exists (no acknowledgement, hello, batch or fencing notice), no
retransmission timer runs; a payload sent is one message of the simulated network, which
:class:`ModelledNetwork` carries to the destination's process. The components see what
perfect links give them, through the same calls (``deliver``, ``PeerRestarted``,
``heard_from``, fencing), and cannot tell the difference; the run has about a third of
the events.

Faults act on the messages:

- **loss** (fair loss): a message the network model loses stays deliverable while its
  sender lives, as the protocol's retransmissions make it: it is tried again after the
  sender's retransmission timeout, doubled after each loss up to ``max_rto``
  (``LinkOptions``), each try drawn anew. A sender that crashed (or was fenced) before
  the try that gets through loses it; a paused sender tries again when it resumes.
- **partitions**: a message sent over a blocked directed link is held and sent when
  :meth:`~netweave.sim.SimCluster.heal` heals it, unless its sender crashed first.
- **a crashed destination**: as :class:`~netweave.link.PerfectLinks` does (it keeps what
  the dead process did not acknowledge and resequences it for the peer's next process,
  keeping the newest ``crashed_backlog`` once a detector declared the peer crashed), a
  message to a crashed process, or arriving after it crashed, is held by its sender and
  sent to the destination's next process when the sender learns of it; lost if the
  sender crashes first or no next process comes.
- **restarts**: a sender learns a peer's new process from the first message of it, or a
  latency after it started (standing for the protocol's hello): ``PeerRestarted`` then,
  and what was held goes to it. A message from an older process than the one known is
  stale and dropped.
- **fencing**: a message from a process declared crashed (``forget``) is delivered, and
  the process is told (once per ``rto`` at most, a notice the network may lose like any
  message), which ends it, with the rule for mutual detections of
  :class:`~netweave.link.PerfectLinks`.
- **duplication** is masked by perfect links: a copy the model draws is counted in the
  receiver's ``duplicates`` and delivered once. **Reordering** and latency apply as
  drawn; perfect links promise no order, neither do these.
- **pause**: what arrives at a paused process waits and is handled when it resumes.

``heard_from`` is the time the last message of the peer's current process arrived: with
no acknowledgements or hellos, only payloads (a failure detector's heartbeats) count.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._link_types import LinkData, LinkOptions
from ..message import Message, revive

if TYPE_CHECKING:
    from ._cluster import SimCluster, _SimRuntime

__all__ = ["LINK_MODELS", "ModelledLinks", "ModelledNetwork"]

LINK_MODELS = ("protocol", "modelled")
"""``protocol``: :class:`~netweave.link.PerfectLinks` over the fair-loss network (acks,
hellos, retransmissions); ``modelled``: :class:`ModelledLinks`."""

_Held = deque[tuple[Any, Any]]


class _Peer:
    """What one node's links know of one peer."""

    __slots__ = ("fenced", "forgotten", "held", "inc", "received", "told_at")

    def __init__(self) -> None:
        self.inc = 0
        self.received: float | None = None
        self.forgotten = False
        self.fenced = 0
        self.held: _Held | None = None  # for the peer's next process (or until it starts)
        self.told_at = -1.0


class ModelledLinks:
    """The links of one node incarnation in a cluster whose links are modelled."""

    __slots__ = ("_deliver", "_holding", "_net", "_now", "_on_fenced", "_on_peer_restart",
                 "_peers", "dropped", "duplicates", "fenced", "incarnation", "malformed",
                 "node_id", "options", "resent", "runtime", "stale")

    def __init__(self, net: ModelledNetwork, runtime: _SimRuntime, node_id: str,
                 incarnation: int, *, deliver: Callable[[str, Any, dict[str, Any] | None], None],
                 on_peer_restart: Callable[[str, int], None], on_fenced: Callable[[str], None],
                 options: LinkOptions) -> None:
        self._net = net
        self.runtime = runtime
        self.node_id = node_id
        self.incarnation = incarnation
        self._deliver = deliver
        self._on_peer_restart = on_peer_restart
        self._on_fenced = on_fenced
        self.options = options
        self._now = runtime.now
        self._peers: dict[str, _Peer] = {}
        self._holding = False
        self.dropped = 0
        """Messages held for a peer declared crashed beyond its ``crashed_backlog``."""
        self.duplicates = 0
        """Copies the network model drew of messages to this node (delivered once)."""
        self.stale = 0
        """Messages from an older process of their sender than one already heard, dropped."""
        self.fenced = 0
        """Messages that arrived from a process after it was declared crashed."""
        self.malformed = 0
        """Link messages handed to these links: there are none in this model."""
        self.resent: dict[str, int] = {}
        """Tries after a loss, per peer (what retransmissions would have sent)."""

    def _peer(self, peer: str) -> _Peer:
        p = self._peers.get(peer)
        if p is None:
            p = self._peers[peer] = _Peer()
        return p

    # -- sending ----------------------------------------------------------------------

    def send(self, peer: str, body: Any, meta: dict[str, Any] | None = None) -> None:
        """Send ``body`` to ``peer``: delivered once to its process while both live."""
        p = self._peers.get(peer) or self._peer(peer)
        if p.forgotten:
            self._hold(p, body, meta)
            return
        self._net.send(self, peer, body, meta, 0)

    def bounce(self, peer: str, body: Any, meta: Any) -> None:
        """``peer``'s process is not there for ``body``: send it to the live process this
        node knows of, or keep it for the next one."""
        p = self._peer(peer)
        if not p.forgotten and self._net.knows_live(peer, p.inc):
            self._net.send(self, peer, body, meta, 0)
        else:
            self._hold(p, body, meta)

    def _hold(self, p: _Peer, body: Any, meta: Any) -> None:
        if p.held is None:
            p.held = deque()
        p.held.append((body, meta))
        if p.forgotten:
            self._trim(p)

    def _trim(self, p: _Peer) -> None:
        held = p.held
        if held is not None:
            while len(held) > self.options.crashed_backlog:
                held.popleft()
                self.dropped += 1

    def holds_for(self, peer: str) -> bool:
        """Whether messages wait here for a process of ``peer``."""
        p = self._peers.get(peer)
        return p is not None and bool(p.held)

    def greet(self, peers: Iterable[str]) -> None:
        """Learn the incarnations of the running ``peers`` (what hellos do in the protocol)."""
        for peer in peers:
            inc = self._net.incarnation(peer)
            if inc:
                p = self._peer(peer)
                if not p.inc:
                    p.inc = inc

    def connected(self, peer: str, incarnation: int, proven: bool = True) -> None:
        """No connections in this model."""

    def on_receive(self, peer: str, msg: Message) -> None:
        """No link message exists in this model: anything handed here is counted, dropped."""
        self.malformed += 1

    # -- receiving --------------------------------------------------------------------

    def arrive(self, peer: str, inc: int, body: Any, meta: dict[str, Any] | None) -> None:
        """``body`` from process ``inc`` of ``peer`` arrived: deliver it (once)."""
        p = self._peers.get(peer) or self._peer(peer)
        if inc != p.inc:
            if inc < p.inc:
                self.stale += 1
                return
            self._learn(peer, p, inc)
        if inc <= p.fenced:
            self._tell_fenced(peer, p, inc)
        p.received = self._now()
        self._deliver(peer, body, meta)

    def started(self, peer: str, inc: int) -> None:
        """Process ``inc`` of ``peer`` started a latency ago (the protocol's hello)."""
        p = self._peer(peer)
        if inc > p.inc:
            self._learn(peer, p, inc)
            p.received = self._now()

    def _learn(self, peer: str, p: _Peer, inc: int) -> None:
        restarted = p.inc != 0 or p.forgotten
        p.inc = inc
        p.forgotten = False
        held, p.held = p.held, None
        if held:
            for body, meta in held:
                self._net.send(self, peer, body, meta, 0)
        if restarted:
            self._on_peer_restart(peer, inc)

    # -- crashes and fencing ----------------------------------------------------------

    def forget(self, peer: str) -> None:
        """``peer`` was declared crashed: fence its process, keep the newest
        ``crashed_backlog`` messages for its next one."""
        p = self._peer(peer)
        p.fenced = max(p.fenced, p.inc)
        p.forgotten = True
        self._trim(p)

    def _tell_fenced(self, peer: str, p: _Peer, inc: int) -> None:
        self.fenced += 1
        now = self._now()
        if p.told_at < 0 or now - p.told_at >= self.options.rto:
            p.told_at = now
            self._net.tell_fenced(self, peer, inc, self._alive())

    def _alive(self) -> int:
        return 1 + sum(1 for p in self._peers.values() if not p.forgotten)

    def fenced_by(self, peer: str, alive: int) -> None:
        """``peer`` says this process was declared crashed (see
        :meth:`netweave.link.PerfectLinks.on_receive` for the rule of mutual detections)."""
        p = self._peers.get(peer)
        if p is not None and p.forgotten and p.inc <= p.fenced:
            mine = self._alive()
            if not (alive > mine or (alive == mine and peer < self.node_id)):
                return
        self._on_fenced(peer)

    # -- what the node asks -----------------------------------------------------------

    def hold_acks(self, hold: bool) -> None:
        """Recorded only: no acknowledgements exist to withhold in this model."""
        self._holding = hold

    @property
    def holding_acks(self) -> bool:
        return self._holding

    def congested(self, ignore: frozenset[str] = frozenset()) -> bool:
        """Whether a live peer has ``high_water`` messages held (messages in flight are
        the network's, not counted)."""
        high = self.options.high_water
        return any(p.held is not None and not p.forgotten and len(p.held) >= high
                   for name, p in self._peers.items() if name not in ignore)

    def congestion(self) -> str:
        high = self.options.high_water
        for name, p in self._peers.items():
            if p.held is not None and not p.forgotten and len(p.held) >= high:
                return f"peer {name!r} has {len(p.held)} messages held (high_water {high})"
        return ""

    def heard_from(self, peer: str) -> float | None:
        p = self._peers.get(peer)
        return p.received if p is not None else None

    def peer_incarnation(self, peer: str) -> int | None:
        p = self._peers.get(peer)
        return p.inc or None if p is not None else None

    def pending(self, peer: str | None = None) -> int:
        """Messages held for a peer not declared crashed (cut off, or not started)."""
        return sum(len(p.held) for p in self._select(peer) if p.held and not p.forgotten)

    def held(self, peer: str | None = None) -> int:
        """Messages held for the next process of a peer declared crashed."""
        return sum(len(p.held) for p in self._select(peer) if p.held and p.forgotten)

    def _select(self, peer: str | None) -> list[_Peer]:
        if peer is None:
            return list(self._peers.values())
        return [self._peers[peer]] if peer in self._peers else []


class ModelledNetwork:
    """The messages of a cluster's modelled links: drawn by the cluster's network model,
    scheduled on its clock, held across partitions and crashes (see the module)."""

    __slots__ = ("_arrival", "_cluster", "_partitioned")

    def __init__(self, cluster: SimCluster) -> None:
        self._cluster = cluster
        self._partitioned: list[tuple[ModelledLinks, str, Any, Any]] = []
        self._arrival: Callable[..., None] = self._arrive

    def links(self, runtime: _SimRuntime) -> Callable[..., ModelledLinks]:
        """The ``make_links`` of ``runtime``."""
        def make(node_id: str, incarnation: int, **callbacks: Any) -> ModelledLinks:
            return ModelledLinks(self, runtime, node_id, incarnation, **callbacks)
        return make

    def incarnation(self, node_id: str) -> int:
        """The incarnation of ``node_id``'s running process (0: none)."""
        runtime = self._cluster._runtimes.get(node_id)
        return runtime.node.incarnation if runtime is not None and runtime.alive else 0

    def knows_live(self, node_id: str, inc: int) -> bool:
        """Whether ``inc`` is, or is later than, ``node_id``'s running process."""
        live = self.incarnation(node_id)
        return bool(live) and inc >= live

    def send(self, src: ModelledLinks, dst: str, body: Any, meta: Any, tries: int) -> None:
        """One try of ``body`` from ``src`` to ``dst``."""
        cluster = self._cluster
        cluster.messages_sent += 1
        if cluster._watchers:
            message = LinkData(src.incarnation, 0, 0, body, meta)
            for watcher in cluster._watchers:
                watcher(src.node_id, dst, message)
        runtime = cluster._runtimes.get(dst)
        if runtime is None or not runtime.alive:
            src.bounce(dst, body, meta)
            return
        blocked = cluster.network.blocked
        if blocked and (src.node_id, dst) in blocked:
            self._partitioned.append((src, dst, body, meta))
            return
        if cluster.encode:
            body = revive(cluster._decoder.decode(cluster._encoder.encode(body)))
            meta = cluster._decoder.decode(cluster._encoder.encode(meta))
        delays = cluster._delays(src.node_id, dst)
        if not delays:  # lost: its sender tries again after its timeout, while it lives
            options = src.options
            wait = min(options.rto * 2.0 ** tries, options.max_rto)
            src.resent[dst] = src.resent.get(dst, 0) + 1
            cluster.clock.call_later(wait, self._retry, src, dst, body, meta, tries + 1)
            return
        if len(delays) > 1:
            runtime.node.links.duplicates += len(delays) - 1  # type: ignore[union-attr]
        cluster.clock.call_later(delays[0], self._arrival, src, runtime, body, meta)

    def _retry(self, src: ModelledLinks, dst: str, body: Any, meta: Any, tries: int) -> None:
        runtime = src.runtime
        if not runtime.alive:
            return  # its sender crashed before a try got through: lost
        if runtime.paused:
            runtime.backlog.append((self.send, (src, dst, body, meta, tries)))
            return
        self.send(src, dst, body, meta, tries)

    def _arrive(self, src: ModelledLinks, runtime: _SimRuntime, body: Any, meta: Any) -> None:
        if runtime.alive:
            links: ModelledLinks = runtime.node.links  # type: ignore[assignment]
            if runtime.paused:
                runtime.backlog.append((links.arrive, (src.node_id, src.incarnation, body,
                                                       meta)))
                return
            links.arrive(src.node_id, src.incarnation, body, meta)
        elif src.runtime.alive:
            src.bounce(runtime.node.id, body, meta)

    def heal(self) -> None:
        """Send what waited for a partition to heal, from senders still alive."""
        waiting, self._partitioned = self._partitioned, []
        for src, dst, body, meta in waiting:
            self._retry(src, dst, body, meta, 0)

    def started(self, node_id: str, inc: int) -> None:
        """Process ``inc`` of ``node_id`` started: every running process that knew an
        earlier one, or holds messages for it, learns of it a latency later."""
        cluster = self._cluster
        for other, runtime in cluster._runtimes.items():
            if other == node_id or not runtime.alive:
                continue
            links: ModelledLinks = runtime.node.links  # type: ignore[assignment]
            if inc > 1 or links.holds_for(node_id):
                delay = cluster.network.latency.sample(cluster.rng)
                cluster.clock.call_later(delay, self._notice, runtime, node_id, inc)

    def _notice(self, runtime: _SimRuntime, node_id: str, inc: int) -> None:
        if runtime.alive:
            runtime._run(runtime.node.links.started, (node_id, inc))  # type: ignore[union-attr]

    def tell_fenced(self, src: ModelledLinks, dst: str, inc: int, alive: int) -> None:
        """Tell process ``inc`` of ``dst`` that ``src`` declared it crashed (the network
        may lose this notice as any message)."""
        cluster = self._cluster
        delays = cluster._delays(src.node_id, dst)  # none over a partition
        if delays:
            cluster.clock.call_later(delays[0], self._fence, src.node_id, dst, inc, alive)

    def _fence(self, src: str, dst: str, inc: int, alive: int) -> None:
        runtime = self._cluster._runtimes.get(dst)
        if runtime is not None and runtime.alive and runtime.node.incarnation == inc:
            runtime._run(runtime.node.links.fenced_by, (src, alive))  # type: ignore[union-attr]
