"""Shrinking: a smaller variant of a failing scenario that still fails the same way.

Theory of operation: a failing seed of a random scenario is a counterexample, but a large
one (five nodes, twenty broadcasts, a partition, loss). Shrinking tries smaller variants
of it, and keeps a variant whenever the caller's test says it still fails; it stops when
no smaller variant fails or the run budget is spent. The result is a scenario file a
person can read in a minute and a timeline short enough to follow message by message.

The variants, largest reductions first, repeated until none applies:

1. a node less, with its broadcasts and the faults that name it (it leaves partitions);
2. broadcasts less: halves, then quarters, ... then one at a time (delta debugging);
3. a fault less: a partition with its heal, a pause with its resume, a crash, a restart,
   or a heal or resume that undoes nothing any more;
4. a network trouble less: loss (with the fault that ends it), duplication, reordering.

A variant keeps what the original run assumed, or it is not tried: a violation that
only follows from breaking an assumption is not the counterexample sought. If at most a
minority of the nodes crashed, so do they in the variant (majority-based algorithms
assume it); if some node never crashed, some node never crashes; if every partition was
healed and every pause resumed, they are; if loss ended before the quiet period, it
does (eventual properties are judged in a quiet, synchronous period).

Everything random in a run comes from the seed, so removing a broadcast changes the
draws of everything after it: a variant may fail where its parent did not, or the
reverse. Each variant is therefore tried with a few seeds (the current one first), and
the result names the one it fails with. Shrinking is a search for *a* small failing
scenario, not the unique smallest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs

from .._registry import Catalog
from .scenario import Broadcast, Fault, Scenario

__all__ = ["Shrunk", "shrink_scenario"]

_TROUBLES = ("loss", "duplicate", "reorder")
"""The network model's probabilities of trouble (0 by default)."""

_PAIRS = {"partition": "heal", "one-way": "heal", "pause": "resume"}
"""A fault and the one that undoes it: removed together."""


@attrs.frozen
class Shrunk:
    """The result of :func:`shrink_scenario`."""

    scenario: Scenario
    """The smallest variant found that still fails (the original when none did);
    its broadcasts are explicit, so ``scenario.to_toml()`` is a complete file."""
    seed: int
    """The seed every variant ran with."""
    original: Scenario
    """The scenario the search started from: the one given, its ``[workload]`` written out
    as explicit broadcasts (:meth:`~netweave.sim.Scenario.explicit`)."""
    runs: int
    """Variants run (the budget caps it)."""
    exhausted: bool
    """Whether the budget ran out before every variant of the result was tried."""


def shrink_scenario(scenario: Scenario, seed: int, fails: Callable[[Scenario, int], bool], *,
                    catalog: Catalog | None = None, seeds: int = 8, max_runs: int = 1000,
                    progress: Callable[[int, Scenario], None] | None = None) -> Shrunk:
    """Shrink ``scenario`` (which fails with ``seed``) to a smaller one that still fails.

    :param fails: ``fails(variant, seed)`` runs a variant (``variant.run(seed)``, or as the
        caller needs) and says whether it still fails the same way; an exception counts
        as "no".
    :param catalog: the plugins to draw the workload's layer from (default: installed).
    :param seeds: how many seeds to try each variant with: the current one first, then
        the next ones (``seed + 1``...). A variant that fails with any of them is kept,
        with that seed: more variants fail, so the result is smaller, for more runs.
    :param max_runs: the most runs (of a variant with one seed).
    :param progress: called after each run with the count so far and the smallest
        failing scenario yet.
    """
    start = scenario.explicit(seed, catalog=catalog) if scenario.workload else scenario
    # A trouble at probability 0 is no trouble: the file need not mention it.
    start = attrs.evolve(start, network={k: v for k, v in start.network.items()
                                         if v or k not in _TROUBLES})
    keep = _Assumptions.of(start)
    current, runs = start, 0

    def still_fails(variant: Scenario, seed: int) -> bool:
        nonlocal runs
        runs += 1
        try:
            return fails(variant, seed)
        except Exception:  # a variant the plugin or the runtime refuses is not a failure
            return False

    changed = True
    while changed:
        changed = False
        for variant in _variants(current):
            if not keep.hold_in(variant):
                continue
            for candidate in range(seed, seed + seeds):
                if runs >= max_runs:
                    return Shrunk(current, seed, start, runs, True)
                if still_fails(variant, candidate):
                    current, seed, changed = variant, candidate, True
                if progress is not None:
                    progress(runs, current)
                if changed:
                    break
            if changed:
                break  # start again from the largest reductions of the smaller scenario
    return Shrunk(current, seed, start, runs, False)


