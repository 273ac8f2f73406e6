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
ids: a restarted node is a new process that numbers its messages from zero again. The
textbook assumes crash-stop processes; after a restart, a new process may wait forever
for messages broadcast before it started that the reliable broadcast never gives it.

The vector clock. ``W <= V`` is a vector-clock comparison, asked of the node's
``vector-clock`` component (netweave-clocks); the same component stamps every trace line
of the run with the node's vector time (``vc``). The code never imports netweave-clocks:
without it the node is refused at build time, with a message naming the distribution to
install, instead of a broken import when plugins are discovered.

Memory: ``V`` holds one counter per process heard of; ``pending`` holds the messages
waiting for their causes. A message whose causes were delivered only by processes that
crashed may wait forever (no correct process is obliged to deliver it); nothing else does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
from netweave import Component, Message, hookimpl, revive, upon_deliver

if TYPE_CHECKING:
    from netweave import Context

__all__ = ["CausalData", "WaitingCausalBroadcast"]


class CausalData(Message, tag="waiting-crb.data"):
    """[DATA, W, m]: a message and the causes its sender had delivered."""

    w: dict[str, int]
    """Per process, how many of its messages precede this one (zeros omitted but the
    sender's own entry, its number of earlier broadcasts)."""
    payload: Any


class VectorComparison(Protocol):
    """What this layer needs from the ``vector-clock`` component."""

    def leq(self, a: Mapping[str, int], b: Mapping[str, int]) -> bool:
        """Whether ``a <= b`` entry by entry (a missing entry counts as 0)."""
        ...


@attrs.define(eq=False)
class _Pending:
    process: str
    message_id: str
    origin: str
    w: dict[str, int]
    payload: Any


class WaitingCausalBroadcast(Component):
    """Causal-order broadcast that holds a message back until its causes are delivered."""

    name = "waiting-crb"
    provides = ("causal-order-broadcast",)
    requires = ("reliable-broadcast", "vector-clock")
    layer = "causal"
    default = True
    install_hints = {"vector-clock": "netweave-clocks"}

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import CausalBroadcastSpec

        return [CausalBroadcastSpec]

    def __init__(self, ctx: Context, options: Any) -> None:
        super().__init__(ctx, options)
        self.v: dict[str, int] = {}
        """V: messages delivered, per process."""
        self.lsn = 0
        """Messages this process broadcast on this layer."""
        self.pending: list[_Pending] = []
        """Messages received and not yet deliverable."""
        self.dropped = 0
        """Malformed messages from peers, dropped."""

    def broadcast(self, message_id: str, payload: Any) -> None:
        w = {p: n for p, n in self.v.items() if n}
        me = _process(message_id)
        w[me] = self.lsn
        self.lsn += 1
        self.ctx.component("reliable-broadcast").broadcast(message_id, CausalData(w, payload))

    @upon_deliver(CausalData)
    def on_data(self, message_id: str, origin: str, msg: CausalData) -> None:
        process = _process(message_id)
        if not message_id.startswith(origin + "/") or not _valid(msg.w):
            self.dropped += 1
            self.ctx.log.warning("dropped malformed causal message %r from %r",
                                 message_id, origin)
            return
        if msg.w.get(process, 0) < self.v.get(process, 0) or any(
                entry.message_id == message_id for entry in self.pending):
            return  # delivered already, or waiting already
        self.pending.append(_Pending(process, message_id, origin, msg.w, msg.payload))
        self._deliver_ready()

    def ready(self, w: Mapping[str, int]) -> bool:
        """Whether a message whose sender had ``w`` may be delivered now: ``W <= V``."""
        clock: VectorComparison = self.ctx.component("vector-clock")  # type: ignore[assignment]
        return clock.leq(w, self.v)

    def _deliver_ready(self) -> None:
        progress = True
        while progress:
            progress = False
            for entry in list(self.pending):
                if self.ready(entry.w):
                    self.pending.remove(entry)
                    self.v[entry.process] = self.v.get(entry.process, 0) + 1
                    self.ctx.deliver(entry.message_id, entry.origin, revive(entry.payload))
                    progress = True

    def state_size(self) -> int:
        """Entries held: one counter per process heard of, plus the waiting messages."""
        return len(self.v) + len(self.pending)


def _process(message_id: str) -> str:
    """``"<node>/<incarnation>"``: the process that broadcast ``message_id``."""
    return message_id.rpartition("/")[0]


def _valid(w: object) -> bool:
    return isinstance(w, dict) and all(
        isinstance(p, str) and p.count("/") == 1 and type(n) is int and n >= 0
        for p, n in w.items())
