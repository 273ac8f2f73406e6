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
    "ConfigurationError",
    "DependencyCycleError",
    "InvalidOptionError",
    "MissingRequirementError",
    "NetweaveError",
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
    """A selected plugin requires an abstraction no selected plugin provides."""

    def __init__(self, message: str, *, plugin: str, abstraction: str,
                 candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.abstraction = abstraction
        self.candidates = candidates


class AmbiguousProviderError(PluginError):
    """Two selected plugins provide the same abstraction, or none is the default."""


class DependencyCycleError(PluginError):
    """The selected plugins' requirements form a cycle."""


class InvalidOptionError(PluginError):
    """A plugin option is unknown or has an invalid value."""


class RemoteProtocolError(NetweaveError):
    """A peer sent something the protocol does not allow (bad frame, wrong sender...)."""
