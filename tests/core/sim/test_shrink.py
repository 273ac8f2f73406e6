"""Scenario files written back, explicit workloads, and shrinking a failure."""

from __future__ import annotations

import importlib
import math
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import attrs
import pytest
from netweave import Catalog, Component, ConfigurationError
from netweave.check import History
from netweave.cli import main
from netweave.sim import Broadcast, Fault, Scenario, shrink_scenario
from netweave.testing import HARSH_MIX, conformance_scenario, shrink
from netweave_broadcast.spec import ReliableBroadcastSpec

PLUGIN_TESTS = Path(__file__).parents[2]  # tests/, where mutants.py is


@pytest.fixture
def mutant(monkeypatch: pytest.MonkeyPatch) -> type[Component]:
    """Best-effort broadcast under a reliable broadcast's name (not installed)."""
    monkeypatch.syspath_prepend(str(PLUGIN_TESTS))
    cls: type[Component] = importlib.import_module("mutants").BebClaimingRb
    return cls


def _read_back(scenario: Scenario) -> Scenario:
    return Scenario.from_dict(tomllib.loads(scenario.to_toml()))


# -- scenario files written back ------------------------------------------------------


def test_a_scenario_file_reads_back_equal_and_runs_the_same() -> None:
    scenario = conformance_scenario("eager-rb", 3, mix=HARSH_MIX, use=["perfect-fd"])
    explicit = scenario.explicit(3)
    assert explicit.workload == {}
    assert len(explicit.broadcasts) == scenario.workload["messages"]
    back = _read_back(explicit)
    assert back == explicit
    # The drawn workload, written out, is the same run as the draw itself.
    assert scenario.run(3).trace == explicit.run(3).trace == back.run(3).trace


def test_every_value_a_file_can_hold_reads_back() -> None:
    scenario = Scenario(
        nodes=["a", "b c", "d"], selections=[("perfect-fd", {"timeout": 1.5}), ("urb", {})],
        fill="none", layer="urb",
        network={"loss": 0.1, "latency": {"dist": "constant", "low": 0.002, "high": 0.002}},
        broadcasts=[Broadcast(1.0, "a", 'quote " backslash \\ newline \n tab \t del \x7f é'),
                    Broadcast(1e-05, "d", 7), Broadcast(2.0, "b c", [1, True, {"k-1": "v"}],
                                                          "urb")],
        faults=[Fault(0.5, "partition", {"groups": [["a"], ["b c", "d"]]}),
                Fault(0.9, "heal"), Fault(3.0, "loss", {"probability": 0.0})],
        quiet=5.0)
    back = _read_back(scenario)
    assert back == scenario
    odd = Scenario(nodes=["a"], selections=[("beb", {})], layer="beb",
                   network={"reorder_delay": math.inf, "loss": 1e-07},
                   workload={"senders": [], "messages": -0})
    assert _read_back(odd) == odd
    odd.run(1)  # a run sets when it ended; that is not part of what the file says
    assert _read_back(odd) == odd
    header = "a control \x01 character, a lone \udc80 surrogate"
    assert tomllib.loads(odd.to_toml(header=header)) == tomllib.loads(odd.to_toml())


def _one(**fields: Any) -> Scenario:
    return Scenario(**{"nodes": ["a"], "selections": [("beb", {})], "layer": "beb", **fields})


