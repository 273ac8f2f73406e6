"""Runtimes: what gives a node time, timers, randomness and a transport.

The interfaces live in the kernel (:mod:`netweave._runtime`); they are re-exported here.
"""

from __future__ import annotations

from .._runtime import FrontDoor, Runtime, TimerHandle

__all__ = ["FrontDoor", "Runtime", "TimerHandle"]
