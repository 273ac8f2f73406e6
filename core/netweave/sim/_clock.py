"""Virtual time: a heap of scheduled calls, run in (time, insertion) order.

Time is counted in whole microseconds (:attr:`VirtualClock.now_us`): a time given in
seconds is rounded up to the next microsecond when it is scheduled (see
:func:`netweave._vtime.to_us`; a call is never early), so two calls due in one microsecond
run in the order they were scheduled, and adding delays never accumulates a rounding
error. :attr:`VirtualClock.now` is the same time in seconds (``now_us / 1e6``), what
components read.

Calls due *now* (``call_soon``, a zero delay) skip the heap: they wait in a FIFO that runs
before the clock looks at the heap again, so a node's "after this step" work, such as
coalesced acknowledgements, costs no heap push and pop. Both kinds count as events.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

from .._vtime import US, delay_us, to_us

__all__ = ["Scheduled", "VirtualClock"]

_Entry = tuple[int, int, "Scheduled | None", Callable[..., Any], tuple[Any, ...]]


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

    __slots__ = ("_heap", "_seq", "_soon", "events", "now", "now_us")

    def __init__(self) -> None:
        self.now_us = 0
        """Virtual time in microseconds."""
        self.now = 0.0
        """The same in seconds."""
        self._heap: list[_Entry] = []
        self._soon: deque[tuple[Scheduled | None, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._seq = 0
        self.events = 0
        """How many scheduled calls have run."""

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any,
                handle: Scheduled | None = None) -> Scheduled | None:
        """Run ``fn(*args)`` at virtual time ``when`` (never before now)."""
        self._seq += 1
        now = self.now_us
        at = to_us(when)
        if at <= now:
            # Not before now; and a time after now, by however little, is a microsecond
            # later (a component waiting for it would otherwise be called again at once,
            # see it still ahead, and ask again, for ever).
            at = now + 1 if when > self.now else now
        heappush(self._heap, (at, self._seq, handle, fn, args))
        return handle

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` ``delay`` (>= 0) seconds from now; cannot be cancelled."""
        self._seq += 1
        heappush(self._heap, (self.now_us + delay_us(delay), self._seq, None, fn, args))

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
        last = to_us(until)
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
                elif heap and heap[0][0] <= last:
                    when, _, handle, fn, args = heap[0]
                    if handle is not None and handle.cancelled:
                        pop(heap)
                        continue
                    if events == limit:
                        exceeded = True
                        break
                    pop(heap)
                    self.now_us = when
                    # Times are floats in both builds (a compiled clock stores a C
                    # double): an integer would be traced as 1 in one, 1.0 in the other.
                    self.now = when / US
                else:
                    break
                events += 1
                fn(*args)
        finally:
            self.events = events
        if exceeded:
            raise RuntimeError(f"simulation exceeded {max_events} events before t={until}")
        if last > self.now_us:
            self.now_us = last
            self.now = last / US

    @property
    def pending(self) -> int:
        """Calls still scheduled (including cancelled ones not yet popped)."""
        return len(self._heap) + len(self._soon)
