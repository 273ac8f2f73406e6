"""All-ack uniform reliable broadcast: uniform agreement under faults, no blocking, no floods."""

from __future__ import annotations

import pytest
from delivery_properties import agreement, deliveries, random_run, reliable
from netweave import Catalog, MissingRequirementError
from netweave.sim import NetworkModel, SimCluster
from netweave_broadcast.all_ack_urb import AllAckUniformReliableBroadcast, UrbData

STACK = ["perfect-fd", "beb", "all-ack-urb"]


def urb_cluster(n=4, seed=1, fd="perfect-fd", plugin="all-ack-urb", catalog=None, **net):
    c = SimCluster(n, lambda node: node.use(fd).use(plugin), seed=seed, catalog=catalog,
                   network=NetworkModel(**net))
    c.start()
    return c


def test_uniform_reliable_broadcast_properties_hold_over_many_faulty_seeds():
    for seed in range(120):
        cluster = random_run(STACK, seed, restart=True)
        violations = reliable(cluster.trace, "urb", uniform=True)
        assert violations == [], f"seed {seed}: {violations[:3]}"


def test_crash_of_a_non_sender_only_delays_delivery_until_detection():
    # Naive behaviour caught: waiting for acks from the configured membership (crashed
    # nodes included) blocks every later message for ever.
    c = urb_cluster(seed=2)
    c.at(1.0, c.crash, "n4")
    for i in range(10):
        c.at(1.5 + i * 0.5, c.broadcast, "n1", "urb", i)
    c.run(15.0)
    got = deliveries(c.trace, "urb")
    assert got[("n1", 1)] == got[("n2", 1)] == got[("n3", 1)] == [
        f"n1/1/{i}" for i in range(1, 11)]
    detected = min(r["t"] for r in c.trace if r["ev"] == "suspect")
    first = min(r["t"] for r in c.trace if r["ev"] == "deliver")
    assert detected <= first < detected + 0.1  # pending messages re-checked on Crashed


def test_partial_broadcast_then_sender_crash_is_delivered_by_all_survivors():
    # Naive behaviour caught: only the sender relays, so nobody delivers (S8).
    c = urb_cluster(seed=3)
    c.at(1.0, c.one_way, ["n1"], ["n3", "n4"])
    c.at(1.1, c.broadcast, "n1", "urb", "partial")
    c.at(1.2, c.crash, "n1")
    c.run(10.0)
    got = deliveries(c.trace, "urb")
    assert got[("n2", 1)] == got[("n3", 1)] == got[("n4", 1)] == ["n1/1/1"]


class _DeliverAtOnce(AllAckUniformReliableBroadcast):
    """A broken variant: delivers on first sight, before any ack."""

    name = "urb-without-acks"
    default = False

    def can_deliver(self, entry):
        return True


@pytest.mark.parametrize(("plugin", "uniform"), [("all-ack-urb", True),
                                                 ("urb-without-acks", False)])
def test_sender_that_reached_nobody_does_not_deliver_before_it_crashes(plugin, uniform):
    c = urb_cluster(seed=4, plugin=plugin, catalog=Catalog.discover(extra=[_DeliverAtOnce]))
    c.at(1.0, c.one_way, ["n1"], ["n2", "n3", "n4"])
    c.at(1.1, c.broadcast, "n1", "urb", "lost")
    c.at(1.5, c.crash, "n1")
    c.run(10.0)
    assert (agreement(c.trace, "urb", uniform=True) == []) is uniform


def test_sender_crash_causes_no_re_sending():
    # The original re-sent every delivered message after a sender crash (1,077
    # duplicate receptions per node). Here each node receives each message once from
    # each relayer, crash or not.
    c = urb_cluster(n=4, seed=5)
    received = {n: 0 for n in c.ids}
    for n, node in c.nodes.items():
        node.bus.subscribe(("deliver", UrbData),
                           lambda *_, n=n: received.__setitem__(n, received[n] + 1))
    for i in range(100):
        c.at(1.0 + i * 0.02, c.broadcast, "n1", "urb", i)
    c.at(3.5, c.crash, "n1")
    c.run(15.0)
    for n in ("n2", "n3", "n4"):
        assert len(deliveries(c.trace, "urb")[(n, 1)]) == 100
        assert received[n] <= 100 * 4


def test_an_eventually_perfect_detector_is_refused_before_the_node_starts():
    # It would stay safe but stop delivering after a crash (it cannot act on suspicions):
    # the stack cannot work, so the registry refuses it at plan time.
    with pytest.raises(MissingRequirementError) as err:
        urb_cluster(seed=6, fd="eventually-perfect-fd")
    assert "'all-ack-urb' requires 'perfect-failure-detector'" in str(err.value)
    assert "'perfect-fd'" in str(err.value)


