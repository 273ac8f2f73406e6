"""Count the link messages each broadcast layer sends for the same workload.

SimCluster.watch sees every link message as it leaves its node, so the cost of an
algorithm is a number you can print: here 4 nodes, 10 broadcasts, no fault.
"""

from collections import Counter

from netweave import Message
from netweave.link import LinkData
from netweave.sim import SimCluster

STACKS = {
    "beb": ["beb"],
    "eager-rb": ["eager-rb"],
    "majority-ack-urb": ["majority-ack-urb"],
    "all-ack-urb": ["perfect-fd", "all-ack-urb"],
}


def count(plugins: list[str]) -> tuple[Counter[str], int]:
    def configure(node):
        for name in plugins:
            node.use(name)

    cluster = SimCluster(4, configure, seed=1)
    sent: Counter[str] = Counter()

    def watcher(src, dst, message):
        body = message.body if isinstance(message, LinkData) else message
        # An upper layer's message travels as the payload of the layer below: name the
        # innermost one.
        while isinstance(getattr(body, "payload", None), Message):
            body = body.payload
        sent[type(body).__name__] += 1

    cluster.watch(watcher)
    cluster.start()
    layer = cluster.nodes["n1"].component(plugins[-1]).layer
    for i in range(10):
        cluster.at(0.1 * (i + 1), cluster.broadcast, f"n{i % 4 + 1}", layer, i)
    cluster.run(until=1.5)
    delivered = sum(1 for line in cluster.trace if line["ev"] == "deliver")
    return sent, delivered


print(f"{'stack':<17} {'per broadcast':>13} {'deliveries':>10}  every link message sent")
for name, plugins in STACKS.items():
    sent, delivered = count(plugins)
    layer = sum(n for kind, n in sent.items() if not kind.startswith(("Link", "Heartbeat")))
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(sent.items()))
    print(f"{name:<17} {layer / 10:>13.1f} {delivered:>10}  {kinds}")
