"""netweave-lamport: a Lamport clock that stamps every link message of a node."""

from .lamport import LamportClock

__all__ = ["LamportClock"]
