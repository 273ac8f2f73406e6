"""The simulator: deterministic given a seed, and every fault kind does what it says."""

from __future__ import annotations

import collections

import attrs
import pytest
from netweave import ConfigurationError
from netweave.sim import Latency, NetworkModel, Scenario, SimCluster


def beb_cluster(n=4, seed=1, **network):
    return SimCluster(n, lambda node: node.use("beb"), seed=seed,
                      network=NetworkModel(**network))


def delivered(cluster, node):
    return [r["id"] for r in cluster.trace if r["ev"] == "deliver" and r["node"] == node]


def run_random(seed, **kw):
    scenario = Scenario.random(nodes=5, seed=seed, layer="beb", messages=20, crash=1,
                               loss=0.1, partition=True, duplicate=0.05, reorder=0.1, **kw)
    return scenario.run(seed)


def test_same_seed_same_trace_and_different_seed_differs(tmp_path):
    a, b, c = run_random(7), run_random(7), run_random(8)
    assert a.trace == b.trace
    assert a.trace != c.trace
    pa = a.write_trace(tmp_path / "a")
    pb = b.write_trace(tmp_path / "b")
    assert [p.read_bytes() for p in pa] == [p.read_bytes() for p in pb]


def test_virtual_time_runs_fast_and_orders_events():
    cluster = beb_cluster(latency=Latency("constant", 0.5, 0.5))
    cluster.start()
    cluster.at(1.0, cluster.broadcast, "n1", "beb", "x")
    cluster.run(1.4)
    assert delivered(cluster, "n2") == []
    cluster.run(1.6)
    assert delivered(cluster, "n2") == ["n1/1/1"]
    assert cluster.now == 1.6


def test_loss_is_masked_by_perfect_links():
    cluster = beb_cluster(loss=0.4, seed=3)
    cluster.start()
    for i in range(20):
        cluster.at(0.01 * i, cluster.broadcast, "n1", "beb", i)
    cluster.run(30)
    for node in cluster.ids:
        assert len(delivered(cluster, node)) == 20
    assert cluster.nodes["n2"].links.stale == 0


def test_duplication_never_duplicates_deliveries():
    cluster = beb_cluster(duplicate=0.5, seed=2)
    cluster.start()
    for i in range(30):
        cluster.at(0.01 * i, cluster.broadcast, "n2", "beb", i)
    cluster.run(10)
    total_dups = 0
    for node in cluster.ids:
        ids = delivered(cluster, node)
        assert len(ids) == len(set(ids)) == 30
        total_dups += cluster.nodes[node].links.duplicates
    assert total_dups > 0  # the network really did duplicate


def test_reordering_changes_arrival_order_but_not_the_set():
    cluster = beb_cluster(reorder=0.5, seed=4, latency=Latency("constant", 0.001, 0.001))
    cluster.start()
    for i in range(40):
        cluster.at(0.001 * i, cluster.broadcast, "n1", "beb", i)
    cluster.run(5)
    ids = delivered(cluster, "n3")
    assert sorted(ids, key=lambda s: int(s.split("/")[2])) != ids
    assert len(set(ids)) == 40


def test_symmetric_partition_delays_until_heal():
    cluster = beb_cluster()
    cluster.start()
    cluster.partition(["n1", "n2"], ["n3", "n4"])
    cluster.broadcast("n1", "beb", "p")
    cluster.run(3)
    assert delivered(cluster, "n2") == ["n1/1/1"]
    assert delivered(cluster, "n3") == []
    cluster.heal()
    cluster.run(10)
    assert delivered(cluster, "n3") == ["n1/1/1"]
    kinds = collections.Counter(r.get("kind") for r in cluster.trace if r["ev"] == "fault")
    assert kinds == {"partition": 4, "heal": 4}


def test_one_way_partition_blocks_one_direction_only():
    cluster = beb_cluster()
    cluster.start()
    cluster.one_way(["n1"], ["n2"])
    cluster.broadcast("n1", "beb", "a")
    cluster.broadcast("n2", "beb", "b")
    cluster.run(2)
    assert "n1/1/1" not in delivered(cluster, "n2")
    assert "n2/1/1" in delivered(cluster, "n1")
    cluster.heal()
    cluster.run(10)
    assert "n1/1/1" in delivered(cluster, "n2")


def test_crash_stops_everything_from_the_node():
    cluster = beb_cluster()
    cluster.start()
    cluster.run(0.5)
    cluster.crash("n3")
    assert cluster.broadcast("n3", "beb", "late") is None
    cluster.broadcast("n1", "beb", "x")
    cluster.run(5)
    lines_after = [r for r in cluster.trace if r["node"] == "n3" and r["t"] > 0.5]
    assert [r["ev"] for r in lines_after] == []
    crash = [r for r in cluster.trace if r["ev"] == "crash"]
    assert crash == [{"t": 0.5, "node": "n3", "ev": "crash"}]


