"""Plugin discovery and ordering.

Theory of operation: the :class:`Catalog` lists the installed plugins, found through the
``netweave`` entry-point group (unless ``NETWEAVE_DISABLE_PLUGIN_AUTOLOAD`` is set) plus
classes registered directly. :func:`plan` turns the user's selections into an ordered list
of (plugin, options): it resolves each selection (plugin name, layer name or abstraction),
validates options, fills missing requirements (with ``implicit`` plugins only, or with
every abstraction's default provider, or not at all), refuses two providers of one
abstraction, and orders the result with :mod:`graphlib` so that every plugin starts after
the plugins it requires. Every failure raises a :class:`~netweave.errors.PluginError`
subclass whose message names the plugin, what it lacks and what would provide it; all of
this happens before any socket opens.
"""

from __future__ import annotations

import difflib
import graphlib
import os
import warnings
from collections.abc import Hashable, Iterable, Mapping
from importlib import metadata
from typing import Any, Literal

import attrs

from .errors import (
    AmbiguousProviderError,
    DependencyCycleError,
    InvalidOptionError,
    MissingRequirementError,
    PluginError,
    StackWarning,
    UnknownPluginError,
)
from .plugin import Component

__all__ = [
    "AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "Catalog",
    "PluginInfo",
    "Selection",
    "plan",
    "register_plugin",
]

ENTRY_POINT_GROUP = "netweave"
AUTOLOAD_ENV = "NETWEAVE_DISABLE_PLUGIN_AUTOLOAD"
Fill = Literal["none", "implicit", "defaults"]

_REGISTERED: list[type[Component]] = []


def register_plugin(cls: type[Component]) -> type[Component]:
    """Make ``cls`` available to every node of this process, as if installed.

    For tests and notebooks; usable as a class decorator.
    """
    if not (isinstance(cls, type) and issubclass(cls, Component)):
        raise TypeError(f"{cls!r} is not a netweave Component subclass")
    if cls not in _REGISTERED:
        _REGISTERED.append(cls)
    return cls


