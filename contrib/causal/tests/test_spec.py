"""The causal-order broadcast specification on hand-written traces: holds and violated."""

from __future__ import annotations

from typing import Any

import pytest
from netweave.check import History, SpecCatalog, check_history
from netweave_causal.spec import CausalBroadcastSpec

Record = dict[str, Any]


def start(t: float, node: str, inc: int = 1) -> Record:
    return {"t": t, "node": node, "ev": "start", "incarnation": inc}


def crash(t: float, node: str) -> Record:
    return {"t": t, "node": node, "ev": "crash"}


def bc(t: float, mid: str) -> Record:
    node = mid.split("/")[0]
    return {"t": t, "node": node, "ev": "broadcast", "layer": "causal", "id": mid,
            "origin": node}


def dl(t: float, node: str, mid: str) -> Record:
    return {"t": t, "node": node, "ev": "deliver", "layer": "causal", "id": mid,
            "origin": mid.split("/")[0]}


def violations(records: list[Record]) -> list[str]:
    h = History.from_records(records)
    return [v.message for v in CausalBroadcastSpec().violations("causal delivery", h)]


STARTS = [start(0, "a"), start(0, "b"), start(0, "c")]


def test_holds_when_every_cause_comes_first():
    trace = [*STARTS,
             bc(1, "a/1/1"), dl(1, "a", "a/1/1"), dl(2, "b", "a/1/1"),
             bc(3, "b/1/1"), dl(3, "b", "b/1/1"),
             dl(4, "c", "a/1/1"), dl(5, "c", "b/1/1"), dl(5, "a", "b/1/1")]
    assert violations(trace) == []


def test_delivered_then_broadcast_orders_the_two():
    # b delivered a's message before broadcasting its own: c must keep that order
    trace = [*STARTS,
             bc(1, "a/1/1"), dl(2, "b", "a/1/1"), bc(3, "b/1/1"),
             dl(4, "c", "b/1/1"), dl(5, "c", "a/1/1")]
    [message] = violations(trace)
    assert message == "c#1 delivered b/1/1 before a/1/1, which happened before it"


def test_same_sender_order_is_causal_order():
    trace = [*STARTS, bc(1, "a/1/1"), bc(2, "a/1/2"), dl(3, "b", "a/1/2"), dl(4, "b", "a/1/1")]
    assert violations(trace) == ["b#1 delivered a/1/2 before a/1/1, which happened before it"]


def test_causality_is_transitive():
    # a/1 -> b/1 (b delivered it) -> c/1 (c delivered b/1): d must deliver a/1 first
    trace = [*STARTS, start(0, "d"),
             bc(1, "a/1/1"), dl(2, "b", "a/1/1"), bc(3, "b/1/1"),
             dl(4, "c", "b/1/1"), bc(5, "c/1/1"), dl(6, "d", "c/1/1")]
    found = violations(trace)
    assert "d#1 delivered c/1/1 before a/1/1, which happened before it" in found
    # c itself delivered b/1/1 without a/1/1: also a violation, reported once
    assert "c#1 delivered b/1/1 before a/1/1, which happened before it" in found


def test_concurrent_messages_may_be_delivered_in_any_order():
    trace = [*STARTS, bc(1, "a/1/1"), bc(1, "b/1/1"),
             dl(2, "c", "b/1/1"), dl(3, "c", "a/1/1"), dl(2, "a", "b/1/1"), dl(4, "b", "a/1/1")]
    assert violations(trace) == []


def test_a_crashed_process_is_held_to_causal_delivery_too():
    trace = [*STARTS, bc(1, "a/1/1"), bc(2, "a/1/2"), dl(3, "c", "a/1/2"), crash(4, "c")]
    assert violations(trace) == ["c#1 delivered a/1/2 before a/1/1, which happened before it"]


def test_a_restarted_process_may_skip_what_was_broadcast_before_it_started():
    trace = [*STARTS, bc(1, "a/1/1"), crash(2, "c"), start(3, "c", 2),
             dl(4, "b", "a/1/1"), bc(5, "a/1/2"), dl(6, "c", "a/1/2")]
    assert violations(trace) == []
    trace += [bc(7, "a/1/3"), bc(8, "a/1/4"), dl(9, "c", "a/1/4")]
    assert violations(trace) == ["c#2 delivered a/1/4 before a/1/3, which happened before it"]


def test_a_restarted_origin_is_a_new_process():
    trace = [*STARTS, bc(1, "a/1/1"), crash(2, "a"), start(3, "a", 2), bc(4, "a/2/1"),
             dl(5, "b", "a/2/1")]
    assert violations(trace) == []  # a#2 never saw a/1/1: unrelated


def test_a_delivery_line_before_its_broadcast_line_waits_for_it():
    # real machines' clocks differ: b's line may sort before a's broadcast line
    trace = [*STARTS, dl(0.5, "b", "a/1/1"), bc(1, "a/1/1"), bc(2, "b/1/1"),
             dl(3, "c", "b/1/1"), dl(4, "c", "a/1/1")]
    assert violations(trace) == ["c#1 delivered b/1/1 before a/1/1, which happened before it"]


def test_deliveries_of_unknown_messages_are_left_to_no_creation():
    trace = [*STARTS, dl(1, "b", "a/1/7"), bc(2, "b/1/1"), dl(3, "c", "b/1/1")]
    assert violations(trace) == []
    results = {r.name: r for r in CausalBroadcastSpec().check(History.from_records(trace))}
    assert not results["no creation"].holds


def test_reliable_broadcast_properties_come_along():
    names = [p.name for p in CausalBroadcastSpec.properties]
    assert names == ["unique ids", "no duplication", "no creation", "validity", "agreement",
                     "causal delivery"]


def test_registered_through_the_plugin_and_used_by_netweave_check():
    specs = SpecCatalog.discover()
    assert CausalBroadcastSpec in specs.for_plugin("waiting-crb")
    trace = [*STARTS, bc(1, "a/1/1"), dl(1, "a", "a/1/1"), bc(2, "a/1/2"), dl(2, "a", "a/1/2"),
             dl(3, "b", "a/1/2"), dl(4, "b", "a/1/1"), dl(3, "c", "a/1/1"), dl(4, "c", "a/1/2")]
    report = check_history(History.from_records(trace), specs)
    bad = [(r.layer, r.name) for r in report.violated]
    assert bad == [("causal", "causal delivery")]


@pytest.mark.parametrize("n", [50])
def test_long_chains_are_checked_quickly(n: int):
    # a ping-pong of n messages between a and b, each caused by the previous one
    trace: list[Record] = [*STARTS]
    t = 1.0
    for i in range(1, n + 1):
        sender, other = ("a", "b") if i % 2 else ("b", "a")
        mid = f"{sender}/1/{(i + 1) // 2}"
        trace += [bc(t, mid), dl(t, sender, mid), dl(t + 0.5, other, mid)]
        t += 1
    late = [r for r in trace if r["ev"] == "broadcast"]
    trace += [dl(t + i, "c", r["id"]) for i, r in enumerate(reversed(late))]
    found = violations(trace)
    assert len(found) == n - 1 and all(m.startswith("c#1 delivered") for m in found)
