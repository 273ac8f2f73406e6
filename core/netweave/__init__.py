"""netweave: a toolbox for distributed applications built from small reactive components.

The public API lives here; everything else is an implementation detail or a submodule
with its own documented API (:mod:`netweave.sim`, :mod:`netweave.testing`,
:mod:`netweave.check`).
"""

from __future__ import annotations

from typing import Any

from ._registry import AUTOLOAD_ENV, ENTRY_POINT_GROUP, Catalog, PluginInfo, register_plugin
from ._runtime import install_front_door
from .bus import Bus, HandlerError
from .context import Context, RandomSource
from .errors import (
    AmbiguousProviderError,
    ConfigurationError,
    DependencyCycleError,
    InvalidOptionError,
    MissingRequirementError,
    NetweaveError,
    PluginError,
    RemoteProtocolError,
    StackWarning,
    UnknownPluginError,
)
from .events import Crashed, Deliver, PeerRestarted, Restore, Started, Stopping, Suspect
from .hookspecs import hookimpl
from .incarnations import Incarnations, forward_relays, rejoin_entries
from .link import LinkOptions
from .message import Message, revive
from .node import BackpressureError, FencedError, Node, NodeStateError
from .origins import OriginMessage
from .plugin import Component, NoOptions, upon, upon_deliver, upon_message


def _asyncio_front_door() -> Any:
    """The asyncio runtime, imported on first use (``await node.start()`` and friends)."""
    from .runtime import asyncio as front

    return front


install_front_door(_asyncio_front_door)

__version__ = "0.1.0"

__all__ = [
    "AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "AmbiguousProviderError",
    "BackpressureError",
    "Bus",
    "Catalog",
    "Component",
    "ConfigurationError",
    "Context",
    "Crashed",
    "Deliver",
    "DependencyCycleError",
    "FencedError",
    "HandlerError",
    "Incarnations",
    "InvalidOptionError",
    "LinkOptions",
    "Message",
    "MissingRequirementError",
    "NetweaveError",
    "NoOptions",
    "Node",
    "NodeStateError",
    "OriginMessage",
    "PeerRestarted",
    "PluginError",
    "PluginInfo",
    "RandomSource",
    "RemoteProtocolError",
    "Restore",
    "StackWarning",
    "Started",
    "Stopping",
    "Suspect",
    "UnknownPluginError",
    "forward_relays",
    "hookimpl",
    "register_plugin",
    "rejoin_entries",
    "revive",
    "upon",
    "upon_deliver",
    "upon_message",
]