@attrs.frozen
class PluginInfo:
    """What is known of one installed plugin."""

    cls: type[Component]
    """The component class."""
    distribution: str
    """The distribution that installed it, or ``"(registered)"``."""
    version: str
    """That distribution's version."""

    @property
    def name(self) -> str:
        """The plugin name."""
        return self.cls.name

    @property
    def provides(self) -> tuple[str, ...]:
        """Abstractions it provides."""
        return self.cls.provides

    @property
    def requires(self) -> tuple[str, ...]:
        """Abstractions it requires."""
        return self.cls.requires

    def options(self) -> list[dict[str, Any]]:
        """Its options: name, default and documentation, in declaration order."""
        out = []
        for f in attrs.fields(self.cls.Options):
            default = f.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            out.append({"name": f.name, "default": default, "doc": f.metadata.get("doc", "")})
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (``netweave plugins --json``)."""
        return {
            "name": self.name,
            "provides": list(self.provides),
            "requires": list(self.requires),
            "layer": self.cls.layer,
            "default": self.cls.default,
            "implicit": self.cls.implicit,
            "distribution": self.distribution,
            "version": self.version,
            "class": f"{self.cls.__module__}:{self.cls.__qualname__}",
            "options": self.options(),
        }


@attrs.frozen
class Selection:
    """One ``node.use(...)`` call: what the user asked for and with which options."""

    selector: str | type[Component]
    """A plugin name, layer name, abstraction name, or a component class."""
    options: Mapping[str, Any] = attrs.field(factory=dict)
    """Option values given by the user."""


@attrs.define(eq=False)
class Catalog:
    """The installed plugins: entry points of the ``netweave`` group + registered classes."""

    plugins: dict[str, PluginInfo] = attrs.field(factory=dict)
    """Plugins by name."""
    _plans: dict[Hashable, tuple[list[tuple[PluginInfo, Mapping[str, Any]]],
                                 tuple[str, ...]]] = attrs.field(
        factory=dict, init=False, repr=False)
    """Resolved plans by selection (a simulation builds the same node thousands of times),
    each with the warnings of what its stack lacks, given again on every use."""

    @classmethod
    def discover(cls, *, autoload: bool | None = None,
                 extra: Iterable[type[Component]] = ()) -> Catalog:
        """Build the catalog of this environment.

        :param autoload: load entry points; default: unless ``NETWEAVE_DISABLE_PLUGIN_AUTOLOAD``
            is set to a non-empty value.
        :param extra: component classes to add, as :func:`register_plugin` does.
        """
        if autoload is None:
            autoload = not os.environ.get(AUTOLOAD_ENV)
        key = (autoload, tuple(_REGISTERED), tuple(extra))
        base = _DISCOVERED.get(key)
        if base is None:
            base = cls()
            if autoload:
                for loaded, dist, version, name in _entry_point_plugins():
                    base.add(loaded, distribution=dist, version=version, entry_name=name)
            for klass in key[1] + key[2]:
                if klass.name not in base.plugins or base.plugins[klass.name].cls is not klass:
                    base.add(klass)
            _remember(_DISCOVERED, key, base, _MAX_CATALOGS)
        # A copy: callers may add classes to theirs. Copies share resolved plans until one
        # of them changes (add() gives it its own).
        catalog = cls(plugins=dict(base.plugins))
        catalog._plans = base._plans
        return catalog

    def add(self, klass: Any, *, distribution: str = "(registered)", version: str = "0",
            entry_name: str | None = None) -> PluginInfo:
        """Add one component class; a second class under the same name is an error."""
        if not (isinstance(klass, type) and issubclass(klass, Component)):
            raise PluginError(
                f"entry point {entry_name!r} names {klass!r}, which is not a Component class"
            )
        if not klass.name:
            raise PluginError(f"{klass.__module__}.{klass.__qualname__} has no plugin name")
        if entry_name is not None and entry_name != klass.name:
            raise PluginError(
                f"entry point {entry_name!r} names plugin {klass.name!r}; they must match"
            )
        known = self.plugins.get(klass.name)
        if known is not None and known.cls is not klass:
            raise PluginError(
                f"two plugins are named {klass.name!r}: "
                f"{_qual(known.cls)} ({known.distribution}) and {_qual(klass)} ({distribution})"
            )
        info = PluginInfo(klass, distribution, version)
        self.plugins[klass.name] = info
        self._plans = {}
        return info

    def providers(self, abstraction: str) -> list[PluginInfo]:
        """Installed plugins that provide ``abstraction``, by name."""
        return sorted((p for p in self.plugins.values() if abstraction in p.provides),
                      key=lambda p: p.name)

    def default_provider(self, abstraction: str) -> PluginInfo | None:
        """The provider used when nobody chose one: the only one, or the one marked default."""
        found = self.providers(abstraction)
        if len(found) == 1:
            return found[0]
        defaults = [p for p in found if p.cls.default]
        return defaults[0] if len(defaults) == 1 else None

    def abstraction_of_layer(self, layer: str) -> str | None:
        """The abstraction a short layer name stands for (``"urb"`` -> its abstraction)."""
        for p in sorted(self.plugins.values(), key=lambda p: (not p.cls.default, p.name)):
            if p.cls.layer == layer and p.provides:
                return p.provides[0]
        return None

    def resolve(self, selector: str | type[Component]) -> PluginInfo:
        """Find the plugin a user means by a name, a layer, an abstraction or a class."""
        if isinstance(selector, type):
            if selector.name in self.plugins and self.plugins[selector.name].cls is selector:
                return self.plugins[selector.name]
            return self.add(selector)
        if selector in self.plugins:
            return self.plugins[selector]
        abstraction = self.abstraction_of_layer(selector) or selector
        if self.providers(abstraction):
            found = self.default_provider(abstraction)
            if found is None:
                names = ", ".join(p.name for p in self.providers(abstraction))
                raise AmbiguousProviderError(
                    f"{selector!r} is provided by several plugins ({names}) and none is the "
                    f"default; select one of them by name"
                )
            return found
        raise UnknownPluginError(self._unknown_message(selector))

    def _unknown_message(self, selector: str) -> str:
        words = set(self.plugins)
        for p in self.plugins.values():
            words.update(p.provides)
            if p.cls.layer:
                words.add(p.cls.layer)
        close = difflib.get_close_matches(selector, sorted(words), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        installed = ", ".join(sorted(self.plugins)) or "none"
        return f"no plugin, layer or abstraction named {selector!r}{hint} (installed: {installed})"


_EP_CACHE: list[tuple[Any, str, str, str]] | None = None
_DISCOVERED: dict[Hashable, Catalog] = {}
_MAX_CATALOGS = 16
"""Discovered catalogs kept, one per set of registered and extra classes."""
_MAX_PLANS = 256
"""Resolved plans kept per catalog, one per distinct selection (options included)."""


def _remember(cache: dict[Any, Any], key: Hashable, value: Any, limit: int) -> None:
    """Keep ``value`` under ``key``, dropping the oldest entries beyond ``limit``: a
    process that builds nodes from ever new options or classes (a parameter sweep, a
    notebook) must not grow without bound."""
    cache[key] = value
    while len(cache) > limit:
        del cache[next(iter(cache))]


def _entry_point_plugins() -> list[tuple[Any, str, str, str]]:
    """Load the ``netweave`` entry points once per process (scanning them is slow)."""
    global _EP_CACHE
    if _EP_CACHE is None:
        found = []
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                loaded = ep.load()
            except Exception as exc:  # a broken third-party plugin must be named
                raise PluginError(
                    f"plugin entry point {ep.name!r} ({ep.value}) failed to load: {exc}"
                ) from exc
            dist = ep.dist.name if ep.dist is not None else "(unknown)"
            version = ep.dist.version if ep.dist is not None else "0"
            found.append((loaded, dist, version, ep.name))
        _EP_CACHE = found
    return _EP_CACHE


def forget_entry_points() -> None:
    """Scan the entry points again on the next discovery (after installing a plugin)."""
    global _EP_CACHE
    _EP_CACHE = None
    _DISCOVERED.clear()


def _qual(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def make_options(info: PluginInfo, given: Mapping[str, Any]) -> Any:
    """Validate ``given`` against the plugin's ``Options`` class and build it."""
    opts_cls = info.cls.Options
    names = [f.name for f in attrs.fields(opts_cls)]
    for key in given:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            valid = ", ".join(names) or "none"
            raise InvalidOptionError(
                f"plugin {info.name!r} has no option {key!r}{hint} (its options: {valid})"
            )
    try:
        return opts_cls(**given)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(f"plugin {info.name!r}: invalid options {dict(given)}: {exc}") \
            from exc


