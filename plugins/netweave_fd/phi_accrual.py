"""The phi accrual failure detector (Hayashibara, Défago, Yared, Katayama, 2004), as Akka has it.

Instead of a yes/no verdict after a fixed timeout, the detector keeps, for each peer, the
last ``max_samples`` intervals between heartbeats and reads how surprising the current
silence is:

    phi(t) = -log10( P(the next heartbeat comes later than t after the last one) )

where the interval is taken to be normally distributed with the history's mean plus
``acceptable_pause`` and its standard deviation (at least ``min_std_deviation``). A phi
of 1 means a 10% chance of being wrong by suspecting now, 2 a 1% chance, 8 (the default
``threshold``) one in 10^8. The peer is suspected when phi exceeds ``threshold`` and
restored by its next heartbeat. Since phi is a monotone function of the silence, the
detector computes, after each heartbeat, the moment phi will cross the threshold and sets
one timer then, instead of polling phi.

It adapts by itself: a link whose heartbeats arrive irregularly has a larger deviation,
hence a later suspicion; a long silence that ends (a healed partition, a pause) enters
the history as a long interval and makes the next suspicions of that peer slower, which
is how it stops being wrong once delays settle (the ◇P property). The history forgets
that interval again after ``max_samples`` heartbeats.

Heartbeats. Every ``period`` each node asks each peer for a heartbeat, at most one
request in flight per peer (as ``eventually-perfect-fd``: requests travel on perfect
links, which retransmit until delivered; one request per period to a crashed peer would
pile up in the link's buffer). The arrival of the reply is the heartbeat; the interval is
the time since the previous reply. A reply late by a retransmission delays the next
request, so the history sees one long interval, not several.

Start and restarts. When this node starts, every peer is taken as heard from then, with
a history of two intervals around ``first_heartbeat_estimate`` (Akka's bootstrap: mean
the estimate, deviation a quarter of it), so a peer that never answers is suspected
too. The first reply from a peer, and the first one after it restarted (a new process,
announced by the links), mark a starting point without adding an interval. A restarted
peer that was suspected is restored at once: its old process really did crash.

Math with the ``math`` module: the normal tail is ``erfc``; far in the tail (where
``erfc`` underflows) its logarithm is the usual asymptotic expansion.
"""

from __future__ import annotations

import math
from collections import deque

import attrs
from netweave import (
    Component,
    Message,
    PeerRestarted,
    hookimpl,
    upon,
    upon_message,
)

from ._options import at_least_one, not_negative, positive, restore, suspect

__all__ = ["PhiAccrualFDOptions", "PhiAccrualFailureDetector", "phi", "phi_limit"]


class PhiHeartbeatRequest(Message, tag="phi.request"):
    """Send me a heartbeat."""


class PhiHeartbeat(Message, tag="phi.heartbeat"):
    """A heartbeat, in reply to a request."""


@attrs.frozen
class _Tick:
    """Timer event: time to send requests."""


@attrs.frozen
class _Check:
    """Timer event: phi of ``peer`` reaches the threshold now, unless it was heard since."""

    peer: str


def _log10_tail(y: float) -> float:
    """log10 of P(Z > y) for a standard normal Z."""
    if y < 30.0:
        tail = 0.5 * math.erfc(y / math.sqrt(2.0))
        if tail > 0.0:
            return math.log10(tail)
    # Mills ratio: P(Z > y) ~ exp(-y^2 / 2) / (y * sqrt(2 pi)) * (1 - 1/y^2 + 3/y^4)
    ln = -0.5 * y * y - math.log(y * math.sqrt(2.0 * math.pi)) \
        + math.log1p(-1.0 / (y * y) + 3.0 / y ** 4)
    return ln / math.log(10.0)


def phi(elapsed: float, mean: float, std: float) -> float:
    """phi of a silence of ``elapsed`` seconds for intervals ~ Normal(``mean``, ``std``)."""
    return -_log10_tail((elapsed - mean) / std)


def phi_limit(threshold: float) -> float:
    """The standard score at which phi exceeds ``threshold``: the smallest ``y`` found
    (to 1e-12) with ``-log10 P(Z > y) > threshold``."""
    lo, hi = -40.0, 40.0
    while -_log10_tail(hi) <= threshold:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if -_log10_tail(mid) > threshold:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-12:
            break
    return hi


@attrs.frozen
class PhiAccrualFDOptions:
    """Options of the phi accrual failure detector (defaults: Akka's)."""

    period: float = attrs.field(
        default=1.0, converter=float, validator=positive,
        metadata={"doc": "Seconds between heartbeat requests to each peer (Akka's "
                  "heartbeat-interval); the history learns the resulting intervals."})
    threshold: float = attrs.field(
        default=8.0, converter=float, validator=positive,
        metadata={"doc": "A peer is suspected when phi, -log10 of the probability that its "
                  "next heartbeat is still to come, exceeds this: 1 means a 10% chance of a "
                  "wrong suspicion, 8 one in 10^8. Higher: fewer mistakes, slower detection."})
    max_samples: int = attrs.field(
        default=1000, converter=int, validator=at_least_one,
        metadata={"doc": "Heartbeat intervals kept per peer for the mean and the deviation; "
                  "fewer adapt sooner to a changed network and forget a long silence sooner."})
    min_std_deviation: float = attrs.field(
        default=0.1, converter=float, validator=positive,
        metadata={"doc": "Smallest standard deviation used (seconds): on a very regular "
                  "network the measured one is tiny, and a little jitter would then raise "
                  "phi past any threshold."})
    acceptable_pause: float = attrs.field(
        default=3.0, converter=float, validator=not_negative,
        metadata={"doc": "Seconds added to the mean interval: silences this much longer "
                  "than usual (garbage collection, a loaded machine, a retransmission) are "
                  "not yet surprising. Most of the detection time comes from it."})
    first_heartbeat_estimate: float = attrs.field(
        default=1.0, converter=float, validator=positive,
        metadata={"doc": "Interval assumed before any was measured: the history starts "
                  "with two intervals around it (deviation a quarter of it)."})


