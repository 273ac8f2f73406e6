"""Checking a whole trace: every layer found in it, against the specs that apply.

Which specs judge a layer: ``start`` lines record which plugin ran each layer at that
process (their ``layers`` field, e.g. ``{"fd": "perfect-fd", "rb": "lazy-rb"}``); the
layer is judged by the specs those plugins claim. A trace without that field (written by
an older or foreign tool) is judged by the specs of the layer's default installed
provider. A layer no known spec covers is reported as unchecked, not as a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..trace import dumps_line, read_trace
from ._discovery import SpecCatalog
from ._history import History
from ._spec import PropertyResult, Spec

__all__ = ["Report", "check_history", "check_trace", "specs_for"]

ASSUMPTIONS = {("perfect-failure-detector", "strong accuracy"): (
    "the perfect failure detector's accuracy (a process was detected crashed while it was "
    "alive: the network or a process was slower than its timeout allows, and the process "
    "was not fenced)",
    "every layer that requires a perfect detector (lazy-rb, all-ack-urb, ...) may break "
    "its own properties after such a detection: judge them again with a longer timeout, "
    "or use eventually-perfect-fd with a layer made for it")}
"""Properties that are assumptions of the layers above: (abstraction, property) ->
(what broke, what follows)."""


@attrs.frozen
class Report:
    """The verdicts on one trace."""

    results: tuple[PropertyResult, ...]
    """One per property of every spec applied, by layer."""
    unchecked: tuple[str, ...] = ()
    """Layers found in the trace that no known spec covers."""
    processes: int = 0
    """Processes in the trace (a restart is a new process)."""
    lines: int = 0
    """Trace lines read."""
    end: float = 0.0
    """Time of the last line."""

    @property
    def ok(self) -> bool:
        """Whether every property holds."""
        return all(r.holds for r in self.results)

    @property
    def violated(self) -> list[PropertyResult]:
        """The properties that do not hold."""
        return [r for r in self.results if not r.holds]

    @property
    def broken_assumptions(self) -> list[tuple[PropertyResult, str, str]]:
        """Violated properties that other layers assume (a perfect detector's accuracy),
        each with what broke and what follows from it for the layers above."""
        return [(r, *ASSUMPTIONS[(r.abstraction, r.name)]) for r in self.violated
                if (r.abstraction, r.name) in ASSUMPTIONS]

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable report (``netweave check --json``)."""
        return {"ok": self.ok, "processes": self.processes, "lines": self.lines,
                "end": self.end,
                "results": [r.as_dict() for r in self.results],
                "unchecked": list(self.unchecked),
                "broken_assumptions": [
                    {"layer": r.layer, "abstraction": r.abstraction, "property": r.name,
                     "broken": what, "consequence": follows}
                    for r, what, follows in self.broken_assumptions]}

    def format(self, *, excerpts: bool = True) -> str:
        """One line per property, excerpts of the first violation indented below it."""
        out: list[str] = []
        width = max((len(r.name) for r in self.results), default=0)
        for r in self.results:
            out.append(f"{r.layer:<6} {r.spec:<38} {r.name:<{width}}  {r.summary()}")
            if excerpts and not r.holds:
                out.extend(f"         {dumps_line(dict(line))}" for line in r.examples[0].lines)
        for layer in self.unchecked:
            out.append(f"{layer:<6} (no specification installed for this layer: unchecked)")
        bad = len(self.violated)
        out.append(f"{len(self.results) - bad} of {len(self.results)} properties hold"
                   + (f", {bad} violated" if bad else ""))
        for r, what, follows in self.broken_assumptions:
            others = sorted({f"{o.layer} {o.name}" for o in self.violated if o is not r})
            out.append(f"assumption broken ({r.layer}): {what}; {follows}"
                       + (f". Violations that may follow from it: {', '.join(others)}"
                          if others else ""))
        return "\n".join(out)


def specs_for(history: History, specs: SpecCatalog) -> tuple[list[Spec], list[str]]:
    """The spec instances judging each layer of ``history``, and the unchecked layers."""
    chosen: list[Spec] = []
    unchecked: list[str] = []
    for layer in history.layers:
        ran = sorted({str(p.layers[layer]) for p in history.processes
                      if p.layers is not None and layer in p.layers})
        classes: dict[type[Spec], None] = {}
        for plugin in ran:
            classes.update(dict.fromkeys(specs.for_plugin(plugin)))
        if not classes:
            classes.update(dict.fromkeys(specs.for_layer(layer)))
        if not classes:
            unchecked.append(layer)
        chosen.extend(cls(layer) for cls in classes)
    return chosen, unchecked


def check_history(history: History, specs: SpecCatalog | Sequence[Spec] | None = None, *,
                  examples: int = 3) -> Report:
    """Judge ``history`` with the given spec instances, or with the specs that apply."""
    unchecked: list[str] = []
    if specs is None or isinstance(specs, SpecCatalog):
        instances, unchecked = specs_for(history, specs or SpecCatalog.discover())
    else:
        instances = list(specs)
    results = [r for spec in instances for r in spec.check(history, examples=examples)]
    return Report(tuple(results), tuple(unchecked), len(history.processes), len(history.events),
                  history.end)


def check_trace(trace: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
                specs: SpecCatalog | Sequence[Spec] | None = None, *,
                examples: int = 3) -> Report:
    """Check a trace: a file, a directory of ``*.jsonl`` files, or trace lines in order.

    :raises FileNotFoundError, ValueError: if the trace cannot be read
        (:class:`~netweave.check.TraceFormatError` for lines lacking required fields).
    """
    records = read_trace(trace) if isinstance(trace, str | os.PathLike) else trace
    return check_history(History.from_records(records), specs, examples=examples)
