"""The explorer's failure detectors: the abstraction's semantics, driven by choices.

A real detector decides from heartbeats and timeouts; in an exploration the *explorer*
decides when a detector reports, so every moment a report may come is a run of its own.
A modelled perfect detector reports a crash (``detect``) at any point after it happened,
never before; a modelled eventually perfect one also reports a crashed process (as a
suspicion that stays) and may suspect a live one and later restore it. Their trace lines
and bus events are those of the detectors they model, and so is their plugin name in
the ``start`` line, so ``netweave check`` judges them by the same specifications.
"""

from __future__ import annotations

from netweave.events import Crashed, PeerRestarted, Restore, Suspect
from netweave.plugin import Component, upon

__all__ = ["DETECTORS", "ModelledEventuallyPerfectFD", "ModelledPerfectFD"]


class _Modelled(Component):
    layer = "fd"

    def start(self) -> None:
        self.reported: set[str] = set()
        """Peers this detector reports as crashed (or suspects) now."""

    permanent = True
    """Whether a report stands for good (a crash, P) or may be withdrawn (◇P)."""

    def report(self, kind: str, peer: str) -> None:
        """The explorer's choice: ``detect`` (a crash), ``suspect`` or ``restore``."""
        if kind == "restore":
            self.reported.discard(peer)
            self.ctx.trace("restore", layer="fd", peer=peer)
            self.ctx.publish(Restore(peer))
            return
        self.reported.add(peer)
        self.ctx.trace("suspect", layer="fd", peer=peer)
        self.ctx.publish(Crashed(peer) if self.permanent else Suspect(peer))

    @upon(PeerRestarted)
    def on_restart(self, event: PeerRestarted) -> None:
        # A restarted node is a new process: trusted afresh, as the real detectors do.
        if event.peer in self.reported:
            self.reported.discard(event.peer)
            self.ctx.trace("restore", layer="fd", peer=event.peer)
            if not self.permanent:
                self.ctx.publish(Restore(event.peer))


class ModelledPerfectFD(_Modelled):
    """P, modelled: reports each crash once, some time after it happened."""

    name = "perfect-fd"
    provides = ("failure-detector", "perfect-failure-detector")


class ModelledEventuallyPerfectFD(_Modelled):
    """◇P, modelled: suspects crashed processes for good, may suspect a live one for a
    while."""

    name = "eventually-perfect-fd"
    provides = ("failure-detector",)
    permanent = False


DETECTORS: dict[str, type[Component]] = {"perfect": ModelledPerfectFD,
                                         "eventual": ModelledEventuallyPerfectFD}
"""The detector modelled for each ``--fd``."""