class PhiAccrualFailureDetector(Component):
    """Suspects a peer when its silence becomes improbable given its heartbeat history."""

    name = "phi-accrual-fd"
    provides = ("failure-detector",)
    layer = "fd"
    Options = PhiAccrualFDOptions

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import EventuallyPerfectFailureDetectorSpec

        return [EventuallyPerfectFailureDetectorSpec]

    def start(self) -> None:
        o = self.options
        now = self.ctx.now()
        self.limit = phi_limit(o.threshold)
        """Standard score at which phi exceeds the threshold."""
        self.last: dict[str, float] = dict.fromkeys(self.ctx.peers, now)
        """When each peer's last heartbeat arrived (or this node started, or it restarted)."""
        self.fresh: set[str] = set(self.ctx.peers)
        """Peers whose next heartbeat starts the intervals instead of closing one."""
        self.history: dict[str, _History] = {
            p: _History(o.max_samples, o.first_heartbeat_estimate) for p in self.ctx.peers}
        self.suspected: set[str] = set()
        self.awaiting: set[str] = set()
        """Peers with a request in flight (at most one each)."""
        self._checks: dict[str, int] = {}
        for p in self.ctx.peers:
            self._arm(p)
        self._tick()

    # -- queries ------------------------------------------------------------------------

    def mean_and_std(self, peer: str) -> tuple[float, float]:
        """The mean (``acceptable_pause`` included) and deviation phi uses for ``peer``."""
        mean, std = self.history[peer].stats()
        return mean + self.options.acceptable_pause, max(std, self.options.min_std_deviation)

    def phi(self, peer: str) -> float:
        """phi of ``peer`` now."""
        mean, std = self.mean_and_std(peer)
        return phi(self.ctx.now() - self.last[peer], mean, std)

    def suspect_after(self, peer: str) -> float:
        """Seconds of silence after its last heartbeat at which ``peer`` is suspected."""
        mean, std = self.mean_and_std(peer)
        return mean + std * self.limit

    # -- heartbeats ---------------------------------------------------------------------

    @upon(_Tick)
    def on_tick(self, _: _Tick) -> None:
        self._tick()

    def _tick(self) -> None:
        for p in self.ctx.peers:
            if p not in self.awaiting:
                self.awaiting.add(p)
                self.ctx.send(p, PhiHeartbeatRequest())
        self.ctx.set_timer(self.options.period, _Tick())

    @upon_message(PhiHeartbeatRequest)
    def on_request(self, sender: str, _: PhiHeartbeatRequest) -> None:
        if sender in self.ctx.peers:
            self.ctx.send(sender, PhiHeartbeat())

    @upon_message(PhiHeartbeat)
    def on_heartbeat(self, sender: str, _: PhiHeartbeat) -> None:
        if sender not in self.last:
            return
        now = self.ctx.now()
        self.awaiting.discard(sender)
        if sender in self.fresh:
            self.fresh.discard(sender)
        else:
            self.history[sender].add(now - self.last[sender])
        self.last[sender] = now
        self._arm(sender)
        if sender in self.suspected:
            self._restore(sender)

    @upon(PeerRestarted)
    def on_restart(self, event: PeerRestarted) -> None:
        p = event.peer
        if p not in self.last:
            return
        # A new process: ask it afresh, and time it from now.
        self.awaiting.discard(p)
        self.fresh.add(p)
        self.last[p] = self.ctx.now()
        self._arm(p)
        if p in self.suspected:
            self._restore(p)

    # -- suspicion ----------------------------------------------------------------------

    def _arm(self, p: str) -> None:
        """Set the one timer of ``p`` at the moment its phi will exceed the threshold."""
        old = self._checks.pop(p, None)
        if old is not None:
            self.ctx.cancel_timer(old)
        if p in self.suspected:
            return
        due = self.last[p] + self.suspect_after(p) - self.ctx.now()
        self._checks[p] = self.ctx.set_timer(max(due, 0.0), _Check(p))

    @upon(_Check)
    def on_check(self, event: _Check) -> None:
        p = event.peer
        self._checks.pop(p, None)
        if p in self.suspected or p not in self.last:
            return
        # The timer was set for this moment; a nanosecond's slack absorbs the rounding of
        # last + limit - now + now, which must not make it wait again for nothing.
        if self.last[p] + self.suspect_after(p) - self.ctx.now() <= 1e-9:
            self.suspected.add(p)
            suspect(self.ctx, p)
        else:
            self._arm(p)

    def _restore(self, p: str) -> None:
        self.suspected.discard(p)
        restore(self.ctx, p)
        self._arm(p)


class _History:
    """The last ``size`` intervals of one peer, with running sums for mean and variance."""

    __slots__ = ("intervals", "squares", "sum")

    def __init__(self, size: int, estimate: float) -> None:
        self.intervals: deque[float] = deque(maxlen=size)
        self.sum = 0.0
        self.squares = 0.0
        std = estimate / 4.0
        self.add(estimate - std)
        self.add(estimate + std)

    def add(self, interval: float) -> None:
        intervals = self.intervals
        if len(intervals) == intervals.maxlen:
            old = intervals[0]
            self.sum -= old
            self.squares -= old * old
        intervals.append(interval)
        self.sum += interval
        self.squares += interval * interval

    def stats(self) -> tuple[float, float]:
        n = len(self.intervals)
        mean = self.sum / n
        return mean, math.sqrt(max(self.squares / n - mean * mean, 0.0))
