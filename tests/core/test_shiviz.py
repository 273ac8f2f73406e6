"""``netweave export --format shiviz``: vector clocks in a log ShiViz parses."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from netweave.cli import main
from netweave.shiviz import DELIMITER, PARSER, host_names, shiviz_executions, shiviz_log
from netweave.trace import read_trace

DOCS = Path(__file__).parents[2] / "docs"
SIM = ["sim", "--layer", "rb", "--nodes", "3", "--messages", "4", "--seed", "1", "--crash", "1",
       "--trace-messages"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trace = tmp_path_factory.mktemp("shiviz") / "rb"
    assert main([*SIM, "--trace-dir", str(trace)]) == 0
    return trace


def documented(pattern: str) -> str:
    """The expression the trace-format page tells to paste into ShiViz (a line of its own
    starting with ``pattern``)."""
    page = (DOCS / "reference" / "trace.md").read_text(encoding="utf-8")
    found = re.findall(rf"^({re.escape(pattern)}.*)$", page, flags=re.M)
    assert len(found) == 1, found
    return found[0]


def python(expression: str) -> re.Pattern[str]:
    """A ShiViz (JavaScript) expression with named groups, for Python's ``re``."""
    return re.compile(expression.replace("(?<", "(?P<"))


def parse(text: str, expression: str) -> list[dict[str, Any]]:
    pattern = python(expression)
    events = []
    for line in text.splitlines()[2:]:
        m = pattern.fullmatch(line)
        assert m is not None, line
        events.append({**m.groupdict(), "clock": json.loads(m["clock"])})
    return events


def fields(event: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in event.split(" ")[1:] if "=" in part)


def test_the_documented_expressions_are_the_ones_written() -> None:
    assert documented("^(?<host>") == f"^{PARSER}$"
    assert documented("^=== ") == f"^{DELIMITER}$"


def test_every_line_matches_and_the_clocks_are_vector_clocks(run: Path) -> None:
    text = shiviz_log(read_trace(run))
    lines = text.splitlines()
    assert lines[0] == PARSER and lines[1] == ""  # what ShiViz reads from an uploaded file
    events = parse(text, documented("^(?<host>"))
    assert len(events) == len(read_trace(run))
    assert not python(documented("^(?<host>")).fullmatch(PARSER)  # the header is no event
    last: dict[str, dict[str, int]] = {}
    sends: dict[str, dict[str, int]] = {}
    recvs = 0
    for e in events:
        host, clock = e["host"], e["clock"]
        before = last.get(host, {})
        # its own count goes up by one at each of its events, from 1
        assert clock[host] == before.get(host, 0) + 1
        # and it dominates its predecessor on the host
        assert all(clock.get(h, 0) >= c for h, c in before.items())
        assert all(c > 0 for c in clock.values())
        last[host] = clock
        kind, info = e["event"].split(" ")[0], fields(e["event"])
        if kind == "send":
            sends[info["mid"]] = clock
        elif kind == "recv" and info["mid"] in sends:
            assert all(clock.get(h, 0) >= c for h, c in sends[info["mid"]].items())
            recvs += 1
    assert recvs > 100
    assert {e["host"] for e in events} == {"n1", "n2", "n3"}
    assert [float(e["time"]) for e in events] == sorted(float(e["time"]) for e in events)


def test_several_runs_are_executions_with_a_delimiter(run: Path) -> None:
    records = read_trace(run)
    text = shiviz_executions([("first", records), ("second", records[:50])])
    lines = text.splitlines()
    assert lines[:3] == [PARSER, DELIMITER, "=== first ==="]
    delimiter = python(documented("^=== "))
    labels = [m["trace"] for line in lines[2:] if (m := delimiter.fullmatch(line))]
    assert labels == ["first", "second"]
    event = python(documented("^(?<host>"))
    assert all(event.fullmatch(line) for line in lines[2:] if not delimiter.fullmatch(line))
    assert shiviz_executions([("only", records)]) == shiviz_log(records)
    with pytest.raises(ValueError, match="same label"):
        shiviz_executions([("a", records), ("a", records)])


def test_host_names_keep_to_what_a_host_can_be() -> None:
    assert host_names(["n1", "a b", "a_b", "x}\"y", ""]) == {
        "n1": "n1", "a b": "a_b", "a_b": "a_b_2", "x}\"y": "x__y", "": "_"}
    text = shiviz_log([{"t": 1.0, "node": "a b", "ev": "deliver", "layer": "rb",
                        "id": "a b/1/1", "payload": "two\nlines"}])
    line = text.splitlines()[2]
    assert line == ('a_b {"a_b":1} 0.000000 deliver layer=rb id="a b/1/1" '
                    'payload="two\\nlines" node="a b"')


def test_the_command(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "shiviz", str(run)]) == 0
    assert capsys.readouterr().out == shiviz_log(read_trace(run))
    out = tmp_path / "run.log"
    assert main(["export", str(run), str(run.parent), "-o", str(out)]) == 2  # no *.jsonl there
    assert main(["export", str(run), str(run), "-o", str(out)]) == 2
    assert "same label" in capsys.readouterr().err
    shutil.copytree(run, tmp_path / "again")
    assert main(["export", str(run), str(tmp_path / "again"), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[1] == DELIMITER
