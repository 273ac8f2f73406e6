"""The Lamport clock on three simulated nodes, before it is installed."""

from netweave import Catalog
from netweave.sim import SimCluster
from netweave_lamport import LamportClock

# Not installed yet, so no entry point: hand the class to the catalog.
catalog = Catalog.discover(extra=[LamportClock])


def configure(node):
    node.use("beb").use("lamport-clock")


cluster = SimCluster(["n1", "n2", "n3"], configure, catalog=catalog, seed=1)
cluster.start()
cluster.run(duration=0.1)
cluster.nodes["n1"].component("logical-clock").tick()  # an event of n1's application
cluster.broadcast("n1", "beb", "hello")
cluster.run(duration=1.0)

for line in cluster.trace:
    if line["ev"] in ("broadcast", "deliver"):
        print(f"{line['node']} {line['ev']:<9} {line['id']}  lamport={line['lamport']}")
print("n2 now reads", cluster.nodes["n2"].component("logical-clock").time)
