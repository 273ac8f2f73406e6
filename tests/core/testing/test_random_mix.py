"""The random mix: each seed draws its own fault profile, and a failure prints it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from netweave.cli import main
from netweave.testing import (
    MIXES,
    RANDOM_MIX,
    FaultProfile,
    assert_conforms,
    assert_violates,
    conformance_scenario,
)
from netweave.testing.conformance import LATENCY_DISTS, PARTITION_SHAPES, fault_kinds
from netweave_broadcast.beb import BestEffortBroadcast

STANDARD = ["beb", "eager-rb", "lazy-rb", "all-ack-urb", "majority-ack-urb", "fifo-rb",
            "perfect-fd", "eventually-perfect-fd", "phi-accrual-fd", "swim-fd"]


class BebClaimingRb(BestEffortBroadcast):
    name = "random-mix-mutant-beb-as-rb"
    provides = ("reliable-broadcast",)
    layer = "rb"
    default = False
    implicit = False


def test_each_seed_draws_its_own_profile_from_the_seed() -> None:
    assert MIXES["random"] is RANDOM_MIX
    profiles = [RANDOM_MIX.profile(seed) for seed in range(300)]
    assert profiles == [RANDOM_MIX.profile(seed) for seed in range(300)]
    assert all(isinstance(p, FaultProfile) for p in profiles)
    assert len({str(p) for p in profiles}) == 300
    assert {p.partition for p in profiles} == set(PARTITION_SHAPES)
    assert {p.latency["dist"] for p in profiles} == set(LATENCY_DISTS)
    assert {p.crashes for p in profiles} == {0, 1, 2}
    assert {p.pauses for p in profiles} == {0, 1, 2}
    assert any(p.restarts for p in profiles)
    for knob in ("loss", "duplicate", "reorder"):
        values = [getattr(p, knob) for p in profiles]
        assert 0.0 in values and max(values) > 0.05
    # The other mixes share one profile: they draw none.
    assert MIXES["default"].profile(3) is None


@pytest.mark.parametrize("seed", range(200))
def test_the_scenario_is_the_profile_and_keeps_the_assumptions(seed: int) -> None:
    profile = RANDOM_MIX.profile(seed)
    scenario = conformance_scenario("eager-rb", seed, mix=RANDOM_MIX)
    n = len(scenario.nodes)
    net = scenario.network
    assert (net["loss"], net["duplicate"], net["reorder"]) == (
        profile.loss, profile.duplicate, profile.reorder)
    assert net["latency"] == profile.latency
    kinds = Counter(f.kind for f in scenario.faults)
    assert kinds["crash"] == profile.crashes <= (n - 1) // 2
    assert kinds["restart"] == profile.restarts <= profile.crashes
    assert kinds["pause"] == kinds["resume"] == profile.pauses
    shape = {"none": 0, "symmetric": kinds["partition"], "one-way": kinds["one-way"]}
    assert shape[profile.partition] == (profile.partition != "none")
    assert kinds["heal"] == (profile.partition != "none")
    crashed = {f.fields["node"] for f in scenario.faults if f.kind == "crash"}
    for f in scenario.faults:
        if f.kind == "pause":
            assert f.fields["node"] not in crashed
            resume = next(g for g in scenario.faults
                          if g.kind == "resume" and g.fields == f.fields)
            assert 0.1 <= resume.at - f.at <= 0.5
        if f.kind in ("partition", "one-way"):
            heal = next(g for g in scenario.faults if g.kind == "heal")
            assert 0.2 <= heal.at - f.at <= 0.8
    if profile.loss:  # loss ends last: after it, nothing but the liveness bound
        assert scenario.faults[-1].kind == "loss"
        assert scenario.faults[-1].fields == {"probability": 0.0}
    assert set(fault_kinds(scenario)) >= {k for k in ("crash", "restart", "pause")
                                          if kinds[k]}


@pytest.mark.parametrize("plugin", STANDARD)
def test_the_standard_plugins_conform_under_the_random_mix(plugin: str) -> None:
    assert_conforms(plugin, range(100), mix=RANDOM_MIX)


def test_a_failure_prints_its_profile_and_the_seed_runs_it_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    failure = assert_violates(BebClaimingRb, range(300), mix=RANDOM_MIX)
    profile = RANDOM_MIX.profile(failure.seed)
    assert failure.profile == str(profile)
    assert f"  profile: {profile} (drawn from seed {failure.seed}" in str(failure)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "plugins"))
    mutant = "test_mutations:BebClaimingRb"
    assert main(["conform", mutant, "--mix", "random", "--seeds", "300", "--jobs", "1",
                 "--no-view"]) == 1
    out = capsys.readouterr().out
    seed = int(out.split(" with seed ")[1].split(":")[0])
    shown = next(line for line in out.splitlines() if line.startswith("  profile: "))
    assert shown.startswith(f"  profile: {RANDOM_MIX.profile(seed)}")
    again = next(line for line in out.splitlines() if "again, with its trace" in line)
    assert f"--first {seed} --seeds 1 --mix random" in again
    assert main(["conform", mutant, "--mix", "random", "--first", str(seed), "--seeds", "1",
                 "--no-view"]) == 1
    assert shown in capsys.readouterr().out.splitlines()
