"""The original's eight failure scenarios (shared BEHAVIOUR.md, S1-S8), in the simulator.

Each test states the naive behaviour it would catch: what the original did, or the
shortcut that would bring that failure back.
"""

from __future__ import annotations

import itertools

from delivery_properties import deliveries, fifo_order, reliable
from netweave.link import LinkData, LinkHello
from netweave.sim import NetworkModel, SimCluster
from netweave_broadcast.all_ack_urb import UrbData
from netweave_broadcast.beb import BebData
from netweave_fd.perfect import Heartbeat


def urb(n=4, seed=1, **kw):
    return SimCluster(n, lambda node: node.use("perfect-fd").use("all-ack-urb"), seed=seed,
                      **kw)


def count_receptions(c, msg_type):
    """Per node, how many ``msg_type`` payloads the lower layer handed up."""
    received = dict.fromkeys(c.ids, 0)
    for n, node in c.nodes.items():
        node.bus.subscribe(("deliver", msg_type),
                           lambda *_, n=n: received.__setitem__(n, received[n] + 1))
    return received


def test_s1_urb_crash_of_a_non_sender_does_not_stop_deliveries():
    # Naive: waiting for acks from the configured membership (crashed nodes included)
    # stops every delivery once one node dies, as the original did.
    c = urb(seed=11)
    c.start()
    for i in range(200):
        c.at(0.5 + i * 0.05, c.broadcast, "n1", "urb", i)
    c.at(3.0, c.crash, "n3")
    c.run(20.0)
    got = deliveries(c.trace, "urb")
    for n in ("n1", "n2", "n4"):  # uniform broadcast promises no order
        assert sorted(got[(n, 1)]) == sorted(f"n1/1/{i}" for i in range(1, 201))
    # The stall lasts one detection time, not for ever.
    times = sorted(r["t"] for r in c.trace if r["ev"] == "deliver" and r["node"] == "n2")
    assert max(b - a for a, b in itertools.pairwise(times)) < 3.0
    assert reliable(c.trace, "urb", uniform=True) == []


def test_s2_urb_crash_of_the_sender_causes_no_re_sending():
    # Naive: on a sender's crash every survivor re-sends everything it delivered (the
    # original: 1,077 duplicate receptions per node).
    c = urb(seed=12)
    received = count_receptions(c, UrbData)
    c.start()
    for i in range(500):
        c.at(0.5 + i * 0.01, c.broadcast, "n1", "urb", i)
    c.at(3.0, c.crash, "n1")
    c.run(20.0)
    sent = sum(1 for r in c.trace if r["ev"] == "broadcast")
    got = deliveries(c.trace, "urb")
    assert sorted(got[("n2", 1)]) == sorted(got[("n3", 1)]) == sorted(got[("n4", 1)])
    assert len(got[("n2", 1)]) >= sent - 5
    for n in ("n2", "n3", "n4"):
        # At most one copy per relayer (4 nodes), crash or not.
        assert received[n] <= 4 * sent
    assert reliable(c.trace, "urb", uniform=True) == []


def test_s3_late_starting_node_is_not_suspected_and_gets_earlier_messages():
    # Naive: watching a node from time 0 declares a late starter dead for ever, and
    # messages sent before it started are never delivered (the original).
    c = urb(seed=13)
    c.start(["n1", "n2", "n3"])
    for i in range(5):
        c.at(1.0 + i * 0.5, c.broadcast, "n1", "urb", i)
    c.at(5.0, c.start, ["n4"])
    c.at(8.0, c.broadcast, "n4", "urb", "late")
    c.run(20.0)
    assert [r for r in c.trace if r["ev"] == "suspect"] == []
    got = deliveries(c.trace, "urb")
    expected = {r["id"] for r in c.trace if r["ev"] == "broadcast"}
    for n in c.ids:
        assert set(got[(n, 1)]) == expected and len(got[(n, 1)]) == 6
    # Nothing was delivered before n4 had acked: all-ack waits for every live process.
    assert min(r["t"] for r in c.trace if r["ev"] == "deliver") > 5.0


def test_s4_garbage_and_unknown_senders_do_not_stop_the_failure_detector():
    # Naive: a heartbeat from an unknown address, or any message a handler chokes on,
    # kills the responder; then every node suspects every other (the original).
    def configure(node):
        node.use("perfect-fd").use("all-ack-urb")
        node.on_deliver("urb", lambda d: (_ for _ in ()).throw(ValueError("boom"))
                        if d.payload == "boom" else None)

    c = SimCluster(4, configure, seed=14, strict=False)
    c.start()
    c.run(1.0)
    n2 = c.nodes["n2"]
    n2.receive("ghost", LinkHello(1, 0))
    n2.receive("ghost", LinkData(1, n2.incarnation, 1, Heartbeat()))
    n2.receive("n1", BebData("n1/1/1", "not a link message"))
    n2.receive("n1", Heartbeat())
    c.at(1.5, c.broadcast, "n1", "urb", "boom")  # raises in every node's callback
    for i in range(5):
        c.at(2.0 + i, c.broadcast, "n3", "urb", i)
    c.at(8.0, c.crash, "n4")
    c.run(20.0)
    assert n2.links.malformed == 2
    assert all(n.errors == 1 for n in c.nodes.values() if n.id != "n4")
    suspicions = {(r["node"], r["peer"]) for r in c.trace if r["ev"] == "suspect"}
    assert suspicions == {("n1", "n4"), ("n2", "n4"), ("n3", "n4")}
    sent = {r["id"] for r in c.trace if r["ev"] == "broadcast"}
    assert len(sent) == 6
    got = deliveries(c.trace, "urb")
    assert set(got[("n2", 1)]) == sent and len(got[("n2", 1)]) == 6


