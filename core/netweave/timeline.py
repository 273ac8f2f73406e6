"""A trace as a text space-time diagram: one column per node, time going down.

Reading a failing seed's JSON lines is slow; laid out by node, the same lines show at a
glance who broadcast what, who delivered it and when, and what crashed or was cut off
meanwhile. Only the trace format is read (see ``docs/reference/trace.md``), so the
timeline of a real run and of a simulation look alike. Each row is one instant; lines of
several nodes at the same instant share it::

        t  n1            n2            n3
    0.000  start #1      start #1      start #1
    0.512  bcast n1/1/1
    0.512  dlvr n1/1/1
    0.519                dlvr n1/1/1
    3.100                              CRASH

Times are seconds since the first event of the trace, whatever the view shows (``since``
and ``until`` count the same way). A simulated run starts at 0, so its times are the
trace's own; a real run's trace holds wall-clock (epoch) seconds, and its timeline says
on a first line when its time 0 was. A real node's incarnations are wall-clock
milliseconds (13 digits): they show as their last digits, as few as tell each node's
incarnations apart (at least 4: ``n1/..9041/3`` for ``n1/1796652279041/3``), and a
second line says so; ``ids`` takes either form.

Labels: ``bcast``/``dlvr`` and the message id (prefixed with the layer when the trace
has several), ``start #<incarnation>``, ``stop``, ``CRASH``, ``suspect``/``restore`` and
the peer, a fault's kind (``partition``, ``heal``, ``loss 0.3``, ``pause``...), and for
a trace written with ``trace_messages``, each component message that crossed a link as
``-> n2 <id>`` where it left and ``<- n1 <id>`` where it arrived (the broadcast id it is
about, else its kind). Any other event shows its name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import attrs

from .errors import ConfigurationError

__all__ = ["MESSAGES", "label", "render_svg", "render_timeline"]

MESSAGES = ("about", "all", "none")
"""Which link-message lines a timeline shows: about a broadcast, all of them, none."""

_LIFECYCLE = frozenset({"start", "stop", "crash", "suspect", "restore", "fault"})
"""Lines kept when only some message ids are shown: they explain what happened to them."""


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key that puts ``n2`` before ``n10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


_SHORT_FROM = 10**6
"""Incarnations from this size on (wall-clock milliseconds) show only their last digits."""


def _incarnation(value: object, short: int | None) -> str:
    """An incarnation as shown: whole, or ``..`` and its last ``short`` digits."""
    text = str(value)
    if short is None or not text.isdigit() or len(text) <= short:
        return text
    return ".." + text[-short:]


def _shown_id(value: object, short: int | None) -> str:
    """A message id (``origin/incarnation/n``) with its incarnation as shown."""
    parts = str(value).split("/")
    if short is None or len(parts) != 3:
        return str(value)
    return f"{parts[0]}/{_incarnation(parts[1], short)}/{parts[2]}"


def label(record: Mapping[str, Any], *, layered: bool = False,
          short: int | None = None) -> str:
    """The short text of one trace line in its node's column.

    :param short: show incarnations (also inside message ids) by their last ``short``
        digits, after ``..``; ``None``: whole.
    """
    ev = str(record.get("ev", "?"))
    if ev in ("broadcast", "deliver"):
        mid = _shown_id(record.get("id", "?"), short)
        text = f"{'bcast' if ev == 'broadcast' else 'dlvr'} {mid}"
        return f"{record.get('layer', '?')} {text}" if layered else text
    if ev == "start":
        return f"start #{_incarnation(record.get('incarnation', '?'), short)}"
    if ev == "crash":
        return "CRASH"
    if ev in ("suspect", "restore"):
        return f"{ev} {record.get('peer', '?')}"
    if ev == "fault":
        return _fault(record)
    if ev in ("send", "recv"):
        arrow, peer = ("->", record.get("to", "?")) if ev == "send" else ("<-", record.get(
            "from", "?"))
        what = record.get("id") or record.get("msg") or record.get("mid") or ""
        return f"{arrow} {peer} {_shown_id(what, short) if what else ''}".rstrip()
    return ev


def _fault(record: Mapping[str, Any]) -> str:
    kind = str(record.get("kind", "?"))
    groups, sources, targets = (record.get(k) for k in ("groups", "sources", "targets"))
    if kind == "partition" and isinstance(groups, list):
        return "partition " + "|".join(",".join(map(str, g)) for g in groups
                                       if isinstance(g, list))
    if kind == "partition" and isinstance(sources, list) and isinstance(targets, list):
        return f"cut {','.join(map(str, sources))}->{','.join(map(str, targets))}"
    if "probability" in record:
        return f"{kind} {record['probability']}"
    return kind


@attrs.frozen
class _Selection:
    columns: list[str]
    lines: list[Mapping[str, Any]]
    """The kept trace lines, in trace order."""
    layered: bool
    rows: list[int]
    """For each kept line, its row: lines of one instant at different nodes share a row; a
    node's second line at that instant starts a new one, so each column keeps its order."""
    places: int
    """Decimal places that tell every instant apart (3, or more, up to 6)."""
    origin: float
    """The trace's first instant: times are shown as seconds since it."""
    times: list[float]
    """For each kept line, seconds since ``origin``."""
    short: int | None
    """Incarnations show their last ``short`` digits (``None``: whole)."""
    example: str | None
    """An incarnation of the trace, whole, for the note that says how they are shown."""

    def notes(self) -> list[str]:
        """What time 0 is, when it is not the trace's own 0 (a real run's wall clock), and
        how incarnations are shown, when they are cut short."""
        out = []
        if self.origin != 0:
            when = (f"{datetime.fromtimestamp(self.origin, UTC):%Y-%m-%d %H:%M:%S.%f} UTC"
                    if 1e9 <= self.origin < 1e11 else f"trace time {self.origin:g}")
            out.append(f"t: seconds since the first event of the trace ({when})")
        if self.short is not None and self.example is not None:
            out.append(f"incarnations (wall-clock ms): their last {self.short} digits "
                       f"(#{_incarnation(self.example, self.short)} is #{self.example})")
        return out


