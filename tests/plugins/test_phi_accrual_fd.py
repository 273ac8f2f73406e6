"""The phi accrual failure detector: the formula, detection, adaptation, restoration."""

from __future__ import annotations

import math

import pytest
from netweave import InvalidOptionError, Node
from netweave.sim import NetworkModel, SimCluster
from netweave_fd.phi_accrual import PhiAccrualFailureDetector, phi, phi_limit


def cluster(n=4, seed=1, network=None, **options):
    c = SimCluster(n, lambda node: node.use("phi-accrual-fd", **options), seed=seed,
                   network=network)
    c.start()
    return c


def fd(c, node) -> PhiAccrualFailureDetector:
    component = c.nodes[node].component("failure-detector")
    assert isinstance(component, PhiAccrualFailureDetector)
    return component


def events(c, ev, node=None, peer=None):
    return [r for r in c.trace if r["ev"] == ev and (node is None or r["node"] == node)
            and (peer is None or r["peer"] == peer)]


def test_phi_is_minus_log10_of_the_normal_tail():
    assert phi(1.0, 1.0, 0.1) == pytest.approx(-math.log10(0.5))
    # one standard deviation above the mean: P(Z > 1) = 0.158655
    assert phi(1.1, 1.0, 0.1) == pytest.approx(-math.log10(0.15865525393145707))
    values = [phi(t / 10, 1.0, 0.2) for t in range(0, 200)]
    assert values == sorted(values)
    # far in the tail, where erfc underflows, it stays finite and keeps growing
    assert 500 < phi(6.0, 1.0, 0.1) < phi(7.0, 1.0, 0.1) < math.inf


def test_the_limit_is_where_phi_crosses_the_threshold():
    for threshold in (0.5, 1.0, 3.0, 8.0, 16.0, 400.0):
        y = phi_limit(threshold)
        assert phi(y, 0.0, 1.0) > threshold >= phi(y - 1e-9, 0.0, 1.0)
    assert phi_limit(8.0) == pytest.approx(5.6120, abs=1e-4)


def test_crash_is_suspected_when_phi_crosses_the_threshold_and_for_ever():
    c = cluster(seed=3)
    c.run(20.0)
    expected = {n: fd(c, n).last["n3"] + fd(c, n).suspect_after("n3") for n in ("n1", "n2")}
    c.crash("n3")
    c.run(120.0)
    for node in ("n1", "n2", "n4"):
        sus = events(c, "suspect", node, "n3")
        assert len(sus) == 1 and sus[0]["layer"] == "fd"
        assert events(c, "restore", node, "n3") == []
        # mean 1 s + acceptable_pause 3 s + 5.61 x min deviation 0.1 s after the last
        # beat, which came at 19 s (one a second)
        assert 19.0 + 4.4 < sus[0]["t"] < 20.0 + 4.7
        assert fd(c, node).phi("n3") > 8.0
    for node, t in expected.items():
        assert events(c, "suspect", node, "n3")[0]["t"] == pytest.approx(t, abs=1e-6)
    assert [r for r in events(c, "suspect") if r["peer"] != "n3"] == []


def test_a_false_suspicion_ends_at_the_next_heartbeat_and_slows_the_next_ones():
    c = cluster(n=3, seed=4)
    c.run(30.0)
    before = fd(c, "n1").suspect_after("n2")
    c.partition(["n1"], ["n2", "n3"])
    c.run(40.0)
    assert len(events(c, "suspect", "n1", "n2")) == 1
    assert fd(c, "n1").phi("n2") > 8.0
    c.heal()
    c.run(45.0)
    res = events(c, "restore", "n1", "n2")
    assert len(res) == 1 and 40.0 < res[0]["t"] < 40.0 + 2.0 + 0.1  # a link retransmission
    assert fd(c, "n1").suspected == set()
    after = fd(c, "n1").suspect_after("n2")
    assert after > before + 1.0, (before, after)  # the 10 s interval is in the history now
    # the same silence again is no longer a suspicion
    c.partition(["n1"], ["n2", "n3"])
    c.at(c.now + 5.0, c.heal)
    c.run(70.0)
    assert len(events(c, "suspect", "n1", "n2")) == 1


def test_no_suspicion_under_jittery_latency_and_loss():
    net = NetworkModel(latency={"dist": "lognormal", "low": 0.001, "mean": 0.05}, loss=0.05)
    c = cluster(n=5, seed=8, network=net)
    c.run(300.0)
    assert events(c, "suspect") == []
    mean, std = fd(c, "n1").mean_and_std("n2")
    assert 3.9 < mean < 4.3 and 0.1 <= std < 0.5


def test_restarted_peer_is_restored_and_timed_afresh():
    c = cluster(seed=5)
    c.at(2.0, c.crash, "n2")
    c.at(15.0, c.restart, "n2")
    c.run(30.0)
    for node in ("n1", "n3", "n4"):
        assert len(events(c, "suspect", node, "n2")) == 1
        assert len(events(c, "restore", node, "n2")) == 1
        assert fd(c, node).suspected == set()
        # the 13 s between the two processes is not a heartbeat interval
        assert max(fd(c, node).history["n2"].intervals) < 1.5


def test_a_peer_that_never_answers_is_suspected_and_a_late_starter_restored():
    c = SimCluster(3, lambda node: node.use("phi-accrual-fd"), seed=6)
    c.start(["n1", "n2"])
    c.at(8.0, c.start, ["n3"])
    c.run(20.0)
    # the bootstrap history: mean 1 s, deviation 0.25 s; plus acceptable_pause 3 s
    after = 1.0 + 3.0 + phi_limit(8.0) * 0.25
    assert [r["t"] for r in events(c, "suspect", "n1", "n3")] == [pytest.approx(after)]
    assert len(events(c, "restore", "n1", "n3")) == 1
    assert fd(c, "n1").suspected == set()


def test_one_request_in_flight_to_a_dead_peer():
    c = cluster(seed=7)
    c.at(1.0, c.crash, "n4")
    c.run(200.0)
    for node in ("n1", "n2", "n3"):
        assert c.nodes[node].links.pending("n4") <= 2


def test_history_keeps_max_samples_intervals():
    c = cluster(n=2, seed=9, max_samples=5)
    c.run(30.0)
    history = fd(c, "n1").history["n2"]
    assert len(history.intervals) == 5
    mean, std = history.stats()
    assert mean == pytest.approx(sum(history.intervals) / 5)
    assert std == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in history.intervals) / 5),
                                abs=1e-6)


@pytest.mark.parametrize(("options", "message"), [
    ({"period": 0}, "period must be > 0"),
    ({"threshold": -1}, "threshold must be > 0"),
    ({"max_samples": 0}, "max_samples must be >= 1"),
    ({"min_std_deviation": 0}, "min_std_deviation must be > 0"),
    ({"acceptable_pause": -0.5}, "acceptable_pause must be >= 0"),
    ({"first_heartbeat_estimate": "soon"}, "could not convert"),
])
def test_invalid_options_are_refused_with_a_clear_message(options, message):
    node = Node("n1", peers=["n2"]).use("phi-accrual-fd", **options)
    with pytest.raises(InvalidOptionError, match="phi-accrual-fd") as info:
        node.build()
    assert message in str(info.value)
