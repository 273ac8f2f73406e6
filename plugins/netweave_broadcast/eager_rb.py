"""Eager reliable broadcast (CGR Algorithm 3.3), over best-effort broadcast alone.

    upon <Init>:                 delivered := {}
    upon <rb, Broadcast | m>:    trigger <beb, Broadcast | [DATA, self, m]>
    upon <beb, Deliver | p, [DATA, s, m]>:
        if m not in delivered:
            delivered += m
            trigger <rb, Deliver | s, m>
            trigger <beb, Broadcast | [DATA, s, m]>

Every process relays every message the first time it delivers it, so a message that
reached one correct process reaches all of them, whoever crashed: no failure detector is
needed, at the price of N² messages per broadcast. (The book's version delivers at the
sender before sending; here the sender delivers through its own copy, like everyone.)

Memory: ``delivered`` is kept as one watermark per origin incarnation plus the few
numbers above it (:mod:`._delivered`), so it does not grow with the messages delivered.
No other per-message state is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netweave import Component, OriginMessage, hookimpl, revive, upon_deliver
from netweave.interfaces import BEST_EFFORT_BROADCAST

from ._delivered import DeliveredLog, forwarded_or_drop, origin_or_drop

if TYPE_CHECKING:
    from netweave import Context


class EagerRbData(OriginMessage, tag="eager-rb.data"):
    """[DATA, s, m]: message ``id`` of its origin, the origin's ``seq``-th on this layer."""

    id: str
    seq: int
    payload: Any


class EagerReliableBroadcast(Component):
    """Reliable broadcast that relays every message on first delivery (no detector)."""

    name = "eager-rb"
    provides = ("reliable-broadcast",)
    requires = ("best-effort-broadcast",)
    layer = "rb"

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import ReliableBroadcastSpec

        return [ReliableBroadcastSpec]

    def __init__(self, ctx: Context, options: Any) -> None:
        super().__init__(ctx, options)
        self.delivered = DeliveredLog()
        self.dropped = 0
        self._seq = 0

    def broadcast(self, message_id: str, payload: Any) -> EagerRbData:
        """Broadcast ``payload``; returns the message sent, which :meth:`forward` takes."""
        self._seq += 1
        msg = self.ctx.sign(EagerRbData(message_id, self._seq, payload))
        self._beb(message_id, msg)
        return msg

    def forward(self, msg: Any) -> None:
        """Take a message :meth:`broadcast` returned at some process, handed over by a
        layer above (a JOIN to a restarted process), as if it arrived from the network:
        delivered here once, and relayed to every process, as every message is."""
        forwarded = forwarded_or_drop(self, msg, EagerRbData)
        if forwarded is not None:
            self.on_data("", "", forwarded)

    @upon_deliver(EagerRbData)
    def on_data(self, _: str, __: str, msg: EagerRbData) -> None:
        parsed = origin_or_drop(self, "rb", msg.id, msg.seq)
        if parsed is None:
            return
        s, inc = parsed
        if not self.delivered.add(s, inc, msg.seq):
            return
        self.ctx.deliver(msg.id, s, revive(msg.payload))
        if (s, inc) != (self.ctx.node_id, self.ctx.incarnation):
            # Not our own broadcast, which already went to everyone: relay it.
            self._beb(self.ctx.new_message_id(), msg)

    def _beb(self, message_id: str, msg: EagerRbData) -> None:
        self.ctx.component(BEST_EFFORT_BROADCAST).broadcast(message_id, msg)

    def state_size(self) -> int:
        """Entries held: the de-duplication watermarks and the numbers above them."""
        return self.delivered.size()
