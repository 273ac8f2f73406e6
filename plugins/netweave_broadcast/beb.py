"""Best-effort broadcast (CGR Algorithm 3.1, "Basic Broadcast").

    upon <beb, Broadcast | m>:  forall q in members: trigger <pl, Send | q, m>
    upon <pl, Deliver | p, m>:  trigger <beb, Deliver | p, m>

Delivers every message of a correct sender to every correct process, once (the perfect
links de-duplicate). It is the transport of every other broadcast layer: an upper layer
broadcasts its own :class:`~netweave.Message` as the payload, and this layer's delivery
reaches that layer's ``@upon_deliver`` handler instead of the application.

The origin of a message is the authenticated link sender, never a field a peer could
forge: a message whose id names another origin, or that comes from outside the cluster,
is dropped, logged and counted in :attr:`BestEffortBroadcast.dropped`.
"""

from __future__ import annotations

from typing import Any

from netweave import Component, Message, hookimpl, revive, upon_message


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

    dropped = 0
    """Messages dropped because their sender or id was not acceptable."""

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import BestEffortBroadcastSpec

        return [BestEffortBroadcastSpec]

    def broadcast(self, message_id: str, payload: Any) -> None:
        msg = BebData(message_id, payload)
        for q in self.ctx.members:
            self.ctx.send(q, msg)

    @upon_message(BebData)
    def on_data(self, sender: str, msg: BebData) -> None:
        # The origin is the authenticated sender, never a field a peer could forge.
        if (sender not in self.ctx.members or not isinstance(msg.id, str)
                or not msg.id.startswith(sender + "/")):
            self.dropped += 1
            self.ctx.log.warning("dropped beb message %r from %r: not its origin",
                                 msg.id, sender)
            return
        self.ctx.deliver(msg.id, sender, revive(msg.payload))

    def state_size(self) -> int:
        """Per-message entries this component holds (none: the links de-duplicate)."""
        return 0
