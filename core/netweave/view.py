"""A run as one interactive HTML page: lanes, events, messages, causality, violations.

:func:`write_view` turns a trace (real or simulated: a directory of ``*.jsonl`` files, one
file, or its lines) into a single self-contained HTML file (inline CSS and JavaScript,
nothing fetched from anywhere, opens from disk) that shows:

- a lane per node, time going down: one row per instant, as ``netweave timeline`` lays
  it out, with times in seconds since the trace's first line;
- each line as a mark on its node's lane: broadcasts and deliveries (dots labelled with
  the message id), starts and stops (squares), crashes (crosses), suspicions, restores
  and faults; hovering one shows its fields, its time and its vector clock;
- an arrow from every ``send`` line to each ``recv`` line with the same ``mid``, coloured
  and labelled by the message's kind (``msg``); a ``send`` never received is dashed and
  crossed out, a ``recv`` whose ``send`` is not in the trace a short arrow in;
- on a click, the event's causal past and future (happened-before: program order on each
  node and ``send`` to ``recv``, see :mod:`netweave.causality`), the rest dimmed;
- filters by node, layer, message kind and message id, and a slider that steps through
  the run line by line, dimming what comes later and dashing messages in flight;
- the lines ``netweave check`` gives as counterexamples to a property, ringed in red and
  named by the property, and the check's verdicts beside the picture.

The picture is drawn as SVG in Python (so the page shows it without scripts); the page's
script then handles hovering, selection, filters (which lay the lanes and rows out
again) and the slider, changing only what changes. Thousands of lines stay smooth.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .causality import causality
from .check import Report, check_history
from .check._history import History
from .timeline import label
from .trace import read_trace

__all__ = ["render_view", "view_data", "write_view"]

LANE, ROW, PAD, HEAD = 150, 18, 12, 30
"""Lane width, row height, padding above the first row, height of the lane names (px)."""

LIFECYCLE = ("start", "stop", "crash", "suspect", "restore", "fault")
_KNOWN = frozenset({"broadcast", "deliver", "send", "recv", *LIFECYCLE})
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#ff7f0e", "#3b6ea8", "#7f7f7f")
_QUIET = "#a9b1bb"
"""The colour of heartbeats: there are many, and they rarely matter."""
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MARKER = re.compile(r"@@(\w+)@@")


def _esc(value: object) -> str:
    """``value`` as HTML/SVG text or attribute: escaped, characters XML cannot hold
    replaced by U+FFFD."""
    return html.escape(_NOT_XML.sub("\ufffd", str(value)), quote=True)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _note(origin: float) -> str | None:
    """What time 0 is, when it is not the trace's own 0 (a real run's wall clock)."""
    if origin == 0:
        return None
    when = (f"{datetime.fromtimestamp(origin, UTC):%Y-%m-%d %H:%M:%S.%f} UTC"
            if 1e9 <= origin < 1e11 else f"trace time {origin:g}")
    return f"t: seconds since the first event of the trace ({when})"


def _check(lines: list[Mapping[str, Any]], examples: int) -> tuple[Report | None, str | None]:
    try:
        history = History.from_records(lines)
    except ValueError as exc:  # TraceFormatError, or a field of the wrong type
        return None, f"not checked: {exc}"
    return check_history(history, examples=examples), None


def view_data(records: Iterable[Mapping[str, Any]], report: Report | None = None, *,
              check: bool = True, title: str = "trace",
              examples: int = 20) -> dict[str, Any]:
    """What the page draws, as JSON-ready data (the page embeds it).

    :param records: the trace's lines, in trace order (as :func:`~netweave.trace.read_trace`
        returns them); lines without ``node`` or ``ev`` are left out.
    :param report: the verdicts to mark; ``None``: check the trace now with the installed
        specifications, unless ``check`` is false.
    :param examples: counterexamples marked per violated property, when checking here.
    """
    lines = [r for r in records if "node" in r and "ev" in r]
    hb = causality(lines)
    origin = min((float(r.get("t", 0.0)) for r in lines), default=0.0)
    times = [round(float(r.get("t", 0.0)) - origin, 6) + 0.0 for r in lines]
    instants = set(times)
    places = next((p for p in (3, 4, 5) if len({f"{t:.{p}f}" for t in instants})
                   == len(instants)), 6)
    layered = len({r.get("layer") for r in lines if r["ev"] in ("broadcast", "deliver")}) > 1
    layers = sorted({str(r["layer"]) for r in lines if r.get("layer") is not None
                     and r["ev"] not in ("send", "recv")})
    kinds: dict[str, int] = {}
    kind_of: list[int] = []
    for r in lines:
        if r["ev"] in ("send", "recv"):
            kind = str(r.get("msg") or "message")
            kind_of.append(kinds.setdefault(kind, len(kinds)))
        else:
            kind_of.append(-1)
    index = {name: k for k, name in enumerate(hb.nodes)}
    arrows: list[list[int]] = []
    matched_sends: set[int] = set()
    received: set[int] = set()
    for sent, got in hb.messages:
        arrows.append([sent, got, kind_of[sent], -1])
        matched_sends.add(sent)
        received.add(got)
    for i, r in enumerate(lines):
        if r["ev"] == "send" and i not in matched_sends:
            arrows.append([i, -1, kind_of[i], index.get(str(r.get("to")), -1)])
        elif r["ev"] == "recv" and i not in received:
            arrows.append([-1, i, kind_of[i], index.get(str(r.get("from")), -1)])
    arrows.sort(key=lambda a: max(a[0], a[1]))
    labels = [None if r["ev"] in ("send", "recv") else label(r, layered=layered)
              for r in lines]
    error: str | None = None
    if report is None and check and lines:
        report, error = _check(lines, examples)
    return {
        "title": title,
        "note": _note(origin),
        "origin": origin,
        "places": places,
        "nodes": list(hb.nodes),
        "lines": [dict(r) for r in lines],
        "node": list(hb.node_of),
        "t": times,
        "label": labels,
        "kind": kind_of,
        "clock": [list(c) for c in hb.clocks],
        "arrows": arrows,
        "ignored": [list(p) for p in hb.ignored],
        "kinds": list(kinds),
        "colors": _colors(list(kinds)),
        "layers": layers,
        "check": _verdicts(report, error, lines),
        "geom": {"lane": LANE, "row": ROW, "pad": PAD, "head": HEAD,
                 "left": 16 + 7 * max([len(f"{t:.{places}f}") for t in times] + [5])},
    }


def _colors(kinds: list[str]) -> list[str]:
    out, n = [], 0
    for kind in kinds:
        if "heartbeat" in kind:
            out.append(_QUIET)
        else:
            out.append(_PALETTE[n % len(_PALETTE)])
            n += 1
    return out


def _verdicts(report: Report | None, error: str | None,
              lines: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The check's results, with each counterexample's lines as indices into ``lines``."""
    if report is None:
        return {"ran": False, "error": error, "ok": None, "results": [], "unchecked": []}
    by_identity = {id(r): i for i, r in enumerate(lines)}
    by_text: dict[str, list[int]] = {}
    for i, r in enumerate(lines):
        by_text.setdefault(json.dumps(r, sort_keys=True, default=str), []).append(i)

    def find(line: Mapping[str, Any]) -> int:
        i = by_identity.get(id(line))
        if i is not None:
            return i
        found = by_text.get(json.dumps(dict(line), sort_keys=True, default=str))
        return found[0] if found else -1

    results = []
    for res in report.results:
        examples = []
        for v in res.examples:
            found = [find(line) for line in v.lines]
            examples.append({"message": v.message, "lines": [i for i in found if i >= 0],
                             "missing": sum(1 for i in found if i < 0)})
        results.append({"layer": res.layer, "spec": res.spec, "property": res.name,
                        "kind": res.kind, "holds": res.holds, "violations": res.violations,
                        "examples": examples})
    return {"ran": True, "error": None, "ok": report.ok, "results": results,
            "unchecked": list(report.unchecked)}


