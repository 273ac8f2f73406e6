"""The waiting causal broadcast component: holding back, de-duplication, fail-fast build."""

from __future__ import annotations

from typing import Any

import pytest
from netweave import Catalog, InvalidOptionError, MissingRequirementError, Node
from netweave.check import History
from netweave.sim import NetworkModel, SimCluster
from netweave_causal import CausalData, CausalJoin, WaitingCausalBroadcast
from netweave_causal.spec import CausalBroadcastSpec


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.discover()


def causal_cluster(catalog: Catalog, nodes: int = 3, **kwargs: Any) -> SimCluster:
    c = SimCluster(nodes, lambda n: n.use("causal"), catalog=catalog, fill="defaults",
                   **kwargs)
    c.start()
    return c


def crb(c: SimCluster, node: str) -> WaitingCausalBroadcast:
    found = c.nodes[node].component("causal")
    assert isinstance(found, WaitingCausalBroadcast)
    return found


def deliveries(c: SimCluster, node: str) -> list[str]:
    return [r["id"] for r in c.trace
            if r["ev"] == "deliver" and r["layer"] == "causal" and r["node"] == node]


def test_the_stack_it_builds(catalog: Catalog):
    node = Node("n1", peers=["n2"], catalog=catalog, fill="defaults").use("causal").build()
    names = [c.name for c in node.components]
    assert names[-1] == "waiting-crb" and "vector-clock" in names and "lazy-rb" in names


@pytest.mark.parametrize("encode", [False, True], ids=["objects", "msgpack"])
def test_a_message_waits_for_its_cause(catalog: Catalog, encode: bool):
    c = causal_cluster(catalog, encode=encode)
    c.run(duration=0.2)
    c.one_way(["n1"], ["n3"])  # n1's messages reach n3 only after the heal
    m1 = c.broadcast("n1", "causal", "question")
    c.run(duration=0.5)
    assert deliveries(c, "n2") == [m1]
    m2 = c.broadcast("n2", "causal", "answer")  # caused by m1: n2 delivered it first
    c.run(duration=0.5)
    assert deliveries(c, "n3") == []  # n3 has the answer, holds it back
    assert [p.message_id for p in crb(c, "n3").pending] == [m2]
    c.heal()
    c.run(duration=3.0)
    assert deliveries(c, "n3") == [m1, m2]
    assert crb(c, "n3").pending == [] and crb(c, "n3").v == {"n1/1": 1, "n2/1": 1}
    assert CausalBroadcastSpec().holds(History.from_records(c.trace))


def test_concurrent_messages_do_not_wait(catalog: Catalog):
    c = causal_cluster(catalog)
    c.run(duration=0.2)
    c.one_way(["n1"], ["n3"])
    c.broadcast("n1", "causal", "a")
    m2 = c.broadcast("n2", "causal", "b")  # n2 has not delivered n1's message yet
    c.run(duration=0.5)
    assert deliveries(c, "n3") == [m2]


def test_messages_of_one_sender_are_delivered_in_order(catalog: Catalog):
    c = causal_cluster(catalog, nodes=2)
    c.run(duration=0.2)
    ids = [c.broadcast("n1", "causal", i) for i in range(20)]
    c.run(duration=2.0)
    assert deliveries(c, "n2") == ids and deliveries(c, "n1") == ids


def test_duplicates_and_malformed_messages_are_dropped(catalog: Catalog):
    c = causal_cluster(catalog, nodes=2)
    c.run(duration=0.2)
    mid = c.broadcast("n1", "causal", "x")
    c.run(duration=1.0)
    layer = crb(c, "n2")
    layer.on_data(mid, "n1", CausalData({"n1/1": 0}, "x"))  # again
    layer.on_data("n1/1/9", "n2", CausalData({}, "forged origin"))
    layer.on_data("n1/1/9", "n1", CausalData({"n1": 3}, "bad vector"))  # type: ignore[dict-item]
    layer.on_data("n1/1/9", "n1", CausalData({"n1/1": -1}, "bad count"))
    c.run(duration=1.0)
    assert deliveries(c, "n2") == [mid] and layer.dropped == 3 and layer.pending == []


def test_memory_is_one_counter_per_process(catalog: Catalog):
    c = causal_cluster(catalog)
    c.run(duration=0.2)
    for i in range(30):
        c.broadcast(f"n{i % 3 + 1}", "causal", i)
        c.run(duration=0.01)
    c.run(duration=5.0)
    # a counter per process, and for restarts each process's own last messages and the
    # last ones it delivered of each other process
    assert all(crb(c, n).state_size() == 3 + 10 + 2 * 10 for n in c.ids)


