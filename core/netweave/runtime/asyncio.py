"""The asyncio runtime: real time, loop timers, OS randomness and the TCP transport.

``start_node`` is what ``await node.start()`` does: choose an incarnation that grows
across restarts, bind the listening socket (a configuration error surfaces before the
node writes ``start``), start the components, then accept and dial peers. ``stop_node``
stops the components (the trace gets ``stop``), flushes what is queued and closes every
connection. ``run_node`` does both around a wait for SIGINT or SIGTERM, for scripts, on
uvloop when it is installed.

Time is the loop's monotonic clock shifted to wall-clock seconds at start, so timers
never jump with the system clock and trace times still read as ``time.time()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..message import Message
from ..transport.options import TransportOptions
from ..transport.tcp import TcpTransport
from ._streams import broadcast_when_ready, deliveries

if TYPE_CHECKING:
    from ..node import Node

__all__ = [
    "AsyncioRuntime",
    "LoopFlushedSink",
    "broadcast_when_ready",
    "deliveries",
    "event_loop_runner",
    "next_incarnation",
    "run_node",
    "start_node",
    "stop_node",
]


_last_incarnation: dict[str, int] = {}
"""The last incarnation this process gave each node id (the clock may repeat)."""


def next_incarnation(node_id: str, state_dir: str | os.PathLike[str] | None = None) -> int:
    """An incarnation larger than any this node used before, without coordination.

    The larger of the wall clock in milliseconds and one more than the last incarnation
    known: with ``state_dir``, a counter in ``<state_dir>/<node_id>.incarnation``, written
    durably; in any case, the last one this Python process gave the node. So a node that
    first ran without a state directory and then with one still grows, and so does a node
    restarted in one process when the clock repeats or steps back.
    """
    clock = int(time.time() * 1000)
    floor = _last_incarnation.get(node_id, 0)
    if state_dir is None:
        value = max(clock, floor + 1)
        _last_incarnation[node_id] = value
        return value
    path = Path(state_dir) / f"{node_id}.incarnation"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        previous = int(path.read_text().strip() or 0)
    except FileNotFoundError:
        previous = 0
    except ValueError as exc:
        raise ConfigurationError(f"{path} does not hold an incarnation number") from exc
    value = max(previous + 1, floor + 1, clock)
    _last_incarnation[node_id] = value
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write(f"{value}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return value


class AsyncioRuntime:
    """The :class:`~netweave.runtime.Runtime` of one node on an asyncio loop."""

    reliable = True
    """TCP loses nothing while a connection lives: the links resend only on a new one."""

    def __init__(self, node: Node, options: TransportOptions,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.node = node
        self.options = options
        self.loop = loop
        self.rng = random.Random(os.urandom(16))
        self._offset = time.time() - loop.time()
        listen = node.listen or node.addresses.get(node.id) or "127.0.0.1:0"
        self.transport = TcpTransport(
            node_id=node.id, cluster=node.cluster, incarnation=node.incarnation,
            members=node.members, addresses=node.addresses, listen=listen,
            receive=node.receive, options=options, loop=loop, rng=self.rng,
            connected=node.connected)
        self.transport.before_write = self._flush_trace
        self.fenced_event = asyncio.Event()
        """Set when the node learns it was declared crashed (see ``Node.fenced_by``)."""
        # The hot path calls the transport directly, without a forwarding frame.
        self.transmit: Callable[[str, Message], None] = self.transport.send  # type: ignore[method-assign]

    def fenced(self) -> None:
        """The node was fenced: close every connection (nothing it sends is accepted)."""
        self.fenced_event.set()
        self._flush_trace()
        task = self.loop.create_task(self.transport.close(0.5))
        self._closing = task  # keep a reference until it is done

    def _flush_trace(self) -> None:
        # A SIGKILL must not leave peers holding a message whose ``broadcast`` line the
        # trace lost: trace lines reach the OS before the frames that follow them.
        for sink in self.node.tracer.sinks:
            flush = getattr(sink, "flush", None)
            if flush is not None:
                flush()

    def now(self) -> float:
        """Wall-clock seconds, advancing monotonically."""
        return self.loop.time() + self._offset

    def call_later(self, delay: float, fn: Callable[[], Any]) -> asyncio.TimerHandle:
        """Call ``fn()`` after ``delay`` seconds on the loop."""
        return self.loop.call_later(delay, fn)

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` once the current callbacks of the loop have run."""
        self.loop.call_soon(fn)

    def transmit(self, peer: str, message: Message) -> None:
        """Queue a link message for ``peer``."""
        self.transport.send(peer, message)


class LoopFlushedSink:
    """A trace file flushed at most ``delay`` seconds after each line, and before any frame
    leaves the node (see ``AsyncioRuntime``), so SIGKILL loses only the last few ms."""

    def __init__(self, path: str | os.PathLike[str], loop: asyncio.AbstractEventLoop,
                 delay: float = 0.005) -> None:
        from ..trace import FileSink

        self._sink = FileSink(path, flush_interval=3600.0)
        self.path = self._sink.path
        self._loop = loop
        self._delay = delay
        self._armed = False
        self._dirty = False

    def __call__(self, record: dict[str, Any]) -> None:
        self._sink(record)
        self._dirty = True
        if not self._armed:
            self._armed = True
            self._loop.call_later(self._delay, self._timed_flush)

    def _timed_flush(self) -> None:
        self._armed = False
        self.flush()

    def flush(self) -> None:
        """Write out what is buffered."""
        if self._dirty:
            self._dirty = False
            self._sink.flush()

    def close(self) -> None:
        """Flush and close the file."""
        self._sink.close()


async def start_node(node: Node, *, transport: TransportOptions | None = None,
                     state_dir: str | os.PathLike[str] | None = None) -> AsyncioRuntime:
    """Start ``node`` on the running loop over TCP; returns its runtime."""
    from ..node import NodeStateError

    node.build()
    if node.state != "built":
        raise NodeStateError(f"node {node.id!r} cannot start from state {node.state!r}")
    if node.incarnation <= 0:
        node.incarnation = next_incarnation(node.id, state_dir)
    runtime = AsyncioRuntime(node, transport or TransportOptions(), asyncio.get_running_loop())
    await runtime.transport.bind()
    node.attach(runtime)
    node.start_components()
    await runtime.transport.open()
    return runtime


async def stop_node(node: Node, grace: float = 1.0) -> None:
    """Stop the components of ``node`` (trace: ``stop``), then close its transport."""
    runtime = node._runtime
    node.stop_components()
    if isinstance(runtime, AsyncioRuntime):
        await runtime.transport.close(grace)


def event_loop_runner() -> asyncio.Runner:
    """An asyncio runner, on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def run_node(node: Node, main: Callable[[Node], Coroutine[Any, Any, Any]] | None = None,
             **options: Any) -> None:
    """Start ``node``, run ``main(node)`` or wait for SIGINT/SIGTERM, then stop cleanly."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await start_node(node, **options)
        try:
            if main is None:
                await stop.wait()
            else:
                work = asyncio.ensure_future(main(node))
                waiter = asyncio.ensure_future(stop.wait())
                await asyncio.wait([work, waiter], return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if not work.done():
                    work.cancel()
                elif work.exception() is not None:
                    raise work.exception()  # type: ignore[misc]
        finally:
            await stop_node(node)

    with event_loop_runner() as runner:
        runner.run(serve())
