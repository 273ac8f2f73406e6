"""The eventually perfect failure detector: completeness, eventual accuracy, growing timeout."""

from __future__ import annotations

import pytest
from netweave import Crashed, InvalidOptionError, Node
from netweave.sim import NetworkModel, SimCluster
from netweave_fd.eventually_perfect import EventuallyPerfectFailureDetector


def cluster(n=4, seed=1, **options):
    c = SimCluster(n, lambda node: node.use("eventually-perfect-fd", **options), seed=seed)
    c.start()
    return c


def fd(c, node):
    component = c.nodes[node].component("failure-detector")
    assert isinstance(component, EventuallyPerfectFailureDetector)
    return component


def events(c, ev, node=None, peer=None):
    return [r for r in c.trace if r["ev"] == ev and (node is None or r["node"] == node)
            and (peer is None or r["peer"] == peer)]


def test_crashed_peer_is_suspected_by_every_correct_node_for_ever():
    c = cluster(seed=3)
    c.at(3.0, c.crash, "n3")
    c.run(30.0)
    for node in ("n1", "n2", "n4"):
        sus = events(c, "suspect", node, "n3")
        assert len(sus) == 1, sus
        # timeout (2.0) + one period (0.5) + latency after the last reply
        assert 3.0 < sus[0]["t"] <= 3.0 + 2.0 + 0.5 + 0.1
        assert sus[0]["layer"] == "fd"
        assert events(c, "restore", node, "n3") == []
    assert [r for r in events(c, "suspect") if r["peer"] != "n3"] == []


def test_false_suspicion_is_restored_and_lengthens_the_timeout():
    c = cluster(n=3, seed=4)
    c.at(2.0, c.partition, ["n1"], ["n2", "n3"])
    c.at(8.0, c.heal)
    c.run(20.0)
    sus, res = events(c, "suspect", "n1", "n2"), events(c, "restore", "n1", "n2")
    assert len(sus) == 1 and len(res) == 1
    assert sus[0]["t"] < 8.0 < res[0]["t"] < 8.0 + 2.0 + 0.5 + 0.1
    assert fd(c, "n1").timeout["n2"] == 3.0  # 2.0 + increment
    assert fd(c, "n1").timeout == {"n2": 3.0, "n3": 3.0}
    assert fd(c, "n2").timeout == {"n1": 3.0, "n3": 2.0}
    assert fd(c, "n1").suspected == set()


@pytest.mark.parametrize("seed", range(5))
def test_eventual_accuracy_repeated_partitions_stop_causing_suspicions(seed):
    # Each partition silences n1 for about 4 s + a link retransmission (up to 2 s):
    # longer than the first timeouts, shorter than the grown ones.
    c = cluster(n=3, seed=seed)
    for k in range(16):
        start = 1.0 + 10.0 * k
        c.at(start, c.partition, ["n1"], ["n2", "n3"])
        c.at(start + 4.0, c.heal)
    c.run(165.0)
    times = [r["t"] for r in events(c, "suspect")]
    assert times, "the first partitions must cause suspicions"
    assert max(times) < 100.0, "later partitions must no longer cause suspicions"
    assert all(not fd(c, n).suspected for n in c.ids)
    assert len(events(c, "suspect")) == len(events(c, "restore"))


def test_restarted_peer_is_restored_without_lengthening_its_timeout():
    c = cluster(seed=5)
    c.at(2.0, c.crash, "n2")
    c.at(10.0, c.restart, "n2")
    c.run(20.0)
    for node in ("n1", "n3", "n4"):
        assert len(events(c, "suspect", node, "n2")) == 1
        assert len(events(c, "restore", node, "n2")) == 1
        assert fd(c, node).timeout["n2"] == 2.0
        assert fd(c, node).suspected == set()


def test_late_starter_is_restored_once_it_starts():
    c = SimCluster(3, lambda node: node.use("eventually-perfect-fd"), seed=6)
    c.start(["n1", "n2"])
    c.at(5.0, c.start, ["n3"])
    c.run(15.0)
    assert fd(c, "n1").suspected == set()
    assert len(events(c, "restore", "n1", "n3")) == 1


def test_never_publishes_crashed_and_keeps_link_buffers_bounded():
    c = cluster(seed=7)
    seen: list[Crashed] = []
    for node in c.nodes.values():
        node.bus.subscribe(Crashed, seen.append)
    c.at(1.0, c.crash, "n4")
    c.run(120.0)
    assert seen == []
    # One request in flight to the dead peer, not one per period (240 periods).
    for node in ("n1", "n2", "n3"):
        assert c.nodes[node].links.pending("n4") <= 2


def test_no_suspicion_without_faults_under_jittery_latency():
    c = SimCluster(5, lambda node: node.use("eventually-perfect-fd"), seed=8,
                   network=NetworkModel(latency={"dist": "exponential", "low": 0.001,
                                                 "mean": 0.05}, loss=0.05))
    c.start()
    c.run(60.0)
    assert events(c, "suspect") == []


@pytest.mark.parametrize(("options", "message"), [
    ({"period": 2.0, "timeout": 1.0}, "period (2.0) must be smaller than timeout (1.0)"),
    ({"period": 0}, "period must be > 0"),
    ({"increment": -1}, "increment must be > 0"),
    ({"timeout": "soon"}, "could not convert"),
])
def test_invalid_options_are_refused_with_a_clear_message(options, message):
    node = Node("n1", peers=["n2"]).use("eventually-perfect-fd", **options)
    with pytest.raises(InvalidOptionError, match="eventually-perfect-fd") as info:
        node.build()
    assert message in str(info.value)
