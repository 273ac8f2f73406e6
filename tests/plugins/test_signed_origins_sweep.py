"""Every broadcast layer keeps its specification with signed origins, in the simulator.

Each seed is the conformance scenario of the layer (netweave.testing.conformance_scenario:
crashes of a minority, loss, duplication, reordering, a partition that heals) run with
``signed_origins`` on: every node signs what it originates with a key derived from the
seed and checks every other origin's signature before a layer sees the message. The
properties of the layer's specs must hold, and no genuine message may be refused (a
refusal here would be a layer that forgot to sign, or a signature a relay broke). The
normal suite runs a tenth of ``--netweave-seeds`` per layer (100 by default), and a
fiftieth where crashed nodes restart (JOINs hand relays back to the reliable broadcast,
which checks them too).

The doors a forged message could use are tried in the simulator too: a relay through
best-effort broadcast, a relay sent to one process (all-ack's own door), and a FIFO JOIN's
relays; each forgery is delivered without signed origins and by nobody with them.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from netweave import Catalog, Component
from netweave.check import History, SpecCatalog
from netweave.interfaces import BEST_EFFORT_BROADCAST
from netweave.sim import SimCluster, sweep
from netweave.testing import DEFAULT_MIX, RESTART_MIX, conformance_scenario
from netweave.testing.pytest_plugin import job_count

pytest.importorskip("cryptography", reason="signed origins need the 'secure' extra")

CATALOG = Catalog.discover()
SPECS = SpecCatalog.discover(CATALOG)
BROADCASTS = sorted(name for name, info in CATALOG.plugins.items()
                    if info.cls.broadcast is not Component.broadcast
                    and info.cls.layer and SPECS.for_plugin(name))
OWN = [name for name in BROADCASTS if CATALOG.plugins[name].distribution == "netweave"]


def signed_run(plugin: str, seed: int, mix: Any) -> tuple[str, int] | None:
    """The first violated (spec, property) of the seed, else ``None``; and the origins'
    refusals, which must be none."""
    cls = CATALOG.plugins[plugin].cls
    judges = [spec(cls.layer) for spec in SPECS.for_plugin(plugin)]
    scenario = attrs.evolve(conformance_scenario(plugin, seed, mix=mix), signed_origins=True)
    cluster = scenario.run(seed, catalog=CATALOG)
    history = History.from_records(cluster.trace)
    for judge in judges:
        found = judge.first_violation(history)
        if found is not None:
            return (f"seed {seed}: {judge.name} {found[0].name}: {found[1].message}", 0)
    refused = sum(sum(n.origins.dropped.values()) for n in cluster.nodes.values()
                  if n.origins is not None)
    signed = sum(n.origins.signed for n in cluster.nodes.values() if n.origins is not None)
    return None if refused == 0 else (f"seed {seed}: {refused} genuine refused", signed)


def check(plugin: str, seeds: range, mix: Any, jobs: int) -> None:
    for _, failure in sweep(lambda seed: signed_run(plugin, seed, mix), seeds, jobs=jobs):
        assert failure is None, failure[0]


@pytest.fixture
def netweave_jobs(request: pytest.FixtureRequest) -> int:
    return job_count(request.config)


def test_the_sweep_covers_every_broadcast_layer() -> None:
    assert set(BROADCASTS) >= {"beb", "eager-rb", "lazy-rb", "all-ack-urb",
                               "majority-ack-urb", "fifo-rb"}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("plugin", BROADCASTS)
def test_broadcast_layer_conforms_with_signed_origins(plugin: str, netweave_seeds: range,
                                                      netweave_jobs: int) -> None:
    check(plugin, range(max(1, len(netweave_seeds) // 10)), DEFAULT_MIX, netweave_jobs)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("plugin", OWN)
def test_broadcast_layer_conforms_with_signed_origins_when_nodes_restart(
        plugin: str, netweave_seeds: range, netweave_jobs: int) -> None:
    check(plugin, range(max(1, len(netweave_seeds) // 50)), RESTART_MIX, netweave_jobs)


def test_signatures_are_made_once_per_broadcast_and_checked_once_per_message() -> None:
    scenario = attrs.evolve(conformance_scenario("eager-rb", 3), signed_origins=True)
    cluster = scenario.run(3, catalog=CATALOG)
    guards = [n.origins for n in cluster.nodes.values() if n.origins is not None]
    broadcasts = sum(1 for r in cluster.trace if r["ev"] == "broadcast")
    assert sum(g.signed for g in guards) == broadcasts
    # eager-rb: each process gets every message from every relayer; one check each,
    # the other copies are recognised
    assert all(g.verified <= broadcasts for g in guards)
    assert sum(g.cached for g in guards) > sum(g.verified for g in guards)


# -- the doors a forgery could use -----------------------------------------------------


class Forger(Component):
    """n4's extra component: hands out whatever message it is given, by a chosen door."""

    name = "sim-forger"
    provides = ("sim-forgery",)
    requires = ("best-effort-broadcast",)

    def forge(self, door: str, message: Any) -> None:
        ctx = self.ctx
        if door == "beb":
            ctx.component(BEST_EFFORT_BROADCAST).broadcast(ctx.new_message_id(), message)
        elif door == "direct":
            for q in ctx.peers:
                ctx.send(q, message)
        else:  # a JOIN whose relays the reliable broadcast takes back (forward)
            from netweave_broadcast.fifo import FifoJoin

            for q in ctx.peers:
                ctx.send(q, FifoJoin(ctx.incarnation, 1, relays=(message,)))


