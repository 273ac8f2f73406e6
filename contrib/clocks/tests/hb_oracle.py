"""Ground truth for clock tests: Lamport's happened-before relation of a simulated run.

A :class:`Recorder` logs, for every process (node, incarnation), its events in order:
every trace line it writes and every link message it sends or receives, the latter
numbered by an observer registered on the node (its own link metadata field, next to
the clocks' ones). Happened-before is then plain graph reachability: process order plus
an edge from each send to its receipt. Nothing here uses the clocks under test.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any

from netweave import Node, hookimpl

Process = tuple[str, int]
FIELD = "hb-oracle"


class _Observer:
    def __init__(self, log: list[tuple[str, Any]], uids: Iterator[int]) -> None:
        self._log = log
        self._uids = uids

    @hookimpl
    def netweave_link_outgoing(self, peer: str, message: Any) -> dict[str, Any]:
        uid = next(self._uids)
        self._log.append(("send", uid))
        return {FIELD: uid}

    @hookimpl
    def netweave_link_incoming(self, peer: str, message: Any, meta: dict[str, Any]) -> None:
        self._log.append(("recv", meta[FIELD]))


class Recorder:
    """Records every process's events; use :meth:`attach` from a cluster's configure."""

    def __init__(self) -> None:
        self.logs: dict[Process, list[tuple[str, Any]]] = {}
        self._uids = itertools.count(1)

    def attach(self, node: Node) -> None:
        log = self.logs.setdefault((node.id, node.incarnation), [])
        node.tracer.sinks.append(lambda record: log.append(("line", record)))
        node.register(_Observer(log, self._uids))

    def lines(self) -> list[tuple[Process, int, dict[str, Any]]]:
        """Every trace line as (process, position in its log, record)."""
        return [(p, i, ev[1]) for p, log in self.logs.items()
                for i, ev in enumerate(log) if ev[0] == "line"]

    def happened_before(self) -> set[tuple[int, int]]:
        """Pairs (i, j) of indexes into :meth:`lines` such that line i happened before j."""
        received: dict[int, tuple[Process, int]] = {}
        for p, log in self.logs.items():
            for i, (kind, value) in enumerate(log):
                if kind == "recv":
                    received[value] = (p, i)
        lines = self.lines()
        index = {(p, i): n for n, (p, i, _) in enumerate(lines)}
        pairs: set[tuple[int, int]] = set()
        for n, (p, i, _) in enumerate(lines):
            seen: set[tuple[Process, int]] = set()
            todo = deque([(p, i + 1)])
            while todo:
                q, j = todo.popleft()
                log = self.logs[q]
                # walk q's log from j on: everything later in q is after line n
                while j < len(log) and (q, j) not in seen:
                    seen.add((q, j))
                    kind, value = log[j]
                    if kind == "line":
                        pairs.add((n, index[(q, j)]))
                    elif kind == "send" and value in received:
                        todo.append(received[value])
                    j += 1
        return pairs
