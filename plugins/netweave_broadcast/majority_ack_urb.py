"""Majority-ack uniform reliable broadcast (CGR Algorithm 3.5), over beb alone.

The textbook gives it as Algorithm 3.4 (:mod:`.all_ack_urb`) with one change:

    function candeliver(m):  return #(ack[m]) > N/2

and no failure detector. Every process relays a message the first time it sees it (its
ack) and delivers once more than half of the processes have relayed it. Among any
majority that acked, at least one process is correct and will have relayed the message to
everyone, so whoever delivers, every correct process eventually delivers too (uniform
agreement). This assumes a majority of correct processes: if half the cluster or more
crashes, the survivors stop delivering (safely) rather than risk disagreement. Unlike
all-ack, it keeps delivering when the detector is only eventually perfect, or absent.

Restarts change nothing here: a process counts once in ``ack[m]`` whatever its
incarnation. Memory is bounded as in all-ack: per-message state lives until the local
delivery, then a watermark per origin incarnation filters the remaining relays.
"""

from __future__ import annotations

from netweave import Crashed, PeerRestarted, hookimpl

from .all_ack_urb import AllAckUniformReliableBroadcast, Pending


class MajorityAckUniformReliableBroadcast(AllAckUniformReliableBroadcast):
    """Uniform reliable broadcast: deliver once a majority has relayed (no detector)."""

    name = "majority-ack-urb"
    requires = ("best-effort-broadcast",)
    default = False

    @staticmethod
    @hookimpl
    def netweave_specs() -> list[type]:
        from .spec import UniformReliableBroadcastSpec

        return [UniformReliableBroadcastSpec]

    def can_deliver(self, entry: Pending) -> bool:
        """candeliver(m): more than half of the processes have acked ``m``."""
        return len(entry.acks) > len(self.ctx.members) // 2

    def on_crash(self, event: Crashed) -> None:
        """Crashes do not matter to a majority (and a detector, if any, is ignored)."""

    def on_peer_restart(self, event: PeerRestarted) -> None:
        """A restarted process's earlier ack still counts once; nothing to do."""
