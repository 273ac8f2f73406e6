"""The vector clock component: vectors on the wire and in traces, merging, comparisons."""

from __future__ import annotations

from typing import Any

import pytest
from netweave import Catalog, Node
from netweave.sim import SimCluster
from netweave_clocks import VectorClock, concurrent, happened_before, leq, merge


def clock(node: Node) -> VectorClock:
    found = node.component("vector-clock")
    assert isinstance(found, VectorClock)
    return found


def built(catalog: Catalog, **kwargs: Any) -> VectorClock:
    return clock(Node("n1", peers=["n2", "n3"], catalog=catalog, **kwargs)
                 .use("vector-clock").build())


def test_comparisons():
    a, b, c = {"n1": 1}, {"n1": 1, "n2": 2}, {"n2": 3}
    assert leq(a, a) and not happened_before(a, a) and not concurrent(a, a)
    assert happened_before(a, b) and not happened_before(b, a)
    assert concurrent(a, c) and concurrent(c, a)
    assert leq({"n1": 0}, {}) and happened_before({}, a)
    assert merge(b, c) == {"n1": 1, "n2": 3} and merge(a, {}) == a


def test_time_lists_every_member(catalog: Catalog):
    vc = built(catalog)
    assert vc.time == {"n1": 0, "n2": 0, "n3": 0}
    assert vc.tick() == {"n1": 1, "n2": 0, "n3": 0}


def test_receive_merges_then_ticks(catalog: Catalog):
    vc = built(catalog)
    vc.tick()
    vc.netweave_link_incoming("n2", object(), {"vc": {"n1": 0, "n2": 5, "n3": 2}})
    assert vc.time == {"n1": 2, "n2": 5, "n3": 2}
    sent = vc.netweave_link_outgoing("n3", object())["vc"]
    assert sent == {"n1": 3, "n2": 5, "n3": 2}
    sent["n1"] = 99  # the stamp is a copy
    assert vc.time["n1"] == 3


@pytest.mark.parametrize("bad", ["x", None, [1, 2], {"n9": 4}, {"n2": -1}, {"n2": "4"},
                                 {"n2": 1.5}, {"n2": True}])
def test_bad_vectors_are_ignored_and_counted(catalog: Catalog, bad: Any):
    vc = built(catalog)
    vc.netweave_link_incoming("n2", object(), {"vc": bad})
    assert vc.malformed == 1 and vc.time == {"n1": 1, "n2": 0, "n3": 0}


def test_trace_lines_carry_the_vector(catalog: Catalog):
    c = SimCluster(3, lambda n: n.use("beb").use("vector-clock"), catalog=catalog, encode=True)
    c.start()
    c.run(0.1)
    c.broadcast("n2", "beb", "x")
    c.run(1.0)
    b = next(r for r in c.trace if r["ev"] == "broadcast")
    delivers = [r for r in c.trace if r["ev"] == "deliver"]
    assert len(delivers) == 3
    for d in delivers:
        assert happened_before(b["vc"], d["vc"])
    remote = [d for d in delivers if d["node"] != "n2"]
    assert concurrent(remote[0]["vc"], remote[1]["vc"])
    assert set(b["vc"]) == {"n1", "n2", "n3"}


def test_other_components_reach_the_comparisons(catalog: Catalog):
    vc = built(catalog)
    assert vc.happened_before({"n1": 1}, {"n1": 2}) and vc.leq({}, {"n2": 1})
    assert vc.concurrent({"n1": 1}, {"n2": 1}) and vc.merge({"n1": 1}, {"n2": 1}) == {
        "n1": 1, "n2": 1}
