"""The SWIM failure detector: round-robin probes, indirect probes, suspicion, Lifeguard."""

from __future__ import annotations

from collections import Counter

import pytest
from netweave import InvalidOptionError, Node
from netweave.sim import NetworkModel, SimCluster
from netweave_fd.swim import SwimFailureDetector, SwimPing, SwimPingReq


def cluster(n=4, seed=1, **options):
    c = SimCluster(n, lambda node: node.use("swim-fd", **options), seed=seed)
    c.start()
    return c


def fd(c, node) -> SwimFailureDetector:
    component = c.nodes[node].component("failure-detector")
    assert isinstance(component, SwimFailureDetector)
    return component


def events(c, ev, node=None, peer=None):
    return [r for r in c.trace if r["ev"] == ev and (node is None or r["node"] == node)
            and (peer is None or r["peer"] == peer)]


def watch(c, kind):
    seen: list[tuple[float, str, str]] = []
    c.watch(lambda src, dst, msg: seen.append((c.now, src, dst))
            if isinstance(getattr(msg, "body", None), kind) else None)
    return seen


@pytest.mark.parametrize("seed", range(4))
def test_crash_is_suspected_within_the_round_robin_bound_and_for_ever(seed):
    n, period, suspicion = 5, 0.5, 2.0
    c = cluster(n=n, seed=seed)
    c.at(5.0, c.crash, "n3")
    c.run(60.0)
    bound = (2 * n - 1) * period + suspicion + 0.1
    for node in ("n1", "n2", "n4", "n5"):
        sus = events(c, "suspect", node, "n3")
        assert len(sus) == 1 and sus[0]["layer"] == "fd"
        assert 5.0 + suspicion < sus[0]["t"] <= 5.0 + bound
        assert events(c, "restore", node, "n3") == []
    assert [r for r in events(c, "suspect") if r["peer"] != "n3"] == []


def test_each_round_probes_every_peer_once_in_a_fresh_order():
    c = cluster(n=6, seed=2)
    pings = watch(c, SwimPing)
    c.run(30.0)
    mine = [dst for _, src, dst in pings if src == "n1"]
    rounds = [mine[i:i + 5] for i in range(0, len(mine) - 5, 5)]
    assert len(rounds) >= 10
    assert all(sorted(r) == ["n2", "n3", "n4", "n5", "n6"] for r in rounds)
    assert len({tuple(r) for r in rounds}) > 3  # reshuffled each round


def test_cost_is_one_ping_per_node_per_period_whatever_the_size():
    for n in (4, 12):
        c = cluster(n=n, seed=3)
        pings = watch(c, SwimPing)
        c.run(20.0)
        per_node = Counter(src for _, src, _ in pings)
        assert all(38 <= k <= 42 for k in per_node.values()), per_node


def test_indirect_probes_hide_a_one_way_partition():
    c = cluster(n=5, seed=4)
    reqs = watch(c, SwimPingReq)
    c.at(2.0, c.one_way, ["n1"], ["n2"])  # n1's pings to n2 are lost, n2 answers others
    c.run(40.0)
    assert events(c, "suspect") == []
    assert any(src == "n1" for _, src, _ in reqs)


def test_without_indirect_probes_the_one_way_partition_is_a_suspicion():
    c = cluster(n=5, seed=4, k=0)
    c.at(2.0, c.one_way, ["n1"], ["n2"])
    c.at(20.0, c.heal)
    c.run(40.0)
    assert len(events(c, "suspect", "n1", "n2")) == 1
    res = events(c, "restore", "n1", "n2")
    assert len(res) == 1 and 20.0 < res[0]["t"] < 22.1  # the ping, retransmitted
    assert fd(c, "n1").suspected == set()


def test_a_partitioned_peer_is_suspected_then_restored():
    c = cluster(n=4, seed=5)
    c.at(2.0, c.partition, ["n1"], ["n2", "n3", "n4"])
    c.at(12.0, c.heal)
    c.run(30.0)
    for node in ("n2", "n3", "n4"):
        assert len(events(c, "suspect", node, "n1")) == 1
        assert len(events(c, "restore", node, "n1")) == 1
        assert fd(c, node).suspected == set()