def plan(catalog: Catalog, selections: Iterable[Selection], *,
         fill: Fill = "implicit") -> list[tuple[PluginInfo, Any]]:
    """Resolve, validate, complete and order the selected plugins.

    :param fill: how to satisfy requirements nobody selected: ``"none"`` (fail),
        ``"implicit"`` (add plugins marked ``implicit``, such as best-effort broadcast),
        ``"defaults"`` (add each abstraction's default provider).
    :returns: (plugin, options) pairs in start order.
    """
    selections = list(selections)
    key = _plan_key(selections, fill)
    cached = catalog._plans.get(key) if key is not None else None
    if cached is not None:
        # Checked when cached: only build each node its own options object (validators
        # run), and warn again of what the stack lacks (each plan tells its caller).
        entries, warned = cached
        for message in warned:
            warnings.warn(message, StackWarning, stacklevel=2)
        return [(info, info.cls.Options(**given)) for info, given in entries]
    chosen: dict[str, tuple[PluginInfo, Any]] = {}
    given: dict[str, Mapping[str, Any]] = {}
    for sel in selections:
        info = catalog.resolve(sel.selector)
        if info.name in chosen:
            raise PluginError(f"plugin {info.name!r} is selected twice")
        chosen[info.name] = (info, make_options(info, sel.options))
        given[info.name] = dict(sel.options)  # the cache must not see later changes

    provider: dict[str, str] = {}

    def claim(info: PluginInfo) -> None:
        for abstraction in info.provides:
            other = provider.get(abstraction)
            if other is not None and other != info.name:
                raise AmbiguousProviderError(
                    f"plugins {other!r} and {info.name!r} both provide {abstraction!r}; "
                    f"select only one of them"
                )
            provider[abstraction] = info.name

    for info, _ in chosen.values():
        claim(info)

    pending = list(chosen)
    while pending:
        name = pending.pop(0)
        info = chosen[name][0]
        for need in info.requires:
            if need in provider:
                continue
            candidate = catalog.default_provider(need)
            allowed = candidate is not None and (
                fill == "defaults" or (fill == "implicit" and candidate.cls.implicit))
            if candidate is None or not allowed:
                raise _missing(catalog, info, need)
            chosen[candidate.name] = (candidate, make_options(candidate, {}))
            given[candidate.name] = {}
            claim(candidate)
            pending.append(candidate.name)

    lacking = [_lacking(catalog, info, need, lost) for info, _ in chosen.values()
               for need, lost in info.cls.recommends.items() if need not in provider]
    for message in lacking:
        warnings.warn(message, StackWarning, stacklevel=2)

    graph = {
        name: sorted({provider[need] for need in info.requires} - {name})
        for name, (info, _) in sorted(chosen.items())
    }
    sorter = graphlib.TopologicalSorter(graph)
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise DependencyCycleError(f"the selected plugins require each other in a cycle: {cycle}") \
            from exc
    if key is not None:
        _remember(catalog._plans, key,
                  ([(chosen[name][0], given[name]) for name in order], tuple(lacking)),
                  _MAX_PLANS)
    return [chosen[name] for name in order]