# -- the picture -------------------------------------------------------------------------


def _layout(data: Mapping[str, Any]) -> tuple[list[float], list[int], list[float]]:
    """Every lane's x, every line's row and every row's time (all lines, all nodes)."""
    g = data["geom"]
    lane_x = [g["left"] + g["lane"] * k + g["lane"] / 2 for k in range(len(data["nodes"]))]
    rows: list[int] = []
    row_times: list[float] = []
    taken: set[int] = set()
    for k, t in zip(data["node"], data["t"], strict=True):
        if not row_times or t != row_times[-1] or k in taken:
            row_times.append(t)
            taken = set()
        taken.add(k)
        rows.append(len(row_times) - 1)
    return lane_x, rows, row_times


def _y(row: int) -> float:
    return PAD + ROW * row + ROW / 2


_SHAPES = {
    "broadcast": '<circle class="s" r="4.5"/>',
    "deliver": '<circle class="s" r="3.5"/>',
    "send": '<circle class="s" r="2.2"/>',
    "recv": '<circle class="s" r="2.2"/>',
    "crash": '<path class="s" d="M-5,-5L5,5M-5,5L5,-5"/>',
    "start": '<rect class="s" x="-4" y="-4" width="8" height="8"/>',
    "stop": '<rect class="s" x="-4" y="-4" width="8" height="8"/>',
    "fault": '<path class="s" d="M0,-5.5L5.5,0L0,5.5L-5.5,0Z"/>',
    "suspect": '<circle class="s" r="3.5"/>',
    "restore": '<circle class="s" r="3.5"/>',
}


