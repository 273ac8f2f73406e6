"""A first netweave program: three nodes, a failure detector, best-effort broadcast.

Runs in the deterministic simulator, so it finishes at once and prints the same thing
every time.
"""

from netweave import Deliver, Node
from netweave.sim import SimCluster


def configure(node: Node) -> None:
    # Called for every node of the cluster: the same plugins everywhere.
    node.use("perfect-fd", timeout=2.0).use("beb")

    def show(delivery: Deliver) -> None:
        print(f"{node.id} delivered {delivery.payload!r} from {delivery.origin}")

    node.on_deliver("beb", show)


cluster = SimCluster(["n1", "n2", "n3"], configure, seed=1)
cluster.start()
message_id = cluster.broadcast("n1", "beb", "hello")
print(f"n1 broadcast {message_id}")
cluster.run(duration=1.0)  # one virtual second
