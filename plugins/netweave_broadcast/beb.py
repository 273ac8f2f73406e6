"""Best-effort broadcast (CGR Algorithm 3.1, "Basic Broadcast").

    upon <beb, Broadcast | m>:  forall q in members: trigger <pl, Send | q, m>
    upon <pl, Deliver | p, m>:  trigger <beb, Deliver | p, m>

Delivers every message of a correct sender to every correct process, once (the perfect
links de-duplicate). It is the transport of every other broadcast layer.
"""

from __future__ import annotations

from typing import Any

from netweave import Component, Message, revive, upon_message


class BebData(Message, tag="beb.data"):
    """A best-effort broadcast message."""

    id: str
    payload: Any


class BestEffortBroadcast(Component):
    """Best-effort broadcast over perfect links."""

    name = "beb"
    provides = ("best-effort-broadcast",)
    layer = "beb"
    default = True
    implicit = True

    def broadcast(self, message_id: str, payload: Any) -> None:
        msg = BebData(message_id, payload)
        for q in self.ctx.members:
            self.ctx.send(q, msg)

    @upon_message(BebData)
    def on_data(self, sender: str, msg: BebData) -> None:
        # The origin is the authenticated sender, never a field a peer could forge.
        if not msg.id.startswith(sender + "/"):
            self.ctx.log.warning("dropped beb message %r claiming another origin", msg.id)
            return
        self.ctx.deliver(msg.id, sender, revive(msg.payload))
