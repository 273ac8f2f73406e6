"""Safety, then liveness within a stated bound: once a seed's faults are over, every
partition heals, every paused node resumes and the network stops losing; liveness is
judged the mix's bound of virtual time later."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from mutants import DetectorThatNeverDetects, RbWithoutDeduplication
from netweave.errors import ConfigurationError
from netweave.sim import Fault
from netweave.testing import (
    MIXES,
    FaultMix,
    assert_conforms,
    assert_violates,
    conformance_scenario,
    replay,
)
from netweave.testing.conformance import stabilized


@attrs.frozen
class NeverHeals(FaultMix):
    """A mix that forgets to heal its partition."""

    def draw(self, seed: int) -> tuple[list[str], dict[str, Any], list[Fault], int]:
        ids, network, faults, messages = super().draw(seed)
        return ids, network, [*[f for f in faults if f.kind != "heal"],
                              Fault(1.0, "partition", {"groups": [["n1"], ids[1:]]})], messages


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_every_mix_stabilizes_after_its_faults(mix: str) -> None:
    for seed in range(300):
        scenario = conformance_scenario("eager-rb", seed, mix=MIXES[mix])
        assert stabilized(scenario), (mix, seed, scenario.faults)
        assert MIXES[mix].liveness_bound == MIXES[mix].quiet == scenario.quiet


def test_a_mix_that_never_heals_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="liveness cannot be judged"):
        conformance_scenario("eager-rb", 0, mix=NeverHeals())


def test_a_liveness_failure_states_its_bound() -> None:
    failure = assert_violates(DetectorThatNeverDetects, range(100))
    assert failure.property == "strong completeness" and failure.kind == "liveness"
    mix = MIXES["default"]
    assert failure.bound == mix.liveness_bound
    # Judged at the end of the run: the bound after the last fault and broadcast.
    cluster = replay(DetectorThatNeverDetects, failure.seed)
    assert failure.stable is not None
    assert cluster.now == pytest.approx(failure.stable + mix.quiet)
    scenario = conformance_scenario(DetectorThatNeverDetects, failure.seed)
    assert failure.stable == max(f.at for f in scenario.faults)
    assert (f"  liveness: judged at t={round(failure.stable + mix.quiet, 6)}, the bound of "
            f"{mix.quiet}s of virtual time after t={failure.stable}") in str(failure)


def test_a_safety_failure_says_nothing_of_the_bound() -> None:
    failure = assert_violates(RbWithoutDeduplication, range(100))
    assert failure.property == "no duplication"
    assert failure.kind == "safety" and "liveness:" not in str(failure)


def test_the_bound_is_what_liveness_gets() -> None:
    # A perfect detector times out after 2 s: within the default bound it detects every
    # crash, within a bound shorter than its timeout it cannot.
    assert_conforms("perfect-fd", range(30))
    failure = assert_violates("perfect-fd", range(30), mix=FaultMix(quiet=1.0))
    assert failure.property == "strong completeness" and failure.bound == 1.0
