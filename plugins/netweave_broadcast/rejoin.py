"""Rejoining after a restart: the one protocol that FIFO and causal broadcast share.

The book's broadcasts number each process's messages and deliver a message once its
predecessors (FIFO) or its causes (causal) are delivered: ``next := [1]^N``, ``V :=
[0]^N``. That assumes every process exists from the start. A restarted process is a new
one, which never receives what was broadcast before it started, yet later messages
follow those. It may skip them (the specifications oblige a restarted process only for
messages broadcast after it started), and must never skip one broadcast after it started.
This module is what a sequenced layer adds to the book for that, through
:class:`Rejoining` (the handlers) and :class:`Rejoin` (the state); the layer gives it
four operations (:class:`Sequenced`): take a data message, say how many of a process's
messages it counts as delivered, count more, and try to deliver again.

    upon <Start>:               forall q: trigger <pl, Send | q, [HELLO, inc]>
    upon <pl, PeerRestarted | q>:
        trigger <pl, Send | q, [JOIN, first, recent]>   (my last ``rejoin_window`` messages)
    upon <pl, Deliver | q, [HELLO, inc]> of a process never known, my sequence all kept:
        trigger <pl, Send | q, [JOIN, 1, recent, not-a-restart]>
    upon <pl, Deliver | s, [JOIN, first, recent]>:      (so this process restarted)
        count s's first - 1 messages as delivered
        forall m in recent: trigger <rb, Forward | m>; deliver what is ready

A live origin tells a restarted process where its sequence continues (``JOIN``), with the
messages it broadcast before it knew of the restart (the new process may be owed those).
They travel as the reliable broadcast's own messages and go back into it (its
``forward``), which delivers each once and relays it as any of its messages, so what the
new process delivers reaches every correct process even if the origin crashes. ``HELLO``
says which process a node runs now: its older processes are gone. A process whose
earlier one crashed before any of its messages reached a peer is, to that peer's links,
its first: they report no restart. So a ``HELLO`` from a process never known before is
answered with the sequence from its start (while all of it is kept), which a first process
may take as well: it tells where nothing is skipped (found by ``netweave explore fifo-rb
--nodes 2 --messages 2 --crashes 1 --restarts 1``).

A *gone* origin (detected crashed, or its node heard of as a newer process, see
:class:`~netweave.Incarnations`) sends no ``JOIN``. When a restarted process is held up by
a gap in such a sequence (a predecessor or a cause it lacks), it asks its peers:

    upon a gap [lo, hi] in gone process o's sequence blocks delivery (restarted only):
        forall q not detected crashed: trigger <pl, Send | q, [FETCH, o, lo, hi]>
    upon <pl, Deliver | p, [FETCH, o, lo, hi]>:
        trigger <pl, Send | p, [HAVE, o, old, my last delivered messages of o in [lo, hi]]>
    upon <pl, Deliver | q, [HAVE, o, old, ms]>:
        take every m in ms as if delivered by rb
        once every peer not detected crashed (or suspected) answered:
            count o's first min(max old, hi) messages as delivered

``old`` is how many of ``o``'s first messages the peer counted as delivered and no longer
keeps (it keeps the last ``rejoin_window`` it delivered of each process): old, so
broadcast before the restart. A message in the gap that a peer has is delivered, in
order; one that no peer has delivered yet is waited for, never skipped: if a correct
process delivers it later, the reliable broadcast brings it here as it brings any
message broadcast after this process started (that peer knew of the restart by then,
since it answered). So a restarted process never delivers a message before a
predecessor or a cause that was broadcast after it started and that any correct process
delivers; an earlier design skipped a gap after a timeout, or as far as peers had
delivered, and so skipped messages still on their way (harsh seeds 221850, 224918 and
225969 of ``netweave conform waiting-crb``).

Limits. A gap is asked about only once every peer not detected crashed has answered:
without a failure detector a crashed peer never answers and a restarted process may wait
for ever (the registry warns at plan time, see :data:`NEEDS`); over an eventually perfect
detector a suspected peer is not waited for, and the gap is asked about again after
``gap_wait`` seconds. A message fetched from a peer is delivered from here, not through
the reliable broadcast (the layer above it does not see the reliable broadcast's
message): if that peer crashes and no other correct process had it, only this one
delivers it. And a message of a process that restarted more than ``rejoin_window``
messages before a peer's last one is counted as old.

Memory: the last ``rejoin_window`` messages broadcast here, the last ``rejoin_window``
delivered of each process heard of, and one open request per gone process's gap.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs
from netweave import (
    Component,
    Crashed,
    Incarnations,
    Message,
    PeerRestarted,
    Restore,
    Suspect,
    forward_relays,
    rejoin_entries,
    revive,
    upon,
    upon_message,
)

from ._delivered import decimal

if TYPE_CHECKING:
    from netweave import Context

__all__ = ["NEEDS", "Fetch", "Have", "Hello", "Join", "Process", "Rejoin", "RejoinOptions",
           "Rejoining", "Sequenced", "process_name", "process_of"]

Process = tuple[str, int]
"""(node, incarnation): one process, one sequence of messages."""

NEEDS = {"failure-detector": "after a restart, nothing tells the new process that a peer "
         "crashed, so it may wait for ever for that peer and stop delivering"}
"""What a layer that rejoins recommends (:attr:`~netweave.Component.recommends`): without a
detector, nothing tells a restarted process that a peer is gone."""


class Hello(Message, tag="rejoin.hello"):
    """[HELLO, inc]: at start, to every peer: the sender's node runs process ``inc`` now."""

    layer: str
    inc: int


