"""Shrinking: the smallest variant of a failing scenario that still fails the same way.

Theory of operation: a failing seed of a random scenario is a counterexample, but a large
one (five nodes, twenty broadcasts, a partition, loss). Shrinking tries smaller variants
of it, each run with the *same* seed, and keeps a variant whenever the caller's test says
it still fails; it stops when no smaller variant fails or the run budget is spent. The
result is a scenario file a person can read in a minute and a timeline short enough to
follow message by message.

The variants, largest reductions first, repeated until none applies:

1. a node less, with its broadcasts and the faults that name it (it leaves partitions);
2. broadcasts less: halves, then quarters, ... then one at a time (delta debugging);
3. a fault less: a partition with its heal, a pause with its resume, a crash or a
   restart alone; a heal or a resume goes only with what it undoes, and the end of loss
   only with the loss (step 4), since a partition that never heals or a lossy quiet
   period would break what the run assumes;
4. a network trouble less: loss (with the faults that end it), duplication, reordering.

A variant never crashes a larger part of the cluster than the original did (when at most
a minority crashed, it stays a minority): majority-based algorithms assume it, and a
violation that follows from breaking an assumption is not the counterexample sought.

Everything random in a run comes from the seed, so removing a broadcast changes the
draws of everything after it: a variant may fail where its parent did not, or the
reverse. Shrinking is a search for *a* small failing scenario, not the unique smallest.
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
    current = scenario.explicit(seed, catalog=catalog) if scenario.workload else scenario
    # A trouble at probability 0 is no trouble: the file need not mention it.
    current = attrs.evolve(current, network={k: v for k, v in current.network.items()
                                             if v or k not in _TROUBLES})
    minority = _crashed(current) <= (len(current.nodes) - 1) // 2
    runs = 0

    def admissible(variant: Scenario) -> bool:
        if not variant.nodes:
            return False
        return not minority or _crashed(variant) <= (len(variant.nodes) - 1) // 2

    def still_fails(variant: Scenario, seed: int) -> bool:
        nonlocal runs
        runs += 1
        try:
            return fails(variant, seed)
        except Exception:  # a variant the plugin or the runtime refuses is not a failure
            return False
        finally:
            if progress is not None:
                progress(runs, current)

    changed = True
    while changed:
        changed = False
        for variant in _variants(current):
            if not admissible(variant):
                continue
            for candidate in range(seed, seed + seeds):
                if runs >= max_runs:
                    return Shrunk(current, seed, scenario, runs, True)
                if still_fails(variant, candidate):
                    current, seed, changed = variant, candidate, True
                    break
            if changed:
                break  # start again from the largest reductions of the smaller scenario
    return Shrunk(current, seed, scenario, runs, False)


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


def _pairs(faults: list[Fault]) -> dict[int, int]:
    """Index of each partition, one-way partition or pause -> index of what undoes it."""
    undoes: dict[int, int] = {}
    for i, fault in enumerate(faults):
        undo = _PAIRS.get(fault.kind)
        if undo is not None:
            j = next((j for j in range(i + 1, len(faults)) if faults[j].kind == undo
                      and j not in undoes.values() and _undoes(fault, faults[j])), None)
            if j is not None:
                undoes[i] = j
    return undoes


def _undoes(fault: Fault, later: Fault) -> bool:
    return fault.kind != "pause" or later.fields.get("node") == fault.fields.get("node")


def _fault_units(faults: list[Fault]) -> Iterator[set[int]]:
    """Sets of fault indices to remove together (see the module documentation)."""
    undoes = _pairs(faults)
    paired = set(undoes.values())
    for i, fault in enumerate(faults):
        if i in undoes:
            yield {i, undoes[i]}
        elif i in paired:
            continue
        elif fault.kind != "loss" or fault.fields.get("probability"):
            yield {i}  # a crash, a restart, more loss, or what undoes nothing any more


def _without_node(s: Scenario, node: str) -> Scenario:
    undoes = _pairs(s.faults)
    dropped: set[int] = set()
    faults = []
    for i, f in enumerate(s.faults):
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
            keep = fields.get("node") != node and i not in dropped
        if keep:
            faults.append(Fault(f.at, f.kind, fields))
        elif i in undoes:
            dropped.add(undoes[i])  # its heal or resume goes with it
    broadcasts: list[Broadcast] = [b for b in s.broadcasts if b.node != node]
    return attrs.evolve(s, nodes=[n for n in s.nodes if n != node], broadcasts=broadcasts,
                        faults=faults)
