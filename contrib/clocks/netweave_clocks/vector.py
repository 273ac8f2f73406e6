"""Vector clocks (Fidge 1988, Mattern 1989): a happened before b iff VC(a) < VC(b).

    upon <Init>:                     V := [0]^N
    upon <pl, Send | q, m>:          V[self] := V[self] + 1; m carries V
    upon <pl, Deliver | p, m>:       forall members q: V[q] := max(V[q], W[q]), where W
                                         is the vector m carries (an entry it lacks, or
                                         that is not a natural number, counts as 0)
                                     V[self] := V[self] + 1
    upon <Trace | line>:             if line records a send or a receive: line.vc := V
                                     else: V[self] := V[self] + 1; line.vc := V
    upon <Tick>:                     V[self] := V[self] + 1; return V

    V <= W  iff  V[q] <= W[q] for every q;   V < W  iff  V <= W and not W <= V

Theory of operation. Every node keeps one counter per cluster member: entry ``q`` is
the number of ``q``'s events this node knows of (its own included). The events are the
same as for :mod:`netweave_clocks.lamport`: every link message sent to another node or
received from one, every trace line written (the ``send`` and ``recv`` lines excepted:
they record those link events, and show their vector), and every local event an
application marks (:meth:`VectorClock.tick`).

- before each event the node increments its own entry;
- each link message carries its sender's whole vector (``"vc"`` beside the message);
- on receipt the node takes the entry-wise maximum of both vectors, then increments
  its own entry.

``VC(a) <= VC(b)`` compares entry by entry; ``VC(a) < VC(b)`` when also different.
Unlike Lamport time, vector time also gives the converse: two events whose vectors are
incomparable are *concurrent*, neither could have influenced the other.

Entries are keyed by node id, the textbook's crash-stop processes. A restarted node
starts a fresh vector: the clock condition (a before b implies VC(a) < VC(b)) still
holds across restarts, but an event of the new incarnation may compare as later than
an unrelated event of the old one.

Remote vectors are checked before merging: only members' entries, only non-negative
integers; anything else is ignored and counted, never raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netweave import Component, Context, hookimpl

from .lamport import MESSAGE_LINES

__all__ = ["VectorClock", "concurrent", "happened_before", "leq", "merge"]

FIELD = "vc"
"""The name of the vector both on the wire (beside each message) and in trace lines."""

Vector = Mapping[str, int]
"""Vector time: node id -> count. A missing entry counts as 0."""


def leq(a: Vector, b: Vector) -> bool:
    """Whether ``a <= b`` entry by entry (every event ``a`` knows of, ``b`` knows too)."""
    return all(count <= b.get(node, 0) for node, count in a.items())


def happened_before(a: Vector, b: Vector) -> bool:
    """Whether the event stamped ``a`` happened before the event stamped ``b``."""
    return leq(a, b) and not leq(b, a)


def concurrent(a: Vector, b: Vector) -> bool:
    """Whether neither event happened before the other (and they are distinct)."""
    return not leq(a, b) and not leq(b, a)


def merge(a: Vector, b: Vector) -> dict[str, int]:
    """The entry-wise maximum of two vectors."""
    out = dict(a)
    for node, count in b.items():
        if count > out.get(node, 0):
            out[node] = count
    return out


class VectorClock(Component):
    """A vector clock that stamps every link message of its node."""

    name = "vector-clock"
    provides = ("vector-clock",)

    def __init__(self, ctx: Context, options: Any) -> None:
        super().__init__(ctx, options)
        self._vector: dict[str, int] = {}
        self.malformed = 0
        """Received vectors, or entries of them, that were not acceptable (ignored)."""
        ctx.annotate_trace(self._stamp_trace_line)

    @property
    def time(self) -> dict[str, int]:
        """A copy of the current vector, one entry per member, in member order."""
        return {node: self._vector.get(node, 0) for node in self.ctx.members}

    def tick(self) -> dict[str, int]:
        """Count one local event (an application may mark its own); returns its vector."""
        me = self.ctx.node_id
        self._vector[me] = self._vector.get(me, 0) + 1
        return self.time

    # The comparisons, for components that reach the clock through ``ctx.component``.
    leq = staticmethod(leq)
    happened_before = staticmethod(happened_before)
    concurrent = staticmethod(concurrent)
    merge = staticmethod(merge)

    @hookimpl
    def netweave_link_outgoing(self, peer: str, message: Any) -> dict[str, Any]:
        """A send is an event: tick, and let the message carry the whole vector."""
        return {FIELD: self.tick()}

    @hookimpl
    def netweave_link_incoming(self, peer: str, message: Any, meta: dict[str, Any]) -> None:
        """A receive is an event after its send: merge the sender's vector, then tick."""
        stamp = meta.get(FIELD)
        if isinstance(stamp, dict):
            members = self.ctx.members
            for node, count in stamp.items():
                if node in members and type(count) is int and count >= 0:
                    if count > self._vector.get(node, 0):
                        self._vector[node] = count
                else:
                    self.malformed += 1
        else:
            self.malformed += 1
        self.tick()

    def _stamp_trace_line(self, record: dict[str, Any]) -> None:
        # A node's send and recv lines (``trace_messages``) record the send and receive
        # events the link hooks above already counted: they show that time, and tick
        # nothing, so tracing messages changes no clock value.
        record[FIELD] = self.time if record.get("ev") in MESSAGE_LINES else self.tick()
