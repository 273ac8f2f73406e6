"""Crash a node and watch the failure detector and reliable broadcast react.

Four nodes run the perfect failure detector and lazy reliable broadcast in the simulator.
A one-way cut lets n4's messages reach n1 only; n4 broadcasts, then crashes at t=1.0.
Only n1 has the message. When n1's detector reports n4 crashed, about ``timeout``
seconds later, lazy reliable broadcast relays n4's messages, and n2 and n3 deliver it:
if a correct process delivers a message, every correct process does.
"""

from netweave import Crashed, Node
from netweave.sim import SimCluster


def configure(node: Node) -> None:
    node.use("perfect-fd", period=0.5, timeout=2.0).use("rb")
    # The detector's indication is a Crashed event on the node's bus.
    node.bus.subscribe(Crashed, lambda event: print(
        f"t={cluster.now:.2f} {node.id}: failure detector reports {event.peer} crashed"))
    node.on_deliver("rb", lambda d: print(
        f"t={cluster.now:.2f} {node.id}: delivered {d.payload!r} from {d.origin}"))


cluster = SimCluster(["n1", "n2", "n3", "n4"], configure, seed=7)
cluster.start()
cluster.run(until=0.5)
cluster.one_way(["n4"], ["n2", "n3"])  # n4's messages to n2 and n3 are lost
cluster.broadcast("n4", "rb", "last words")
cluster.run(until=1.0)
cluster.crash("n4")
cluster.run(until=5.0)

print("alive:", ", ".join(cluster.alive()))
for line in cluster.trace:
    if line["ev"] in ("crash", "suspect") and line["node"] in ("n1", "n4"):
        print(line)
