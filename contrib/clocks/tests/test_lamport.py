"""The Lamport clock component: stamping, merging, trace fields, the application's view."""

from __future__ import annotations

from typing import Any

from netweave import Catalog, Node
from netweave.sim import SimCluster
from netweave_clocks import LamportClock


def cluster(catalog: Catalog, nodes: int = 3, **kwargs: Any) -> SimCluster:
    c = SimCluster(nodes, lambda n: n.use("beb").use("lamport-clock"), catalog=catalog,
                   **kwargs)
    c.start()
    return c


def clock(c: SimCluster, node: str) -> LamportClock:
    found = c.nodes[node].component("logical-clock")
    assert isinstance(found, LamportClock)
    return found


def test_selected_by_name_or_abstraction(catalog: Catalog):
    for selector in ("lamport-clock", "logical-clock"):
        node = Node("n1", peers=["n2"], catalog=catalog).use(selector).build()
        assert [c.name for c in node.components] == ["lamport-clock"]


def test_every_trace_line_is_a_later_event(catalog: Catalog):
    c = cluster(catalog, encode=True)
    c.run(0.1)
    c.broadcast("n1", "beb", "x")
    c.run(1.0)
    for node in c.ids:
        times = [r["lamport"] for r in c.trace if r["node"] == node]
        assert times == sorted(set(times)) and times[0] == 1
    b = next(r for r in c.trace if r["ev"] == "broadcast")
    for d in (r for r in c.trace if r["ev"] == "deliver"):
        assert d["lamport"] > b["lamport"]


def test_a_receiver_catches_up_with_a_sender_ahead(catalog: Catalog):
    c = cluster(catalog, nodes=2)
    c.run(0.1)
    for _ in range(10):
        clock(c, "n1").tick()  # application events at n1
    ahead = clock(c, "n1").time
    c.broadcast("n1", "beb", "x")
    c.run(1.0)
    deliver = next(r for r in c.trace if r["ev"] == "deliver" and r["node"] == "n2")
    assert deliver["lamport"] > ahead + 1  # past the broadcast line and the send
    assert clock(c, "n2").time >= deliver["lamport"]


def test_the_application_reads_the_time(catalog: Catalog):
    c = cluster(catalog, nodes=2)
    c.run(0.1)
    node = c.nodes["n1"]
    before = node.component("logical-clock").time  # type: ignore[attr-defined]
    c.broadcast("n1", "beb", "x")
    c.run(1.0)
    after = node.component("logical-clock").time  # type: ignore[attr-defined]
    assert isinstance(before, int) and after > before
    assert node.component("logical-clock").tick() == after + 1  # type: ignore[attr-defined]


def test_a_bad_stamp_is_counted_and_the_receive_still_ticks(catalog: Catalog):
    node = Node("n1", peers=["n2"], catalog=catalog).use("lamport-clock").build()
    lamport = node.component("lamport-clock")
    assert isinstance(lamport, LamportClock)
    for bad in ("7", -3, 2.5, None, True, [1]):
        lamport.netweave_link_incoming("n2", object(), {"lamport": bad})
    lamport.netweave_link_incoming("n2", object(), {})
    assert lamport.malformed == 7 and lamport.time == 7
    lamport.netweave_link_incoming("n2", object(), {"lamport": 100})
    assert lamport.time == 101 and lamport.malformed == 7


def test_each_send_is_an_event(catalog: Catalog):
    node = Node("n1", peers=["n2", "n3"], catalog=catalog).use("lamport-clock").build()
    lamport = node.component("lamport-clock")
    assert isinstance(lamport, LamportClock)
    stamps = [lamport.netweave_link_outgoing(p, object())["lamport"] for p in ("n2", "n3")]
    assert stamps == [1, 2] and lamport.time == 2
