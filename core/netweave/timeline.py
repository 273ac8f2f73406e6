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

Labels: ``bcast``/``dlvr`` and the message id (prefixed with the layer when the trace
has several), ``start #<incarnation>``, ``stop``, ``CRASH``, ``suspect``/``restore`` and
the peer, a fault's kind (``partition``, ``heal``, ``loss 0.3``, ``pause``...), and for
a trace written with ``trace_messages``, each component message that crossed a link as
``-> n2 <id>`` where it left and ``<- n1 <id>`` where it arrived (the broadcast id it is
about, else its kind). Any other event shows its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import ConfigurationError

__all__ = ["MESSAGES", "label", "render_timeline"]

MESSAGES = ("about", "all", "none")
"""Which link-message lines a timeline shows: about a broadcast, all of them, none."""

_LIFECYCLE = frozenset({"start", "stop", "crash", "suspect", "restore", "fault"})
"""Lines kept when only some message ids are shown: they explain what happened to them."""


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key that puts ``n2`` before ``n10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def label(record: Mapping[str, Any], *, layered: bool = False) -> str:
    """The short text of one trace line in its node's column."""
    ev = str(record.get("ev", "?"))
    if ev in ("broadcast", "deliver"):
        text = f"{'bcast' if ev == 'broadcast' else 'dlvr'} {record.get('id', '?')}"
        return f"{record.get('layer', '?')} {text}" if layered else text
    if ev == "start":
        return f"start #{record.get('incarnation', '?')}"
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
        return f"{arrow} {peer} {what}".rstrip()
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


def render_timeline(records: Iterable[Mapping[str, Any]], *,
                    nodes: Sequence[str] | None = None, layers: Sequence[str] | None = None,
                    ids: Sequence[str] | None = None, since: float | None = None,
                    until: float | None = None, width: int = 24,
                    messages: str = "about") -> list[str]:
    """The rows of the timeline of ``records`` (trace lines, in time order).

    :param nodes: the columns, in this order; default: every node, ``n2`` before ``n10``.
        Times show milliseconds, or more places where two instants would print alike.
    :param layers: show broadcasts and deliveries of these layers only.
    :param ids: show only these messages (and the lines that explain their fate:
        starts, stops, crashes, suspicions and faults).
    :param since: drop lines before this time; ``until``: after it.
    :param width: the widest a column gets; longer labels are cut, ending in ``~``.
    :param messages: which ``send``/``recv`` lines to show, in a trace that has them
        (written with ``trace_messages``): ``"about"`` those of messages about a
        broadcast (they carry its id; not heartbeats), ``"all"`` or ``"none"``.
    :raises ConfigurationError: on a node that is not in the trace, ``width < 8`` or
        another ``messages``.
    """
    if width < 8:
        raise ConfigurationError(f"width must be at least 8, not {width}")
    if messages not in MESSAGES:
        raise ConfigurationError(f"messages must be one of {', '.join(MESSAGES)}, "
                                 f"not {messages!r}")
    lines = [r for r in records if "node" in r and "ev" in r]
    present = sorted({str(r["node"]) for r in lines}, key=_natural)
    columns = list(dict.fromkeys(nodes)) if nodes else present
    unknown = [n for n in columns if n not in present]
    if unknown:
        raise ConfigurationError(
            f"no node {', '.join(map(repr, unknown))} in the trace; its nodes: "
            f"{', '.join(present) or 'none'}")
    layered = len({r.get("layer") for r in lines if r["ev"] in ("broadcast", "deliver")}) > 1
    wanted_ids = set(ids) if ids else None
    wanted_layers = set(layers) if layers else None
    shown: list[tuple[float, str, str]] = []
    for r in lines:
        t = float(r.get("t", 0.0))
        if (since is not None and t < since) or (until is not None and t > until):
            continue
        if str(r["node"]) not in columns:
            continue
        ev = r["ev"]
        if ev in ("broadcast", "deliver"):
            if wanted_layers is not None and r.get("layer") not in wanted_layers:
                continue
            if wanted_ids is not None and r.get("id") not in wanted_ids:
                continue
        elif ev in ("send", "recv"):
            if messages == "none" or (messages == "about" and not r.get("id")):
                continue
            if wanted_ids is not None and r.get("id") not in wanted_ids:
                continue
        elif wanted_ids is not None and ev not in _LIFECYCLE:
            continue
        shown.append((t, str(r["node"]), label(r, layered=layered)))
    col = max([len(c) for c in columns] + [min(len(text), width) for _, _, text in shown] + [4])
    instants = {t for t, _, _ in shown}
    # Milliseconds, or as many more places as it takes for no two instants to print alike
    # (up to microseconds, the trace's own resolution).
    places = next((p for p in (3, 4, 5) if len({f"{t:.{p}f}" for t in instants})
                   == len(instants)), 6)
    stamp = max([len(f"{t:.{places}f}") for t in instants] + [5])
    rows = [(f"{'t':>{stamp}}  " + "  ".join(f"{c:<{col}}" for c in columns)).rstrip()]
    index = {c: i for i, c in enumerate(columns)}
    cells: list[str] = []
    row_t: float | None = None
    for t, node, text in shown:
        if len(text) > col:
            text = text[:col - 1] + "~"
        i = index[node]
        # Lines of one instant at different nodes share a row; a node's second line at
        # that instant starts a new one, so each column keeps its own order.
        if t != row_t or cells[i]:
            if row_t is not None:
                rows.append(_row(row_t, stamp, places, cells, col))
            cells, row_t = [""] * len(columns), t
        cells[i] = text
    if row_t is not None:
        rows.append(_row(row_t, stamp, places, cells, col))
    return rows


def _row(t: float, stamp: int, places: int, cells: list[str], col: int) -> str:
    return (f"{t:>{stamp}.{places}f}  " + "  ".join(f"{c:<{col}}" for c in cells)).rstrip()
