"""The public test kit: fault mixes, conformance runs, failures, replay, the pytest plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import netweave.testing
import pytest
from netweave import Component, ConfigurationError
from netweave.cli import main
from netweave.testing import (
    DEFAULT_MIX,
    ConformanceError,
    FaultMix,
    assert_conforms,
    check_conformance,
    conformance_scenario,
    replay,
)
from netweave_broadcast.beb import BebData, BestEffortBroadcast

pytest_plugins = ["pytester"]


class SilentBeb(BestEffortBroadcast):
    """Broadcasts to nobody but itself."""

    name = "test-silent-beb"
    default = False
    implicit = False

    def broadcast(self, message_id: str, payload: Any) -> None:
        self.ctx.send(self.ctx.node_id, BebData(message_id, payload))


class NoLayer(Component):
    name = "test-no-layer"
    provides = ("best-effort-broadcast",)


def test_the_mix_is_drawn_from_the_seed_and_respects_its_bounds() -> None:
    assert DEFAULT_MIX.draw(7) == DEFAULT_MIX.draw(7)
    sizes, crashed, partitions = set(), 0, 0
    for seed in range(200):
        ids, network, faults, messages = DEFAULT_MIX.draw(seed)
        sizes.add(len(ids))
        assert 10 <= messages <= 20
        crashes = [f for f in faults if f.kind == "crash"]
        assert len(crashes) <= (len(ids) - 1) // 2
        crashed += bool(crashes)
        kinds = [f.kind for f in faults]
        if "partition" in kinds:
            partitions += 1
            cut = next(f for f in faults if f.kind == "partition")
            heal = next(f for f in faults if f.kind == "heal")
            assert 0.2 <= heal.at - cut.at <= 0.8
        assert ("loss" in kinds) == bool(network["loss"])
        assert [f.at for f in faults] == sorted(f.at for f in faults)
    assert sizes == {4, 5} and crashed > 50 and partitions > 50


def test_restarts_and_crash_bounds_can_be_asked_for() -> None:
    mix = FaultMix(nodes=(5,), max_crashes=4, restart=1.0)
    kinds = [f.kind for seed in range(50) for f in mix.draw(seed)[2]]
    assert "restart" in kinds and kinds.count("restart") == kinds.count("crash")


def test_a_conformance_scenario_runs_the_plugin_with_default_requirements() -> None:
    scenario = conformance_scenario("lazy-rb", 3)
    assert scenario.selections[0] == ("lazy-rb", {}) and scenario.fill == "defaults"
    cluster = scenario.run(3)
    starts = [r for r in cluster.trace if r["ev"] == "start"]
    assert starts[0]["layers"] == {"fd": "perfect-fd", "beb": "beb", "rb": "lazy-rb"}


def test_a_conforming_plugin_runs_every_seed() -> None:
    result = assert_conforms("beb", range(30))
    assert result.ok and result.seeds == 30 and result.specs == ("BestEffortBroadcastSpec",)


def test_a_failure_names_the_seed_and_replays(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConformanceError) as info:
        assert_conforms(SilentBeb, range(50))
    failure = info.value.failure
    assert failure.property == "validity" and failure.plugin == "test-silent-beb"
    text = str(info.value)
    assert f"with seed {failure.seed}" in text and "replay: netweave.testing.replay(" in text
    assert '"ev":"broadcast"' in text
    replay(SilentBeb, failure.seed, trace_dir=tmp_path / "t")
    assert main(["check", str(tmp_path / "t")]) == 1
    assert failure.violation.message in capsys.readouterr().out


def test_explicit_specs_and_refusals() -> None:
    from netweave_broadcast.spec import ReliableBroadcastSpec

    assert not check_conformance("beb", range(200), specs=[ReliableBroadcastSpec]).ok
    with pytest.raises(ConfigurationError, match="has no layer"):
        check_conformance(NoLayer, range(1), specs=[ReliableBroadcastSpec])


def test_public_names_are_exported_once() -> None:
    for name in netweave.testing.__all__:
        assert hasattr(netweave.testing, name), name
    assert len(set(netweave.testing.__all__)) == len(netweave.testing.__all__)


def test_pytest_plugin_fixtures_and_seed_option(pytester: pytest.Pytester,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("""
        def test_seeds(netweave_seeds):
            print("SEEDS", len(netweave_seeds))

        def test_cluster(sim_cluster):
            cluster = sim_cluster("beb", nodes=3, seed=2)
            cluster.broadcast("n1", "beb", "hello")
            cluster.run(duration=1.0)
            got = sorted(r["node"] for r in cluster.trace if r["ev"] == "deliver")
            assert got == ["n1", "n2", "n3"]

        def test_conformance_fixture(conformance):
            assert conformance.assert_conforms("beb").seeds == len(conformance.seeds)
            print("JOBS", conformance.jobs)
    """)
    monkeypatch.delenv("NETWEAVE_SEEDS", raising=False)
    result = pytester.runpytest("-s", "--netweave-seeds", "7", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*SEEDS 7*", "*JOBS 1*"])
    result = pytester.runpytest("-s", "--netweave-seeds", "20", "--netweave-jobs", "2",
                                "-k", "conformance", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*JOBS 2*"])
    refused = pytester.runpytest("--netweave-jobs", "-1")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*--netweave-jobs must be 0 (one per CPU) or more*"])
    monkeypatch.setenv("NETWEAVE_JOBS", "auto")
    refused = pytester.runpytest()
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*$NETWEAVE_JOBS must be a whole number, not 'auto'*"])
    monkeypatch.delenv("NETWEAVE_JOBS")
    monkeypatch.setenv("NETWEAVE_SEEDS", "5")
    result = pytester.runpytest("-s", "-k", "seeds")
    result.stdout.fnmatch_lines(["*SEEDS 5*"])
    monkeypatch.delenv("NETWEAVE_SEEDS")
    result = pytester.runpytest("-s", "-k", "seeds")
    result.stdout.fnmatch_lines(["*SEEDS 1000*"])
