"""Which peer processes are gone: what a layer needs to join sequences after restarts.

A process is ``(node, incarnation)``. A layer that numbers messages per process (FIFO,
causal) learns where a peer's running sequence continues from that process itself (a
``JOIN``); a process that is gone sends none, and waiting for it would be waiting for
ever. :class:`Incarnations` says which processes are gone, from what the component has
seen; it is plain data (sans-I/O), fed by the component's own handlers.

The rest serves the same layers: :func:`rejoin_entries` and :func:`forward_relays` carry
a peer's latest messages to a restarted process through the reliable broadcast (what the
new process delivers must reach every correct process, even if that peer crashes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .message import revive

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Incarnations", "forward_relays", "rejoin_entries"]


class Incarnations:
    """What one process knows of which processes of each node are gone.

    A process is gone once a perfect detector reported its node crashed (until a newer
    process of that node is heard of), or once a newer process of its node is known: the
    links reported a restart, or a message named it (``seen(own id, own incarnation)``
    makes this node's own earlier processes gone too).

    Feed it from the component's handlers: :meth:`crashed` on
    :class:`~netweave.Crashed`, :meth:`restarted` on :class:`~netweave.PeerRestarted`,
    :meth:`seen` for each process a message names.
    """

    __slots__ = ("_crashed", "_newest")

    def __init__(self) -> None:
        self._crashed: set[str] = set()
        self._newest: dict[str, int] = {}

    def crashed(self, node: str) -> None:
        """A perfect detector reported ``node`` crashed."""
        self._crashed.add(node)

    def restarted(self, node: str, incarnation: int) -> None:
        """The links saw ``node`` come back as process ``incarnation``."""
        self._crashed.discard(node)
        self._newest[node] = max(self._newest.get(node, 0), incarnation)

    def seen(self, node: str, incarnation: int) -> bool:
        """A message named process ``(node, incarnation)``; whether it was newer than
        any process of ``node`` known so far (older ones are gone from now on)."""
        known = self._newest.get(node)
        if known is not None and incarnation <= known:
            return False
        if known is not None:
            self._crashed.discard(node)  # the crash detected was of an older process
        self._newest[node] = incarnation
        return True

    def gone(self, node: str, incarnation: int) -> bool:
        """Whether process ``(node, incarnation)`` crashed or was followed by a newer one."""
        return node in self._crashed or incarnation < self._newest.get(node, 0)


def rejoin_entries(ctx: Context, recent: Iterable[tuple[Any, ...]]
                   ) -> tuple[tuple[tuple[Any, ...], ...], tuple[Any, ...]]:
    """What a JOIN to a restarted process carries of ``recent``, the sender's last
    messages as ``(*entry, sent)`` with ``sent`` what the reliable broadcast returned:
    ``((), sents)`` when that layer can take them back (``forward``), so that the new
    process delivers them through it, else ``(entries, ())``."""
    recent = tuple(recent)
    sents = tuple(r[-1] for r in recent)
    if hasattr(ctx.component("reliable-broadcast"), "forward") and None not in sents:
        return (), sents
    return tuple(r[:-1] for r in recent), ()


def forward_relays(ctx: Context, relays: Sequence[Any]) -> bool:
    """Hand a JOIN's ``relays`` to this node's reliable broadcast, which delivers each
    once and relays it as any of its messages: were the JOIN's sender to crash before
    they reach everyone, they still do. ``False`` if that layer cannot take them.

    With signed origins, a relay without its origin's signature is dropped here (counted
    by the node), like any message a lower layer or a link would deliver."""
    forward = getattr(ctx.component("reliable-broadcast"), "forward", None)
    if forward is None:
        return False
    for relayed in relays:
        try:
            message = revive(relayed)
        except ValueError:  # not a message: the layer counts it as malformed
            message = relayed
        if ctx.verify(message):
            forward(message)
    return True
