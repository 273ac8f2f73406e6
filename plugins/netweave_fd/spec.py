"""Specifications of the failure detectors (CGR modules 2.6 and 2.8).

The properties judge the ``suspect`` and ``restore`` lines of one layer (``fd``). Which
detector ran is recorded by the ``start`` lines (``"layers": {"fd": "perfect-fd"}``), so
a trace is judged by the spec of the detector it ran: a perfect detector must never be
wrong, an eventually perfect one must only stop being wrong.

Suspicions name nodes, not processes, so restarts are counted this way:

- a ``suspect`` line of ``p`` at an observer holds until a ``restore`` line of ``p``
  at that observer; a new observer process starts suspecting nobody;
- *completeness* concerns the nodes whose last process crashed: a process superseded by
  a restart is not required to be detected (its successor replaces it);
- a detection of ``p`` is accurate if some process of ``p`` crashed before it (a
  detection of the old process may come after ``p`` restarted), and a detector must
  withdraw (``restore``) its detection once it learns of ``p``'s new process: a correct
  process still suspected at the end of the trace is a violation of accuracy;
- nodes with no line at all in the trace (never started, or untraced) are not judged.

The end-of-trace judgements assume the trace ends with a quiet period longer than the
detectors' timeouts.
"""

from __future__ import annotations

from collections.abc import Iterator

from netweave.check import Event, History, Process, Spec, Violation, liveness, safety

__all__ = ["EventuallyPerfectFailureDetectorSpec", "PerfectFailureDetectorSpec"]


class _FailureDetectorSpec(Spec):
    layers = ("fd",)

    @liveness("strong completeness")
    def strong_completeness(self, h: History) -> Iterator[Violation]:
        """Eventually every process that crashes is permanently suspected by every
        correct process."""
        final = _final_state(h, self.layer)
        for node in h.nodes:
            p = h.last_process(node)
            if not p.crashed or p.end is None:
                continue
            for q in h.observers(self.layer):
                if q.node == node or (q.stopped and q.end is not None and q.end < p.end):
                    continue
                last = final.get((q, node))
                if last is None or last.ev != "suspect":
                    state = "restored it" if last is not None else "never suspected it"
                    yield Violation(f"correct {q} does not suspect crashed {p} at the end "
                                    f"({state})",
                                    (p.end_line, q.start_line,
                                     last.record if last is not None else None))


class PerfectFailureDetectorSpec(_FailureDetectorSpec):
    """Perfect failure detector P (CGR module 2.6): detections are never wrong."""

    abstraction = "perfect-failure-detector"

    @safety("strong accuracy")
    def strong_accuracy(self, h: History) -> Iterator[Violation]:
        """If a process p is detected by any process, then p has crashed.

        A process that was *fenced* (its trace ends with ``crash`` and ``reason:
        fenced``: its peers refused it once it was detected, and it ended when it learnt
        so) counts as crashed from its first detection: fencing is what makes the
        detection true when the process was only paused or slow. So its own detections
        made after that moment are a crashed process's, and do not count either.
        """
        fenced_from = _fenced_from(h, self.layer)
        for e in h.fd_events(self.layer):
            peer = e.get("peer")
            if e.ev == "suspect" and peer in h.by_node and not h.crashed_by(peer, e.t):
                alive = _process_at(h, peer, e.t)
                if alive is not None and alive in fenced_from:
                    continue
                since = fenced_from.get(e.process)
                if since is not None and e.t >= since:
                    continue
                yield Violation(f"{e.process} detected {alive or peer}, which had not crashed",
                                (alive.start_line if alive else None, e.record))
        yield from _still_suspected(h, self.layer)


class EventuallyPerfectFailureDetectorSpec(_FailureDetectorSpec):
    """Eventually perfect failure detector ◇P (CGR module 2.8): wrong only for a while."""

    abstraction = "eventually-perfect-failure-detector"

    @liveness("eventual strong accuracy")
    def eventual_strong_accuracy(self, h: History) -> Iterator[Violation]:
        """Eventually no correct process is suspected by any correct process."""
        yield from _still_suspected(h, self.layer)


def _final_state(h: History, layer: str) -> dict[tuple[Process, str], Event]:
    """The last ``suspect`` or ``restore`` line of each observer process about each node."""
    final: dict[tuple[Process, str], Event] = {}
    for e in h.fd_events(layer):
        final[(e.process, e.get("peer"))] = e
    return final


def _still_suspected(h: History, layer: str) -> Iterator[Violation]:
    for (q, node), last in _final_state(h, layer).items():
        if last.ev != "suspect" or not q.correct or node not in h.by_node:
            continue
        p = h.last_process(node)
        if p.correct:
            yield Violation(f"correct {q} still suspects {node} at the end, and {p} is correct",
                            (p.start_line, last.record), final=True)


def _fenced_from(h: History, layer: str) -> dict[Process, float]:
    """Each fenced process, with the time it was first detected (from then on it counts as
    crashed)."""
    first: dict[Process, float] = {}
    for e in h.fd_events(layer):
        peer = e.get("peer")
        if e.ev != "suspect" or peer not in h.by_node:
            continue
        p = _process_at(h, peer, e.t)
        if p is not None and p.crashed and p.end_line is not None \
                and p.end_line.get("reason") == "fenced" and p not in first:
            first[p] = e.t
    return first


def _process_at(h: History, node: str, t: float) -> Process | None:
    """The process of ``node`` current at time ``t``."""
    found = None
    for p in h.by_node.get(node, ()):
        if p.start <= t:
            found = p
    return found
