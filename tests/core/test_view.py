"""``netweave view``: a run as one self-contained HTML page, and the clocks behind it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from netweave.causality import causality
from netweave.check import check_trace
from netweave.cli import main
from netweave.trace import read_trace
from netweave.view import write_view

SIM = ["sim", "--layer", "rb", "--nodes", "3", "--messages", "4", "--seed", "1", "--crash", "1",
       "--trace-messages"]
MISSING = '"node":"n3","ev":"deliver","layer":"rb","id":"n1/1/1"'
"""A delivery whose removal breaks agreement: n3 is correct and n2 delivered n1/1/1."""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trace = tmp_path_factory.mktemp("view") / "rb"
    assert main([*SIM, "--trace-dir", str(trace)]) == 0
    return trace


@pytest.fixture(scope="module")
def broken(run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run without one delivery at a correct node."""
    trace = tmp_path_factory.mktemp("broken") / "rb"
    shutil.copytree(run, trace)
    n3 = trace / "n3.jsonl"
    lines = n3.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if MISSING not in line]
    assert len(kept) == len(lines) - 1
    n3.write_text("".join(kept), encoding="utf-8")
    return trace


def page_data(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def matched_pairs(records: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Every (send, recv) line index pair with the same mid, found the plain way."""
    sends = {r["mid"]: i for i, r in enumerate(records) if r["ev"] == "send"}
    return [(sends[r["mid"]], i) for i, r in enumerate(records)
            if r["ev"] == "recv" and r["mid"] in sends]


def test_the_page_is_self_contained(run: Path, tmp_path: Path) -> None:
    page = write_view(run, tmp_path / "run.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    for remote in ("<link", "<script src", "<img", "<iframe", "@import", "fetch(",
                   "XMLHttpRequest", "WebSocket", "import("):
        assert remote not in page, remote
    assert not re.search(r"url\((?!#)", page)  # only the page's own markers
    # and the browser is told to refuse any request the page might still make
    assert "default-src 'none'" in page
    assert "<style>" in page and "<script>" in page


def test_one_lane_per_node_and_one_arrow_per_message_received(run: Path, tmp_path: Path) -> None:
    records = read_trace(run)
    page = write_view(run, tmp_path / "run.html").read_text(encoding="utf-8")
    data = page_data(page)
    assert data["nodes"] == ["n1", "n2", "n3"]
    assert page.count('class="lane"') == 3
    assert re.findall(r'<text class="ln" data-n="\d+"[^>]*>(\w+)', page) == ["n1", "n2", "n3"]
    pairs = matched_pairs(records)
    assert len(pairs) > 100
    assert page.count('class="a m"') == len(pairs)
    drawn = sorted((s, r) for s, r, _, _ in data["arrows"] if s >= 0 and r >= 0)
    assert drawn == sorted(pairs)
    # each arrow is labelled with its message's kind
    for s, _, kind, _ in data["arrows"]:
        if s >= 0:
            assert data["kinds"][kind] == records[s]["msg"]
    assert 'class="al"' in page and "lazy-rb.data</text>" in page


def test_every_event_is_embedded_and_drawn(run: Path, tmp_path: Path) -> None:
    records = read_trace(run)
    page = write_view(run, tmp_path / "run.html").read_text(encoding="utf-8")
    data = page_data(page)
    assert data["lines"] == records
    assert page.count('<g class="e ') == len(records)
    assert data["t"][0] == 0.0 and data["note"] is None  # a simulated run starts at 0
    assert "dlvr n1/1/1" in page and "CRASH" in page


def test_a_correct_run_marks_nothing(run: Path, tmp_path: Path) -> None:
    page = write_view(run, tmp_path / "run.html").read_text(encoding="utf-8")
    assert 'class="vt"' not in page and not re.search(r'class="e [\w-]+ v"', page)
    assert "11 of 11 properties hold" in page


def test_the_lines_that_break_a_property_are_marked_with_its_name(broken: Path,
                                                                  tmp_path: Path) -> None:
    page = write_view(broken, tmp_path / "broken.html").read_text(encoding="utf-8")
    data = page_data(page)
    bad = [r for r in data["check"]["results"] if not r["holds"]]
    assert [(r["layer"], r["property"]) for r in bad] == [("rb", "agreement")]
    shown = {i for ex in bad[0]["examples"] for i in ex["lines"]}
    assert {(data["lines"][i]["node"], data["lines"][i]["ev"]) for i in shown} == {
        ("n3", "start"), ("n2", "deliver")}
    marked = {int(i) for i in re.findall(r'class="e [\w-]+ v" data-i="(\d+)"', page)}
    assert marked == shown
    assert page.count("\u26a0 agreement</text>") == len(shown)
    assert "10 of 11 properties hold, 1 violated" in page
    assert "never delivered n1/1/1" in page


def test_a_report_given_is_the_one_marked(broken: Path, run: Path, tmp_path: Path) -> None:
    report = check_trace(broken)
    assert not report.ok
    # the report of the broken trace on the page of the broken trace read again
    data = page_data(write_view(broken, tmp_path / "a.html", report).read_text(
        encoding="utf-8"))
    assert [ex["lines"] for r in data["check"]["results"] for ex in r["examples"]]
    # no check at all: nothing marked
    page = write_view(broken, tmp_path / "b.html", check=False).read_text(encoding="utf-8")
    assert 'class="vt"' not in page and page_data(page)["check"]["ran"] is False
    # the lines themselves, in trace order
    path = write_view(read_trace(run), tmp_path / "c.html", title="from lines")
    assert path == tmp_path / "c.html" and "<title>from lines" in path.read_text("utf-8")


def test_nothing_in_a_trace_can_end_the_script_that_holds_it(tmp_path: Path) -> None:
    evil = "</script><script>alert(1)</script><!--"
    records = [{"t": 5.0, "node": "n1", "ev": "start", "incarnation": 1},
               {"t": 5.5, "node": "n1", "ev": "custom", "note": evil},
               {"t": 6.0, "node": "n<b>", "ev": "crash"}]
    page = write_view(records, tmp_path / "x.html", check=False).read_text(encoding="utf-8")
    assert evil not in page and "n<b>" not in page
    data = page_data(page)
    assert data["lines"][1]["note"] == evil
    assert data["t"] == [0.0, 0.5, 1.0] and data["note"].startswith("t: seconds since")


def test_the_command_writes_the_page_and_prints_its_path(run: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run.html"
    assert main(["view", str(run), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert page_data(out.read_text(encoding="utf-8"))["nodes"] == ["n1", "n2", "n3"]
    monkeypatch.chdir(run.parent)
    assert main(["view", run.name, "--no-check"]) == 0
    assert capsys.readouterr().out.strip() == f"{run.name}.html"
    assert (run.parent / f"{run.name}.html").exists()
    assert main(["view", str(tmp_path / "nothing")]) == 2
    assert "cannot read trace" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse the script")
def test_the_page_script_parses(run: Path, tmp_path: Path) -> None:
    page = write_view(run, tmp_path / "run.html").read_text(encoding="utf-8")
    script = page[page.rindex("<script>") + len("<script>"):page.rindex("</script>")]
    (tmp_path / "view.js").write_text(script, encoding="utf-8")
    done = subprocess.run(["node", "--check", str(tmp_path / "view.js")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# -- the clocks ----------------------------------------------------------------------


def test_clocks_follow_program_order_and_messages(run: Path) -> None:
    records = read_trace(run)
    hb = causality(records)
    last: dict[int, tuple[int, ...]] = {}
    for i, clock in enumerate(hb.clocks):
        k = hb.node_of[i]
        before = last.get(k, (0,) * len(hb.nodes))
        assert all(a >= b for a, b in zip(clock, before, strict=True))
        assert clock[k] == before[k] + 1
        last[k] = clock
    assert sorted(hb.messages) == sorted(matched_pairs(records)) and not hb.ignored
    for s, r in hb.messages:
        assert all(a >= b for a, b in zip(hb.clocks[r], hb.clocks[s], strict=True))
        assert hb.happened_before(s, r) and not hb.happened_before(r, s)


def test_a_recv_stamped_before_its_send_still_merges_it() -> None:
    lines = [{"t": 0.5, "node": "a", "ev": "start"},
             {"t": 0.7, "node": "b", "ev": "start"},
             {"t": 1.0, "node": "b", "ev": "recv", "from": "a", "mid": "m1"},
             {"t": 2.0, "node": "a", "ev": "send", "to": "b", "mid": "m1"}]
    hb = causality(lines)
    assert hb.nodes == ("a", "b")
    assert [hb.clock(i) for i in range(4)] == [{"a": 1}, {"b": 1}, {"a": 2, "b": 2}, {"a": 2}]
    assert hb.happened_before(3, 2) and not hb.happened_before(2, 3)
    assert hb.happened_before(0, 2) and hb.concurrent(0, 1) and hb.concurrent(1, 3)


def test_a_message_that_closes_a_cycle_is_left_out() -> None:
    lines = [{"t": 0.0, "node": "a", "ev": "recv", "mid": "x"},
             {"t": 1.0, "node": "a", "ev": "send", "mid": "x"}]
    hb = causality(lines)
    assert hb.ignored == ((1, 0),) and hb.messages == ((1, 0),)
    assert [hb.seq(0), hb.seq(1)] == [1, 2]
