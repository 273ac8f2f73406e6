"""Reports: whole traces checked with the specs that apply to each layer, as text and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from netweave.check import History, check_history, check_trace
from trace_lines import bc, dl, res, start, starts, sus

# -- checking whole traces ------------------------------------------------------------------


def test_the_detector_named_by_start_lines_decides_the_spec() -> None:
    wrong_for_a_while = [sus(1, "a", "b"), res(2, "a", "b")]
    as_ep = [start(0, "a", fd="eventually-perfect-fd"), start(0, "b", fd="eventually-perfect-fd"),
             *wrong_for_a_while]
    report = check_trace(as_ep)
    assert report.ok and {r.spec for r in report.results} == {
        "EventuallyPerfectFailureDetectorSpec"}
    as_p = [start(0, "a", fd="perfect-fd"), start(0, "b", fd="perfect-fd"), *wrong_for_a_while]
    report = check_trace(as_p)
    assert not report.ok
    assert [r.name for r in report.violated] == ["strong accuracy"]
    # No record of the plugin: the default provider's spec (the perfect detector).
    assert not check_trace([*starts("a", "b"), *wrong_for_a_while]).ok


def test_unknown_layers_are_reported_unchecked() -> None:
    trace = [*starts("a"), bc(1, "a", "a/1/1", "mystery"), dl(1, "a", "a/1/1", "mystery")]
    report = check_trace(trace)
    assert report.unchecked == ("mystery",) and report.ok and not report.results
    assert "unchecked" in report.format()


def test_report_format_and_json(tmp_path: Path) -> None:
    trace = [start(0, "a", beb="beb"), start(0, "b", beb="beb"), bc(1, "a", "a/1/1", "beb"),
             dl(1, "a", "a/1/1", "beb"), dl(2, "a", "a/1/1", "beb")]
    report = check_history(History.from_records(trace))
    text = report.format()
    assert "no duplication  violated (1): a#1 delivered a/1/1 twice" in text
    assert "validity        violated (1): correct b#1 never delivered a/1/1" in text
    assert text.endswith("2 of 4 properties hold, 2 violated")
    assert '         {"t":1,"node":"a","ev":"deliver"' in text
    data = json.loads(json.dumps(report.as_dict()))
    assert data["ok"] is False and data["processes"] == 2 and data["lines"] == 5
    assert [r["property"] for r in data["results"] if not r["holds"]] == ["no duplication",
                                                                          "validity"]


def test_a_truncated_last_line_is_tolerated(tmp_path: Path) -> None:
    lines = [start(0, "a", beb="beb"), bc(1, "a", "a/1/1", "beb"), dl(1, "a", "a/1/1", "beb")]
    text = "".join(json.dumps(r) + "\n" for r in lines) + '{"t": 2, "node": "a", "ev": "deli'
    (tmp_path / "a.jsonl").write_text(text)
    report = check_trace(tmp_path)
    assert report.ok and report.lines == 3


def _fd_trace(fenced: bool) -> list[dict[str, Any]]:
    layers = {"fd": "perfect-fd", "rb": "lazy-rb"}
    lines: list[dict[str, Any]] = [
        {"t": 0.0, "node": n, "ev": "start", "incarnation": 1, "layers": layers}
        for n in ("n1", "n2", "n3")]
    lines += [
        {"t": 1.0, "node": "n1", "ev": "broadcast", "layer": "rb", "id": "n1/1/1",
         "origin": "n1"},
        {"t": 1.0, "node": "n1", "ev": "deliver", "layer": "rb", "id": "n1/1/1",
         "origin": "n1"},
        {"t": 2.0, "node": "n2", "ev": "suspect", "layer": "fd", "peer": "n3"},
        {"t": 2.0, "node": "n1", "ev": "suspect", "layer": "fd", "peer": "n3"},
        {"t": 2.5, "node": "n2", "ev": "deliver", "layer": "rb", "id": "n1/1/1",
         "origin": "n1"},
    ]
    if fenced:  # n3 learns it was declared crashed, and ends
        lines.append({"t": 3.0, "node": "n3", "ev": "crash", "reason": "fenced", "by": "n1"})
    return lines


def test_a_broken_perfect_detector_is_named_as_a_broken_assumption() -> None:
    report = check_trace(_fd_trace(fenced=False))
    assert not report.ok
    broken = report.broken_assumptions
    assert [(r.layer, r.name) for r, _, _ in broken] == [("fd", "strong accuracy")]
    text = report.format()
    assert "assumption broken (fd): the perfect failure detector's accuracy" in text
    assert "rb agreement" in text  # n3 never delivered: named as what may follow from it
    assert report.as_dict()["broken_assumptions"][0]["property"] == "strong accuracy"


def test_a_fenced_process_counts_as_crashed_from_its_first_detection() -> None:
    report = check_trace(_fd_trace(fenced=True))
    assert report.ok, report.format()
    assert report.broken_assumptions == []


def test_what_a_fenced_process_detects_after_its_own_detection_does_not_count() -> None:
    lines = _fd_trace(fenced=True)
    # n3, cut off, stopped hearing from the others and detected n1 before learning that
    # it was fenced: a crashed process's detection
    lines.insert(-1, {"t": 2.8, "node": "n3", "ev": "suspect", "layer": "fd", "peer": "n1"})
    report = check_trace(lines)
    assert report.ok, report.format()
    early = _fd_trace(fenced=True)  # but a detection before anyone detected it counts
    early.insert(3, {"t": 0.5, "node": "n3", "ev": "suspect", "layer": "fd", "peer": "n1"})
    assert [r.name for r in check_trace(early).violated][:1] == ["strong accuracy"]