DOORS = [("beb", ["eager-rb"], "netweave_broadcast.eager_rb", "EagerRbData"),
         ("direct", ["perfect-fd", "all-ack-urb"], "netweave_broadcast.all_ack_urb",
          "UrbData"),
         ("join", ["eager-rb", "fifo-rb"], "netweave_broadcast.eager_rb", "EagerRbData")]


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize(("door", "stack", "module", "cls"), DOORS,
                         ids=[d[0] for d in DOORS])
def test_a_forgery_by_each_door(door: str, stack: list[str], module: str, cls: str,
                                signed: bool) -> None:
    import importlib

    kind = getattr(importlib.import_module(module), cls)

    def configure(node: Any) -> None:
        for name in stack:
            node.use(name)
        if node.id == "n4":
            node.use(Forger)

    cluster = SimCluster(4, configure, seed=9, signed_origins=signed,
                         catalog=Catalog.discover(extra=[Forger]))
    cluster.start()
    cluster.run(0.5)
    n3 = cluster.nodes["n3"]
    # What n3's first broadcast on the layer will be: the forgery takes its number.
    forged = kind(f"n3/{n3.incarnation}/77", 1, _payload(stack, "forged"))
    cluster.nodes["n4"].component("sim-forgery").forge(door, forged)  # type: ignore[attr-defined]
    cluster.run(2.0)
    layer = "fifo" if "fifo-rb" in stack else stack[-1].split("-")[-1]
    cluster.broadcast("n3", layer, "real")
    cluster.run(6.0)
    delivered = {(r["node"], r["id"]) for r in cluster.trace
                 if r["ev"] == "deliver" and r["layer"] == layer}
    real = next(r["id"] for r in cluster.trace if r["ev"] == "broadcast" and r["node"] == "n3")
    got_forged = {node for node, mid in delivered if mid.endswith("/77")}
    got_real = {node for node, mid in delivered if mid == real}
    if signed:
        assert got_forged == set() and got_real == {"n1", "n2", "n3", "n4"}
        refused = {n.id: dict(n.origins.dropped) for n in cluster.nodes.values()
                   if n.origins is not None and n.id != "n4"}
        assert all(r == {"unsigned": r.get("unsigned", 0)} and r["unsigned"] >= 1
                   for r in refused.values()), refused
    else:
        assert got_forged >= {"n1", "n2", "n3"}, delivered
        assert "n3" not in got_real  # its own real message is a duplicate there


def _payload(stack: list[str], text: str) -> Any:
    if "fifo-rb" in stack:  # the reliable broadcast carries FIFO's message
        from netweave_broadcast.fifo import FifoData

        return FifoData(1, text)
    return text


def test_scenario_files_and_netweave_sim_turn_it_on(tmp_path: Any) -> None:
    from netweave.cli import main as cli
    from netweave.errors import ConfigurationError
    from netweave.sim import Scenario
    from netweave.trace import read_trace

    scenario = Scenario.from_dict({"cluster": {"layer": "eager-rb", "signed_origins": True},
                                   "workload": {"messages": 5}})
    assert scenario.signed_origins
    (tmp_path / "s.toml").write_text(scenario.to_toml())
    again = Scenario.from_toml(tmp_path / "s.toml")
    assert again.signed_origins and again == scenario
    cluster = again.run(1)
    assert all(n.origins is not None and n.origins.signed >= 0 for n in cluster.nodes.values())
    assert sum(n.origins.signed for n in cluster.nodes.values()  # type: ignore[union-attr]
               ) == 5
    with pytest.raises(ConfigurationError, match="signed_origins"):
        Scenario.from_dict({"cluster": {"layer": "eager-rb", "signed_origins": "yes"}})
    assert cli(["sim", "--layer", "lazy-rb", "--signed-origins", "--messages", "5",
                "--trace-dir", str(tmp_path / "t")]) == 0
    assert sum(1 for r in read_trace(tmp_path / "t" / "n1.jsonl") if r["ev"] == "deliver") == 5
