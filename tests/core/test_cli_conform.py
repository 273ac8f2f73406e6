"""``netweave conform``: a plugin's spec over many seeds, from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from netweave.cli import main

PLUGIN_TESTS = Path(__file__).parents[1] / "plugins"


@pytest.fixture
def mutant(monkeypatch: pytest.MonkeyPatch) -> str:
    """A broken component that is not installed: reliable broadcast without relays."""
    monkeypatch.syspath_prepend(str(PLUGIN_TESTS))
    return "test_mutations:BebClaimingRb"


def test_an_installed_plugin_conforms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", "lazy-rb", "--seeds", "40", "--first", "100", "--jobs", "1",
                 "--mix", "restart"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("lazy-rb: every property of ReliableBroadcastSpec holds")
    assert "on seeds 100-139 (restart mix)" in out


def test_a_broken_component_fails_with_the_seed_and_its_trace(
        mutant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace"
    assert main(["conform", mutant, "--seeds", "300", "--jobs", "1", "--use", "perfect-fd",
                 "--trace-dir", str(trace)]) == 1
    captured = capsys.readouterr()
    assert "ReliableBroadcastSpec 'agreement' violated on layer rb with seed" in captured.out
    assert f"written to {trace}" in captured.out
    assert "violated on seed" in captured.err
    # The trace is that seed's whole run, and netweave check finds the same violation.
    assert sorted(p.name for p in trace.glob("*.jsonl"))
    assert main(["check", str(trace)]) == 1
    assert "agreement" in capsys.readouterr().out
    assert f"netweave timeline {trace} lays it out by node" in captured.out
    assert main(["timeline", str(trace)]) == 0
    assert "dlvr" in capsys.readouterr().out


def test_without_a_trace_dir_the_failure_says_how_to_get_one(
        mutant: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", mutant, "--seeds", "300", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "again, with its trace" in x)
    seed = line.split("--first ")[1].split()[0]
    assert f"--trace-dir trace-{seed}" in line and "--seeds 1" in line


def test_keep_going_lists_every_failing_seed_and_shows_the_first(
        mutant: str, capsys: pytest.CaptureFixture[str]) -> None:
    from netweave.testing import check_conformance
    from test_mutations import BebClaimingRb  # type: ignore[import-not-found]

    expected = check_conformance(BebClaimingRb, range(60), use=["perfect-fd"],
                                 keep_going=True)
    seeds = [f.seed for f in expected.failures]
    assert len(seeds) >= 2 and expected.failure == expected.failures[0]
    assert main(["conform", mutant, "--seeds", "60", "--jobs", "1", "--use", "perfect-fd",
                 "--keep-going"]) == 1
    captured = capsys.readouterr()
    listed = [int(x.split()[1].rstrip(":")) for x in captured.out.splitlines()
              if x.startswith("  seed ")]
    assert listed == seeds
    assert f"{len(seeds)} of 60 seeds failed; the first:" in captured.out
    assert f"with seed {seeds[0]}:" in captured.out
    assert f"{len(seeds)} of 60 seeds violate a property (the first: seed {seeds[0]}" in \
        captured.err
    # Without it, the run stops at the first failing seed.
    stopped = check_conformance(BebClaimingRb, range(60), use=["perfect-fd"])
    assert stopped.failures == (stopped.failure,) and stopped.seeds == seeds[0] + 1


@pytest.mark.parametrize(("argv", "message"), [
    (["lazyrb"], "did you mean 'lazy-rb'"),
    (["test_mutations:Missing"], "cannot load 'test_mutations:Missing'"),
    (["test_mutations:SEEDS"], "is not a netweave Component class"),
    (["no_such_module_here:X"], "cannot load"),
    (["beb", "--option", "novalue"], "expected KEY=VALUE"),
    (["lazy-rb", "--option", "report_period=-1"], "report_period"),
    (["beb", "--seeds", "0"], "--seeds must be at least 1"),
])
def test_bad_input_is_refused_with_exit_code_2(
        mutant: str, argv: list[str], message: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", *argv]) == 2
    assert message in capsys.readouterr().err


def test_long_runs_report_progress(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    import netweave.cli.conform as conform

    monkeypatch.setattr(conform, "PROGRESS_EVERY", 0.0)
    assert main(["conform", "beb", "--seeds", "5", "--jobs", "1"]) == 0
    progress = [x for x in capsys.readouterr().err.splitlines() if "seeds/s" in x]
    assert [x.split()[0] for x in progress] == ["1/5", "2/5", "3/5", "4/5"]


def test_the_failing_seeds_trace_shows_its_messages(
        mutant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from netweave.trace import read_trace

    trace = tmp_path / "trace"
    assert main(["conform", mutant, "--seeds", "300", "--jobs", "1", "--use", "perfect-fd",
                 "--trace-dir", str(trace)]) == 1
    capsys.readouterr()
    lines = read_trace(trace)
    sent = {r["mid"] for r in lines if r["ev"] == "send"}
    received = {r["mid"] for r in lines if r["ev"] == "recv"}
    assert sent and received and received <= sent
