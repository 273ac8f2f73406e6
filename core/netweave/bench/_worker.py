"""A benchmark worker process: a real node (or a raw endpoint) driven by JSON lines.

    python -m netweave.bench._worker '{"role": "node", "id": "n1", ...}'

The driver writes commands on standard input and reads events on standard output, one
JSON object per line. Times that cross processes are ``time.monotonic()`` readings, the
same clock for every process of the machine. The worker exits when told to ``quit``
or when its standard input closes (the driver is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ._node_worker import NodeWorker, emit, sleep_until
from ._raw import RawEndpoint, connect, listen
from ._report import Histogram

__all__ = ["main"]


class RawWorker:
    """One raw endpoint: listens (receiver) or connects (sender)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.endpoint: RawEndpoint | None = None
        self.server: asyncio.Server | None = None
        self.accepted: list[RawEndpoint] = []

    async def start(self) -> None:
        host, _, port = self.spec["address"].rpartition(":")
        if self.spec["side"] == "listen":
            self.server, self.accepted = await listen(host, int(port))
        else:
            self.endpoint = await connect(host, int(port))
        emit("ready")

    async def stream(self, cmd: dict[str, Any]) -> None:
        assert self.endpoint is not None
        await sleep_until(cmd["start"])
        sent = await self.endpoint.stream(cmd["until"], int(cmd["batch"]))
        emit("streamed", sent=sent)

    def received(self) -> int:
        return sum(ep.received for ep in self.accepted)

    async def ping(self, peer: str, seq: int) -> float:
        assert self.endpoint is not None
        return await self.endpoint.ping(seq)

    async def stop(self) -> None:
        if self.endpoint is not None and self.endpoint.transport is not None:
            self.endpoint.transport.close()
        if self.server is not None:
            self.server.close()


async def _window(worker: NodeWorker | RawWorker, cmd: dict[str, Any]) -> None:
    await sleep_until(cmd["start"])
    first, t0 = worker.received(), time.monotonic()
    await sleep_until(cmd["end"])
    emit("window", count=worker.received() - first, span=time.monotonic() - t0)


async def _rtt(worker: NodeWorker | RawWorker, cmd: dict[str, Any]) -> None:
    hist = Histogram()
    deadline = time.monotonic() + float(cmd.get("max_time", 30.0))
    for seq in range(int(cmd["warmup"]) + int(cmd["count"])):
        rtt = await worker.ping(cmd["peer"], seq)
        if seq >= int(cmd["warmup"]):
            hist.add(rtt)
        if time.monotonic() > deadline:
            break
    emit("rtt", hist=hist.to_json(), n=hist.total)


def _command(worker: NodeWorker | RawWorker,
             cmd: dict[str, Any]) -> Coroutine[Any, Any, None] | None:
    what = cmd.get("cmd")
    if what == "window":
        return _window(worker, cmd)
    if what == "rtt":
        return _rtt(worker, cmd)
    if what == "stream":
        return worker.stream(cmd)
    if what == "load" and isinstance(worker, NodeWorker):
        return worker.load(cmd)
    return None


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        emit("error", detail=repr(task.exception()))


async def serve(spec: dict[str, Any]) -> None:
    """Start the worker of ``spec`` and run the driver's commands until told to quit."""
    worker: NodeWorker | RawWorker = (NodeWorker(spec) if spec["role"] == "node"
                                      else RawWorker(spec))
    await worker.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()
    try:
        while line := await reader.readline():
            cmd = json.loads(line)
            what = cmd.get("cmd")
            if what == "quit":
                break
            if what == "count" and isinstance(worker, NodeWorker):
                emit("count", **worker.snapshot())
                continue
            work = _command(worker, cmd)
            if work is None:
                emit("error", detail=f"unknown command {what!r}")
                continue
            task = loop.create_task(work)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            task.add_done_callback(_report_failure)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker.stop(), 3.0)


def run_spec(serve: Callable[[dict[str, Any]], Coroutine[Any, Any, None]]) -> None:
    """Run ``serve(spec)`` for the JSON spec in ``argv[1]``, on uvloop if it asks for it
    (the main of every benchmark process)."""
    spec = json.loads(sys.argv[1])
    factory = None
    if spec.get("loop") == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(spec))


def main() -> None:
    run_spec(serve)


if __name__ == "__main__":
    main()
