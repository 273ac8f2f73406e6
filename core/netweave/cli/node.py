"""``netweave node``: run one node of a cluster described by a TOML file.

Standard input takes one command per line::

    broadcast LAYER TEXT     broadcast TEXT on LAYER (queued while the links are congested)
    stats                    print the transport and link counters on standard error
    quit                     stop cleanly (as SIGTERM does)

Standard output gets one JSON object per delivery, ``{"layer", "id", "origin",
"payload", "incarnation"}`` (``incarnation``: the process of this node that delivered
it; with ``--on-fenced restart`` one OS process runs several), written by an ordinary
``on_deliver`` callback through a bounded writer thread, so a reader that does not keep
up never blocks the event loop: once ``--output-buffer`` bytes wait, the node throttles
its senders (it withholds its link acknowledgements, see ``Node.throttle_senders``)
until a quarter of them are written. While the node is congested it stops reading
standard input after a thousand queued commands, so a fast writer is pushed back too.
Standard error gets a ``ready`` line once the node listens, warnings (refused
connections and why) and the final counters. With ``--trace-dir`` the node writes
``<dir>/<id>.jsonl`` (TRACE.md), flushed within 5 ms of every line, so SIGKILL loses at
most the last few milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import signal
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

from ..config import ClusterConfig
from ..errors import NetweaveError
from ..events import Deliver
from ..node import BackpressureError, Node

NAME = "node"
HELP = "Run one node of a cluster file; commands on stdin, deliveries as JSON on stdout."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, metavar="CLUSTER.toml",
                        help="the cluster file (members, plugins, security)")
    parser.add_argument("--id", required=True, help="which member this process is")
    parser.add_argument("--trace-dir", type=Path, metavar="DIR",
                        help="write the trace to DIR/<id>.jsonl")
    parser.add_argument("--trace-messages", action="store_true",
                        help="also trace a send and a recv line for every component message "
                             "that crosses a link (for netweave timeline)")
    parser.add_argument("--state-dir", type=Path, metavar="DIR",
                        help="keep the incarnation counter in DIR (default: wall-clock ms)")
    parser.add_argument("--output-buffer", type=_byte_count, default=1 << 20, metavar="BYTES",
                        help="deliveries waiting for standard output beyond which the node "
                             "throttles its senders (default 1 MiB)")
    parser.add_argument("--on-fenced", choices=["restart", "exit"], default="restart",
                        help="when a peer declared this process crashed (after a pause or "
                             "an overload longer than the detector's timeout): start a new "
                             "incarnation in this process (default), or exit with code 3")
    parser.add_argument("--metrics", metavar="HOST:PORT",
                        help="serve Prometheus metrics at http://HOST:PORT/metrics, from a "
                             "thread (needs prometheus_client: pip install "
                             "'netweave[metrics]'); port 0 picks a free one, named on the "
                             "metrics line of standard error")
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="standard-error logging level (default WARNING)")


def _byte_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes") from None
    if value < 1024:
        raise argparse.ArgumentTypeError(f"{value} bytes is too small: at least 1024")
    return value


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _Output:
    """Standard output written by a thread: the event loop never blocks on a slow reader.

    ``write`` queues; above ``high`` waiting bytes ``on_full()`` runs, and once the thread
    has brought them down to ``high // 4``, ``on_room()`` runs on the loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, high: int,
                 on_full: Any, on_room: Any) -> None:
        self.loop = loop
        self.high = high
        self.low = high // 4
        self.on_full = on_full
        self.on_room = on_room
        self.full = False
        self.broken = False
        self.lost = 0
        """Delivery lines not written because standard output was closed by its reader."""
        self._chunks: deque[bytes] = deque()
        self._waiting = 0
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="netweave-stdout", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Bytes queued, not yet written."""
        return self._waiting

    def write(self, data: bytes) -> None:
        with self._cond:
            if self.broken:
                self.lost += 1
                return
            self._chunks.append(data)
            self._waiting += len(data)
            self._cond.notify()
            full = not self.full and self._waiting >= self.high
            if full:
                self.full = True
        if full:
            self.on_full()

    def _run(self) -> None:
        out = sys.stdout.buffer
        while True:
            with self._cond:
                while not self._chunks and not self._closing:
                    self._cond.wait()
                if not self._chunks:
                    return
                batch = b"".join(self._chunks)
                self._chunks.clear()
            try:
                out.write(batch)
                out.flush()
            except (BrokenPipeError, OSError, ValueError) as exc:
                with self._cond:
                    self.broken = True
                    self.lost += batch.count(b"\n") + len(self._chunks)
                    self._chunks.clear()
                    self._waiting = 0
                logging.getLogger("netweave.node").warning(
                    "standard output closed by its reader (%s): deliveries are no longer "
                    "written; counted in the stats as output.lost", exc)
            with self._cond:
                self._waiting = max(0, self._waiting - len(batch))
                room = self.full and self._waiting <= self.low
                if room:
                    self.full = False
                self._cond.notify_all()
            if room:
                with contextlib.suppress(RuntimeError):  # the loop may be closed
                    self.loop.call_soon_threadsafe(self.on_room)

    def close(self, timeout: float) -> bool:
        """Write what waits (for at most ``timeout`` seconds); whether all of it was."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()


