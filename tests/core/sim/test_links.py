"""Modelled links (``SimCluster(links="modelled")``): perfect-link semantics given
directly, the faults acting on the messages, components unable to tell the difference."""

from __future__ import annotations

import attrs
import pytest
from netweave import ConfigurationError
from netweave.link import LinkData, PerfectLinks
from netweave.sim import Latency, NetworkModel, Scenario, SimCluster
from netweave.sim._links import ModelledLinks
from netweave.testing.conformance import DEFAULT_MIX, RESTART_MIX, check_conformance

BOTH = ("protocol", "modelled")


def delivered(cluster: SimCluster, node: str) -> list[str]:
    return [r["id"] for r in cluster.trace if r["ev"] == "deliver" and r["node"] == node]


class LoseFirst(NetworkModel):
    """Loses the next ``lose`` messages from n1 to n2; 1 ms for every other one."""

    lose = 0

    @classmethod
    def arm(cls, count: int) -> None:
        cls.lose = count

    def delays(self, src, dst, rng):  # type: ignore[no-untyped-def]
        if (src, dst) == ("n1", "n2") and type(self).lose > 0:
            type(self).lose -= 1
            return ()
        return () if (src, dst) in self.blocked else (0.001,)


def pair(links: str, network: NetworkModel | None = None, *, fd: bool = False) -> SimCluster:
    def configure(node):  # type: ignore[no-untyped-def]
        node.use("beb")
        if fd:
            node.use("perfect-fd")
    return SimCluster(["n1", "n2"], configure, links=links,
                      network=network or NetworkModel(latency=Latency("constant", 0.001)))


@pytest.mark.parametrize("plugin", ["beb", "lazy-rb", "eager-rb", "all-ack-urb",
                                    "majority-ack-urb", "fifo-rb"])
@pytest.mark.parametrize("mix", [DEFAULT_MIX, RESTART_MIX], ids=["default", "restart"])
def test_the_same_seeds_pass_the_specs_in_both_link_models(plugin: str, mix) -> None:  # type: ignore[no-untyped-def]
    for links in BOTH:
        result = check_conformance(plugin, range(25), mix=attrs.evolve(mix, links=links),
                                   keep_going=True)
        assert result.ok and result.seeds == 25, (links, result.failure)


def test_sweeps_default_to_modelled_links_and_a_file_says_which() -> None:
    assert DEFAULT_MIX.links == "modelled"
    assert Scenario.random(nodes=3, seed=0, layer="beb").links == "protocol"
    assert SimCluster(2, lambda n: n.use("beb")).links == "protocol"


def test_modelled_links_send_no_acks_hellos_or_retransmission_timers() -> None:
    runs = {}
    for links in BOTH:
        scenario = Scenario.random(nodes=5, seed=3, layer="beb", messages=20, loss=0.05,
                                   partition=True)
        scenario.links = links
        cluster = scenario.build(3)
        kinds: list[str] = []
        cluster.watch(lambda src, dst, msg, kinds=kinds: kinds.append(type(msg).__name__))
        cluster.run(scenario.end)
        runs[links] = cluster, kinds
    protocol, modelled = runs["protocol"], runs["modelled"]
    assert {"LinkAck", "LinkHello"} <= set(protocol[1])
    assert set(modelled[1]) == {"LinkData"}  # the payloads, nothing else
    assert all(type(n.links) is PerfectLinks for n in protocol[0].nodes.values())
    assert all(type(n.links) is ModelledLinks for n in modelled[0].nodes.values())
    # Without the protocol's messages and timers, less than half the events.
    assert modelled[0].clock.events * 2 < protocol[0].clock.events
    # Nobody crashes: every message everywhere, in both.
    for node in protocol[0].ids:
        assert len(set(delivered(modelled[0], node))) == 20
        assert sorted(delivered(protocol[0], node)) == sorted(delivered(modelled[0], node))


