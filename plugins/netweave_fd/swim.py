"""SWIM's failure detector (Das, Gupta, Motivala, 2002), with Lifeguard's local health.

Each protocol ``period`` a node probes *one* peer, so its cost does not grow with the
cluster (one ping per period instead of N - 1):

    every period:   target := next of a shuffled round-robin list of the peers
                    (reshuffled with ctx.rng after each round); send PING to target
    after probe_timeout without an ack:
                    ask k other peers to ping it for us (PING-REQ); each pings the target
                    and forwards its ack (IND-ACK)
    at the end of the period, still no ack, direct or indirect:
                    the probe failed: the target has suspicion_timeout seconds to answer
                    (any later ack), after which it is suspected (Suspect)
    on any ack from a suspected peer: Restore

The round robin bounds the time to the first probe of a crashed peer: every peer is
probed once per round of N - 1 periods, so at most 2(N - 1) - 1 periods pass between
a crash and its probe (the peer first in one round and last in the next); with a probe
period and a suspicion timeout after it, a crash is detected within
``(2N - 1) * period + suspicion_timeout`` plus the network delay. Indirect probes make a
single slow or cut link (a one-way partition between two nodes) cost a delay, not a
suspicion, as long as some helper reaches both.

Assumptions and what differs from the paper:

- **No dissemination.** The paper spreads suspicions and confirmations by gossip, with
  incarnation numbers to refute them, and removes confirmed members. Here each node
  suspects on its own probes only (``Suspect`` is a local indication, as for the other
  detectors), keeps probing suspected peers so that they can be restored (◇P needs it),
  and membership is static; restarts are told apart by the links' incarnations.
- **Perfect links.** Pings and acks travel on netweave's perfect links, which retransmit
  until delivered: a lost ping is a late one. A node keeps at most one ping in flight per
  peer (a crashed peer would otherwise collect one per round in the link's buffer); an
  ack that arrives counts as a proof of life whichever ping it answers. Helpers are
  chosen among the peers neither suspected nor with a ping of ours in flight, and a
  helper keeps at most one ping in flight to a target, whoever asked.
- **Partial synchrony.** Like every ◇P detector it is wrong while delays exceed
  ``period`` plus ``suspicion_timeout``; a suspicion lasts until the peer's next ack.

Lifeguard (Dadgar, Phillips, Currey, 2018), off by default (``lifeguard``): a node that
is itself slow (overloaded, paused, on a bad link) sees its probes fail and blames its
peers. With it on, helpers answer a ping-req whose target is still silent at half the
time left in the probe with a NACK, and a *local health multiplier* LHM in
``[0, lifeguard_max]`` shrinks by one for each successful probe and grows, for a failed
probe, by the number of helpers that answered neither ack nor nack (as memberlist does:
helpers that answered show that this node hears its peers, so the target is to blame),
or by one when no helper could be asked. The period and the probe timeout are
multiplied by ``1 + LHM``. A healthy node probes at full speed; a sick one slows down and
gives its peers more time before blaming them. Half the time left, because a nack takes
two one-way delays (ping-req, nack) and a forwarded ack four (ping-req, ping, ack,
ind-ack): both arrive before the probe ends when a one-way delay is below a quarter of
the time left, so a healthy node is not blamed for a network that would have carried
the ack (at 80%, a nack needed delays below a tenth of it: 30 ms with the defaults).
The price: a helper that crashed sends no nack either, so crashes raise LHM for a while
and are detected later (up to ``1 + lifeguard_max`` times the bound above). (Lifeguard's
other two parts, the suspicion timeout that shrinks with independent confirmations and
the buddy system, need dissemination, which this detector does not do.)
"""

from __future__ import annotations

import attrs
from netweave import (
    Component,
    Message,
    PeerRestarted,
    hookimpl,
    upon,
    upon_message,
)

from ._options import not_negative, positive, restore, suspect

__all__ = ["SwimFDOptions", "SwimFailureDetector"]


class SwimPing(Message, tag="swim.ping"):
    """Are you alive? (answered with an ack)"""


class SwimAck(Message, tag="swim.ack"):
    """I am alive."""


class SwimPingReq(Message, tag="swim.ping-req"):
    """Please ping ``target`` for me and forward its ack; with Lifeguard, send a nack if
    it is silent for ``nack_after`` seconds (0: never)."""

    target: str
    nack_after: float = 0.0


class SwimIndirectAck(Message, tag="swim.ind-ack"):
    """``target`` answered the ping I sent it for you."""

    target: str


class SwimNack(Message, tag="swim.nack"):
    """``target`` has not answered my ping yet (Lifeguard: I, the helper, am alive)."""

    target: str


