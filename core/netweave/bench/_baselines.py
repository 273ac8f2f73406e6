"""Raw baselines of the broadcast benchmark: what plain Python does on the same cluster.

Three programs with nothing of netweave in them, measured like the layers' saturation
phase (every process broadcasting as fast as it can, the same warm-up and measured
window) so that one ``netweave bench broadcast`` run puts them beside the layers:

- **raw-beb**: N processes on loopback, a full mesh of plain asyncio TCP connections
  (one per pair of processes, as netweave's transport keeps). A broadcast is one frame,
  a 4-byte big-endian length and the msgspec msgpack body of a small :class:`Stamp`
  carrying the send time, to every other process. The frames for one peer are coalesced
  into one ``write`` per event-loop iteration, and a broadcaster waits while asyncio says
  a socket is full (``pause_writing`` / ``resume_writing``). No acknowledgement,
  retransmission or bus: the practical ceiling of a best-effort broadcast in Python.
- **raw-relay**: the same mesh with the relay-on-first-receipt of an eager reliable
  broadcast. On the first receipt of a message id (``(origin, seq)``, kept in a set),
  a process relays the frame as it arrived to every other process, then counts it
  delivered; later copies are dropped. N (N - 1) frames per broadcast. The set grows
  with the run (netweave's layers keep watermarks instead), and the RSS column shows it.
- **zmq-pubsub**: pyzmq PUB/SUB, each process binding a PUB on loopback and
  subscribing to every other process's PUB, publishing the same msgpack body (zmq frames
  it). PUB drops messages for a subscriber whose queue is at the high-water mark, so
  this one reports *goodput* (deliveries per second divided by N) and the fraction of
  the messages published during the run that some subscriber never received.

As in the layers, a process delivers its own broadcasts (counted when it sends them), so
a broadcast makes N deliveries once everyone has it and deliveries/s divided by N is
broadcasts/s; latencies are those of the copies received over the network (the own copy
is counted, not timed). The sustained figure of raw-beb and raw-relay is computed as the layers'
is (the slowest process's deliveries per second in the window), zmq-pubsub's is the
goodput. Every process is started and ended by PID (:class:`~._procs.Workers`), exits
when its standard input closes, and ends itself after a lifetime given by the driver.

Each process is ``python -m netweave.bench._baselines SPEC`` and speaks the benchmark
workers' JSON lines: ``ready``, then ``load`` (answered by ``result``), ``count`` and
``quit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import sys
import time
from typing import Any, cast

import msgspec

from ._node_worker import emit, sleep_until
from ._procs import Worker, Workers
from ._report import Histogram, PhaseFigures, peak_rss_bytes, rss_bytes
from ._worker import run_spec

__all__ = ["BASELINES", "Stamp", "measure", "unavailable"]

BASELINES: dict[str, str] = {
    "raw-beb": "asyncio TCP full mesh, every process sending each broadcast to all others",
    "raw-relay": "raw-beb plus relay on first receipt, as an eager reliable broadcast does",
    "zmq-pubsub": "pyzmq PUB/SUB, goodput and fraction lost (needs pyzmq: "
                  "pip install 'netweave[baselines]')",
}
"""Baseline name -> what it runs."""


class Stamp(msgspec.Struct, array_like=True):
    """The body of every baseline message: who broadcast it, its number, its send time.

    ``seq`` 0 is a zmq-pubsub greeting (subscriptions being set up), never counted.
    """

    origin: int
    seq: int
    t: float


def unavailable(kind: str) -> str | None:
    """Why ``kind`` cannot run here (a missing optional package), or ``None``."""
    if kind == "zmq-pubsub" and importlib.util.find_spec("zmq") is None:
        return ("pyzmq is not installed (pip install 'netweave[baselines]' or "
                "pip install pyzmq)")
    return None


# -- the process side -----------------------------------------------------------------


class _Counters:
    """What one process counts: its broadcasts, deliveries, frames sent, latencies."""

    def __init__(self) -> None:
        self.broadcast = 0
        self.delivered = 0
        self.received = 0
        self.frames = 0
        self.recording = False
        self.hist = Histogram()

    def snapshot(self) -> dict[str, Any]:
        return {"t": time.monotonic(), "delivered": self.delivered,
                "broadcast": self.broadcast, "received": self.received,
                "frames": self.frames, "rss": rss_bytes()}


class _Peer(asyncio.Protocol):
    """One TCP connection of the mesh: frames in, coalesced writes out."""

    def __init__(self, mesh: _TcpMesh) -> None:
        self.mesh = mesh
        self.transport: asyncio.Transport | None = None
        self.writable = asyncio.Event()
        self.writable.set()
        self.out = bytearray()
        self._buf = bytearray()
        self._decode = msgspec.msgpack.Decoder(Stamp).decode

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance check.
        self.transport = cast(asyncio.Transport, transport)
        self.mesh.peers.append(self)
        self.mesh.connected.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()  # a broadcaster waiting on this peer must not wait forever

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos, end = 0, len(buf)
        decode, deliver = self._decode, self.mesh.deliver
        with memoryview(buf) as view:
            while end - pos >= 4:
                size = int.from_bytes(view[pos:pos + 4], "big")
                if end - pos - 4 < size:
                    break
                deliver(decode(view[pos + 4:pos + 4 + size]), view[pos:pos + 4 + size])
                pos += 4 + size
        del buf[:pos]


class _TcpMesh:
    """raw-beb and raw-relay: one process of the full mesh."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.me: int = spec["index"]
        self.members: list[str] = spec["members"]
        self.relay = spec["role"] == "raw-relay"
        self.peers: list[_Peer] = []
        self.connected = asyncio.Event()
        self.counters = _Counters()
        self.seen: set[tuple[int, int]] = set()
        self.server: asyncio.Server | None = None
        self._armed = False
        self._loop = asyncio.get_running_loop()

    async def start(self) -> None:
        loop = self._loop
        host, _, port = self.members[self.me].rpartition(":")
        self.server = await loop.create_server(lambda: _Peer(self), host, int(port),
                                               reuse_address=True)
        deadline = time.monotonic() + float(self.spec.get("connect_timeout", 30.0))
        # One connection per pair: a process dials the processes after it in the list.
        for address in self.members[self.me + 1:]:
            host, _, port = address.rpartition(":")
            while True:
                try:
                    await loop.create_connection(lambda: _Peer(self), host, int(port))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        while len(self.peers) < len(self.members) - 1:
            if time.monotonic() > deadline:
                raise TimeoutError("peers not connected in time")
            self.connected.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connected.wait(), 0.1)
        emit("ready")

    def send_all(self, frames: bytes | bytearray | memoryview, count: int) -> None:
        """Queue ``frames`` (``count`` of them) for every peer; written this iteration."""
        for p in self.peers:
            p.out += frames
        self.counters.frames += count * len(self.peers)
        if not self._armed:
            self._armed = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._armed = False
        for p in self.peers:
            if p.out and p.transport is not None and not p.transport.is_closing():
                p.transport.write(p.out)
                p.out = bytearray()

    def deliver(self, msg: Stamp, frame: memoryview) -> None:
        """A frame arrived: relayed first if this is raw-relay, then delivered."""
        c = self.counters
        if self.relay:
            key = (msg.origin, msg.seq)
            if key in self.seen:
                return
            self.seen.add(key)
            self.send_all(frame, 1)
        c.received += 1
        c.delivered += 1
        if c.recording:
            c.hist.add(time.monotonic() - msg.t)

    async def saturate(self, end: float, batch: int) -> None:
        """Broadcast batches until ``end``, waiting while a peer's socket is full."""
        c = self.counters
        clock = time.monotonic
        encode_into = msgspec.msgpack.Encoder().encode_into
        me, seen, relay = self.me, self.seen, self.relay
        while clock() < end:
            blocked = [p for p in self.peers if not p.writable.is_set()]
            if blocked:
                for p in blocked:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(p.writable.wait(), max(0.0, end - clock()))
                continue
            chunk = bytearray()
            for _ in range(batch):
                c.broadcast += 1
                t = clock()
                start = len(chunk)
                encode_into(Stamp(me, c.broadcast, t), chunk, start + 4)
                chunk[start:start + 4] = (len(chunk) - start - 4).to_bytes(4, "big")
                if relay:
                    seen.add((me, c.broadcast))
                c.delivered += 1  # its own copy, as a broadcast layer delivers it
            self.send_all(chunk, batch)
            await asyncio.sleep(0)

    async def stop(self) -> None:
        for p in self.peers:
            if p.transport is not None:
                p.transport.close()
        if self.server is not None:
            self.server.close()


