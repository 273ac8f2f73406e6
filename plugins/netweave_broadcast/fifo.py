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

Joining a sequence. The book's ``next := [1]^N`` assumes every process exists from the
start. A restarted process is new: it never receives the old messages its predecessor
had, so it must learn where each running sequence continues for it. Hence one message
outside the book, ``JOIN``:

    upon <Start>:                forall q: trigger <pl, Send | q, [JOIN, 1, ()]>
    upon <pl, PeerRestarted | q>:
        trigger <pl, Send | q, [JOIN, first, recent]>   (my last ``rejoin_window`` messages)
    upon <pl, Deliver | s, [JOIN, first, recent]>:
        next[s] := max(next[s], first)
        forall m in recent: trigger <rb, Forward | m>; deliver what is in order
        (the JOIN to a restarted process also carries ``stand``, the sender's ``next``)

Until a sequence's ``JOIN`` arrives its messages wait in ``pending``, unless its first
message is there: a sequence starts at 1 for anyone (a crash may lose the origin's
``JOIN``, and without a detector nothing would ever say it is gone). The ``recent``
messages cover what the origin broadcast while it did not yet know of the restart (the
process owes those); they may include older ones, which it then also delivers, in
order. They travel as the reliable broadcast's own messages and go back into it (its
``forward``), which delivers each once and relays it as any of its messages: if the
origin crashes before one reached everyone, what the new process delivers still reaches
every correct process. (Over a reliable broadcast without ``forward``, they are
delivered from here.)

No ``JOIN`` comes from an origin that is gone before its ``JOIN`` arrived (detected
crashed, or its node heard of as a newer process, see :class:`~netweave.Incarnations`);
its sequence is joined when a message of it is held:

- by a process that began with the others, at 1, as in the book;
- by a restarted process, where the peers stand: the ``JOIN`` a peer sends to a restarted
  process carries its own ``next`` for every sequence (``stand``), and the new process
  starts at the first message it holds, or at the furthest of those if that is lower;
  past a later gap the same way, once the messages held below it are delivered and the
  gap has been waited for ``gap_wait`` seconds (a message in it may still be on its way:
  one broadcast after the restart is owed; without the wait, nothing would ever fill
  a gap of messages that predate the restart).
  Starting further would deliver a message whose predecessor the others never got (it
  died with its origin), and which they hold back for ever: agreement broken.

Known limits: a peer's ``stand`` says what it delivered, not whether that was broadcast
before the restart, so a message of a gone origin still on its way to the new process
can be skipped (and is dropped when it arrives); an exact rule would need the new process
to fetch what it lacks from its peers. And without a failure detector, an origin that
crashes before its ``JOIN`` reached a restarted process (lost, and not yet sent again) is
never known to be gone there: that process holds the origin's later messages for ever
(harsh seeds 64515 and 65864 over ``eager-rb`` alone). Use a detector with restarts.

Memory: one or two counters per origin incarnation, the messages held back, and the
last ``rejoin_window`` messages this process broadcast.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import attrs
from netweave import (
    Component,
    Crashed,
    GapWaited,
    GapWaits,
    Incarnations,
    Message,
    PeerRestarted,
    forward_relays,
    hookimpl,
    rejoin_entries,
    revive,
    upon,
    upon_deliver,
    upon_message,
)
from netweave.interfaces import RELIABLE_BROADCAST

from ._delivered import decimal, origin_of

if TYPE_CHECKING:
    from netweave import Context

Sender = tuple[str, int]
"""(origin, incarnation): one process, one FIFO sequence."""


class FifoData(Message, tag="fifo.data"):
    """[DATA, s, m, sn]: the origin's ``seq``-th message on this layer."""

    seq: int
    payload: Any


class FifoJoin(Message, tag="fifo.join"):
    """[JOIN, first, recent]: the sender's sequence ``inc`` continues at ``first`` for you."""

    inc: int
    first: int
    recent: tuple[tuple[str, int, Any], ...] = ()
    """(id, seq, payload) of the sender's messages from ``first`` on, sent before it knew."""
    stand: dict[str, int] | None = None
    """In a JOIN to a restarted process: the sender's ``next`` per process
    (``"<node>/<incarnation>"``), where the sequences of processes now gone continue."""
    relays: tuple[Any, ...] = ()
    """Instead of ``recent``, when the reliable broadcast can take its messages back
    (``forward``): its messages that carried them, handed to the new process's reliable
    broadcast, which delivers them and relays them as it relays any message."""