class Join(Message, tag="rejoin.join"):
    """[JOIN, first, recent]: to a restarted process, the sender's process ``inc``
    continues at its ``first``-th message for it."""

    layer: str
    inc: int
    first: int
    recent: tuple[tuple[str, Any], ...] = ()
    """(id, data message) of the sender's messages from ``first`` on, sent before it knew."""
    relays: tuple[Any, ...] = ()
    """Instead of ``recent``, when the reliable broadcast can take its messages back
    (``forward``): its messages that carried them."""
    restart: bool = True
    """The sender knows the receiver restarted (``False``: it answers the HELLO of a
    process it never knew, which may be a first process or a restarted one; then
    ``first`` is 1 and the receiver learns only where this sequence starts)."""


class Fetch(Message, tag="rejoin.fetch"):
    """[FETCH, o, lo, hi]: from a restarted process: what have you of ``process``'s
    messages ``lo`` to ``hi``?"""

    layer: str
    process: str
    lo: int
    hi: int


class Have(Message, tag="rejoin.have"):
    """[HAVE, o, old, ms]: the answer to a :class:`Fetch`."""

    layer: str
    process: str
    old: int
    """How many of the process's first messages the sender counted as delivered and no
    longer keeps."""
    entries: tuple[tuple[str, Any], ...] = ()
    """(id, data message) of those it keeps in the range asked."""


@attrs.frozen
class _AskAgain:
    """Timer event: ask again about a gap of ``process`` (a suspected peer did not answer)."""

    layer: str
    process: Process


@attrs.frozen
class RejoinOptions:
    """Options of a layer that rejoins after restarts."""

    rejoin_window: int = attrs.field(
        default=100, converter=int, validator=attrs.validators.ge(0),
        metadata={"doc": "How many of its latest messages a process sends again to a peer "
                  "that restarted (those the new process may be owed), and keeps of "
                  "each process's delivered ones for a restarted peer that asks."})
    gap_wait: float = attrs.field(
        default=2.0, converter=float, validator=attrs.validators.ge(0.0),
        metadata={"doc": "Seconds before a restarted process asks its peers again about a "
                  "gap of a gone process's sequence that a suspected peer left "
                  "unanswered."})


class Sequenced(Protocol):
    """What a layer gives the rejoin protocol; numbers are 1-based, per process."""

    def accept(self, message_id: str, origin: str, data: Any) -> None:
        """Take ``data``, one of this layer's data messages (of the type given to
        :class:`Rejoin`), as if the reliable broadcast delivered it."""

    def counted(self, process: Process) -> int:
        """How many of ``process``'s first messages are delivered or counted as such."""

    def count_up_to(self, process: Process, n: int) -> None:
        """Count ``process``'s first ``n`` messages as delivered, and deliver what follows."""


