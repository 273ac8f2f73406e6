"""Hand-written traces for the checker's tests: a tiny language for trace lines, and a
specification that counts lines.

Shared by the tests of :mod:`netweave.check` (``tests/core/check/``): histories,
specifications, spec discovery and reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from netweave.check import History, Spec, Violation, liveness, safety

Record = dict[str, Any]


# -- a tiny language for traces ----------------------------------------------------------


def start(t: float, node: str, inc: int = 1, **layers: str) -> Record:
    r: Record = {"t": t, "node": node, "ev": "start", "incarnation": inc}
    if layers:
        r["layers"] = layers
    return r


def crash(t: float, node: str) -> Record:
    return {"t": t, "node": node, "ev": "crash"}


def stop(t: float, node: str) -> Record:
    return {"t": t, "node": node, "ev": "stop"}


def bc(t: float, node: str, mid: str, layer: str = "rb") -> Record:
    return {"t": t, "node": node, "ev": "broadcast", "layer": layer, "id": mid, "origin": node}


def dl(t: float, node: str, mid: str, layer: str = "rb", origin: str | None = None) -> Record:
    return {"t": t, "node": node, "ev": "deliver", "layer": layer, "id": mid,
            "origin": origin or mid.split("/")[0]}


def sus(t: float, node: str, peer: str) -> Record:
    return {"t": t, "node": node, "ev": "suspect", "layer": "fd", "peer": peer}


def res(t: float, node: str, peer: str) -> Record:
    return {"t": t, "node": node, "ev": "restore", "layer": "fd", "peer": peer}


def starts(*nodes: str) -> list[Record]:
    return [start(0.0, n) for n in nodes]


# -- a specification that counts ----------------------------------------------------------


class Counting(Spec):
    """Layer ``t``: every line violates "never", and "always" holds."""

    abstraction = "test"
    layers = ("t",)

    @safety("never")
    def never(self, h: History) -> Iterator[Violation]:
        """Nothing may happen."""
        for e in h.events:
            yield Violation(f"line {e.index}", (e.record,))

    @liveness("always")
    def always(self, h: History) -> Iterator[Violation]:
        """Everything is fine."""
        return iter(())
