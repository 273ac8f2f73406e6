"""``netweave timeline``: a trace as a text space-time diagram."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from netweave import ConfigurationError
from netweave.cli import main
from netweave.sim import Scenario
from netweave.timeline import label, render_timeline

DOCS = Path(__file__).parents[2] / "docs"

TRACE = [
    {"t": 0.0, "node": "n10", "ev": "start", "incarnation": 1},
    {"t": 0.0, "node": "n2", "ev": "start", "incarnation": 1},
    {"t": 0.0, "node": "n1", "ev": "start", "incarnation": 1},
    {"t": 0.5, "node": "n1", "ev": "broadcast", "layer": "rb", "id": "n1/1/1", "origin": "n1"},
    {"t": 0.5, "node": "n1", "ev": "deliver", "layer": "rb", "id": "n1/1/1", "origin": "n1"},
    {"t": 0.507, "node": "n2", "ev": "deliver", "layer": "rb", "id": "n1/1/1", "origin": "n1"},
    {"t": 1.0, "node": "n2", "ev": "fault", "kind": "partition", "groups": [["n1"], ["n2"]]},
    {"t": 1.0, "node": "n1", "ev": "fault", "kind": "partition", "groups": [["n1"], ["n2"]]},
    {"t": 1.2, "node": "n2", "ev": "broadcast", "layer": "rb", "id": "n2/1/1", "origin": "n2"},
    {"t": 1.5, "node": "n10", "ev": "crash"},
    {"t": 3.5, "node": "n1", "ev": "suspect", "layer": "fd", "peer": "n10"},
]


def test_one_column_per_node_and_one_row_per_instant() -> None:
    assert render_timeline(TRACE) == [
        "    t  n1               n2               n10",
        "0.000  start #1         start #1         start #1",
        "0.500  bcast n1/1/1",
        "0.500  dlvr n1/1/1",  # the same node twice at one instant: two rows, in order
        "0.507                   dlvr n1/1/1",
        "1.000  partition n1|n2  partition n1|n2",
        "1.200                   bcast n2/1/1",
        "1.500                                    CRASH",
        "3.500  suspect n10",
    ]


def test_labels_wider_than_the_width_are_cut() -> None:
    rows = render_timeline(TRACE, width=10)
    assert rows[0] == "    t  n1          n2          n10"
    assert rows[2] == "0.500  bcast n1/~"
    assert rows[5] == "1.000  partition~  partition~"


def test_labels_of_every_event_kind() -> None:
    assert label({"ev": "start", "incarnation": 3}) == "start #3"
    assert label({"ev": "stop"}) == "stop"
    assert label({"ev": "deliver", "layer": "urb", "id": "n1/1/4"}) == "dlvr n1/1/4"
    assert label({"ev": "deliver", "layer": "urb", "id": "n1/1/4"}, layered=True) == \
        "urb dlvr n1/1/4"
    assert label({"ev": "restore", "peer": "n3"}) == "restore n3"
    assert label({"ev": "fault", "kind": "partition", "groups": [["n1", "n2"], ["n3"]]}) == \
        "partition n1,n2|n3"
    assert label({"ev": "fault", "kind": "partition", "one_way": True, "sources": ["n1"],
                  "targets": ["n2", "n3"]}) == "cut n1->n2,n3"
    assert label({"ev": "fault", "kind": "loss", "probability": 0.3}) == "loss 0.3"
    assert label({"ev": "fault", "kind": "pause"}) == "pause"
    assert label({"ev": "send", "to": "n2", "mid": "7"}) == "-> n2 7"
    assert label({"ev": "recv", "from": "n1"}) == "<- n1"
    assert label({"ev": "custom"}) == "custom"


def test_filters_keep_what_explains_the_chosen_messages() -> None:
    rows = render_timeline(TRACE, nodes=["n2", "n1"], ids=["n2/1/1"], until=3.0)
    assert rows[0].split() == ["t", "n2", "n1"]
    body = [r.split() for r in rows[1:]]
    assert ["1.200", "bcast", "n2/1/1"] in body
    assert not any("n1/1/1" in r for r in rows)
    assert any("start" in r for r in rows) and not any("suspect" in r for r in rows)
    assert not any("CRASH" in r for r in rows)  # n10's column is not shown
    assert render_timeline(TRACE, since=1.4) == [
        "    t  n1           n2           n10",
        "1.500                            CRASH",
        "3.500  suspect n10",
    ]
    assert render_timeline(TRACE, layers=["urb"], since=0.4, until=0.6) == [
        "    t  n1    n2    n10"]


def test_several_layers_are_named_in_each_label() -> None:
    two = [*TRACE, {"t": 4.0, "node": "n1", "ev": "deliver", "layer": "beb", "id": "n2/1/2",
                    "origin": "n2"}]
    rows = render_timeline(two, width=40)
    assert "0.500  rb bcast n1/1/1" in rows
    assert rows[-1].startswith("4.000  beb dlvr n2/1/2")


def test_unknown_nodes_and_tiny_widths_are_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"no node 'n9' in the trace; its nodes: "
                                                 r"n1, n2, n10"):
        render_timeline(TRACE, nodes=["n1", "n9"])
    with pytest.raises(ConfigurationError, match="width must be at least 8"):
        render_timeline(TRACE, width=3)


def test_every_delivery_of_a_simulated_run_is_in_its_nodes_column(tmp_path: Path) -> None:
    cluster = Scenario.random(nodes=5, seed=4, layer="urb", messages=6, crash=1,
                              partition=True, loss=0.1).run(4)
    rows = render_timeline(cluster.trace, width=30)
    header = rows[0]
    starts = [header.index(n) for n in cluster.ids] + [None]
    cells = [(n, r[starts[i]:starts[i + 1]].strip())
             for r in rows[1:] for i, n in enumerate(cluster.ids)]
    shown = sorted((n, c.split()[1]) for n, c in cells if c.startswith("dlvr"))
    traced = sorted((r["node"], r["id"]) for r in cluster.trace if r["ev"] == "deliver")
    assert shown == traced and len(traced) >= 20


def test_the_command_prints_the_timeline_of_a_trace_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "run"
    assert main(["sim", "--nodes", "3", "--layer", "beb", "--messages", "2", "--seed", "2",
                 "--trace-dir", str(trace)]) == 0
    capsys.readouterr()
    assert main(["timeline", str(trace), "--node", "n3", "--node", "n1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["t", "n3", "n1"]
    assert sum("dlvr" in line for line in out) == 4  # 2 broadcasts, 2 of the 3 nodes shown
    assert main(["timeline", str(trace), "--node", "n7"]) == 2
    assert "no node 'n7' in the trace" in capsys.readouterr().err
    assert main(["timeline", str(tmp_path / "missing")]) == 2
    assert "cannot read trace" in capsys.readouterr().err
    assert main(["timeline", str(trace), "--since", "99"]) == 0
    assert "none of the" in capsys.readouterr().err


def test_the_command_line_reference_shows_what_the_command_prints(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = str(tmp_path / "rb")
    assert main(["sim", "--layer", "rb", "--nodes", "4", "--crash", "1", "--messages", "6",
                 "--seed", "3", "--trace-dir", trace]) == 0
    capsys.readouterr()
    assert main(["timeline", trace, "--id", "n3/1/1"]) == 0
    shown = (DOCS / "examples" / "timeline_id.out").read_text(encoding="utf-8")
    assert capsys.readouterr().out == shown
    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert "--trace-dir runs/rb\n$ netweave timeline runs/rb --id n3/1/1\n" in page


def test_close_instants_get_more_places_and_a_node_asked_twice_one_column() -> None:
    close = [{"t": 0.0, "node": "n1", "ev": "start", "incarnation": 1},
             {"t": 0.0001, "node": "n1", "ev": "stop"},
             {"t": 0.0004, "node": "n2", "ev": "start", "incarnation": 1}]
    assert render_timeline(close) == [
        "     t  n1        n2",
        "0.0000  start #1",
        "0.0001  stop",
        "0.0004            start #1",
    ]
    closer = [close[0], {**close[1], "t": 0.000001}, {**close[2], "t": 0.000002}]
    assert render_timeline(closer)[2:] == ["0.000001  stop",
                                           "0.000002            start #1"]
    assert render_timeline(close, nodes=["n2", "n2"])[0].split() == ["t", "n2"]
    assert render_timeline([]) == ["    t"]


def test_malformed_traces_are_refused_with_exit_code_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = {"t-not-a-number.jsonl": '{"t":"x","node":"n1","ev":"start"}\n',
           "not-an-object.jsonl": '[1, 2]\n{"t":1,"node":"n1","ev":"stop"}\n',
           "bad-incarnation.jsonl": '{"t":0,"node":"n1","ev":"start","incarnation":"x"}\n'}
    for name, text in bad.items():
        path = tmp_path / name
        path.write_text(text + '{"t":2,"node":"n1","ev":"stop"}\n')
        assert main(["check", str(path)]) == 2, name
        err = capsys.readouterr().err
        assert ("malformed trace" if "incarnation" in name else "cannot read trace") in err
        if "incarnation" not in name:
            assert main(["timeline", str(path)]) == 2
            assert f"{name}:1:" in capsys.readouterr().err


def test_the_svg_draws_each_message_as_an_arrow_and_a_lost_one_crossed_out() -> None:
    import xml.etree.ElementTree as ET

    from netweave.sim import SimCluster
    from netweave.timeline import render_svg

    cluster = SimCluster(3, lambda n: n.use("beb"), seed=1, trace_messages=True)
    cluster.start()
    cluster.run(0.5)
    cluster.crash("n3")
    mid = cluster.broadcast("n1", "beb", "x")
    cluster.run(2.0)
    image = render_svg(cluster.trace)
    assert image == render_svg(cluster.trace)  # deterministic
    root = ET.fromstring(image)
    ns = "{http://www.w3.org/2000/svg}"
    arrows = [e for e in root.iter(f"{ns}line") if e.get("class") == "msg"]
    lost = [e for e in root.iter(f"{ns}g") if e.get("class") == "lost"]
    assert len(arrows) == 1 and len(lost) == 1  # to n2 delivered; to the crashed n3 not
    assert '"to": "n3"' in "".join(lost[0].itertext())
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert {"n1", "n2", "n3", "CRASH", f"dlvr {mid}", f"bcast {mid}"} <= set(texts)
    width = int(root.get("width", "0"))
    assert all(float(e.get("x2", 0)) <= width for e in arrows)


def test_the_command_writes_an_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "run"
    assert main(["sim", "--nodes", "3", "--layer", "beb", "--messages", "2", "--seed", "2",
                 "--trace-messages", "--trace-dir", str(trace)]) == 0
    capsys.readouterr()
    image = tmp_path / "run.svg"
    assert main(["timeline", str(trace), "--svg", str(image)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "wrote" in captured.err and "(4 arrows, 0 messages not " \
        "received in view" in captured.err
    assert image.read_text().startswith("<svg ")
    assert main(["timeline", str(trace), "--svg", str(tmp_path / "no" / "such.svg")]) == 2
    assert "cannot write" in capsys.readouterr().err


def _svg_root(records: list[dict[str, Any]], **kw: Any) -> Any:
    import xml.etree.ElementTree as ET

    from netweave.timeline import render_svg

    return ET.fromstring(render_svg(records, **kw))


SVG = "{http://www.w3.org/2000/svg}"


def test_the_svg_stays_valid_xml_whatever_the_trace_says() -> None:
    odd = [{"t": 0.0, "node": "a\x01<b>&", "ev": "start", "incarnation": 1},
           {"t": 0.5, "node": "a\x01<b>&", "ev": "x\x02\ud800"},
           {"t": 1.0, "node": "a\x01<b>&", "ev": "broadcast", "layer": "l", "id": "\x1b\"'",
            "origin": "a"}]
    root = _svg_root(odd)
    texts = "".join(root.itertext())
    assert "a\ufffd<b>&" in texts and "x\ufffd\ufffd" in texts


def test_every_receipt_of_a_message_gets_an_arrow_and_a_receipt_alone_a_stub() -> None:
    send = {"t": 1.0, "node": "a", "ev": "send", "to": "b", "mid": "a/1/m1", "msg": "k",
            "id": "a/1/1"}
    recvs = [{"t": t, "node": "b", "ev": "recv", "from": "a", "mid": "a/1/m1", "msg": "k",
              "id": "a/1/1"} for t in (1.1, 2.1)]
    starts = [{"t": 0.0, "node": n, "ev": "start", "incarnation": 1} for n in "ab"]
    trace = [*starts, send, recvs[0], {"t": 2.0, "node": "b", "ev": "start", "incarnation": 2},
             recvs[1]]
    root = _svg_root(trace)
    assert len([e for e in root.iter(f"{SVG}line") if e.get("class") == "msg"]) == 2
    later = _svg_root(trace, since=1.05)  # the send is outside the view
    incoming = [e for e in later.iter(f"{SVG}line") if e.get("class") == "incoming"]
    assert len(incoming) == 2 and all(e.find(f"{SVG}title") is not None for e in incoming)


def test_a_lane_is_dashed_from_the_top_when_its_node_is_down_as_the_view_begins() -> None:
    trace = [{"t": 0.0, "node": n, "ev": "start", "incarnation": 1} for n in ("a", "b")]
    trace += [{"t": 1.0, "node": "b", "ev": "crash"},
              {"t": 3.0, "node": "a", "ev": "broadcast", "layer": "l", "id": "a/1/1",
               "origin": "a"},
              {"t": 4.0, "node": "b", "ev": "start", "incarnation": 2}]
    dashed = [e for e in _svg_root(trace, since=2.0).iter(f"{SVG}line")
              if e.get("stroke-dasharray") == "4,4"]
    assert len(dashed) == 1 and float(dashed[0].get("y1", 0)) < 56  # from the lane's top


# A real run: wall-clock seconds, and incarnations that are wall-clock milliseconds.
REAL = [
    {"t": 1764172034.123456, "node": "n1", "ev": "start", "incarnation": 1764172034120},
    {"t": 1764172034.2, "node": "n2", "ev": "start", "incarnation": 1764172034190},
    {"t": 1764172035.5, "node": "n1", "ev": "broadcast", "layer": "rb",
     "id": "n1/1764172034120/1", "origin": "n1"},
    {"t": 1764172035.503, "node": "n2", "ev": "deliver", "layer": "rb",
     "id": "n1/1764172034120/1", "origin": "n1"},
    {"t": 1764172036.123457, "node": "n1", "ev": "stop"},
]


def test_a_real_run_shows_seconds_since_its_first_event_and_says_so() -> None:
    rows = render_timeline(REAL)
    assert rows[:2] == [
        "t: seconds since the first event of the trace (2025-11-26 15:47:14.123456 UTC)",
        "incarnations (wall-clock ms): their last 4 digits (#..4120 is #1764172034120)"]
    assert [row.split()[0] for row in rows[2:]] == [
        "t", "0.000", "0.077", "1.377", "1.380", "2.000"]
    assert rows[3].split()[1:] == ["start", "#..4120"]
    assert rows[5].split()[1:] == ["bcast", "n1/..4120/1"]
    # since and until count as shown
    assert [row.split()[0] for row in render_timeline(REAL, since=1.0, until=1.9)[3:]] == [
        "1.377", "1.380"]
    # a message is chosen by its id as in the trace or as shown
    for mid in ("n1/1764172034120/1", "n1/..4120/1"):
        assert sum("n1/..4120/1" in row for row in render_timeline(REAL, ids=[mid])) == 2


def test_incarnations_keep_the_digits_that_tell_them_apart() -> None:
    restarted = [{"t": 0.0, "node": "n1", "ev": "start", "incarnation": 1764172034120},
                 {"t": 9.0, "node": "n1", "ev": "start", "incarnation": 1764182034120}]
    rows = render_timeline(restarted)
    assert rows[0] == ("incarnations (wall-clock ms): their last 8 digits (#..72034120 is "
                       "#1764172034120)")
    assert [row.split()[-1] for row in rows[2:]] == ["#..72034120", "#..82034120"]
    small = [{"t": 0.0, "node": "n1", "ev": "start", "incarnation": 2}]
    assert render_timeline(small) == ["    t  n1", "0.000  start #2"]  # whole, no note


def test_the_command_shows_a_real_trace_from_its_first_event(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    path = tmp_path / "real.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in REAL))
    assert main(["timeline", str(path), "--since", "1.3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("t: seconds since the first event of the trace (2025-11-26 ")
    assert out[1].startswith("incarnations (wall-clock ms): their last 4 digits")
    assert [line.split()[0] for line in out[3:]] == ["1.377", "1.380", "2.000"]


def test_wall_clock_times_fit_in_the_image() -> None:
    trace = [REAL[0], {"t": 1764172034.123457, "node": "n1", "ev": "stop"}]
    root = _svg_root(trace)
    stamps = [e for e in root.iter(f"{SVG}text") if e.get("text-anchor") == "end"]
    assert [s.text for s in stamps] == ["0.000000", "0.000001"]
    right = float(stamps[0].get("x", 0))
    assert right - 6.7 * len(stamps[0].text or "") >= 0  # not cut at the left edge
    notes = [e for e in root.iter(f"{SVG}text") if e.get("x") == "4"]
    assert [e.text for e in notes] == [
        "t: seconds since the first event of the trace (2025-11-26 15:47:14.123456 UTC)",
        "incarnations (wall-clock ms): their last 4 digits (#..4120 is #1764172034120)"]
    width = float(root.get("width", 0))
    assert all(4 + 6.7 * len(e.text or "") <= width for e in notes)  # not cut at the right
    header = next(e for e in root.iter(f"{SVG}text") if e.get("font-weight") == "bold")
    assert float(header.get("y", 0)) > float(notes[-1].get("y", 0)) + 10  # below the notes
