"""Every broadcast layer keeps its specification with signed origins, in the simulator.

Each seed is the conformance scenario of the layer (netweave.testing.conformance_scenario:
crashes of a minority, loss, duplication, reordering, a partition that heals) run with
``signed_origins`` on: every node signs what it originates with a key derived from the
seed and checks every other origin's signature before a layer sees the message. The
properties of the layer's specs must hold, and no genuine message may be refused (a
refusal here would be a layer that forgot to sign, or a signature a relay broke): what
``check_conformance(..., signed_origins=True)`` and ``netweave conform --signed-origins``
judge. The normal suite runs a tenth of ``--netweave-seeds`` per layer (100 by default),
and a fiftieth where crashed nodes restart (JOINs hand relays back to the reliable
broadcast, which checks them too).

The doors a forged message could use are tried in the simulator too: a relay through
best-effort broadcast, a relay sent to one process (all-ack's own door), and a FIFO JOIN's
relays; each forgery is delivered without signed origins and by nobody with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from netweave import Catalog, Component
from netweave.check import SpecCatalog
from netweave.interfaces import BEST_EFFORT_BROADCAST
from netweave.sim import SimCluster
from netweave.testing import (
    DEFAULT_MIX,
    NONE_REFUSED,
    RESTART_MIX,
    SIGNED_ORIGINS,
    assert_conforms,
    check_conformance,
    conformance_scenario,
)
from netweave.testing.pytest_plugin import job_count
from netweave_broadcast.eager_rb import EagerRbData, EagerReliableBroadcast

pytest.importorskip("cryptography", reason="signed origins need the 'secure' extra")

CATALOG = Catalog.discover()
SPECS = SpecCatalog.discover(CATALOG)
BROADCASTS = sorted(name for name, info in CATALOG.plugins.items()
                    if info.cls.broadcast is not Component.broadcast
                    and info.cls.layer and SPECS.for_plugin(name))
OWN = [name for name in BROADCASTS if CATALOG.plugins[name].distribution == "netweave"]


def check(plugin: str, seeds: range, mix: Any, jobs: int) -> None:
    result = assert_conforms(plugin, seeds, mix=mix, jobs=jobs, catalog=CATALOG,
                             signed_origins=True)
    assert result.seeds == len(seeds)


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
    scenario = conformance_scenario("eager-rb", 3, signed_origins=True)
    cluster = scenario.run(3, catalog=CATALOG)
    guards = [n.origins for n in cluster.nodes.values() if n.origins is not None]
    broadcasts = sum(1 for r in cluster.trace if r["ev"] == "broadcast")
    assert sum(g.signed for g in guards) == broadcasts
    # eager-rb: each process gets every message from every relayer; one check each,
    # the other copies are recognised
    assert all(g.verified <= broadcasts for g in guards)
    assert sum(g.cached for g in guards) > sum(g.verified for g in guards)


class RelaysAnUnsignedCopy(EagerReliableBroadcast):
    """eager-rb whose relays carry, beside each signed message, a copy without its
    signature (as a relay that rebuilt the message would): the signed copies keep every
    property, so only the origins' refusals tell."""

    name = "eager-rb-relays-unsigned"
    default = False
    implicit = False

    def _beb(self, message_id: str, msg: EagerRbData) -> None:
        super()._beb(message_id, msg)
        if msg.sig and not msg.id.startswith(f"{self.ctx.node_id}/"):
            super()._beb(self.ctx.new_message_id(), msgspec.structs.replace(msg, sig=b""))


def test_a_refused_genuine_message_fails_the_seed() -> None:
    catalog = Catalog.discover(extra=[RelaysAnUnsignedCopy])
    plain = check_conformance(RelaysAnUnsignedCopy, range(20), catalog=catalog)
    assert plain.ok and plain.seeds == 20  # the copies are duplicates, nothing more
    signed = check_conformance(RelaysAnUnsignedCopy, range(20), catalog=catalog,
                               signed_origins=True)
    failure = signed.failure
    assert failure is not None and failure.seed == 0
    assert (failure.spec, failure.property) == (SIGNED_ORIGINS, NONE_REFUSED)
    assert "genuine messages refused by their origin check" in failure.violation.message
    assert "unsigned" in failure.violation.message and "signed origins" in failure.scenario
    # and the same seed of eager-rb itself refuses nothing
    assert check_conformance("eager-rb", range(1), signed_origins=True).ok


def test_netweave_conform_signed_origins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from netweave.cli import main as cli

    assert cli(["conform", "lazy-rb", "--signed-origins", "--seeds", "8", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("lazy-rb: every property of ReliableBroadcastSpec holds, no "
                          "genuine message refused with signed origins on seeds 0-7")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.chdir(tmp_path)
    mutant = "test_signed_origins_sweep:RelaysAnUnsignedCopy"
    assert cli(["conform", mutant, "--seeds", "8", "--jobs", "1"]) == 0
    capsys.readouterr()
    assert cli(["conform", mutant, "--signed-origins", "--seeds", "8", "--jobs", "1",
                "--trace-dir", str(tmp_path / "t")]) == 1
    captured = capsys.readouterr()
    assert "signed origins 'no genuine message refused' violated on layer rb with seed 0" \
        in captured.out
    assert "not shrunk" in captured.out and "violated on seed 0" in captured.err
    assert (tmp_path / "t" / "n1.jsonl").exists()  # the run again, signed as it was
    assert any(r["ev"] == "deliver" for r in _trace(tmp_path / "t" / "n1.jsonl"))


def _trace(path: Path) -> list[dict[str, Any]]:
    from netweave.trace import read_trace

    return list(read_trace(path))


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
            from netweave_broadcast.rejoin import Join

            for q in ctx.peers:
                ctx.send(q, Join("fifo", ctx.incarnation, 1, relays=(message,)))


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
