"""The node: builder API, fail-fast build, delivery callbacks, surviving bad handlers."""

from __future__ import annotations

import pytest
from fakes import Echo, Ping
from netweave import (
    Catalog,
    ConfigurationError,
    Deliver,
    MissingRequirementError,
    Node,
    NodeStateError,
)
from netweave.sim import SimCluster


def test_builder_chains_and_orders_components():
    node = Node("n1", peers=["n2", "n3"]).use("beb").use("perfect-fd", timeout=3.0).build()
    assert [c.name for c in node.components] == ["beb", "perfect-fd"]
    assert node.component("failure-detector").options.timeout == 3.0
    assert node.members == ("n1", "n2", "n3") and node.peers == ("n2", "n3")


def test_peers_as_addresses():
    node = Node("a", peers={"a": "127.0.0.1:1", "b": "127.0.0.1:2"})
    assert node.peers == ("b",) and node.addresses["b"] == "127.0.0.1:2"


@pytest.mark.parametrize("bad", ["", "a/b"])
def test_bad_node_ids(bad):
    with pytest.raises(ConfigurationError):
        Node(bad)


def test_empty_node_and_unknown_callback_layer_fail_at_build():
    with pytest.raises(ConfigurationError, match="uses no plugin"):
        Node("n1").build()
    with pytest.raises(ConfigurationError, match="no selected plugin has that layer"):
        Node("n1").use("beb").on_deliver("urb", print).build()


def test_missing_requirement_from_python_api():
    class NeedsFD(Echo):
        name = "needs-fd"
        provides = ("needs-fd",)
        requires = ("failure-detector",)

    node = Node("n1", catalog=Catalog.discover(extra=[NeedsFD])).use("needs-fd")
    with pytest.raises(MissingRequirementError, match="perfect-fd"):
        node.build()


def test_broadcast_before_start_and_to_unknown_layer():
    node = Node("n1", peers=["n2"]).use("beb")
    with pytest.raises(NodeStateError, match="start it"):
        node.broadcast("beb", "x")
    cluster = SimCluster(2, lambda n: n.use("beb"))
    cluster.start()
    with pytest.raises(ConfigurationError, match="no broadcast layer 'urb'"):
        cluster.nodes["n1"].broadcast("urb", "x")
    with pytest.raises(NodeStateError, match="already built"):
        cluster.nodes["n1"].use("perfect-fd")


def test_callbacks_fire_on_delivery_once_per_message():
    got = {}

    def configure(node):
        node.use("beb").on_deliver("beb", lambda d, n=node.id: got.setdefault(n, []).append(d))

    cluster = SimCluster(3, configure, seed=2)
    cluster.network.duplicate = 0.5
    cluster.start()
    cluster.broadcast("n1", "beb", "hello")
    cluster.run(0.0005)
    assert got == {"n1": [Deliver("beb", "n1/1/1", "n1", "hello")]}  # local, not yet remote
    cluster.run(5)
    assert {n: [d.id for d in ds] for n, ds in got.items()} == {
        "n1": ["n1/1/1"], "n2": ["n1/1/1"], "n3": ["n1/1/1"]}


def test_a_failing_handler_does_not_kill_the_component(caplog):
    class Fragile(Echo):
        name = "fragile"
        provides = ("fragile",)

        def on_ping(self, sender, msg):
            if msg.n < 0:
                raise ValueError("malformed ping")
            super().on_ping(sender, msg)

    catalog = Catalog.discover(extra=[Fragile])
    cluster = SimCluster(2, lambda n: n.use("fragile"), catalog=catalog, strict=False)
    cluster.start()
    a = cluster.nodes["n1"]
    a.bus.call_soon(a.component("fragile").ctx.send, "n2", Ping(-1))
    a.bus.call_soon(a.component("fragile").ctx.send, "n2", Ping(7))
    cluster.run(2)
    b = cluster.nodes["n2"]
    assert b.component("fragile").seen == [("n1", 7)]
    assert b.errors == 1
    assert "malformed ping" in caplog.text


def test_sending_to_a_non_member_is_a_local_error():
    cluster = SimCluster(2, lambda n: n.use("echo"), catalog=Catalog.discover(extra=[Echo]))
    cluster.start()
    ctx = cluster.nodes["n1"].component("echo").ctx
    with pytest.raises(ConfigurationError, match="not a cluster member"):
        ctx.send("n9", Ping(1))


def test_timers_publish_events_and_can_be_cancelled():
    import attrs

    @attrs.frozen
    class Tick:
        n: int

    cluster = SimCluster(1, lambda n: n.use("echo"), catalog=Catalog.discover(extra=[Echo]))
    cluster.start()
    node = cluster.nodes["n1"]
    seen = []
    node.bus.subscribe(Tick, lambda e: seen.append((cluster.now, e.n)))
    ctx = node.component("echo").ctx
    ctx.set_timer(1.0, Tick(1))
    cancelled = ctx.set_timer(2.0, Tick(2))
    ctx.cancel_timer(cancelled)
    ctx.cancel_timer(12345)
    cluster.run(5)
    assert seen == [(1.0, 1)]


def test_stop_writes_a_stop_line_and_stops_in_reverse_order():
    order = []

    class Tracked(Echo):
        name = "tracked"
        provides = ("tracked",)
        requires = ("echo",)

        def stop(self):
            order.append(self.name)

    class TrackedEcho(Echo):
        def stop(self):
            order.append(self.name)

    catalog = Catalog.discover(autoload=False, extra=[TrackedEcho, Tracked])
    cluster = SimCluster(1, lambda n: n.use("tracked").use("echo"), catalog=catalog)
    cluster.start()
    node = cluster.nodes["n1"]
    node.stop_components()
    assert order == ["tracked", "echo"]
    assert cluster.trace[-1]["ev"] == "stop"