def first_try_lost(links: str) -> SimCluster:
    """n1 broadcasts at 1.0, its first try to n2 is lost."""
    LoseFirst.arm(0)
    cluster = pair(links, LoseFirst())
    cluster.start()
    cluster.at(1.0, LoseFirst.arm, 1)  # the hellos went through: the data is lost
    cluster.at(1.0, cluster.broadcast, "n1", "beb", "x")
    return cluster


@pytest.mark.parametrize("links", BOTH)
def test_a_lost_message_arrives_after_a_retransmission_timeout(links: str) -> None:
    cluster = first_try_lost(links)
    cluster.run(1.1)
    assert delivered(cluster, "n2") == []
    cluster.run(2.0)
    assert delivered(cluster, "n2") == ["n1/1/1"]
    at = next(r["t"] for r in cluster.trace if r["ev"] == "deliver" and r["node"] == "n2")
    assert at >= 1.2  # after rto


@pytest.mark.parametrize("links", BOTH)
def test_a_message_lost_then_its_sender_crashed_is_lost(links: str) -> None:
    cluster = first_try_lost(links)
    cluster.at(1.1, cluster.crash, "n1")  # before the retransmission timeout
    cluster.run(10.0)
    assert delivered(cluster, "n2") == []
    assert delivered(cluster, "n1") == ["n1/1/1"]


@pytest.mark.parametrize("links", BOTH)
def test_a_partition_holds_messages_until_it_heals(links: str) -> None:
    cluster = pair(links)
    cluster.start()
    cluster.at(0.5, cluster.partition, ["n1"], ["n2"])
    cluster.at(1.0, cluster.broadcast, "n1", "beb", "x")
    cluster.run(3.0)
    assert delivered(cluster, "n2") == []
    cluster.heal()
    cluster.run(8.0)  # the protocol resends on its backed-off timer
    assert delivered(cluster, "n2") == ["n1/1/1"]


@pytest.mark.parametrize("links", BOTH)
def test_a_message_held_by_a_partition_is_lost_if_its_sender_crashes_first(
        links: str) -> None:
    cluster = pair(links)
    cluster.start()
    cluster.at(0.5, cluster.partition, ["n1"], ["n2"])
    cluster.at(1.0, cluster.broadcast, "n1", "beb", "x")
    cluster.at(2.0, cluster.crash, "n1")
    cluster.at(3.0, cluster.heal)
    cluster.run(10.0)
    assert delivered(cluster, "n2") == []


@pytest.mark.parametrize("links", BOTH)
def test_a_message_to_a_crashed_process_goes_to_its_next_one(links: str) -> None:
    # What PerfectLinks do: what the dead process never acknowledged is resequenced for
    # the next one. The modelled links do the same.
    cluster = pair(links, fd=True)
    cluster.start()
    cluster.at(1.0, cluster.crash, "n2")
    cluster.at(1.5, cluster.broadcast, "n1", "beb", "to the dead")
    cluster.at(5.0, cluster.restart, "n2")  # after the detector declared n2 crashed
    cluster.run(8.0)
    assert "n1/1/1" in delivered(cluster, "n2")
    restarted = [r for r in cluster.trace if r["ev"] == "restore" and r["node"] == "n1"]
    assert restarted and restarted[0]["peer"] == "n2"  # PeerRestarted reached the detector


@pytest.mark.parametrize("links", BOTH)
def test_a_process_declared_crashed_is_fenced_when_it_speaks_again(links: str) -> None:
    cluster = pair(links, fd=True)
    cluster.start()
    cluster.at(1.0, cluster.pause, "n2")
    cluster.at(5.0, cluster.resume, "n2")  # n1 declared it crashed meanwhile
    cluster.run(8.0)
    assert [r["peer"] for r in cluster.trace
            if r["ev"] == "suspect" and r["node"] == "n1"] == ["n2"]
    fenced = [r for r in cluster.trace if r["ev"] == "crash" and r["node"] == "n2"]
    assert fenced and fenced[0]["reason"] == "fenced" and fenced[0]["by"] == "n1"
    assert cluster.nodes["n1"].links is not None and cluster.nodes["n1"].links.fenced > 0