@pytest.mark.parametrize(("scenario", "match"), [
    (_one(broadcasts=[Broadcast(1.0, "a", None)]), "no type for NoneType"),
    (_one(broadcasts=[Broadcast(1.0, "a", "\ud800")]), "lone surrogate"),
    (_one(broadcasts=[Broadcast(1.0, "a", 2**64)]), "integers of 64 bits"),
    (_one(fill="implicit"), "fill='implicit'"),
    # A file's 'layer' is the first plugin selected, and what the workload broadcasts on.
    (_one(layer=None), "this scenario's layer is None, its first selection 'beb'"),
    (_one(selections=[("perfect-fd", {}), ("urb", {})], layer="urb"),
     "layer is 'urb', its first selection 'perfect-fd'"),
])
def test_what_a_file_cannot_say_is_refused(scenario: Scenario, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        scenario.to_toml()


def test_a_layer_that_broadcasts_nothing_draws_no_explicit_broadcasts() -> None:
    scenario = conformance_scenario("perfect-fd", 1)
    assert scenario.workload["messages"] > 0
    assert scenario.explicit(1).broadcasts == []
    assert scenario.explicit(1).summary().endswith("0 broadcasts, " +
                                                   f"{len(scenario.faults)} faults")


# -- shrinking a scenario -------------------------------------------------------------


def _big() -> Scenario:
    return Scenario(
        nodes=["n1", "n2", "n3", "n4", "n5"], selections=[("beb", {})],
        network={"loss": 0.1, "duplicate": 0.05, "reorder": 0.2},
        broadcasts=[Broadcast(0.5 + i / 10, f"n{1 + i % 5}", f"m{i}") for i in range(12)],
        faults=[Fault(0.6, "partition", {"groups": [["n1", "n2"], ["n3", "n4", "n5"]]}),
                Fault(0.8, "crash", {"node": "n2"}), Fault(0.9, "heal"),
                Fault(1.0, "pause", {"node": "n4"}), Fault(1.2, "resume", {"node": "n4"}),
                Fault(1.3, "crash", {"node": "n5"}), Fault(2.0, "loss", {"probability": 0.0})])


def test_shrinking_keeps_what_the_failure_needs_and_drops_the_rest() -> None:
    seen: list[Scenario] = []

    def fails(variant: Scenario, seed: int) -> bool:
        seen.append(variant)
        return "n3" in variant.nodes and any(b.payload == "m7" for b in variant.broadcasts)

    result = shrink_scenario(_big(), 4, fails, seeds=1)
    assert result.scenario.broadcasts == [Broadcast(1.2, "n3", "m7")]
    assert result.scenario.nodes == ["n3"]
    assert result.scenario.faults == []
    assert result.scenario.network == {}
    assert result.seed == 4 and not result.exhausted and result.runs == len(seen)
    for variant in seen:
        _assert_assumptions_kept(variant)


def _assert_assumptions_kept(variant: Scenario) -> None:
    """Every partition heals later, every pause resumes, loss ends, a minority crashes."""
    for i, f in enumerate(variant.faults):
        later = variant.faults[i + 1:]
        if f.kind in ("partition", "one-way"):
            assert any(g.kind == "heal" for g in later), variant.faults
        if f.kind == "pause":
            assert any(g.kind == "resume" and g.fields == f.fields for g in later), variant.faults
    if variant.network.get("loss"):
        assert any(f.kind == "loss" and f.fields["probability"] == 0 for f in variant.faults)
    crashed = {f.fields["node"] for f in variant.faults if f.kind == "crash"}
    assert len(crashed) <= (len(variant.nodes) - 1) // 2


@pytest.mark.parametrize("faults", [
    # One heal ends both partitions: removing the first with "its" heal would leave the
    # one-way partition for ever.
    [Fault(1.0, "partition", {"groups": [["n1"], ["n2", "n3", "n4", "n5"]]}),
     Fault(1.5, "one-way", {"sources": ["n2"], "targets": ["n3"]}), Fault(2.0, "heal")],
    # The second pause does nothing while the first holds; alone, it would never end.
    [Fault(1.0, "pause", {"node": "n1"}), Fault(1.5, "pause", {"node": "n1"}),
     Fault(2.0, "resume", {"node": "n1"})],
])
def test_no_variant_leaves_a_partition_or_a_pause_for_ever(faults: list[Fault]) -> None:
    seen: list[Scenario] = []

    def fails(variant: Scenario, seed: int) -> bool:
        seen.append(variant)
        return True

    scenario = attrs.evolve(_big(), faults=faults, network={})
    result = shrink_scenario(scenario, 0, fails, seeds=1)
    assert result.scenario.faults == [] and len(seen) > 3
    for variant in seen:
        _assert_assumptions_kept(variant)


def test_when_a_majority_crashed_some_node_still_survives() -> None:
    crashes = [Fault(1.0 + i / 10, "crash", {"node": f"n{i}"}) for i in (1, 2, 3)]
    scenario = attrs.evolve(_big(), faults=crashes, network={})

    def fails(variant: Scenario, seed: int) -> bool:
        return len(variant.faults) == 3

    result = shrink_scenario(scenario, 0, fails, seeds=1)
    # The three crashed nodes, and one of the two that never crash.
    assert len(result.scenario.nodes) == 4
    assert {"n1", "n2", "n3"} < set(result.scenario.nodes)


def test_shrinking_tries_further_seeds_and_names_the_one_that_fails() -> None:
    def fails(variant: Scenario, seed: int) -> bool:
        # Only the original, or a smaller scenario with seed 7, fails.
        return len(variant.broadcasts) == 12 or seed == 7

    assert shrink_scenario(_big(), 3, fails, seeds=4).seed == 3  # 7 is out of reach
    result = shrink_scenario(_big(), 3, fails, seeds=5)
    assert result.seed == 7 and len(result.scenario.broadcasts) == 0


def test_shrinking_stops_at_its_budget_and_a_refused_variant_is_no_failure() -> None:
    calls = []

    def fails(variant: Scenario, seed: int) -> bool:
        calls.append(seed)
        if len(variant.nodes) < 5:
            raise ConfigurationError("this plugin needs five nodes")
        return True

    result = shrink_scenario(_big(), 0, fails, seeds=2, max_runs=9)
    assert result.exhausted and result.runs == len(calls) == 9
    assert len(result.scenario.nodes) == 5
    assert len(result.scenario.broadcasts) < 12


# -- shrinking a conformance failure --------------------------------------------------


def test_a_conformance_failure_shrinks_to_a_scenario_that_still_fails(
        mutant: type[Component]) -> None:
    found = shrink(mutant, 22)
    assert (found.original.seed, found.original.property) == (22, "agreement")
    assert found.failure.property == "agreement"
    small, big = found.scenario, found.shrunk.original
    # A correct node that delivers, one that does not, and a sender that crashes.
    assert len(small.nodes) == 3 < len(big.nodes)
    assert 1 <= len(small.broadcasts) < len(big.broadcasts)
    assert len(small.faults) <= len(big.faults)
    # The file says it all: read back and run with the seed it names, it fails again.
    text = found.to_toml()
    assert f"violated with seed {found.seed}" in text
    # The header's command names the class, which is not installed.
    assert found.plugins == (f"mutants:{mutant.__name__}",)
    assert f"netweave sim THIS.toml --seed {found.seed} --plugin {found.plugins[0]}" in text
    again = Scenario.from_dict(tomllib.loads(text))
    trace = again.run(found.seed, catalog=Catalog.discover(extra=[mutant])).trace
    spec = ReliableBroadcastSpec("rb")
    assert next(iter(spec.violations("agreement", History.from_records(trace))), None)


def test_a_seed_that_passes_has_nothing_to_shrink() -> None:
    with pytest.raises(ConfigurationError, match="seed 1 of this mix violates no property"):
        shrink("beb", 1)


def test_conform_shrink_writes_a_file_netweave_sim_runs(
        mutant: type[Component], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = f"mutants:{mutant.__name__}"
    path = tmp_path / "a dir" / "small.toml"  # printed quoted for the shell
    assert main(["conform", ref, "--seeds", "300", "--jobs", "1", "--use", "perfect-fd",
                 "--shrink", str(path)]) == 1
    out = capsys.readouterr().out
    assert "shrunk from 5 nodes" in out and f"written to {path}" in out
    command = out[out.index("run it: netweave sim ") + len("run it: netweave "):].split(",")[0]
    argv = shlex.split(command)
    assert argv[argv.index("--plugin") + 1] == ref
    trace = tmp_path / "trace"
    argv[argv.index("--trace-dir") + 1] = str(trace)
    assert main(argv) == 0
    assert main(["check", str(trace)]) == 1
    assert re.search(r"agreement +violated", capsys.readouterr().out)
    # --plugin takes a class; a name is an error, not a silent no-op.
    assert main(["sim", str(path), "--plugin", "beb", "--trace-dir", str(trace)]) == 2
    assert "--plugin takes MODULE:CLASS" in capsys.readouterr().err


def test_conform_says_how_to_shrink_a_failure(mutant: type[Component], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where the view of the failing run goes
    ref = f"mutants:{mutant.__name__}"
    for trace in ([], ["--trace-dir", str(tmp_path / "trace")]):
        assert main(["conform", ref, "--first", "22", "--seeds", "1", "--jobs", "1",
                     *trace]) == 1
        out = capsys.readouterr().out
        assert (f"a smaller scenario that fails the same way: netweave conform {ref} "
                f"--first 22 --seeds 1 --mix default --shrink small-22.toml") in out


def test_sim_shrinks_a_scenario_file_that_fails_its_check(
        mutant: type[Component], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.toml"
    big.write_text(conformance_scenario(mutant, 22).explicit(
        22, catalog=Catalog.discover(extra=[mutant])).to_toml(), encoding="utf-8")
    small = tmp_path / "small.toml"
    ref = f"mutants:{mutant.__name__}"
    assert main(["sim", str(big), "--seed", "22", "--plugin", ref, "--trace-dir",
                 str(tmp_path / "t"), "--shrink", str(small)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{mutant.name}: ReliableBroadcastSpec 'agreement' violated on "
                          f"layer rb: ")
    assert "shrunk from 5 nodes, 13 broadcasts, 4 faults in" in out
    found = Scenario.from_toml(small)
    assert len(found.nodes) < 5 and len(found.broadcasts) < 13
    assert f"--plugin {ref} --trace-dir trace-shrunk" in out
    # A run that violates nothing has nothing to shrink, and writes nothing.
    nothing = tmp_path / "nothing.toml"
    assert main(["sim", "--layer", "beb", "--seed", "1", "--trace-dir", str(tmp_path / "b"),
                 "--shrink", str(nothing)]) == 0
    assert "every property holds with seed 1: nothing to shrink" in capsys.readouterr().out
    assert not nothing.exists()


def test_shrink_refuses_a_bad_file_or_plugin_before_any_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["conform", "beb", "--shrink", str(tmp_path)],
                 ["sim", "--layer", "beb", "--trace-dir", str(tmp_path / "t"),
                  "--shrink", str(tmp_path)]):
        assert main(argv) == 2
        assert "is a directory; give a file name" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["conform", "beb", "--shrink", str(blocker / "x.toml")]) == 2
    assert f"cannot create {blocker}" in capsys.readouterr().err
    for ref in (":X", ".relative:X"):
        assert main(["sim", "--layer", "beb", "--trace-dir", str(tmp_path / "t"),
                     "--plugin", ref]) == 2
        assert f"cannot load {ref!r}" in capsys.readouterr().err


def test_a_file_naming_a_plugin_that_is_not_installed_says_how_to_name_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.toml"
    path.write_text(_one(selections=[("not-installed-rb", {})], layer="not-installed-rb")
                    .to_toml(), encoding="utf-8")
    assert main(["sim", str(path), "--trace-dir", str(tmp_path / "t")]) == 2
    assert "is named with --plugin MODULE:CLASS" in capsys.readouterr().err
