"""Tests of the Lamport clock plugin, with netweave's test kit.

``sim_cluster`` is a fixture of netweave's pytest plugin, installed with netweave: it
builds and starts a simulated cluster whose nodes use the plugins given.
"""

from typing import Any

from netweave import Catalog, hookimpl
from netweave_lamport import LamportClock


def clock_condition_violations(trace: list[dict[str, Any]]) -> list[str]:
    """Pairs of trace lines where a happened before b but L(a) < L(b) fails.

    Two such orders are visible in a trace: the lines of one node, in order, and a
    message's broadcast before its deliveries.
    """
    found = []
    last: dict[str, int] = {}
    for line in trace:
        node, time = line["node"], line["lamport"]
        if time <= last.get(node, 0):
            found.append(f"{node}: {time} after {last[node]}")
        last[node] = time
    sent = {line["id"]: line["lamport"] for line in trace if line["ev"] == "broadcast"}
    for line in trace:
        if line["ev"] == "deliver" and line["lamport"] <= sent[line["id"]]:
            found.append(f"{line['node']} delivered {line['id']} at {line['lamport']}, "
                         f"broadcast at {sent[line['id']]}")
    return found


def run(sim_cluster: Any, clock: Any = "lamport-clock") -> list[dict[str, Any]]:
    cluster = sim_cluster("beb", clock, nodes=3, seed=7,
                          network={"loss": 0.1, "reorder": 0.3})
    for i in range(12):
        sender = f"n{i % 3 + 1}"
        for _ in range(i):  # the senders' applications count events of their own
            cluster.nodes[sender].component("logical-clock").tick()
        cluster.broadcast(sender, "beb", i)
        cluster.run(duration=0.05)
    cluster.run(duration=2.0)
    return cluster.trace


def test_installed_through_its_entry_point():
    info = Catalog.discover().plugins["lamport-clock"]
    assert info.cls is LamportClock and info.distribution == "netweave-lamport"


def test_clock_condition(sim_cluster):
    trace = run(sim_cluster)
    assert len(trace) > 40
    assert clock_condition_violations(trace) == []


def test_the_application_reads_the_time(sim_cluster):
    cluster = sim_cluster("beb", "lamport-clock", nodes=2)
    clock = cluster.nodes["n1"].component("logical-clock")
    before = clock.time
    assert clock.tick() == before + 1 and clock.time == before + 1


class ForgetfulClock(LamportClock):
    """A broken clock: counts receipts but never catches up with the sender."""

    name = "forgetful-clock"

    @hookimpl
    def netweave_link_incoming(self, peer, message, meta):
        self.tick()


def test_the_test_catches_a_clock_that_does_not_catch_up(sim_cluster):
    assert clock_condition_violations(run(sim_cluster, ForgetfulClock)) != []
