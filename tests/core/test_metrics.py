"""netweave.metrics: what collect() counts, and its Prometheus exposition."""

from __future__ import annotations

import importlib.util
import urllib.request

import pytest
from netweave import metrics
from netweave.sim import SimCluster


def cluster(*plugins, n=3, seed=1, **kwargs):
    c = SimCluster(n, lambda node: [node.use(p) for p in plugins], seed=seed, fill="defaults",
                   **kwargs)
    for node in c.nodes.values():
        metrics.enable(node)
    c.start()
    return c


def trace_count(c, node, ev, layer):
    return sum(1 for r in c.trace if r["node"] == node and r["ev"] == ev
               and r.get("layer") == layer)


def test_broadcasts_and_deliveries_match_the_trace_per_layer():
    c = cluster("majority-ack-urb")
    for i in range(6):
        c.at(1.0 + i * 0.1, c.broadcast, f"n{1 + i % 3}", "urb", f"m{i}")
    c.run(10.0)
    for node in c.ids:
        data = metrics.collect(c.nodes[node])
        assert data["broadcasts"] == {"urb": trace_count(c, node, "broadcast", "urb")}
        assert data["deliveries"] == {"urb": trace_count(c, node, "deliver", "urb")} \
            == {"urb": 6}
        latency = data["delivery_latency"]["urb"]
        assert latency["count"] == 2  # its own two broadcasts
        assert latency["buckets"][-1] == [float("inf"), 2]
        assert 0 < latency["sum"] < 1.0
        assert data["bus"]["dispatched"] > 0 and data["errors"] == 0


def test_link_counts_per_peer_and_link_state():
    c = cluster("beb")
    sent = []
    c.watch(lambda src, dst, msg: sent.append((src, dst)))
    for i in range(5):
        c.at(1.0 + i, c.broadcast, "n1", "beb", i)
    c.run(10.0)
    data = metrics.collect(c.nodes["n1"])
    for peer in ("n2", "n3"):
        entry = data["peers"][peer]
        assert entry["sent"] == 5 and entry["received"] == 0
        assert entry["unacknowledged"] == 0 and entry["held"] == 0
        assert entry["incarnation"] == 1 and entry["restarts"] == 0
        assert 0 <= entry["silent_for"] < 10.0
    assert metrics.collect(c.nodes["n2"])["peers"]["n1"]["received"] == 5
    assert data["links"]["duplicates"] == 0 and data["links"]["dropped"] == 0
    assert data["transport"] is None  # the simulator has no TCP transport


def test_suspicions_crashes_and_restarts_per_peer():
    c = cluster("perfect-fd", "beb", n=4)
    c.at(2.0, c.crash, "n4")
    c.at(6.0, c.restart, "n4")
    c.run(15.0)
    peer = metrics.collect(c.nodes["n1"])["peers"]["n4"]
    assert peer["suspicions"] == 1 and peer["crashes"] == 1 and peer["restores"] == 1
    assert peer["restarts"] == 1 and peer["incarnation"] == 2 and peer["suspected"] is False

    e = cluster("eventually-perfect-fd", n=3, seed=2)
    e.at(2.0, e.partition, ["n1"], ["n2", "n3"])
    e.run(8.0)
    during = metrics.collect(e.nodes["n1"])["peers"]["n2"]
    assert during["suspicions"] == 1 and during["suspected"] is True and during["crashes"] == 0
    e.heal()
    e.run(14.0)
    after = metrics.collect(e.nodes["n1"])["peers"]["n2"]
    assert after["restores"] == 1 and after["suspected"] is False


def test_enable_is_idempotent_and_collect_enables():
    c = SimCluster(2, lambda node: node.use("beb"), seed=3)
    node = c.nodes["n1"]
    assert metrics.collect(node)["deliveries"] == {}
    first = metrics.enable(node)
    assert metrics.enable(node) is first
    assert node.tracer.sinks.count(first) == 1


def test_a_node_reads_its_own_counters():
    c = cluster("eager-rb")
    c.at(1.0, c.broadcast, "n1", "rb", "m")
    c.run(5.0)
    node = c.nodes["n2"]
    data = node.metrics()
    assert data == metrics.collect(node)
    assert data["deliveries"] == {"rb": 1} and data["peers"]["n1"]["received"] >= 1