def _count(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


@attrs.frozen
class FifoOptions:
    """Options of FIFO reliable broadcast."""

    rejoin_window: int = attrs.field(
        default=100, converter=int, validator=_count,
        metadata={"doc": "How many of its latest messages a process sends again to a peer "
                  "that restarted, so that the new process does not skip what was "
                  "broadcast while it restarted."})
    gap_wait: float = attrs.field(
        default=2.0, converter=float, validator=attrs.validators.ge(0.0),
        metadata={"doc": "Seconds a restarted process waits in a gap of a gone process's "
                  "sequence, above messages it delivered, before it skips the gap: a "
                  "message still on its way there arrives meanwhile."})


class FifoReliableBroadcast(Component):
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
        self.pending: dict[Sender, dict[int, tuple[str, Any]]] = {}
        """Reordering buffer: per sender, seq -> (message id, payload)."""
        self.recent: deque[tuple[str, int, Any, Any]] = deque(maxlen=options.rejoin_window)
        """The last messages broadcast here: id, seq, payload, and the reliable
        broadcast's message that carried them (or ``None``)."""
        self.gone = Incarnations()
        """Which processes crashed or were followed by newer ones: no JOIN comes from them."""
        self.told = False
        """Whether a peer's JOIN said this process is a restarted one (it has a ``stand``)."""
        self.floor: dict[Sender, int] = {}
        """The furthest any such peer stood on each sequence (its ``next``)."""
        self.fallback: set[Sender] = set()
        """Sequences joined without their origin's JOIN (it was gone)."""
        self.gaps = GapWaits(ctx, self.name, options.gap_wait)
        """Gaps waited in, in such sequences."""
        self.dropped = 0

    def start(self) -> None:
        join = FifoJoin(self.ctx.incarnation, 1)
        for q in self.ctx.members:
            self.ctx.send(q, join)

    def broadcast(self, message_id: str, payload: Any) -> None:
        self.lsn += 1
        sent = self.ctx.component(RELIABLE_BROADCAST).broadcast(message_id,
                                                                  FifoData(self.lsn, payload))
        self.recent.append((message_id, self.lsn, payload, sent))

    @upon_deliver(FifoData)
    def on_data(self, message_id: str, origin: str, msg: FifoData) -> None:
        parsed = origin_of(message_id, msg.seq, self.ctx.members)
        if parsed is None or parsed[0] != origin:
            self.dropped += 1
            self.ctx.log.warning("dropped malformed fifo message %r", message_id)
            return
        if parsed[0] == self.ctx.node_id and parsed[1] < self.ctx.incarnation:
            return  # this node's crashed process broadcast it: not ours to deliver
        if msg.seq >= self.next.get(parsed, 1):
            self.pending.setdefault(parsed, {})[msg.seq] = (message_id, msg.payload)
            self._deliver_in_order(parsed)
        self._seen(parsed)

    @upon(PeerRestarted)
    def on_peer_restart(self, event: PeerRestarted) -> None:
        self.gone.restarted(event.peer, event.incarnation)
        self._join_gone(event.peer)
        first = self.recent[0][1] if self.recent else self.lsn + 1
        stand = {f"{o}/{i}": n for (o, i), n in self.next.items()}
        recent, relays = rejoin_entries(self.ctx, self.recent)
        self.ctx.send(event.peer, FifoJoin(self.ctx.incarnation, first, recent, stand, relays))

    @upon_message(FifoJoin)
    def on_join(self, sender: str, msg: FifoJoin) -> None:
        key = (sender, msg.inc)
        if (sender not in self.ctx.members or type(msg.first) is not int or msg.first < 1
                or type(msg.inc) is not int or msg.inc < 1
                or not isinstance(msg.recent, (list, tuple))
                or not all(isinstance(r, (list, tuple)) and len(r) == 3 for r in msg.recent)
                or not _valid_stand(msg.stand) or not isinstance(msg.relays, (list, tuple))):
            self.dropped += 1
            self.ctx.log.warning("dropped malformed fifo join from %r", sender)
            return
        if msg.stand is not None:
            self._learn_stand(msg.stand)
        start = max(self.next.get(key, msg.first), msg.first)
        self.next[key] = start
        self.fallback.discard(key)
        self.gaps.filled(key)  # its origin says where it continues: no gap to wait in
        held = self.pending.setdefault(key, {})
        for seq in [s for s in held if s < start]:
            del held[seq]
        for mid, seq, payload in msg.recent:
            if seq >= start and origin_of(mid, seq, self.ctx.members) == key:
                held[seq] = (mid, payload)
        if msg.relays and not forward_relays(self.ctx, msg.relays):
            self.dropped += 1
            self.ctx.log.warning("a fifo join from %r relays messages, and this node's "
                                 "reliable broadcast cannot forward them", sender)
        self._deliver_in_order(key)
        self._seen(key)

    def _learn_stand(self, stand: dict[str, int]) -> None:
        # This process restarted, and a peer says where it stands: sequences of processes
        # gone for good are joined no further than where some peer stood, never past a
        # message that the peers could not deliver.
        self.told = True
        for process, n in stand.items():
            node, _, inc = process.rpartition("/")
            key = (node, int(inc))
            if node in self.ctx.members and n > self.floor.get(key, 1):
                self.floor[key] = n
        for key in [k for k in self.pending if k not in self.next or k in self.fallback]:
            self._deliver_in_order(key)

    @upon(Crashed)
    def on_crash(self, event: Crashed) -> None:
        # No JOIN will come from a crashed origin: join its sequences where we stand, now
        # and for its messages that other processes relay later.
        self.gone.crashed(event.peer)
        self._join_gone(event.peer)

    def _seen(self, key: Sender) -> None:
        # A newer process of a peer ends its older ones (this node's own earlier
        # sequences are not its business: it neither joins nor delivers them).
        if key[0] != self.ctx.node_id and self.gone.seen(*key):
            self._join_gone(key[0])

    def _join_gone(self, peer: str) -> None:
        for key in [k for k in self.pending if k[0] == peer and k not in self.next]:
            self._deliver_in_order(key)

    def _deliver_in_order(self, sender: Sender) -> None:
        held = self.pending.get(sender)
        if held is None:
            return
        while True:
            expected = self._continues_at(sender, held)
            if expected not in held:
                break  # not joined yet (waiting for the sender's JOIN), or a gap
            self.gaps.filled(sender)
            while expected in held:
                mid, payload = held.pop(expected)
                expected += 1
                self.next[sender] = expected
                self.ctx.deliver(mid, sender[0], revive(payload))
        if not held:
            del self.pending[sender]

    def _continues_at(self, sender: Sender, held: dict[int, tuple[str, Any]]) -> int | None:
        """The next number to deliver of ``sender``, ``None`` until it is known.

        No JOIN will come from a gone process: one that began with the others starts at
        1; a restarted one where the peers stand, or at the first message it holds, and
        past a later gap the same way, once the messages below it are delivered and the
        gap has been waited for ``gap_wait`` seconds."""
        expected = self.next.get(sender)
        if expected is None and 1 in held:
            # Its first message: the sequence starts there for anyone, with or without the
            # origin's JOIN (which a crash may have lost, with no detector to tell).
            expected = self.next[sender] = 1
        if held and (expected is None or sender in self.fallback) and self.gone.gone(*sender):
            start = min(min(held), self.floor.get(sender, 1)) if self.told else 1
            if expected is None or (start > expected and self.gaps.waited(sender)):
                expected = self.next[sender] = start
                self.fallback.add(sender)
                for seq in [s for s in held if s < start]:
                    del held[seq]
        return expected

    @upon(GapWaited)
    def on_gap_waited(self, event: GapWaited) -> None:
        if self.gaps.over(event):
            self._deliver_in_order(event.key)

    def state_size(self) -> int:
        """Entries held: counters (``next``, ``floor``), held-back messages and the
        rejoin window."""
        return (len(self.next) + sum(len(b) for b in self.pending.values())
                + len(self.recent) + len(self.floor) + len(self.gaps))


def _valid_stand(stand: object) -> bool:
    if stand is None:
        return True
    return isinstance(stand, dict) and all(
        isinstance(p, str) and p.count("/") == 1 and decimal(p.rpartition("/")[2])
        and type(n) is int and n >= 1 for p, n in stand.items())
