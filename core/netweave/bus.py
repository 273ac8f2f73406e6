"""Run-to-completion publish/subscribe for one node.

Theory of operation: ``publish`` appends ``(key, args)`` to a FIFO queue. If no dispatch
is running, the caller becomes the dispatcher and drains the queue, calling every handler
subscribed to each key in subscription order. An event published from inside a handler
is queued behind the current one instead of being dispatched re-entrantly, so each
handler runs to completion and the order of effects is deterministic. No task is created
per event; the bus knows nothing of asyncio.

Keys are event classes for events (``publish(event)``) and ``("msg", cls)`` for messages
arriving from peers (``publish_message(sender, msg)``), which is how components say
"upon receiving a message of this type".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from .errors import HandlerError

__all__ = ["Bus", "HandlerError"]

class Bus:
    """A node's event bus: typed subscriptions, FIFO, run-to-completion."""

    __slots__ = ("_dispatching", "_on_error", "_queue", "_subs", "dispatched")

    def __init__(self, on_error: Callable[[BaseException, Hashable, tuple[Any, ...]], None]
                 | None = None) -> None:
        self._subs: dict[Hashable, list[Callable[..., Any]]] = {}
        self._queue: deque[tuple[Hashable, tuple[Any, ...]]] = deque()
        self._dispatching = False
        self._on_error = on_error
        self.dispatched = 0
        """How many (key, handler list) dispatches ran; for metrics and benchmarks."""

    def subscribe(self, key: Hashable, handler: Callable[..., Any]) -> None:
        """Call ``handler`` for every event published under ``key``, in subscription order."""
        self._subs.setdefault(key, []).append(handler)

    def unsubscribe(self, key: Hashable, handler: Callable[..., Any]) -> None:
        """Remove a handler added by :meth:`subscribe`; unknown handlers are ignored."""
        handlers = self._subs.get(key)
        if handlers and handler in handlers:
            handlers.remove(handler)

    def has_subscribers(self, key: Hashable) -> bool:
        """Whether anything listens on ``key``."""
        return bool(self._subs.get(key))

    def publish(self, event: object) -> None:
        """Publish ``event`` to the subscribers of its class."""
        if self._dispatching or self._queue:
            self._queue.append((type(event), (event,)))  # type: ignore[arg-type]
            if not self._dispatching:
                self._drain()
        else:
            self._dispatch(type(event), (event,))  # type: ignore[arg-type]

    def publish_message(self, sender: str, msg: object) -> None:
        """Publish a message received from ``sender`` to the subscribers of its type."""
        if self._dispatching or self._queue:
            self._queue.append((("msg", type(msg)), (sender, msg)))
            if not self._dispatching:
                self._drain()
        else:
            self._dispatch(("msg", type(msg)), (sender, msg))

    def publish_to(self, key: Hashable, args: tuple[Any, ...]) -> None:
        """Publish ``args`` to the subscribers of an explicit ``key``."""
        self._queue.append((key, args))
        if not self._dispatching:
            self._drain()

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` as its own step, after the events already queued."""
        self._queue.append((_CALL, (fn, args)))
        if not self._dispatching:
            self._drain()

    def _dispatch(self, key: Hashable, args: tuple[Any, ...]) -> None:
        # Published while idle with nothing queued: no trip through the queue.
        self.dispatched += 1
        handlers = self._subs.get(key)
        if not handlers:
            return
        self._dispatching = True
        try:
            for handler in handlers:
                try:
                    handler(*args)
                except Exception as exc:
                    self._failed(exc, handler, key, args)
            if self._queue:
                self._run_queue()
        finally:
            self._dispatching = False

    def _drain(self) -> None:
        self._dispatching = True
        try:
            self._run_queue()
        finally:
            self._dispatching = False

    def _run_queue(self) -> None:
        queue = self._queue
        subs = self._subs
        pop = queue.popleft
        while queue:
            key, args = pop()
            self.dispatched += 1
            if key is _CALL:
                fn, call_args = args
                try:
                    fn(*call_args)
                except Exception as exc:
                    self._failed(exc, fn, key, call_args)
                continue
            handlers = subs.get(key)
            if not handlers:
                continue
            for handler in handlers:
                try:
                    handler(*args)
                except Exception as exc:
                    self._failed(exc, handler, key, args)

    def _failed(self, exc: Exception, handler: Callable[..., Any], key: Hashable,
                args: tuple[Any, ...]) -> None:
        if self._on_error is None:
            self._queue.clear()
            raise HandlerError(f"handler {_name(handler)} failed on {key!r}") from exc
        self._on_error(exc, key, args)


_CALL: Hashable = ("call",)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))