def test_without_a_vector_clock_the_node_is_refused_before_it_starts(catalog: Catalog):
    without = Catalog()
    for info in catalog.plugins.values():
        if "vector-clock" not in info.provides:
            without.add(info.cls, distribution=info.distribution, version=info.version)
    node = Node("n1", peers=["n2"], catalog=without, fill="defaults").use("causal")
    with pytest.raises(MissingRequirementError) as err:
        node.build()
    assert err.value.abstraction == "vector-clock"
    assert "pip install netweave-clocks" in str(err.value)
    assert node.state == "new" and node.links is None


def test_a_message_received_twice_while_waiting_is_delivered_once(catalog: Catalog):
    c = causal_cluster(catalog, nodes=2)
    c.run(duration=0.2)
    layer = crb(c, "n2")
    waiting = CausalData({"n1/1": 1}, "second")  # n1's second message, before its first
    layer.on_data("n1/1/2", "n1", waiting)
    layer.on_data("n1/1/2", "n1", waiting)
    assert len(layer.pending) == 1
    layer.on_data("n1/1/1", "n1", CausalData({"n1/1": 0}, "first"))
    c.run(duration=0.5)
    assert deliveries(c, "n2") == ["n1/1/1", "n1/1/2"] and layer.pending == []


def since_restart(c: SimCluster, node: str) -> tuple[float, list[str]]:
    """When ``node`` restarted, and what its new process delivered."""
    start = max(r["t"] for r in c.trace if r["ev"] == "start" and r["node"] == node)
    got = [r["id"] for r in c.trace if r["ev"] == "deliver" and r["layer"] == "causal"
           and r["node"] == node and r["t"] >= start]
    return start, got


def test_a_restarted_process_joins_the_running_sequences(catalog: Catalog):
    # n1 and n2 keep broadcasting, each message caused by the ones before it, while n3
    # restarts. Naive behaviour caught: the new n3 waits for ever for causes older than
    # itself and delivers nothing.
    c = causal_cluster(catalog)
    for i in range(60):
        c.at(0.5 + i * 0.05, c.broadcast, f"n{i % 2 + 1}", "causal", i)
    c.at(1.0, c.crash, "n3")
    c.at(1.5, c.restart, "n3")
    c.run(12.0)
    start, got = since_restart(c, "n3")
    owed = [r["id"] for r in c.trace if r["ev"] == "broadcast" and r["t"] > start]
    assert len(owed) > 20 and set(owed) <= set(got)
    assert crb(c, "n3").pending == [] and crb(c, "n3").rejoin.joined == {("n1", 1), ("n2", 1)}
    assert CausalBroadcastSpec().holds(History.from_records(c.trace))


def gone_before_the_restart(catalog: Catalog, causes: int) -> SimCluster:
    """n1 broadcasts ``causes`` messages (each caused by those before it), delivered
    everywhere; then n3 crashes, n1 crashes, and n3 restarts. Eager reliable broadcast
    relays each message once, to the old n3: none of them reaches the new one."""
    c = SimCluster(3, lambda n: n.use("perfect-fd").use("eager-rb").use("causal"),
                   catalog=catalog, fill="defaults")
    c.start()
    for i in range(causes):
        c.at(0.5 + i * 0.05, c.broadcast, "n1", "causal", f"cause{i}")
    c.at(0.8, c.crash, "n3")
    c.at(0.9, c.crash, "n1")
    c.at(1.0, c.restart, "n3")
    return c


def test_a_restarted_process_gets_the_causes_of_a_gone_process_from_its_peers(
        catalog: Catalog):
    # n1's messages cause n2's, but n1 crashed before the new n3 started, and no JOIN
    # will come from n1. Once n3 knows n1 is gone it asks its peers: n2 delivered them
    # and keeps them, and hands them over. (They were skipped as far as n2 had
    # delivered, which skipped causes still on their way: harsh seed 221850.)
    c = gone_before_the_restart(catalog, causes=3)
    for i in range(3):
        c.at(1.5 + i * 0.05, c.broadcast, "n2", "causal", f"effect{i}")
    c.run(20.0)
    _, got = since_restart(c, "n3")
    effects = [r["id"] for r in c.trace if r["ev"] == "broadcast" and r["node"] == "n2"]
    assert len(effects) == 3 and got == ["n1/1/1", "n1/1/2", "n1/1/3", *effects]
    assert crb(c, "n3").pending == [] and crb(c, "n3").v["n1/1"] == 3
    assert CausalBroadcastSpec().holds(History.from_records(c.trace))