def _arrow(j: int, a: Sequence[int], pos: Mapping[int, tuple[float, float]],
           lane_x: Sequence[float], color: str, kind: str) -> list[str]:
    """The SVG of arrow ``j``, ``[send, recv, kind, peer lane]``, and of its label."""
    s, r, _, peer = a
    text = _esc(kind)
    if s >= 0 and r >= 0:
        (x1, y1), (x2, y2) = pos[s], pos[r]
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - 3
        return [f'<line class="a m" data-a="{j}" x1="{_num(x1)}" y1="{_num(y1)}" '
                f'x2="{_num(x2)}" y2="{_num(y2)}" stroke="{color}" '
                f'marker-end="url(#h{a[2]})"/>',
                f'<text class="al" data-a="{j}" x="{_num(mx)}" y="{_num(my)}" '
                f'fill="{color}">{text}</text>']
    if s >= 0:  # never received
        x1, y1 = pos[s]
        x2 = lane_x[peer] if peer >= 0 else x1 + 30
        y2 = y1 + ROW
        return [f'<path class="a lost" data-a="{j}" stroke="{color}" d="M{_num(x1)},'
                f'{_num(y1)}L{_num(x2)},{_num(y2)}M{_num(x2 - 4)},{_num(y2 - 4)}L'
                f'{_num(x2 + 4)},{_num(y2 + 4)}M{_num(x2 - 4)},{_num(y2 + 4)}L'
                f'{_num(x2 + 4)},{_num(y2 - 4)}"/>',
                f'<text class="al" data-a="{j}" x="{_num((x1 + x2) / 2)}" '
                f'y="{_num((y1 + y2) / 2 - 3)}" fill="{color}">{text}</text>']
    x2, y2 = pos[r]
    x1 = x2 + (24 if peer >= 0 and lane_x[peer] > x2 else -24)
    y1 = y2 - ROW / 2
    return [f'<line class="a in" data-a="{j}" x1="{_num(x1)}" y1="{_num(y1)}" '
            f'x2="{_num(x2)}" y2="{_num(y2)}" stroke="{color}" marker-end="url(#h{a[2]})"/>',
            f'<text class="al" data-a="{j}" x="{_num(x1)}" y="{_num(y1 - 3)}" '
            f'fill="{color}">{text}</text>']


def _marks(data: Mapping[str, Any]) -> dict[int, list[str]]:
    """For each line a counterexample shows, the names of the properties it breaks."""
    marks: dict[int, list[str]] = {}
    for res in data["check"]["results"]:
        for ex in res["examples"]:
            for i in ex["lines"]:
                names = marks.setdefault(i, [])
                if res["property"] not in names:
                    names.append(res["property"])
    return marks