def test_restarted_peer_is_restored():
    c = cluster(seed=6)
    c.at(2.0, c.crash, "n2")
    c.at(15.0, c.restart, "n2")
    c.run(25.0)
    for node in ("n1", "n3", "n4"):
        assert len(events(c, "suspect", node, "n2")) == 1
        assert len(events(c, "restore", node, "n2")) == 1
        assert fd(c, node).suspected == set()


def test_one_ping_in_flight_to_a_dead_peer():
    c = cluster(seed=7)
    c.at(1.0, c.crash, "n4")
    c.run(200.0)
    for node in ("n1", "n2", "n3"):
        assert c.nodes[node].links.pending("n4") <= 2


def test_lifeguard_slows_a_node_whose_own_probes_fail_and_recovers():
    c = cluster(n=5, seed=8, lifeguard=True)
    c.at(5.0, c.partition, ["n1"], ["n2", "n3", "n4", "n5"])
    c.run(30.0)
    assert fd(c, "n1").lhm == 8 and fd(c, "n1").multiplier == 9
    assert all(fd(c, n).lhm <= 1 for n in ("n2", "n3", "n4", "n5"))
    c.heal()
    c.run(120.0)
    assert fd(c, "n1").lhm == 0
    assert all(not fd(c, n).suspected for n in c.ids)


def test_lifeguard_helpers_nacks_come_back_before_the_probe_ends():
    # One-way delay 40 ms: a forwarded ack (ping-req, ping, ack, ind-ack: 160 ms) fits in
    # the 300 ms after the probe timeout, and so must a live helper's nack (ping-req,
    # half the time left, nack). Nacks sent at 80% of it came back 20 ms after the probe
    # ended: every failed probe of the crashed n5 raised a healthy prober's LHM by its
    # three live helpers (what delayed n2's detection of n3 past the default mix's
    # liveness bound in seed 689 of swim-fd with lifeguard).
    c = SimCluster(5, lambda node: node.use("swim-fd", lifeguard=True), seed=3,
                   network=NetworkModel(latency=0.04))
    c.start()
    c.at(1.0, c.crash, "n5")
    highest = dict.fromkeys(["n1", "n2", "n3", "n4"], 0)

    def sample() -> None:
        for node in highest:
            highest[node] = max(highest[node], fd(c, node).lhm)

    for k in range(1, 300):
        c.at(k * 0.1, sample)
    c.run(30.0)
    failed = [fd(c, node).probes_failed for node in highest]
    assert all(f >= 2 for f in failed), failed  # n5's probes failed, with helpers asked
    assert highest == dict.fromkeys(highest, 0)
    for node in highest:
        assert len(events(c, "suspect", node, "n5")) == 1


def test_lifeguard_spares_the_peers_of_a_sick_node():
    # n1 cannot hear anyone for 6 s: without Lifeguard it suspects more of its peers.
    def suspicions(lifeguard: bool) -> int:
        total = 0
        for seed in range(6):
            c = cluster(n=6, seed=seed, lifeguard=lifeguard)
            c.at(3.0, c.one_way, ["n2", "n3", "n4", "n5", "n6"], ["n1"])
            c.at(9.0, c.heal)
            c.run(40.0)
            total += len(events(c, "suspect", "n1"))
            assert not fd(c, "n1").suspected
        return total

    assert suspicions(True) < suspicions(False)


def test_without_lifeguard_the_multiplier_stays_one():
    c = cluster(n=4, seed=9)
    c.at(2.0, c.partition, ["n1"], ["n2", "n3", "n4"])
    c.run(10.0)
    assert fd(c, "n1").multiplier == 1
    assert fd(c, "n1").probes_failed > 5


@pytest.mark.parametrize(("options", "message"), [
    ({"period": 0.2, "probe_timeout": 0.3}, "probe_timeout (0.3) must be smaller than period"),
    ({"period": 0}, "period must be > 0"),
    ({"k": -1}, "k must be >= 0"),
    ({"suspicion_timeout": 0}, "suspicion_timeout must be > 0"),
    ({"lifeguard_max": -2}, "lifeguard_max must be >= 0"),
])
def test_invalid_options_are_refused_with_a_clear_message(options, message):
    node = Node("n1", peers=["n2"]).use("swim-fd", **options)
    with pytest.raises(InvalidOptionError, match="swim-fd") as info:
        node.build()
    assert message in str(info.value)
