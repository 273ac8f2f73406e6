"""Counters of a simulated node, from Python (docs/operations/metrics.md)."""

from netweave import metrics
from netweave.sim import SimCluster

cluster = SimCluster(3, lambda n: n.use("majority-ack-urb"), seed=1, fill="defaults")
for node in cluster.nodes.values():
    metrics.enable(node)
cluster.start()
cluster.broadcast("n1", "urb", "hello")
cluster.run(5.0)
data = cluster.nodes["n2"].metrics()
print(data["deliveries"], data["peers"]["n1"]["received"])
