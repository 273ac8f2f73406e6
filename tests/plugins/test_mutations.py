"""Deliberately broken algorithms are caught: a checker that cannot catch them is not done.

Each mutant is a subclass of a real algorithm with one textbook ingredient removed,
registered as a plugin of its own (``Catalog(extra=...)`` through the conformance kit)
and run through exactly the conformance suite the real plugins pass. Each must violate
the property its missing ingredient exists for within 1,000 seeds.
"""

from __future__ import annotations

import pytest
from netweave import revive, upon_deliver
from netweave.testing import SeedFailure, assert_violates, check_conformance
from netweave_broadcast.all_ack_urb import AllAckUniformReliableBroadcast, Pending
from netweave_broadcast.beb import BestEffortBroadcast
from netweave_broadcast.eager_rb import EagerRbData, EagerReliableBroadcast
from netweave_broadcast.fifo import FifoData, FifoReliableBroadcast
from netweave_broadcast.spec import ReliableBroadcastSpec
from netweave_fd.eventually_perfect import EventuallyPerfectFailureDetector
from netweave_fd.perfect import Heartbeat, PerfectFailureDetector, _Tick

SEEDS = range(1000)


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


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("mutant", "expected"), [
    (BebClaimingRb, {"agreement"}),
    (UrbDeliveringBeforeAcks, {"uniform agreement"}),
    (RbWithoutDeduplication, {"no duplication"}),
    (FifoWithoutReorderingBuffer, {"fifo delivery"}),
    (DetectorThatNeverDetects, {"strong completeness"}),
    (DetectorThatNeverRestores, {"eventual strong accuracy"}),
], ids=lambda m: getattr(m, "name", ""))
def test_mutant_is_caught_within_1000_seeds(mutant: type, expected: set[str]) -> None:
    failure = assert_violates(mutant, SEEDS)
    assert isinstance(failure, SeedFailure)
    assert failure.property in expected, str(failure)
    assert failure.plugin == mutant.name and failure.violation.lines
    assert f"seed {failure.seed}" in str(failure)


def test_the_beb_mutant_is_judged_as_the_reliable_broadcast_it_claims() -> None:
    failure = assert_violates(BebClaimingRb, SEEDS)
    assert failure.spec == ReliableBroadcastSpec.__name__
    # The same algorithm claiming only what it is conforms on those very seeds.
    assert check_conformance("beb", range(failure.seed + 1)).ok


def test_a_correct_plugin_is_not_reported_as_a_mutant() -> None:
    with pytest.raises(AssertionError, match="no violation"):
        assert_violates("eager-rb", range(20))
