"""Deliberately broken algorithms are caught: a checker that cannot catch them is not done.

Each mutant is a subclass of a real algorithm with one textbook ingredient removed,
registered as a plugin of its own (``Catalog(extra=...)`` through the conformance kit)
and run through exactly the conformance suite the real plugins pass. Each must violate
the property its missing ingredient exists for within 1,000 seeds.
"""

from __future__ import annotations

import pytest
from mutants import (
    BebClaimingRb,
    DetectorThatNeverDetects,
    DetectorThatNeverRestores,
    FifoWithoutReorderingBuffer,
    RbWithoutDeduplication,
    UrbDeliveringBeforeAcks,
)
from netweave.testing import SeedFailure, assert_violates, check_conformance
from netweave_broadcast.spec import ReliableBroadcastSpec

SEEDS = range(1000)


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