def lost_cause_then_crash(c: SimCluster) -> str:
    """n3 broadcasts a cause into a partition and an effect after the heal, then crashes:
    the cause is lost for good (never resent), the effect reaches the others."""
    c.start()
    c.run(0.5)
    c.one_way(["n3"], ["n1", "n2"])
    c.broadcast("n3", "causal", "cause")
    c.run(0.55)
    c.heal()
    held = c.broadcast("n3", "causal", "effect")
    c.run(0.57)
    c.crash("n3")
    assert held is not None
    return held


def test_a_restarted_process_holds_back_what_its_crashed_process_broadcast_as_others_do(
        catalog: Catalog):
    # n3's first message is lost with its crash (sent into a partition, never resent);
    # its second, caused by the first, reaches the others, who must hold it back for
    # ever. Caught (seed 5359 of the restart mix): the new n3 skipped the lost cause and
    # delivered the second, a delivery no other correct process can ever match. Its own
    # earlier process is a gone process like any other: the new n3 takes the second
    # message when the others relay it, and holds it back too.
    c = SimCluster(3, lambda n: n.use("perfect-fd").use("lazy-rb").use("causal"),
                   catalog=catalog, fill="defaults", network=NetworkModel(latency=0.005))
    held = lost_cause_then_crash(c)
    c.run(1.0)
    c.restart("n3")
    c.run(duration=0.2)
    after = c.broadcast("n1", "causal", "after the restart")
    c.run(15.0)
    _, got = since_restart(c, "n3")
    assert got == [after]
    for node in ("n1", "n2", "n3"):
        assert [e.message_id for e in crb(c, node).pending] == [held]
    assert CausalBroadcastSpec().holds(History.from_records(c.trace))


def test_a_restarted_process_never_skips_a_cause_that_no_peer_delivered(catalog: Catalog):
    # As above, n3's second message waits for ever at n1 and n2 for its lost cause; then
    # n2 restarts, and n1 relays that message to the new n2 when it detects n3's crash.
    # Caught (harsh seed 6319): the new n2 skipped the lost cause and delivered it. The
    # Asked, n1 says it delivered none of n3's messages: the new n2 holds it back too.
    c = SimCluster(3, lambda n: n.use("perfect-fd").use("lazy-rb").use("causal"),
                   catalog=catalog, fill="defaults", network=NetworkModel(latency=0.005))
    held = lost_cause_then_crash(c)
    c.at(1.0, c.crash, "n2")
    c.at(1.2, c.restart, "n2")
    c.run(25.0)
    assert c.nodes["n2"].incarnation == 2 and crb(c, "n2").rejoin.joined == {("n1", 1)}
    for node in ("n1", "n2"):
        assert [e.message_id for e in crb(c, node).pending] == [held]
    assert CausalBroadcastSpec().holds(History.from_records(c.trace))


def test_a_restarted_process_fills_a_gap_between_held_messages_of_a_gone_process(
        catalog: Catalog):
    # The new n3 is handed only n1's 4th and 6th. Caught (restart seed 30059): the new
    # n3 joined n1's sequence below the 4th once, delivered it, then waited for ever for
    # the 5th. Later the gaps were skipped (after gap_wait): n3 now asks n2 for them.
    c = gone_before_the_restart(catalog, causes=6)
    c.run(5.0)
    layer = crb(c, "n3")
    assert layer.rejoin.joined == {("n2", 1)}
    layer.on_data("n1/1/4", "n1", CausalData({"n1/1": 3}, "cause3"))
    layer.on_data("n1/1/6", "n1", CausalData({"n1/1": 5}, "cause5"))
    assert since_restart(c, "n3")[1] == [] and len(layer.pending) == 2  # n1 not gone yet
    c.run(20.0)  # the new n3 watches n1 after the detector's start_grace, then detects it
    assert since_restart(c, "n3")[1] == [f"n1/1/{i}" for i in range(1, 7)]
    assert layer.pending == [] and layer.v["n1/1"] == 6
    assert CausalBroadcastSpec().holds(History.from_records(c.trace))