class _Console:
    """Reads commands, prints deliveries; one per node process."""

    MAX_WAITING = 1_000
    """Commands queued while congested beyond which standard input is not read."""

    def __init__(self, node: Node, loop: asyncio.AbstractEventLoop,
                 output_buffer: int = 1 << 20) -> None:
        self.node = node
        self.loop = loop
        self.stop = asyncio.Event()
        self.waiting: deque[tuple[str, str]] = deque()
        self._room = asyncio.Event()
        self._room.set()
        self._retry_armed = False
        self.throttled = 0
        """How many times the output filled and the node throttled its senders."""
        self.fenced = 0
        """How many incarnations of this process were fenced (declared crashed)."""
        self.output = _Output(loop, output_buffer, self._output_full, self._output_room)

    def on_deliver(self, node: Node, delivery: Deliver) -> None:
        """Print ``delivery``, which ``node`` (one incarnation of this node) made."""
        line = json.dumps({"layer": delivery.layer, "id": delivery.id, "origin":
                           delivery.origin, "payload": delivery.payload,
                           "incarnation": node.incarnation}, default=str)
        self.output.write(line.encode() + b"\n")

    def drain_soon(self) -> None:
        """Broadcast what waits (commands kept while the node was fenced or restarting)."""
        if self.waiting and not self._retry_armed:
            self._retry_armed = True
            self.loop.call_soon(self._drain)

    def _output_full(self) -> None:
        self.throttled += 1
        self.node.throttle_senders(True, key="stdout")

    def _output_room(self) -> None:
        self.node.throttle_senders(False, key="stdout")

    def command(self, line: str) -> None:
        parts = line.strip().split(" ", 2)
        if not parts or not parts[0]:
            return
        verb = parts[0]
        if verb == "broadcast" and len(parts) >= 2:
            self.waiting.append((parts[1], parts[2] if len(parts) > 2 else ""))
            self._drain()
            if len(self.waiting) >= self.MAX_WAITING:
                self._room.clear()
        elif verb == "stats":
            _err("stats " + json.dumps(self.stats()))
        elif verb == "quit":
            self.stop.set()
        else:
            _err(f"netweave node {self.node.id}: unknown command {line.strip()[:80]!r}; "
                 "use: broadcast LAYER TEXT | stats | quit")

    def _drain(self) -> None:
        self._retry_armed = False
        while self.waiting and self.node.running:
            layer, text = self.waiting[0]
            try:
                self.node.broadcast(layer, text)
            except BackpressureError:
                if not self._retry_armed:
                    self._retry_armed = True
                    self.loop.call_later(0.005, self._drain)
                return
            except NetweaveError as exc:
                _err(f"netweave node {self.node.id}: {exc}")
            self.waiting.popleft()
        if len(self.waiting) < self.MAX_WAITING // 2:
            self._room.set()

    def stats(self) -> dict[str, Any]:
        runtime: Any = self.node._runtime
        links = self.node.links
        out: dict[str, Any] = {"node": self.node.id, "errors": self.node.errors,
                               "incarnation": self.node.incarnation, "fenced": self.fenced,
                               "output": {"waiting": self.output.waiting,
                                          "lost": self.output.lost,
                                          "throttled": self.throttled,
                                          "commands_waiting": len(self.waiting)}}
        if runtime is not None and hasattr(runtime, "transport"):
            out["transport"] = runtime.transport.stats.as_dict()
        if self.node.origins is not None:
            out["origins"] = self.node.origins.stats()
        if links is not None:
            out["links"] = {"pending": links.pending(), "held": links.held(),
                            "duplicates": links.duplicates, "stale": links.stale,
                            "from_fenced": links.fenced, "dropped": links.dropped}
        return out

    async def read_stdin(self) -> None:
        if sys.stdin is None or sys.stdin.closed:
            return
        reader = asyncio.StreamReader(limit=1 << 20)
        try:
            await self.loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        except (OSError, ValueError):
            return  # no usable standard input (e.g. closed): serve until a signal
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                continue
            if not line:
                return
            self.command(line.decode("utf-8", "replace"))
            if not self._room.is_set():
                await self._room.wait()  # congested: stop reading, push back on the writer


