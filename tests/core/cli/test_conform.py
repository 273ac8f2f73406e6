"""``netweave conform``: a plugin's spec over many seeds, from the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from netweave import Catalog
from netweave.cli import main
from netweave.trace import read_trace

PLUGIN_TESTS = Path(__file__).parents[2] / "plugins"


@pytest.fixture
def mutant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A broken component that is not installed: reliable broadcast without relays. The
    current directory is ``tmp_path`` (a failure writes its view page there)."""
    monkeypatch.syspath_prepend(str(PLUGIN_TESTS))
    monkeypatch.chdir(tmp_path)
    return "test_mutations:BebClaimingRb"


def view_data(page: Path) -> dict[str, Any]:
    """The data a view page embeds."""
    text = page.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    assert found is not None, page
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def marked(data: dict[str, Any]) -> set[tuple[str, str]]:
    """(layer, property) of every violated property whose lines the page rings."""
    return {(r["layer"], r["property"]) for r in data["check"]["results"]
            if not r["holds"] and any(ex["lines"] for ex in r["examples"])}


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
    # Its view page is beside it, the same lines with the violation marked.
    view = tmp_path / "trace.html"
    assert f"view of the run, the violation marked: {view}" in captured.out
    data = view_data(view)
    assert data["lines"] == read_trace(trace)
    assert marked(data) == {("rb", "agreement")}


def test_without_a_trace_dir_the_failure_says_how_to_get_one(
        mutant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", mutant, "--seeds", "300", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "again, with its trace" in x)
    seed = line.split("--first ")[1].split()[0]
    assert f"--trace-dir trace-{seed}" in line and "--seeds 1" in line
    # and writes the view of that run, named as that trace's would be, here
    assert f"view of the run, the violation marked: trace-{seed}.html" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"trace-{seed}.html"]
    data = view_data(tmp_path / f"trace-{seed}.html")
    assert marked(data) == {("rb", "agreement")}
    # with every message of the run as an arrow
    assert any(s >= 0 and r >= 0 for s, r, _, _ in data["arrows"])
    assert f"seed {seed}" in data["title"]


def test_the_view_of_a_shrunk_failure_is_the_shrunk_run(
        mutant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from netweave.sim import Scenario
    from test_mutations import BebClaimingRb  # type: ignore[import-not-found]

    assert main(["conform", mutant, "--seeds", "300", "--jobs", "1", "--use", "perfect-fd",
                 "--shrink", "small.toml"]) == 1
    out = capsys.readouterr().out
    assert "view of the shrunk run, the violation marked: small.html" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.html", "small.toml"]
    scenario = Scenario.from_toml(tmp_path / "small.toml")
    seed = int(out.split("netweave sim small.toml --seed ")[1].split()[0])
    data = view_data(tmp_path / "small.html")
    assert data["nodes"] == sorted(scenario.nodes)
    expected = scenario.run(seed, catalog=Catalog.discover(extra=[BebClaimingRb]),
                            trace_messages=True).trace
    assert data["lines"] == json.loads(json.dumps(expected))
    assert marked(data) == {("rb", "agreement")}


def test_the_view_goes_where_asked_or_nowhere(
        mutant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["conform", mutant, "--seeds", "300", "--jobs", "1"]
    (tmp_path / "pages").mkdir()
    assert main([*args, "--view", "pages/failed.html"]) == 1
    assert "the violation marked: pages/failed.html" in capsys.readouterr().out
    assert marked(view_data(tmp_path / "pages" / "failed.html")) == {("rb", "agreement")}
    assert main([*args, "--no-view"]) == 1
    assert "view of the run" not in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["failed.html", "pages"]
    # A path that cannot be written is refused before any seed runs.
    assert main([*args, "--view", "nowhere/failed.html"]) == 2
    captured = capsys.readouterr()
    assert "--view nowhere/failed.html: no directory nowhere" in captured.err
    assert "violated" not in captured.out
    assert main([*args, "--view", "pages"]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_a_plugin_that_conforms_writes_no_view(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["conform", "beb", "--seeds", "5", "--jobs", "1"]) == 0
    assert "view" not in capsys.readouterr().out and list(tmp_path.iterdir()) == []


def test_keep_going_lists_every_failing_seed_and_shows_the_first(
        mutant: str, capsys: pytest.CaptureFixture[str]) -> None:
    from netweave.testing import check_conformance
    from test_mutations import BebClaimingRb  # type: ignore[import-not-found]

    expected = check_conformance(BebClaimingRb, range(120), use=["perfect-fd"],
                                 keep_going=True)
    seeds = [f.seed for f in expected.failures]
    assert len(seeds) >= 2 and expected.failure == expected.failures[0]
    assert main(["conform", mutant, "--seeds", "120", "--jobs", "1", "--use", "perfect-fd",
                 "--keep-going"]) == 1
    captured = capsys.readouterr()
    listed = [int(x.split()[1].rstrip(":")) for x in captured.out.splitlines()
              if x.startswith("  seed ")]
    assert listed == seeds
    assert f"{len(seeds)} of 120 seeds failed; the first:" in captured.out
    assert f"with seed {seeds[0]}:" in captured.out
    assert f"{len(seeds)} of 120 seeds violate a property (the first: seed {seeds[0]}" in \
        captured.err
    # Without it, the run stops at the first failing seed.
    stopped = check_conformance(BebClaimingRb, range(120), use=["perfect-fd"])
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
