"""Compact memory of which broadcasts a process has delivered, for de-duplication.

Theory of operation. A broadcast id reads ``"<origin>/<incarnation>/<n>"``; every layer
also numbers the messages it broadcasts itself, ``seq`` = 1, 2, 3... within one
incarnation of one origin (the id's ``n`` is shared by all layers of a node, so it has
gaps a layer never sees filled). A layer therefore remembers its deliveries per
``(origin, incarnation)`` as a contiguous *watermark* (everything up to ``upto`` was
delivered) plus the few numbers above it that arrived out of order. Delivering fills the
gaps and the watermark moves up, so the memory stays proportional to the messages in
flight, not to the messages ever delivered. A restarted origin has a new incarnation and
so a new sequence, which never collides with the one of its past life.

A restarted *deliverer* never receives the first messages of the sequences that were
running before it started, so its watermark for them would stay at 0 while the numbers
above it pile up. Hence a bound: above :data:`MAX_AHEAD` numbers, the watermark moves up
past the oldest half of them, and a message still missing below it counts as delivered
(it would have been overtaken by thousands of later messages of its own origin, while
the links let no more than ``high_water`` wait for acknowledgement).

The same structure summarises "what I have delivered" for peers (:meth:`summary`,
:meth:`merge`), which is how layers learn that a message is delivered everywhere and can
be forgotten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

import attrs
from netweave import revive

if TYPE_CHECKING:
    from netweave import Context

__all__ = ["MAX_AHEAD", "DeliveredLog", "Summary", "forwarded_or_drop", "origin_of",
           "origin_or_drop", "parse_id"]

Summary = tuple[tuple[str, int, int, tuple[int, ...]], ...]
"""``(origin, incarnation, upto, above)`` for every origin incarnation heard of."""


_PARSED: dict[str, tuple[str, int]] = {}
"""Ids parsed lately: a relaying layer receives each message once per relayer."""
PARSED_KEPT = 4096
"""Ids :data:`_PARSED` holds at most (it starts again empty when full)."""


def parse_id(message_id: object) -> tuple[str, int] | None:
    """The ``(origin, incarnation)`` of a broadcast id, or ``None`` if it is malformed."""
    if type(message_id) is str:
        known = _PARSED.get(message_id)
        if known is not None:
            return known
    elif not isinstance(message_id, str):
        return None
    parts = message_id.split("/")
    if len(parts) != 3 or not parts[0]:
        return None
    inc, n = parts[1], parts[2]
    if not (decimal(inc) and decimal(n)) or int(inc) < 1:
        return None
    parsed = parts[0], int(inc)
    if type(message_id) is str:
        if len(_PARSED) >= PARSED_KEPT:
            _PARSED.clear()
        _PARSED[message_id] = parsed
    return parsed


def decimal(text: str) -> bool:
    """Whether ``text`` is a number ``int()`` reads: ASCII decimal digits only (``isdigit``
    also accepts digits like ``"²"``, on which ``int()`` raises)."""
    return text.isascii() and text.isdecimal()


def origin_of(message_id: object, seq: object,
              members: tuple[str, ...]) -> tuple[str, int] | None:
    """The ``(origin, incarnation)`` of a layer message, or ``None`` if it is malformed.

    Malformed: an id that is not ``"<member>/<incarnation>/<n>"`` or a ``seq`` that is not
    a positive integer. Peers' bad messages are dropped, never allowed to raise.
    """
    parsed = parse_id(message_id)
    if parsed is None or parsed[0] not in members:
        return None
    if type(seq) is not int or seq < 1:
        return None
    return parsed


class _Dropping(Protocol):
    ctx: Context
    dropped: int


def origin_or_drop(layer: _Dropping, kind: str, message_id: object,
                   seq: object) -> tuple[str, int] | None:
    """:func:`origin_of`, counting and logging a malformed message on ``layer`` as dropped."""
    parsed = origin_of(message_id, seq, layer.ctx.members)
    if parsed is None:
        layer.dropped += 1
        layer.ctx.log.warning("dropped malformed %s message %r", kind, message_id)
    return parsed


_M = TypeVar("_M")


def forwarded_or_drop(layer: _Dropping, value: object, kind: type[_M]) -> _M | None:
    """``value``, a message of type ``kind`` a layer above hands back (as sent, or decoded
    from the wire), whose payload is readable too, or ``None``, counting and logging it
    on ``layer`` as dropped."""
    try:
        msg = revive(value)
        if isinstance(msg, kind):
            revive(getattr(msg, "payload", None))
            return msg
    except ValueError:  # an unknown tag, or fields that do not fit it
        pass
    layer.dropped += 1
    layer.ctx.log.warning("dropped a forwarded message that is not a %s", kind.__name__)
    return None


MAX_AHEAD = 4096
"""Numbers held above a watermark, at most (see the module's documentation)."""


@attrs.define(eq=False)
class _Window:
    upto: int = 0
    above: set[int] = attrs.field(factory=set)

    def add(self, seq: int) -> bool:
        if seq <= self.upto or seq in self.above:
            return False
        if seq == self.upto + 1:
            self.upto = seq
            self._advance()
        else:
            self.above.add(seq)
            if len(self.above) > MAX_AHEAD:
                self.raise_to(sorted(self.above)[MAX_AHEAD // 2] - 1)
        return True

    def raise_to(self, upto: int) -> None:
        if upto > self.upto:
            self.upto = upto
            self.above = {s for s in self.above if s > upto}
            self._advance()

    def _advance(self) -> None:
        above = self.above
        while self.upto + 1 in above:
            self.upto += 1
            above.discard(self.upto)


@attrs.define(eq=False)
class DeliveredLog:
    """The set of ``(origin, incarnation, seq)`` delivered, stored as watermarks."""

    _windows: dict[tuple[str, int], _Window] = attrs.field(factory=dict, init=False)

    def add(self, origin: str, incarnation: int, seq: int) -> bool:
        """Record a delivery; ``False`` if it was already recorded (a duplicate)."""
        window = self._windows.get((origin, incarnation))
        if window is None:
            window = self._windows[(origin, incarnation)] = _Window()
        return window.add(seq)

    def has(self, origin: str, incarnation: int, seq: int) -> bool:
        """Whether ``(origin, incarnation, seq)`` was recorded."""
        window = self._windows.get((origin, incarnation))
        return window is not None and (seq <= window.upto or seq in window.above)

    def upto(self, origin: str, incarnation: int) -> int:
        """The watermark of an origin incarnation: every number up to it was recorded."""
        window = self._windows.get((origin, incarnation))
        return window.upto if window is not None else 0

    def summary(self) -> Summary:
        """Everything recorded, compactly (sent to peers)."""
        return tuple((o, i, w.upto, tuple(sorted(w.above)))
                     for (o, i), w in sorted(self._windows.items()))

    def merge(self, summary: Summary) -> None:
        """Add everything a :meth:`summary` says was delivered."""
        for origin, inc, upto, above in summary:
            window = self._windows.get((origin, inc))
            if window is None:
                window = self._windows[(origin, inc)] = _Window()
            window.raise_to(upto)
            for seq in above:
                window.add(seq)

    def size(self) -> int:
        """Integers held: one watermark per origin incarnation plus the numbers above them."""
        return sum(1 + len(w.above) for w in self._windows.values())
