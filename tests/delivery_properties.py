"""Broadcast properties judged directly on a simulated trace (independent of netweave.check).

A *process* is one incarnation of a node: ``(node, incarnation)``. A process is correct
when it is the node's last incarnation and no ``crash`` follows its start. A restarted
process (incarnation > 1) is a newcomer: it owes only the messages broadcast after it
started. Each function returns a list of human-readable violations (empty when the
property holds).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

Record = dict[str, Any]
Process = tuple[str, int]


def processes(trace: list[Record]) -> tuple[list[Process], set[Process]]:
    """All processes in start order, and the correct ones."""
    order: list[Process] = []
    current: dict[str, Process] = {}
    crashed: set[Process] = set()
    for r in trace:
        if r["ev"] == "start":
            current[r["node"]] = (r["node"], r["incarnation"])
            order.append(current[r["node"]])
        elif r["ev"] == "crash" and r["node"] in current:
            crashed.add(current[r["node"]])
    correct = {p for p in current.values() if p not in crashed}
    return order, correct


def _annotated(trace: list[Record]) -> list[tuple[Process, Record]]:
    current: dict[str, Process] = {}
    out = []
    for r in trace:
        if r["ev"] == "start":
            current[r["node"]] = (r["node"], r["incarnation"])
        elif r["node"] in current:
            out.append((current[r["node"]], r))
    return out


def broadcasts(trace: list[Record], layer: str) -> dict[str, Process]:
    """Message id -> the process that broadcast it."""
    return {r["id"]: p for p, r in _annotated(trace)
            if r["ev"] == "broadcast" and r["layer"] == layer}


def deliveries(trace: list[Record], layer: str) -> dict[Process, list[str]]:
    """Process -> message ids it delivered, in order."""
    out: dict[Process, list[str]] = defaultdict(list)
    for p, r in _annotated(trace):
        if r["ev"] == "deliver" and r["layer"] == layer:
            out[p].append(r["id"])
    return out


def no_duplication(trace: list[Record], layer: str) -> list[str]:
    """No process delivers a message more than once."""
    bad = []
    for p, ids in deliveries(trace, layer).items():
        seen: set[str] = set()
        for mid in ids:
            if mid in seen:
                bad.append(f"{p} delivered {mid} twice")
            seen.add(mid)
    return bad


def no_creation(trace: list[Record], layer: str) -> list[str]:
    """Every delivered message was broadcast, by the origin it is delivered with."""
    sent = broadcasts(trace, layer)
    bad = []
    for p, r in _annotated(trace):
        if r["ev"] == "deliver" and r["layer"] == layer:
            src = sent.get(r["id"])
            if src is None or src[0] != r["origin"]:
                bad.append(f"{p} delivered {r['id']} from {r['origin']}, never broadcast so")
    return bad


def _obliged(trace: list[Record], layer: str) -> dict[str, list[Process]]:
    """Message id -> the correct processes that must deliver it."""
    _, correct = processes(trace)
    started = {(r["node"], r["incarnation"]): r["t"] for r in trace if r["ev"] == "start"}
    sent_at = {r["id"]: r["t"] for r in trace if r["ev"] == "broadcast" and r["layer"] == layer}
    return {mid: [q for q in sorted(correct) if q[1] == 1 or started[q] <= t]
            for mid, t in sent_at.items()}


def validity(trace: list[Record], layer: str) -> list[str]:
    """Every message broadcast by a correct process is delivered by every correct one."""
    _, correct = processes(trace)
    got = deliveries(trace, layer)
    owed = _obliged(trace, layer)
    bad = []
    for mid, src in broadcasts(trace, layer).items():
        if src in correct:
            bad += [f"{q} never delivered {mid} of correct {src}"
                    for q in owed[mid] if mid not in got.get(q, ())]
    return bad


def agreement(trace: list[Record], layer: str, *, uniform: bool = False) -> list[str]:
    """If a correct (any, when ``uniform``) process delivers m, every correct one does."""
    _, correct = processes(trace)
    got = {p: set(ids) for p, ids in deliveries(trace, layer).items()}
    owed = _obliged(trace, layer)
    witnesses = [p for p in got if uniform or p in correct]
    bad = []
    for mid in sorted({m for p in witnesses for m in got[p]}):
        missing = [q for q in owed.get(mid, []) if mid not in got.get(q, set())]
        if missing:
            who = [p for p in witnesses if mid in got[p]]
            bad.append(f"{mid} delivered by {who} but not by {missing}")
    return bad


def fifo_order(trace: list[Record], layer: str) -> list[str]:
    """No process delivers m2 of an origin unless it delivered every m1 broadcast before.

    A restarted process may skip the messages broadcast before it started (it owes them
    nothing), but must not reorder the others.
    """
    order: dict[Process, list[str]] = defaultdict(list)
    for mid, src in broadcasts(trace, layer).items():
        order[src].append(mid)
    rank = {mid: (src, i) for src, ids in order.items() for i, mid in enumerate(ids)}
    started = {(r["node"], r["incarnation"]): r["t"] for r in trace if r["ev"] == "start"}
    sent_at = {r["id"]: r["t"] for r in trace if r["ev"] == "broadcast" and r["layer"] == layer}
    bad = []
    for p, ids in deliveries(trace, layer).items():
        done: set[str] = set()
        for mid in ids:
            src, i = rank[mid]
            skipped = [m for m in order[src][:i] if m not in done
                       and (p[1] == 1 or started[p] <= sent_at[m])]
            if skipped:
                bad.append(f"{p} delivered {mid} (#{i + 1} of {src}) before {skipped[0]}")
                break
            done.add(mid)
    return bad


def reliable(trace: list[Record], layer: str, *, uniform: bool = False) -> list[str]:
    """Validity, no duplication, no creation and (uniform) agreement together."""
    return (no_duplication(trace, layer) + no_creation(trace, layer)
            + validity(trace, layer) + agreement(trace, layer, uniform=uniform))


def random_run(use: list[str], seed: int, *, nodes: int = 5, messages: int = 20,
               max_crash: int = 2, loss: float = 0.05, restart: bool = False,
               **kw: Any) -> Any:
    """Run the built-in random scenario with a fault mix drawn from ``seed``.

    Crashes (0..``max_crash``), loss, duplication, reordering and a healed partition vary
    with the seed, so a few hundred seeds cover every combination. With ``restart``, one
    seed in three restarts its crashed nodes (new incarnations) a little later. One seed
    in ten passes every link message through the msgpack codec, as a real network would.
    """
    from netweave.sim import Fault, Scenario

    scenario = Scenario.random(
        nodes=nodes, seed=seed, use=use, messages=messages, crash=seed % (max_crash + 1),
        loss=loss if seed % 4 else 0.0, duplicate=0.05 if seed % 3 else 0.0,
        reorder=0.2 if seed % 5 else 0.0, partition=seed % 2 == 0, **kw)
    if restart and seed % 3 == 1:
        for f in [f for f in scenario.faults if f.kind == "crash"]:
            scenario.faults.append(Fault(f.at + 0.5 + seed % 7 / 2, "restart", f.fields))
    return scenario.run(seed, encode=seed % 10 == 0)
