"""A sans-I/O component: it measures round trips to its peers with a timer and two messages.

It never touches a socket, a clock or a random generator of its own: it acts through
``self.ctx``, so the simulator can run it in virtual time.
"""

import attrs
from netweave import Component, Message, Node, upon, upon_message
from netweave.sim import SimCluster


class Ping(Message, tag="example.ping"):
    sent_at: float


class Pong(Message, tag="example.pong"):
    sent_at: float


@attrs.frozen
class Tick:
    """Timer event: time to ping every peer."""


@attrs.frozen
class PingOptions:
    interval: float = attrs.field(default=1.0, metadata={"doc": "Seconds between pings."})


class Pinger(Component):
    """Pings every peer each ``interval`` seconds and records round-trip times."""

    name = "pinger"
    provides = ("round-trip-time",)
    Options = PingOptions

    def start(self) -> None:
        self.rtts: dict[str, list[float]] = {peer: [] for peer in self.ctx.peers}
        self.ctx.set_timer(self.options.interval, Tick())

    @upon(Tick)
    def on_tick(self, _: Tick) -> None:
        for peer in self.ctx.peers:
            self.ctx.send(peer, Ping(self.ctx.now()))
        self.ctx.set_timer(self.options.interval, Tick())

    @upon_message(Ping)
    def on_ping(self, sender: str, ping: Ping) -> None:
        self.ctx.send(sender, Pong(ping.sent_at))

    @upon_message(Pong)
    def on_pong(self, sender: str, pong: Pong) -> None:
        self.rtts[sender].append(self.ctx.now() - pong.sent_at)


def configure(node: Node) -> None:
    node.use(Pinger, interval=0.5)


cluster = SimCluster(3, configure, seed=3)
cluster.start()
cluster.run(until=5.0)
pinger = cluster.nodes["n1"].component("pinger")
assert isinstance(pinger, Pinger)
for peer, rtts in pinger.rtts.items():
    print(f"n1 -> {peer}: {len(rtts)} round trips, "
          f"{min(rtts) * 1000:.1f} to {max(rtts) * 1000:.1f} ms (virtual)")