def _short_digits(lines: Sequence[Mapping[str, Any]]) -> tuple[int | None, str | None]:
    """How many last digits tell each node's incarnations apart (at least 4), when they
    are wall-clock milliseconds, and one of them; ``(None, None)`` when they are small."""
    seen: dict[str, set[str]] = {}
    for r in lines:
        inc = r.get("incarnation") if r["ev"] == "start" else None
        if isinstance(inc, int) and not isinstance(inc, bool):
            seen.setdefault(str(r["node"]), set()).add(str(inc))
        parts = str(r.get("id", "")).split("/")
        if len(parts) == 3 and parts[1].isdigit():
            seen.setdefault(parts[0], set()).add(parts[1])
    large = sorted(i for incs in seen.values() for i in incs if int(i) >= _SHORT_FROM)
    if not large:
        return None, None
    longest = max(len(i) for incs in seen.values() for i in incs)
    short = next((k for k in range(4, longest)
                  if all(len({i[-k:] for i in incs}) == len(incs) for incs in seen.values())),
                 None)
    return short, large[0] if short is not None else None


def _since_origin(t: float, origin: float) -> float:
    """``t`` as seconds since ``origin``, to the trace's resolution (microseconds)."""
    return round(t - origin, 6) + 0.0  # + 0.0: no -0.0


