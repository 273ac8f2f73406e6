"""All-ack uniform reliable broadcast (CGR Algorithm 3.4), over beb and a perfect detector.

    upon <Init>:                 delivered := {}; pending := {}; correct := members
                                 ack[m] := {} for every m
    upon <urb, Broadcast | m>:   pending += (self, m); trigger <beb, Broadcast | [DATA, self, m]>
    upon <beb, Deliver | p, [DATA, s, m]>:
        ack[m] += p
        if (s, m) not in pending:
            pending += (s, m); trigger <beb, Broadcast | [DATA, s, m]>
    upon <P, Crash | p>:         correct -= p
    function candeliver(m):      return correct ⊆ ack[m]
    upon exists (s, m) in pending such that candeliver(m) and m not in delivered:
        delivered += m; trigger <urb, Deliver | s, m>

Every process relays a message the first time it sees it, and that relay is its ack; a
process delivers once every process it does not know to have crashed has relayed. So
when anyone delivers, every correct process already holds the message, which is what
makes agreement *uniform*. Three faults of rust_net's version (see
docs/coming-from-rust-net.md) are absent by construction:

- a crash never blocks delivery among the correct nodes: acks are awaited from the
  processes not detected crashed, not from the configured membership, and every pending
  message is re-checked when a crash is detected;
- every process relays, including those that only saw relays;
- a crash triggers no re-sending at all: each process relays each message exactly once,
  so a sender's crash costs nothing but the detection time.

Failure detection. This layer requires ``perfect-failure-detector`` (``perfect-fd``,
the default, provides it): it waits for :class:`~netweave.Crashed`. An eventually
perfect detector only publishes :class:`~netweave.Suspect`, which this layer could not
act on: a falsely suspected process may still hold the only copy of a message, so
delivering without its ack would break uniform agreement, and without it the layer
stops delivering after a crash. The registry therefore refuses this layer over
``eventually-perfect-fd`` before the node starts; use ``majority-ack-urb`` there.

A peer that restarts is a new process: the messages pending
when this node learns of it are relayed again, so that it gets them, and wait for its
relay like any other (an ack of its old incarnation still counts: that process had the
message). Those relays go to the new process alone, over the links: the other processes
have this node's ack already.

Memory. The per-message state (``pending``, ``ack[m]``) exists only until the local
delivery; after it, ``delivered`` (one watermark per origin incarnation, see
:mod:`._delivered`) is enough to ignore the remaining relays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from netweave import (
    Component,
    Crashed,
    OriginMessage,
    PeerRestarted,
    hookimpl,
    revive,
    upon,
    upon_deliver,
    upon_message,
)
from netweave.interfaces import BEST_EFFORT_BROADCAST

from ._delivered import DeliveredLog, origin_or_drop

if TYPE_CHECKING:
    from netweave import Context

Key = tuple[str, int, int]
"""(origin, incarnation, seq) of a message."""


class UrbData(OriginMessage, tag="urb.data"):
    """[DATA, s, m]: message ``id`` of its origin, the origin's ``seq``-th on this layer."""

    id: str
    seq: int
    payload: Any


@attrs.define(eq=False)
class Pending:
    """A message seen but not yet delivered, and who has relayed (acked) it."""

    msg: UrbData
    acks: set[str] = attrs.field(factory=set)


class AllAckUniformReliableBroadcast(Component):
    """Uniform reliable broadcast: deliver once every process not crashed has relayed."""

    name = "all-ack-urb"
    provides = ("uniform-reliable-broadcast",)
    requires: ClassVar[tuple[str, ...]] = ("perfect-failure-detector", "best-effort-broadcast")
    layer = "urb"
    default = True

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import UniformReliableBroadcastSpec

        return [UniformReliableBroadcastSpec]

    def __init__(self, ctx: Context, options: Any) -> None:
        super().__init__(ctx, options)
        self.delivered = DeliveredLog()
        self.pending: dict[Key, Pending] = {}
        self.crashed: set[str] = set()
        self.dropped = 0
        self._seq = 0

    def broadcast(self, message_id: str, payload: Any) -> None:
        self._seq += 1
        msg = self.ctx.sign(UrbData(message_id, self._seq, payload))
        self.pending[(self.ctx.node_id, self.ctx.incarnation, self._seq)] = Pending(msg)
        self._beb(message_id, msg)

    @upon_deliver(UrbData)
    def on_data(self, _: str, relayer: str, msg: UrbData) -> None:
        parsed = origin_or_drop(self, "urb", msg.id, msg.seq)
        if parsed is None:
            return
        key = (*parsed, msg.seq)
        if self.delivered.has(*key):
            return  # a late relay of a message delivered (and forgotten) here
        entry = self.pending.get(key)
        if entry is None:
            entry = self.pending[key] = Pending(msg)
            self._beb(self.ctx.new_message_id(), msg)
        entry.acks.add(relayer)
        self._try_deliver(key, entry)

    @upon(Crashed)
    def on_crash(self, event: Crashed) -> None:
        self.crashed.add(event.peer)
        self._try_all()

    @upon(PeerRestarted)
    def on_peer_restart(self, event: PeerRestarted) -> None:
        # Its old incarnation crashed; the new one may have started before some pending
        # message was broadcast, and is then owed it. Counting its ack for free would let
        # this node deliver what the new process may never get (if every other holder
        # crashed): send it the messages it has not relayed (to it alone: the others have
        # our relay already), and wait for its relay as for anyone else's.
        self.crashed.discard(event.peer)
        for entry in list(self.pending.values()):
            if event.peer not in entry.acks:
                self.ctx.send(event.peer, entry.msg)

    @upon_message(UrbData)
    def on_relay(self, sender: str, msg: UrbData) -> None:
        """A relay sent to this process alone (it restarted): the sender's ack."""
        if sender not in self.ctx.members:
            self.dropped += 1
            self.ctx.log.warning("dropped urb relay from %r: not a member", sender)
            return
        self.on_data("", sender, msg)

    def can_deliver(self, entry: Pending) -> bool:
        """candeliver(m): every process not detected crashed has acked ``m``."""
        acks, crashed, members = entry.acks, self.crashed, self.ctx.members
        if len(acks) + len(crashed) < len(members):
            return False  # too few to cover every member: the common answer, in O(1)
        return all(q in acks or q in crashed for q in members)

    def _try_all(self) -> None:
        for key, entry in list(self.pending.items()):
            self._try_deliver(key, entry)

    def _try_deliver(self, key: Key, entry: Pending) -> None:
        if self.can_deliver(entry):
            del self.pending[key]
            self.delivered.add(*key)
            self.ctx.deliver(entry.msg.id, key[0], revive(entry.msg.payload))

    def _beb(self, message_id: str, msg: UrbData) -> None:
        self.ctx.component(BEST_EFFORT_BROADCAST).broadcast(message_id, msg)

    def state_size(self) -> int:
        """Entries held: pending messages with their acks, plus de-duplication watermarks."""
        return (sum(1 + len(e.acks) for e in self.pending.values())
                + self.delivered.size())
