"""Perfect failure detector (CGR Algorithm 2.5, "Exclude on Timeout"), with heartbeats.

    upon <Init>:            alive := members; detected := {}; start timer(period)
    upon <Timeout>:         forall p not in alive and not in detected:
                                detected += p; trigger <P, Crash | p>
                            forall p: trigger <pl, Send | p, HEARTBEAT>
                            alive := {}; start timer(...)
    upon <pl, Deliver | p, HEARTBEAT>:  alive += p

Every ``period`` each node sends a heartbeat to every peer; a peer from which nothing
arrived for ``timeout`` seconds is detected crashed, permanently. Anything counts, not
only heartbeats: every message of the peer's current process, acknowledgements of the
links included (``ctx.heard_from``), proves it alive, so a lossy link that delays
heartbeats but carries other traffic does not make the detector wrong. This is only
correct under synchrony: ``timeout`` must exceed the worst delay of a heartbeat plus
``period``.
A peer is only watched once it has been heard from or ``start_grace`` has passed since
this node started, so a node that starts late is not declared dead at once.

A detector that was itself not running judges nobody on what it missed: when a tick
comes more than a ``period`` late (the process was paused, or starved by an overload),
every peer gets a whole ``timeout`` again from that moment, so the messages that waited
for this process are read before anyone is declared crashed. Its peers, meanwhile, may
have declared *it* crashed; the links then fence it (it learns so at its first contact
and ends), which keeps the detector's verdict true.

A heartbeat from a peer already detected crashed, from the same process (a restarted
one is announced by the links first and watched afresh), proves the detection wrong:
the network was slower than ``timeout`` allows. The detection stands (the algorithms
above rely on it being permanent), but it is counted in
:attr:`PerfectFailureDetector.false_detections` and logged once per peer as a warning
that says what to change.
"""

from __future__ import annotations

import attrs
from netweave import Component, Crashed, Message, PeerRestarted, hookimpl, upon, upon_message

from ._options import check_period, positive


class Heartbeat(Message, tag="fd.heartbeat"):
    """I am alive."""


@attrs.frozen
class _Tick:
    """Timer event: time to send heartbeats and check deadlines."""


@attrs.frozen
class PerfectFDOptions:
    """Options of the perfect failure detector."""

    period: float = attrs.field(default=0.5, converter=float, validator=positive,
                                metadata={"doc": "Seconds between heartbeats."})
    timeout: float = attrs.field(default=2.0, converter=float, validator=positive,
                                 metadata={"doc": "Silence after which a peer is detected "
                                           "crashed."})
    start_grace: float = attrs.field(default=10.0, converter=float,
                                     metadata={"doc": "Seconds after start before a never-heard "
                                               "peer is watched (late starters)."})

    def __attrs_post_init__(self) -> None:
        check_period(self.period, self.timeout)
        if self.start_grace < 0:
            raise ValueError(f"start_grace must be >= 0, not {self.start_grace!r}")


class PerfectFailureDetector(Component):
    """Heartbeat + timeout detector: reports each crashed peer once, permanently."""

    name = "perfect-fd"
    provides = ("failure-detector", "perfect-failure-detector")
    layer = "fd"
    default = True
    Options = PerfectFDOptions

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import PerfectFailureDetectorSpec

        return [PerfectFailureDetectorSpec]

    false_detections = 0
    """Peers heard from after they were detected crashed: the timeout was too short."""

    stalls = 0
    """Ticks that came more than a period late: this process was paused or starved."""

    def start(self) -> None:
        self.started_at = self.ctx.now()
        self.resumed_at = self.started_at  # no peer is judged on time before this
        self.due = self.started_at
        self.detected: set[str] = set()
        self.wrong: set[str] = set()
        """Peers detected crashed that spoke again as the same process."""
        self._tick()

    @upon(_Tick)
    def on_tick(self, _: _Tick) -> None:
        self._tick()

    def _tick(self) -> None:
        now = self.ctx.now()
        if now - self.due > self.options.period:
            self.stalls += 1
            self.resumed_at = now
            self.ctx.log.warning("perfect-fd: this process did not run for %.3g s (paused or "
                                 "overloaded); every peer gets a whole timeout from now",
                                 now - self.due)
        self.due = now + self.options.period
        beat = Heartbeat()
        watch_all = now - self.started_at >= self.options.start_grace
        resumed = self.resumed_at
        for p in self.ctx.peers:
            if p in self.detected:
                continue
            heard = self.ctx.heard_from(p)  # heartbeats, and anything else it sent
            if heard is None:
                heard = self.started_at if watch_all else None
            if heard is not None and heard < resumed:
                heard = resumed
            if heard is not None and now - heard >= self.options.timeout:
                self.detected.add(p)
                self.ctx.trace("suspect", layer="fd", peer=p)
                self.ctx.publish(Crashed(p))
                continue
            self.ctx.send(p, beat)
        self.ctx.set_timer(self.options.period, _Tick())

    @upon_message(Heartbeat)
    def on_heartbeat(self, sender: str, _: Heartbeat) -> None:
        # A heartbeat from outside the cluster (scenario S4 of docs/coming-from-rust-net.md)
        # is simply ignored.
        # Its arrival is what the links report as heard_from; here only a mistake counts.
        if sender in self.ctx.peers and sender in self.detected and sender not in self.wrong:
            self.wrong.add(sender)
            self.false_detections += 1
            self.ctx.log.warning(
                "perfect-fd detected %s crashed, but it is alive: nothing arrived from it "
                "for timeout=%.3g s and then it spoke again. The network is slower than "
                "this detector assumes: raise the timeout, or use eventually-perfect-fd "
                "where delays have no known bound", sender, self.options.timeout)

    @upon(PeerRestarted)
    def on_restart(self, event: PeerRestarted) -> None:
        # A restarted node is a new process: watch it afresh (the links heard it just now).
        if event.peer in self.detected:
            self.ctx.trace("restore", layer="fd", peer=event.peer)
        self.detected.discard(event.peer)
        self.wrong.discard(event.peer)
