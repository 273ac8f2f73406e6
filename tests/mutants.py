"""Deliberately broken algorithms: each a real one with one textbook ingredient removed.

Shared by the mutation tests (each caught by the conformance sweeps) and the explorer's
(each found with a shortest run).
"""

from __future__ import annotations

from netweave import revive, upon_deliver
from netweave_broadcast.all_ack_urb import AllAckUniformReliableBroadcast, Pending
from netweave_broadcast.beb import BestEffortBroadcast
from netweave_broadcast.eager_rb import EagerRbData, EagerReliableBroadcast
from netweave_broadcast.fifo import FifoData, FifoReliableBroadcast
from netweave_broadcast.lazy_rb import LazyRbData, LazyReliableBroadcast
from netweave_fd.eventually_perfect import EventuallyPerfectFailureDetector
from netweave_fd.perfect import Heartbeat, PerfectFailureDetector, _Tick


class BebClaimingRb(BestEffortBroadcast):
    """Best-effort broadcast that claims to be reliable: nobody relays a crashed sender."""

    name = "mutant-beb-as-rb"
    provides = ("reliable-broadcast",)
    layer = "rb"
    default = False
    implicit = False


class UrbDeliveringBeforeAcks(AllAckUniformReliableBroadcast):
    """All-ack URB that delivers as soon as it sees a message, without waiting for acks."""

    name = "mutant-urb-no-acks"
    default = False

    def can_deliver(self, entry: Pending) -> bool:
        return True


class RbWithoutDeduplication(EagerReliableBroadcast):
    """Eager RB that delivers every copy it receives (it still relays only the first)."""

    name = "mutant-rb-no-dedup"

    @upon_deliver(EagerRbData)
    def on_data(self, _: str, __: str, msg: EagerRbData) -> None:
        origin, inc = msg.id.split("/")[:2]
        first = self.delivered.add(origin, int(inc), msg.seq)
        self.ctx.deliver(msg.id, origin, revive(msg.payload))
        if first and (origin, int(inc)) != (self.ctx.node_id, self.ctx.incarnation):
            self._beb(self.ctx.new_message_id(), msg)


class FifoWithoutReorderingBuffer(FifoReliableBroadcast):
    """FIFO broadcast that delivers each message as it comes, holding nothing back."""

    name = "mutant-fifo-no-buffer"
    default = False

    @upon_deliver(FifoData)
    def on_data(self, message_id: str, origin: str, msg: FifoData) -> None:
        self.ctx.deliver(message_id, origin, revive(msg.payload))


class DetectorThatNeverDetects(PerfectFailureDetector):
    """A perfect detector that sends heartbeats but never reports a crash."""

    name = "mutant-fd-never-detects"
    default = False

    def _tick(self) -> None:
        for p in self.ctx.peers:
            self.ctx.send(p, Heartbeat())
        self.ctx.set_timer(self.options.period, _Tick())


class DetectorThatNeverRestores(EventuallyPerfectFailureDetector):
    """An eventually perfect detector that never withdraws a suspicion."""

    name = "mutant-epfd-never-restores"

    def _restore(self, p: str) -> None:
        pass


class LazyRbNoLateRelay(LazyReliableBroadcast):
    """Lazy RB that forgets one rule: relay a message that arrives *after* its origin was
    detected crashed (it still relays what it holds when the detection comes)."""

    name = "mutant-lazy-rb-no-late-relay"
    default = False

    @upon_deliver(LazyRbData)
    def on_data(self, _: str, __: str, msg: LazyRbData) -> None:
        origin, inc = msg.id.split("/")[0], int(msg.id.split("/")[1])
        if self.delivered.add(origin, inc, msg.seq):
            self.from_.setdefault(origin, {})[(inc, msg.seq)] = msg
            self.ctx.deliver(msg.id, origin, revive(msg.payload))
