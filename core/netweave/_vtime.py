"""Virtual time in whole microseconds, shared by the simulator's clock and the explorer.

Both count time as an integer number of microseconds and show it to components in
seconds (``now_us / US``), so that sums of delays carry no rounding error and the same
state reached by two paths holds the same times.
"""

from __future__ import annotations

import math

__all__ = ["US", "delay_us", "to_us"]

US = 1_000_000
"""Microseconds per second."""


def to_us(seconds: float) -> int:
    """``seconds`` as a whole number of microseconds, rounded up (a call never runs
    before its time), past the float noise of the product (``0.3 * 1e6`` is 300,000)."""
    return math.ceil(seconds * US - 1e-3)


def delay_us(seconds: float) -> int:
    """A delay in whole microseconds: none for ``seconds <= 0``, at least one for any
    positive delay (a component that waits for a time and is called a little before it
    would otherwise ask again at once, for ever)."""
    if seconds <= 0:
        return 0
    return max(to_us(seconds), 1)