def _select(records: Iterable[Mapping[str, Any]], nodes: Sequence[str] | None,
            layers: Sequence[str] | None, ids: Sequence[str] | None, since: float | None,
            until: float | None, messages: str) -> _Selection:
    if messages not in MESSAGES:
        raise ConfigurationError(f"messages must be one of {', '.join(MESSAGES)}, "
                                 f"not {messages!r}")
    lines = [r for r in records if "node" in r and "ev" in r]
    origin = min((float(r.get("t", 0.0)) for r in lines), default=0.0)
    short, example = _short_digits(lines)
    present = sorted({str(r["node"]) for r in lines}, key=_natural)
    columns = list(dict.fromkeys(nodes)) if nodes else present
    unknown = [n for n in columns if n not in present]
    if unknown:
        raise ConfigurationError(
            f"no node {', '.join(map(repr, unknown))} in the trace; its nodes: "
            f"{', '.join(present) or 'none'}")
    layered = len({r.get("layer") for r in lines if r["ev"] in ("broadcast", "deliver")}) > 1
    wanted_ids = set(ids) if ids else None

    def unwanted(mid: object) -> bool:
        return wanted_ids is not None and mid not in wanted_ids and (
            _shown_id(mid, short) not in wanted_ids)

    wanted_layers = set(layers) if layers else None
    kept: list[Mapping[str, Any]] = []
    for r in lines:
        t = _since_origin(float(r.get("t", 0.0)), origin)
        if (since is not None and t < since) or (until is not None and t > until):
            continue
        if str(r["node"]) not in columns:
            continue
        ev = r["ev"]
        if ev in ("broadcast", "deliver"):
            if wanted_layers is not None and r.get("layer") not in wanted_layers:
                continue
            if unwanted(r.get("id")):
                continue
        elif ev in ("send", "recv"):
            if messages == "none" or (messages == "about" and not r.get("id")):
                continue
            if unwanted(r.get("id")):
                continue
        elif wanted_ids is not None and ev not in _LIFECYCLE:
            continue
        kept.append(r)
    times = [_since_origin(float(r.get("t", 0.0)), origin) for r in kept]
    rows: list[int] = []
    taken: set[str] = set()
    row_t: float | None = None
    for r, t in zip(kept, times, strict=True):
        node = str(r["node"])
        if t != row_t or node in taken:
            taken, row_t = set(), t
            rows.append(rows[-1] + 1 if rows else 0)
        else:
            rows.append(rows[-1])
        taken.add(node)
    instants = set(times)
    # Milliseconds, or as many more places as it takes for no two instants to print alike
    # (up to microseconds, the trace's own resolution).
    places = next((p for p in (3, 4, 5) if len({f"{t:.{p}f}" for t in instants})
                   == len(instants)), 6)
    return _Selection(columns, kept, layered, rows, places, origin, times, short, example)


def render_timeline(records: Iterable[Mapping[str, Any]], *,
                    nodes: Sequence[str] | None = None, layers: Sequence[str] | None = None,
                    ids: Sequence[str] | None = None, since: float | None = None,
                    until: float | None = None, width: int = 24,
                    messages: str = "about") -> list[str]:
    """The rows of the timeline of ``records`` (trace lines, in time order).

    Times are seconds since the first event of the trace, with milliseconds, or more
    places where two instants would print alike; when that first event is not at 0 (a
    real run: wall-clock seconds), a first line says when it was. Incarnations that are
    wall-clock milliseconds show their last digits, and a line says so.

    :param nodes: the columns, in this order; default: every node, ``n2`` before ``n10``.
    :param layers: show broadcasts and deliveries of these layers only.
    :param ids: show only these messages (and the lines that explain their fate:
        starts, stops, crashes, suspicions and faults), as in the trace or as shown.
    :param since: drop lines before this time (seconds since the first event, as
        shown); ``until``: after it.
    :param width: the widest a column gets; longer labels are cut, ending in ``~``.
    :param messages: which ``send``/``recv`` lines to show, in a trace that has them
        (written with ``trace_messages``): ``"about"`` those of messages about a
        broadcast (they carry its id; not heartbeats), ``"all"`` or ``"none"``.
    :raises ConfigurationError: on a node that is not in the trace, ``width < 8`` or
        another ``messages``.
    """
    if width < 8:
        raise ConfigurationError(f"width must be at least 8, not {width}")
    sel = _select(records, nodes, layers, ids, since, until, messages)
    texts = [label(r, layered=sel.layered, short=sel.short) for r in sel.lines]
    col = max([len(c) for c in sel.columns] + [min(len(x), width) for x in texts] + [4])
    times = sel.times
    stamp = max([len(f"{t:.{sel.places}f}") for t in times] + [5])
    out = sel.notes()
    out.append((f"{'t':>{stamp}}  " + "  ".join(f"{c:<{col}}" for c in sel.columns)).rstrip())
    index = {c: i for i, c in enumerate(sel.columns)}
    for members in _by_row(sel.rows):
        cells = [""] * len(sel.columns)
        for i in members:
            text = texts[i]
            cells[index[str(sel.lines[i]["node"])]] = (
                text if len(text) <= col else text[:col - 1] + "~")
        t = times[members[0]]
        out.append((f"{t:>{stamp}.{sel.places}f}  "
                    + "  ".join(f"{c:<{col}}" for c in cells)).rstrip())
    return out


