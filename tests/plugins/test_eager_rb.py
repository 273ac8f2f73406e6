"""Eager reliable broadcast: the textbook's properties under faults, without a detector."""

from __future__ import annotations

import msgspec
import pytest
from delivery_properties import deliveries, random_run, reliable
from netweave.sim import NetworkModel, SimCluster
from netweave_broadcast.eager_rb import EagerRbData, EagerReliableBroadcast

STACK = ["beb", "eager-rb"]


def test_reliable_broadcast_properties_hold_over_200_faulty_seeds():
    for seed in range(200):
        cluster = random_run(STACK, seed, restart=True)
        violations = reliable(cluster.trace, "rb")
        assert violations == [], f"seed {seed}: {violations[:3]}"


def test_needs_no_failure_detector():
    c = SimCluster(3, lambda n: n.use("eager-rb"), seed=1)
    assert [type(x).__name__ for x in c.nodes["n1"].components] == [
        "BestEffortBroadcast", "EagerReliableBroadcast"]


def test_message_that_reached_one_node_reaches_all_after_its_sender_crashed():
    # Naive behaviour caught: beb where rb is claimed (nobody relays) leaves n3, n4 empty.
    c = SimCluster(4, lambda n: n.use("eager-rb"), seed=2)
    c.start()
    c.at(1.0, c.one_way, ["n1"], ["n3", "n4"])
    c.at(1.1, c.broadcast, "n1", "rb", "only-n2")
    c.at(1.2, c.crash, "n1")
    c.run(5.0)
    got = deliveries(c.trace, "rb")
    for node in ("n2", "n3", "n4"):
        assert got[(node, 1)] == ["n1/1/1"]


def test_each_node_relays_each_message_once():
    # Naive behaviour caught: relaying on every reception (not only the first) floods.
    c = SimCluster(4, lambda n: n.use("eager-rb"), seed=3)
    received = {n: 0 for n in c.ids}
    for n, node in c.nodes.items():
        node.bus.subscribe(("deliver", EagerRbData),
                           lambda *_, n=n: received.__setitem__(n, received[n] + 1))
    c.start()
    for i in range(10):
        c.at(1.0 + i / 10, c.broadcast, "n1", "rb", i)
    c.run(5.0)
    assert all(len(ids) == 10 for ids in deliveries(c.trace, "rb").values())
    # Each node receives the original and one relay from each of the 3 others.
    assert received == dict.fromkeys(c.ids, 40)


def test_state_stays_bounded_over_thousands_of_broadcasts():
    c = SimCluster(4, lambda n: n.use("eager-rb"), seed=4,
                   network=NetworkModel(loss=0.02, reorder=0.2))
    c.start()
    for i in range(3000):
        c.at(0.5 + i * 0.01, c.broadcast, f"n{i % 4 + 1}", "rb", i)
    sizes = []
    for k in range(1, 35):
        c.run(k * 1.0)
        sizes.append(max(c.nodes[n].component("rb").state_size() for n in c.ids))
    assert max(sizes) < 100, sizes  # only out-of-order numbers above the watermarks
    assert sizes[-1] == 4, sizes  # one watermark per origin
    assert all(len(ids) == 3000 for ids in deliveries(c.trace, "rb").values())


class _NoDeduplication(EagerReliableBroadcast):
    """A broken variant: delivers every copy it receives."""

    name = "eager-rb-without-dedup"

    def on_data(self, mid, relayer, msg):
        super().on_data(mid, relayer, msg)
        if relayer != msg.id.split("/")[0]:  # a relayed copy: deliver it again
            self.ctx.deliver(msg.id, msg.id.split("/")[0], msg.payload)


def test_the_property_checks_catch_a_layer_without_de_duplication():
    from netweave import Catalog
    from netweave.sim import Scenario

    catalog = Catalog.discover(extra=[_NoDeduplication])
    scenario = Scenario.random(nodes=4, seed=1, use=["beb", "eager-rb-without-dedup"],
                               messages=5)
    cluster = scenario.run(1, catalog=catalog)
    assert reliable(cluster.trace, "rb") != []


@pytest.mark.parametrize("rb", ["eager-rb", "lazy-rb"])
def test_forward_delivers_a_message_once_and_drops_what_is_not_one(rb: str):
    # A layer above hands back what broadcast() returned at another process (a JOIN to a
    # restarted process): delivered once, like a message from the network; anything else
    # is dropped and counted, and the layer keeps serving.
    c = SimCluster(3, lambda n: n.use(rb), seed=1, fill="defaults")
    c.start()
    c.one_way(["n1"], ["n3"])
    sent = c.nodes["n1"].component("rb").broadcast("n1/1/1", "m")
    c.run(1.0)
    wire = msgspec.msgpack.decode(msgspec.msgpack.encode(sent))  # as a JOIN carries it
    target = c.nodes["n3"].component("rb")
    bad = ({"x": 1}, "m", {**wire, "__nw__": "no.such.message"}, {**wire, "id": 7},
           {**wire, "__nw__": ["x"]}, {**wire, "payload": {"__nw__": "no.such.message"}})
    for value in bad:
        target.forward(value)
    assert target.dropped == len(bad) and c.nodes["n3"].errors == 0
    target.forward(wire)
    target.forward(sent)
    c.heal()
    c.run(5.0)
    got = deliveries(c.trace, "rb")
    assert got[("n3", 1)] == got[("n2", 1)] == got[("n1", 1)] == ["n1/1/1"]
