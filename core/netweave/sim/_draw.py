"""The simulated network's draws for one message, as plain functions of the model.

:class:`~netweave.sim.NetworkModel` and :class:`~netweave.sim.Latency` (attrs classes)
delegate here. When neither ``NetworkModel.delays`` nor the latency's ``sample`` is
overridden or replaced, the cluster keeps one :class:`Draws`, which holds the model's
parameters as plain attributes, until the model changes. Kept apart because this
is the simulator's hot path, which a compiled build (``hatch_build.py``) compiles with
mypyc, and mypyc does not compile attrs classes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._network import Latency, NetworkModel


def latency(lat: Latency, rng: random.Random) -> float:
    """Draw one latency from ``lat``."""
    d = lat.dist
    if d == "uniform":  # rng.uniform, inline: the simulator's hottest draw
        return lat.low + (lat.high - lat.low) * rng.random()
    if d == "constant":
        return lat.low
    if d == "exponential":
        return lat.low + rng.expovariate(1.0 / lat.mean)
    return lat.low + rng.lognormvariate(0.0, 0.5) * lat.mean


class Draws:
    """The draws of one model, its parameters read once: what
    :meth:`~netweave.sim.NetworkModel.delays` returns, from the same source.

    ``sample`` draws a latency; ``None`` draws from the model's latency with
    :func:`latency` (inline for a uniform one), which only a
    :class:`~netweave.sim.Latency` whose ``sample`` nobody replaced may do. Valid while the
    model's :attr:`~netweave.sim.NetworkModel.version` stays the same (setting any field
    changes it; partitions and heals change ``blocked`` in place)."""

    __slots__ = ("blocked", "duplicate", "latency", "loss", "low", "model", "reorder",
                 "reorder_delay", "sample", "span", "uniform", "version")

    def __init__(self, model: NetworkModel,
                 sample: Callable[[random.Random], float] | None = None) -> None:
        self.model = model
        self.version = model.version
        self.sample = sample
        self.blocked = model.blocked
        self.loss = model.loss
        self.latency = lat = model.latency
        self.uniform = lat.dist == "uniform"
        self.low = lat.low
        self.span = lat.high - lat.low
        self.reorder = model.reorder
        self.reorder_delay = model.reorder_delay
        self.duplicate = model.duplicate

    def _latency(self, rng: random.Random) -> float:
        if self.sample is not None:
            return self.sample(rng)
        if self.uniform:  # latency(), inline: the draw of every message
            return self.low + self.span * rng.random()
        return latency(self.latency, rng)

    def delays(self, src: str, dst: str, rng: random.Random) -> tuple[float, ...]:
        """The delays of the copies of one message from ``src`` to ``dst`` (none if lost)."""
        if self.blocked and (src, dst) in self.blocked:
            return ()
        if self.loss and rng.random() < self.loss:
            return ()
        delay = self._latency(rng)
        if self.reorder and rng.random() < self.reorder:
            delay += rng.uniform(0.0, self.reorder_delay)
        if self.duplicate and rng.random() < self.duplicate:
            return (delay, self._latency(rng))
        return (delay,)
