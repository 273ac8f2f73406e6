"""The typed facade over one node's pluggy plugin manager (node lifecycle and link hooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs

if TYPE_CHECKING:
    from .node import Node

__all__ = ["NodeHooks", "hookimpl_names"]

_HOOKIMPL_CACHE: dict[type, tuple[str, ...]] = {}


def hookimpl_names(cls: type) -> tuple[str, ...]:
    """Names of the node hooks ``cls`` implements (discovery hooks are not node hooks)."""
    found = _HOOKIMPL_CACHE.get(cls)
    if found is None:
        marker = f"{hookspecs.PROJECT}_impl"
        found = tuple(name for name in dir(cls)
                      if name.startswith(f"{hookspecs.PROJECT}_") and name not in _DISCOVERY
                      and hasattr(getattr(cls, name, None), marker))
        _HOOKIMPL_CACHE[cls] = found
    return found


_DISCOVERY = frozenset({"netweave_specs"})


class NodeHooks:
    """Typed facade over a node's plugin manager.

    The manager is created on first use: most simulated nodes register no hook at all,
    and parsing the hook specifications for each of thousands of nodes would dominate.
    """

    def __init__(self) -> None:
        self._pm: pluggy.PluginManager | None = None
        self.has_link_meta = False
        self.active = False

    @property
    def pm(self) -> pluggy.PluginManager:
        if self._pm is None:
            self._pm = pluggy.PluginManager(hookspecs.PROJECT)
            self._pm.add_hookspecs(hookspecs)
        return self._pm

    def register(self, plugin: object, name: str | None = None) -> None:
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self.active = True
        hook = self.pm.hook
        self.has_link_meta = bool(hook.netweave_link_outgoing.get_hookimpls()
                                  or hook.netweave_link_incoming.get_hookimpls())

    def node_built(self, node: Node) -> None:
        if self.active:
            self.pm.hook.netweave_node_built(node=node)

    def node_started(self, node: Node) -> None:
        if self.active:
            self.pm.hook.netweave_node_started(node=node)

    def node_stopped(self, node: Node) -> None:
        if self.active:
            self.pm.hook.netweave_node_stopped(node=node)

    def link_outgoing(self, peer: str, message: Any) -> dict[str, Any] | None:
        meta: dict[str, Any] = {}
        for part in self.pm.hook.netweave_link_outgoing(peer=peer, message=message):
            if part:
                meta.update(part)
        return meta or None

    def link_incoming(self, peer: str, message: Any, meta: dict[str, Any]) -> None:
        self.pm.hook.netweave_link_incoming(peer=peer, message=message, meta=meta)
