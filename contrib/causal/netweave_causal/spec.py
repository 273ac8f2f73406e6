"""The specification of causal-order broadcast (CGR Module 3.9), checked on traces.

Causal-order (regular) reliable broadcast has the properties of reliable broadcast
(validity, no duplication, no creation, agreement) and one more:

    CRB5 Causal delivery: for any message m1 that potentially caused a message m2
    (m1 -> m2), no process delivers m2 unless it has already delivered m1.

m1 -> m2 when some process broadcast m1 before m2, or delivered m1 and then broadcast
m2, or through a chain of such steps. The relation is computed from the trace alone:
the order of each process's own ``broadcast`` and ``deliver`` lines of the layer, and
message ids to connect a delivery to its broadcast. No clock field is needed, and none
would do: the vector clocks of netweave-clocks follow every link message (heartbeats,
relays, acknowledgements of other layers), a relation larger than the one causal
broadcast promises.

Theory of operation. The causal past of a broadcast is *downward closed* per origin
(whoever knows a process's k-th message knows its earlier ones), so it is a vector:
origin process -> how many of its first messages. Processes are walked in trace order,
each carrying the vector of everything in its own past; a broadcast records that vector
as the message's past; a delivery merges the message's past. A delivery at a process
that lacks part of the message's past is a violation. A delivery line that comes, in
trace order, before its broadcast (clocks of real machines differ) waits for it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from netweave.check import Event, History, Process, Violation, safety
from netweave_broadcast.spec import ReliableBroadcastSpec

__all__ = ["CausalBroadcastSpec"]


class CausalBroadcastSpec(ReliableBroadcastSpec):
    """Causal-order reliable broadcast (CGR Module 3.9)."""

    abstraction = "causal-order-broadcast"
    layers = ("causal",)

    @safety("causal delivery")
    def causal_delivery(self, h: History) -> Iterator[Violation]:
        """If m1 potentially caused m2, no process delivers m2 unless it delivered m1.

        A restarted process may skip messages broadcast before it started (it is not
        obliged to deliver them), as for FIFO order; it never reorders the others.
        """
        events = sorted([*h.broadcasts(self.layer), *h.deliveries(self.layer)],
                        key=lambda e: e.index)
        queues: dict[Process, deque[Event]] = {}
        for e in events:
            queues.setdefault(e.process, deque()).append(e)
        will_broadcast = {e.get("id") for e in events if e.ev == "broadcast"}

        past: dict[str, dict[Process, int]] = {}  # message -> its causal past
        rank: dict[str, tuple[Process, int]] = {}  # message -> (origin, 1-based number)
        sequence: dict[Process, list[Event]] = {}  # origin -> its broadcasts, in order
        knows: dict[Process, dict[Process, int]] = {}  # process -> its causal past
        delivered: dict[tuple[Process, Process], _Delivered] = {}

        def step(e: Event) -> Violation | None:
            mid, p = e.get("id"), e.process
            mine = knows.setdefault(p, {})
            if e.ev == "broadcast":
                if mid in rank:
                    return None  # a reused id: "unique ids" reports it
                seq = sequence.setdefault(p, [])
                seq.append(e)
                rank[mid] = (p, len(seq))
                past[mid] = dict(mine)
                mine[p] = len(seq)
                return None
            if mid not in rank:
                return None  # never broadcast: "no creation" reports it
            origin, k = rank[mid]
            needed = dict(past[mid])
            needed[origin] = max(needed.get(origin, 0), k - 1)
            found = _first_missing(p, needed, delivered, sequence)
            delivered.setdefault((p, origin), _Delivered()).add(k)
            for o, n in needed.items():
                if n > mine.get(o, 0):
                    mine[o] = n
            mine[origin] = max(mine.get(origin, 0), k)
            if found is None:
                return None
            cause = found
            return Violation(
                f"{p} delivered {mid} before {cause.get('id')}, which happened before it",
                (cause.record, sequence[origin][k - 1].record, e.record))

        while queues:
            progress = False
            for p in list(queues):
                queue = queues[p]
                while queue:
                    e = queue[0]
                    mid = e.get("id")
                    if e.ev == "deliver" and mid not in rank and mid in will_broadcast:
                        break  # its broadcast comes later in the trace: wait for it
                    queue.popleft()
                    progress = True
                    violation = step(e)
                    if violation is not None:
                        yield violation
                if not queue:
                    del queues[p]
            if not progress:  # deliveries waiting on each other's broadcasts
                for p in list(queues):
                    queue = queues[p]
                    e = queue.popleft()
                    will_broadcast.discard(e.get("id"))
                    queues[p] = queue
                    if not queue:
                        del queues[p]
                    break


class _Delivered:
    """The messages of one origin one process delivered: a contiguous prefix and the rest."""

    __slots__ = ("above", "upto")

    def __init__(self) -> None:
        self.upto = 0
        self.above: set[int] = set()

    def add(self, k: int) -> None:
        self.above.add(k)
        while self.upto + 1 in self.above:
            self.upto += 1
            self.above.discard(self.upto)

    def __contains__(self, k: int) -> bool:
        return k <= self.upto or k in self.above


def _first_missing(q: Process, needed: dict[Process, int],
                   delivered: dict[tuple[Process, Process], _Delivered],
                   sequence: dict[Process, list[Event]]) -> Event | None:
    """The broadcast of the first message in ``needed`` that ``q`` has not delivered."""
    for origin, n in needed.items():
        have = delivered.get((q, origin)) or _Delivered()
        for j in range(have.upto + 1, n + 1):
            if j in have:
                continue
            b = sequence[origin][j - 1]
            if q.restarted and b.t <= q.start:
                continue  # broadcast before q existed: q may skip it
            return b
    return None
