"""``trace_messages``: a ``send`` and a ``recv`` line per component message on a link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from netweave import ConfigurationError
from netweave.check import check_trace
from netweave.cli import main
from netweave.sim import NetworkModel, Scenario, SimCluster
from netweave.timeline import render_timeline


def run(seed: int, **kw: Any) -> SimCluster:
    scenario = Scenario.random(nodes=4, seed=seed, layer="rb", messages=6, crash=1,
                               loss=0.2, duplicate=0.1, partition=True)
    return scenario.run(seed, **kw)


def without_messages(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in trace if r["ev"] not in ("send", "recv")]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_message_is_received_at_most_once_and_only_after_it_was_sent(seed: int) -> None:
    trace = run(seed, trace_messages=True).trace
    sends = {r["mid"]: r for r in trace if r["ev"] == "send"}
    recvs = [r for r in trace if r["ev"] == "recv"]
    assert len(sends) == sum(r["ev"] == "send" for r in trace)  # every mid is unique
    assert len({r["mid"] for r in recvs}) == len(recvs)  # duplicates never show
    assert recvs and len(recvs) < len(sends)  # some went to the crashed node
    for r in recvs:
        sent = sends[r["mid"]]
        assert (sent["node"], sent["to"]) == (r["from"], r["node"])
        assert sent["t"] < r["t"] and sent["msg"] == r["msg"]
        assert sent.get("id") == r.get("id")
    kinds = {r["msg"] for r in sends.values()}
    assert {"fd.heartbeat", "lazy-rb.data"} <= kinds  # rb's own, not the beb carrying it
    broadcast = {r["id"] for r in trace if r["ev"] == "broadcast"}
    assert {r["id"] for r in sends.values() if r["msg"] == "lazy-rb.data"} <= broadcast


def test_the_rest_of_the_trace_and_the_verdict_do_not_change() -> None:
    plain, traced = run(2), run(2, trace_messages=True)
    assert not [r for r in plain.trace if r["ev"] in ("send", "recv")]
    assert without_messages(traced.trace) == plain.trace
    assert check_trace(traced.trace).format() == check_trace(plain.trace).format()


def test_nothing_is_traced_for_messages_a_node_sends_itself() -> None:
    cluster = SimCluster(3, lambda n: n.use("beb"), seed=1, trace_messages=True)
    cluster.start()
    cluster.broadcast("n1", "beb", "x")
    cluster.run(1.0)
    sends = [(r["node"], r["to"]) for r in cluster.trace if r["ev"] == "send"]
    assert sends == [("n1", "n2"), ("n1", "n3")]


def test_the_message_id_travels_through_the_codec_beside_other_metadata() -> None:
    cluster = SimCluster(2, lambda n: n.use("lamport-clock").use("beb"), seed=1,
                         encode=True, trace_messages=True, network=NetworkModel())
    cluster.start()
    cluster.broadcast("n1", "beb", "x")
    cluster.run(1.0)
    (recv,) = [r for r in cluster.trace if r["ev"] == "recv"]
    (send,) = [r for r in cluster.trace if r["ev"] == "send"]
    assert recv["mid"] == send["mid"] == "n1/1/m1"
    assert recv["lamport"] > send["lamport"]  # the clock's own field still arrived


def test_the_timeline_shows_messages_about_broadcasts_by_default() -> None:
    trace = run(3, trace_messages=True).trace
    about = "\n".join(render_timeline(trace))
    assert "-> n" in about and "<- n" in about and "heartbeat" not in about
    assert "heartbeat" in "\n".join(render_timeline(trace, messages="all"))
    assert render_timeline(trace, messages="none") == render_timeline(without_messages(trace))
    one = next(r for r in trace if r["ev"] == "broadcast")["id"]
    rows = render_timeline(trace, ids=[one])
    assert sum("-> n" in r for r in rows) >= 3 and all("heartbeat" not in r for r in rows)
    with pytest.raises(ConfigurationError, match="messages must be one of about, all, none"):
        render_timeline(trace, messages="some")


def test_netweave_sim_writes_them_on_request(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sim", "--nodes", "3", "--layer", "beb", "--messages", "2", "--seed", "1"]
    assert main([*args, "--trace-dir", str(tmp_path / "a"), "--trace-messages"]) == 0
    assert main([*args, "--trace-dir", str(tmp_path / "b")]) == 0
    assert '"ev":"send"' in (tmp_path / "a" / "n1.jsonl").read_text()
    assert '"ev":"send"' not in (tmp_path / "b" / "n1.jsonl").read_text()
    capsys.readouterr()
    assert main(["timeline", str(tmp_path / "a"), "--messages", "none"]) == 0
    assert "->" not in capsys.readouterr().out


def test_over_tcp_the_message_id_crosses_the_wire() -> None:
    import asyncio

    from netweave import Node
    from netweave.cli._launch import free_ports
    from netweave.trace import ListSink

    ports = free_ports(2)
    addresses = {f"n{i + 1}": f"127.0.0.1:{p}" for i, p in enumerate(ports)}
    nodes = {i: Node(i, peers=addresses, trace_messages=True, strict=True).use("beb")
             for i in addresses}
    sinks = {i: ListSink() for i in nodes}
    for i, node in nodes.items():
        node.tracer.sinks.append(sinks[i])
    got: list[Any] = []
    nodes["n2"].on_deliver("beb", got.append)

    async def main() -> None:
        for node in nodes.values():
            await node.start()
        nodes["n1"].broadcast("beb", "x")
        for _ in range(500):
            if got:
                break
            await asyncio.sleep(0.01)
        for node in nodes.values():
            await node.stop()

    asyncio.run(main())
    assert [d.payload for d in got] == ["x"]
    (send,) = [r for r in sinks["n1"].records if r["ev"] == "send"]
    (recv,) = [r for r in sinks["n2"].records if r["ev"] == "recv"]
    assert send["mid"] == recv["mid"] and send["to"] == "n2" and recv["from"] == "n1"
    assert send["id"] == recv["id"] == got[0].id and recv["msg"] == "beb.data"


def test_a_relay_is_traced_with_the_id_of_the_broadcast_it_relays() -> None:
    cluster = SimCluster(3, lambda n: n.use("perfect-fd").use("all-ack-urb"), seed=2,
                         trace_messages=True)
    cluster.start()
    mid = cluster.broadcast("n1", "urb", "x")
    cluster.run(1.0)
    sends = [r for r in cluster.trace if r["ev"] == "send" and r.get("id") == mid]
    # n1's copies and every relay (all-ack-urb relays once on first receipt).
    assert sorted((r["node"], r["to"]) for r in sends) == [
        ("n1", "n2"), ("n1", "n3"), ("n2", "n1"), ("n2", "n3"), ("n3", "n1"), ("n3", "n2")]
    assert {r["msg"] for r in sends} == {"urb.data"}
    rows = render_timeline(cluster.trace, ids=[mid])
    assert sum("-> n" in r for r in rows) == 6 and sum("<- n" in r for r in rows) == 6


def test_clocks_count_no_extra_event_and_a_send_happens_before_its_recv() -> None:
    from netweave_clocks import happened_before

    def configure(node: Any) -> None:
        node.use("vector-clock").use("beb")

    def run_vc(traced: bool) -> SimCluster:
        cluster = SimCluster(3, configure, seed=5, trace_messages=traced)
        cluster.start()
        for i in range(4):
            cluster.at(0.1 * i, cluster.broadcast, f"n{i % 3 + 1}", "beb", i)
        cluster.run(2.0)
        return cluster

    plain, traced = run_vc(False), run_vc(True)
    assert without_messages(traced.trace) == plain.trace
    sends = {r["mid"]: r for r in traced.trace if r["ev"] == "send"}
    recvs = [r for r in traced.trace if r["ev"] == "recv"]
    assert len(recvs) == len(sends) == 8
    for r in recvs:
        assert happened_before(sends[r["mid"]]["vc"], r["vc"])


def test_a_receiver_that_restarts_before_acknowledging_gets_the_message_again() -> None:
    from netweave.sim import Latency

    cluster = SimCluster(2, lambda n: n.use("beb"), seed=1, trace_messages=True,
                         network=NetworkModel(latency=Latency("constant", 0.01, 0.01)))
    cluster.start()
    cluster.run(0.5)
    cluster.broadcast("n1", "beb", "x")
    cluster.one_way(["n2"], ["n1"])  # n2's acknowledgement will be lost
    cluster.run(0.6)
    cluster.restart("n2")
    cluster.heal()
    cluster.run(5.0)
    (send,) = [r for r in cluster.trace if r["ev"] == "send" and r["node"] == "n1"]
    recvs = [r for r in cluster.trace if r["ev"] == "recv" and r["mid"] == send["mid"]]
    starts = [r["t"] for r in cluster.trace if r["ev"] == "start" and r["node"] == "n2"]
    assert len(recvs) == 2 and recvs[0]["t"] < starts[1] < recvs[1]["t"]
