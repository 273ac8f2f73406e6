"""Bounded-exhaustive exploration of a component's runs (``netweave explore``).

Random seeds sample runs; :func:`explore` enumerates them, within a :class:`Scope`
(nodes, broadcasts, crashes, restarts, losses, the detector's kind), each state once.
The same components run unchanged: a :class:`World` steps a cluster by explicit
:class:`Choice` values over a network that is data, and the trace it writes is judged by
the specifications ``netweave check`` uses. See ``docs/guide/explore.md``.
"""

from ._detectors import ModelledEventuallyPerfectFD, ModelledPerfectFD
from ._digest import Undigestable
from ._file import Counterexample, is_counterexample
from ._search import Found, Result, explore, replay
from ._world import Choice, Packet, Scope, World

__all__ = ["Choice", "Counterexample", "Found", "ModelledEventuallyPerfectFD",
           "ModelledPerfectFD", "Packet", "Result", "Scope", "Undigestable", "World",
           "explore", "is_counterexample", "replay"]
