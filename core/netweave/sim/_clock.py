"""Virtual time: a heap of scheduled calls, run in (time, insertion) order."""

from __future__ import annotations

import heapq
from collections.abc import Callable
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

    __slots__ = ("_heap", "_seq", "events", "now")

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[_Entry] = []
        self._seq = 0
        self.events = 0
        """How many scheduled calls have run."""

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any,
                handle: Scheduled | None = None) -> Scheduled | None:
        """Run ``fn(*args)`` at virtual time ``when`` (never before now)."""
        self._seq += 1
        heapq.heappush(self._heap, (max(when, self.now), self._seq, handle, fn, args))
        return handle

    def run(self, until: float, max_events: int | None = None) -> None:
        """Run every call scheduled up to ``until``; then set the time to ``until``."""
        heap = self._heap
        pop = heapq.heappop
        budget = max_events if max_events is not None else -1
        while heap and heap[0][0] <= until:
            when, _, handle, fn, args = pop(heap)
            if handle is not None and handle.cancelled:
                continue
            self.now = when
            self.events += 1
            fn(*args)
            budget -= 1
            if budget == 0:
                raise RuntimeError(f"simulation exceeded {max_events} events before t={until}")
        self.now = max(self.now, until)

    @property
    def pending(self) -> int:
        """Calls still scheduled (including cancelled ones not yet popped)."""
        return len(self._heap)
