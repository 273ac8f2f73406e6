"""The two error families of netweave.

*Local* errors (:class:`NetweaveError` subclasses other than :class:`RemoteProtocolError`)
mean local code misused the API or the configuration is wrong: they are raised at once, at
build time when possible, before any socket opens. *Remote* errors mean a peer misbehaved:
the runtime logs and counts them, closes the offending connection, and keeps serving the
correct peers. They never propagate into components.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousProviderError",
    "BackpressureError",
    "ConfigurationError",
    "DependencyCycleError",
    "FencedError",
    "HandlerError",
    "InvalidOptionError",
    "MissingRequirementError",
    "NetweaveError",
    "NodeStateError",
    "PluginError",
    "RemoteProtocolError",
    "UnknownPluginError",
]


class NetweaveError(Exception):
    """Base class of every error netweave raises on purpose."""


class ConfigurationError(NetweaveError):
    """A configuration value (file, CLI flag, constructor argument) is invalid."""


class PluginError(ConfigurationError):
    """The selected plugins cannot form a node. Raised before any I/O."""


class UnknownPluginError(PluginError):
    """No installed plugin, abstraction or layer has the requested name."""


class MissingRequirementError(PluginError):
    """A selected plugin requires an abstraction no selected plugin provides.

    With a ``suggestion`` (the plugin to add), the message ends with how to add it in
    Python, ``add one with .use('perfect-fd')``; :meth:`phrased` says it for another
    place, such as a command-line flag.
    """

    API = "add one with .use({name!r})"
    """How to add a plugin in Python (``{name}`` is the plugin)."""

    def __init__(self, message: str, *, plugin: str, abstraction: str,
                 candidates: tuple[str, ...] = (), suggestion: str | None = None) -> None:
        self.reason = message
        """The message without the suggestion."""
        self.suggestion = suggestion
        """The plugin to add, if one is installed."""
        super().__init__(self.phrased(self.API))
        self.plugin = plugin
        self.abstraction = abstraction
        self.candidates = candidates

    def phrased(self, add: str) -> str:
        """The message with the suggestion phrased by ``add``: a format string where
        ``{name}`` is the plugin to add, e.g. ``"add one with --use {name}"`` on a
        command line."""
        if self.suggestion is None:
            return self.reason
        return f"{self.reason}; {add.format(name=self.suggestion)}"


class AmbiguousProviderError(PluginError):
    """Two selected plugins provide the same abstraction, or none is the default."""


class DependencyCycleError(PluginError):
    """The selected plugins' requirements form a cycle."""


class InvalidOptionError(PluginError):
    """A plugin option is unknown or has an invalid value."""


class StackWarning(UserWarning):
    """A stack that builds but lacks something a plugin needs for one of its guarantees
    (a plugin's ``recommends``); the message says what is lost and what would provide it."""


class NodeStateError(NetweaveError):
    """The node is not in a state that allows this call (e.g. broadcast before start)."""


class FencedError(NodeStateError):
    """This process was declared crashed by a peer and fenced: it can no longer take part;
    a new incarnation of the node may join (``netweave node`` starts one by itself)."""


class BackpressureError(NetweaveError):
    """The node is congested (a live peer has too many unacknowledged messages, or this
    node's own consumer is behind); wait and retry, or ``await broadcast_when_ready``."""


class HandlerError(NetweaveError):
    """A component's handler raised (only raised on a bus without an error handler, or in
    strict mode); wraps the original exception: a bug in local code."""


class RemoteProtocolError(NetweaveError):
    """A peer sent something the protocol does not allow (bad frame, wrong sender...)."""
