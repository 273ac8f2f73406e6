"""The simulated network: latency, loss, duplication, reordering and partitions.

Every random choice comes from the simulation's seeded source, so a seed fixes the whole
run. Partitions are sets of blocked *directed* pairs: a symmetric partition blocks both
directions, a one-way partition only one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ..errors import ConfigurationError
from . import _draw

__all__ = ["Latency", "NetworkModel"]

_DISTS = ("constant", "uniform", "exponential", "lognormal")


@attrs.frozen
class Latency:
    """A one-way latency distribution, in seconds."""

    dist: str = attrs.field(default="uniform")
    """``constant`` (``low``), ``uniform`` (``low``..``high``), ``exponential`` (``low`` +
    mean ``mean``) or ``lognormal`` (``low`` + lognormal with median ``mean``)."""
    low: float = 0.001
    high: float = 0.010
    mean: float = 0.005

    def __attrs_post_init__(self) -> None:
        if self.dist not in _DISTS:
            raise ConfigurationError(f"latency dist {self.dist!r}: choose one of {_DISTS}")
        if self.low < 0 or self.high < self.low or self.mean <= 0:
            raise ConfigurationError(f"invalid latency {self}: need 0 <= low <= high, mean > 0")

    @classmethod
    def from_value(cls, value: Any) -> Latency:
        """Accept a Latency, a number (constant), or a mapping (from TOML)."""
        if isinstance(value, Latency):
            return value
        if isinstance(value, int | float):
            return cls("constant", float(value), float(value))
        if isinstance(value, dict):
            try:
                return cls(**value)
            except TypeError as exc:
                raise ConfigurationError(f"invalid latency {value!r}: {exc}") from None
        raise ConfigurationError(f"invalid latency {value!r}")

    def sample(self, rng: random.Random) -> float:
        """Draw one latency."""
        return _draw.latency(self, rng)


def _latency(value: Any) -> Latency:
    return Latency.from_value(value)


def _probability(name: str) -> Any:
    def check(_: Any, __: Any, value: float) -> None:
        if not 0.0 <= value < 1.0:
            raise ConfigurationError(f"{name} must be a probability in [0, 1), not {value!r}")

    return check


def _changed(model: NetworkModel, attribute: attrs.Attribute[Any], value: Any) -> Any:
    model.version += 1
    return value


@attrs.define(on_setattr=[attrs.setters.convert, attrs.setters.validate, _changed])
class NetworkModel:
    """How the simulated network treats each link message."""

    latency: Latency = attrs.field(factory=Latency, converter=_latency)
    """One-way latency distribution."""
    loss: float = attrs.field(default=0.0, validator=_probability("loss"))
    """Probability that a message is dropped."""
    duplicate: float = attrs.field(default=0.0, validator=_probability("duplicate"))
    """Probability that a message is delivered twice."""
    reorder: float = attrs.field(default=0.0, validator=_probability("reorder"))
    """Probability that a message is held back (extra delay up to ``reorder_delay``)."""
    reorder_delay: float = 0.05
    """Maximum extra delay of a held-back message, seconds."""
    blocked: set[tuple[str, str]] = attrs.field(factory=set)
    """Directed pairs (from, to) currently partitioned."""
    version: int = attrs.field(default=0, init=False, eq=False, repr=False,
                               on_setattr=attrs.setters.NO_OP)
    """Counts the changes of the fields above (setting one, not changing ``blocked`` in
    place): the simulator reads the parameters again when it changes. An attrs subclass
    has its own ``__setattr__``, which counts nothing; the simulator then reads them for
    every message."""

    def partition(self, groups: Iterable[Iterable[str]]) -> None:
        """Symmetric partition: nodes in different groups cannot reach each other."""
        sets = [set(g) for g in groups]
        for i, a in enumerate(sets):
            for b in sets[i + 1:]:
                for x in a:
                    for y in b:
                        self.blocked.add((x, y))
                        self.blocked.add((y, x))

    def one_way(self, sources: Iterable[str], targets: Iterable[str]) -> None:
        """One-way partition: messages from ``sources`` to ``targets`` are lost."""
        for x in sources:
            for y in targets:
                self.blocked.add((x, y))

    def heal(self) -> None:
        """Remove every partition."""
        self.blocked.clear()

    def delays(self, src: str, dst: str, rng: random.Random) -> Sequence[float]:
        """The delays of the copies of one message from ``src`` to ``dst`` (none if lost).

        A subclass may override it (e.g. to hold some messages back); the simulator then
        calls it for every link message. A patch of this method or of ``Latency.sample``
        on the class applies from the next :meth:`~netweave.sim.SimCluster.run` call."""
        return _draw.Draws(self, self.latency.sample).delays(src, dst, rng)
