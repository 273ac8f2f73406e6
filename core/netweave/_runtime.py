"""What a node needs from a runtime, and what a runtime offers a node's front door.

The kernel defines these interfaces and imports no runtime: the asyncio runtime
(:mod:`netweave.runtime.asyncio`) and the simulator (:mod:`netweave.sim`) implement them
and attach to a built node from outside. ``await node.start()`` and the other asyncio
conveniences of :class:`~netweave.Node` go through a :class:`FrontDoor` that the
``netweave`` package installs (the asyncio runtime, imported only when first used), so
importing netweave and building a node load no I/O module.

A node's links are :class:`netweave.link.PerfectLinks` over the runtime's ``transmit``
unless the runtime makes its own (``make_links``, a :class:`LinkFactory`): the
simulator's modelled links give perfect-link semantics directly, without acks or timers.
Whatever makes them, they offer :class:`Links`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from .context import RandomSource
from .errors import NodeStateError
from .message import Message

if TYPE_CHECKING:
    from ._link_types import LinkOptions
    from .events import Deliver
    from .node import Node

__all__ = ["FrontDoor", "LinkFactory", "Links", "Runtime", "TimerHandle", "front_door",
           "install_front_door"]


class TimerHandle(Protocol):
    """Something that can be cancelled (``asyncio.TimerHandle`` or a simulator entry)."""

    def cancel(self) -> None: ...


class Runtime(Protocol):
    """The services a node needs from its environment.

    A runtime whose transport loses nothing while a connection lives (TCP) also sets
    ``reliable = True`` and calls :meth:`netweave.Node.connected` for every new connection:
    the links then resend only what a lost connection may have taken with it, never on a
    timer. Without the attribute, the transport is taken as fair-loss. A runtime may
    also define ``fenced()``, called when the node learns that it was declared crashed,
    and ``make_links`` (a :class:`LinkFactory`) to give the node links of its own instead
    of :class:`~netweave.link.PerfectLinks` over ``transmit``.
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


class Links(Protocol):
    """What a node asks of its links (:class:`netweave.link.PerfectLinks` documents each
    method): perfect-link semantics, a peer's incarnations, restarts and fencing."""

    dropped: int
    duplicates: int
    stale: int
    fenced: int
    malformed: int

    def send(self, peer: str, body: Any, meta: dict[str, Any] | None = None) -> None: ...

    def on_receive(self, peer: str, msg: Message) -> None: ...

    def connected(self, peer: str, incarnation: int, proven: bool = True) -> None: ...

    def greet(self, peers: Iterable[str]) -> None: ...

    def forget(self, peer: str) -> None: ...

    def hold_acks(self, hold: bool) -> None: ...

    @property
    def holding_acks(self) -> bool: ...

    def congested(self, ignore: frozenset[str] = frozenset()) -> bool: ...

    def congestion(self) -> str:
        """Why :meth:`congested` holds, naming the peer and the rule ("" if it does not)."""

    def heard_from(self, peer: str) -> float | None: ...

    def peer_incarnation(self, peer: str) -> int | None: ...

    def pending(self, peer: str | None = None) -> int: ...

    def held(self, peer: str | None = None) -> int: ...


class LinkFactory(Protocol):
    """A runtime's ``make_links``: the links of one node incarnation, which hand every
    payload to ``deliver(sender, body, meta)``, report a peer's new process with
    ``on_peer_restart(peer, incarnation)`` and this process's fencing with
    ``on_fenced(peer)``."""

    def __call__(self, node_id: str, incarnation: int, *,
                 deliver: Callable[[str, Any, dict[str, Any] | None], None],
                 on_peer_restart: Callable[[str, int], None],
                 on_fenced: Callable[[str], None], options: LinkOptions) -> Links: ...


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
        raise NodeStateError("no runtime is installed for Node.start(); attach one "
                             "(e.g. netweave.runtime.asyncio.start_node)")
    return _installed()
