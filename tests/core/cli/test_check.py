"""``netweave check``: simulated traces of every layer pass; broken or unreadable ones do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from netweave.cli import main

LAYERS = {
    "beb": ["BestEffortBroadcastSpec"],
    "rb": ["ReliableBroadcastSpec", "PerfectFailureDetectorSpec"],
    "urb": ["UniformReliableBroadcastSpec", "PerfectFailureDetectorSpec"],
    "fifo": ["FifoBroadcastSpec"],
    "fd": ["PerfectFailureDetectorSpec"],
}


def simulate(layer: str, trace: Path, *extra: str) -> None:
    code = main(["sim", "--layer", layer, "--nodes", "5", "--crash", "2", "--seed", "1",
                 "--trace-dir", str(trace), *extra])
    assert code == 0


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_simulated_run_of_every_layer_passes_its_check(
        layer: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    simulate(layer, tmp_path / "d")
    capsys.readouterr()
    assert main(["check", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    for spec in LAYERS[layer]:
        assert spec in out
    assert "violated" not in out and "properties hold" in out.splitlines()[-1]


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    simulate("urb", tmp_path / "d")
    capsys.readouterr()
    assert main(["check", str(tmp_path / "d"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["processes"] == 5
    props = {(r["layer"], r["property"]) for r in report["results"]}
    assert {("urb", "uniform agreement"), ("urb", "no duplication"),
            ("fd", "strong completeness")} <= props
    assert all(r["holds"] and r["violations"] == 0 for r in report["results"])


def _write(path: Path, *records: dict[str, object], tail: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)


START = {"t": 0.0, "node": "a", "ev": "start", "incarnation": 1, "layers": {"beb": "beb"}}
BROADCAST = {"t": 1.0, "node": "a", "ev": "broadcast", "layer": "beb", "id": "a/1/1",
             "origin": "a"}
DELIVER = {"t": 1.0, "node": "a", "ev": "deliver", "layer": "beb", "id": "a/1/1",
           "origin": "a"}


def test_a_violated_property_exits_1_and_shows_the_excerpt(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "a.jsonl", START, BROADCAST, DELIVER, {**DELIVER, "t": 2.0})
    assert main(["check", str(tmp_path / "a.jsonl")]) == 1
    out, err = capsys.readouterr()
    assert "no duplication  violated (1): a#1 delivered a/1/1 twice" in out
    assert f"see it happen: netweave timeline {tmp_path / 'a.jsonl'} --id a/1/1" in err
    assert '"t":2.0,"node":"a","ev":"deliver"' in out
    assert main(["check", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    (bad,) = [r for r in report["results"] if not r["holds"]]
    assert bad["property"] == "no duplication" and len(bad["examples"][0]["lines"]) == 2


def test_a_truncated_last_line_is_accepted(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    simulate("rb", tmp_path / "d")
    victim = tmp_path / "d" / "n3.jsonl"
    victim.write_text(victim.read_text() + '{"t": 99.0, "node": "n3", "ev": "deliv')
    assert main(["check", str(tmp_path / "d")]) == 0


@pytest.mark.parametrize("content", [
    None,                                              # no such path
    "",                                                # no lines at all
    '{"t": 0, "node": "a"\n{"t": 1, "node": "a", "ev": "crash"}\n',  # broken middle line
    '{"t": 0, "ev": "crash"}\n',                       # a line without node
    '{"t": 0, "node": "a", "ev": "deliver", "id": "a/1/1"}\n',  # a delivery without layer
])
def test_unreadable_input_exits_2(content: str | None, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "trace.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["check", str(path)]) == 2
    assert "netweave check:" in capsys.readouterr().err


def test_an_empty_directory_exits_2(tmp_path: Path) -> None:
    assert main(["check", str(tmp_path)]) == 2