@attrs.frozen
class _Assumptions:
    """What the original run assumed, and every variant keeps (see the module docs)."""

    minority: bool
    """At most a minority of the nodes crashed."""
    survivor: bool
    """Some node never crashed."""
    quiet_network: bool
    """Loss, if any, ended before the quiet period."""
    undone: bool
    """Every partition healed and every pause resumed."""

    @classmethod
    def of(cls, s: Scenario) -> _Assumptions:
        crashed = _crashed(s)
        return cls(crashed <= (len(s.nodes) - 1) // 2, crashed < len(s.nodes),
                   any(f.kind == "loss" and not f.fields.get("probability") for f in s.faults),
                   _undone(s.faults))

    def hold_in(self, s: Scenario) -> bool:
        crashed = _crashed(s)
        if not s.nodes or (self.minority and crashed > (len(s.nodes) - 1) // 2):
            return False
        if self.survivor and crashed >= len(s.nodes):
            return False
        if self.quiet_network and s.network.get("loss") and not any(
                f.kind == "loss" and not f.fields.get("probability") for f in s.faults):
            return False
        return not self.undone or _undone(s.faults)


def _undone(faults: list[Fault]) -> bool:
    """Whether every partition is healed and every pause resumed, later on."""
    cut = False
    paused: set[Any] = set()
    for f in faults:
        if f.kind in ("partition", "one-way"):
            cut = True
        elif f.kind == "heal":
            cut = False  # a heal removes every partition
        elif f.kind == "pause":
            paused.add(f.fields.get("node"))
        elif f.kind in ("resume", "crash", "restart"):
            paused.discard(f.fields.get("node"))  # a crashed node is no longer paused
    return not cut and not paused


def _crashed(scenario: Scenario) -> int:
    """Nodes that a crash or a restart fault hits."""
    return len({f.fields.get("node") for f in scenario.faults if f.kind in ("crash", "restart")})


def _variants(s: Scenario) -> Iterator[Scenario]:
    for node in s.nodes:
        yield _without_node(s, node)
    yield from _fewer_broadcasts(s)
    for unit in _fault_units(s.faults):
        yield attrs.evolve(s, faults=[f for i, f in enumerate(s.faults) if i not in unit])
    for knob in _TROUBLES:
        if s.network.get(knob):
            faults = s.faults if knob != "loss" else [f for f in s.faults if f.kind != "loss"]
            network = {k: v for k, v in s.network.items() if k != knob}  # 0 by default
            yield attrs.evolve(s, network=network, faults=faults)


def _fewer_broadcasts(s: Scenario) -> Iterator[Scenario]:
    count = len(s.broadcasts)
    size = max(count // 2, 1) if count else 0
    while size >= 1:
        for start in range(0, count, size):
            kept = s.broadcasts[:start] + s.broadcasts[start + size:]
            if len(kept) < count:
                yield attrs.evolve(s, broadcasts=kept)
        size //= 2


def _fault_units(faults: list[Fault]) -> Iterator[set[int]]:
    """Sets of fault indices to remove together (see the module documentation)."""
    undoes: dict[int, int] = {}  # a partition, one-way partition or pause -> its undoing
    for i, fault in enumerate(faults):
        undo = _PAIRS.get(fault.kind)
        if undo is not None:
            j = next((j for j in range(i + 1, len(faults)) if faults[j].kind == undo
                      and j not in undoes.values() and _undoes(fault, faults[j])), None)
            if j is not None:
                undoes[i] = j
    paired = set(undoes.values())
    for i, fault in enumerate(faults):
        if i in undoes:
            yield {i, undoes[i]}
        elif i in paired:
            continue
        elif fault.kind != "loss" or fault.fields.get("probability"):
            yield {i}  # a crash, a restart, more loss, or what undoes nothing any more


def _undoes(fault: Fault, later: Fault) -> bool:
    return fault.kind != "pause" or later.fields.get("node") == fault.fields.get("node")


def _without_node(s: Scenario, node: str) -> Scenario:
    faults = []
    for f in s.faults:
        fields: dict[str, Any] = dict(f.fields)
        if f.kind == "partition":
            groups = [[n for n in g if n != node] for g in fields["groups"]]
            fields["groups"] = [g for g in groups if g]
            keep = len(fields["groups"]) >= 2  # or nothing is cut off any more
        elif f.kind == "one-way":
            fields["sources"] = [n for n in fields["sources"] if n != node]
            fields["targets"] = [n for n in fields["targets"] if n != node]
            keep = bool(fields["sources"] and fields["targets"])
        else:
            keep = fields.get("node") != node  # a heal stays: a later step removes it alone
        if keep:
            faults.append(Fault(f.at, f.kind, fields))
    broadcasts: list[Broadcast] = [b for b in s.broadcasts if b.node != node]
    return attrs.evolve(s, nodes=[n for n in s.nodes if n != node], broadcasts=broadcasts,
                        faults=faults)
