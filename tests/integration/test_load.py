"""Real ``netweave node`` processes under load and pauses: a reader that stops reading its
deliveries for 30 s, and a node paused for three detector timeouts. Nothing is lost,
nobody is wrongly declared crashed for being slow, and a pause ends as a fenced crash and
a new incarnation; every trace passes the checker."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import pytest
from netweave.check import check_trace
from netweave.cli._launch import LocalCluster, NodeProcess, free_ports
from netweave.config import ClusterConfig

pytestmark = pytest.mark.slow

IDS = ["n1", "n2", "n3", "n4"]
FD = {"period": 0.25, "timeout": 1.5, "start_grace": 5.0}


def config(tmp_path: Path) -> ClusterConfig:
    secret = tmp_path / "secret"
    secret.write_text("integration-secret-0123456789\n")
    ports = free_ports(len(IDS))
    return ClusterConfig.from_dict({
        "cluster": "load",
        "members": {i: f"127.0.0.1:{p}" for i, p in zip(IDS, ports, strict=True)},
        "plugins": {"perfect-fd": dict(FD), "urb": {}},
        "fill": "defaults",
        "security": {"secret_file": secret.name},
    }, base=tmp_path)


def suspicions(run_dir: Path) -> list[dict[str, object]]:
    found = []
    for path in run_dir.glob("n*.jsonl"):
        for line in path.read_text().splitlines():
            if '"suspect"' in line:
                found.append(json.loads(line))
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stats_of(proc: NodeProcess) -> dict[str, object]:
    lines = [x for x in proc.log() if x.startswith("stats ")]
    assert lines, proc.log()[-10:]
    stats: dict[str, object] = json.loads(lines[-1][len("stats "):])
    return stats


def delivered_everywhere(cluster: LocalCluster, payloads: set[str]) -> bool:
    return all(payloads <= {d["payload"] for d in cluster.nodes[i].delivered("urb")}
               for i in IDS)


@pytest.mark.timeout(150)
def test_a_reader_that_stops_for_30s_slows_the_cluster_and_loses_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()  # set: n4's standard output is read again
    original = NodeProcess._on_out

    def on_out(self: NodeProcess, line: str) -> None:
        if self.node_id == "n4":
            gate.wait(120)
        original(self, line)

    monkeypatch.setattr(NodeProcess, "_on_out", on_out)
    small = ["--output-buffer", "16384"]
    with LocalCluster(tmp_path, config(tmp_path),
                      node_args=lambda i: small if i == "n4" else ()) as cluster:
        cluster.start()
        n4 = cluster.nodes["n4"]
        sent: set[str] = set()
        peak = 0
        begin = time.monotonic()
        k = 0
        while time.monotonic() - begin < 30:  # a steady load while n4's output is unread
            for i in IDS:
                text = f"{i}-{k}"
                assert cluster.nodes[i].broadcast("urb", text)
                sent.add(text)
            k += 1
            peak = max(peak, rss_kib(n4.pid))
            time.sleep(0.05)
        assert n4.alive
        gate.set()
        assert cluster.wait_until(lambda: delivered_everywhere(cluster, sent), 60), {
            i: len(cluster.nodes[i].delivered("urb")) for i in IDS}
        codes = cluster.stop()
        assert codes == dict.fromkeys(IDS, 0), codes
        for i in IDS:
            ids = [d["id"] for d in cluster.nodes[i].delivered("urb")]
            assert len(ids) == len(set(ids)) == len(sent), i
        stats = stats_of(n4)
        output = stats["output"]
        assert isinstance(output, dict) and output["throttled"] >= 1, stats  # it pushed back
        links = stats["links"]
        assert isinstance(links, dict) and links["dropped"] == 0, stats
        assert peak < 200 * 1024, f"n4 grew to {peak} KiB while its output was not read"
    assert suspicions(tmp_path) == []  # slow is not crashed
    report = check_trace(tmp_path)
    assert report.ok, report.format()


@pytest.mark.timeout(120)
def test_a_node_paused_for_three_timeouts_is_fenced_and_rejoins_as_a_new_incarnation(
        tmp_path: Path) -> None:
    with LocalCluster(tmp_path, config(tmp_path)) as cluster:
        cluster.start()
        n4 = cluster.nodes["n4"]
        before = {f"before-{i}" for i in IDS}
        for text in sorted(before):
            assert cluster.nodes[text.split("-")[1]].broadcast("urb", text)
        assert cluster.wait_until(lambda: delivered_everywhere(cluster, before), 20)
        first = next(x for x in n4.log() if x.startswith("ready "))
        n4.signal(signal.SIGSTOP)
        cluster.record_fault("n4", "fault", kind="pause")
        time.sleep(3 * FD["timeout"])
        n4.signal(signal.SIGCONT)
        cluster.record_fault("n4", "fault", kind="resume")

        def rejoined() -> bool:
            return len([x for x in n4.log() if x.startswith("ready ")]) == 2

        assert cluster.wait_until(rejoined, 20), n4.log()[-10:]
        second = [x for x in n4.log() if x.startswith("ready ")][1]
        old_inc = int(first.split("incarnation ")[1].split()[0])
        new_inc = int(second.split("incarnation ")[1].split()[0])
        assert new_inc > old_inc
        assert any("fenced; starting a new incarnation" in x for x in n4.log()), n4.log()

        def restored() -> bool:  # every peer sees the new process
            for i in IDS[:3]:
                lines = (tmp_path / f"{i}.jsonl").read_text().splitlines()
                events = [json.loads(x)["ev"] for x in lines if '"n4"' in x and '"peer"' in x]
                if not events or events[-1] != "restore":
                    return False
            return True

        assert cluster.wait_until(restored, 20)
        after = {f"after-{i}" for i in IDS}
        for text in sorted(after):
            assert cluster.nodes[text.split("-")[1]].broadcast("urb", text)
        assert cluster.wait_until(lambda: delivered_everywhere(cluster, after), 20), {
            i: [d["payload"] for d in cluster.nodes[i].delivered("urb")] for i in IDS}
        fresh = [d["id"] for d in cluster.nodes["n1"].delivered("urb")
                 if d["payload"] == "after-n4"]
        assert len(fresh) == 1 and fresh[0].startswith(f"n4/{new_inc}/")
        codes = cluster.stop()
        assert codes == dict.fromkeys(IDS, 0), codes
    trace = (tmp_path / "n4.jsonl").read_text()
    assert '"reason":"fenced"' in trace.replace(" ", "")
    report = check_trace(tmp_path)
    assert report.ok, report.format()
