"""MkDocs hook: pictures of real runs, made again every time the site is built.

A page writes ``<!-- netweave-diagram: NAME -->`` where the picture of run ``NAME``
belongs. Each run (``DIAGRAMS`` below) is a few seconds of a small cluster in the
simulator, traced with the messages that cross its links (``trace_messages``): the
page's own example, or a scenario that shows what the page explains. At build time every
run is simulated again and drawn, into the built site only:

- ``diagrams/NAME.svg``: its space-time diagram, as :func:`netweave.timeline.render_svg`
  draws it (a lane per node, time going down, an arrow per message, crashes, faults and
  suspicions on their lanes);
- ``diagrams/NAME.html``: its :mod:`netweave.view` page, the whole trace to explore
  (hover, click an event for its causal past and future, filters, a slider), checked as
  ``netweave check`` does.

The marker becomes the picture, linked to the view page, with its caption; a run marked
``embed`` also shows the view page itself in the page. So a picture is always of the code
as it is, never a drawing that has drifted from it. A marker naming no run, a run no page
shows, or a run that fails is a warning, and ``mkdocs build --strict`` fails on it;
``tests/docs/test_diagrams.py`` checks that the pages that should have a picture have it
in the built site. All the runs together take under a second.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

log = logging.getLogger("mkdocs.hooks.run_diagrams")

MARKER = re.compile(r"<!--\s*netweave-diagram:\s*([\w\-]+)\s*-->")
FOLDER = "diagrams"
DOCS = Path(__file__).resolve().parents[1]

Trace = list[dict[str, Any]]


@attrs.frozen
class Diagram:
    """One run and how to draw it."""

    title: str
    """What the run is, in a few words (the image's text and the view page's title)."""
    caption: str
    """What to look at in the picture (Markdown)."""
    run: Callable[[], Trace]
    """The run: its whole trace, with ``send`` and ``recv`` lines."""
    draw: Callable[[Trace], Mapping[str, Any]] = lambda trace: {}
    """Options of :func:`~netweave.timeline.render_svg` for the picture (the view page
    always shows the whole run)."""
    hide: tuple[str, ...] = ("heartbeat",)
    """Message kinds the picture leaves out (the last part of ``msg``: ``heartbeat`` for
    ``fd.heartbeat``); the view page has them all."""
    embed: bool = False
    """Also show the view page inside the page, below the picture."""


# -- the runs ----------------------------------------------------------------------------


def _stack(*plugins: tuple[str, dict[str, Any]]) -> Callable[[Any], None]:
    """A ``configure`` function selecting these plugins with these options."""

    def configure(node: Any) -> None:
        for name, options in plugins:
            node.use(name, **options)

    return configure


def _cluster(nodes: int | list[str], *plugins: tuple[str, dict[str, Any]], seed: int = 1,
             fill: str = "defaults") -> Any:
    from netweave.sim import SimCluster

    cluster = SimCluster(nodes, _stack(*plugins), seed=seed, fill=fill, trace_messages=True)
    cluster.start()
    return cluster


FD = ("perfect-fd", {"period": 0.5, "timeout": 1.0})
"""A quick perfect failure detector: a crash is detected within a few virtual seconds."""


def first_program() -> Trace:
    """docs/examples/first_program.py, traced with its messages."""
    cluster = _cluster(["n1", "n2", "n3"], ("perfect-fd", {"timeout": 2.0}), ("beb", {}),
                       fill="implicit")
    cluster.broadcast("n1", "beb", "hello")
    cluster.run(duration=1.0)
    return cluster.trace


def three_broadcasts() -> Trace:
    """docs/examples/tcp_cluster.py's cluster and broadcasts, in the simulator."""
    cluster = _cluster(["n1", "n2", "n3"], ("perfect-fd", {"timeout": 2.0}), ("rb", {}))
    cluster.run(until=0.5)
    for node in ("n1", "n2", "n3"):
        cluster.broadcast(node, "rb", f"hello from {node}")
    cluster.run(until=1.5)
    return cluster.trace