def test_duplicates_are_masked_and_counted() -> None:
    cluster = SimCluster(3, lambda n: n.use("beb"), seed=2, links="modelled",
                         network=NetworkModel(duplicate=0.5))
    cluster.start()
    for i in range(20):
        cluster.at(0.1 + 0.01 * i, cluster.broadcast, "n1", "beb", i)
    cluster.run(5.0)
    for node in cluster.ids:
        assert len(delivered(cluster, node)) == len(set(delivered(cluster, node))) == 20
    assert sum(cluster.nodes[n].links.duplicates for n in ("n2", "n3")) > 5  # type: ignore[union-attr]


def test_a_paused_process_handles_what_arrived_when_it_resumes() -> None:
    cluster = pair("modelled")
    cluster.start()
    cluster.at(1.0, cluster.pause, "n2")
    cluster.at(1.1, cluster.broadcast, "n1", "beb", "x")
    cluster.run(2.0)
    assert delivered(cluster, "n2") == []
    cluster.resume("n2")
    cluster.run(2.1)
    assert delivered(cluster, "n2") == ["n1/1/1"]


def test_heard_from_is_the_last_message_of_the_current_process() -> None:
    cluster = pair("modelled")
    cluster.start()
    links = cluster.nodes["n2"].links
    assert links is not None and links.heard_from("n1") is None
    cluster.at(1.0, cluster.broadcast, "n1", "beb", "x")
    cluster.run(2.0)
    assert links.heard_from("n1") == pytest.approx(1.001)
    assert links.peer_incarnation("n1") == 1


def test_the_link_model_is_a_scenario_setting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    scenario = Scenario.random(nodes=3, seed=1, layer="beb", messages=3)
    scenario.links = "modelled"
    text = scenario.to_toml()
    assert 'links = "modelled"' in text
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    again = Scenario.from_toml(path)
    assert again.links == "modelled"
    assert again.run(1).trace == scenario.run(1).trace
    assert "links" not in Scenario.random(nodes=3, seed=1, layer="beb").to_toml()
    with pytest.raises(ConfigurationError, match="links must be one of"):
        Scenario.from_dict({"cluster": {"nodes": 2, "layer": "beb", "links": "tcp"}})
    with pytest.raises(ConfigurationError, match="links='tcp'"):
        SimCluster(2, lambda n: n.use("beb"), links="tcp")


def test_netweave_sim_and_conform_take_the_link_model(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from netweave.cli import main

    assert main(["sim", "--layer", "beb", "--nodes", "3", "--links", "modelled",
                 "--trace-dir", str(tmp_path / "t")]) == 0
    modelled = capsys.readouterr().err
    assert main(["sim", "--layer", "beb", "--nodes", "3", "--trace-dir",
                 str(tmp_path / "u")]) == 0
    protocol = capsys.readouterr().err
    events = [int(text.split("(")[1].split()[0]) for text in (modelled, protocol)]
    assert events[0] * 2 < events[1]
    assert main(["conform", "beb", "--seeds", "3", "--jobs", "1", "--links", "protocol"]) == 0
    assert main(["conform", "beb", "--seeds", "3", "--jobs", "1"]) == 0


def test_watchers_see_each_try_of_a_payload_as_link_data() -> None:
    LoseFirst.arm(2)
    cluster = pair("modelled", LoseFirst())
    seen: list[tuple[str, str, object]] = []
    cluster.watch(lambda src, dst, msg: seen.append((src, dst, msg)))
    cluster.start()
    cluster.broadcast("n1", "beb", "x")
    cluster.run(2.0)
    tries = [m for src, dst, m in seen if (src, dst) == ("n1", "n2")]
    assert len(tries) == 3 and all(type(m) is LinkData and m.body.payload == "x"  # type: ignore[attr-defined]
                                   for m in tries)
    assert cluster.nodes["n1"].links.resent == {"n2": 2}  # type: ignore[union-attr]