def test_prometheus_exposition_follows_the_conventions():
    prometheus_client = pytest.importorskip("prometheus_client")
    from prometheus_client.parser import text_string_to_metric_families

    c = cluster("perfect-fd", "majority-ack-urb")
    for i in range(4):
        c.at(1.0 + i, c.broadcast, "n1", "urb", i)
    c.at(5.5, c.crash, "n3")
    c.run(12.0)
    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    registry.register(metrics.NodeCollector(lambda: metrics.collect(c.nodes["n1"])))
    text = prometheus_client.generate_latest(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, family in families.items():
        assert name.startswith("netweave_")
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
    value = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for f in families.values() for s in f.samples}
    assert value[("netweave_deliveries_total", (("layer", "urb"), ("node", "n1")))] == 4
    assert value[("netweave_broadcasts_total", (("layer", "urb"), ("node", "n1")))] == 4
    assert value[("netweave_fd_crashes_detected_total", (("node", "n1"), ("peer", "n3")))] == 1
    assert value[("netweave_fd_suspected", (("node", "n1"), ("peer", "n3")))] == 1
    assert value[("netweave_delivery_latency_seconds_count",
                  (("layer", "urb"), ("node", "n1")))] == 4
    assert value[("netweave_node_incarnation", (("node", "n1"),))] == 1
    assert ("netweave_link_messages_sent_total", (("node", "n1"), ("peer", "n2"))) in value
    assert families["netweave_delivery_latency_seconds"].type == "histogram"
    assert families["netweave_link_unacknowledged_messages"].type == "gauge"


def test_serve_answers_over_http():
    pytest.importorskip("prometheus_client")
    c = cluster("beb", n=2)
    c.broadcast("n1", "beb", "x")
    c.run(1.0)
    server = metrics.serve("127.0.0.1:0", lambda: metrics.collect(c.nodes["n1"]))
    try:
        host, port = server.server_address[:2]
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as answer:
            body = answer.read().decode()
    finally:
        server.shutdown()
    assert 'netweave_deliveries_total{layer="beb",node="n1"} 1.0' in body


def test_origin_refusals_are_counted_by_reason():
    pytest.importorskip("cryptography", reason="signed origins need the 'secure' extra")
    from netweave.interfaces import BEST_EFFORT_BROADCAST
    from netweave_broadcast.eager_rb import EagerRbData

    c = cluster("eager-rb", n=4, seed=5, signed_origins=True)
    c.run(0.5)
    plain = SimCluster(2, lambda node: node.use("beb"), seed=3).nodes["n1"]
    assert metrics.collect(plain)["origins"] is None  # it does not sign origins
    # n4 relays a message claiming n3's origin, without n3's signature, twice over
    beb = c.nodes["n4"].component(BEST_EFFORT_BROADCAST)
    for k in (1, 2):
        beb.broadcast(f"n4/{c.nodes['n4'].incarnation}/b{k}",
                      EagerRbData(f"n3/{c.nodes['n3'].incarnation}/7{k}", k, "forged"))
    c.broadcast("n3", "rb", "real")
    c.run(5.0)
    data = metrics.collect(c.nodes["n1"])["origins"]
    assert data["dropped"] == {"unsigned": 2}
    assert data["signed"] == 0 and data["verified"] == 1  # n3's real message, once
    assert metrics.collect(c.nodes["n3"])["origins"]["signed"] == 1
    if importlib.util.find_spec("prometheus_client") is None:
        return
    import prometheus_client
    from prometheus_client.parser import text_string_to_metric_families

    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    registry.register(metrics.NodeCollector(lambda: metrics.collect(c.nodes["n1"])))
    text = prometheus_client.generate_latest(registry).decode()
    value = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for f in text_string_to_metric_families(text) for s in f.samples}
    refused = {dict(labels)["reason"]: v for (name, labels), v in value.items()
               if name == "netweave_origins_refused_total"}
    assert refused == {"unsigned": 2, "bad-signature": 0, "unknown-origin": 0,
                       "no-origin": 0}
    assert value[("netweave_origins_verified_total", (("node", "n1"),))] == 1
    assert ("netweave_origins_signed_total", (("node", "n1"),)) in value
