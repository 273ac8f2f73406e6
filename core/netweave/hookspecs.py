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

    Called once for every link data message a component of this node sends to another
    node (``ctx.send``), at the moment it is sent, whichever component sends it: the
    sending component does not know. Not called for a message a node sends to itself
    (it never crosses a link), nor for the links' own greetings and acknowledgements.
    The fields travel beside the message (``LinkData.meta``), are kept with it for every
    retransmission, and reach the receiver's :func:`netweave_link_incoming` once, when
    the perfect link delivers the message.

    Implement it as an ordinary method of a component (``@hookimpl def
    netweave_link_outgoing(self, peer, message)``): components are registered in their
    node's plugin manager, so the method sees its own instance's state. The node merges
    the dicts of every implementation, so a key must belong to one plugin (netweave-clocks
    uses ``"lamport"`` and ``"vc"``; ``"mid"`` is the node's own, for ``trace_messages``).
    Values must survive msgpack: ``None``, booleans, numbers, strings, lists and
    string-keyed dicts (a tuple arrives as a list).

    :param peer: the node the message is for.
    :param message: the message (a :class:`~netweave.Message`); do not modify it.
    :returns: fields to attach, or ``None`` to attach nothing.
    """


@hookspec
def netweave_link_incoming(peer: str, message: Any, meta: dict[str, Any]) -> None:
    """Called for every link data message from ``peer`` before it reaches the bus.

    Called once per message the perfect link delivers (duplicates and retransmissions
    are filtered first), before any component handles it: a clock merges the sender's
    time here, so the handlers of the message already run at the merged time. The
    fields come from a remote peer: check their type and ignore (and count) what does
    not fit; never raise, a bad field must not stop the node.

    :param peer: the node the message came from (authenticated by the transport).
    :param message: the message, revived into its :class:`~netweave.Message` class.
    :param meta: every field the sender's ``netweave_link_outgoing`` implementations
        attached (``{}`` when none did).
    """
