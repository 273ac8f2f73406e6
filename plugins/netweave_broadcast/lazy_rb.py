"""Lazy reliable broadcast (CGR Algorithm 3.2), over best-effort broadcast and a detector.

    upon <Init>:                 correct := members; from[p] := {} for every p
    upon <rb, Broadcast | m>:    trigger <beb, Broadcast | [DATA, self, m]>
    upon <beb, Deliver | p, [DATA, s, m]>:
        if m not in from[s]:
            trigger <rb, Deliver | s, m>; from[s] += m
            if s not in correct: trigger <beb, Broadcast | [DATA, s, m]>
    upon <P, Crash | p>:
        correct -= p
        forall m in from[p]: trigger <beb, Broadcast | [DATA, p, m]>

A process relays a sender's messages only once the sender is detected crashed, which is
cheap while nobody fails. The second ``if`` is the rule rust_net's version lacked: a message
that arrives *after* its sender was detected crashed is relayed at once, or the nodes it
never reached would never deliver it.

Failure detection. This layer requires ``failure-detector`` and acts on
:class:`~netweave.Crashed`, which only the perfect detector (``perfect-fd``, the
default) publishes. On top of ``eventually-perfect-fd`` it treats
:class:`~netweave.Suspect` like a crash for relaying and :class:`~netweave.Restore` as
the end of it: relaying is always safe (duplicates are filtered), so agreement still
holds, at the cost of extra relays after false suspicions. A restarted peer (a new
incarnation) means its old incarnation crashed: its old messages are relayed too. So
does a restart of this node: what its earlier processes broadcast is relayed when it
arrives here (a relay may hand it to this process alone before its relayer crashes).

Memory. ``from[s]`` is kept only until a message is delivered everywhere: every
``report_period`` a process that delivered something new tells its peers what it has
delivered (compact watermarks, see :mod:`._delivered`), and a message that every peer not
detected crashed has reported is forgotten, at the process's next report (one pass over
what it keeps per period, whatever the number of peers; a crash or a restart of a peer
forgets at once). Suspicions never count as crashes here, so a
false suspicion cannot make a process forget a message a live peer still lacks (with an
eventually perfect detector, a crashed peer therefore keeps messages in memory until it
restarts). De-duplication keeps one watermark per origin incarnation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from netweave import (
    Component,
    Crashed,
    Message,
    OriginMessage,
    PeerRestarted,
    Restore,
    Suspect,
    hookimpl,
    revive,
    upon,
    upon_deliver,
    upon_message,
)
from netweave.interfaces import BEST_EFFORT_BROADCAST

from ._delivered import DeliveredLog, Summary, forwarded_or_drop, origin_or_drop

if TYPE_CHECKING:
    from netweave import Context


class LazyRbData(OriginMessage, tag="lazy-rb.data"):
    """[DATA, s, m]: message ``id`` of its origin, the origin's ``seq``-th on this layer."""

    id: str
    seq: int
    payload: Any


class LazyRbDelivered(Message, tag="lazy-rb.delivered"):
    """What the sender has delivered so far (for forgetting stable messages)."""

    delivered: Summary


@attrs.frozen
class _Report:
    """Timer event: time to tell peers what this process delivered."""


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, not {value!r}")


@attrs.frozen
class LazyRbOptions:
    """Options of lazy reliable broadcast."""

    report_period: float = attrs.field(
        default=1.0, converter=float, validator=_positive,
        metadata={"doc": "Seconds between reports of what this process delivered; a "
                  "message reported by every live peer is forgotten."})


