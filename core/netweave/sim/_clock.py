"""Virtual time: a heap of scheduled calls, run in (time, insertion) order.

Calls due *now* (``call_soon``, a zero delay) skip the heap: they wait in a FIFO that runs
before the clock looks at the heap again, so a node's "after this step" work, such as
coalesced acknowledgements, costs no heap push and pop. Both kinds count as events.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

__all__ = ["Scheduled", "VirtualClock"]

_Entry = tuple[float, int, "Scheduled | None", Callable[..., Any], tuple[Any, ...]]


class Scheduled:
    """A scheduled call; ``cancel()`` keeps it from running."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run this call."""
        self.cancelled = True


class VirtualClock:
    """Deterministic discrete-event loop: nothing runs concurrently, time jumps."""

    __slots__ = ("_heap", "_seq", "_soon", "events", "now")

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[_Entry] = []
        self._soon: deque[tuple[Scheduled | None, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._seq = 0
        self.events = 0
        """How many scheduled calls have run."""

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any,
                handle: Scheduled | None = None) -> Scheduled | None:
        """Run ``fn(*args)`` at virtual time ``when`` (never before now)."""
        self._seq += 1
        now = self.now
        # Times are floats in both builds: a compiled clock stores a C double, so an
        # integer time here would be traced as 1 in one build and 1.0 in the other.
        when = float(when)
        heappush(self._heap, (when if when > now else now, self._seq, handle, fn, args))
        return handle

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` ``delay`` (>= 0) seconds from now; cannot be cancelled."""
        self._seq += 1
        heappush(self._heap, (self.now + delay, self._seq, None, fn, args))

    def call_soon(self, fn: Callable[..., Any], *args: Any,
                  handle: Scheduled | None = None) -> Scheduled | None:
        """Run ``fn(*args)`` at the current time, before anything else still scheduled."""
        self._soon.append((handle, fn, args))
        return handle

    def run(self, until: float, max_events: int | None = None) -> None:
        """Run every call scheduled up to ``until``; then set the time to ``until``."""
        heap = self._heap
        soon = self._soon
        pop = heappop
        next_soon = soon.popleft
        limit = (self.events + max_events) if max_events is not None else -1
        events = self.events
        exceeded = False
        try:
            while True:
                # Peek first: the call that would exceed the budget stays scheduled.
                if soon:
                    handle, fn, args = soon[0]
                    if handle is not None and handle.cancelled:
                        next_soon()
                        continue
                    if events == limit:
                        exceeded = True
                        break
                    next_soon()
                elif heap and heap[0][0] <= until:
                    when, _, handle, fn, args = heap[0]
                    if handle is not None and handle.cancelled:
                        pop(heap)
                        continue
                    if events == limit:
                        exceeded = True
                        break
                    pop(heap)
                    self.now = when
                else:
                    break
                events += 1
                fn(*args)
        finally:
            self.events = events
        if exceeded:
            raise RuntimeError(f"simulation exceeded {max_events} events before t={until}")
        if until > self.now:
            self.now = float(until)

    @property
    def pending(self) -> int:
        """Calls still scheduled (including cancelled ones not yet popped)."""
        return len(self._heap) + len(self._soon)
