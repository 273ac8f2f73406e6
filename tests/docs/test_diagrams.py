"""The pictures of runs in the docs: every page that should have one has it, built from
a real run, and what its caption says about the run is true.

The pictures are drawn at build time by ``docs/_hooks/run_diagrams.py``: a page writes
``<!-- netweave-diagram: NAME -->``, the hook runs ``NAME`` in the simulator and writes
``diagrams/NAME.svg`` and ``diagrams/NAME.html`` into the site.
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from netweave.sim import Scenario
from netweave.trace import read_trace

from .conftest import ROOT, BuiltSite
from .test_coverage import load_hook

DOCS = ROOT / "docs"
PAGES = ["getting-started.md",
         *(p.relative_to(DOCS).as_posix() for p in sorted((DOCS / "tutorials").glob("*.md"))),
         *(p.relative_to(DOCS).as_posix() for p in sorted((DOCS / "abstractions").glob("*.md")))]
"""Getting started, each tutorial and each abstraction page: each shows a run."""
SVG = "{http://www.w3.org/2000/svg}"

hook = load_hook("run_diagrams")


def test_the_pages_are_found() -> None:
    assert len(PAGES) >= 15 and "abstractions/reliable-broadcast.md" in PAGES
    assert "tutorials/view-a-run.md" in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_a_picture_of_a_run(built_site: BuiltSite, page: str) -> None:
    assert built_site.returncode == 0, built_site.output[-4000:]
    built = built_site.directory / page.replace(".md", ".html")
    html = built.read_text(encoding="utf-8")
    pictures = re.findall(r'<a href="([^"]*diagrams/([\w-]+)\.html)"><img alt="([^"]+)" '
                          r'src="([^"]*diagrams/\2\.svg)"', html)
    assert pictures, f"{page} shows no picture of a run (<!-- netweave-diagram: NAME -->)"
    for link, name, alt, src in pictures:
        assert name in hook.DIAGRAMS and alt.startswith("Space-time diagram of")
        image = (built.parent / src).resolve()
        assert image.is_file(), f"{page}: {src} is not in the site"
        svg = ET.parse(image).getroot()
        assert svg.tag == f"{SVG}svg"
        lanes = [t.text for t in svg.iter(f"{SVG}text") if t.get("font-size") == "13"]
        assert len(lanes) >= 2 and all(n and n.startswith("n") for n in lanes), lanes
        assert svg.find(f".//{SVG}line[@class='msg']") is not None, f"{name}: no message"
        view = (built.parent / link).resolve()
        assert view.is_file(), f"{page}: {link} is not in the site"
        text = view.read_text(encoding="utf-8")
        assert '<meta name="generator" content="netweave view">' in text
        assert f"{name}.html" in html  # the caption links the run's view page too


def test_the_embedded_views_are_there(built_site: BuiltSite) -> None:
    for page in ("tutorials/view-a-run.md", "abstractions/logical-clocks.md"):
        html = (built_site.directory / page.replace(".md", ".html")).read_text("utf-8")
        found = re.search(r'<iframe class="nw-view" src="([^"]+)"', html)
        assert found is not None, page
        assert (built_site.directory / page).parent.joinpath(found.group(1)).resolve() \
            .is_file()


def test_every_run_is_shown_and_every_marker_names_a_run() -> None:
    shown: set[str] = set()
    for path in DOCS.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        _, names, problems = hook.expand(text, path.relative_to(DOCS).as_posix())
        assert problems == [], problems
        shown.update(names)
    assert shown == set(hook.DIAGRAMS)
    _, names, problems = hook.expand("<!-- netweave-diagram: no-such-run -->", "p.md")
    assert names == [] and problems and "no-such-run" in problems[0]


def test_a_marker_becomes_the_picture_linked_to_its_view() -> None:
    out, names, _ = hook.expand("a\n<!-- netweave-diagram: beb-lost -->\nb", "x/y.md")
    assert names == ["beb-lost"]
    assert "[![Space-time diagram of" in out
    assert "(../diagrams/beb-lost.svg)](../diagrams/beb-lost.html)" in out
    assert "nw-view" not in out  # embedded only when asked
    out, _, _ = hook.expand("<!-- netweave-diagram: clocks -->", "top.md")
    assert '<iframe class="nw-view" src="diagrams/clocks.html"' in out


# -- the runs are the ones the pages describe -----------------------------------------


def trace_of(name: str) -> list[dict[str, Any]]:
    trace: list[dict[str, Any]] = hook.DIAGRAMS[name].run()
    return trace


def without_messages(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in trace if r["ev"] not in ("send", "recv")]


def example_run(name: str) -> Any:
    """Run ``docs/examples/NAME``; its module globals."""
    with contextlib.redirect_stdout(io.StringIO()):
        return runpy.run_path(str(DOCS / "examples" / name))


@pytest.mark.parametrize(("diagram", "example"), [("first-program", "first_program.py"),
                                                  ("crash-a-node", "crash_a_node.py")])
def test_a_pictured_example_is_the_example_run(diagram: str, example: str) -> None:
    # Traced with its messages, the example's run is otherwise the same.
    assert without_messages(trace_of(diagram)) == example_run(example)["cluster"].trace


def test_the_pictured_simulations_are_the_commands_shown(tmp_path: Path) -> None:
    from netweave.cli import main

    out = tmp_path / "rb"
    assert main(["sim", "--layer", "rb", "--nodes", "3", "--messages", "4", "--seed", "1",
                 "--crash", "1", "--trace-messages", "--trace-dir", str(out)]) == 0
    assert sorted(trace_of("view-a-run"), key=lambda r: (r["node"], r["t"])) == \
        sorted(read_trace(out), key=lambda r: (r["node"], r["t"]))
    check_report = Scenario.random(nodes=4, seed=3, layer="rb", messages=6, crash=1)
    assert without_messages(trace_of("check-report")) == check_report.run(seed=3).trace
    scenario = Scenario.from_toml(DOCS / "examples" / "scenario.toml")
    assert without_messages(trace_of("scenario-file")) == scenario.run(1).trace


# -- what the captions say --------------------------------------------------------------


def first(trace: list[dict[str, Any]], **fields: Any) -> dict[str, Any] | None:
    return next((r for r in trace if all(r.get(k) == v for k, v in fields.items())), None)


def at(trace: list[dict[str, Any]], **fields: Any) -> float:
    found = first(trace, **fields)
    assert found is not None, fields
    return float(found["t"])


def test_beb_loses_what_rb_relays() -> None:
    beb, rb = trace_of("beb-lost"), trace_of("rb-relay")
    for trace in (beb, rb):
        assert first(trace, node="n2", ev="deliver", id="n1/1/1")
        assert at(trace, node="n1", ev="crash") < at(trace, node="n2", ev="suspect")
    assert first(beb, node="n3", ev="deliver") is None
    assert at(rb, node="n3", ev="deliver", id="n1/1/1") > at(rb, node="n2", ev="suspect")


def test_urb_waits_for_the_detection_and_costs_two_steps() -> None:
    trace = trace_of("urb-waits")
    detected = at(trace, node="n1", ev="suspect", peer="n3")
    for node in ("n1", "n2"):
        assert at(trace, node=node, ev="deliver", id="n1/1/1") >= detected
    trace = trace_of("urb-costs")
    sent = {(r["node"], r["to"]) for r in trace if r["ev"] == "send" and r.get("id")}
    assert sent == {(a, b) for a in ("n1", "n2", "n3") for b in ("n1", "n2", "n3") if a != b}
    assert {r["node"] for r in trace if r["ev"] == "deliver"} == {"n1", "n2", "n3"}


@pytest.mark.parametrize(("diagram", "second"), [("fifo-hold", "n1/1/2"),
                                                 ("causal-hold", "n2/1/1")])
def test_the_second_message_overtakes_the_first_and_waits(diagram: str, second: str) -> None:
    trace = trace_of(diagram)
    data = [r for r in trace if r["node"] == "n3" and r["ev"] == "recv"
            and r["msg"].endswith(".data")]
    assert [r["from"] for r in data][:2] == ["n2" if second.startswith("n2") else "n1", "n1"]
    assert data[0]["t"] < data[1]["t"]
    delivered = [r["id"] for r in trace if r["node"] == "n3" and r["ev"] == "deliver"]
    assert delivered == ["n1/1/1", second]
    assert at(trace, node="n3", ev="deliver", id=second) >= data[1]["t"]


def test_the_detectors_detect_as_told() -> None:
    trace = trace_of("perfect-fd")
    crash = at(trace, node="n3", ev="crash")
    for node in ("n1", "n2"):
        assert at(trace, node=node, ev="suspect", peer="n3") - crash >= 2.0 - 0.2 - 0.01
    trace = trace_of("eventually-perfect-fd")
    pause = at(trace, node="n2", ev="fault", kind="pause")
    resume = at(trace, node="n2", ev="fault", kind="resume")
    assert pause < at(trace, node="n1", ev="suspect", peer="n2") < resume
    assert resume <= at(trace, node="n1", ev="restore", peer="n2")


def test_the_other_stories() -> None:
    trace = trace_of("crash-a-node")
    assert [r["node"] for r in trace if r["ev"] == "deliver"][:2] == ["n4", "n1"]
    relayed = at(trace, node="n1", ev="suspect", peer="n4")
    for node in ("n2", "n3"):
        assert at(trace, node=node, ev="deliver", id="n4/1/1") > relayed
    trace = trace_of("check-report")
    lost = [r for r in trace if r["ev"] == "send" and r.get("id") == "n3/1/1"
            and r["to"] == "n4"]
    assert lost and not first(trace, ev="recv", mid=lost[0]["mid"])
    trace = trace_of("scenario-file")
    assert first(trace, node="n5", ev="crash") and first(trace, ev="fault", kind="heal")
    trace = trace_of("clocks")
    assert all("lamport" in r and "vc" in r for r in trace if r["ev"] == "deliver")
    assert at(trace, node="n2", ev="broadcast") > at(trace, node="n2", ev="deliver",
                                                   id="n1/1/1")