def crash_a_node() -> Trace:
    """docs/examples/crash_a_node.py, traced with its messages."""
    cluster = _cluster(["n1", "n2", "n3", "n4"], ("perfect-fd", {"period": 0.5,
                                                                 "timeout": 2.0}),
                       ("rb", {}), seed=7, fill="implicit")
    cluster.run(until=0.5)
    cluster.one_way(["n4"], ["n2", "n3"])
    cluster.broadcast("n4", "rb", "last words")
    cluster.run(until=1.0)
    cluster.crash("n4")
    cluster.run(until=5.0)
    return cluster.trace


def scenario_file() -> Trace:
    """docs/examples/scenario.toml with seed 1 (``netweave sim ... --seed 1``)."""
    from netweave.sim import Scenario

    scenario = Scenario.from_toml(DOCS / "examples" / "scenario.toml")
    return scenario.run(1, trace_messages=True).trace


def _hello(trace: Trace) -> Mapping[str, Any]:
    """The scenario file's explicit broadcast (n1, at t=1.0) and what explains its fate."""
    first = next(r for r in trace if r["ev"] == "broadcast" and r["node"] == "n1"
                 and r["t"] == 1.0)
    return {"ids": [first["id"]]}


def random_rb(nodes: int, seed: int, messages: int) -> Callable[[], Trace]:
    """``netweave sim --layer rb --nodes N --crash 1 --messages M --seed S
    --trace-messages``."""

    def run() -> Trace:
        from netweave.sim import Scenario

        scenario = Scenario.random(nodes=nodes, seed=seed, layer="rb", messages=messages,
                                   crash=1)
        return scenario.run(seed, trace_messages=True).trace

    return run


def lost_with_sender(layer: str) -> Callable[[], Trace]:
    """n1 broadcasts while its link to n3 is cut, then crashes."""

    def run() -> Trace:
        cluster = _cluster(3, FD, (layer, {}))
        cluster.run(until=0.5)
        cluster.one_way(["n1"], ["n3"])
        cluster.broadcast("n1", layer, "m")
        cluster.run(until=0.8)
        cluster.crash("n1")
        cluster.run(until=3.0)
        return cluster.trace

    return run


def urb_waits() -> Trace:
    """n3 crashes as n1 broadcasts: nobody delivers before n3 is detected."""
    cluster = _cluster(3, FD, ("urb", {}))
    cluster.run(until=2.5)
    cluster.crash("n3")
    cluster.broadcast("n1", "urb", "m")
    cluster.run(until=5.0)
    return cluster.trace


def one_broadcast(layer: str) -> Callable[[], Trace]:
    """One broadcast, no fault."""

    def run() -> Trace:
        cluster = _cluster(3, FD, (layer, {}))
        cluster.run(until=0.5)
        cluster.broadcast("n1", layer, "m")
        cluster.run(until=2.0)
        return cluster.trace

    return run


def overtaken(layer: str, second: str) -> Callable[[], Trace]:
    """n1 broadcasts while its link to n3 is cut; ``second`` broadcasts again once the
    link is back, and that message reaches n3 before the perfect link's retransmission of
    the first."""

    def run() -> Trace:
        cluster = _cluster(3, FD, (layer, {}))
        cluster.run(until=0.5)
        cluster.one_way(["n1"], ["n3"])
        cluster.broadcast("n1", layer, "first")
        cluster.run(until=0.55)
        cluster.heal()
        cluster.run(until=0.6)
        cluster.broadcast(second, layer, "second")
        cluster.run(until=2.0)
        return cluster.trace

    return run


def detect_crash() -> Trace:
    """Heartbeats every second, a timeout of 2 s; n3 crashes at 2.2."""
    cluster = _cluster(3, ("perfect-fd", {"period": 1.0, "timeout": 2.0, "start_grace": 0}))
    cluster.run(until=2.2)
    cluster.crash("n3")
    cluster.run(until=5.5)
    return cluster.trace


