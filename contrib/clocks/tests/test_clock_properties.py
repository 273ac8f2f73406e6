"""The clock condition, checked against happened-before over random simulated runs.

Lamport: if a happened before b then L(a) < L(b). Vector: a happened before b if and
only if VC(a) < VC(b). Happened-before comes from :mod:`hb_oracle`, which records every
event of every process without using the clocks; the runs are drawn by hypothesis
(cluster size, workload, loss, duplication, reordering, a crash, background heartbeats).
"""

from __future__ import annotations

from typing import Any

import pytest
from hb_oracle import Recorder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netweave import Catalog, Node, hookimpl
from netweave.sim import NetworkModel, SimCluster
from netweave_clocks import LamportClock, VectorClock, happened_before

run_settings = settings(max_examples=60, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def runs(draw: st.DrawFn) -> dict[str, Any]:
    nodes = draw(st.integers(2, 4))
    return {
        "nodes": nodes,
        "seed": draw(st.integers(0, 2**32)),
        "broadcasts": draw(st.lists(st.tuples(st.integers(1, nodes),
                                              st.floats(0.05, 1.5)), max_size=6)),
        "loss": draw(st.sampled_from([0.0, 0.0, 0.2])),
        "duplicate": draw(st.sampled_from([0.0, 0.1])),
        "reorder": draw(st.sampled_from([0.0, 0.3])),
        "crash": draw(st.none() | st.tuples(st.integers(1, nodes), st.floats(0.1, 1.5))),
        "heartbeats": draw(st.booleans()),
    }


def simulate(catalog: Catalog, run: dict[str, Any], *, restart: bool = False) -> Recorder:
    recorder = Recorder()

    def configure(node: Node) -> None:
        node.use("beb").use("lamport-clock").use("vector-clock")
        if run["heartbeats"]:
            node.use("perfect-fd")
        recorder.attach(node)

    network = NetworkModel(loss=run["loss"], duplicate=run["duplicate"],
                           reorder=run["reorder"])
    cluster = SimCluster(run["nodes"], configure, seed=run["seed"], network=network,
                         catalog=catalog)
    for i, (sender, at) in enumerate(run["broadcasts"]):
        cluster.at(at, cluster.broadcast, f"n{sender}", "beb", f"m{i}")
    if run["crash"] is not None:
        victim, at = run["crash"]
        cluster.at(at, cluster.restart if restart else cluster.crash, f"n{victim}")
    cluster.start()
    cluster.run(3.0)
    return recorder


def check_lamport(recorder: Recorder) -> int:
    lines = recorder.lines()
    pairs = recorder.happened_before()
    for a, b in pairs:
        la, lb = lines[a][2]["lamport"], lines[b][2]["lamport"]
        assert la < lb, f"{lines[a][2]} happened before {lines[b][2]}"
    return len(pairs)


def check_vector(recorder: Recorder) -> tuple[int, int]:
    lines = recorder.lines()
    pairs = recorder.happened_before()
    concurrent = 0
    for a in range(len(lines)):
        for b in range(len(lines)):
            if a == b:
                continue
            va, vb = lines[a][2]["vc"], lines[b][2]["vc"]
            hb = (a, b) in pairs
            assert happened_before(va, vb) == hb, (
                f"happened before: {hb}, but vc says {not hb}:\n{lines[a][2]}\n{lines[b][2]}")
            concurrent += not hb and (b, a) not in pairs
    return len(pairs), concurrent


@run_settings
@given(run=runs())
def test_lamport_clock_condition(catalog: Catalog, run: dict[str, Any]):
    check_lamport(simulate(catalog, run))


@run_settings
@given(run=runs())
def test_vector_clock_characterizes_happened_before(catalog: Catalog, run: dict[str, Any]):
    check_vector(simulate(catalog, run))


def test_the_runs_are_not_trivial(catalog: Catalog):
    # both relations occur: ordered pairs across nodes, and concurrent ones
    run = {"nodes": 3, "seed": 7, "broadcasts": [(1, 0.2), (2, 0.2), (3, 0.9)],
           "loss": 0.1, "duplicate": 0.0, "reorder": 0.3, "crash": None, "heartbeats": True}
    recorder = simulate(catalog, run)
    ordered, concurrent = check_vector(recorder)
    lines = recorder.lines()
    across = [(a, b) for a, b in recorder.happened_before() if lines[a][0] != lines[b][0]]
    assert across and concurrent > 0 and ordered > len(across)


@run_settings
@given(run=runs())
def test_clock_condition_holds_across_restarts(catalog: Catalog, run: dict[str, Any]):
    # A restarted node is a new process with a fresh clock: the clock condition holds
    # for both clocks; the converse is only promised within one incarnation.
    recorder = simulate(catalog, run, restart=True)
    check_lamport(recorder)
    lines = recorder.lines()
    for a, b in recorder.happened_before():
        assert happened_before(lines[a][2]["vc"], lines[b][2]["vc"])


class ForgetfulLamport(LamportClock):
    """A broken Lamport clock: ticks on receipt but never catches up with the sender."""

    name = "forgetful-lamport"

    @hookimpl
    def netweave_link_incoming(self, peer: str, message: Any, meta: dict[str, Any]) -> None:
        self.tick()


class ForgetfulVector(VectorClock):
    """A broken vector clock: ticks on receipt but never merges the sender's vector."""

    name = "forgetful-vector"

    @hookimpl
    def netweave_link_incoming(self, peer: str, message: Any, meta: dict[str, Any]) -> None:
        self.tick()


@pytest.mark.parametrize("clock, check", [("forgetful-lamport", check_lamport),
                                          ("forgetful-vector", check_vector)])
def test_the_checks_catch_a_clock_that_does_not_merge(clock: str, check: Any):
    # The properties must be able to fail: n1 sends twice, n2 answers the second
    # message late, so n2's clock must jump over n1's.
    recorder = Recorder()
    catalog = Catalog.discover(extra=[ForgetfulLamport, ForgetfulVector])

    def configure(node: Node) -> None:
        node.use("beb").use(clock)
        recorder.attach(node)

    cluster = SimCluster(2, configure, seed=1, catalog=catalog)
    for i in range(4):
        cluster.at(0.1, cluster.broadcast, "n1", "beb", f"a{i}")
    cluster.at(0.5, cluster.broadcast, "n2", "beb", "b")
    cluster.start()
    cluster.run(1.0)
    with pytest.raises(AssertionError, match="happened before"):
        check(recorder)