def _by_row(rows: list[int]) -> list[list[int]]:
    """The indices of the kept lines, grouped by row (rows never go back)."""
    groups: list[list[int]] = []
    for i, row in enumerate(rows):
        if row == len(groups):
            groups.append([])
        groups[row].append(i)
    return groups


_LANE, _ROW, _TOP, _BOTTOM, _NOTE = 170, 20, 56, 24, 14
_CHAR = 6.7
"""Width of a character in 11 px monospace, in pixels (approximately)."""
_FITS = 23
"""Characters of a label that fit in a lane."""
_ARROW = "#3b6ea8"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: object) -> str:
    """``value`` as SVG text: escaped, and characters XML cannot hold replaced by U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def render_svg(records: Iterable[Mapping[str, Any]], *,
               nodes: Sequence[str] | None = None, layers: Sequence[str] | None = None,
               ids: Sequence[str] | None = None, since: float | None = None,
               until: float | None = None, messages: str = "about") -> str:
    """The same diagram as :func:`render_timeline`, as a standalone SVG image.

    A lane per node, time going down, the rows of :func:`render_timeline`. A message that
    crossed a link (a trace written with ``trace_messages``) is an arrow from its
    ``send`` row to each of its ``recv`` rows; a ``send`` with no ``recv`` in view is a
    dashed line to the destination's lane, crossed out (lost with a crashed or cut-off
    node, or received outside the view), and a ``recv`` whose ``send`` is not in view is
    a short arrow into its lane. A crashed node's lane is dashed until it starts again.
    Hovering a mark shows its trace line. The options are those of
    :func:`render_timeline`.
    """
    records = list(records)
    sel = _select(records, nodes, layers, ids, since, until, messages)
    times = [f"{t:.{sel.places}f}" for t in sel.times]
    left = 20 + _CHAR * max([len(t) for t in times] + [7])
    lane = {c: left + 20 + i * _LANE for i, c in enumerate(sel.columns)}
    count = sel.rows[-1] + 1 if sel.rows else 0
    notes = sel.notes()  # one line each above the lanes, which move down to make room
    top = _TOP + _NOTE * len(notes)
    height = top + count * _ROW + _BOTTOM
    width = round(max([left + 20 + len(sel.columns) * _LANE]
                      + [8 + _CHAR * len(n) for n in notes]))

    def y(row: int) -> float:
        return top + row * _ROW + _ROW / 2

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{_ARROW}"/>'
           '</marker></defs>',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for i, note in enumerate(notes):
        out.append(f'<text x="4" y="{14 + _NOTE * i}" fill="#777">{_text(note)}</text>')
    bottom = height - _BOTTOM / 2
    for c, x in lane.items():
        name = c if len(c) <= _FITS else c[:_FITS - 1] + "~"
        out.append(f'<text x="{x}" y="{top - 24}" text-anchor="middle" font-weight="bold" '
                   f'font-size="13">{_text(name)}<title>{_text(c)}</title></text>')
        out.append(f'<line x1="{x}" y1="{top - 12}" x2="{x}" y2="{bottom}" stroke="#333"/>')
    # A crashed process's lane, until the node starts again: dashed over white. A node
    # already down when the view begins is dashed from the top.
    down = {node: -1 for node in _down_before(records, since, sel.origin) if node in lane}
    for r, row in zip(sel.lines, sel.rows, strict=True):
        node, ev = str(r["node"]), r["ev"]
        if ev == "crash" and node not in down:
            down[node] = row
        elif ev == "start" and node in down:
            since_row = down.pop(node)
            out.append(_dead(lane[node], y(since_row) if since_row >= 0 else top - 12,
                             y(row)))
    for node, since_row in down.items():
        out.append(_dead(lane[node], y(since_row) if since_row >= 0 else top - 12, bottom))
    sent: set[str] = set()
    received: dict[str, list[int]] = {}
    for r, row in zip(sel.lines, sel.rows, strict=True):
        if r["ev"] == "send":
            sent.add(str(r.get("mid")))
        elif r["ev"] == "recv":
            received.setdefault(str(r.get("mid")), []).append(row)
    placed: set[int] = set()
    for r, row, stamp in zip(sel.lines, sel.rows, times, strict=True):
        node, ev, ry = str(r["node"]), r["ev"], y(row)
        x = lane[node]
        if row not in placed:
            placed.add(row)
            out.append(f'<text x="{left}" y="{ry + 4}" text-anchor="end" fill="#777">'
                       f'{stamp}</text>')
        tip = f"<title>{_text(json.dumps(dict(r), default=str))}</title>"
        if ev == "send":
            dst = lane.get(str(r.get("to")))
            ends = received.get(str(r.get("mid")), [])
            for end in ends if dst is not None else []:
                out.append(f'<line class="msg" x1="{x}" y1="{ry}" x2="{dst}" y2="{y(end)}" '
                           f'stroke="{_ARROW}" marker-end="url(#arrow)">{tip}</line>')
            if dst is not None and not ends:
                # Never received in view: dashed to the destination's lane, crossed out.
                my = ry + _ROW
                out.append(f'<g class="lost" stroke="{_ARROW}">{tip}<line x1="{x}" y1="{ry}" '
                           f'x2="{dst}" y2="{my}" stroke-dasharray="3,3"/>'
                           f'<path d="M{dst - 4},{my - 4} L{dst + 4},{my + 4} M{dst - 4},'
                           f'{my + 4} L{dst + 4},{my - 4}" stroke="#c0392b" '
                           f'stroke-width="2"/></g>')
            out.append(f'<circle cx="{x}" cy="{ry}" r="2" fill="{_ARROW}">{tip}</circle>')
            continue
        if ev == "recv":
            if str(r.get("mid")) not in sent:  # its send is outside the view
                src = lane.get(str(r.get("from")))
                dx = -24 if src is not None and src > x else 24
                out.append(f'<line class="incoming" x1="{x - dx}" y1="{ry - _ROW / 2}" '
                           f'x2="{x}" y2="{ry}" stroke="{_ARROW}" marker-end="url(#arrow)">'
                           f'{tip}</line>')
            continue
        text = label(r, layered=sel.layered, short=sel.short)
        if len(text) > _FITS:  # the whole line is in the tooltip
            text = text[:_FITS - 1] + "~"
        if ev == "crash":
            out.append(f'<g class="crash">{tip}<path d="M{x - 6},{ry - 6} L{x + 6},{ry + 6} '
                       f'M{x - 6},{ry + 6} L{x + 6},{ry - 6}" stroke="#c0392b" '
                       f'stroke-width="2.5"/><text x="{x + 10}" y="{ry + 4}" fill="#c0392b" '
                       f'font-weight="bold">CRASH</text></g>')
            continue
        color = {"broadcast": "#1f6f43", "deliver": "#111", "suspect": "#b9770e",
                 "restore": "#b9770e"}.get(str(ev), "#666")
        out.append(f'<g class="event">{tip}<circle cx="{x}" cy="{ry}" r="3.5" '
                   f'fill="{color}"/><text x="{x + 8}" y="{ry + 4}" fill="{color}">'
                   f'{_text(text)}</text></g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _down_before(records: list[Mapping[str, Any]], since: float | None,
                 origin: float) -> list[str]:
    """Nodes whose last start or crash before ``since`` (seconds after ``origin``) is a
    crash."""
    if since is None:
        return []
    state: dict[str, str] = {}
    for r in records:
        if (_since_origin(float(r.get("t", 0.0)), origin) < since
                and r.get("ev") in ("start", "crash")):
            state[str(r.get("node"))] = str(r["ev"])
    return [node for node, ev in state.items() if ev == "crash"]


def _dead(x: float, y1: float, y2: float) -> str:
    return (f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="white" stroke-width="3"/>'
            f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#aaa" '
            f'stroke-dasharray="4,4"/>')
