"""Crash a node and watch the failure detector and the broadcast layer react.

Four nodes run the perfect failure detector and best-effort broadcast in the simulator.
n4 crashes at t=1.0; every survivor's detector reports it about ``timeout`` seconds
later, and broadcasts go on among the survivors.
"""

from netweave import Crashed, Deliver, Node
from netweave.sim import SimCluster


def configure(node: Node) -> None:
    node.use("perfect-fd", period=0.5, timeout=2.0).use("beb")
    # The detector's indication is a Crashed event on the node's bus.
    node.bus.subscribe(Crashed, lambda event: print(
        f"t={cluster.now:.2f} {node.id}: failure detector reports {event.peer} crashed"))
    node.on_deliver("beb", lambda d: print(
        f"t={cluster.now:.2f} {node.id}: delivered {d.payload!r} from {d.origin}"))


cluster = SimCluster(["n1", "n2", "n3", "n4"], configure, seed=7)
cluster.start()
cluster.at(1.0, cluster.crash, "n4")
cluster.at(4.0, cluster.broadcast, "n1", "beb", "after the crash")
cluster.run(until=5.0)

print("alive:", ", ".join(cluster.alive()))
for line in cluster.trace:
    if line["ev"] in ("crash", "suspect"):
        print(line)
