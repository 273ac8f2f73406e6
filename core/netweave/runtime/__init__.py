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
    """The services a node needs from its environment.

    A runtime whose transport loses nothing while a connection lives (TCP) also sets
    ``reliable = True`` and calls :meth:`netweave.Node.connected` for every new connection:
    the links then resend only what a lost connection may have taken with it, never on a
    timer. Without the attribute, the transport is taken as fair-loss.
    """

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
