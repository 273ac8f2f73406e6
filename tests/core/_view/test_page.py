"""``netweave view`` pages in a real browser: what is drawn, and what each control does.

Headless Chromium (the system's ``chromium``), driven by Playwright, opens pages written
by :func:`netweave.view.write_view` straight from disk, as a person would, and uses them
with the mouse and keyboard: click an event, untick a node, move the slider. What each
does is checked against the trace itself (the causal order from
:mod:`netweave.causality`, the violations from :func:`netweave.check.check_trace`), on the
elements the page styles. Skipped, saying what is missing, without Chromium or Playwright.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from browser import VIEWPORT, chromium, needs_browser
from netweave.causality import causality
from netweave.check import check_trace
from netweave.cli import main
from netweave.trace import read_trace
from netweave.view import LANE, write_view

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [*needs_browser, pytest.mark.timeout(180)]

SIM = ["sim", "--layer", "rb", "--nodes", "3", "--messages", "4", "--seed", "1", "--crash", "1",
       "--trace-messages"]
MISSING = '"node":"n3","ev":"deliver","layer":"rb","id":"n1/1/1"'
"""A delivery whose removal breaks agreement: n3 is correct and n2 delivered n1/1/1."""

PAST, FUTURE = "rgb(21, 101, 192)", "rgb(239, 108, 0)"
"""The outline colours of the causal past and future (view.css)."""
RING = "rgb(224, 36, 94)"
"""The colour of the ring round a line that breaks a property."""

# The page's event marks and arrows, and which of them are shown or have a class.
SHOWN = """() => [...document.querySelectorAll('#events g.e')]
  .filter(g => getComputedStyle(g).display !== 'none').map(g => +g.dataset.i)"""
WITH = """cls => [...document.querySelectorAll('#events g.e.' + cls)].map(g => +g.dataset.i)"""
ARROWS_SHOWN = """() => [...document.querySelectorAll('#arrows .a')]
  .filter(a => getComputedStyle(a).display !== 'none').map(a => +a.dataset.a)"""
ARROWS_WITH = """cls => [...document.querySelectorAll('#arrows .a.' + cls)]
  .map(a => +a.dataset.a)"""
LANES = """() => [...document.querySelectorAll('#lanes line.lane')]
  .map(l => +l.getAttribute('x1'))"""
NAMES = """() => [...document.querySelectorAll('#head text.ln')]
  .map(t => t.firstChild.textContent)"""


@attrs.frozen
class Run:
    """A trace, its view page, and what the page should show."""

    page: Path
    records: list[dict[str, Any]]
    arrows: list[list[int]]
    """``[send, recv, kind, peer lane]`` as the page numbers them (``data-a``)."""

    def index(self, **fields: str) -> int:
        """The first line with these fields."""
        return next(i for i, r in enumerate(self.records)
                    if all(r.get(k) == v for k, v in fields.items()))

    def node(self, i: int) -> str:
        return str(self.records[i]["node"])


def _page_arrows(page: Path) -> list[list[int]]:
    text = page.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    assert found is not None
    arrows: list[list[int]] = json.loads(found.group(1))["arrows"]
    return arrows


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """A simulated run of lazy reliable broadcast with a crash, and the same run without
    one delivery of a correct node (agreement violated), each as a page."""
    base = tmp_path_factory.mktemp("view-browser")
    trace = base / "rb"
    assert main([*SIM, "--trace-dir", str(trace)]) == 0
    broken = base / "broken"
    shutil.copytree(trace, broken)
    n3 = broken / "n3.jsonl"
    lines = n3.read_text(encoding="utf-8").splitlines(keepends=True)
    n3.write_text("".join(line for line in lines if MISSING not in line), encoding="utf-8")
    out = {}
    for name, path in (("ok", trace), ("broken", broken)):
        page = write_view(path, base / f"{name}.html")
        out[name] = Run(page, read_trace(path), _page_arrows(page))
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@attrs.define
class Opened:
    """A page opened in its own browser context, with what it asked for and complained of."""

    page: Page
    context: BrowserContext
    url: str
    requests: list[str] = attrs.Factory(list)
    errors: list[str] = attrs.Factory(list)

    def assert_quiet(self) -> None:
        """The page loaded itself and nothing else, and reported no error."""
        assert self.requests == [self.url], self.requests
        assert self.errors == [], self.errors


def until(page: Page, script: str, timeout: float = 10.0) -> Any:
    """Poll ``script`` (a function) in the page until it returns something true.

    (Not ``page.wait_for_function``: it evaluates strings, which the page's
    Content-Security-Policy refuses.)"""
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(script)):
        assert time.monotonic() < deadline, f"still false after {timeout}s: {script}"
        page.wait_for_timeout(50)
    return value


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def open_(path: Path) -> Opened:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        opened = Opened(page, context, path.as_uri())
        context.on("request", lambda r: opened.requests.append(r.url))
        page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error"
                else None)
        page.on("pageerror", lambda e: opened.errors.append(str(e)))
        page.goto(opened.url)
        until(page, "() => document.querySelectorAll('#events g.e').length > 0")
        return opened

    yield open_
    for context in contexts:
        context.close()


def test_the_lanes_and_arrows_are_drawn(runs: dict[str, Run], open_page: Any) -> None:
    run = runs["ok"]
    opened = open_page(run.page)
    page = opened.page
    ids = page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids)), sorted(x for x in ids if ids.count(x) > 1)
    assert page.evaluate(NAMES) == ["n1", "n2", "n3"]
    xs = page.evaluate(LANES)
    assert len(xs) == 3 and [b - a for a, b in itertools.pairwise(xs)] == [LANE, LANE]
    # every line is a mark, drawn with a size, on its node's lane
    assert page.evaluate(SHOWN) == list(range(len(run.records)))
    drawn = page.evaluate("""() => [...document.querySelectorAll('#events g.e')].map(g => {
        const b = g.getBBox(); const m = g.transform.baseVal.consolidate().matrix;
        return [+g.dataset.i, b.width * b.height > 0, m.e, m.f]; })""")
    names = ["n1", "n2", "n3"]
    for i, has_size, x, _ in drawn:
        assert has_size, run.records[i]
        assert x == xs[names.index(run.node(i))], run.records[i]
    ys = {i: y for i, _, _, y in drawn}
    # one arrow per message received, from its send's mark to its recv's mark, headed
    sends = {r["mid"]: i for i, r in enumerate(run.records) if r["ev"] == "send"}
    pairs = sorted((sends[r["mid"]], i) for i, r in enumerate(run.records)
                   if r["ev"] == "recv" and r["mid"] in sends)
    assert len(pairs) > 100
    lines = page.evaluate("""() => [...document.querySelectorAll('#arrows line.a.m')].map(l =>
        [+l.dataset.a, +l.getAttribute('x1'), +l.getAttribute('y1'), +l.getAttribute('x2'),
         +l.getAttribute('y2'), l.getTotalLength(), l.getAttribute('marker-end')])""")
    assert sorted((run.arrows[j][0], run.arrows[j][1]) for j, *_ in lines) == pairs
    for j, x1, y1, x2, y2, length, head in lines:
        s, r = run.arrows[j][:2]
        assert (x1, y1) == (xs[names.index(run.node(s))], pytest.approx(ys[s], abs=0.1))
        assert (x2, y2) == (xs[names.index(run.node(r))], pytest.approx(ys[r], abs=0.1))
        assert length > 0 and head.startswith("url(#h")
    assert all(ys[r] >= ys[s] for s, r in pairs)  # time goes down
    opened.assert_quiet()


def test_a_click_on_an_event_shows_its_causal_past_and_future(runs: dict[str, Run],
                                                            open_page: Any) -> None:
    run = runs["ok"]
    opened = open_page(run.page)
    page = opened.page
    i = run.index(node="n2", ev="deliver", layer="rb", id="n1/1/1")
    hb = causality(run.records)
    past = sorted(j for j in range(len(run.records)) if hb.happened_before(j, i))
    future = sorted(j for j in range(len(run.records)) if hb.happened_before(i, j))
    concurrent = set(range(len(run.records))) - {i, *past, *future}
    assert past and future and concurrent
    page.locator(f'#events g.e[data-i="{i}"] .s').click()
    assert page.evaluate("document.getElementById('chart').classList.contains('focus')")
    assert page.evaluate(WITH, "sel") == [i]
    assert page.evaluate(WITH, "past") == past
    assert page.evaluate(WITH, "future") == future
    # the messages of the past are the ones received in it, those of the future sent in it
    in_past = sorted(j for j, (s, r, *_) in enumerate(run.arrows)
                     if r >= 0 and (r == i or r in past))
    in_future = sorted(j for j, (s, r, *_) in enumerate(run.arrows)
                       if j not in in_past and s >= 0 and (s == i or s in future))
    assert in_past and in_future
    assert page.evaluate(ARROWS_WITH, "past") == in_past
    assert page.evaluate(ARROWS_WITH, "future") == in_future

    def style(j: int, prop: str, part: str = "") -> str:
        return str(page.evaluate(
            "([j, prop, part]) => getComputedStyle(document.querySelector("
            "`#events g.e[data-i=\"${j}\"]${part}`))[prop]", [j, prop, part]))

    assert style(past[0], "stroke", " .s") == PAST
    assert style(future[-1], "stroke", " .s") == FUTURE
    assert style(past[0], "opacity") == "1" and style(future[-1], "opacity") == "1"
    assert style(min(concurrent), "opacity") == "0.13"
    assert (f"causal past: {len(past)} events; causal future: {len(future)} events"
            in page.locator("#sel").inner_text())
    # Esc clears the selection; so does a click on the background
    page.keyboard.press("Escape")
    assert page.evaluate(WITH, "past") == page.evaluate(WITH, "future") == []
    assert not page.evaluate("document.getElementById('chart').classList.contains('focus')")
    page.locator(f'#events g.e[data-i="{i}"] .s').click()
    assert page.evaluate(WITH, "sel") == [i]
    box = page.locator("#chart").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 4, box["y"] + 4)
    assert page.evaluate(WITH, "sel") == []
    assert style(min(concurrent), "opacity") == "1"
    opened.assert_quiet()


def test_the_filters_hide_the_events_of_a_node_a_layer_a_kind(runs: dict[str, Run],
                                                             open_page: Any) -> None:
    run = runs["ok"]
    opened = open_page(run.page)
    page = opened.page
    everything = list(range(len(run.records)))
    data = page.evaluate("JSON.parse(document.getElementById('data').textContent)")
    xs = page.evaluate(LANES)

    page.locator("summary", has_text="nodes").click()
    page.locator('input[data-f="node"][value="1"]').uncheck()  # n2
    assert page.evaluate(SHOWN) == [j for j in everything if run.node(j) != "n2"]
    assert page.evaluate(NAMES) == ["n1", "n3"]
    assert page.evaluate(LANES) == xs[:2]  # n3 moves to the second lane
    n3 = run.index(node="n3", ev="start")
    x = page.evaluate("i => document.querySelector(`#events g.e[data-i=\"${i}\"]`)"
                      ".transform.baseVal.consolidate().matrix.e", n3)
    assert x == xs[1]
    # no arrow from or to n2 is left, and every other one is
    n2 = data["nodes"].index("n2")
    kept = [j for j, (s, r, _, peer) in enumerate(run.arrows)
            if (s < 0 or run.node(s) != "n2") and (r < 0 or run.node(r) != "n2")
            and not ((s < 0 or r < 0) and peer == n2)]
    assert len(kept) < len(run.arrows)
    assert page.evaluate(ARROWS_SHOWN) == kept
    page.locator('input[data-f="node"][value="1"]').check()
    assert page.evaluate(SHOWN) == everything
    assert page.evaluate(NAMES) == ["n1", "n2", "n3"]

    # a layer: its broadcasts and deliveries go, the messages stay (they have kinds)
    page.locator("summary", has_text="layers").click()
    rb = data["layers"].index("rb")
    page.locator(f'input[data-f="layer"][value="{rb}"]').uncheck()
    hidden = [j for j, r in enumerate(run.records)
              if r["ev"] not in ("send", "recv") and r.get("layer") == "rb"]
    assert hidden and all(run.records[j]["ev"] in ("broadcast", "deliver") for j in hidden)
    assert page.evaluate(SHOWN) == [j for j in everything if j not in hidden]
    page.locator(f'input[data-f="layer"][value="{rb}"]').check()

    # a message kind: the heartbeats' sends and receipts, and their arrows
    page.locator("summary", has_text="message kinds").click()
    beat = data["kinds"].index("fd.heartbeat")
    page.locator(f'input[data-f="kind"][value="{beat}"]').uncheck()
    hidden = [j for j, r in enumerate(run.records) if r.get("msg") == "fd.heartbeat"]
    assert hidden
    assert page.evaluate(SHOWN) == [j for j in everything if j not in hidden]
    assert page.evaluate(ARROWS_SHOWN) == [j for j, a in enumerate(run.arrows) if a[2] != beat]
    opened.assert_quiet()


def test_the_slider_dims_what_comes_after_it(runs: dict[str, Run], open_page: Any) -> None:
    run = runs["ok"]
    opened = open_page(run.page)
    page = opened.page
    n = len(run.records)
    assert page.evaluate(WITH, "later") == []
    pos = n // 2
    page.locator("#slider").fill(str(pos))
    assert page.evaluate(WITH, "later") == list(range(pos + 1, n))
    assert page.evaluate(WITH, "cur") == [pos]
    assert page.locator("#now").inner_text().startswith(f"#{pos} ")

    def opacity(i: int) -> str:
        return str(page.evaluate("i => getComputedStyle(document.querySelector("
                                 "`#events g.e[data-i=\"${i}\"]`)).opacity", i))

    assert opacity(pos) == "1" and opacity(pos + 1) == "0.07" and opacity(n - 1) == "0.07"
    # messages: received by then drawn as usual, in flight dashed, not yet sent dimmed
    matched = [(j, s, r) for j, (s, r, *_) in enumerate(run.arrows) if s >= 0 and r >= 0]
    flight = [j for j, s, r in matched if s <= pos < r]
    later = [j for j, s, r in matched if s > pos]
    assert flight and later
    assert page.evaluate(ARROWS_WITH, "flight") == flight
    assert [j for j in page.evaluate(ARROWS_WITH, "later") if run.arrows[j][0] >= 0
            and run.arrows[j][1] >= 0] == later
    dash = page.evaluate("j => getComputedStyle(document.querySelector("
                         "`#arrows .a[data-a=\"${j}\"]`)).strokeDasharray", flight[0])
    assert dash == "5px, 4px"
    # the buttons and keys step through it
    page.locator("#next").click()
    assert page.evaluate(WITH, "later") == list(range(pos + 2, n))
    page.locator("#prev").click()
    page.locator("#prev").click()
    assert page.evaluate(WITH, "later") == list(range(pos, n))
    page.locator("#first").click()
    assert page.evaluate(WITH, "later") == list(range(1, n))
    page.locator("#chart").click(position={"x": 2, "y": 2})  # focus the page, not a control
    page.keyboard.press("End")
    assert page.evaluate(WITH, "later") == [] and opacity(n - 1) == "1"
    opened.assert_quiet()


def test_a_violation_is_marked(runs: dict[str, Run], open_page: Any) -> None:
    run = runs["broken"]
    report = check_trace(run.records, examples=20)
    bad = report.violated
    assert [(r.layer, r.name) for r in bad] == [("rb", "agreement")]
    expected = sorted({run.records.index(dict(line)) for v in bad[0].examples
                       for line in v.lines})
    opened = open_page(run.page)
    page = opened.page
    assert page.evaluate(WITH, "v") == expected
    for i in expected:
        mark = page.locator(f'#events g.e[data-i="{i}"]')
        assert mark.locator("text.vt").text_content() == "\u26a0 agreement"
        ring = mark.locator("circle.vr")
        assert ring.is_visible()
        assert ring.evaluate("c => getComputedStyle(c).stroke") == RING
    assert "10 of 11 properties hold, 1 violated" in page.locator("#report").inner_text()
    assert "agreement: violated" in page.locator("#report li.bad").inner_text()
    # hovering a marked line names the property it breaks
    page.locator(f'#events g.e[data-i="{expected[-1]}"] .s').hover()
    tip = page.locator("#tip")
    assert tip.is_visible() and "\u26a0 rb agreement" in tip.inner_text()
    # the counterexample's links select its lines
    page.locator(f'#report a[data-go="{expected[0]}"]').click()
    assert page.evaluate(WITH, "sel") == [expected[0]]
    assert "\u26a0 rb agreement" in page.locator("#sel").inner_text()
    # and the correct run has no mark
    assert page.evaluate(WITH, "v") and not open_page(runs["ok"].page).page.evaluate(WITH, "v")
    opened.assert_quiet()


def test_no_request_leaves_the_page(runs: dict[str, Run], open_page: Any) -> None:
    run = runs["broken"]
    opened = open_page(run.page)
    page = opened.page
    # Everything the page does: hover, select, filter, search ids, play, toggle labels.
    page.locator('#events g.e[data-i="5"] .s').hover()
    page.locator('#arrows line.a.m').first.hover(force=True)
    page.locator('#events g.e[data-i="40"] .s').click()
    page.locator("summary", has_text="nodes").click()
    page.locator('input[data-f="node"][value="0"]').uncheck()
    page.locator('input[data-f="node"][value="0"]').check()
    page.locator("#ids").fill("n1/1/1")  # applied after a pause in typing
    until(page, f"() => ({SHOWN})().length < {len(run.records)}")
    page.locator("#ids").fill("")
    until(page, f"() => ({SHOWN})().length === {len(run.records)}")
    page.locator("#play").click()
    page.wait_for_timeout(400)
    page.locator("#play").click()
    page.locator("#labels").uncheck()
    page.locator("#alabels").uncheck()
    page.locator("#report a[data-go]").first.click()
    page.wait_for_load_state("networkidle")
    opened.assert_quiet()
    # and the page's policy refuses any request its script would make
    refused = page.evaluate("""() => fetch('http://127.0.0.1:9/x').then(() => false,
                                                                        () => true)""")
    assert refused is True
    assert opened.requests == [opened.url], opened.requests