def suspect_and_restore() -> Trace:
    """The eventually perfect detector on two nodes; n2 pauses at 2.2 for 2.8 s."""
    cluster = _cluster(2, ("eventually-perfect-fd", {"period": 1.0, "timeout": 1.5}))
    cluster.run(until=2.2)
    cluster.pause("n2")
    cluster.run(until=5.0)
    cluster.resume("n2")
    cluster.run(until=6.5)
    return cluster.trace


def clocks() -> Trace:
    """Best-effort broadcast with both logical clocks: n1 broadcasts, n2 answers after
    delivering it, n3 broadcasts concurrently."""
    cluster = _cluster(3, ("beb", {}), ("lamport-clock", {}), ("vector-clock", {}),
                       fill="implicit")
    cluster.run(until=0.5)
    cluster.broadcast("n1", "beb", "question")
    cluster.broadcast("n3", "beb", "aside")
    cluster.run(until=0.6)
    cluster.broadcast("n2", "beb", "answer")
    cluster.run(until=1.0)
    return cluster.trace


_VIEW = ("[Explore the run](diagrams/NAME.html): hover an event for its trace line and "
         "vector clock, click one for its causal past and future.")

DIAGRAMS: dict[str, Diagram] = {
    "first-program": Diagram(
        "the first program: three nodes, perfect-fd + beb, n1 broadcasts",
        "The run of the program above, with the messages its components sent: n1's `beb` "
        "delivers its own message at once and sends one copy to each peer, which delivers "
        "it on receipt. The failure detector's heartbeats are left out.",
        first_program, lambda t: {"until": 0.5}),
    "three-broadcasts": Diagram(
        "three nodes, perfect-fd + lazy-rb, each broadcasts one message",
        "The same cluster and broadcasts in the simulator: each `rb` message goes out as a "
        "best-effort broadcast, one copy per peer, and every node delivers the three "
        "messages. Lazy reliable broadcast relays nothing while nobody crashes.",
        three_broadcasts, lambda t: {"until": 0.6}),
    "crash-a-node": Diagram(
        "four nodes, perfect-fd + lazy-rb, n4 cut off from n2 and n3, then crashed",
        "The run of the program above. n4's copies for n2 and n3 are lost (crossed out) "
        "and only n1 delivers `last words`; when n1's detector reports n4 crashed, lazy "
        "reliable broadcast relays the message and n2 and n3 deliver it.",
        crash_a_node),
    "scenario-file": Diagram(
        "the scenario file with seed 1, n1's broadcast at t=1.0",
        "Seed 1 of this scenario file, the message n1 broadcasts at t=1.0 only (as "
        "`netweave timeline --id` selects it), with the lines that explain its fate: the "
        "crash of n5, the partition and the heal, and the detection of n5's crash. "
        "Best-effort broadcast sends each peer one copy.",
        scenario_file, _hello),
    "check-report": Diagram(
        "the run of the check report: four nodes, lazy-rb, n4 crashes, message n3/1/1",
        "The third timeline above as a picture: `n3/1/1` and the lines that explain its "
        "fate. n3's copy for n4 never arrived (crossed out): n4 had crashed.",
        random_rb(4, 3, 6), lambda t: {"ids": ["n3/1/1"]}),
    "view-a-run": Diagram(
        "the run of this tutorial: three nodes, lazy-rb, n2 crashes",
        "The run of `netweave sim --layer rb --nodes 3 --messages 4 --seed 1 --crash 1 "
        "--trace-messages`, the message `n1/1/1` as `netweave timeline --svg` draws it, "
        "and below, its `netweave view` page itself.",
        random_rb(3, 1, 4), lambda t: {"ids": ["n1/1/1"]}, embed=True),
    "beb-lost": Diagram(
        "best-effort broadcast: n1 broadcasts with its link to n3 cut, then crashes",
        "n1's copy for n3 is lost (crossed out) and n1 crashes: n2 delivered `n1/1/1`, n3 "
        "never will, and best-effort broadcast has kept its promise. Compare "
        "[reliable broadcast](reliable-broadcast.md), in the same run.",
        lost_with_sender("beb"), lambda t: {"until": 2.5}),
    "rb-relay": Diagram(
        "lazy reliable broadcast: n1 broadcasts with its link to n3 cut, then crashes",
        "The run of [best-effort broadcast](best-effort-broadcast.md)'s picture with "
        "`lazy-rb`: when n2's detector reports n1 crashed, n2 relays n1's message, and n3 "
        "delivers it too (agreement).",
        lost_with_sender("rb"), lambda t: {"until": 2.5}),
    "urb-waits": Diagram(
        "all-ack uniform reliable broadcast: n3 crashes as n1 broadcasts",
        "Nobody delivers `n1/1/1` when it arrives: all-ack-urb waits until every process "
        "not detected as crashed has relayed it. n3 never will; once the detector reports "
        "it crashed, n1 and n2 deliver. That wait is the latency of the messages in flight "
        "at a crash.",
        urb_waits, lambda t: {"until": 4.5}),
    "urb-costs": Diagram(
        "one broadcast of all-ack-urb over three nodes, no fault",
        "One broadcast of `all-ack-urb`, no fault: n1 sends its message to each peer, each "
        "relays it to every other process, and each delivers once all have relayed it, "
        "two communication steps after the broadcast. Count the arrows: about N² "
        "messages.",
        one_broadcast("urb"), lambda t: {"until": 1.0}),
    "fifo-hold": Diagram(
        "FIFO broadcast: n1's first message to n3 is held up, its second overtakes it",
        "n1's first message to n3 is held up by a cut link until the perfect link "
        "retransmits it; the second arrives first, and n3 keeps it until it has delivered "
        "the first. n2 delivers both on receipt.",
        overtaken("fifo", "n1"), lambda t: {"messages": "all", "until": 1.0},
        hide=("heartbeat", "delivered", "join")),
    "causal-hold": Diagram(
        "causal broadcast: n2 answers n1's message, the answer reaches n3 first",
        "n2 delivers n1's `n1/1/1` and answers with `n2/1/1`, which depends on it. n1's "
        "message to n3 is held up by a cut link, so n3 receives the answer first, and "
        "keeps it until it has delivered `n1/1/1`.",
        overtaken("causal", "n2"), lambda t: {"messages": "all", "until": 1.0},
        hide=("heartbeat", "delivered", "hello")),
    "perfect-fd": Diagram(
        "the perfect failure detector: heartbeats every second, n3 crashes",
        "Each node sends a heartbeat to each peer every `period` (1 s here). n3 crashes "
        "at 2.2; when nothing has come from it for `timeout` (2 s), n1 and n2 detect its "
        "crash, at their next check.",
        detect_crash, lambda t: {"messages": "all", "since": 1.9}, hide=()),
    "eventually-perfect-fd": Diagram(
        "the eventually perfect failure detector: n2 pauses, then resumes",
        "The eventually perfect detector (period 1 s, timeout 1.5 s) on two nodes, from "
        "t=2.9: n2 paused at 2.2, n1 suspects it when its request goes unanswered, and "
        "restores it, with a longer timeout, as soon as a reply comes after n2 resumes at "
        "5.0. n2, paused, saw nothing of n1 meanwhile, and suspects and restores it too.",
        suspect_and_restore, lambda t: {"messages": "all", "since": 2.9, "until": 5.1},
        hide=()),
    "clocks": Diagram(
        "best-effort broadcast with the Lamport and vector clocks",
        "n1 and n3 broadcast at the same instant, and n2 broadcasts after delivering n1's "
        "message. Below, the run's view page: hover an event to see its `lamport` and "
        "`vc` fields, written by the two clocks; click one to see the events it is "
        "causally after (blue) and before (orange); the others are concurrent with it.",
        clocks, embed=True),
}