def test_state_stays_bounded_over_thousands_of_broadcasts():
    c = urb_cluster(seed=7, loss=0.02, reorder=0.1)
    for i in range(3000):
        c.at(0.5 + i * 0.01, c.broadcast, f"n{i % 4 + 1}", "urb", i)
    c.at(12.0, c.crash, "n4")
    sizes = []
    for k in range(1, 35):
        c.run(k * 1.0)
        sizes.append(max(c.nodes[n].component("urb").state_size() for n in c.alive()))
    assert max(sizes) < 1500, sizes  # about the messages of the detection time, not 3000
    assert sizes[-1] <= 8, sizes  # at rest: one watermark per origin (plus a few above)
    sent = sum(1 for r in c.trace if r["ev"] == "broadcast")
    counts = {p: len(ids) for p, ids in deliveries(c.trace, "urb").items()}
    assert counts[("n1", 1)] == counts[("n2", 1)] == counts[("n3", 1)] >= sent - 5


def test_a_process_restarted_while_cut_off_gets_what_was_broadcast_after_it_started():
    # The detector rightly reports n3's old process crashed while the new one, cut off,
    # is not heard yet: the links keep what they had for n3 and give it to the new
    # process, which owes the message broadcast after it started.
    c = urb_cluster(n=3)
    c.at(0.9, c.partition, ["n3"], ["n1", "n2"])
    c.at(1.0, c.restart, "n3")
    c.at(1.2, c.broadcast, "n2", "urb", "m")
    c.at(4.0, c.heal)
    c.run(20.0)
    assert reliable(c.trace, "urb", uniform=True) == []
    assert deliveries(c.trace, "urb")[("n3", 2)] == ["n2/1/1"]


def test_learning_of_a_restart_grants_no_ack_to_the_new_process():
    # n1 and n2 hold m waiting for n3 when they learn that n3 restarted; the new n3
    # hears nothing yet. Counting its ack would let them deliver m and crash, leaving the
    # correct new n3, which started before m was broadcast, without it for ever.
    c = urb_cluster(n=3)
    c.at(0.9, c.one_way, ["n1", "n2"], ["n3"])
    c.at(0.9, c.one_way, ["n3"], ["n1", "n2"])
    c.at(1.0, c.restart, "n3")
    c.at(1.2, c.broadcast, "n2", "urb", "m")

    def n3_is_heard_but_hears_nothing():
        c.heal()
        c.one_way(["n1", "n2"], ["n3"])

    c.at(1.5, n3_is_heard_but_hears_nothing)
    c.at(2.3, c.crash, "n1")
    c.at(2.3, c.crash, "n2")
    c.at(4.0, c.heal)
    c.run(20.0)
    restarts = [r for r in c.trace if r["ev"] == "start" and r["node"] == "n3"]
    assert [r["incarnation"] for r in restarts] == [1, 2]
    assert reliable(c.trace, "urb", uniform=True) == []


def test_a_restarted_process_gets_the_pending_messages_and_its_relay_completes_them():
    c = urb_cluster(n=3)
    c.at(0.9, c.partition, ["n3"], ["n1", "n2"])
    c.at(1.0, c.restart, "n3")
    c.at(1.2, c.broadcast, "n2", "urb", "m")
    c.at(1.5, c.heal)  # n3 is heard again before any detector times out
    c.run(20.0)
    got = deliveries(c.trace, "urb")
    assert got[("n1", 1)] == got[("n2", 1)] == got[("n3", 2)] == ["n2/1/1"]
    assert reliable(c.trace, "urb", uniform=True) == []


def test_pending_messages_are_relayed_again_to_the_restarted_process_alone():
    from netweave.link import LinkData
    from netweave_broadcast.all_ack_urb import UrbData

    c = urb_cluster(n=5)
    c.at(0.9, c.partition, ["n5"], ["n1", "n2", "n3", "n4"])
    c.at(1.0, c.restart, "n5")
    for i in range(10):
        c.at(1.1 + i * 0.01, c.broadcast, "n1", "urb", i)
    c.run(1.45)
    copies = []

    def count(src, dst, message):
        body = message.body if isinstance(message, LinkData) else None
        if isinstance(getattr(body, "payload", None), UrbData) or isinstance(body, UrbData):
            copies.append((src, dst))

    c.watch(count)
    c.at(1.5, c.heal)
    c.run(20.0)
    got = deliveries(c.trace, "urb")
    assert all(len(got[p]) == 10 for p in got) and len(got) == 5
    # After the heal: what n1..n4 kept for n5 (40), their second relay to n5 alone (40)
    # and n5's own relay to everyone (50); none between n1..n4, which have each other's
    # relays already (relaying again through beb sent them 120 more).
    to_others = sum(1 for src, dst in copies if src != "n5" and dst != "n5")
    assert to_others == 0, copies
    assert len(copies) <= 130 + 10, len(copies)  # a few retransmissions at the heal
