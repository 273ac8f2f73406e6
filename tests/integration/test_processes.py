"""Real clusters of ``netweave node`` processes on loopback, with SIGKILLs, a restart and a
late starter; every trace must pass the checker for beb, rb, urb and fifo."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from netweave import Catalog
from netweave.check import check_trace
from netweave.cli._launch import LocalCluster, NodeProcess, free_ports
from netweave.config import ClusterConfig
from netweave.errors import ConfigurationError

pytestmark = pytest.mark.slow

LAYERS = ["beb", "rb", "urb", "fifo"]
FD = {"period": 0.25, "timeout": 1.5, "start_grace": 5.0}
IDS = ["n1", "n2", "n3", "n4"]


def installed(layer: str) -> bool:
    return Catalog.discover().abstraction_of_layer(layer) is not None


def config(layer: str, secret: Path) -> ClusterConfig:
    secret.write_text("integration-secret-0123456789\n")
    ports = free_ports(len(IDS))
    return ClusterConfig.from_dict({
        "cluster": "itest",
        "members": {i: f"127.0.0.1:{p}" for i, p in zip(IDS, ports, strict=True)},
        "plugins": {"perfect-fd": dict(FD), layer: {}},
        "fill": "defaults",
        "links": {"rto": 0.05, "max_rto": 0.5},
        "security": {"secret_file": secret.name},
    }, base=secret.parent)


def broadcast_rounds(cluster: LocalCluster, layer: str, senders: list[str], rounds: int,
                     tag: str) -> set[str]:
    """Broadcast ``rounds`` times from each sender; returns the payloads."""
    sent: set[str] = set()
    for k in range(rounds):
        for node_id in senders:
            text = f"{tag}-{node_id}-{k}"
            assert cluster.nodes[node_id].broadcast(layer, text)
            sent.add(text)
        time.sleep(0.01)
    return sent


def settle(cluster: LocalCluster, layer: str, survivors: list[str], expected: set[str],
           agree: list[str]) -> None:
    """Wait until every survivor delivered ``expected`` and the ``agree`` nodes (alive all
    along) delivered the same ids (every layer but beb promises agreement)."""

    def done() -> bool:
        for i in survivors:
            if not expected <= {d["payload"] for d in cluster.nodes[i].delivered(layer)}:
                return False
        if layer == "beb":
            return True
        seen = [{d["id"] for d in cluster.nodes[i].delivered(layer)} for i in agree]
        return all(s == seen[0] for s in seen)

    assert cluster.wait_until(done, 20), {
        i: len(cluster.nodes[i].delivered(layer)) for i in survivors}
    crashed = {i for i, p in cluster.nodes.items() if not p.alive}

    def detected() -> bool:
        # A quiet period: every survivor suspects exactly the nodes that are down now
        # (a restarted node must have been restored, after its peers reconnected).
        for i in survivors:
            suspected: set[str] = set()
            for line in (cluster.run_dir / f"{i}.jsonl").read_text().splitlines():
                if '"suspect"' in line or '"restore"' in line:
                    record = json.loads(line)
                    if record["ev"] == "suspect":
                        suspected.add(record["peer"])
                    elif record["ev"] == "restore":
                        suspected.discard(record["peer"])
            if suspected != crashed - {i}:
                return False
        return True

    assert cluster.wait_until(detected, 10)


def finish(cluster: LocalCluster, survivors: list[str]) -> None:
    codes = cluster.stop()
    assert all(codes[i] == 0 for i in survivors), codes
    for i in survivors:
        for proc in cluster.history:
            if proc.node_id == i:
                assert not [line for line in proc.log() if "Traceback" in line], proc.log()
    report = check_trace(cluster.run_dir)
    assert report.ok, report.format()
    assert not report.unchecked, report.unchecked
    lines = (cluster.run_dir / "faults.jsonl").read_text() if (
        cluster.run_dir / "faults.jsonl").exists() else ""
    assert lines.count('"crash"') == sum(1 for p in cluster.history if p.proc.returncode == -9)


def incarnation(proc: NodeProcess) -> int:
    """The incarnation a node process announced in its ``ready`` line."""
    ready = next(x for x in proc.log() if x.startswith("ready "))
    return int(ready.split(" incarnation ")[1].split()[0])


def no_duplicates(cluster: LocalCluster, layer: str) -> None:
    """No process delivered a message twice. A process is one incarnation: with
    ``--on-fenced restart`` one OS process may run several, each delivering afresh."""
    for proc in cluster.history:
        by_process: dict[int, list[str]] = {}
        for d in proc.delivered(layer):
            by_process.setdefault(d["incarnation"], []).append(d["id"])
        for inc, ids in by_process.items():
            assert len(ids) == len(set(ids)), (proc.node_id, inc)


@pytest.fixture(params=LAYERS)
def layer(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if not installed(name):
        pytest.skip(f"no plugin provides the {name!r} layer in this installation")
    return name


@pytest.mark.timeout(90)
def test_kill_a_sender_midway_with_a_late_starter(tmp_path: Path, layer: str) -> None:
    with LocalCluster(tmp_path, config(layer, tmp_path / "secret")) as cluster:
        cluster.start(["n1", "n2", "n3"])
        early = broadcast_rounds(cluster, layer, ["n1", "n2"], 5, "early")
        broadcast_rounds(cluster, layer, ["n3"], 5, "early")
        cluster.start(["n4"])  # starts late: still gets what was sent before
        mid = broadcast_rounds(cluster, layer, ["n1", "n2", "n4"], 5, "mid")
        broadcast_rounds(cluster, layer, ["n3"], 5, "mid")
        cluster.kill("n3")  # a sender, while its messages are in flight
        late = broadcast_rounds(cluster, layer, ["n1", "n2", "n4"], 5, "late")
        survivors = ["n1", "n2", "n4"]
        settle(cluster, layer, survivors, early | mid | late, survivors)
        no_duplicates(cluster, layer)
        finish(cluster, survivors)


@pytest.mark.timeout(90)
def test_kill_a_non_sender_then_restart_it(tmp_path: Path, layer: str) -> None:
    with LocalCluster(tmp_path, config(layer, tmp_path / "secret")) as cluster:
        cluster.start()
        first = broadcast_rounds(cluster, layer, ["n1", "n2", "n3"], 5, "a")
        old = cluster.nodes["n4"]
        cluster.kill("n4")  # it never broadcast
        second = broadcast_rounds(cluster, layer, ["n1", "n2", "n3"], 5, "b")
        survivors = ["n1", "n2", "n3"]
        settle(cluster, layer, survivors, first | second, survivors)
        cluster.restart("n4")  # a new process: a higher incarnation, fresh message ids
        third = broadcast_rounds(cluster, layer, IDS, 5, "c")
        settle(cluster, layer, IDS, third, survivors)
        before, after = (incarnation(p) for p in (old, cluster.nodes["n4"]))
        assert after > before
        for i in survivors:
            fresh = [d["id"] for d in cluster.nodes[i].delivered(layer)
                     if d["origin"] == "n4"]
            assert len(fresh) == 5 and all(x.startswith(f"n4/{after}/") for x in fresh), fresh
        no_duplicates(cluster, layer)
        finish(cluster, IDS)


@pytest.mark.timeout(30)
def test_a_node_that_exits_during_start_up_fails_the_start_at_once(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("integration-secret-0123456789\n")
    bad = ClusterConfig.from_dict({
        "members": {i: f"127.0.0.1:{p}" for i, p in zip(IDS[:2], free_ports(2), strict=True)},
        "plugins": {"no-such-plugin": {}},
        "security": {"secret_file": secret.name},
    }, base=tmp_path)
    with LocalCluster(tmp_path, bad) as cluster:
        began = time.monotonic()
        with pytest.raises(ConfigurationError, match="exited during start-up") as caught:
            cluster.start(wait=20)
        assert time.monotonic() - began < 10  # not the whole start-up timeout
        assert "no-such-plugin" in str(caught.value)  # the node's own words
        assert cluster.exited()  # ended unasked