# -- drawing ----------------------------------------------------------------------------


@attrs.frozen
class Drawn:
    svg: str
    page: str
    seconds: float


def _picture_lines(trace: Trace, hide: tuple[str, ...]) -> Trace:
    return [r for r in trace if not (r["ev"] in ("send", "recv")
                                     and str(r.get("msg", "")).rsplit(".", 1)[-1] in hide)]


def draw(name: str) -> Drawn:
    """Run diagram ``name`` and draw it."""
    from netweave.timeline import render_svg
    from netweave.view import render_view

    diagram = DIAGRAMS[name]
    began = time.perf_counter()
    trace = diagram.run()
    svg = render_svg(_picture_lines(trace, diagram.hide), **dict(diagram.draw(trace)))
    page = render_view(trace, title=diagram.title)
    return Drawn(svg, page, time.perf_counter() - began)


def _prefix(src_uri: str) -> str:
    return "../" * src_uri.count("/")


def render(name: str, src_uri: str) -> str:
    """The Markdown (with HTML) that replaces the marker of ``name`` on page ``src_uri``."""
    diagram = DIAGRAMS[name]
    up = _prefix(src_uri)
    svg, page = f"{up}{FOLDER}/{name}.svg", f"{up}{FOLDER}/{name}.html"
    explore = _VIEW.replace("diagrams/NAME.html", page)
    lines = [
        '<figure class="nw-run" markdown="1">',
        f'[![Space-time diagram of {diagram.title}]({svg})]({page})',
        f'<figcaption markdown="span">{diagram.caption} *A simulated run, drawn when this '
        f'site was built.* {explore}</figcaption>',
        "</figure>",
    ]
    if diagram.embed:
        lines.append(f'<iframe class="nw-view" src="{page}" loading="lazy" title="netweave '
                     f'view of {diagram.title}"></iframe>')
    return "\n".join(lines) + "\n"


