"""The context: everything a component may do, and nothing else.

Components are sans-I/O. They never import asyncio, socket, time, random or threading;
they react to events and act through the :class:`Context` the runtime hands them. The
same component therefore runs on real TCP under asyncio and in the deterministic
simulator, where time is virtual and randomness comes from one seed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

if TYPE_CHECKING:
    import logging

    from .interfaces import Port
    from .plugin import Component

__all__ = ["Context", "RandomSource", "TimerId"]

T = TypeVar("T")
M = TypeVar("M")
TimerId = int
"""Opaque handle returned by :meth:`Context.set_timer`."""


class RandomSource(Protocol):
    """The subset of :class:`random.Random` a component may use (seeded in simulation)."""

    def random(self) -> float: ...
    def uniform(self, a: float, b: float) -> float: ...
    def randrange(self, start: int, stop: int | None = ..., step: int = ...) -> int: ...
    def choice(self, seq: Sequence[T]) -> T: ...


class Context(Protocol):
    """What the runtime offers one component of one node."""

    @property
    def node_id(self) -> str:
        """This node's id."""
        ...

    @property
    def members(self) -> tuple[str, ...]:
        """Every node of the cluster, this one included, sorted."""
        ...

    @property
    def peers(self) -> tuple[str, ...]:
        """Every other node of the cluster, sorted."""
        ...

    @property
    def incarnation(self) -> int:
        """This process's incarnation: strictly higher after every restart."""
        ...

    @property
    def rng(self) -> RandomSource:
        """The node's random source (seeded in simulation)."""
        ...

    @property
    def log(self) -> logging.Logger:
        """A logger named after the node and the component."""
        ...

    def now(self) -> float:
        """Current time in seconds (virtual in simulation)."""
        ...

    def send(self, peer: str, message: Any) -> None:
        """Send ``message`` to ``peer`` over a perfect link (or to itself, locally)."""
        ...

    def heard_from(self, peer: str) -> float | None:
        """When the links last received anything from ``peer``'s current process (any
        layer's message or an acknowledgement; ``now()`` time), or ``None`` if never."""
        ...

    def publish(self, event: object) -> None:
        """Publish an event on this node's bus (queued, run-to-completion)."""
        ...

    def subscribe(self, key: Hashable, handler: Callable[..., Any]) -> None:
        """Subscribe ``handler`` to a bus key (usually done with ``@upon``)."""
        ...

    def set_timer(self, delay: float, event: object) -> TimerId:
        """Publish ``event`` on this node's bus after ``delay`` seconds."""
        ...

    def cancel_timer(self, timer: TimerId) -> None:
        """Cancel a timer; cancelling a fired or unknown timer does nothing."""
        ...

    def new_message_id(self) -> str:
        """A fresh, globally unique id: ``"<node>/<incarnation>/<seq>"``."""
        ...

    def deliver(self, message_id: str, origin: str, payload: Any) -> None:
        """Indicate delivery of ``payload`` at this component's layer.

        Application payloads reach the application (callbacks, async iterators, trace).
        A :class:`~netweave.Message` payload reaches the upper-layer component that
        handles its type (``@upon_deliver``), not the application.
        """
        ...

    @overload  # a Port is a str: the first overload wins for ports, on purpose
    def component(self, abstraction: Port[T]) -> T: ...  # type: ignore[overload-overlap]

    @overload
    def component(self, abstraction: str) -> Component: ...

    def component(self, abstraction: str) -> Any:
        """The component of this node that provides ``abstraction`` (a lower layer).

        Given a :class:`~netweave.interfaces.Port` (``BEST_EFFORT_BROADCAST``), the result
        has that abstraction's interface type, so mypy checks the calls made on it; given
        a plain name, it is a :class:`~netweave.Component`.
        """
        ...

    def sign(self, message: M) -> M:
        """``message``, an :class:`~netweave.origins.OriginMessage` this process
        originates, signed with this node's key when the node signs origins (returned
        unchanged when it does not). A layer builds its data messages through it where it
        broadcasts; checking is the node's business (see :mod:`netweave.origins`)."""
        ...

    def verify(self, message: object) -> bool:
        """Whether ``message`` may be taken as its origin's: ``True`` unless the node signs
        origins and ``message`` is an :class:`~netweave.origins.OriginMessage` without its
        origin's signature (then counted and logged as dropped). The node already checks
        every such message a lower layer delivers, a link delivers, or
        :func:`~netweave.forward_relays` hands back; a layer calls this only for one it
        receives another way (inside a message of its own, say)."""
        ...

    def trace(self, ev: str, **fields: Any) -> None:
        """Write a trace line for this node (see the trace format)."""
        ...

    def annotate_trace(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """Let ``fn`` add fields to every trace line this node writes (e.g. a clock value)."""
        ...
