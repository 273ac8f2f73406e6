"""netweave-clocks: Lamport and vector clocks that stamp every link message of a node.

Select them like any plugin (``node.use("lamport-clock")``, ``node.use("vector-clock")``)
and read the time through the abstraction they provide::

    node.component("logical-clock").time   # Lamport time, an int
    node.component("vector-clock").time    # vector time, {node id: count}
"""

from __future__ import annotations

from .lamport import LamportClock
from .vector import VectorClock, concurrent, happened_before, leq, merge

__version__ = "0.1.0"

__all__ = ["LamportClock", "VectorClock", "concurrent", "happened_before", "leq", "merge"]