def test_s5_urb_messages_from_unknown_or_forged_sources_are_dropped_not_fatal():
    # Naive: trusting the origin written in a message, or panicking on an unknown one
    # (the original's URB thread died and the cluster stopped delivering).
    c = urb(seed=15, strict=False)
    c.start()
    c.run(1.0)
    n2 = c.nodes["n2"]
    evil = UrbData("ghost/1/1", 1, "evil")
    n2.receive("ghost", LinkData(1, n2.incarnation, 1, BebData("ghost/1/1", evil)))
    # What a link from n3 could carry: another origin's id, an unknown origin, garbage.
    n2.bus.publish_message("n3", BebData("n1/1/77", UrbData("n1/1/77", 77, "forged")))
    n2.bus.publish_message("n3", BebData("n3/1/900", evil))
    n2.bus.publish_message("n3", BebData("n3/1/901", UrbData("garbage", -1, None)))
    n2.bus.publish_message("n3", BebData("n3/1/902", UrbData(None, "x", None)))
    for i in range(5):
        c.at(2.0 + i * 0.1, c.broadcast, "n1", "urb", i)
    c.run(10.0)
    assert n2.component("beb").dropped == 2
    assert n2.component("urb").dropped == 3
    assert n2.errors == 0
    got = deliveries(c.trace, "urb")
    for n in c.ids:
        assert sorted(got[(n, 1)]) == [f"n1/1/{i}" for i in range(1, 6)]


def test_s6_restarted_sender_uses_new_ids_that_everyone_delivers():
    # Naive: numbering from 1 again under the same name; receivers drop the new
    # messages as duplicates while the sender delivers them (the original diverged).
    c = urb(seed=16)
    c.start()
    for i in range(5):
        c.at(1.0 + i * 0.1, c.broadcast, "n1", "urb", f"old{i}")
    c.at(2.0, c.restart, "n1")  # back before anyone detects the crash
    for i in range(5):
        c.at(2.5 + i * 0.1, c.broadcast, "n1", "urb", f"new{i}")
    c.run(15.0)
    ids = [r["id"] for r in c.trace if r["ev"] == "broadcast"]
    assert len(ids) == len(set(ids)) == 10
    new = [f"n1/2/{i}" for i in range(1, 6)]
    got = deliveries(c.trace, "urb")
    for n in ("n2", "n3", "n4"):
        assert sorted(got[(n, 1)]) == [f"n1/1/{i}" for i in range(1, 6)] + new
    assert sorted(got[("n1", 2)]) == new
    assert reliable(c.trace, "urb", uniform=True) == []


def test_s7_rb_relays_a_crashed_senders_message_that_reached_one_node():
    # Naive: beb where rb is claimed (nobody relays) leaves n3 and n4 without it.
    c = SimCluster(4, lambda n: n.use("perfect-fd").use("lazy-rb").use("fifo-rb"), seed=17)
    c.start()
    c.at(1.0, c.one_way, ["n1"], ["n3", "n4"])
    for i in range(3):
        c.at(1.1 + i * 0.01, c.broadcast, "n1", "fifo", i)
    c.at(1.3, c.crash, "n1")
    c.run(10.0)
    got = deliveries(c.trace, "fifo")
    for n in ("n2", "n3", "n4"):
        assert got[(n, 1)] == ["n1/1/1", "n1/1/2", "n1/1/3"]
    assert reliable(c.trace, "fifo") + fifo_order(c.trace, "fifo") == []


def test_s8_urb_partial_broadcast_then_sender_crash_is_delivered_by_all_survivors():
    # Naive: only the sender relays, or acks are awaited from the dead sender: nobody
    # ever delivers (the original).
    delivered = 0
    for seed in range(20):
        c = urb(seed=18 + seed, network=NetworkModel(loss=0.1))
        c.start()
        c.at(1.0, c.one_way, ["n1"], ["n3", "n4"])
        c.at(1.1, c.broadcast, "n1", "urb", "partial")
        c.at(1.15, c.crash, "n1")
        c.run(10.0)
        got = deliveries(c.trace, "urb")
        survivors = [got.get((n, 1), []) for n in ("n2", "n3", "n4")]
        # n2 may have lost n1's only copy (loss, then n1 died): then nobody delivers.
        assert survivors in ([["n1/1/1"]] * 3, [[]] * 3), (seed, survivors)
        assert reliable(c.trace, "urb", uniform=True) == []
        delivered += survivors[0] == ["n1/1/1"]
    assert delivered >= 15
