"""Causal-order broadcast: CGR Algorithm 3.15, "Waiting Causal Broadcast".

    upon <Init>:                V := [0]^N; lsn := 0; pending := {}
    upon <crb, Broadcast | m>:  W := V; W[self] := lsn; lsn := lsn + 1
                                trigger <rb, Broadcast | [DATA, W, m]>
    upon <rb, Deliver | p, [DATA, W, m]>:
        pending := pending + {(p, W, m)}
        while exists (p', W', m') in pending such that W' <= V:
            pending := pending - {(p', W', m')}
            V[p'] := V[p'] + 1
            trigger <crb, Deliver | p', m'>

``V[p]`` counts the messages of ``p`` this process has delivered; a message carries the
vector ``W`` of its sender at broadcast time, with the sender's own entry replaced by the
number of messages the sender broadcast before it. ``W <= V`` (entry by entry) says the
receiver has delivered everything the sender had delivered, and every earlier message of
the sender: everything that could have caused the message. Messages of one sender are
therefore delivered in order, and a message whose own entry is below ``V`` was delivered
already (a duplicate, dropped without keeping any per-message memory).

Processes are ``"<node>/<incarnation>"`` (the prefix of every message id), not node
ids: a restarted node is a new process that numbers its messages from zero again.

Restarts. The textbook assumes crash-stop processes. A restarted process is new: the
messages broadcast before it started never reach it, yet later messages name them as
causes. Where each running sequence continues for it, and which causes it may skip, is
the rejoin protocol's business (``netweave_broadcast.rejoin``, shared with FIFO
broadcast): this layer numbers its messages for it, tells it what it delivers, and asks
it about the causes it lacks of a gone process. A restarted process never delivers a
message before a cause broadcast after it started. The node's own earlier processes are
gone processes like any other: their messages are delivered, and their causes waited
for; skipping them delivered an effect that the other processes held back for ever
(harsh seed 1005057: its cause had reached only processes that crashed).

The vector clock. ``W <= V`` is a vector-clock comparison, asked of the node's
``vector-clock`` component (netweave-clocks); the same component stamps every trace line
of the run with the node's vector time (``vc``). The code never imports netweave-clocks:
without it the node is refused at build time, with a message naming the distribution to
install, instead of a broken import when plugins are discovered.

Memory: ``V`` holds one counter per process heard of; ``pending`` holds the messages
waiting for their causes; the rejoin protocol keeps the last ``rejoin_window`` messages
broadcast here and delivered of each process. A message whose causes were delivered
only by processes that crashed may wait forever (no correct process is obliged to
deliver it); so may, at the other processes, a cause that a peer handed to a restarted
process and no other correct process had, once that peer crashes, and everything
causally after it (the rejoin protocol's limits).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from netweave import Message, hookimpl, revive, upon_deliver
from netweave.interfaces import RELIABLE_BROADCAST, VECTOR_CLOCK
from netweave_broadcast.rejoin import (
    Join,
    Process,
    Rejoin,
    Rejoining,
    RejoinOptions,
    process_name,
    process_of,
)

if TYPE_CHECKING:
    from netweave import Context

__all__ = ["CausalData", "CausalJoin", "CausalOptions", "WaitingCausalBroadcast"]

CausalJoin = Join
"""The JOIN a restarted process receives (the rejoin protocol's, shared with FIFO)."""


class CausalData(Message, tag="waiting-crb.data"):
    """[DATA, W, m]: a message and the causes its sender had delivered."""

    w: dict[str, int]
    """Per process, how many of its messages precede this one (zeros omitted but the
    sender's own entry, its number of earlier broadcasts)."""
    payload: Any


@attrs.frozen
class CausalOptions(RejoinOptions):
    """Options of waiting causal broadcast (those of the rejoin protocol)."""


@attrs.define(eq=False)
class _Pending:
    process: str
    message_id: str
    origin: str
    w: dict[str, int]
    data: CausalData


class WaitingCausalBroadcast(Rejoining):
    """Causal-order broadcast that holds a message back until its causes are delivered."""

    name = "waiting-crb"
    provides = ("causal-order-broadcast",)
    requires = ("reliable-broadcast", "vector-clock")
    layer = "causal"
    default = True
    install_hints = {"vector-clock": "netweave-clocks"}
    Options = CausalOptions

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import CausalBroadcastSpec

        return [CausalBroadcastSpec]

    def __init__(self, ctx: Context, options: CausalOptions) -> None:
        super().__init__(ctx, options)
        self.v: dict[str, int] = {}
        """V: messages delivered, per process."""
        self.lsn = 0
        """Messages this process broadcast on this layer."""
        self.pending: list[_Pending] = []
        """Messages received and not yet deliverable."""
        self.dropped = 0
        """Malformed messages from peers, dropped."""
        self.rejoin = Rejoin(ctx, self.layer or self.name, options, self, CausalData)

    def broadcast(self, message_id: str, payload: Any) -> None:
        w = {p: n for p, n in self.v.items() if n}
        me = _process(message_id)
        w[me] = self.lsn
        self.lsn += 1
        data = CausalData(w, payload)
        sent = self.ctx.component(RELIABLE_BROADCAST).broadcast(message_id, data)
        self.rejoin.sent(self.lsn, message_id, data, sent)

    @upon_deliver(CausalData)
    def on_data(self, message_id: str, origin: str, msg: CausalData) -> None:
        if not _valid_id(message_id, origin) or not _valid(msg.w):
            self.dropped += 1
            self.ctx.log.warning("dropped malformed causal message %r from %r",
                                 message_id, origin)
            return
        process = _process(message_id)
        if msg.w.get(process, 0) < self.v.get(process, 0) or any(
                entry.message_id == message_id for entry in self.pending):
            return  # delivered already, or waiting already
        for p in (process, *msg.w):
            self.rejoin.seen(_node_inc(p))
        self.pending.append(_Pending(process, message_id, origin, msg.w, msg))
        self._deliver_ready()

    def ready(self, w: Mapping[str, int]) -> bool:
        """Whether a message whose sender had ``w`` may be delivered now: ``W <= V``."""
        return self.ctx.component(VECTOR_CLOCK).leq(w, self.v)

    def _deliver_ready(self) -> None:
        progress = True
        while progress:
            progress = False
            for entry in list(self.pending):
                if self.ready(entry.w):
                    self.pending.remove(entry)
                    n = self.v[entry.process] = self.v.get(entry.process, 0) + 1
                    self.rejoin.delivered(_node_inc(entry.process), n, entry.message_id,
                                          entry.data)
                    self.ctx.deliver(entry.message_id, entry.origin,
                                     revive(entry.data.payload))
                    progress = True
        if self.pending and self.rejoin.restarted:
            self._ask_for_causes()

    def _ask_for_causes(self) -> None:
        """Restarted: tell the rejoin protocol which causes hold messages up, up to the
        first one held of each process (those held wait for their own causes)."""
        held: dict[str, int] = {}
        for e in self.pending:
            n = e.w.get(e.process, 0) + 1
            held[e.process] = min(n, held.get(e.process, n))
        wanted: dict[str, int] = {}
        for e in self.pending:
            for p, n in e.w.items():
                if n > self.v.get(p, 0):
                    wanted[p] = max(n, wanted.get(p, n))
        for p, n in wanted.items():
            lo = self.v.get(p, 0) + 1
            self.rejoin.gap(_node_inc(p), lo, min(n, held.get(p, n + 1) - 1))

    # The rejoin protocol's side (Sequenced)

    def accept(self, message_id: str, origin: str, data: Any) -> None:
        self.on_data(message_id, origin, data)

    def counted(self, process: Process) -> int:
        return self.v.get(process_name(process), 0)

    def count_up_to(self, process: Process, n: int) -> None:
        p = process_name(process)
        if n > self.v.get(p, 0):
            self.v[p] = n
            self.pending = [e for e in self.pending if e.process != p or e.w.get(p, 0) >= n]
            self._deliver_ready()

    def resume(self) -> None:
        self._deliver_ready()

    def state_size(self) -> int:
        """Entries held: one counter per process heard of, the waiting messages, and
        what the rejoin protocol keeps."""
        return len(self.v) + len(self.pending) + self.rejoin.size()


def _process(message_id: str) -> str:
    """``"<node>/<incarnation>"``: the process that broadcast ``message_id``."""
    return message_id.rpartition("/")[0]


def _node_inc(process: str) -> Process:
    """``"<node>/<incarnation>"`` split (checked by :func:`_valid` or :func:`_valid_id`)."""
    parsed = process_of(process)
    assert parsed is not None
    return parsed


def _valid(w: object) -> bool:
    return isinstance(w, dict) and all(
        process_of(p) is not None and type(n) is int and n >= 0 for p, n in w.items())


def _valid_id(message_id: object, origin: str) -> bool:
    """Whether ``message_id`` is ``"<origin>/<incarnation>/<n>"``."""
    if not isinstance(message_id, str):
        return False
    process, _, n = message_id.rpartition("/")
    return (process_of(process) is not None and process.partition("/")[0] == origin
            and n.isascii() and n.isdecimal())
