"""Specifications: an abstraction's properties as named predicates over a history.

A specification is a :class:`Spec` subclass. It names the abstraction it specifies and
the layers it judges by default, and declares each property as a method marked with
:func:`safety` or :func:`liveness`. A property method reads the
:class:`~netweave.check.History` and yields a :class:`Violation` (a short message and
the few trace lines that show it) for every counterexample; yielding nothing means the
property holds. :meth:`Spec.check` turns that into one :class:`PropertyResult` per
property::

    class ReliableBroadcastSpec(Spec):
        abstraction = "reliable-broadcast"
        layers = ("rb",)

        @safety("no duplication")
        def no_duplication(self, h: History) -> Iterator[Violation]:
            ...

A spec instance judges one layer: the one given to the constructor (the layer a plugin
claiming the spec ran under), else the first of ``layers``. Specs are sans-I/O like the
components that bring them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import attrs

if TYPE_CHECKING:
    from ._history import History

__all__ = ["Kind", "Property", "PropertyResult", "Spec", "Violation", "liveness", "safety"]

Kind = Literal["safety", "liveness"]
F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__netweave_property__"
MAX_EXCERPT = 6
"""Trace lines kept per violation: enough to show it, short enough to read."""


def _excerpt(lines: Iterable[Mapping[str, Any] | None]) -> tuple[Mapping[str, Any], ...]:
    """Drop missing lines (a process without a start line...), order by time, keep a few."""
    kept = sorted((line for line in lines if line is not None), key=lambda ln: ln.get("t", 0.0))
    return tuple(kept[:MAX_EXCERPT])


@attrs.frozen
class Violation:
    """One counterexample to a property."""

    message: str
    """What went wrong, in one line, naming processes as ``node#incarnation``."""
    lines: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=_excerpt)
    """The trace lines that show it, in trace order, at most ``MAX_EXCERPT``."""
    final: bool = attrs.field(default=False, kw_only=True)
    """Judged on the trace as a *finished* run (something still true at its end), so a
    longer run may withdraw it: a search that judges every prefix of a run (``netweave
    explore``) counts it only where the run may end."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {"message": self.message, "lines": [dict(line) for line in self.lines]}


@attrs.frozen
class Property:
    """A declared property of a spec: its name, kind and predicate."""

    name: str
    """Its name as the literature gives it, e.g. ``"uniform agreement"``."""
    kind: Kind
    """``"safety"`` (judged on every prefix) or ``"liveness"`` (judged at the end)."""
    attr: str
    """The method implementing it."""
    doc: str
    """The method's docstring: the property's statement."""


@attrs.frozen
class PropertyResult:
    """The verdict on one property of one spec on one layer of a trace."""

    spec: str
    """The spec class name."""
    abstraction: str
    """The abstraction the spec specifies."""
    layer: str
    """The layer judged."""
    name: str
    """The property name."""
    kind: Kind
    """Safety or liveness."""
    violations: int = 0
    """How many counterexamples were found (0: the property holds)."""
    examples: tuple[Violation, ...] = ()
    """The first few counterexamples."""

    @property
    def holds(self) -> bool:
        """Whether the property holds on this trace."""
        return self.violations == 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {"spec": self.spec, "abstraction": self.abstraction, "layer": self.layer,
                "property": self.name, "kind": self.kind, "holds": self.holds,
                "violations": self.violations,
                "examples": [v.as_dict() for v in self.examples]}

    def summary(self) -> str:
        """``holds``, or ``violated (N): <first message>``."""
        if self.holds:
            return "holds"
        return f"violated ({self.violations}): {self.examples[0].message}"


def safety(name: str) -> Callable[[F], F]:
    """Declare a safety property: something bad that must never happen."""
    return _mark(name, "safety")


def liveness(name: str) -> Callable[[F], F]:
    """Declare a liveness property: something good that must eventually happen."""
    return _mark(name, "liveness")


def _mark(name: str, kind: Kind) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        setattr(fn, _MARK, (name, kind))
        return fn

    return decorate


class Spec:
    """Base class of specifications (see the module documentation)."""

    abstraction: ClassVar[str] = ""
    """The abstraction specified, e.g. ``"uniform-reliable-broadcast"``."""
    layers: ClassVar[tuple[str, ...]] = ()
    """Layers judged when no layer is given (the standard short names)."""
    properties: ClassVar[tuple[Property, ...]] = ()
    """Every declared property, base classes' first, in declaration order."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Property] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                mark = getattr(value, _MARK, None)
                if mark is not None:
                    doc = " ".join((value.__doc__ or "").strip().split("\n\n")[0].split())
                    found[attr] = Property(mark[0], mark[1], attr, doc)
        cls.properties = tuple(found.values())

    def __init__(self, layer: str | None = None) -> None:
        if layer is None:
            if not self.layers:
                raise TypeError(f"{type(self).__name__} has no default layer; give one")
            layer = self.layers[0]
        self.layer = layer

    @property
    def name(self) -> str:
        """The spec's name (its class name)."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{self.name}(layer={self.layer!r})"

    def violations(self, prop: Property | str, history: History) -> Iterable[Violation]:
        """The counterexamples to one property (a lazy iterable)."""
        if isinstance(prop, str):
            prop = next((p for p in self.properties if prop in (p.name, p.attr)), None) \
                or _unknown(self, prop)
        found: Iterable[Violation] = getattr(self, prop.attr)(history)
        return found

    def check(self, history: History, *, examples: int = 3) -> list[PropertyResult]:
        """Judge every property; keep the first ``examples`` counterexamples of each."""
        results = []
        for prop in self.properties:
            count, kept = 0, list[Violation]()
            for violation in self.violations(prop, history):
                count += 1
                if len(kept) < examples:
                    kept.append(violation)
            results.append(PropertyResult(self.name, self.abstraction, self.layer, prop.name,
                                          prop.kind, count, tuple(kept)))
        return results

    def holds(self, history: History) -> bool:
        """Whether every property holds (stops at the first counterexample)."""
        return self.first_violation(history) is None

    def first_violation(self, history: History) -> tuple[Property, Violation] | None:
        """The first counterexample found, property by property, or ``None``."""
        for prop in self.properties:
            for violation in itertools.islice(self.violations(prop, history), 1):
                return prop, violation
        return None


def _unknown(spec: Spec, name: str) -> Property:
    names = ", ".join(p.name for p in spec.properties)
    raise KeyError(f"{spec.name} has no property {name!r} (its properties: {names})")
