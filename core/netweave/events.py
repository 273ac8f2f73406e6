"""Events shared by the core and every plugin.

Events are frozen attrs values published on a node's :class:`~netweave.bus.Bus`. Plugins
define their own events the same way; only the ones several plugins agree on live here.
:class:`Deliver`, made once per delivery at every node, is a frozen ``msgspec.Struct``
instead (the same fields, equality, hashing and repr), which is built about five times
faster than a frozen attrs class (``benchmarks/bench_hot_path.py``).
"""

from __future__ import annotations

from typing import Any

import attrs
import msgspec

__all__ = [
    "Crashed",
    "Deliver",
    "PeerRestarted",
    "Restore",
    "Started",
    "Stopping",
    "Suspect",
]


class Deliver(msgspec.Struct, frozen=True):
    """A broadcast layer delivered a message to the application (an *indication*)."""

    layer: str
    """Short layer name, e.g. ``"urb"``."""
    id: str
    """Globally unique message id, ``"<origin>/<incarnation>/<seq>"``."""
    origin: str
    """The node that broadcast the message."""
    payload: Any
    """The application payload, as given to ``broadcast``."""


@attrs.frozen
class Crashed:
    """A perfect failure detector detected that ``peer`` crashed. Permanent."""

    peer: str
    """The crashed node's id."""


@attrs.frozen
class Suspect:
    """An eventually perfect failure detector started suspecting ``peer``."""

    peer: str
    """The suspected node's id."""


@attrs.frozen
class Restore:
    """An eventually perfect failure detector stopped suspecting ``peer``."""

    peer: str
    """The node no longer suspected."""


@attrs.frozen
class PeerRestarted:
    """The links saw ``peer`` come back with a higher incarnation (a new process)."""

    peer: str
    """The node's id."""
    incarnation: int
    """Its new incarnation."""


@attrs.frozen
class Started:
    """Published once, after every component of the node has started."""


@attrs.frozen
class Stopping:
    """Published once when the node begins a clean stop, before components stop."""
