"""The specification of template-broadcast: its properties as predicates over a trace.

Each property is a method marked ``@safety`` (something bad never happens: judged on the
whole trace) or ``@liveness`` (something good eventually happens: judged at the end of a
trace that ends with a quiet period). A property yields one ``Violation`` per
counterexample, with the few trace lines that show it; yielding nothing means it holds.
"""

from __future__ import annotations

from collections.abc import Iterator

from netweave.check import History, Process, Spec, Violation, liveness, safety

__all__ = ["TemplateBroadcastSpec"]


class TemplateBroadcastSpec(Spec):
    """Best-effort broadcast (CGR Module 3.1), for the ``template`` layer."""

    abstraction = "template-broadcast"
    layers = ("template",)

    @safety("no duplication")
    def no_duplication(self, h: History) -> Iterator[Violation]:
        """No message is delivered more than once by one process."""
        seen: set[tuple[Process, str]] = set()
        for d in h.deliveries(self.layer):
            key = (d.process, d.get("id"))
            if key in seen:
                yield Violation(f"{d.process} delivered {key[1]} twice", (d.record,))
            seen.add(key)

    @safety("no creation")
    def no_creation(self, h: History) -> Iterator[Violation]:
        """A process delivers m with sender s only if s broadcast m."""
        sent = {b.get("id"): b.process.node for b in h.broadcasts(self.layer)}
        for d in h.deliveries(self.layer):
            if sent.get(d.get("id")) != d.get("origin"):
                yield Violation(f"{d.process} delivered {d.get('id')} from {d.get('origin')}, "
                                f"which it never broadcast", (d.record,))

    @liveness("validity")
    def validity(self, h: History) -> Iterator[Violation]:
        """If a correct process broadcasts m, every correct process eventually delivers m."""
        got: dict[Process, set[str]] = {}
        for d in h.deliveries(self.layer):
            got.setdefault(d.process, set()).add(d.get("id"))
        for b in h.broadcasts(self.layer):
            if not b.process.correct:
                continue
            for q in h.processes:
                if h.obliged(q, b.t, self.layer) and b.get("id") not in got.get(q, set()):
                    yield Violation(f"correct {q} never delivered {b.get('id')}, broadcast "
                                    f"by correct {b.process}", (b.record,))
