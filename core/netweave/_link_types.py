"""The perfect links' wire messages and options (see :mod:`netweave.link`).

They live apart from the link logic because a compiled build (``hatch_build.py``) compiles
``link.py`` with mypyc, and these classes must stay ordinary Python classes: the msgspec
codec reads the message classes' annotations, and the documentation reads the options'
field docstrings from source.
"""

from __future__ import annotations

from typing import Any

import attrs

from .message import Message

__all__ = ["DEFAULT_LINK_OPTIONS", "LinkAck", "LinkBatch", "LinkData", "LinkFenced", "LinkHello",
           "LinkOptions"]


class LinkHello(Message, tag="link.hello"):
    """Asks the receiver for its incarnation (answered with an ack)."""

    inc: int
    dst: int


class LinkData(Message, tag="link.data"):
    """One payload on a perfect link."""

    inc: int
    dst: int
    seq: int
    body: Any
    meta: dict[str, Any] | None = None


class LinkBatch(Message, tag="link.batch"):
    """Consecutive payloads on a perfect link: ``bodies[i]`` has sequence number ``seq + i``
    (one frame, one decode, one dispatch for a step's worth of messages to one peer)."""

    inc: int
    dst: int
    seq: int
    bodies: list[Any]
    metas: list[dict[str, Any] | None] | None = None


class LinkAck(Message, tag="link.ack"):
    """Cumulative acknowledgement up to ``upto``, plus selective ones in ``sacks``."""

    inc: int
    dst: int
    upto: int
    sacks: tuple[int, ...] = ()


class LinkFenced(Message, tag="link.fenced"):
    """Tells process ``dst`` that the sender declared it crashed: it is refused from now on
    and must end (a new incarnation may join). ``alive`` counts the processes the sender
    still takes for alive, itself included (0: not said); it settles mutual detections."""

    inc: int
    dst: int
    alive: int = 0


@attrs.frozen
class LinkOptions:
    """Tuning of the perfect links (the defaults suit loopback and the simulator)."""

    rto: float = 0.2
    """First retransmission timeout, seconds."""
    max_rto: float = 2.0
    """Cap of the doubling retransmission timeout."""
    high_water: int = 1_000
    """Unacknowledged messages to one peer above which the node reports congestion."""
    batch: int = 256
    """Over a reliable transport, most messages to one peer sent in one frame: what one
    step sends to a peer goes out together once the step ends (1: one frame each)."""
    max_delay: float = 0.1
    """Over a reliable transport, seconds the oldest unacknowledged message to a peer heard
    within the last ``2 * max_delay`` may wait before the node reports congestion: a
    queue that only grows in time (the cluster is saturated) pushes back long before it
    delays liveness evidence past a failure detector's timeout."""
    hard_limit: int = 100_000
    """Messages to one peer beyond this are dropped and counted (only a dead peer fills it)."""
    stall_after: float = 5.0
    """A peer silent this long (seconds) no longer holds the application back: it may have
    crashed without a perfect detector saying so; its queue stays bounded by ``hard_limit``."""
    crashed_backlog: int = 1_000
    """Newest messages kept for a peer declared crashed, sent to it if it comes back as a
    new process: what was sent after it restarted but before this node learned of it."""


DEFAULT_LINK_OPTIONS = LinkOptions()
"""The default tuning, shared: the options are frozen."""