def test_a_malformed_join_is_dropped_and_the_layer_keeps_serving(catalog: Catalog):
    c = causal_cluster(catalog, nodes=2)
    c.run(duration=0.2)
    layer = crb(c, "n2")
    layer.on_rejoin_join("n1", CausalJoin("causal", 1, 0))
    layer.on_rejoin_join("n1", CausalJoin("causal", 0, 1))
    layer.on_rejoin_join("n1", CausalJoin("causal", 1, 1, (("n1/1/1",),)))  # type: ignore[arg-type]
    layer.on_rejoin_join("stranger", CausalJoin("causal", 1, 1))
    layer.on_rejoin_join("n1", CausalJoin("causal", 1, 1, (), None))  # type: ignore[arg-type]
    layer.on_rejoin_join("n1", CausalJoin("causal", 1, 1, None))  # type: ignore[arg-type]
    layer.on_rejoin_join("n1", CausalJoin("fifo", 1, 1))  # another layer's: not ours
    mid = c.broadcast("n1", "causal", "still here")
    c.run(duration=1.0)
    assert layer.rejoin.dropped == 6 and not layer.rejoin.restarted
    assert deliveries(c, "n2") == [mid]


@pytest.mark.parametrize(("message_id", "w"), [
    ("n1/abc/1", {"n1/1": 0}),
    ("n1/²/1", {"n1/1": 0}),
    ("n1/1/1", {"n3/²": 0}),
    ("n1/1", {"n1/1": 0}),
    (7, {"n1/1": 0}),
])
def test_a_malformed_causal_message_is_dropped(catalog: Catalog, message_id: Any,
                                               w: dict[str, int]):
    c = causal_cluster(catalog, nodes=2)
    c.run(duration=0.2)
    layer = crb(c, "n2")
    layer.on_data(message_id, "n1", CausalData(w, "x"))
    assert layer.dropped == 1 and layer.pending == [] and deliveries(c, "n2") == []


@pytest.mark.parametrize("option", [{"rejoin_window": -1}, {"gap_wait": -0.5}])
def test_options_are_validated(catalog: Catalog, option: dict[str, float]):
    node = Node("n1", peers=["n2"], catalog=catalog, fill="defaults")
    with pytest.raises(InvalidOptionError, match=next(iter(option))):
        node.use("causal", **option).build()


def joined_then_orphaned(catalog: Catalog) -> SimCluster:
    """n1's message reaches n2 but not n3; n2 restarts, and n1's JOIN hands the message
    to the new n2; then n1 crashes, and n3 never heard of it."""
    c = SimCluster(3, lambda n: n.use("perfect-fd").use("lazy-rb").use("causal"),
                   catalog=catalog, fill="defaults", network=NetworkModel(latency=0.005))
    c.start()
    c.at(0.3, c.one_way, ["n1"], ["n3"])
    c.at(0.4, c.broadcast, "n1", "causal", "m")
    c.at(0.6, c.crash, "n2")
    c.at(0.7, c.restart, "n2")
    c.at(0.75, c.crash, "n1")
    c.at(0.8, c.heal)
    c.run(20.0)
    return c


def test_what_a_join_hands_over_goes_through_the_reliable_broadcast(catalog: Catalog):
    # Caught (harsh seed 41359, over eager-rb): the new n2 delivered the JOIN's message
    # itself, outside the reliable broadcast; its sender crashed, and correct n3 never
    # got it. Handed back to the reliable broadcast, the message is relayed to n3 once n1
    # is detected crashed.
    c = joined_then_orphaned(catalog)
    assert since_restart(c, "n2")[1] == ["n1/1/1"] and deliveries(c, "n3") == ["n1/1/1"]
    assert CausalBroadcastSpec().holds(History.from_records(c.trace))


def test_the_join_test_catches_a_join_delivered_outside_the_reliable_broadcast(
        catalog: Catalog, monkeypatch: pytest.MonkeyPatch):
    import netweave_broadcast.rejoin as rejoin

    monkeypatch.setattr(rejoin, "rejoin_entries",
                        lambda ctx, recent: (tuple(r[:-1] for r in recent), ()))
    c = joined_then_orphaned(catalog)
    assert since_restart(c, "n2")[1] == ["n1/1/1"] and deliveries(c, "n3") == []
    assert not CausalBroadcastSpec().holds(History.from_records(c.trace))
