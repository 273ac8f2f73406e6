"""A broadcast layer on top of another: payloads of a lower layer travel as Messages.

``Shout`` broadcasts each text in capitals through best-effort broadcast. The lower layer
carries a ``Loud`` message; because it is a :class:`netweave.Message`, its delivery goes
to the handler marked ``@upon_deliver(Loud)``, not to the application. The layer then
delivers the text to the application under its own layer name.
"""

from typing import Any

from netweave import Component, Message, Node, upon_deliver
from netweave.sim import SimCluster


class Loud(Message, tag="example.loud"):
    text: str


class Shout(Component):
    name = "shout"
    provides = ("shouting-broadcast",)
    requires = ("best-effort-broadcast",)
    layer = "shout"

    def broadcast(self, message_id: str, payload: Any) -> None:
        beb = self.ctx.component("best-effort-broadcast")
        beb.broadcast(message_id, Loud(str(payload).upper()))

    @upon_deliver(Loud)
    def on_loud(self, message_id: str, origin: str, loud: Loud) -> None:
        self.ctx.deliver(message_id, origin, loud.text)


def configure(node: Node) -> None:
    # "beb" is added by itself: it is marked implicit.
    node.use(Shout)
    node.on_deliver("shout", lambda d: print(f"{node.id}: {d.payload} ({d.id})"))


cluster = SimCluster(3, configure, seed=1)
cluster.start()
cluster.broadcast("n2", "shout", "hello")
cluster.run(duration=1.0)
print("layers of n1, in start order:", cluster.nodes["n1"].layers)
print([(line["node"], line["ev"], line["layer"]) for line in cluster.trace
       if line["ev"] in ("broadcast", "deliver")])