@attrs.define(eq=False)
class _Round:
    lo: int
    hi: int
    awaited: set[str]
    old: int = 0
    partial: bool = False

    @property
    def open(self) -> bool:
        return bool(self.awaited)


class Rejoin:
    """The rejoin protocol's state at one process, for one layer."""

    def __init__(self, ctx: Context, layer: str, options: RejoinOptions,
                 owner: Sequenced, data: type[Message]) -> None:
        self.ctx = ctx
        self.data = data
        """The layer's data message type: what JOINs and answers hand over."""
        self.layer = layer
        self.options = options
        self.owner = owner
        self.gone = Incarnations()
        """Which processes crashed or were followed by newer ones (this node's own earlier
        ones included): no JOIN comes from them."""
        self.gone.seen(ctx.node_id, ctx.incarnation)
        self.me: Process = (ctx.node_id, ctx.incarnation)
        self.crashed: set[str] = set()
        self.suspected: set[str] = set()
        self.restarted = False
        """Whether a peer's JOIN said this process is a restarted one."""
        self.greeted: set[Process] = set()
        """Peer processes sent a JOIN."""
        self.joined: set[Process] = set()
        """Processes whose JOIN arrived."""
        self.recent: deque[tuple[int, str, Any, Any]] = deque(maxlen=options.rejoin_window)
        """The last messages broadcast here: number, id, data message, and the reliable
        broadcast's message that carried them (or ``None``)."""
        self.sent_count = 0
        self.windows: dict[Process, deque[tuple[int, str, Any]]] = {}
        """Per process, its last ``rejoin_window`` messages delivered here."""
        self.rounds: dict[Process, _Round] = {}
        """Per gone process, the last gap asked about."""
        self.dropped = 0

    # -- what the layer calls ----------------------------------------------------------

    def start(self) -> None:
        hello = Hello(self.layer, self.ctx.incarnation)
        for q in self.ctx.peers:
            self.ctx.send(q, hello)

    def sent(self, number: int, message_id: str, data: Any, sent: Any) -> None:
        """This process broadcast its ``number``-th message, ``data``; the reliable
        broadcast returned ``sent``."""
        self.sent_count = number
        self.recent.append((number, message_id, data, sent))

    def delivered(self, process: Process, number: int, message_id: str, data: Any) -> None:
        """This process delivered ``process``'s ``number``-th message."""
        if self.options.rejoin_window and process != self.me:
            window = self.windows.get(process)
            if window is None:
                window = self.windows[process] = deque(maxlen=self.options.rejoin_window)
            window.append((number, message_id, data))

    def seen(self, process: Process) -> bool:
        """A message named ``process``; whether it is newer than any of its node known."""
        return self.gone.seen(*process)

    def is_gone(self, process: Process) -> bool:
        return self.gone.gone(*process)

    def earlier_self(self, process: Process) -> bool:
        """Whether ``process`` is one of this node's crashed processes."""
        return process[0] == self.ctx.node_id and process[1] < self.ctx.incarnation

    def gap(self, process: Process, lo: int, hi: int) -> None:
        """Messages ``lo`` to ``hi`` of ``process`` hold up delivery here: if this process
        restarted and ``process`` is gone without a JOIN, or its node is suspected (an
        eventually perfect detector never says crashed), ask the peers for them."""
        if (hi < lo or not self.restarted or process in self.joined
                or not (self.is_gone(process) or process[0] in self.suspected)):
            return
        known = self.rounds.get(process)
        if known is not None and known.lo <= lo and hi <= known.hi:
            return  # asked already; what no peer had comes through the reliable broadcast
        awaited = {q for q in self.ctx.peers if not self._out(q)}
        self.rounds[process] = _Round(lo, hi, awaited)
        ask = Fetch(self.layer, process_name(process), lo, hi)
        for q in sorted(awaited):
            self.ctx.send(q, ask)
        if not awaited:
            self._answered(process)

    # -- the protocol's messages and events --------------------------------------------

    def on_hello(self, sender: str, msg: Hello) -> None:
        if sender not in self.ctx.members or not _positive(msg.inc):
            self._drop("hello", sender)
            return
        self.gone.seen(sender, msg.inc)
        # A process never known before may be a restarted one whose earlier process no
        # message of this one ever reached: the links then report no restart, and it
        # would wait for ever for this sequence's first messages. While they are all
        # still kept, tell it the sequence from 1 (harmless to a first process).
        process = (sender, msg.inc)
        if (process not in self.greeted and self.recent and self.recent[0][0] == 1
                and sender != self.ctx.node_id):
            self.greeted.add(process)
            recent, relays = rejoin_entries(self.ctx,
                                            ((m, d, s) for _, m, d, s in self.recent))
            self.ctx.send(sender, Join(self.layer, self.ctx.incarnation, 1, recent, relays,
                                       restart=False))

    def on_peer_restart(self, event: PeerRestarted) -> None:
        self.greeted.add((event.peer, event.incarnation))
        self.gone.restarted(event.peer, event.incarnation)
        self.crashed.discard(event.peer)
        self.suspected.discard(event.peer)
        first = self.recent[0][0] if self.recent else self.sent_count + 1
        recent, relays = rejoin_entries(self.ctx, ((m, d, s) for _, m, d, s in self.recent))
        self.ctx.send(event.peer, Join(self.layer, self.ctx.incarnation, first, recent, relays))
        for process, r in self.rounds.items():
            if event.peer in r.awaited:  # its new process answers instead
                self.ctx.send(event.peer, Fetch(self.layer, process_name(process), r.lo, r.hi))

    def on_crash(self, peer: str) -> None:
        self.gone.crashed(peer)
        self.crashed.add(peer)
        self._not_waited(peer)

    def on_suspect(self, peer: str) -> None:
        self.suspected.add(peer)
        self._not_waited(peer, partial=True)

    def on_restore(self, peer: str) -> None:
        self.suspected.discard(peer)

    def on_join(self, sender: str, msg: Join) -> None:
        if (sender not in self.ctx.members or not _positive(msg.inc) or not _positive(msg.first)
                or not _entries(msg.recent) or not isinstance(msg.relays, (list, tuple))):
            self._drop("join", sender)
            return
        process = (sender, msg.inc)
        if msg.restart:
            self.restarted = True
        self.joined.add(process)
        self.gone.seen(sender, msg.inc)
        self.owner.count_up_to(process, msg.first - 1)
        if msg.relays and not forward_relays(self.ctx, msg.relays):
            self.dropped += 1
            self.ctx.log.warning("a %s join from %r relays messages, and this node's "
                                 "reliable broadcast cannot forward them", self.layer, sender)
        for message_id, data in msg.recent:
            self._take(message_id, data)

    def on_fetch(self, sender: str, msg: Fetch) -> None:
        process = process_of(msg.process)
        if (sender not in self.ctx.members or process is None or not _positive(msg.lo)
                or type(msg.hi) is not int):
            self._drop("fetch", sender)
            return
        window = self.windows.get(process, ())
        counted = self.owner.counted(process)
        old = min(counted, window[0][0] - 1) if window else counted
        entries = tuple((m, d) for n, m, d in window if msg.lo <= n <= msg.hi)
        self.ctx.send(sender, Have(self.layer, msg.process, old, entries))

    def on_have(self, sender: str, msg: Have) -> None:
        process = process_of(msg.process)
        if (sender not in self.ctx.members or process is None or type(msg.old) is not int
                or not _entries(msg.entries)):
            self._drop("have", sender)
            return
        for message_id, data in msg.entries:
            self._take(message_id, data)
        r = self.rounds.get(process)
        if r is not None and sender in r.awaited:
            r.awaited.discard(sender)
            r.old = max(r.old, msg.old)
            if not r.awaited:
                self._answered(process)

    def on_ask_again(self, event: _AskAgain) -> None:
        r = self.rounds.get(event.process)
        if r is not None and not r.open:
            del self.rounds[event.process]

    # -- inside ------------------------------------------------------------------------

    def _out(self, peer: str) -> bool:
        """Whether ``peer`` is not waited for: detected crashed or suspected."""
        return peer in self.suspected or peer in self.crashed

    def _not_waited(self, peer: str, partial: bool = False) -> None:
        for process, r in list(self.rounds.items()):
            if peer in r.awaited:
                r.awaited.discard(peer)
                r.partial = r.partial or partial
                if not r.awaited:
                    self._answered(process)

    def _answered(self, process: Process) -> None:
        r = self.rounds[process]
        if r.partial and self.options.gap_wait > 0:
            self.ctx.set_timer(self.options.gap_wait, _AskAgain(self.layer, process))
        self.owner.count_up_to(process, min(r.old, r.hi))

    def _take(self, message_id: object, data: Any) -> None:
        if not isinstance(message_id, str):
            self.dropped += 1
            return
        try:
            revived = revive(data)
        except ValueError:
            revived = None
        if not isinstance(revived, self.data):
            self._drop("entry", message_id)
            return
        self.owner.accept(message_id, message_id.partition("/")[0], revived)

    def _drop(self, kind: str, sender: str) -> None:
        self.dropped += 1
        self.ctx.log.warning("dropped malformed %s %s from %r", self.layer, kind, sender)

    def size(self) -> int:
        """Entries held: own recent messages, delivered windows and open requests."""
        return (len(self.recent) + sum(len(w) for w in self.windows.values())
                + len(self.rounds))