def _render_svg(data: Mapping[str, Any]) -> tuple[str, str]:
    """The lane names (a separate SVG that stays on top) and the diagram, as SVG."""
    g = data["geom"]
    nodes: list[str] = data["nodes"]
    lane_x, rows, row_times = _layout(data)
    width = round(g["left"] + g["lane"] * len(nodes))
    height = round(PAD * 2 + ROW * len(row_times))
    head = [f'<svg id="head" width="{width}" height="{HEAD}">']
    for k, name in enumerate(nodes):
        shown = name if len(name) <= 20 else name[:19] + "~"
        head.append(f'<text class="ln" data-n="{k}" x="{_num(lane_x[k])}" y="20">'
                    f'{_esc(shown)}<title>{_esc(name)}</title></text>')
    head.append("</svg>")
    out = [f'<svg id="chart" width="{width}" height="{height}">', "<defs>"]
    for k, color in enumerate(data["colors"]):
        out.append(f'<marker id="h{k}" viewBox="0 0 10 10" refX="13" refY="5" '
                   f'markerWidth="7" markerHeight="7" orient="auto">'
                   f'<path d="M0,0L10,5L0,10z" fill="{color}"/></marker>')
    out.append("</defs>")
    out.append('<g id="lanes">')
    for k in range(len(nodes)):
        out.append(f'<line class="lane" data-n="{k}" x1="{_num(lane_x[k])}" y1="0" '
                   f'x2="{_num(lane_x[k])}" y2="{height}"/>')
    out.append('</g><g id="dead">')
    down: dict[int, float] = {}
    for r, k, row in zip(data["lines"], data["node"], rows, strict=True):
        if r["ev"] == "crash" and k not in down:
            down[k] = _y(row)
        elif r["ev"] == "start" and k in down:
            out.append(_dead(lane_x[k], down.pop(k), _y(row)))
    for k, y in down.items():
        out.append(_dead(lane_x[k], y, height))
    out.append('</g><g id="axis">')
    shown_t: float | None = None
    for row, t in enumerate(row_times):
        if t != shown_t:
            out.append(f'<text x="{g["left"] - 8}" y="{_num(_y(row) + 4)}">'
                       f'{t:.{data["places"]}f}</text>')
            shown_t = t
    out.append('</g><g id="arrows">')
    pos = {i: (lane_x[k], _y(row)) for i, (k, row) in enumerate(zip(data["node"], rows,
                                                                     strict=True))}
    labels: list[str] = []
    for j, a in enumerate(data["arrows"]):
        line, text = _arrow(j, a, pos, lane_x, data["colors"][a[2]], data["kinds"][a[2]])
        out.append(line)
        labels.append(text)
    out.append('</g><g id="arrowlabels">')
    out.extend(labels)
    out.append('</g><g id="events">')
    marks = _marks(data)
    for i, r in enumerate(data["lines"]):
        ev = str(r["ev"])
        x, y = pos[i]
        cls = f"k-{ev}" if ev in _KNOWN else "k-other"
        if i in marks:
            cls += " v"
        parts = [f'<g class="e {cls}" data-i="{i}" transform="translate({_num(x)},{_num(y)})">',
                 _SHAPES.get(ev, '<circle class="s" r="3"/>')]
        text = data["label"][i]
        if text is not None:
            short = text if len(text) <= 22 else text[:21] + "~"
            parts.append(f'<text class="l" x="8" y="4">{_esc(short)}</text>')
        if i in marks:
            parts.append('<circle class="vr" r="8"/><text class="vt" x="-11" y="4">'
                         f'\u26a0 {_esc(", ".join(marks[i]))}</text>')
        parts.append("</g>")
        out.append("".join(parts))
    out.append('</g><line id="cursor" x1="0" x2="0" y1="-10" y2="-10"/></svg>')
    return "\n".join(head), "\n".join(out)


def _dead(x: float, y1: float, y2: float) -> str:
    return (f'<line class="dead" x1="{_num(x)}" y1="{_num(y1)}" x2="{_num(x)}" '
            f'y2="{_num(y2)}"/>')


# -- the page ----------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files(__package__ or "netweave").joinpath("_view", name).read_text(
        encoding="utf-8")


def _checkboxes(group: str, names: Sequence[str], colors: Sequence[str] | None = None) -> str:
    out = []
    for k, name in enumerate(names):
        swatch = (f'<i class="sw" style="background:{colors[k]}"></i>' if colors else "")
        out.append(f'<label><input type="checkbox" data-f="{group}" value="{k}" checked>'
                   f'{swatch}{_esc(name)}</label>')
    return "".join(out) or '<span class="none">none</span>'