@attrs.frozen
class _Tick:
    """Timer event: the protocol period ends and the next probe starts."""


@attrs.frozen
class _ProbeTimeout:
    """Timer event: the direct ping of probe number ``probe`` went unanswered."""

    probe: int


@attrs.frozen
class _SuspicionEnd:
    """Timer event: ``peer``, failed since ``since``, had its suspicion timeout."""

    peer: str
    since: float


@attrs.frozen
class _NackDue:
    """Timer event (helper side): tell ``requester`` if ``target`` is still silent."""

    target: str
    requester: str
    asked: float


@attrs.frozen
class SwimFDOptions:
    """Options of the SWIM failure detector."""

    period: float = attrs.field(
        default=0.5, converter=float, validator=positive,
        metadata={"doc": "Protocol period (seconds): one peer is probed per period, each "
                  "peer once per round of N - 1 periods."})
    probe_timeout: float = attrs.field(
        default=0.2, converter=float, validator=positive,
        metadata={"doc": "Seconds to wait for the direct ack before asking k peers to "
                  "probe the target (a round trip and a retransmission); below period."})
    k: int = attrs.field(
        default=3, converter=int, validator=not_negative,
        metadata={"doc": "Peers asked to ping an unanswering target (ping-req); 0 probes "
                  "directly only."})
    suspicion_timeout: float = attrs.field(
        default=2.0, converter=float, validator=positive,
        metadata={"doc": "Seconds a peer whose probe failed has to answer (any ack) before "
                  "it is suspected."})
    lifeguard: bool = attrs.field(
        default=False, converter=bool,
        metadata={"doc": "Lifeguard's local health multiplier: while this node's own probes "
                  "fail or helpers' nacks go missing, stretch period and probe_timeout by "
                  "1 + LHM (LHM from 0 to lifeguard_max)."})
    lifeguard_max: int = attrs.field(
        default=8, converter=int, validator=not_negative,
        metadata={"doc": "Highest local health multiplier LHM (Lifeguard's S)."})

    def __attrs_post_init__(self) -> None:
        if not self.probe_timeout < self.period:
            raise ValueError(f"probe_timeout ({self.probe_timeout}) must be smaller than "
                             f"period ({self.period})")