class Rejoining(Component):
    """A layer that rejoins after restarts: the protocol's handlers, once for every such
    layer. A subclass sets ``self.rejoin`` in its ``__init__`` and implements
    :class:`Sequenced` and :meth:`resume` (try to deliver again)."""

    recommends: ClassVar[dict[str, str]] = NEEDS
    rejoin: Rejoin

    def start(self) -> None:
        self.rejoin.start()

    def resume(self) -> None:
        """Something the layer waits on changed: deliver what is ready."""
        raise NotImplementedError

    @upon_message(Hello)
    def on_rejoin_hello(self, sender: str, msg: Hello) -> None:
        if msg.layer == self.layer:
            self.rejoin.on_hello(sender, msg)
            self.resume()

    @upon_message(Join)
    def on_rejoin_join(self, sender: str, msg: Join) -> None:
        if msg.layer == self.layer:
            self.rejoin.on_join(sender, msg)
            self.resume()

    @upon_message(Fetch)
    def on_rejoin_fetch(self, sender: str, msg: Fetch) -> None:
        if msg.layer == self.layer:
            self.rejoin.on_fetch(sender, msg)

    @upon_message(Have)
    def on_rejoin_have(self, sender: str, msg: Have) -> None:
        if msg.layer == self.layer:
            self.rejoin.on_have(sender, msg)
            self.resume()

    @upon(PeerRestarted)
    def on_rejoin_restart(self, event: PeerRestarted) -> None:
        self.rejoin.on_peer_restart(event)
        self.resume()

    @upon(Crashed)
    def on_rejoin_crash(self, event: Crashed) -> None:
        self.rejoin.on_crash(event.peer)
        self.resume()

    @upon(Suspect)
    def on_rejoin_suspect(self, event: Suspect) -> None:
        self.rejoin.on_suspect(event.peer)
        self.resume()

    @upon(Restore)
    def on_rejoin_restore(self, event: Restore) -> None:
        self.rejoin.on_restore(event.peer)

    @upon(_AskAgain)
    def on_rejoin_ask_again(self, event: _AskAgain) -> None:
        if event.layer == self.layer:
            self.rejoin.on_ask_again(event)
            self.resume()


def process_name(process: Process) -> str:
    """``"<node>/<incarnation>"``."""
    return f"{process[0]}/{process[1]}"


def process_of(name: object) -> Process | None:
    """The process ``"<node>/<incarnation>"`` names, or ``None`` if it is malformed."""
    if not isinstance(name, str) or name.count("/") != 1:
        return None
    node, _, inc = name.partition("/")
    if not node or not decimal(inc) or int(inc) < 1:
        return None
    return node, int(inc)


def _positive(value: object) -> bool:
    return type(value) is int and value >= 1


def _entries(entries: object) -> bool:
    return isinstance(entries, (list, tuple)) and all(
        isinstance(e, (list, tuple)) and len(e) == 2 for e in entries)
