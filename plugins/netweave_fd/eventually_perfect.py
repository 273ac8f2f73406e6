"""Eventually perfect failure detector (CGR Algorithm 2.7, "Increasing Timeout").

    upon <Init>:        alive := members; suspected := {}; delay := timeout; start timer
    upon <Timeout>:     if alive & suspected != {}: delay := delay + increment
                        forall p: if p not in alive and p not in suspected:
                                      suspected += p; trigger <EP, Suspect | p>
                                  elif p in alive and p in suspected:
                                      suspected -= p; trigger <EP, Restore | p>
                                  trigger <pl, Send | p, HEARTBEATREQUEST>
                        alive := {}; start timer
    upon <pl, Deliver | q, HEARTBEATREQUEST>:  trigger <pl, Send | q, HEARTBEATREPLY>
    upon <pl, Deliver | p, HEARTBEATREPLY>:    alive += p

Strong completeness: a crashed peer stops replying and is suspected for ever after.
Eventual strong accuracy: each false suspicion lengthens the timeout by ``increment``,
so once the system is synchronous enough, correct peers are restored and no longer
suspected. Suspicions are published as :class:`~netweave.Suspect` and
:class:`~netweave.Restore` events and traced as ``suspect``/``restore`` lines with layer
``fd``; unlike the perfect detector, this one never publishes
:class:`~netweave.Crashed`, so layers that need crash *detection* (``all-ack-urb``)
cannot complete after a crash on top of it; see their documentation.

Three refinements of the textbook, each for a reason:

- the timeout is kept *per peer*, so one slow link does not slow down the detection of
  every other peer;
- a peer is restored as soon as its reply arrives rather than at the next timer, and
  its timeout grows then (that suspicion was false);
- at most one request per peer is in flight. Requests travel on perfect links, which
  retransmit until delivered; sending one every period to a crashed peer would pile
  them up in the link's buffer. One outstanding request also reaches a partitioned or
  late-starting peer as soon as it is reachable, which restores it.

A peer that restarts (a new incarnation) is a new process: it is restored without
lengthening its timeout, since its old incarnation really did crash.
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

from ._options import check_period, positive, restore, suspect


class HeartbeatRequest(Message, tag="epfd.request"):
    """Are you alive?"""


class HeartbeatReply(Message, tag="epfd.reply"):
    """I am alive."""


@attrs.frozen
class _Tick:
    """Timer event: time to check deadlines and send requests."""


@attrs.frozen
class EventuallyPerfectFDOptions:
    """Options of the eventually perfect failure detector."""

    period: float = attrs.field(default=0.5, converter=float, validator=positive,
                                metadata={"doc": "Seconds between heartbeat requests."})
    timeout: float = attrs.field(default=2.0, converter=float, validator=positive,
                                 metadata={"doc": "Initial silence after which a peer is "
                                           "suspected; grows after each false suspicion."})
    increment: float = attrs.field(default=1.0, converter=float, validator=positive,
                                   metadata={"doc": "Seconds added to a peer's timeout each "
                                             "time it is restored after a false suspicion."})

    def __attrs_post_init__(self) -> None:
        check_period(self.period, self.timeout)


class EventuallyPerfectFailureDetector(Component):
    """Increasing-timeout detector: suspects silent peers, restores them when they reply."""

    name = "eventually-perfect-fd"
    provides = ("failure-detector",)
    layer = "fd"
    Options = EventuallyPerfectFDOptions

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import EventuallyPerfectFailureDetectorSpec

        return [EventuallyPerfectFailureDetectorSpec]

    def start(self) -> None:
        now = self.ctx.now()
        self.last_heard: dict[str, float] = dict.fromkeys(self.ctx.peers, now)
        self.timeout: dict[str, float] = dict.fromkeys(self.ctx.peers, self.options.timeout)
        self.suspected: set[str] = set()
        self.awaiting: set[str] = set()
        """Peers with a request in flight (at most one each)."""
        self._tick()

    @upon(_Tick)
    def on_tick(self, _: _Tick) -> None:
        self._tick()

    def _tick(self) -> None:
        now = self.ctx.now()
        for p in self.ctx.peers:
            if p not in self.suspected and now - self.last_heard[p] >= self.timeout[p]:
                self.suspected.add(p)
                suspect(self.ctx, p)
            if p not in self.awaiting:
                self.awaiting.add(p)
                self.ctx.send(p, HeartbeatRequest())
        self.ctx.set_timer(self.options.period, _Tick())

    @upon_message(HeartbeatRequest)
    def on_request(self, sender: str, _: HeartbeatRequest) -> None:
        if sender in self.ctx.peers:
            self.ctx.send(sender, HeartbeatReply())

    @upon_message(HeartbeatReply)
    def on_reply(self, sender: str, _: HeartbeatReply) -> None:
        if sender not in self.last_heard:
            return
        self.awaiting.discard(sender)
        self.last_heard[sender] = self.ctx.now()
        if sender in self.suspected:
            # The suspicion was false: the peer is alive, and was only slow.
            self.timeout[sender] += self.options.increment
            self._restore(sender)

    @upon(PeerRestarted)
    def on_restart(self, event: PeerRestarted) -> None:
        p = event.peer
        if p not in self.last_heard:
            return
        # A new process: probe it afresh; its old incarnation's silence was a real crash.
        self.awaiting.discard(p)
        self.last_heard[p] = self.ctx.now()
        if p in self.suspected:
            self._restore(p)

    def _restore(self, p: str) -> None:
        self.suspected.discard(p)
        restore(self.ctx, p)