class SwimFailureDetector(Component):
    """Probes one peer per period, indirectly through k others when it does not answer."""

    name = "swim-fd"
    provides = ("failure-detector",)
    layer = "fd"
    Options = SwimFDOptions

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import EventuallyPerfectFailureDetectorSpec

        return [EventuallyPerfectFailureDetectorSpec]

    def start(self) -> None:
        now = self.ctx.now()
        self.order: list[str] = []
        """The rest of this round's probe order."""
        self.last_ack: dict[str, float] = dict.fromkeys(self.ctx.peers, now)
        """When each peer last proved alive (an ack, direct or forwarded); start time at first."""
        self.awaiting: set[str] = set()
        """Peers with a ping of ours in flight (at most one each)."""
        self.failing: dict[str, float] = {}
        """Peers whose probe failed and that are not suspected yet: since when."""
        self.suspected: set[str] = set()
        self.lhm = 0
        """Lifeguard's local health multiplier (stays 0 without ``lifeguard``)."""
        self.relays: dict[str, set[str]] = {}
        """Helper side: for each target, the peers waiting for its ack."""
        self.probes = 0
        self.target: str | None = None
        self.probe_started = now
        self.helpers: set[str] = set()
        """Helpers asked in the current probe that have not answered (ack or nack) yet."""
        self.asked = 0
        """Helpers asked in the current probe."""
        self.probes_failed = 0
        """Probes that ended without any ack (each may start a suspicion timeout)."""
        self._tick()

    # -- probing ------------------------------------------------------------------------

    @property
    def multiplier(self) -> int:
        """What the period and the probe timeout are multiplied by now (1 + LHM)."""
        return 1 + self.lhm

    @upon(_Tick)
    def on_tick(self, _: _Tick) -> None:
        self._tick()

    def _tick(self) -> None:
        if self.target is not None:
            self._finish_probe(self.target)
        self.target = self._next_target()
        now = self.ctx.now()
        self.probes += 1
        self.probe_started = now
        self.helpers = set()
        self.asked = 0
        if self.target is not None:
            self._ping(self.target)
            self.ctx.set_timer(self.options.probe_timeout * self.multiplier,
                               _ProbeTimeout(self.probes))
        self.ctx.set_timer(self.options.period * self.multiplier, _Tick())

    def _next_target(self) -> str | None:
        if not self.order:
            # A fresh random order each round (Fisher-Yates with the node's random source).
            order = list(self.ctx.peers)
            for i in range(len(order) - 1, 0, -1):
                j = self.ctx.rng.randrange(i + 1)
                order[i], order[j] = order[j], order[i]
            order.reverse()
            self.order = order
        return self.order.pop() if self.order else None

    def _ping(self, target: str) -> None:
        if target not in self.awaiting:
            self.awaiting.add(target)
            self.ctx.send(target, SwimPing())

    @upon(_ProbeTimeout)
    def on_probe_timeout(self, event: _ProbeTimeout) -> None:
        target = self.target
        if event.probe != self.probes or target is None \
                or self.last_ack[target] >= self.probe_started:
            return
        candidates = [p for p in self.ctx.peers if p != target and p not in self.suspected
                      and p not in self.awaiting]
        nack_after = 0.0
        if self.options.lifeguard:
            # Half the time left: the nack is back when a forwarded ack would be (see
            # the module's documentation).
            left = (self.options.period - self.options.probe_timeout) * self.multiplier
            nack_after = left / 2
        for _ in range(min(self.options.k, len(candidates))):
            helper = candidates.pop(self.ctx.rng.randrange(len(candidates)))
            self.asked += 1
            self.helpers.add(helper)
            self.ctx.send(helper, SwimPingReq(target, nack_after))

    def _finish_probe(self, target: str) -> None:
        o = self.options
        if self.last_ack.get(target, -1.0) >= self.probe_started:
            self.lhm = max(0, self.lhm - 1)
        else:
            self.probes_failed += 1
            if target not in self.suspected and target not in self.failing:
                now = self.ctx.now()
                self.failing[target] = now
                self.ctx.set_timer(o.suspicion_timeout, _SuspicionEnd(target, now))
            if o.lifeguard:
                # Helpers that answered (ack or nack) vouch for this node's health: only
                # the missing answers count; with no helper, the failed probe does.
                self.lhm += len(self.helpers) if self.asked else 1
        if o.lifeguard:
            self.lhm = min(self.lhm, o.lifeguard_max)
        else:
            self.lhm = 0

    @upon(_SuspicionEnd)
    def on_suspicion_end(self, event: _SuspicionEnd) -> None:
        p = event.peer
        if self.failing.get(p) != event.since:
            return  # it answered meanwhile
        del self.failing[p]
        self.suspected.add(p)
        suspect(self.ctx, p)

    # -- answers ------------------------------------------------------------------------

    @upon_message(SwimPing)
    def on_ping(self, sender: str, _: SwimPing) -> None:
        if sender in self.ctx.peers:
            self.ctx.send(sender, SwimAck())

    @upon_message(SwimAck)
    def on_ack(self, sender: str, _: SwimAck) -> None:
        if sender not in self.last_ack:
            return
        self.awaiting.discard(sender)
        for requester in sorted(self.relays.pop(sender, ())):
            self.ctx.send(requester, SwimIndirectAck(sender))
        self._alive(sender)

    @upon_message(SwimPingReq)
    def on_ping_req(self, sender: str, req: SwimPingReq) -> None:
        target = req.target
        if sender not in self.last_ack or target not in self.last_ack:
            return
        self.relays.setdefault(target, set()).add(sender)
        self._ping(target)
        if req.nack_after > 0:
            self.ctx.set_timer(req.nack_after, _NackDue(target, sender, self.ctx.now()))

    @upon(_NackDue)
    def on_nack_due(self, event: _NackDue) -> None:
        if self.last_ack[event.target] < event.asked \
                and event.requester in self.relays.get(event.target, ()):
            self.ctx.send(event.requester, SwimNack(event.target))

    @upon_message(SwimIndirectAck)
    def on_indirect_ack(self, sender: str, ack: SwimIndirectAck) -> None:
        self.helpers.discard(sender)
        if ack.target in self.last_ack:
            self._alive(ack.target)

    @upon_message(SwimNack)
    def on_nack(self, sender: str, _: SwimNack) -> None:
        self.helpers.discard(sender)

    @upon(PeerRestarted)
    def on_restart(self, event: PeerRestarted) -> None:
        p = event.peer
        if p not in self.last_ack:
            return
        # A new process: its old incarnation's silence was a real crash; ping it afresh.
        self.awaiting.discard(p)
        self._alive(p)

    def _alive(self, p: str) -> None:
        self.last_ack[p] = self.ctx.now()
        self.failing.pop(p, None)
        if p in self.suspected:
            self.suspected.discard(p)
            restore(self.ctx, p)
