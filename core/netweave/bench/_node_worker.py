"""The node side of a benchmark worker: one real node, its load, and its counters.

Events for the driver are JSON lines on standard output (:func:`emit`); times that cross
processes are ``time.monotonic()`` readings, one clock for the whole machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from ..events import Crashed, Deliver, PeerRestarted, Restore, Suspect
from ..link import LinkBatch, LinkData, LinkOptions
from ..node import BackpressureError, Node
from ._probe import LinkProbe
from ._report import Histogram, peak_rss_bytes, rss_bytes

__all__ = ["NodeWorker", "emit", "sleep_until"]


def emit(ev: str, **fields: Any) -> None:
    """Write one event line for the driver."""
    sys.stdout.write(json.dumps({"ev": ev, **fields}) + "\n")
    sys.stdout.flush()


async def sleep_until(t: float) -> None:
    """Sleep until monotonic time ``t``."""
    delay = t - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


class _Deliveries:
    """Counts deliveries and records their latency (the payload is the broadcast time)."""

    def __init__(self) -> None:
        self.count = 0
        self.recording = False
        self.hist = Histogram()

    def __call__(self, d: Deliver) -> None:
        self.count += 1
        if self.recording and type(d.payload) is float:
            self.hist.add(time.monotonic() - d.payload)


class NodeWorker:
    """One node with the stack of the spec, and the load it is told to generate."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        members: dict[str, str] = spec["members"]
        node = Node(spec["id"], peers=members, listen=members[spec["id"]],
                    cluster="bench", fill=spec.get("fill", "defaults"),
                    link_options=LinkOptions(**spec.get("links", {})))
        for name, options in spec["plugins"]:
            node.use(LinkProbe if name == LinkProbe.name else name, **options)
        self.deliveries = _Deliveries()
        for layer in spec.get("record", ()):
            node.on_deliver(layer, self.deliveries)
        node.build()
        for kind, cls in (("crashed", Crashed), ("suspect", Suspect)):
            node.bus.subscribe(cls, self._suspicion(kind))
        node.bus.subscribe(Restore, lambda e: emit("restore", peer=e.peer, t=time.monotonic()))
        node.bus.subscribe(PeerRestarted,
                           lambda e: emit("restarted", peer=e.peer, t=time.monotonic()))
        self.node = node
        self.broadcasts = 0
        self.blocked = 0

    @staticmethod
    def _suspicion(kind: str) -> Any:
        return lambda e: emit("suspect", peer=e.peer, kind=kind, t=time.monotonic())

    async def start(self) -> None:
        await self.node.start()
        self._count_link_data()
        deadline = time.monotonic() + self.spec.get("connect_timeout", 30.0)
        while not self._connected():
            if time.monotonic() > deadline:
                raise TimeoutError("peers not connected in time")
            await asyncio.sleep(0.01)
        emit("ready", incarnation=self.node.incarnation)

    def _count_link_data(self) -> None:
        # Counts every LinkData the links hand to the transport, retransmissions included
        # (``data`` in a snapshot counts each message once), to show resending under load.
        links: Any = self.node.links
        transmit = links._transmit
        self.link_data_out = 0

        def counting(peer: str, msg: Any) -> None:
            if type(msg) is LinkData:
                self.link_data_out += 1
            elif type(msg) is LinkBatch:
                self.link_data_out += len(msg.bodies)
            transmit(peer, msg)

        links._transmit = counting

    def _connected(self) -> bool:
        runtime: Any = self.node._runtime
        links: Any = self.node.links
        return (all(ch.conn is not None and ch.conn.established
                    for ch in runtime.transport.channels.values())
                and all(p in links._peers and links._peers[p].inc for p in self.node.peers))

    def snapshot(self) -> dict[str, Any]:
        """Counters now: deliveries, broadcasts, frames and link data sent, RSS."""
        runtime: Any = self.node._runtime
        links: Any = self.node.links
        return {"t": time.monotonic(), "delivered": self.deliveries.count,
                "broadcast": self.broadcasts, "frames": runtime.transport.stats.frames_out,
                "data": sum(p.next_seq - 1 for p in links._peers.values()),
                "data_out": self.link_data_out,
                "rss": rss_bytes()}

    async def load(self, cmd: dict[str, Any]) -> None:
        """Broadcast at ``rate`` per second (0: as fast as the links allow) in a window."""
        layer, rate, batch = cmd["layer"], float(cmd["rate"]), int(cmd.get("batch", 64))
        start, warm, end = cmd["start"], cmd["warm"], cmd["end"]
        rec = self.deliveries
        marks: dict[str, Any] = {}

        def mark_warm() -> None:
            rec.hist = Histogram()
            rec.recording = True
            marks["warm"] = self.snapshot()

        loop = asyncio.get_running_loop()
        await sleep_until(start)
        marks["start"] = self.snapshot()
        loop.call_later(max(0.0, warm - time.monotonic()), mark_warm)
        broadcast = self.node.broadcast
        clock = time.monotonic
        if rate > 0:
            while (now := clock()) < end:
                due = int((now - start) * rate) - self.broadcasts
                try:
                    for _ in range(min(due, 10_000)):
                        broadcast(layer, clock())
                        self.broadcasts += 1
                except BackpressureError:
                    self.blocked += 1
                await asyncio.sleep(0.001)
        else:
            while clock() < end:
                try:
                    for _ in range(batch):
                        broadcast(layer, clock())
                        self.broadcasts += 1
                except BackpressureError:
                    self.blocked += 1
                    await asyncio.sleep(0.0005)
                    continue
                await asyncio.sleep(0)
        rec.recording = False
        marks["end"] = self.snapshot()
        emit("result", **marks, hist=rec.hist.to_json(), blocked=self.blocked,
             peak_rss=peak_rss_bytes(), errors=self.node.errors)

    async def stream(self, cmd: dict[str, Any]) -> None:
        """Send bursts of probe messages to one peer until ``until``."""
        probe: Any = self.node.component(LinkProbe.name)
        call = self.node.bus.call_soon
        peer, batch, until = cmd["peer"], int(cmd["batch"]), cmd["until"]
        await sleep_until(cmd["start"])
        sent = 0
        t = time.monotonic()
        while time.monotonic() < until:
            if self.node.congested:
                await asyncio.sleep(0.0005)
                continue
            call(probe.stream, peer, batch, t)
            sent += batch
            await asyncio.sleep(0)
        emit("streamed", sent=sent)

    def received(self) -> int:
        probe: Any = self.node.component(LinkProbe.name)
        return int(probe.received)

    async def ping(self, peer: str, seq: int) -> float:
        probe: Any = self.node.component(LinkProbe.name)
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

        def pong(msg: Any) -> None:
            if not done.done():
                done.set_result(time.perf_counter() - msg.t)

        probe.on_pong = pong
        self.node.bus.call_soon(probe.ping, peer, seq, time.perf_counter())
        return await done

    async def stop(self) -> None:
        await self.node.stop()
