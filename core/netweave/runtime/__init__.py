"""Runtimes: what gives a node time, timers, randomness and a fair-loss transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..context import RandomSource
from ..message import Message

__all__ = ["Runtime", "TimerHandle"]


class TimerHandle(Protocol):
    """Something that can be cancelled (``asyncio.TimerHandle`` or a simulator entry)."""

    def cancel(self) -> None: ...


class Runtime(Protocol):
    """The services a node needs from its environment."""

    @property
    def rng(self) -> RandomSource:
        """The random source components use."""
        ...

    def now(self) -> float:
        """Current time, seconds."""
        ...

    def call_later(self, delay: float, fn: Callable[[], Any]) -> TimerHandle:
        """Call ``fn()`` after ``delay`` seconds."""
        ...

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` after the current step (coalescing work such as acks)."""
        ...

    def transmit(self, peer: str, message: Message) -> None:
        """Hand one link message to the fair-loss transport, towards ``peer``."""
        ...