class LazyReliableBroadcast(Component):
    """Reliable broadcast that relays a sender's messages once the sender is detected crashed."""

    name = "lazy-rb"
    provides = ("reliable-broadcast",)
    requires = ("failure-detector", "best-effort-broadcast")
    layer = "rb"
    default = True
    Options = LazyRbOptions

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import ReliableBroadcastSpec

        return [ReliableBroadcastSpec]

    def __init__(self, ctx: Context, options: LazyRbOptions) -> None:
        super().__init__(ctx, options)
        self.crashed: set[str] = set()
        self.suspected: set[str] = set()
        self.dead_below: dict[str, int] = {ctx.node_id: ctx.incarnation}
        """Incarnations of a node below this one are dead (it restarted); this node's own
        earlier processes are, so what they broadcast is relayed when it arrives here."""
        self.delivered = DeliveredLog()
        self.from_: dict[str, dict[tuple[int, int], LazyRbData]] = {}
        """from[s]: messages of origin ``s`` by (incarnation, seq), until stable."""
        self.reports: dict[str, DeliveredLog] = {q: DeliveredLog() for q in ctx.peers}
        self.dropped = 0
        self._seq = 0
        self._news = False
        self._reported = False
        """A peer's report came since the last pass of :meth:`_forget_stable`."""

    def start(self) -> None:
        self.ctx.set_timer(self.options.report_period, _Report())

    def broadcast(self, message_id: str, payload: Any) -> LazyRbData:
        """Broadcast ``payload``; returns the message sent, which :meth:`forward` takes."""
        self._seq += 1
        msg = self.ctx.sign(LazyRbData(message_id, self._seq, payload))
        self._beb(message_id, msg)
        return msg

    def forward(self, msg: Any) -> None:
        """Take a message :meth:`broadcast` returned at some process, handed over by a
        layer above (a JOIN to a restarted process), as if it arrived from the network:
        delivered here once, kept, and relayed if its origin crashes."""
        forwarded = forwarded_or_drop(self, msg, LazyRbData)
        if forwarded is not None:
            self.on_data("", "", forwarded)

    @upon_deliver(LazyRbData)
    def on_data(self, _: str, __: str, msg: LazyRbData) -> None:
        parsed = origin_or_drop(self, "rb", msg.id, msg.seq)
        if parsed is None:
            return
        s, inc = parsed
        if not self.delivered.add(s, inc, msg.seq):
            return
        self.from_.setdefault(s, {})[(inc, msg.seq)] = msg
        self._news = True
        self.ctx.deliver(msg.id, s, revive(msg.payload))
        if s in self.crashed or s in self.suspected or inc < self.dead_below.get(s, 0):
            self._relay(msg)

    @upon(Crashed)
    def on_crash(self, event: Crashed) -> None:
        self.crashed.add(event.peer)
        self.reports[event.peer] = DeliveredLog()  # no longer waited for
        self._relay_all(event.peer)
        self._forget_stable()

    @upon(Suspect)
    def on_suspect(self, event: Suspect) -> None:
        self.suspected.add(event.peer)
        self._relay_all(event.peer)

    @upon(Restore)
    def on_restore(self, event: Restore) -> None:
        self.suspected.discard(event.peer)

    @upon(PeerRestarted)
    def on_peer_restart(self, event: PeerRestarted) -> None:
        p = event.peer
        self.dead_below[p] = event.incarnation
        self.crashed.discard(p)
        self._relay_all(p, below=event.incarnation)
        # The new process owes nothing of what was sent before it existed.
        fresh = self.reports[p] = DeliveredLog()
        for s, msgs in self.from_.items():
            for inc, seq in msgs:
                fresh.add(s, inc, seq)
        self._news = True  # it has not heard our report yet
        self._forget_stable()

    @upon(_Report)
    def on_report(self, _: _Report) -> None:
        if self._reported:
            # The peers' reports of this period, taken together: one pass over what is
            # kept per period, not one per report (n - 1 of them).
            self._reported = False
            self._forget_stable()
        if self._news:
            self._news = False
            report = LazyRbDelivered(self.delivered.summary())
            for q in self.ctx.peers:
                if q not in self.crashed:
                    self.ctx.send(q, report)
        self.ctx.set_timer(self.options.report_period, _Report())

    @upon_message(LazyRbDelivered)
    def on_delivered(self, sender: str, msg: LazyRbDelivered) -> None:
        log = self.reports.get(sender)
        if log is None:
            self.dropped += 1
            return
        log.merge(msg.delivered)
        self._reported = True  # forgotten at this process's next report (on_report)

    def _forget_stable(self) -> None:
        live = [self.reports[q] for q in self.ctx.peers if q not in self.crashed]
        for s in list(self.from_):
            msgs = self.from_[s]
            # Below the lowest watermark of the live reports, a message is stable without
            # asking each report: one comparison per message, not one per peer.
            floors: dict[int, int] = {}
            stable = []
            for key in msgs:
                inc, seq = key
                floor = floors.get(inc)
                if floor is None:
                    floor = floors[inc] = min((r.upto(s, inc) for r in live), default=seq)
                if seq <= floor or all(r.has(s, inc, seq) for r in live):
                    stable.append(key)
            for key in stable:
                del msgs[key]
            if not msgs:
                del self.from_[s]

    def _relay_all(self, s: str, below: int | None = None) -> None:
        for (inc, _), msg in list(self.from_.get(s, {}).items()):
            if below is None or inc < below:
                self._relay(msg)

    def _relay(self, msg: LazyRbData) -> None:
        self._beb(self.ctx.new_message_id(), msg)

    def _beb(self, message_id: str, msg: LazyRbData) -> None:
        self.ctx.component(BEST_EFFORT_BROADCAST).broadcast(message_id, msg)

    def state_size(self) -> int:
        """Entries held: retained messages plus the de-duplication and report watermarks."""
        return (sum(len(m) for m in self.from_.values()) + self.delivered.size()
                + sum(r.size() for r in self.reports.values()))
