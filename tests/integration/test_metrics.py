"""``netweave node --metrics``: real node processes serve Prometheus metrics over HTTP, and
the delivery counters a scrape reads are the deliveries in each node's trace."""

from __future__ import annotations

import sys
import time
import urllib.request
from pathlib import Path

import pytest
from netweave.cli._launch import LocalCluster, NodeProcess, free_ports
from netweave.config import ClusterConfig
from netweave.trace import read_trace

pytestmark = pytest.mark.slow
parser = pytest.importorskip("prometheus_client.parser")

IDS = ["n1", "n2", "n3"]
ARGV = [sys.executable, "-c", "import sys; from netweave.cli import main; "
        "sys.exit(main(sys.argv[1:]))", "node"]


def config(tmp_path: Path) -> ClusterConfig:
    ports = free_ports(len(IDS))
    return ClusterConfig.from_dict({
        "cluster": "metrics",
        "members": {i: f"127.0.0.1:{p}" for i, p in zip(IDS, ports, strict=True)},
        "plugins": {"perfect-fd": {"period": 0.25, "timeout": 1.5}, "urb": {}},
        "fill": "defaults",
    }, base=tmp_path)


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in parser.text_string_to_metric_families(text)
            for s in family.samples}


def traced(run_dir: Path, node: str, ev: str) -> int:
    return sum(1 for r in read_trace(run_dir / f"{node}.jsonl")
               if r["ev"] == ev and r.get("layer") == "urb")


@pytest.mark.timeout(120)
def test_scraped_delivery_counters_match_the_trace(tmp_path: Path) -> None:
    ports = dict(zip(IDS, free_ports(len(IDS)), strict=True))
    with LocalCluster(tmp_path, config(tmp_path),
                      node_args=lambda i: ["--metrics", f"127.0.0.1:{ports[i]}"]) as cluster:
        cluster.start()
        for i in IDS:
            assert f"metrics http://127.0.0.1:{ports[i]}/metrics" in cluster.nodes[i].log()
        for k in range(10):
            for i in IDS:
                cluster.nodes[i].broadcast("urb", f"{i}-{k}")
        assert cluster.wait_until(
            lambda: all(len(cluster.nodes[i].delivered("urb")) == 30 for i in IDS), 30)
        cluster.kill("n3")
        for k in range(5):
            cluster.nodes["n1"].broadcast("urb", f"after-{k}")
        assert cluster.wait_until(
            lambda: all(len(cluster.nodes[i].delivered("urb")) == 35 for i in ("n1", "n2")),
            30)
        time.sleep(0.1)  # the trace files are flushed within 5 ms of each line
        for i in ("n1", "n2"):
            values = scrape(ports[i])
            mine = (("layer", "urb"), ("node", i))
            assert values[("netweave_deliveries_total", mine)] == \
                traced(tmp_path, i, "deliver") == 35
            assert values[("netweave_broadcasts_total", mine)] == \
                traced(tmp_path, i, "broadcast")
            assert values[("netweave_delivery_latency_seconds_count", mine)] == \
                values[("netweave_broadcasts_total", mine)]
            assert values[("netweave_fd_crashes_detected_total", (("node", i),
                                                                  ("peer", "n3")))] == 1
            assert values[("netweave_link_messages_sent_total", (("node", i),
                                                                 ("peer", "n3")))] > 0
            assert values[("netweave_transport_frames_received_total", (("node", i),))] > 0
            assert values[("netweave_node_running", (("node", i),))] == 1
        cluster.stop()


@pytest.mark.timeout(60)
def test_metrics_on_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    cfg = tmp_path / "cluster.toml"
    cfg.write_text(config(tmp_path).to_toml(), encoding="utf-8")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = NodeProcess("n1", [*ARGV, "--config", str(cfg), "--id", "n1",
                                  "--metrics", f"127.0.0.1:{port}"])
        code = proc.wait(30)
    assert code == 2
    assert any(f"cannot serve metrics at 127.0.0.1:{port}" in x for x in proc.log())


@pytest.mark.timeout(60)
def test_metrics_without_prometheus_client_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "cluster.toml"
    cfg.write_text(config(tmp_path).to_toml(), encoding="utf-8")
    # An entry of None in sys.modules makes the import fail as if it were not installed.
    argv = [sys.executable, "-c", "import sys; sys.modules['prometheus_client'] = None; "
            "from netweave.cli import main; sys.exit(main(sys.argv[1:]))", "node"]
    proc = NodeProcess("n1", [*argv, "--config", str(cfg), "--id", "n1",
                              "--metrics", "127.0.0.1:0"])
    assert proc.wait(30) == 2
    assert any("pip install 'netweave[metrics]'" in x for x in proc.log())