def test_watch_sees_every_link_message_sent_lost_ones_too_and_none_from_the_dead():
    from netweave.link import LinkData

    cluster = beb_cluster(loss=0.3, seed=4)
    seen = []
    cluster.watch(lambda src, dst, msg: seen.append((src, dst, type(msg).__name__)))
    cluster.start()
    cluster.run(0.5)
    cluster.crash("n4")
    crashed_at = len(seen)
    cluster.broadcast("n1", "beb", "x")
    cluster.run(5)
    assert len(seen) == cluster.messages_sent
    # Every copy of "x" that left n1, lost or not, for each live peer and the dead n4.
    data = [(src, dst) for src, dst, kind in seen if kind == LinkData.__name__]
    assert {dst for src, dst in data if src == "n1"} == {"n2", "n3", "n4"}
    assert data.count(("n1", "n4")) > 1  # never acknowledged: sent again and again
    assert all(src != "n4" for src, _, _ in seen[crashed_at:])


def test_restart_is_a_new_incarnation_with_fresh_ids():
    cluster = beb_cluster()
    cluster.start()
    cluster.broadcast("n1", "beb", "before")
    cluster.run(1)
    cluster.restart("n1")
    cluster.broadcast("n1", "beb", "after")
    cluster.run(5)
    starts = [r for r in cluster.trace if r["ev"] == "start" and r["node"] == "n1"]
    assert [s["incarnation"] for s in starts] == [1, 2]
    assert delivered(cluster, "n2") == ["n1/1/1", "n1/2/1"]


def test_pause_holds_messages_and_resume_handles_them_in_order():
    cluster = beb_cluster()
    cluster.start()
    cluster.pause("n2")
    for i in range(3):
        cluster.broadcast("n1", "beb", i)
    cluster.run(2)
    assert delivered(cluster, "n2") == []
    cluster.resume("n2")
    cluster.run(4)
    assert sorted(delivered(cluster, "n2")) == ["n1/1/1", "n1/1/2", "n1/1/3"]


def test_set_loss_is_recorded_and_applied():
    cluster = beb_cluster()
    cluster.start()
    cluster.set_loss(0.3)
    assert cluster.network.loss == 0.3
    assert sum(r.get("kind") == "loss" for r in cluster.trace) == 4


def test_encode_mode_round_trips_messages_through_msgpack():
    cluster = SimCluster(3, lambda n: n.use("beb"), seed=1, encode=True)
    cluster.start()
    cluster.broadcast("n1", "beb", {"k": [1, 2, "x"]})
    got = []
    cluster.nodes["n2"].on_deliver  # noqa: B018 - attribute exists
    cluster.nodes["n2"].bus.subscribe(__import__("netweave").Deliver, got.append)
    cluster.run(2)
    assert got and got[0].payload == {"k": [1, 2, "x"]}


