"""The component the single-link benchmark runs: streams, pings and echoes over one link.

It is an ordinary sans-I/O component (it acts only through its context), selected by
class, so the benchmark measures exactly the path every plugin's messages take: node,
perfect links, TCP transport, and back up through the bus of the receiving node.
"""

from __future__ import annotations

from collections.abc import Callable

from ..message import Message
from ..plugin import Component, upon_message

__all__ = ["LinkProbe", "ProbeData", "ProbePing", "ProbePong"]


class ProbeData(Message, tag="bench.data"):
    """One message of a one-way stream."""

    seq: int
    t: float


class ProbePing(Message, tag="bench.ping"):
    """A round-trip request, echoed as :class:`ProbePong`."""

    seq: int
    t: float


class ProbePong(Message, tag="bench.pong"):
    """The echo of a :class:`ProbePing`."""

    seq: int
    t: float


class LinkProbe(Component):
    """Sends bursts and pings to a peer; counts what it receives and echoes pings."""

    name = "bench-probe"
    provides = ("bench-probe",)

    received = 0
    """Stream messages received so far."""
    on_pong: Callable[[ProbePong], None] | None = None
    """Called with each echo that comes back."""

    def stream(self, peer: str, count: int, t: float) -> None:
        """Send ``count`` stream messages to ``peer`` in this step."""
        send = self.ctx.send
        for i in range(count):
            send(peer, ProbeData(i, t))

    def ping(self, peer: str, seq: int, t: float) -> None:
        """Send one round-trip request."""
        self.ctx.send(peer, ProbePing(seq, t))

    @upon_message(ProbeData)
    def on_data(self, sender: str, msg: ProbeData) -> None:
        self.received += 1

    @upon_message(ProbePing)
    def on_ping(self, sender: str, msg: ProbePing) -> None:
        self.ctx.send(sender, ProbePong(msg.seq, msg.t))

    @upon_message(ProbePong)
    def on_pong_message(self, sender: str, msg: ProbePong) -> None:
        if self.on_pong is not None:
            self.on_pong(msg)
