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
        d = self.dist
        if d == "uniform":  # rng.uniform, inline: the draw of every message
            return self.low + (self.high - self.low) * rng.random()
        if d == "constant":
            return self.low
        if d == "exponential":
            return self.low + rng.expovariate(1.0 / self.mean)
        return self.low + rng.lognormvariate(0.0, 0.5) * self.mean


def _latency(value: Any) -> Latency:
    return Latency.from_value(value)


def _probability(name: str) -> Any:
    def check(_: Any, __: Any, value: float) -> None:
        if not 0.0 <= value < 1.0:
            raise ConfigurationError(f"{name} must be a probability in [0, 1), not {value!r}")

    return check


@attrs.define(on_setattr=[attrs.setters.convert, attrs.setters.validate])
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

        The simulator calls it for every link message: a subclass may override it (e.g.
        to hold some messages back), and a change of any field applies to the next one."""
        if self.blocked and (src, dst) in self.blocked:
            return ()
        if self.loss and rng.random() < self.loss:
            return ()
        latency = self.latency
        delay = latency.sample(rng)
        if self.reorder and rng.random() < self.reorder:
            delay += rng.uniform(0.0, self.reorder_delay)
        if self.duplicate and rng.random() < self.duplicate:
            return (delay, latency.sample(rng))
        return (delay,)
