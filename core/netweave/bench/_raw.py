"""The raw baseline: the same frames between two processes, with nothing of netweave's stack.

A minimal asyncio program: a 4-byte length and a msgspec msgpack body, the very
``LinkData`` frames the perfect links send (so the bytes on the wire are the same), many
frames encoded into one buffer and handed to the socket with one ``write`` per
event-loop iteration, the writer waiting while asyncio says the socket is full. No
handshake, acknowledgements, retransmission, bus or revival of payloads: the practical
ceiling of any Python program that sends these messages over TCP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

import msgspec

from ..link import LinkData
from ._probe import ProbeData, ProbePing, ProbePong

__all__ = ["RawEndpoint", "connect", "listen"]

_PING = ProbePing.__struct_config__.tag
_PONG = ProbePong.__struct_config__.tag


class RawEndpoint(asyncio.Protocol):
    """One end of a raw connection: streams, echoes pings, counts what arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.connected = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()
        self.received = 0
        self.on_pong: Callable[[float], None] | None = None
        self._buf = bytearray()
        self._decode = msgspec.msgpack.Decoder(LinkData).decode
        self._encode_into = msgspec.msgpack.Encoder().encode_into

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance check.
        self.transport = cast(asyncio.Transport, transport)
        self.connected.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def _append(self, out: bytearray, msg: LinkData) -> None:
        start = len(out)
        self._encode_into(msg, out, start + 4)
        out[start:start + 4] = (len(out) - start - 4).to_bytes(4, "big")

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        end = len(buf)
        decode = self._decode
        replies: bytearray | None = None
        with memoryview(buf) as view:
            while end - pos >= 4:
                size = int.from_bytes(view[pos:pos + 4], "big")
                if end - pos - 4 < size:
                    break
                msg = decode(view[pos + 4:pos + 4 + size])
                pos += 4 + size
                body = msg.body
                tag = body.get("__nw__") if type(body) is dict else None
                if tag == _PING:
                    if replies is None:
                        replies = bytearray()
                    self._append(replies, LinkData(msg.inc, msg.inc, msg.seq,
                                                   ProbePong(body["seq"], body["t"])))
                elif tag == _PONG:
                    if self.on_pong is not None:
                        self.on_pong(body["t"])
                else:
                    self.received += 1
        del buf[:pos]
        if replies and self.transport is not None:
            self.transport.write(replies)

    async def stream(self, until: float, batch: int, inc: int = 1) -> int:
        """Send batches of frames until ``until`` (monotonic); returns how many."""
        assert self.transport is not None
        sent = 0
        t = time.monotonic()
        while time.monotonic() < until:
            if not self.writable.is_set():
                await self.writable.wait()
                continue
            out = bytearray()
            for i in range(batch):
                sent += 1
                self._append(out, LinkData(inc, inc, sent, ProbeData(i, t)))
            self.transport.write(out)
            await asyncio.sleep(0)
        return sent

    async def ping(self, seq: int) -> float:
        """One round trip; returns its duration in seconds."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        done: asyncio.Future[float] = loop.create_future()

        def pong(t: float) -> None:
            if not done.done():
                done.set_result(time.perf_counter() - t)

        self.on_pong = pong
        out = bytearray()
        self._append(out, LinkData(1, 1, seq, ProbePing(seq, time.perf_counter())))
        self.transport.write(out)
        return await done


async def listen(host: str, port: int) -> tuple[asyncio.Server, list[RawEndpoint]]:
    """Listen; the endpoints of accepted connections are appended to the returned list."""
    accepted: list[RawEndpoint] = []

    def factory() -> RawEndpoint:
        ep = RawEndpoint()
        accepted.append(ep)
        return ep

    server = await asyncio.get_running_loop().create_server(factory, host, port,
                                                            reuse_address=True)
    return server, accepted


async def connect(host: str, port: int, timeout: float = 10.0) -> RawEndpoint:
    """Connect to a listening raw endpoint, retrying until it listens."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, ep = await loop.create_connection(RawEndpoint, host, port)
            return ep
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
