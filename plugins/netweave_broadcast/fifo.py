"""FIFO reliable broadcast (CGR Algorithm 3.12, "Broadcast with Sequence Number").

    upon <Init>:                 lsn := 0; pending := {}; next := [1]^N
    upon <frb, Broadcast | m>:   lsn := lsn + 1; trigger <rb, Broadcast | [DATA, self, m, lsn]>
    upon <rb, Deliver | p, [DATA, s, m, sn]>:
        pending += (s, m, sn)
        while exists (s, m', sn') in pending such that sn' = next[s]:
            next[s] := next[s] + 1; pending -= (s, m', sn')
            trigger <frb, Deliver | s, m'>

Reliable broadcast delivers each message once and everywhere, but in any order; this
layer numbers each origin's messages and holds back (in ``pending``, the reordering
buffer) those that arrive before their predecessors. So messages of one origin are
delivered in the order it broadcast them; messages of different origins stay unordered.

``next`` and ``pending`` are keyed by *(origin, incarnation)*, not by origin: a restarted
origin is a new process whose numbering starts again at 1, and keying by origin alone
would drop its new messages as old ones.

Restarts. The book's ``next := [1]^N`` assumes every process exists from the start. A
restarted process is new: where the sequences running before it continue for it, and
which of their messages it may skip, is the rejoin protocol's business
(:mod:`.rejoin`, shared with causal broadcast): this layer numbers its messages for it,
tells it what it delivers, and asks it about a gap in a gone process's sequence.

Memory: one counter per origin incarnation, the messages held back, and what the rejoin
protocol keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from netweave import Message, hookimpl, revive, upon_deliver
from netweave.interfaces import RELIABLE_BROADCAST

from ._delivered import origin_of
from .rejoin import Process, Rejoin, Rejoining, RejoinOptions

if TYPE_CHECKING:
    from netweave import Context

Sender = tuple[str, int]
"""(origin, incarnation): one process, one FIFO sequence."""


class FifoData(Message, tag="fifo.data"):
    """[DATA, s, m, sn]: the origin's ``seq``-th message on this layer."""

    seq: int
    payload: Any


@attrs.frozen
class FifoOptions(RejoinOptions):
    """Options of FIFO reliable broadcast (those of the rejoin protocol)."""


class FifoReliableBroadcast(Rejoining):
    """Reliable broadcast that delivers each origin's messages in the order it sent them."""

    name = "fifo-rb"
    provides = ("fifo-reliable-broadcast",)
    requires = ("reliable-broadcast",)
    layer = "fifo"
    default = True
    Options = FifoOptions

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import FifoBroadcastSpec

        return [FifoBroadcastSpec]

    def __init__(self, ctx: Context, options: FifoOptions) -> None:
        super().__init__(ctx, options)
        self.lsn = 0
        self.next: dict[Sender, int] = {}
        self.pending: dict[Sender, dict[int, tuple[str, FifoData]]] = {}
        """Reordering buffer: per sender, seq -> (message id, data message)."""
        self.rejoin = Rejoin(ctx, self.layer or self.name, options, self, FifoData)
        self.dropped = 0

    def broadcast(self, message_id: str, payload: Any) -> None:
        self.lsn += 1
        data = FifoData(self.lsn, payload)
        sent = self.ctx.component(RELIABLE_BROADCAST).broadcast(message_id, data)
        self.rejoin.sent(self.lsn, message_id, data, sent)

    @upon_deliver(FifoData)
    def on_data(self, message_id: str, origin: str, msg: FifoData) -> None:
        parsed = origin_of(message_id, msg.seq, self.ctx.members)
        if parsed is None or parsed[0] != origin:
            self.dropped += 1
            self.ctx.log.warning("dropped malformed fifo message %r", message_id)
            return
        if self.rejoin.earlier_self(parsed):
            return  # this node's crashed process broadcast it: not ours to deliver
        if msg.seq >= self.next.get(parsed, 1):
            self.pending.setdefault(parsed, {})[msg.seq] = (message_id, msg)
            self._deliver_in_order(parsed)
        if parsed[0] != self.ctx.node_id and self.rejoin.seen(parsed):
            self.resume()  # a newer process of a peer ends its older ones

    def _deliver_in_order(self, sender: Sender) -> None:
        held = self.pending.get(sender)
        if held is None:
            return
        expected = self._continues_at(sender, held)
        while expected is not None and expected in held:
            mid, msg = held.pop(expected)
            self.next[sender] = expected + 1
            self.rejoin.delivered(sender, expected, mid, msg)
            self.ctx.deliver(mid, sender[0], revive(msg.payload))
            expected += 1
        if not held:
            del self.pending[sender]
        elif expected is not None:
            self.rejoin.gap(sender, expected, min(held) - 1)

    def _continues_at(self, sender: Sender, held: dict[int, tuple[str, FifoData]]) -> int | None:
        """The next number to deliver of ``sender``, ``None`` until it is known: its
        origin's JOIN says it, or its first message is held (a sequence starts at 1 for
        anyone), or no JOIN will come (its origin is gone): then at 1 as in the book, or
        where the rejoin protocol learns from the peers (in a restarted process)."""
        expected = self.next.get(sender)
        if expected is None and (1 in held or (not self.rejoin.restarted
                                               and self.rejoin.is_gone(sender))):
            expected = self.next[sender] = 1
        if expected is None:
            self.rejoin.gap(sender, 1, min(held) - 1)
        return expected

    # The rejoin protocol's side (Sequenced)

    def accept(self, message_id: str, origin: str, data: Any) -> None:
        self.on_data(message_id, origin, data)

    def counted(self, process: Process) -> int:
        return self.next.get(process, 1) - 1

    def count_up_to(self, process: Process, n: int) -> None:
        start = n + 1
        if start <= self.next.get(process, 0):
            return
        self.next[process] = start
        held = self.pending.get(process)
        if held is not None:
            for seq in [s for s in held if s < start]:
                del held[seq]
            self._deliver_in_order(process)

    def resume(self) -> None:
        for key in list(self.pending):
            self._deliver_in_order(key)

    def state_size(self) -> int:
        """Entries held: counters, held-back messages and what the rejoin protocol keeps."""
        return (len(self.next) + sum(len(b) for b in self.pending.values())
                + self.rejoin.size())
