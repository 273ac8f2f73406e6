"""``netweave node``: run one node of a cluster described by a TOML file.

Standard input takes one command per line::

    broadcast LAYER TEXT     broadcast TEXT on LAYER (queued while the links are congested)
    stats                    print the transport and link counters on standard error
    quit                     stop cleanly (as SIGTERM does)

Standard output gets one JSON object per delivery, ``{"layer", "id", "origin",
"payload"}``, written by an ordinary ``on_deliver`` callback. Standard error gets a
``ready`` line once the node listens, warnings (refused connections and why) and the
final counters. With ``--trace-dir`` the node writes ``<dir>/<id>.jsonl`` (TRACE.md),
flushed within 5 ms of every line, so SIGKILL loses at most the last few milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
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
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="standard-error logging level (default WARNING)")


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _Console:
    """Reads commands, prints deliveries; one per node process."""

    def __init__(self, node: Node, loop: asyncio.AbstractEventLoop) -> None:
        self.node = node
        self.loop = loop
        self.stop = asyncio.Event()
        self.waiting: deque[tuple[str, str]] = deque()
        self._flush_armed = False
        self._retry_armed = False

    def on_deliver(self, delivery: Deliver) -> None:
        payload = delivery.payload
        line = json.dumps({"layer": delivery.layer, "id": delivery.id, "origin":
                           delivery.origin, "payload": payload}, default=str)
        sys.stdout.write(line + "\n")
        if not self._flush_armed:
            self._flush_armed = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_armed = False
        with contextlib.suppress(BrokenPipeError):
            sys.stdout.flush()

    def command(self, line: str) -> None:
        parts = line.strip().split(" ", 2)
        if not parts or not parts[0]:
            return
        verb = parts[0]
        if verb == "broadcast" and len(parts) >= 2:
            self.waiting.append((parts[1], parts[2] if len(parts) > 2 else ""))
            self._drain()
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
                    self.loop.call_later(0.01, self._drain)
                return
            except NetweaveError as exc:
                _err(f"netweave node {self.node.id}: {exc}")
            self.waiting.popleft()

    def stats(self) -> dict[str, Any]:
        runtime: Any = self.node._runtime
        links = self.node.links
        out: dict[str, Any] = {"node": self.node.id, "errors": self.node.errors}
        if runtime is not None and hasattr(runtime, "transport"):
            out["transport"] = runtime.transport.stats.as_dict()
        if links is not None:
            out["links"] = {"pending": links.pending(), "held": links.held(),
                            "duplicates": links.duplicates,
                            "stale": links.stale, "dropped": links.dropped}
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


async def _serve(config: ClusterConfig, args: argparse.Namespace) -> int:
    from ..runtime.asyncio import LoopFlushedSink

    loop = asyncio.get_running_loop()
    node = config.node(args.id)
    node.trace_messages = args.trace_messages
    if args.trace_messages and args.trace_dir is None:
        _err("netweave node: warning: --trace-messages writes nothing without --trace-dir")
    console = _Console(node, loop)
    node.build()
    for layer in node.layers:
        if layer != "fd":
            node.on_deliver(layer, console.on_deliver)
    sink = None
    if args.trace_dir is not None:
        sink = LoopFlushedSink(args.trace_dir / f"{args.id}.jsonl", loop)
        node.tracer.sinks.append(sink)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, console.stop.set)
    options = config.transport_options(args.id)
    await node.start(transport=options, state_dir=args.state_dir)
    runtime: Any = node._runtime
    host, port = runtime.transport.address
    _err(f"ready {node.id} listening on {host}:{port} incarnation {node.incarnation} "
         f"security {options.security.describe()} layers {','.join(node.layers)}")
    reader = loop.create_task(console.read_stdin())
    try:
        await console.stop.wait()
    finally:
        reader.cancel()
        await node.stop()
        console._flush()
        if sink is not None:
            sink.close()
        _err("stats " + json.dumps(console.stats()))
    return 0


def run(args: argparse.Namespace) -> int:
    from ..runtime.asyncio import event_loop_runner

    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ClusterConfig.from_toml(args.config)
    with event_loop_runner() as runner:
        return runner.run(_serve(config, args))
