"""What a node needs from a runtime, and what a runtime offers a node's front door.

The kernel defines these interfaces and imports no runtime: the asyncio runtime
(:mod:`netweave.runtime.asyncio`) and the simulator (:mod:`netweave.sim`) implement them
and attach to a built node from outside. ``await node.start()`` and the other asyncio
conveniences of :class:`~netweave.Node` go through a :class:`FrontDoor` that the
``netweave`` package installs (the asyncio runtime, imported only when first used), so
importing netweave and building a node load no I/O module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from .context import RandomSource
from .message import Message

if TYPE_CHECKING:
    from .events import Deliver
    from .node import Node

__all__ = ["FrontDoor", "Runtime", "TimerHandle", "front_door", "install_front_door"]


class TimerHandle(Protocol):
    """Something that can be cancelled (``asyncio.TimerHandle`` or a simulator entry)."""

    def cancel(self) -> None: ...


class Runtime(Protocol):
    """The services a node needs from its environment.

    A runtime whose transport loses nothing while a connection lives (TCP) also sets
    ``reliable = True`` and calls :meth:`netweave.Node.connected` for every new connection:
    the links then resend only what a lost connection may have taken with it, never on a
    timer. Without the attribute, the transport is taken as fair-loss. A runtime may
    also define ``fenced()``, called when the node learns that it was declared crashed.
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
        """Hand one link message to the transport, towards ``peer``."""
        ...


class FrontDoor(Protocol):
    """The runtime behind ``await node.start()``, ``node.run()``, ``node.deliveries()``."""

    def start_node(self, node: Node, **options: Any) -> Awaitable[Any]: ...

    def stop_node(self, node: Node) -> Awaitable[None]: ...

    def run_node(self, node: Node, main: Callable[[Node], Coroutine[Any, Any, Any]] | None,
                 **options: Any) -> None: ...

    def deliveries(self, node: Node, queues: dict[str, list[Any]], layer: str,
                   limit: int) -> AsyncIterator[Deliver]: ...

    def broadcast_when_ready(self, node: Node, layer: str, payload: Any,
                             timeout: float | None) -> Awaitable[str]: ...


_installed: Callable[[], FrontDoor] | None = None


def install_front_door(factory: Callable[[], FrontDoor]) -> None:
    """Make ``factory()`` the runtime behind ``Node.start`` and its asyncio friends (the
    ``netweave`` package installs the asyncio runtime, imported on first use)."""
    global _installed
    _installed = factory


def front_door() -> FrontDoor:
    """The installed front door; a clear error when there is none."""
    if _installed is None:
        from .node import NodeStateError

        raise NodeStateError("no runtime is installed for Node.start(); attach one "
                             "(e.g. netweave.runtime.asyncio.start_node)")
    return _installed()