def _plan_key(selections: list[Selection], fill: str) -> Hashable | None:
    """A hashable key of a selection, or ``None`` if an option value is unhashable."""
    try:
        key = (fill, tuple((s.selector, tuple(sorted(s.options.items()))) for s in selections))
        hash(key)
    except TypeError:
        return None
    return key


def _lacking(catalog: Catalog, info: PluginInfo, need: str, lost: str) -> str:
    found = sorted(catalog.providers(need), key=lambda p: (not p.cls.default, p.name))
    names = " or ".join(repr(p.name) for p in found[:2]) or f"a plugin that provides {need!r}"
    return (f"plugin {info.name!r} over a stack without {need!r}: {lost}; "
            f"select {names} too (node.use(...), or --use)")


def _missing(catalog: Catalog, info: PluginInfo, need: str) -> MissingRequirementError:
    # The default provider first: it is the one to suggest.
    found = sorted(catalog.providers(need), key=lambda p: (not p.cls.default, p.name))
    if found:
        names = ", ".join(f"{p.name!r} ({p.distribution})" for p in found)
        hint = f"installed plugins that provide it: {names}"  # then how to add the first
    else:
        dist = info.cls.install_hints.get(need)
        hint = (f"no installed plugin provides it; install it with: pip install {dist}" if dist
                else "no installed plugin provides it; install a distribution that does")
    return MissingRequirementError(
        f"plugin {info.name!r} requires {need!r}, which no selected plugin provides; {hint}",
        plugin=info.name, abstraction=need, candidates=tuple(p.name for p in found),
        suggestion=found[0].name if found else None,
    )
