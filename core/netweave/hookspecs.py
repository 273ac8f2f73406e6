"""Every pluggy hook of netweave, in one place, grouped by when it is called.

pluggy is for wiring, the bus is for traffic: hooks run when plugins are discovered, when
a node is built, started and stopped, and when tools (``netweave check``) need what the
installed plugins know. Messages, deliveries and suspicions never go through a hook.

Hook implementations are marked with :data:`netweave.hookimpl`. Implementations of the
*discovery* hooks must be ``staticmethod``\\ s (or module functions): they are called
without any node. *Node* hooks are called on the plugin instances of one node, through
that node's own plugin manager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .node import Node

__all__ = ["hookimpl", "hookspec"]

PROJECT = "netweave"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------
# Discovery hooks: called without a node (``netweave check``, ``netweave plugins``).
# ---------------------------------------------------------------------------------------


@hookspec
def netweave_specs() -> list[Any]:
    """Return the specifications (:class:`netweave.check.Spec` classes) a plugin brings.

    Called once per tool run that checks traces. Each spec judges the trace lines of one
    or more layers. Implement it as a ``staticmethod`` on the component class.
    """
    raise NotImplementedError


# ---------------------------------------------------------------------------------------
# Node lifecycle hooks: called on the plugin instances of one node.
# ---------------------------------------------------------------------------------------


@hookspec
def netweave_node_built(node: Node) -> None:
    """Called once the node's components are instantiated and ordered, before any I/O.

    :param node: the node being built; ``node.components`` lists them in start order.
    """


@hookspec
def netweave_node_started(node: Node) -> None:
    """Called after every component has started and the transport is up."""


@hookspec
def netweave_node_stopped(node: Node) -> None:
    """Called after every component has stopped (in reverse start order)."""


# ---------------------------------------------------------------------------------------
# Link hooks: per-message metadata carried beside every link message.
# ---------------------------------------------------------------------------------------


@hookspec
def netweave_link_outgoing(peer: str, message: Any) -> dict[str, Any] | None:
    """Return fields to attach to a link message about to leave for ``peer``.

    Called for every outgoing link data message; the sending component does not know.
    Keys must be unique per plugin (prefix them with the plugin name). Return ``None``
    to attach nothing.
    """


@hookspec
def netweave_link_incoming(peer: str, message: Any, meta: dict[str, Any]) -> None:
    """Called for every link data message from ``peer`` before it reaches the bus.

    :param meta: every field attached by ``netweave_link_outgoing`` on the sender.
    """
