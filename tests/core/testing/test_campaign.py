"""``netweave campaign``: seeds until a count or a duration, a summary in JSON and text,
and each failing seed's shrunk scenario and view."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from netweave.cli import main
from netweave.sim import Scenario
from netweave.testing import FAULT_KINDS, run_campaign
from netweave.testing.campaign import TIMING
from netweave_broadcast.beb import BestEffortBroadcast

PLUGIN_TESTS = Path(__file__).parents[2] / "plugins"


class BebClaimingRb(BestEffortBroadcast):
    name = "campaign-mutant-beb-as-rb"
    provides = ("reliable-broadcast",)
    layer = "rb"
    default = False
    implicit = False


@pytest.fixture
def mutant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.syspath_prepend(str(PLUGIN_TESTS))
    monkeypatch.chdir(tmp_path)
    return "test_mutations:BebClaimingRb"


def view_data(page: Path) -> dict[str, Any]:
    text = page.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    assert found is not None, page
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_a_campaign_writes_its_summary_and_keeps_each_failing_seed(
        mutant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c"
    assert main(["campaign", mutant, "--seeds", "200", "--jobs", "2", "--out", str(out),
                 "--shrink-limit", "2", "--max-runs", "150"]) == 1
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    text = (out / "summary.txt").read_text()
    assert printed.startswith(text)
    assert summary["plugin"] == "mutant-beb-as-rb" and summary["mix"] == "random"
    assert (summary["first"], summary["seeds"], summary["last"]) == (0, 200, 199)
    assert summary["stopped"] == "seeds" and summary["where"] == "local"
    assert summary["seeds_per_second"] > 0 and summary["workers"] == 2
    failing = summary["failing_seeds"]
    assert summary["failures"] == len(failing) > 2
    assert summary["failures_by_property"] == {"ReliableBroadcastSpec 'agreement'":
                                              len(failing)}
    assert set(summary["coverage"]) == set(FAULT_KINDS)
    assert all(0 < n < 200 for n in summary["coverage"].values())
    assert summary["rechecked"] >= len(failing)
    assert f"{summary['seeds']:,} seeds in " in text and "seeds/s" in text
    assert "fault coverage" in text and "ReliableBroadcastSpec 'agreement'" in text
    for i, entry in enumerate(failing):
        seed = entry["seed"]
        assert entry["profile"] and f"seed {seed}: ReliableBroadcastSpec" in text
        view = out / entry["view"]
        assert view.name == f"seed-{seed}.html"
        assert any(not r["holds"] for r in view_data(view)["check"]["results"])
        if i < 2:  # shrunk: the scenario file runs, smaller than the seed's
            scenario = Scenario.from_toml(out / entry["scenario_file"])
            assert entry["shrunk"]["size"] == scenario.summary()
            assert len(scenario.nodes) <= 5 and scenario.broadcasts
            assert f"shrunk to {scenario.summary()}" in text
        else:
            assert "scenario_file" not in entry and entry["shrunk"] is None
            assert "beyond the first 2" in entry["note"]
    assert sorted(p.name for p in out.glob("*.toml")) == sorted(
        f"seed-{e['seed']}.toml" for e in failing[:2])


def test_a_campaign_can_run_for_a_duration(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c"
    assert main(["campaign", "eager-rb", "--duration", "1.5", "--first", "1000",
                 "--jobs", "1", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "duration" and summary["failures"] == 0
    assert summary["seeds"] > 10
    assert summary["last"] == 1000 + summary["seeds"] - 1
    assert 1.4 < summary["elapsed"] < 10
    assert "it ended: the time was up" in capsys.readouterr().out


def test_a_campaign_stops_after_enough_failures() -> None:
    result = run_campaign(BebClaimingRb, seeds=1000, max_failures=3, jobs=1,
                          shrink_limit=0)
    assert result.stopped == "failures" and len(result.failures) == 3
    assert result.seeds == result.failures[-1].failure.seed + 1
    assert all(f.shrunk_toml is None for f in result.failures)


def test_two_campaigns_of_the_same_seeds_have_the_same_summary() -> None:
    one = run_campaign(BebClaimingRb, seeds=150, jobs=1, shrink_limit=1, max_runs=60)
    two = run_campaign(BebClaimingRb, seeds=150, jobs=2, shrink_limit=1, max_runs=60)
    a, b = one.summary(), two.summary()
    for key in TIMING:
        a.pop(key), b.pop(key)
    assert a == b and a["failures"] and a["failing_seeds"][0]["shrunk"]


def test_bad_campaigns_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaign", "eager-rb", "--out", str(tmp_path)]) == 2
    assert "give --seeds N, --duration SECONDS, or both" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["campaign", "eager-rb", "--seeds", "5", "--out", str(tmp_path / "file")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["campaign", "eager-rb", "--seeds", "0", "--out", str(tmp_path)]) == 2