def _report_html(data: Mapping[str, Any]) -> str:
    check = data["check"]
    if not check["ran"]:
        return f'<p class="muted">{_esc(check["error"] or "not checked")}</p>'
    results = check["results"]
    bad = [r for r in results if not r["holds"]]
    out = [f'<p class="{"ok" if not bad else "bad"}">{len(results) - len(bad)} of '
           f'{len(results)} properties hold' + (f", {len(bad)} violated" if bad else "")
           + "</p>"]
    if results:
        out.append("<ul class=\"props\">")
        for r in results:
            verdict = "holds" if r["holds"] else f"violated ({r['violations']})"
            out.append(f'<li class="{"ok" if r["holds"] else "bad"}"><b>{_esc(r["layer"])}</b> '
                       f'{_esc(r["property"])}: {verdict}'
                       f'<span class="muted"> {_esc(r["spec"])}</span>')
            for ex in r["examples"]:
                out.append(f'<div class="ex">{_esc(ex["message"])}<br>')
                for i in ex["lines"]:
                    line = data["lines"][i]
                    out.append(f'<a href="#" data-go="{i}">{_esc(line["node"])} '
                               f'{_esc(line["ev"])} t={data["t"][i]:.{data["places"]}f}</a> ')
                if ex["missing"]:
                    out.append(f'<span class="muted">({ex["missing"]} line(s) not in this '
                               "trace)</span>")
                out.append("</div>")
            out.append("</li>")
        out.append("</ul>")
    for layer in check["unchecked"]:
        out.append(f'<p class="muted">{_esc(layer)}: no specification installed '
                   "(unchecked)</p>")
    return "".join(out)


def _json(data: Mapping[str, Any]) -> str:
    """``data`` as JSON that cannot end the ``<script>`` element holding it."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str,
                      allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_view(records: Iterable[Mapping[str, Any]], report: Report | None = None, *,
                check: bool = True, title: str = "trace", examples: int = 20) -> str:
    """The HTML page of a trace (see the module documentation); the arguments are those
    of :func:`view_data`."""
    data = view_data(records, report, check=check, title=title, examples=examples)
    head, chart = _render_svg(data)
    arrows = sum(1 for a in data["arrows"] if a[0] >= 0 and a[1] >= 0)
    check_result = data["check"]
    bad = sum(1 for r in check_result["results"] if not r["holds"])
    verdict = ("not checked" if not check_result["ran"]
               else "no property to check" if not check_result["results"]
               else "every property holds" if not bad
               else f"{bad} violated propert{'y' if bad == 1 else 'ies'} marked")
    summary = (f'{len(data["nodes"])} nodes, {len(data["lines"])} events, {arrows} messages '
               f'received, {verdict}')
    parts = {
        "TITLE": _esc(title),
        "CSS": _asset("view.css"),
        "JS": _asset("view.js"),
        "SUMMARY": _esc(summary),
        "NOTE": _esc(data["note"] or "t: seconds since the first event of the trace"),
        "NODES": _checkboxes("node", data["nodes"]),
        "LAYERS": _checkboxes("layer", data["layers"]),
        "KINDS": _checkboxes("kind", data["kinds"], data["colors"]),
        "REPORT": _report_html(data),
        "HEAD": head,
        "CHART": chart,
        "LAST": str(max(len(data["lines"]) - 1, 0)),
        "DATA": _json(data),
    }
    return _MARKER.sub(lambda m: parts[m.group(1)], _asset("page.html"))


def write_view(trace: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
               path: str | os.PathLike[str], report: Report | None = None, *,
               check: bool = True, title: str | None = None) -> Path:
    """Write the HTML view of a trace and return its path.

    :param trace: a trace file, a directory of ``*.jsonl`` files, or the trace's lines in
        trace order.
    :param path: the HTML file to write (its directory must exist).
    :param report: the ``netweave check`` verdicts whose counterexamples the page marks,
        e.g. from :func:`~netweave.check.check_trace` on the same trace; ``None``: check
        it here with the installed specifications (unless ``check`` is false).
    :param title: the page's title; default: the trace's path.
    :raises FileNotFoundError, ValueError: if the trace cannot be read.
    """
    if isinstance(trace, str | os.PathLike):
        records: Iterable[Mapping[str, Any]] = read_trace(trace)
        name = title or str(trace)
    else:
        records, name = trace, title or "trace"
    out = Path(path)
    out.write_text(render_view(records, report, check=check, title=name), encoding="utf-8")
    return out