class _ZmqMesh:
    """zmq-pubsub: one PUB bound here, one SUB connected to every other PUB."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import zmq

        self.zmq = zmq
        self.spec = spec
        self.me: int = spec["index"]
        self.members: list[str] = spec["members"]
        self.counters = _Counters()
        self.heard: set[int] = set()
        self._loop = asyncio.get_running_loop()
        self._decode = msgspec.msgpack.Decoder(Stamp).decode
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.sub = self.ctx.socket(zmq.SUB)
        for s in (self.pub, self.sub):
            s.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._greeting: asyncio.Task[None] | None = None
        self._poll: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.pub.bind(f"tcp://{self.members[self.me]}")
        for i, address in enumerate(self.members):
            if i != self.me:
                self.sub.connect(f"tcp://{address}")
        self._loop.add_reader(self.sub.fileno(), self._readable)
        self._poll = self._loop.create_task(self._poll_now_and_then())
        # PUB sends nothing to a SUB not yet subscribed: greet until every PUB reaches
        # this SUB, and keep greeting (for the others) until the load starts.
        self._greeting = self._loop.create_task(self._greet())
        deadline = time.monotonic() + float(self.spec.get("connect_timeout", 30.0))
        while len(self.heard) < len(self.members) - 1:
            if time.monotonic() > deadline:
                raise TimeoutError("subscriptions not set up in time")
            await asyncio.sleep(0.01)
        emit("ready")

    async def _greet(self) -> None:
        greeting = msgspec.msgpack.encode(Stamp(self.me, 0, 0.0))
        while True:
            self.pub.send(greeting, self.zmq.NOBLOCK)
            await asyncio.sleep(0.02)

    async def _poll_now_and_then(self) -> None:
        # zmq's descriptor signals edges: a look now and then never leaves messages behind.
        while True:
            await asyncio.sleep(0.005)
            self._readable()

    def _readable(self) -> None:
        zmq, sub, c = self.zmq, self.sub, self.counters
        recv, decode, clock = sub.recv, self._decode, time.monotonic
        for _ in range(4096):
            try:
                data = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            msg = decode(data)
            if msg.seq == 0:
                self.heard.add(msg.origin)
                continue
            c.received += 1
            c.delivered += 1
            if c.recording:
                c.hist.add(clock() - msg.t)
        else:
            self._loop.call_soon(self._readable)
            return
        if sub.getsockopt(zmq.EVENTS) & zmq.POLLIN:  # also re-arms the descriptor
            self._loop.call_soon(self._readable)

    async def saturate(self, end: float, batch: int) -> None:
        """Publish batches until ``end`` (PUB never waits: it drops at its high-water mark)."""
        if self._greeting is not None:
            self._greeting.cancel()
        c = self.counters
        clock = time.monotonic
        encode = msgspec.msgpack.Encoder().encode
        send, noblock, me = self.pub.send, self.zmq.NOBLOCK, self.me
        peers = len(self.members) - 1
        while clock() < end:
            for _ in range(batch):
                c.broadcast += 1
                t = clock()
                send(encode(Stamp(me, c.broadcast, t)), noblock)
                c.delivered += 1
            c.frames += batch * peers
            await asyncio.sleep(0)

    async def stop(self) -> None:
        for task in (self._greeting, self._poll):
            if task is not None:
                task.cancel()
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self.sub.fileno())
        self.ctx.destroy(linger=0)


async def _load(mesh: _TcpMesh | _ZmqMesh, cmd: dict[str, Any]) -> None:
    start, warm, end = cmd["start"], cmd["warm"], cmd["end"]
    c = mesh.counters
    marks: dict[str, Any] = {}

    def mark_warm() -> None:
        c.hist = Histogram()
        c.recording = True
        marks["warm"] = c.snapshot()

    await sleep_until(start)
    marks["start"] = c.snapshot()
    asyncio.get_running_loop().call_later(max(0.0, warm - time.monotonic()), mark_warm)
    await mesh.saturate(end, int(cmd.get("batch", 64)))
    c.recording = False
    marks["end"] = c.snapshot()
    marks.setdefault("warm", marks["end"])
    emit("result", **marks, hist=c.hist.to_json(), peak_rss=peak_rss_bytes())


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        emit("error", detail=repr(task.exception()))


async def serve(spec: dict[str, Any]) -> None:
    """Start the baseline process of ``spec`` and run the driver's commands.

    Ends on ``quit``, when standard input closes, or after ``lifetime`` seconds.
    """
    mesh: _TcpMesh | _ZmqMesh = (_ZmqMesh(spec) if spec["role"] == "zmq-pubsub"
                                 else _TcpMesh(spec))
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    try:
        async with asyncio.timeout(float(spec.get("lifetime", 300.0))):
            await mesh.start()
            reader = asyncio.StreamReader(limit=1 << 20)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                         sys.stdin)
            while line := await reader.readline():
                cmd = json.loads(line)
                what = cmd.get("cmd")
                if what == "quit":
                    break
                if what == "count":
                    emit("count", **mesh.counters.snapshot())
                elif what == "load":
                    task = loop.create_task(_load(mesh, cmd))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    task.add_done_callback(_report_failure)
                else:
                    emit("error", detail=f"unknown command {what!r}")
    except TimeoutError:
        emit("error", detail="lifetime over")
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(mesh.stop(), 3.0)


def main() -> None:
    run_spec(serve)


# -- the driver side ------------------------------------------------------------------


_MODULE = "netweave.bench._baselines"
"""What a baseline process runs: spoken to as the benchmark workers are."""


def _settle(procs: list[Worker], timeout: float, lossy: bool) -> tuple[list[dict[str, Any]],
                                                                         bool]:
    """Counters once every process delivered every broadcast (complete) or, for a lossy
    baseline, once nothing more arrives; and whether it was complete."""
    deadline = time.monotonic() + timeout
    last, still = -1, 0
    while True:
        counts = [w.ask("count", cmd="count") for w in procs]
        total = sum(c["broadcast"] for c in counts)
        if all(c["delivered"] >= total for c in counts):
            return counts, True
        received = sum(c["received"] for c in counts)
        still = still + 1 if received == last else 0
        last = received
        if (lossy and still >= 3) or time.monotonic() > deadline:
            return counts, False
        time.sleep(0.1)


def measure(kind: str, nodes: int, *, warmup: float, duration: float, batch: int = 64,
            loop: str = "asyncio", pids: list[int] | None = None) -> PhaseFigures:
    """One baseline on ``nodes`` fresh processes, saturated: warm-up, then the window.

    :param pids: the PIDs of the processes started are appended to it.
    :raises RuntimeError: the baseline cannot run here (:func:`unavailable`).
    """
    from ..cli._launch import free_ports

    if kind not in BASELINES:
        raise ValueError(f"unknown baseline {kind!r}")
    reason = unavailable(kind)
    if reason:
        raise RuntimeError(f"{kind}: {reason}")
    members = [f"127.0.0.1:{p}" for p in free_ports(nodes)]
    with Workers() as ws:
        procs: list[Worker] = []
        for i in range(nodes):
            proc = Worker(f"{kind}-{i + 1}", {"role": kind, "index": i, "members": members,
                                              "loop": loop,
                                              "lifetime": warmup + duration + 120},
                          module=_MODULE)
            ws.all.append(proc)
            procs.append(proc)
            if pids is not None:
                pids.append(proc.pid)
        for w in procs:
            w.expect("ready", 60)
        start = time.monotonic() + 0.3
        warm, end = start + warmup, start + warmup + duration
        for w in procs:
            w.send(cmd="load", start=start, warm=warm, end=end, batch=batch)
        results = [w.expect("result", warmup + duration + 60) for w in procs]
        counts, complete = _settle(procs, 10.0 + duration / 2, lossy=kind == "zmq-pubsub")
    hist = Histogram()
    for r in results:
        hist.merge(Histogram.from_json(r["hist"]))
    span = sum(r["end"]["t"] - r["warm"]["t"] for r in results) / nodes or 1.0
    delivered = [r["end"]["delivered"] - r["warm"]["delivered"] for r in results]
    bcast_window = sum(r["end"]["broadcast"] - r["warm"]["broadcast"] for r in results)
    # Frames over the whole run, relays sent after the window included (settled counts).
    frames = sum(c["frames"] for c in counts) / (sum(c["broadcast"] for c in counts) or 1)
    growth = max((r["end"]["rss"] - r["warm"]["rss"]) / r["warm"]["rss"] for r in results)
    lost = None
    sustained = min(delivered) / span
    if kind == "zmq-pubsub":
        published = sum(c["broadcast"] for c in counts) * (nodes - 1)
        lost = 1.0 - sum(c["received"] for c in counts) / published if published else 0.0
        sustained = sum(delivered) / span / nodes  # goodput
    return PhaseFigures(
        kind, nodes, "saturate", bcast_window / span, sustained, sum(delivered) / span,
        hist.quantile(0.5), hist.quantile(0.99), frames, frames, 0.0,
        max(r["peak_rss"] for r in results) / 2**20, growth, complete, 0, lost)


if __name__ == "__main__":
    main()
