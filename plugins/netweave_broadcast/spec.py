"""Specifications of the broadcast abstractions (CGR modules 3.1, 3.2, 3.3 and 3.8).

Each property is a predicate over a :class:`~netweave.check.History`, judging the
``broadcast`` and ``deliver`` lines of one layer. Processes are ``(node, incarnation)``;
"correct" means the process did not crash; which messages a correct process must
deliver (restarts, late starts, clean stops) is decided by
:meth:`History.obliged <netweave.check.History.obliged>`. Liveness properties are judged
at the end of the trace, which must end with a quiet period.

Beside the textbook's properties every broadcast spec checks *unique ids*: the trace
format promises that a message id names one broadcast, and every other property relies
on it (a restarted node reusing its sequence numbers breaks it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from netweave.check import Event, History, Process, Spec, Violation, liveness, safety

__all__ = [
    "BestEffortBroadcastSpec",
    "BroadcastSafetySpec",
    "FifoBroadcastSpec",
    "ReliableBroadcastSpec",
    "UniformReliableBroadcastSpec",
]


class BroadcastSafetySpec(Spec):
    """The safety properties every broadcast abstraction shares."""

    @safety("unique ids")
    def unique_ids(self, h: History) -> Iterator[Violation]:
        """Each message id is broadcast once."""
        first: dict[str, Event] = {}
        for b in h.broadcasts(self.layer):
            mid = b.get("id")
            if mid in first:
                yield Violation(f"{b.process} broadcast {mid}, already broadcast by "
                                f"{first[mid].process}", (first[mid].record, b.record))
            else:
                first[mid] = b

    @safety("no duplication")
    def no_duplication(self, h: History) -> Iterator[Violation]:
        """No message is delivered more than once (by one process)."""
        seen: dict[tuple[Process, str], Event] = {}
        for d in h.deliveries(self.layer):
            key = (d.process, d.get("id"))
            if key in seen:
                yield Violation(f"{d.process} delivered {key[1]} twice",
                                (seen[key].record, d.record))
            else:
                seen[key] = d

    @safety("no creation")
    def no_creation(self, h: History) -> Iterator[Violation]:
        """If a process delivers m with sender s, then m was previously broadcast by s."""
        sent = _broadcast_index(h, self.layer)
        for d in h.deliveries(self.layer):
            mid, origin = d.get("id"), d.get("origin")
            b = sent.get(mid)
            if b is None:
                yield Violation(f"{d.process} delivered {mid} from {origin}, which no "
                                f"process broadcast on {self.layer}", (d.record,))
            elif b.process.node != origin:
                yield Violation(f"{d.process} delivered {mid} from {origin}, but "
                                f"{b.process} broadcast it", (b.record, d.record))
            elif b.index > d.index:
                yield Violation(f"{d.process} delivered {mid} before {b.process} broadcast it",
                                (d.record, b.record))


class BestEffortBroadcastSpec(BroadcastSafetySpec):
    """Best-effort broadcast (CGR module 3.1)."""

    abstraction = "best-effort-broadcast"
    layers = ("beb",)

    @liveness("validity")
    def validity(self, h: History) -> Iterator[Violation]:
        """If a correct process broadcasts m, every correct process eventually delivers m."""
        got = _delivered(h, self.layer)
        for b in _first_broadcasts(h, self.layer):
            if b.process.correct:
                yield from _missing(h, self.layer, got, b.get("id"), b.t, b.record,
                                    f"broadcast by correct {b.process}")


class ReliableBroadcastSpec(BroadcastSafetySpec):
    """(Regular) reliable broadcast (CGR module 3.2)."""

    abstraction = "reliable-broadcast"
    layers = ("rb",)

    @liveness("validity")
    def validity(self, h: History) -> Iterator[Violation]:
        """If a correct process p broadcasts m, then p eventually delivers m."""
        yield from _self_validity(h, self.layer)

    @liveness("agreement")
    def agreement(self, h: History) -> Iterator[Violation]:
        """If a correct process delivers m, every correct process eventually delivers m."""
        yield from _agreement(h, self.layer, uniform=False)


class UniformReliableBroadcastSpec(BroadcastSafetySpec):
    """Uniform reliable broadcast (CGR module 3.3)."""

    abstraction = "uniform-reliable-broadcast"
    layers = ("urb",)

    @liveness("validity")
    def validity(self, h: History) -> Iterator[Violation]:
        """If a correct process p broadcasts m, then p eventually delivers m."""
        yield from _self_validity(h, self.layer)

    @liveness("uniform agreement")
    def uniform_agreement(self, h: History) -> Iterator[Violation]:
        """If any process delivers m, crashed or not, every correct process delivers m."""
        yield from _agreement(h, self.layer, uniform=True)


class FifoBroadcastSpec(ReliableBroadcastSpec):
    """FIFO-order (regular) reliable broadcast (CGR module 3.8)."""

    abstraction = "fifo-reliable-broadcast"
    layers = ("fifo",)

    @safety("fifo delivery")
    def fifo_delivery(self, h: History) -> Iterator[Violation]:
        """If a process broadcasts m1 before m2, no correct process delivers m2 before m1.

        Per origin process: a restarted origin starts a new sequence. A restarted
        deliverer may skip messages broadcast before it started (it is not obliged to
        deliver them), but never reorders the others.
        """
        order: dict[str, tuple[Process, int]] = {}
        sequences: dict[Process, list[Event]] = {}
        for b in _first_broadcasts(h, self.layer):
            seq = sequences.setdefault(b.process, [])
            order[b.get("id")] = (b.process, len(seq))
            seq.append(b)
        done: dict[tuple[Process, Process], set[int]] = {}
        # First rank each process still owes each origin: delivering above it is a gap.
        owed: dict[tuple[Process, Process], int] = {}
        for d in h.deliveries(self.layer):
            q = d.process
            known = order.get(d.get("id"))
            if not q.correct or known is None:
                continue
            origin, rank = known
            seq = sequences[origin]
            mine = done.setdefault((q, origin), set())
            mine.add(rank)
            first = owed.get((q, origin), 0)
            while first < len(seq) and (first in mine
                                        or not h.obliged(q, seq[first].t, self.layer)):
                first += 1
            if first < rank:
                yield Violation(
                    f"{q} delivered {d.get('id')} before {seq[first].get('id')}, "
                    f"which {origin} broadcast earlier",
                    (seq[first].record, seq[rank].record, d.record))
                mine.update(range(first, rank))  # one report per gap
                while first < len(seq) and first in mine:
                    first += 1
            owed[(q, origin)] = first


# -- helpers shared by the specs (and by specs of contrib abstractions) -----------------


def _first_broadcasts(h: History, layer: str) -> Iterator[Event]:
    seen: set[str] = set()
    for b in h.broadcasts(layer):
        if b.get("id") not in seen:
            seen.add(b.get("id"))
            yield b


def _broadcast_index(h: History, layer: str) -> dict[str, Event]:
    return {b.get("id"): b for b in _first_broadcasts(h, layer)}


def _delivered(h: History, layer: str) -> dict[Process, set[str]]:
    got: dict[Process, set[str]] = {}
    for d in h.deliveries(layer):
        got.setdefault(d.process, set()).add(d.get("id"))
    return got


def _missing(h: History, layer: str, got: dict[Process, set[str]], mid: str, born: float,
             cause: Mapping[str, Any], why: str) -> Iterator[Violation]:
    for q in h.processes:
        if h.obliged(q, born, layer) and mid not in got.get(q, ()):
            yield Violation(f"correct {q} never delivered {mid}, {why}",
                            (cause, q.start_line, q.end_line))


def _self_validity(h: History, layer: str) -> Iterator[Violation]:
    got = _delivered(h, layer)
    for b in _first_broadcasts(h, layer):
        p = b.process
        if h.obliged(p, b.t, layer) and b.get("id") not in got.get(p, ()):
            yield Violation(f"correct {p} broadcast {b.get('id')} and never delivered it",
                            (b.record, p.end_line))


def _agreement(h: History, layer: str, *, uniform: bool) -> Iterator[Violation]:
    got = _delivered(h, layer)
    sent = _broadcast_index(h, layer)
    first: dict[str, Event] = {}
    for d in h.deliveries(layer):
        first.setdefault(d.get("id"), d)
    reported: set[str] = set()
    for d in h.deliveries(layer):
        mid = d.get("id")
        if mid in reported or not (uniform or d.process.correct):
            continue
        reported.add(mid)
        b = sent.get(mid)
        born = b.t if b is not None else first[mid].t
        who = "" if d.process.correct else "crashed "
        yield from _missing(h, layer, got, mid, born, d.record,
                            f"delivered by {who}{d.process}")
