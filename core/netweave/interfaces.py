"""The abstractions' interfaces: what each layer offers the layer above it, typed.

An abstraction (CGR) has *requests*, which the layer above calls, and *indications*,
which it emits. In netweave a request is a method of the component that provides the
abstraction, and an indication is an event on the node's bus (``Crashed``, ``Suspect``)
or a delivery (``ctx.deliver``). Each interface below is a :class:`typing.Protocol` of
the requests, and each abstraction has a :class:`Port`: its name, typed with its
interface. A port *is* the abstraction's name (a ``str``), so it goes wherever a name
does (``provides``, ``requires``, ``node.use``), and it is also the typed key to the
layer below::

    from netweave.interfaces import BEST_EFFORT_BROADCAST

    class MyRB(Component):
        requires = (BEST_EFFORT_BROADCAST,)

        def broadcast(self, message_id, payload):
            beb = self.ctx.component(BEST_EFFORT_BROADCAST)  # a BestEffortBroadcast
            beb.broadcast(message_id, payload)              # checked by mypy

Names stay the contract for plugins outside the project: ``ctx.component("reliable-
broadcast")`` still works and returns an untyped :class:`~netweave.Component`. When a
plugin says it provides a port, the node checks when it is built that the plugin has the
port's requests (:attr:`Port.requests`, its own method, not the ``Component`` base
class's), so a missing method is a configuration error, not an ``AttributeError`` or a
``NotImplementedError`` in the middle of a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "BEST_EFFORT_BROADCAST",
    "CAUSAL_ORDER_BROADCAST",
    "FAILURE_DETECTOR",
    "FIFO_RELIABLE_BROADCAST",
    "LOGICAL_CLOCK",
    "PERFECT_FAILURE_DETECTOR",
    "PORTS",
    "RELIABLE_BROADCAST",
    "UNIFORM_RELIABLE_BROADCAST",
    "VECTOR_CLOCK",
    "Broadcast",
    "FailureDetector",
    "LogicalClock",
    "Port",
    "ReliableBroadcast",
    "VectorClock",
]

T = TypeVar("T")


class Port(str, Generic[T]):
    """An abstraction's name, typed with its interface ``T``: ``Port[ReliableBroadcast](
    "reliable-broadcast", requests=("broadcast", "forward"))``."""

    requests: tuple[str, ...]
    """The methods a provider must have (the abstraction's requests)."""

    def __new__(cls, name: str, requests: tuple[str, ...] = ()) -> Port[T]:
        port = super().__new__(cls, name)
        port.requests = requests
        return port

    def __repr__(self) -> str:
        return str.__repr__(self)  # shown in messages as the name it is


# -- interfaces --------------------------------------------------------------------------


class FailureDetector(Protocol):
    """⟨P, Crash | p⟩ (``Crashed``) or ⟨◇P, Suspect | p⟩ / ⟨◇P, Restore | p⟩ (``Suspect``,
    ``Restore``): indications only, published on the bus; no request."""


class Broadcast(Protocol):
    """⟨Broadcast | m⟩; the indication ⟨Deliver | p, m⟩ is ``ctx.deliver``.

    ``broadcast`` returns what was sent, which a reliable layer's ``forward`` takes at
    another process (or ``None``)."""

    def broadcast(self, message_id: str, payload: Any) -> Any:
        """Broadcast ``payload`` under ``message_id``."""
        ...


class ReliableBroadcast(Broadcast, Protocol):
    """A reliable broadcast: also takes over a message another process's layer sent
    (``forward``), as if it had arrived from the network: delivered once and relayed
    when its origin crashes (how a restarted process is handed what it missed).

    ``forward`` is an optional request: a layer above that hands messages to a
    restarted process (``fifo-rb``) needs it, a textbook exercise does not; a provider
    is only required to have ``broadcast``."""

    def forward(self, msg: Any) -> None:
        """Take a message that :meth:`broadcast` returned at some process."""
        ...


class LogicalClock(Protocol):
    """Lamport time: ``time`` now, ``tick()`` for a local event."""

    @property
    def time(self) -> int:
        """The current logical time."""
        ...

    def tick(self) -> int:
        """Advance for a local event; the new time."""
        ...


class VectorClock(Protocol):
    """Vector time: ``time`` now, ``tick()`` for a local event, ``leq`` to compare."""

    @property
    def time(self) -> dict[str, int]:
        """The current vector time (node id -> count)."""
        ...

    def tick(self) -> dict[str, int]:
        """Advance this node's entry for a local event; the new time."""
        ...

    def leq(self, a: Mapping[str, int], b: Mapping[str, int]) -> bool:
        """Whether ``a <= b`` entry by entry (a missing entry counts as 0)."""
        ...


# -- ports ---------------------------------------------------------------------------------

FAILURE_DETECTOR = Port[FailureDetector]("failure-detector")
PERFECT_FAILURE_DETECTOR = Port[FailureDetector]("perfect-failure-detector")
BEST_EFFORT_BROADCAST = Port[Broadcast]("best-effort-broadcast", ("broadcast",))
RELIABLE_BROADCAST = Port[ReliableBroadcast]("reliable-broadcast", ("broadcast",))
UNIFORM_RELIABLE_BROADCAST = Port[Broadcast]("uniform-reliable-broadcast", ("broadcast",))
FIFO_RELIABLE_BROADCAST = Port[Broadcast]("fifo-reliable-broadcast", ("broadcast",))
CAUSAL_ORDER_BROADCAST = Port[Broadcast]("causal-order-broadcast", ("broadcast",))
LOGICAL_CLOCK = Port[LogicalClock]("logical-clock", ("tick",))
VECTOR_CLOCK = Port[VectorClock]("vector-clock", ("tick", "leq"))

PORTS: dict[str, Port[Any]] = {str(p): p for p in (
    FAILURE_DETECTOR, PERFECT_FAILURE_DETECTOR, BEST_EFFORT_BROADCAST, RELIABLE_BROADCAST,
    UNIFORM_RELIABLE_BROADCAST, FIFO_RELIABLE_BROADCAST, CAUSAL_ORDER_BROADCAST,
    LOGICAL_CLOCK, VECTOR_CLOCK)}
"""The standard ports by name (what the node checks a provider against)."""