def _new_node(config: ClusterConfig, args: argparse.Namespace, console: _Console,
              sink: Any) -> Node:
    node = config.node(args.id)
    node.trace_messages = args.trace_messages
    node.build()
    for layer in node.layers:
        if layer != "fd":
            node.on_deliver(layer, functools.partial(console.on_deliver, node))
    if sink is not None:
        node.tracer.sinks.append(sink)
    if args.metrics is not None:
        from .. import metrics

        metrics.enable(node)  # before start: every broadcast and delivery is counted
    return node


def _serve_metrics(address: str, console: _Console, loop: asyncio.AbstractEventLoop) -> Any:
    """Start the metrics endpoint; ``None`` (and a message) if it cannot start."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        _err("netweave node: --metrics needs prometheus_client, which is not installed: "
             "pip install 'netweave[metrics]'")
        return None
    from .. import metrics

    def snapshot() -> dict[str, Any]:
        # Read the node on its own loop, where it changes: a scrape sees a consistent state.
        return metrics.on_loop(loop, lambda: metrics.collect(console.node))  # type: ignore[no-any-return]

    try:
        server = metrics.serve(address, snapshot)
    except (OSError, NetweaveError) as exc:
        _err(f"netweave node: cannot serve metrics at {address}: {exc}")
        return None
    host, port = server.server_address[:2]
    _err(f"metrics http://{host}:{port}/metrics")
    return server


async def _serve(config: ClusterConfig, args: argparse.Namespace) -> int:
    from ..runtime.asyncio import LoopFlushedSink

    loop = asyncio.get_running_loop()
    if args.trace_messages and args.trace_dir is None:
        _err("netweave node: warning: --trace-messages writes nothing without --trace-dir")
    # Every configuration mistake (the stack, the keys) surfaces here, before anything
    # is opened: no port, no trace file, no output thread.
    config.node(args.id).build()
    options = config.transport_options(args.id)
    sink = None
    if args.trace_dir is not None:
        sink = LoopFlushedSink(args.trace_dir / f"{args.id}.jsonl", loop)
    node = config.node(args.id)
    console = _Console(node, loop, args.output_buffer)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, console.stop.set)
    reader: asyncio.Task[None] | None = None
    code = 0
    server = None
    if args.metrics is not None:
        server = _serve_metrics(args.metrics, console, loop)
        if server is None:
            console.output.close(1.0)
            if sink is not None:
                sink.close()
            return 2
    try:
        while True:
            node = console.node = _new_node(config, args, console, sink)
            await node.start(transport=options, state_dir=args.state_dir)
            runtime: Any = node._runtime
            host, port = runtime.transport.address
            signed = "+signed-origins" if node.origins is not None else ""
            _err(f"ready {node.id} listening on {host}:{port} incarnation {node.incarnation} "
                 f"security {options.security.describe()}{signed} "
                 f"layers {','.join(node.layers)}")
            if reader is None:
                reader = loop.create_task(console.read_stdin())
            console.drain_soon()
            waits = [loop.create_task(console.stop.wait()),
                     loop.create_task(runtime.fenced_event.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            if console.stop.is_set():
                break
            what = ("exiting (--on-fenced exit)" if args.on_fenced == "exit"
                    else "starting a new incarnation")
            _err(f"netweave node {node.id}: incarnation {node.incarnation} was declared "
                 f"crashed by {node.fenced_by} and is fenced; {what}")
            await node.stop()
            console.fenced += 1
            if args.on_fenced == "exit":
                code = 3
                break
    finally:
        if reader is not None:
            reader.cancel()
        await node.stop()
        if server is not None:
            server.shutdown()
        if not console.output.close(10.0):
            _err(f"netweave node {node.id}: standard output not read for 10 s at exit; "
                 f"{console.output.waiting} bytes of deliveries not written")
        if sink is not None:
            sink.close()
        _err("stats " + json.dumps(console.stats()))
    return code


def run(args: argparse.Namespace) -> int:
    from ..runtime.asyncio import event_loop_runner

    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ClusterConfig.from_toml(args.config)
    with event_loop_runner() as runner:
        return runner.run(_serve(config, args))