def expand(markdown: str, src_uri: str) -> tuple[str, list[str], list[str]]:
    """Replace the markers of one page; return it, the runs shown and the problems."""
    shown: list[str] = []
    problems: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in DIAGRAMS:
            problems.append(f"{src_uri}: no run named {name!r} for netweave-diagram "
                            f"(known: {', '.join(sorted(DIAGRAMS))})")
            return ""
        shown.append(name)
        return render(name, src_uri)

    return MARKER.sub(sub, markdown), shown, problems


_STATE: dict[str, Any] = {"shown": set(), "failed": set()}


def on_files(files: Any, config: Any) -> Any:
    """MkDocs event: run and draw every diagram into the built site."""
    from mkdocs.structure.files import File

    began = time.perf_counter()
    _STATE["shown"] = set()
    _STATE["failed"] = set()
    for name in DIAGRAMS:
        try:
            drawn = draw(name)
        except Exception as exc:  # a run that fails must fail the strict build, named
            log.warning(f"netweave-diagram {name}: the run failed: {exc!r}")
            _STATE["failed"].add(name)
            continue
        files.append(File.generated(config, f"{FOLDER}/{name}.svg", content=drawn.svg))
        files.append(File.generated(config, f"{FOLDER}/{name}.html", content=drawn.page))
    log.debug(f"{len(DIAGRAMS)} diagrams in {time.perf_counter() - began:.2f}s")
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: replace the diagram markers of a page."""
    if "netweave-diagram:" not in markdown:
        return markdown
    out, shown, problems = expand(markdown, page.file.src_uri)
    _STATE["shown"].update(shown)
    for problem in problems:
        log.warning(problem)
    return out


def on_env(env: Any, config: Any, files: Any) -> Any:
    """MkDocs event (every page read): a run no page shows is a warning."""
    unused = sorted(set(DIAGRAMS) - _STATE["shown"] - _STATE["failed"])
    if unused:
        log.warning(f"netweave-diagram: no page shows {', '.join(unused)} (add "
                    f"'<!-- netweave-diagram: NAME -->' where it belongs, or remove it)")
    return env
