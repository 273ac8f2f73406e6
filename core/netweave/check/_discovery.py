"""Finding the specifications the installed plugins bring, without building any node.

Theory of operation. Specs are declared by the ``netweave_specs`` discovery hook, which
component classes implement as a ``staticmethod``::

    class LazyReliableBroadcast(Component):
        @staticmethod
        @hookimpl
        def netweave_specs() -> list[type[Spec]]:
            return [ReliableBroadcastSpec]

A :class:`SpecCatalog` builds one node-less pluggy manager. For every plugin of a
:class:`~netweave.Catalog` (standard, contrib and third-party distributions alike, and
classes registered with :func:`netweave.register_plugin`) it registers a small wrapper
holding only the class's *static* hook implementations: instance hooks need a node and
are never called here. It then calls each implementation of ``netweave_specs``
separately, so it knows which plugin declared which spec.

A plugin *claims* the specs it declares, plus every known spec of an abstraction it
``provides``; a subclass inherits its parent's declaration unless it overrides it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence

import attrs
import pluggy

from .. import hookspecs
from .._registry import Catalog, PluginInfo
from ..errors import PluginError
from ..plugin import Component
from ._spec import Spec

__all__ = ["SpecCatalog", "static_hooks"]

_HOOK_NAMES = tuple(name for name, fn in vars(hookspecs).items()
                    if name.startswith("netweave_") and callable(fn))


class _StaticHooks:
    """The static hook implementations of one component class, as a pluggy plugin."""

    def __init__(self, cls: type[Component]) -> None:
        self.cls = cls
        for name in _HOOK_NAMES:
            try:
                raw = inspect.getattr_static(cls, name)
            except AttributeError:
                continue
            if isinstance(raw, staticmethod):
                setattr(self, name, raw.__func__)

    def __repr__(self) -> str:
        return f"<static hooks of {self.cls.__module__}.{self.cls.__qualname__}>"


def static_hooks(cls: type[Component]) -> object:
    """A pluggy plugin holding only ``cls``'s static (node-less) hook implementations."""
    return _StaticHooks(cls)


@attrs.define(eq=False)
class SpecCatalog:
    """Which plugin declared which specs, and what every installed plugin claims."""

    catalog: Catalog
    """The plugins the specs were collected from."""
    declared: dict[str, tuple[type[Spec], ...]] = attrs.field(factory=dict)
    """Specs each plugin declared, by plugin name."""
    extra: tuple[type[Spec], ...] = ()
    """Specs given directly (not declared by any plugin)."""

    @classmethod
    def discover(cls, catalog: Catalog | None = None, *,
                 plugins: Iterable[object] = (),
                 specs: Sequence[type[Spec]] = ()) -> SpecCatalog:
        """Collect specs from every plugin of ``catalog`` (default: the installed ones).

        :param plugins: extra pluggy plugins (objects or modules) implementing
            ``netweave_specs``, for specs that come without a component.
        :param specs: extra spec classes.
        """
        catalog = catalog if catalog is not None else Catalog.discover()
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        for name in sorted(catalog.plugins):
            pm.register(static_hooks(catalog.plugins[name].cls), name=f"plugin:{name}")
        for i, obj in enumerate(plugins):
            pm.register(obj, name=f"extra:{i}")
        pm.check_pending()
        found = cls(catalog, extra=tuple(specs))
        loose: list[type[Spec]] = []
        for impl in pm.hook.netweave_specs.get_hookimpls():
            name = impl.plugin_name
            result = impl.function()
            declared = tuple(_validate(name, result))
            if name.startswith("plugin:"):
                found.declared[name.removeprefix("plugin:")] = declared
            else:
                loose.extend(declared)
        found.extra = _unique([*found.extra, *loose])
        return found

    def all(self) -> tuple[type[Spec], ...]:
        """Every known spec class, once each."""
        return _unique([*(s for specs in self.declared.values() for s in specs), *self.extra])

    def for_plugin(self, plugin: str | type[Component] | PluginInfo) -> tuple[type[Spec], ...]:
        """The specs a plugin claims: its declared ones, then those of what it provides."""
        if isinstance(plugin, PluginInfo):
            plugin = plugin.cls
        if isinstance(plugin, str):
            info = self.catalog.plugins.get(plugin)
            if info is None:
                return ()
            plugin = info.cls
        info = self.catalog.plugins.get(plugin.name)
        if info is not None and info.cls is plugin:
            declared = self.declared.get(plugin.name, ())
        else:  # a class outside the catalog: ask it directly
            declared = tuple(_validate(plugin.name, _call_static(plugin)))
        provided = [s for s in self.all() if s.abstraction and s.abstraction in plugin.provides]
        return _unique([*declared, *provided])

    def for_layer(self, layer: str) -> tuple[type[Spec], ...]:
        """Specs for a layer when the trace does not say which plugin ran it.

        The specs claimed by the layer's default (or only) installed provider; failing
        that, every known spec whose default layers include ``layer``.
        """
        providers = [p for p in self.catalog.plugins.values() if p.cls.layer == layer]
        chosen = [p for p in providers if p.cls.default] if len(providers) > 1 else providers
        if len(chosen) == 1:
            specs = self.for_plugin(chosen[0])
            if specs:
                return specs
        return tuple(s for s in self.all() if layer in s.layers)


def _call_static(cls: type[Component]) -> object:
    hooks = static_hooks(cls)
    fn = getattr(hooks, "netweave_specs", None)
    if fn is None or getattr(fn, f"{hookspecs.PROJECT}_impl", None) is None:
        return []
    return fn()


def _validate(name: str, result: object) -> list[type[Spec]]:
    if result is None:
        return []
    if not isinstance(result, list | tuple):
        raise PluginError(f"{name}: netweave_specs() must return a list of Spec classes, "
                          f"not {result!r}")
    for item in result:
        if not (isinstance(item, type) and issubclass(item, Spec)):
            raise PluginError(f"{name}: netweave_specs() returned {item!r}, "
                              f"which is not a netweave.check.Spec subclass")
    return list(result)


def _unique(specs: Iterable[type[Spec]]) -> tuple[type[Spec], ...]:
    return tuple(dict.fromkeys(specs))
