"""``netweave node`` as a user runs it: commands in, JSON deliveries out, clean and
abrupt ends, configuration mistakes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from netweave.cli._launch import NodeProcess, free_ports
from netweave.trace import read_trace

pytestmark = pytest.mark.slow

ARGV = [sys.executable, "-c", "import sys; from netweave.cli import main; "
        "sys.exit(main(sys.argv[1:]))", "node"]


def write_config(tmp_path: Path) -> Path:
    (port,) = free_ports(1)
    path = tmp_path / "solo.toml"
    path.write_text(f'cluster = "solo"\n[members]\nn1 = "127.0.0.1:{port}"\n'
                    "[plugins]\nbeb = {}\n")
    return path


@pytest.mark.timeout(60)
def test_broadcast_stats_and_sigterm(tmp_path: Path) -> None:
    proc = NodeProcess("n1", [*ARGV, "--config", str(write_config(tmp_path)), "--id", "n1",
                              "--trace-dir", str(tmp_path)])
    try:
        assert proc.ready.wait(20), proc.log()
        proc.send("broadcast beb hello world")
        proc.send("frobnicate")
        proc.send("stats")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
                proc.delivered() and any(x.startswith("stats ") for x in proc.log())):
            time.sleep(0.02)
        ready = next(x for x in proc.log() if x.startswith("ready "))
        inc = int(ready.split(" incarnation ")[1].split()[0])
        assert proc.delivered() == [{"layer": "beb", "id": proc.delivered()[0]["id"],
                                     "origin": "n1", "payload": "hello world",
                                     "incarnation": inc}]
        assert any("unknown command" in x for x in proc.log())
        stats = json.loads(next(x for x in proc.log() if x.startswith("stats "))[6:])
        assert stats["node"] == "n1" and "transport" in stats
        proc.signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        proc.wait(5)
    evs = [r["ev"] for r in read_trace(tmp_path / "n1.jsonl")]
    assert evs == ["start", "broadcast", "deliver", "stop"]


@pytest.mark.timeout(60)
def test_sigkill_keeps_the_trace_up_to_the_last_few_milliseconds(tmp_path: Path) -> None:
    proc = NodeProcess("n1", [*ARGV, "--config", str(write_config(tmp_path)), "--id", "n1",
                              "--trace-dir", str(tmp_path)])
    try:
        assert proc.ready.wait(20), proc.log()
        for k in range(20):
            proc.send(f"broadcast beb m{k}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(proc.delivered()) < 20:
            time.sleep(0.01)
        time.sleep(0.05)  # more than the 5 ms flush delay
        proc.signal(signal.SIGKILL)
        proc.wait(5)
    finally:
        proc.wait(5)
    evs = [r["ev"] for r in read_trace(tmp_path / "n1.jsonl")]
    assert evs.count("broadcast") == 20 and evs.count("deliver") == 20
    assert "stop" not in evs


def test_configuration_mistakes_exit_with_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[members]\nn1 = 'nowhere'\n[plugins]\nbeb = {}\n")
    run = subprocess.run([*ARGV, "--config", str(bad), "--id", "n1"], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 2 and "not host:port" in run.stderr
    good = write_config(tmp_path)
    run = subprocess.run([*ARGV, "--config", str(good), "--id", "n7"], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 2 and "not a member" in run.stderr
    (port,) = free_ports(1)
    lacking = tmp_path / "lacking.toml"
    lacking.write_text(f'[members]\nn1 = "127.0.0.1:{port}"\n[plugins]\nlazy-rb = {{}}\n')
    run = subprocess.run([*ARGV, "--config", str(lacking), "--id", "n1"], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().endswith(
        "add perfect-fd = {} under [plugins] in the cluster file"), run.stderr


@pytest.mark.timeout(90)
def test_a_mutual_tls_cluster_signs_origins_with_its_tls_keys(tmp_path: Path) -> None:
    # profile = "secure" with mutual TLS and no keyring: every process signs what it
    # originates with its TLS key and checks the other origins against their certificates.
    pytest.importorskip("cryptography", reason="signed origins need the 'secure' extra")
    from netweave.check import check_trace
    from netweave.cli._launch import LocalCluster
    from netweave.config import ClusterConfig
    from tls_files import cluster_tls

    ids = ["n1", "n2", "n3"]
    cluster_tls(tmp_path / "tls", ids)
    ports = free_ports(len(ids))
    config = ClusterConfig.from_dict({
        "cluster": "tls-signed", "members": {i: f"127.0.0.1:{p}" for i, p in zip(
            ids, ports, strict=True)},
        "plugins": {"eager-rb": {}}, "links": {"rto": 0.05, "max_rto": 0.5},
        "security": {"ca": "tls/ca.pem", "cert": "tls/{id}.pem", "key": "tls/{id}.key",
                     "profile": "secure"}}, base=tmp_path)
    with LocalCluster(tmp_path / "run", config) as cluster:
        cluster.start()
        sent = {f"{i}-{k}" for i in ids for k in range(5)}
        for text in sorted(sent):
            assert cluster.nodes[text.split("-")[0]].broadcast("rb", text)

        def everywhere() -> bool:
            return all({d["payload"] for d in cluster.nodes[i].delivered("rb")} == sent
                       for i in ids)

        assert cluster.wait_until(everywhere, 20), {
            i: len(cluster.nodes[i].delivered("rb")) for i in ids}
        for i in ids:
            cluster.nodes[i].send("stats")
        assert cluster.wait_until(lambda: all(any(x.startswith("stats ") for x in (
            cluster.nodes[i].log())) for i in ids), 10)
        stats = {i: json.loads(next(x for x in cluster.nodes[i].log()
                                    if x.startswith("stats "))[6:]) for i in ids}
        cluster.stop()
    for i in ids:
        origins = stats[i]["origins"]
        assert origins["signed"] == 5, (i, origins)
        assert origins["verified"] >= 10 and not origins["dropped"], (i, origins)
    report = check_trace(tmp_path / "run")
    assert report.ok, report
