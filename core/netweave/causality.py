"""Happened-before in a trace: a vector clock for every line, from its lines alone.

Two kinds of edges order the events of a trace (Lamport's happened-before): **program
order**, the lines of one node in trace order (as :func:`netweave.trace.read_trace`
returns them: by time, a node's lines of one instant in file order), across restarts
too (a node is one lane); and **messages**, each ``send`` line before every ``recv``
line with the same ``mid``. A line's vector clock has one component per node: its own
node's counts that node's lines up to and including it (1, 2, 3...), and a ``recv``
merges (component-wise maximum) the clock of its ``send`` before counting itself. So
``a`` happened before ``b`` exactly when ``clock(b)[node(a)] >= clock(a)[node(a)]``.

Clocks are computed in causal order, not trace order, so a ``recv`` stamped before its
``send`` (clocks of real hosts drift) still merges it. A pair that would put a line
before itself (a ``recv`` that precedes, on its own node, a line its ``send`` depends
on: only a trace edited by hand does that) is left out of the clocks and listed in
:attr:`Causality.ignored`.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = ["Causality", "causality", "natural_key"]


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that puts ``n2`` before ``n10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


@attrs.frozen
class Causality:
    """The vector clocks of a trace's lines (see the module documentation)."""

    nodes: tuple[str, ...]
    """The nodes, one clock component each, in this order (``n2`` before ``n10``)."""
    node_of: tuple[int, ...]
    """For each line, the index of its node in :attr:`nodes`."""
    clocks: tuple[tuple[int, ...], ...]
    """For each line, its vector clock: one count per node of :attr:`nodes`."""
    messages: tuple[tuple[int, int], ...]
    """Every ``(send, recv)`` pair of line indices with the same ``mid``, by ``recv``."""
    ignored: tuple[tuple[int, int], ...] = ()
    """Pairs of :attr:`messages` left out of the clocks: they would close a cycle."""

    def clock(self, i: int) -> dict[str, int]:
        """Line ``i``'s clock by node name, zero components left out."""
        return {self.nodes[k]: c for k, c in enumerate(self.clocks[i]) if c}

    def seq(self, i: int) -> int:
        """Line ``i``'s position on its node, from 1: its own clock component."""
        return self.clocks[i][self.node_of[i]]

    def happened_before(self, a: int, b: int) -> bool:
        """Whether line ``a`` happened before line ``b`` (never for ``a == b``)."""
        k = self.node_of[a]
        return a != b and self.clocks[b][k] >= self.clocks[a][k]

    def concurrent(self, a: int, b: int) -> bool:
        """Whether neither of two different lines happened before the other."""
        return a != b and not self.happened_before(a, b) and not self.happened_before(b, a)


def causality(lines: Sequence[Mapping[str, Any]],
              nodes: Sequence[str] | None = None) -> Causality:
    """The vector clocks of ``lines`` (trace lines in trace order, each with a ``node``).

    :param nodes: the clock's components, in this order; default: every node of the
        lines, ``n2`` before ``n10``. It must hold every node of the lines.
    :raises KeyError: if a line's node is not in ``nodes``.
    """
    names = tuple(nodes) if nodes is not None else tuple(
        sorted({str(r["node"]) for r in lines}, key=natural_key))
    index = {name: k for k, name in enumerate(names)}
    width, count = len(names), len(lines)
    node_of = [index[str(r["node"])] for r in lines]
    prev = [-1] * count
    last: dict[int, int] = {}
    for i, k in enumerate(node_of):
        prev[i] = last.get(k, -1)
        last[k] = i
    sends: dict[str, int] = {}
    for i, r in enumerate(lines):
        if r.get("ev") == "send" and r.get("mid") is not None:
            sends.setdefault(str(r["mid"]), i)
    source = [-1] * count
    messages: list[tuple[int, int]] = []
    for i, r in enumerate(lines):
        if r.get("ev") == "recv" and r.get("mid") is not None:
            s = sends.get(str(r["mid"]), -1)
            if s >= 0:
                source[i] = s
                messages.append((s, i))
    # Kahn's algorithm over program order and message edges, earliest line first.
    after: list[list[int]] = [[] for _ in range(count)]
    waiting = [0] * count
    for i in range(count):
        for before in (prev[i], source[i]):
            if before >= 0:
                after[before].append(i)
                waiting[i] += 1
    ready = [i for i in range(count) if waiting[i] == 0]
    heapq.heapify(ready)
    clocks: list[tuple[int, ...] | None] = [None] * count
    ignored: list[tuple[int, int]] = []
    done = 0
    while done < count:
        if not ready:
            # A cycle: the earliest line whose node predecessor is done waits for a send
            # that depends on it. Leave that message out.
            i = next(j for j in range(count) if clocks[j] is None and waiting[j] == 1
                     and (prev[j] < 0 or clocks[prev[j]] is not None))
            ignored.append((source[i], i))
            after[source[i]].remove(i)
            source[i], waiting[i] = -1, 0
            heapq.heappush(ready, i)
        i = heapq.heappop(ready)
        own = clocks[prev[i]] if prev[i] >= 0 else None
        clock = list(own) if own is not None else [0] * width
        sent = clocks[source[i]] if source[i] >= 0 else None
        if sent is not None:
            clock = [max(a, b) for a, b in zip(clock, sent, strict=True)]
        clock[node_of[i]] += 1
        clocks[i] = tuple(clock)
        done += 1
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    final = tuple(c if c is not None else () for c in clocks)
    return Causality(names, tuple(node_of), final, tuple(messages), tuple(ignored))
