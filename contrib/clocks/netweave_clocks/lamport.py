"""Lamport's logical clock (Lamport 1978; CGR Section 2.5.1, on asynchronous systems).

    upon <Init>:                     c := 0
    upon <pl, Send | q, m>:          c := c + 1; m carries c
    upon <pl, Deliver | p, m>:       c := max(c, t) + 1, where t is the time m carries
                                     (0 if it carries none, or not a natural number)
    upon <Trace | line>:             if line records a send or a receive: line.lamport := c
                                     else: c := c + 1; line.lamport := c
    upon <Tick>:                     c := c + 1; return c

The clock condition holds: if event a happened before event b, then L(a) < L(b).

Theory of operation. Every node keeps a counter. The events of a node are the link
messages it sends and receives, every line it writes to its trace, and the local events
an application marks itself (:meth:`LamportClock.tick`):

- before each event the counter goes up by one (a *tick*);
- each link message to another node carries its sender's time (the ``"lamport"`` field
  beside the message, attached through the ``netweave_link_outgoing`` hook: the
  component that sends the message does not know); retransmissions carry the same time;
- on receipt, once the perfect link delivers the message (duplicates filtered) and
  before any component handles it, the counter first jumps to the message's time if
  that is ahead, then ticks, so a receive is always later than its send.

Every trace line gets the time of its event in a ``"lamport"`` field. The ``send`` and
``recv`` lines (``trace_messages``) record the link events above, already counted: they
show that time and tick nothing. The application and other components read the current
time as :attr:`LamportClock.time` through the ``logical-clock`` abstraction:
``node.component("logical-clock").time``.
"""

from __future__ import annotations

from typing import Any

from netweave import Component, Context, hookimpl

__all__ = ["LamportClock"]

FIELD = "lamport"
"""The name of the time both on the wire (beside each message) and in trace lines."""

MESSAGE_LINES = frozenset({"send", "recv"})
"""Trace lines that record a link event the hooks count, not an event of their own."""


class LamportClock(Component):
    """A Lamport clock that stamps every link message of its node."""

    name = "lamport-clock"
    provides = ("logical-clock",)

    def __init__(self, ctx: Context, options: Any) -> None:
        super().__init__(ctx, options)
        self.time = 0
        """The time of this node's latest event."""
        self.malformed = 0
        """Received stamps that were not a non-negative integer (ignored)."""
        # Registered now, not in start(): the node's "start" line is an event too.
        ctx.annotate_trace(self._stamp_trace_line)

    def tick(self) -> int:
        """Count one local event (an application may mark its own); returns its time."""
        self.time += 1
        return self.time

    @hookimpl
    def netweave_link_outgoing(self, peer: str, message: Any) -> dict[str, Any]:
        """A send is an event: tick, and let the message carry the new time."""
        return {FIELD: self.tick()}

    @hookimpl
    def netweave_link_incoming(self, peer: str, message: Any, meta: dict[str, Any]) -> None:
        """A receive is an event later than its send: catch up with the sender, tick."""
        stamp = meta.get(FIELD)
        if type(stamp) is int and stamp >= 0:
            self.time = max(self.time, stamp)
        else:  # a peer without a clock, or a bad one: the receive still counts
            self.malformed += 1
        self.tick()

    def _stamp_trace_line(self, record: dict[str, Any]) -> None:
        # A node's send and recv lines (``trace_messages``) record the send and receive
        # events the link hooks above already counted: they show that time, and tick
        # nothing, so tracing messages changes no clock value.
        record[FIELD] = self.time if record.get("ev") in MESSAGE_LINES else self.tick()