def test_scenario_toml_with_every_fault_kind(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('''
[cluster]
nodes = 4
layer = "beb"

[network]
latency = { dist = "exponential", low = 0.001, mean = 0.004 }
loss = 0.05

[workload]
messages = 10

[[broadcast]]
at = 0.2
node = "n1"
payload = "hello"

[[faults]]
at = 1.0
kind = "pause"
node = "n2"
[[faults]]
at = 1.5
kind = "resume"
node = "n2"
[[faults]]
at = 2.0
kind = "partition"
groups = [["n1"], ["n2", "n3", "n4"]]
[[faults]]
at = 2.2
kind = "one-way"
sources = ["n4"]
targets = ["n3"]
[[faults]]
at = 2.5
kind = "heal"
[[faults]]
at = 3.0
kind = "loss"
probability = 0.1
[[faults]]
at = 3.5
kind = "restart"
node = "n4"
[[faults]]
at = 4.0
kind = "crash"
node = "n3"

[run]
quiet = 10
''')
    scenario = Scenario.from_toml(path)
    a = scenario.run(5)
    b = Scenario.from_toml(path).run(5)
    assert a.trace == b.trace
    kinds = {r.get("kind") or r["ev"] for r in a.trace if r["ev"] in ("fault", "crash")}
    assert kinds == {"pause", "resume", "partition", "heal", "loss", "crash"}
    assert a.now == scenario.end >= 14.0


@pytest.mark.parametrize("bad, match", [
    ({"cluster": {"nodes": 3}}, "needs 'layer' or 'use'"),
    ({"cluster": {"layer": "beb"}, "bogus": {}}, "unknown section"),
    ({"cluster": {"layer": "beb"}, "faults": [{"at": 1, "kind": "explode"}]}, "kind"),
    ({"cluster": {"layer": "beb"}, "network": {"loss": 1.5}}, "probability"),
])
def test_bad_scenarios_are_refused_clearly(bad, match):
    with pytest.raises((ConfigurationError, ValueError), match=match):
        Scenario.from_dict(bad).run(1)


def test_random_scenario_validates_its_arguments():
    with pytest.raises(ConfigurationError, match="--crash"):
        Scenario.random(nodes=3, seed=1, layer="beb", crash=3)


def test_the_clock_runs_zero_delay_calls_first_and_honours_cancel_and_budget():
    from netweave.sim import Scheduled, VirtualClock

    clock = VirtualClock()
    seen = []
    clock.call_at(1.0, seen.append, "late")
    clock.call_at(0.0, seen.append, "due")
    clock.call_soon(seen.append, "soon")
    dropped = clock.call_soon(seen.append, "cancelled", handle=Scheduled())
    assert dropped is not None
    dropped.cancel()
    clock.call_later(0.5, lambda: clock.call_soon(seen.append, "after mid"))
    clock.run(2.0, max_events=5)  # exactly five calls run: the budget is not exceeded
    assert seen == ["soon", "due", "after mid", "late"]
    assert clock.events == 5 and clock.now == 2.0 and clock.pending == 0
    for i in range(3):
        clock.call_at(3.0, seen.append, i)
    with pytest.raises(RuntimeError, match="exceeded 2 events"):
        clock.run(4.0, max_events=2)
    assert seen[-2:] == [0, 1] and clock.pending == 1  # the third is still scheduled
    clock.run(4.0)
    assert seen[-1] == 2 and clock.now == 4.0


def test_virtual_time_counts_whole_microseconds():
    from netweave.sim import VirtualClock

    clock = VirtualClock()
    seen = []
    # two calls due in the same microsecond run in the order they were scheduled
    clock.call_at(0.0000019, seen.append, "first")
    clock.call_at(0.0000012, seen.append, "second")
    clock.call_at(0.0000009, seen.append, "earlier")
    clock.run(0.001)
    assert seen == ["earlier", "first", "second"]
    # a thousand steps of a millisecond are a second, exactly
    clock = VirtualClock()
    steps = []

    def step() -> None:
        steps.append(clock.now)
        if len(steps) < 1000:
            clock.call_later(0.001, step)

    clock.call_later(0.001, step)
    clock.run(5.0)
    assert steps[-1] == 1.0 and clock.now_us == 5_000_000 and clock.now == 5.0
    assert steps[299] == 0.3  # not 0.30000000000000004
    # waiting for a time off the microsecond grid ends: a call is never early, and a
    # positive delay, however small, is a microsecond at least
    clock = VirtualClock()
    deadline = 0.1234567891
    wakes = []

    def wait() -> None:
        wakes.append(clock.now)
        if clock.now < deadline:
            clock.call_later(deadline - clock.now, wait)

    clock.call_later(deadline, wait)
    clock.run(1.0, max_events=10)
    assert wakes == [0.123457]
    clock.call_at(clock.now + 1e-12, wakes.append, "just after now")
    clock.run(2.0, max_events=10)
    assert wakes[-1] == "just after now"


class _SlowLatency(Latency):
    def sample(self, rng):
        return 2.0


def _first_delivery_at(cluster):
    cluster.start()
    cluster.at(1.0, cluster.broadcast, "n1", "beb", "x")
    cluster.run(10.0)
    return min(r["t"] for r in cluster.trace if r["ev"] == "deliver" and r["node"] != "n1")


def test_the_network_draws_can_be_overridden_or_patched(monkeypatch):
    # A Latency subclass, a patched Latency.sample or a patched NetworkModel.delays
    # decides the delays.
    plain = _first_delivery_at(beb_cluster(latency=Latency("constant", 0.5, 0.5)))
    assert plain == pytest.approx(1.5, abs=0.01)
    assert _first_delivery_at(beb_cluster(latency=_SlowLatency())) >= 3.0
    monkeypatch.setattr(Latency, "sample", lambda self, rng: 3.0)
    assert _first_delivery_at(beb_cluster()) >= 4.0
    monkeypatch.undo()
    monkeypatch.setattr(NetworkModel, "delays", lambda self, src, dst, rng: [4.0])
    assert _first_delivery_at(beb_cluster()) >= 5.0


@attrs.define
class _LabelledNetwork(NetworkModel):
    """An attrs subclass: attrs gives it its own __setattr__."""

    label: str = ""


@pytest.mark.parametrize("model", [NetworkModel, _LabelledNetwork])
def test_changing_the_network_while_it_runs_changes_the_next_draws(model):
    # A new latency, a new model, a field of the new model: each decides the next
    # message, even in the middle of one run.
    cluster = SimCluster(4, lambda node: node.use("beb"), seed=1,
                         network=model(latency=Latency("constant", 0.5, 0.5)))
    cluster.start()

    def set_latency(value):
        cluster.network.latency = value

    def set_network(model):
        cluster.network = model

    starts = [1.0, 11.0, 21.0, 31.0]
    for at in starts:
        cluster.at(at, cluster.broadcast, "n1", "beb", str(at))
    cluster.at(10.0, set_latency, {"dist": "constant", "low": 2.0, "high": 2.0})
    other = model()
    other.latency = Latency("constant", 1.0, 1.0)
    cluster.at(20.0, set_network, other)
    cluster.at(30.0, set_latency, Latency("constant", 3.0, 3.0))
    cluster.run(40.0)
    firsts = [min(r["t"] for r in cluster.trace if r["ev"] == "deliver" and r["node"] != "n1"
                  and at <= r["t"] < at + 9.0) - at for at in starts]
    assert firsts == pytest.approx([0.5, 2.0, 1.0, 3.0])
