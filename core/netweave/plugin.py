"""What a plugin is: a component class with declared abstractions and options.

A plugin is a :class:`Component` subclass named by an entry point in the ``netweave``
group. It declares what it ``provides`` and ``requires`` (abstraction names such as
``"failure-detector"``), an optional short ``layer`` name for traces and the CLI, and an
``Options`` attrs class whose fields have defaults and validators. Handlers are methods
marked with :func:`upon` (bus events), :func:`upon_message` (messages from peers) or
:func:`upon_deliver` (deliveries of a lower layer), so a component reads like the
textbook's ``upon`` clauses.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Component", "NoOptions", "hookimpl", "upon", "upon_deliver", "upon_message"]

F = TypeVar("F", bound=Callable[..., Any])
_KEYS = "__netweave_keys__"


def upon(event_type: type) -> Callable[[F], F]:
    """Mark a method as the handler of bus events of ``event_type``: ``upon <event>``."""
    return _mark(event_type)


def upon_message(message_type: type) -> Callable[[F], F]:
    """Mark a method as the handler of messages of ``message_type`` from peers.

    The method is called as ``handler(sender, message)``.
    """
    return _mark(("msg", message_type))


def upon_deliver(message_type: type) -> Callable[[F], F]:
    """Mark a method as the handler of a lower layer delivering a ``message_type`` payload.

    The method is called as ``handler(message_id, origin, payload)``.
    """
    return _mark(("deliver", message_type))


def _mark(key: Hashable) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        keys = getattr(fn, _KEYS, ())
        setattr(fn, _KEYS, (*keys, key))
        return fn

    return decorate


@attrs.frozen
class NoOptions:
    """Options of a plugin that has none."""


class Component:
    """Base class of every netweave component (the unit a plugin provides).

    Subclasses set the class attributes below; instances are created per node, with the
    node's :class:`~netweave.context.Context` and validated options.
    """

    name: ClassVar[str] = ""
    """The plugin name users select, e.g. ``"perfect-fd"``. Unique among installed plugins."""
    provides: ClassVar[tuple[str, ...]] = ()
    """Abstractions this component implements, e.g. ``("failure-detector",)``."""
    requires: ClassVar[tuple[str, ...]] = ()
    """Abstractions that must be provided by other components of the same node."""
    layer: ClassVar[str | None] = None
    """Short name for traces and the CLI (``"urb"``); ``None`` for internal components."""
    default: ClassVar[bool] = False
    """Whether this is the default provider of its abstractions when several are installed."""
    implicit: ClassVar[bool] = False
    """Whether a node may add it by itself to satisfy a requirement nobody else meets."""
    recommends: ClassVar[dict[str, str]] = {}
    """Abstractions this component runs without, but needs for a guarantee: abstraction ->
    what is lost without it. A stack that lacks one builds with a ``StackWarning``."""
    install_hints: ClassVar[dict[str, str]] = {}
    """For a required abstraction, the distribution to ``pip install`` when nothing provides it."""
    Options: ClassVar[type[Any]] = NoOptions
    """An attrs class: one field per option, each with a default and a validator."""

    _handlers: ClassVar[tuple[tuple[str, Hashable], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: list[tuple[str, Hashable]] = []
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                for key in getattr(value, _KEYS, ()):
                    if (attr, key) not in found:
                        found.append((attr, key))
        cls._handlers = tuple(found)

    def __init__(self, ctx: Context, options: Any) -> None:
        self.ctx = ctx
        self.options = options

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} at {self.ctx.node_id}>"

    def subscribe_handlers(self) -> None:
        """Subscribe every ``@upon*`` method to the bus. Called by the node before start."""
        for attr, key in self._handlers:
            self.ctx.subscribe(key, getattr(self, attr))

    def start(self) -> None:
        """Called when the node starts, after the components this one requires."""

    def stop(self) -> None:
        """Called when the node stops cleanly, before the components this one requires."""

    def broadcast(self, message_id: str, payload: Any) -> Any:
        """Broadcast ``payload`` under ``message_id`` (layers that provide a broadcast).

        A layer may return the message it sent, for a layer above to hand back to its
        ``forward`` method at another process (as the reliable broadcasts do); the node
        ignores what it returns."""
        raise NotImplementedError(f"plugin {self.name!r} does not broadcast")
