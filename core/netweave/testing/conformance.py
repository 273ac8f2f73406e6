"""Conformance: run a plugin in the simulator over many seeds and fault mixes, check its spec.

A plugin conforms when, on every seed, the trace of a small simulated cluster running it
satisfies every property of the specs it claims (those it declares through
``netweave_specs`` plus the known specs of the abstractions it ``provides``). Each seed
draws a whole scenario from :class:`FaultMix`: cluster size, workload, crashes of a
minority, loss, duplication, reordering and a partition that heals, and ends with a
quiet period so that liveness can be judged. Scenarios are small on purpose: a thousand
seeds per plugin should take seconds, not minutes.

>>> assert_conforms("lazy-rb", seeds=range(1000))          # doctest: +SKIP
>>> failure = find_violation(MyBrokenRB, seeds=range(1000))  # doctest: +SKIP

A failure names the seed, the property and a short excerpt of the trace;
:func:`replay` runs that seed again and writes its whole trace for ``netweave check``.
"""

from __future__ import annotations

import hashlib
import random
import shlex
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._registry import Catalog
from ..check import History, Spec, SpecCatalog, Violation, specs_for
from ..errors import ConfigurationError
from ..plugin import Component
from ..sim import Fault, Scenario, Shrunk, SimCluster, default_jobs, shrink_scenario, sweep
from ..sim._links import LINK_MODELS
from ..sim._shrink import _undone
from ..trace import dumps_line

__all__ = [
    "DEFAULT_MIX",
    "DETERMINISM",
    "FAULT_KINDS",
    "HARSH_MIX",
    "LATENCY_DISTS",
    "MIXES",
    "NONE_REFUSED",
    "PARTITION_SHAPES",
    "RANDOM_MIX",
    "RESTART_MIX",
    "SAME_TRACE",
    "SIGNED_ORIGINS",
    "ConformanceError",
    "ConformanceResult",
    "FaultMix",
    "FaultProfile",
    "RandomMix",
    "SeedFailure",
    "ShrunkFailure",
    "assert_conforms",
    "assert_violates",
    "check_conformance",
    "conformance_scenario",
    "fault_kinds",
    "find_violation",
    "rechecked",
    "replay",
    "shrink",
    "shrink_violation",
    "trace_digest",
]

PluginRef = str | type[Component]


@attrs.frozen
class FaultMix:
    """How each seed's scenario is drawn: every choice below is made from the seed."""

    nodes: tuple[int, ...] = (4, 5)
    """Cluster sizes to choose from."""
    messages: tuple[int, int] = (10, 20)
    """Broadcasts per run, low and high (inclusive)."""
    max_crashes: int | None = None
    """Most nodes crashed per run; default: a minority (majority-based algorithms need it)."""
    loss: tuple[float, ...] = (0.0, 0.05, 0.1)
    """Link loss probabilities to choose from."""
    duplicate: tuple[float, ...] = (0.0, 0.05)
    """Link duplication probabilities to choose from."""
    reorder: tuple[float, ...] = (0.0, 0.2)
    """Probabilities to hold a link message back (reordering) to choose from."""
    partition: float = 0.5
    """Probability of a symmetric partition, healed within ``partition_length`` seconds."""
    partition_length: tuple[float, float] = (0.2, 0.8)
    """Shorter than detection timeouts: a delay, not a crash, to detectors assuming synchrony."""
    restart: float = 0.0
    """Probability that a crashed node restarts (a new process) a little later; give a
    quiet period longer than detectors need to notice a crash they never saw happen
    (see :data:`RESTART_MIX`)."""
    window: float = 3.0
    """Broadcasts and faults happen in [0.5, window] seconds."""
    quiet: float = 8.0
    """The liveness bound: seconds of virtual time after the last fault and the last
    broadcast, by when liveness properties must hold (the run ends there and they are
    judged). Every partition has healed and loss has stopped by then (a pause has ended
    too, in a :class:`RandomMix`), so the period is synchronous: a plugin that needs
    longer than the bound to deliver or to detect fails, as it should."""
    links: str = attrs.field(default="modelled", validator=attrs.validators.in_(LINK_MODELS))
    """How the faults reach the links (:class:`~netweave.sim.SimCluster`'s ``links``):
    ``"modelled"`` (perfect-link semantics, the faults acting on the messages: the same
    verdicts at about twice the seeds/s, see the performance page) or ``"protocol"`` (the
    perfect links' protocol over the lossy network, as ``netweave sim`` runs by default)."""

    @property
    def liveness_bound(self) -> float:
        """:attr:`quiet`, by the name of what it is."""
        return self.quiet

    def draw(self, seed: int) -> tuple[list[str], dict[str, Any], list[Fault], int]:
        """Node ids, network settings, faults and message count of ``seed``."""
        rng = random.Random(f"conformance/{seed}")
        n = rng.choice(self.nodes)
        ids = [f"n{i}" for i in range(1, n + 1)]
        most = (n - 1) // 2 if self.max_crashes is None else min(self.max_crashes, n - 1)
        network = {"loss": rng.choice(self.loss), "duplicate": rng.choice(self.duplicate),
                   "reorder": rng.choice(self.reorder)}
        faults: list[Fault] = []
        for victim in rng.sample(ids, rng.randint(0, most)):
            at = round(rng.uniform(0.5, self.window), 6)
            faults.append(Fault(at, "crash", {"node": victim}))
            if self.restart and rng.random() < self.restart:
                faults.append(Fault(round(at + rng.uniform(0.1, 1.0), 6), "restart",
                                    {"node": victim}))
        if n > 1 and rng.random() < self.partition:
            shuffled = rng.sample(ids, n)
            cut = rng.randint(1, n - 1)
            at = round(rng.uniform(0.5, self.window), 6)
            faults.append(Fault(at, "partition",
                                {"groups": [sorted(shuffled[:cut]), sorted(shuffled[cut:])]}))
            faults.append(Fault(round(at + rng.uniform(*self.partition_length), 6), "heal"))
        if network["loss"]:
            # The quiet period is a synchronous one: eventual properties need it to end.
            faults.append(Fault(self.window + self.partition_length[1], "loss",
                                {"probability": 0.0}))
        faults.sort(key=lambda f: f.at)
        return ids, network, faults, rng.randint(*self.messages)

    def profile(self, seed: int) -> FaultProfile | None:
        """The fault profile ``seed`` draws: ``None`` for a mix whose seeds share one
        (see :class:`RandomMix`)."""
        return None


DEFAULT_MIX = FaultMix()
"""Crashes of a minority, loss, duplication, reordering and healed partitions."""

RESTART_MIX = FaultMix(restart=0.5, quiet=16.0)
"""The default mix where half the crashed nodes come back as new processes. The quiet
period is longer: a restarted process never hears from a peer that crashed before it
started, and a perfect detector only watches such a peer after its ``start_grace``."""

HARSH_MIX = FaultMix(loss=(0.1, 0.3), duplicate=(0.1,), reorder=(0.5,), partition=0.9,
                     restart=0.5, quiet=20.0)
"""Up to 30% loss, heavy duplication and reordering, nearly always a partition, and
restarts: a stress mix for the rare interleavings. It can break the synchrony that a
perfect failure detector assumes (a live peer silent for longer than the timeout is
detected crashed, and the detector warns that it was wrong); a violation that follows
such a warning is the assumption's, not the layer's."""


PARTITION_SHAPES = ("none", "symmetric", "one-way")
"""The partition a random-mix seed may draw: none, a symmetric cut, or a one-way cut
(messages from one side to the other are lost, the other direction passes)."""

LATENCY_DISTS = ("uniform", "constant", "exponential", "lognormal")
"""The latency distributions a random-mix seed may draw (see :class:`~netweave.sim.Latency`)."""


@attrs.frozen
class FaultProfile:
    """The faults one seed of a :class:`RandomMix` drew: its own network and schedule.

    Everything in it comes from the seed, so the seed alone runs it again
    (``netweave conform PLUGIN --mix random --first SEED --seeds 1``)."""

    loss: float
    """Link loss probability until the network stabilizes."""
    duplicate: float
    """Link duplication probability."""
    reorder: float
    """Probability to hold a link message back."""
    latency: Mapping[str, Any]
    """The latency distribution (the fields of :class:`~netweave.sim.Latency`)."""
    partition: str
    """One of :data:`PARTITION_SHAPES`; a partition heals within the mix's
    ``partition_length``."""
    crashes: int
    """Nodes crashed (at most a minority)."""
    restarts: int
    """Crashed nodes that come back as new processes."""
    pauses: int
    """Nodes (never crashed ones) paused, each resumed within the mix's ``pause_length``."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        out = attrs.asdict(self)
        out["latency"] = dict(self.latency)
        return out

    def __str__(self) -> str:
        def count(n: int, what: str) -> str:
            return f"{n} {what}{'s' * (n != 1)}"

        partition = {"none": "no partition", "symmetric": "a symmetric partition",
                     "one-way": "a one-way partition"}[self.partition]
        return (f"loss {self.loss}, duplicate {self.duplicate}, reorder {self.reorder}, "
                f"latency {_latency_text(self.latency)}, {partition}, "
                f"{count(self.crashes, 'crash').replace('crashs', 'crashes')}, "
                f"{count(self.restarts, 'restart')}, {count(self.pauses, 'pause')}")


def _latency_text(value: Any) -> str:
    if not isinstance(value, Mapping):
        return str(value)
    dist = value.get("dist", "uniform")
    keys = {"constant": ("low",), "uniform": ("low", "high")}.get(dist, ("low", "mean"))
    return f"{dist}(" + ", ".join(f"{k} {value[k]}" for k in keys if k in value) + ")"


@attrs.frozen
class RandomMix(FaultMix):
    """A mix where each seed first draws its own :class:`FaultProfile` (loss,
    duplication, reordering, latency distribution, partition shape, crash, restart and
    pause counts), then its scenario from that profile: one campaign covers many kinds
    of network and failure instead of one.

    What every seed keeps, so that the standard plugins' assumptions hold: at most a
    minority crashes; a partition or a pause is shorter than a perfect detector's
    timeout (a delay, not a crash); paused nodes never crash; and once the faults are
    over every partition has healed, every paused node has resumed and the network no
    longer loses, for the liveness bound (``quiet``) of virtual time."""

    loss_max: float = 0.15
    """Highest loss probability drawn."""
    duplicate_max: float = 0.1
    """Highest duplication probability drawn."""
    reorder_max: float = 0.4
    """Highest reordering probability drawn."""
    calm: float = 0.3
    """Probability that each of loss, duplication and reordering is drawn as 0."""
    latencies: tuple[str, ...] = LATENCY_DISTS
    """Latency distributions to choose from (their parameters are drawn too)."""
    partitions: tuple[str, ...] = PARTITION_SHAPES
    """Partition shapes to choose from."""
    max_pauses: int = 2
    """Most nodes paused per run."""
    pause_length: tuple[float, float] = (0.1, 0.5)
    """How long a pause lasts, seconds."""
    quiet: float = 16.0
    """The liveness bound: restarted processes and detectors need the longer one of
    :data:`RESTART_MIX`."""

    def profile(self, seed: int) -> FaultProfile:
        """The fault profile ``seed`` draws."""
        return self._draw_all(seed)[0]

    def draw(self, seed: int) -> tuple[list[str], dict[str, Any], list[Fault], int]:
        _, ids, network, faults, messages = self._draw_all(seed)
        return ids, network, faults, messages

    def _draw_all(self, seed: int) -> tuple[FaultProfile, list[str], dict[str, Any],
                                            list[Fault], int]:
        rng = random.Random(f"random-mix/{seed}")
        n = rng.choice(self.nodes)
        ids = [f"n{i}" for i in range(1, n + 1)]
        most = (n - 1) // 2 if self.max_crashes is None else min(self.max_crashes, n - 1)

        def trouble(top: float) -> float:
            return 0.0 if rng.random() < self.calm else round(rng.uniform(0.0, top), 3)

        loss, duplicate, reorder = (trouble(self.loss_max), trouble(self.duplicate_max),
                                    trouble(self.reorder_max))
        latency = self._latency(rng, rng.choice(self.latencies))
        shape = rng.choice(self.partitions) if n > 1 else "none"
        crashes = rng.randint(0, most)
        restarts = rng.randint(0, crashes)
        victims = rng.sample(ids, crashes)
        survivors = [i for i in ids if i not in victims]
        paused = rng.sample(survivors, rng.randint(0, min(self.max_pauses, len(survivors))))
        profile = FaultProfile(loss, duplicate, reorder, latency, shape, crashes, restarts,
                               len(paused))
        faults: list[Fault] = []
        for i, victim in enumerate(victims):
            at = round(rng.uniform(0.5, self.window), 6)
            faults.append(Fault(at, "crash", {"node": victim}))
            if i < restarts:
                faults.append(Fault(round(at + rng.uniform(0.1, 1.0), 6), "restart",
                                    {"node": victim}))
        for node in paused:
            at = round(rng.uniform(0.5, self.window), 6)
            faults.append(Fault(at, "pause", {"node": node}))
            faults.append(Fault(round(at + rng.uniform(*self.pause_length), 6), "resume",
                                {"node": node}))
        if shape != "none":
            shuffled = rng.sample(ids, n)
            cut = rng.randint(1, n - 1)
            sides = sorted(shuffled[:cut]), sorted(shuffled[cut:])
            at = round(rng.uniform(0.5, self.window), 6)
            faults.append(Fault(at, "partition", {"groups": list(sides)}) if shape == "symmetric"
                          else Fault(at, "one-way", {"sources": sides[0], "targets": sides[1]}))
            faults.append(Fault(round(at + rng.uniform(*self.partition_length), 6), "heal"))
        if loss:
            # Loss ends once every other fault is over: the liveness bound starts there.
            end = max([self.window + self.partition_length[1]] + [f.at for f in faults])
            faults.append(Fault(round(end, 6), "loss", {"probability": 0.0}))
        faults.sort(key=lambda f: f.at)
        network = {"loss": loss, "duplicate": duplicate, "reorder": reorder,
                   "latency": latency}
        return profile, ids, network, faults, rng.randint(*self.messages)

    @staticmethod
    def _latency(rng: random.Random, dist: str) -> dict[str, Any]:
        if dist == "constant":
            low = round(rng.uniform(0.001, 0.01), 4)
            return {"dist": dist, "low": low, "high": low}
        if dist == "uniform":
            low = round(rng.uniform(0.0005, 0.002), 4)
            return {"dist": dist, "low": low, "high": round(low + rng.uniform(0.002, 0.02), 4)}
        # A tail, never a stall: P(latency > 1 s) is below 1e-14 for either.
        return {"dist": dist, "low": 0.001, "mean": round(rng.uniform(0.002, 0.02), 4)}


RANDOM_MIX = RandomMix()
"""Each seed draws its own fault profile (see :class:`RandomMix`)."""

MIXES: dict[str, FaultMix] = {"default": DEFAULT_MIX, "restart": RESTART_MIX,
                              "harsh": HARSH_MIX, "random": RANDOM_MIX}
"""The named mixes (``netweave conform --mix NAME``)."""


@attrs.frozen
class SeedFailure:
    """The first counterexample found: which seed, which property, what happened."""

    plugin: str
    seed: int
    spec: str
    layer: str
    property: str
    violation: Violation
    scenario: str
    """A one-line description of the seed's scenario."""
    profile: str = ""
    """The fault profile the seed drew (a :class:`RandomMix`), in one line."""
    kind: str = "safety"
    """The property's kind: ``"safety"`` (judged on every prefix) or ``"liveness"``
    (judged at the end of the run)."""
    stable: float | None = None
    """Virtual time from which the run was stable: its last fault and broadcast were
    over, every partition healed, every paused node resumed, no more loss."""
    bound: float | None = None
    """The liveness bound: liveness was judged this many seconds of virtual time after
    :attr:`stable` (the mix's ``quiet``)."""
    digests: tuple[str, ...] = ()
    """For a :data:`DETERMINISM` failure: the trace digests of the two runs of the seed."""

    def to_plain(self) -> dict[str, Any]:
        """Its fields as plain values (what a cluster worker sends back)."""
        out = attrs.asdict(self, recurse=False)
        out["violation"] = self.violation.as_dict()
        out["digests"] = list(self.digests)
        return out

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> SeedFailure:
        """The failure :meth:`to_plain` describes."""
        fields = dict(data)
        violation = fields.pop("violation")
        fields["digests"] = tuple(fields.get("digests", ()))
        return cls(violation=Violation(violation["message"], tuple(violation["lines"])),
                   **fields)

    def __str__(self) -> str:
        lines = [f"{self.plugin}: {self.spec} {self.property!r} violated on layer "
                 f"{self.layer} with seed {self.seed}: {self.violation.message}",
                 f"  scenario: {self.scenario}"]
        if self.profile:
            lines.append(f"  profile: {self.profile} (drawn from seed {self.seed}: the same "
                         f"mix and seed run it again)")
        if self.kind == "liveness" and self.stable is not None and self.bound is not None:
            lines.append(f"  liveness: judged at t={round(self.stable + self.bound, 6)}, the "
                         f"bound of {self.bound}s of virtual time after t={self.stable}, from when "
                         f"every partition had healed, every paused node resumed and no "
                         f"message was lost any more")
        if len(self.digests) == 2:
            lines.append(f"  digests: {self.digests[0]} (first run), {self.digests[1]} "
                         f"(second run)")
        lines += [f"  {dumps_line(dict(line))}" for line in self.violation.lines]
        lines.append(f"  replay: netweave.testing.replay({self.plugin!r}, {self.seed}, "
                     f"trace_dir='trace-{self.seed}'), then: netweave check trace-{self.seed}")
        return "\n".join(lines)


@attrs.frozen
class ConformanceResult:
    """What a conformance run found."""

    plugin: str
    specs: tuple[str, ...]
    """Names of the specs checked."""
    seeds: int
    """Seeds run (fewer than asked when a failure stopped the run)."""
    failure: SeedFailure | None
    """The first seed that violated a property, if any."""
    elapsed: float
    """Wall-clock seconds."""
    failures: tuple[SeedFailure, ...] = ()
    """Every seed that violated a property, in seed order (only the first unless the run
    was asked to keep going)."""
    workers: int = 1
    """Processes the seeds ran in: local ones, or the most workers of the Dask cluster
    seen during the run."""
    rechecked: int = 0
    """Seeds run twice to compare their trace digests (every failing one, and the
    sampled fraction ``recheck`` of the others)."""
    coverage: Mapping[str, int] = attrs.field(factory=dict)
    """For each kind of :data:`FAULT_KINDS`, how many of the seeds run had it."""

    @property
    def ok(self) -> bool:
        """Whether every seed satisfied every property."""
        return self.failure is None


class ConformanceError(AssertionError):
    """A plugin violated its specification (the message names the seed and the excerpt)."""

    def __init__(self, failure: SeedFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _resolve(plugin: PluginRef, catalog: Catalog | None) -> tuple[type[Component], Catalog]:
    if isinstance(plugin, type):
        catalog = catalog if catalog is not None else Catalog.discover(extra=[plugin])
        return catalog.resolve(plugin).cls, catalog
    catalog = catalog if catalog is not None else Catalog.discover()
    return catalog.resolve(plugin).cls, catalog


def conformance_scenario(plugin: PluginRef, seed: int, *, mix: FaultMix = DEFAULT_MIX,
                         use: Sequence[str] = (),
                         options: Mapping[str, Any] | None = None,
                         signed_origins: bool = False) -> Scenario:
    """The scenario of ``seed``: ``plugin`` (with ``options``) plus ``use``, requirements
    filled with default providers, faults and workload drawn from ``mix``; with
    ``signed_origins``, every origin signs what it broadcasts and every node checks (keys
    derived from the seed, see :class:`~netweave.sim.SimCluster`)."""
    name = plugin if isinstance(plugin, str) else plugin.name
    ids, network, faults, messages = mix.draw(seed)
    selections = [(name, dict(options or {}))] + [(u, {}) for u in use]
    scenario = Scenario(nodes=ids, selections=selections, fill="defaults", network=network,
                        faults=faults, quiet=mix.quiet, layer=name,
                        workload={"messages": messages, "start": 0.5, "window": mix.window},
                        links=mix.links,
                        signed_origins=signed_origins)
    if not stabilized(scenario):
        raise ConfigurationError(f"seed {seed} of this mix leaves a partition unhealed, a "
                                 f"node paused or the network losing after its last fault: "
                                 f"liveness cannot be judged (faults: {faults})")
    return scenario


def _describe(scenario: Scenario) -> str:
    net = ", ".join(f"{k} {_latency_text(v) if k == 'latency' else v}"
                    for k, v in scenario.network.items() if v)
    faults = ", ".join(f"{f.kind}" + (f" {f.fields['node']}" if "node" in f.fields else "")
                       + f" at {f.at}" for f in scenario.faults)
    count = len(scenario.broadcasts) + int(scenario.workload.get("messages", 0))
    signed = ", signed origins" if scenario.signed_origins else ""
    return (f"{len(scenario.nodes)} nodes, {count} broadcasts{signed}, "
            f"{net or 'reliable network'}; faults: {faults or 'none'}")


def _specs(cls: type[Component], catalog: Catalog,
           specs: Sequence[type[Spec]] | None) -> list[Spec]:
    classes = tuple(specs) if specs is not None else SpecCatalog.discover(catalog).for_plugin(cls)
    if not classes:
        raise ConfigurationError(f"plugin {cls.name!r} claims no specification: it declares "
                                 f"none (netweave_specs) and provides no abstraction that has "
                                 f"one; pass specs=[...]")
    if cls.layer is None:
        raise ConfigurationError(f"plugin {cls.name!r} has no layer: its trace lines cannot "
                                 f"be told apart")
    return [spec_cls(cls.layer) for spec_cls in classes]


def _judge(name: str | None, judges: Sequence[Spec], scenario: Scenario, seed: int,
           catalog: Catalog, only: tuple[str, str] | None = None) -> SeedFailure | None:
    """Run ``scenario`` with ``seed``; its first violation (of property ``only``, given as
    ``(spec, property)``), or ``None``. ``name``: the plugin to blame; default: the one
    that ran the violated layer."""
    return _verdict(name, judges, scenario, seed, scenario.run(seed, catalog=catalog).trace,
                    only)


def _verdict(name: str | None, judges: Sequence[Spec], scenario: Scenario, seed: int,
             trace: Sequence[Mapping[str, Any]],
             only: tuple[str, str] | None = None) -> SeedFailure | None:
    """The first violation in ``trace``, the run of ``scenario`` with ``seed`` (see
    :func:`_judge`)."""
    history = History.from_records(trace)
    for spec in judges:
        if only is None:
            found = spec.first_violation(history)
            prop, violation = (found[0], found[1]) if found is not None else (None, None)
        elif spec.name == only[0]:
            prop = next((p for p in spec.properties if p.name == only[1]), None)
            violation = next(iter(spec.violations(only[1], history)), None)
        else:
            continue
        if violation is not None and prop is not None:
            if name is None:
                name = next((str(p.layers[spec.layer]) for p in history.processes
                             if p.layers is not None and spec.layer in p.layers), "?")
            return SeedFailure(name, seed, spec.name, spec.layer, prop.name, violation,
                               _describe(scenario), kind=prop.kind,
                               stable=round(scenario.end - scenario.quiet, 6),
                               bound=scenario.quiet)
    return None


def stabilized(scenario: Scenario) -> bool:
    """Whether, once ``scenario``'s faults are over, every partition has healed, every
    paused node has resumed (or crashed) and the network no longer loses messages: the
    condition under which liveness is judged, :attr:`FaultMix.quiet` seconds of virtual
    time later."""
    losing = bool(scenario.network.get("loss"))
    for fault in scenario.faults:
        if fault.kind == "loss":
            losing = bool(fault.fields.get("probability"))
    return not losing and _undone(list(scenario.faults))


class _SeedJob:
    """One seed of a conformance run, as a picklable callable: local sweeps fork it,
    cluster sweeps send it to the workers (see :mod:`netweave.sim._distributed`), and
    both get the same plain result for the same seed."""

    def __init__(self, plugin: PluginRef, mix: FaultMix, use: Sequence[str],
                 options: Mapping[str, Any] | None, specs: Sequence[type[Spec]] | None,
                 catalog: Catalog | None = None, recheck: float = 0.0,
                 signed_origins: bool = False) -> None:
        self.recheck = recheck
        self.signed_origins = signed_origins
        self.plugin = plugin
        self.mix = mix
        self.use = tuple(use)
        self.options = dict(options or {})
        self.specs = tuple(specs) if specs is not None else None
        self._catalog = catalog
        self._prepared: tuple[type[Component], Catalog, list[Spec]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        # A catalog and specs are rebuilt where the job runs, from the plugins there.
        return {k: v for k, v in vars(self).items() if k not in ("_catalog", "_prepared")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state, _catalog=None, _prepared=None)

    def prepare(self) -> tuple[type[Component], Catalog, list[Spec]]:
        """The component class, the catalog and the judges (built once)."""
        if self._prepared is None:
            cls, catalog = _resolve(self.plugin, self._catalog)
            self._prepared = cls, catalog, _specs(cls, catalog, self.specs)
        return self._prepared

    def __call__(self, seed: int) -> dict[str, Any]:
        cls, catalog, judges = self.prepare()
        scenario = conformance_scenario(cls, seed, mix=self.mix, use=self.use,
                                        options=self.options,
                                        signed_origins=self.signed_origins)
        cluster = scenario.run(seed, catalog=catalog)
        trace = cluster.trace
        failure = _verdict(cls.name, judges, scenario, seed, trace)
        if failure is None and self.signed_origins:
            failure = _refusals(cls, seed, scenario, cluster)
        again = failure is not None or rechecked(seed, self.recheck)
        if again:
            # The same seed twice must write the same trace, or no failure can be rerun.
            first = trace_digest(trace)
            other = scenario.run(seed, catalog=catalog).trace
            second = trace_digest(other)
            if first != second:
                failure = _nondeterminism(cls, seed, scenario, trace, other, (first, second),
                                          failure)
        if failure is not None:
            profile = self.mix.profile(seed)
            if profile is not None:
                failure = attrs.evolve(failure, profile=str(profile))
        return {"failure": failure.to_plain() if failure is not None else None,
                "faults": fault_kinds(scenario), "rechecked": again}


DETERMINISM = "determinism"
"""The spec name of a failure to write the same trace twice for one seed."""

SAME_TRACE = "same trace on every run"
"""Its property."""

SIGNED_ORIGINS = "signed origins"
"""The spec name of a genuine message refused by a node checking origins (a layer that
does not sign what it broadcasts, or a relay that changed a signed message)."""

NONE_REFUSED = "no genuine message refused"
"""Its property."""


def _refusals(cls: type[Component], seed: int, scenario: Scenario,
              cluster: SimCluster) -> SeedFailure | None:
    """With signed origins and no forger, any message a node refused was genuine: a
    failure naming them (counted by the last process of each node), or ``None``."""
    refused = {node.id: dict(node.origins.dropped) for node in cluster.nodes.values()
               if node.origins is not None and node.origins.dropped}
    if not refused:
        return None
    total = sum(sum(by.values()) for by in refused.values())
    detail = "; ".join(f"{node}: " + ", ".join(f"{n} {reason}" for reason, n in sorted(by.items()))
                       for node, by in sorted(refused.items()))
    return SeedFailure(cls.name, seed, SIGNED_ORIGINS, cls.layer or "", NONE_REFUSED,
                       Violation(f"{total} genuine messages refused by their origin check "
                                 f"({detail})", ()), _describe(scenario))


def trace_digest(trace: Iterable[dict[str, Any]]) -> str:
    """The first 16 hex digits of the SHA-256 of ``trace``'s lines as written to files."""
    digest = hashlib.sha256()
    for record in trace:
        digest.update(dumps_line(record).encode() + b"\n")
    return digest.hexdigest()[:16]


def rechecked(seed: int, fraction: float) -> bool:
    """Whether a passing ``seed`` is among the ``fraction`` run twice (drawn from the
    seed: the same seeds wherever they run)."""
    return fraction > 0 and random.Random(f"recheck/{seed}").random() < fraction


def _nondeterminism(cls: type[Component], seed: int, scenario: Scenario,
                    first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]],
                    digests: tuple[str, str], failure: SeedFailure | None) -> SeedFailure:
    at = next((i for i, (a, b) in enumerate(zip(first, second, strict=False))
               if dumps_line(a) != dumps_line(b)), min(len(first), len(second)))
    lines = [t[at] for t in (first, second) if at < len(t)]
    also = (f"; the first run violated {failure.spec} {failure.property!r}"
            if failure is not None else "")
    message = (f"two runs of seed {seed} wrote different traces (digests {digests[0]} and "
               f"{digests[1]}), parting at line {at + 1}: something reads what the seed does "
               f"not fix (unseeded randomness, the wall clock, ...){also}")
    return SeedFailure(cls.name, seed, DETERMINISM, cls.layer or "", SAME_TRACE,
                       Violation(message, tuple(lines)), _describe(scenario),
                       digests=digests)


FAULT_KINDS = ("crash", "restart", "pause", "partition", "one-way", "loss", "duplicate",
               "reorder")
"""The fault kinds a campaign counts seeds of (its fault coverage)."""


def fault_kinds(scenario: Scenario) -> list[str]:
    """The kinds of :data:`FAULT_KINDS` ``scenario`` has: its scheduled faults, and the
    network's loss, duplication and reordering when not 0."""
    kinds = {f.kind for f in scenario.faults if f.kind in FAULT_KINDS and f.kind != "loss"}
    kinds |= {k for k in ("loss", "duplicate", "reorder") if scenario.network.get(k)}
    return [k for k in FAULT_KINDS if k in kinds]


def _by_value(*classes: type) -> list[type]:
    """The classes a cluster's workers cannot import (they travel with their code): those
    of a script, a test or the current directory, not of an installed distribution."""
    import importlib.metadata
    import sys

    installed = set(importlib.metadata.packages_distributions())
    out = []
    for cls in classes:
        top = cls.__module__.partition(".")[0]
        if not (top in installed or top.startswith("netweave") or top == "builtins"
                or top in sys.stdlib_module_names):
            out.append(cls)
    return out


def check_conformance(plugin: PluginRef, seeds: Iterable[int] = range(1000), *,
                      mix: FaultMix = DEFAULT_MIX, use: Sequence[str] = (),
                      options: Mapping[str, Any] | None = None,
                      specs: Sequence[type[Spec]] | None = None,
                      catalog: Catalog | None = None, jobs: int = 1,
                      progress: Callable[[int], None] | None = None,
                      keep_going: bool = False, cluster: str | Any | None = None,
                      on_workers: Callable[[int], None] | None = None,
                      chunk: int | None = None, recheck: float = 0.0,
                      max_failures: int | None = None,
                      signed_origins: bool = False) -> ConformanceResult:
    """Run ``plugin`` over ``seeds``; stop at the first seed that violates a property.

    :param plugin: a plugin name or a component class (registered for the run if needed).
    :param use: further plugins to select (e.g. a non-default failure detector).
    :param specs: check these spec classes instead of the ones the plugin claims.
    :param jobs: processes to run seeds in (0: one per CPU); the first failure reported
        is the same whatever the number.
    :param progress: called with the number of seeds judged so far, after each one.
    :param keep_going: run every seed, and report every failing one in ``failures``.
    :param cluster: the address of a running Dask scheduler (``tcp://HOST:PORT``), or a
        ``dask.distributed.Client``: the seeds run in chunks on its workers instead of
        in local processes (``jobs`` is then ignored), with the same results. Needs the
        ``cluster`` extra (``pip install 'netweave[cluster]'``); the workers need
        netweave and the plugins it selects by name installed (a component class that
        is not installed travels with its code). ``catalog`` then only applies here.
    :param on_workers: called with the number of processes or workers running seeds,
        at the start and whenever it changes.
    :param chunk: seeds per task (default: 16 locally, 32 on a cluster).
    :param recheck: the fraction of passing seeds (drawn from each seed) run a second
        time, their trace digests compared; every failing seed is. Two runs of a seed
        that write different traces are a failure of their own (spec
        :data:`DETERMINISM`, both digests in ``digests``).
    :param max_failures: with ``keep_going``, stop after this many failing seeds.
    :param signed_origins: run every seed with signed origins (every origin signs what it
        broadcasts, every node checks before a layer sees the message; keys derived from
        the seed; needs the ``secure`` extra). A seed then also fails if any node refused
        a message (spec :data:`SIGNED_ORIGINS`): nobody forges, so every message is
        genuine.
    """
    if not 0.0 <= recheck <= 1.0:
        raise ConfigurationError(f"recheck is a fraction of the seeds, from 0 to 1, not "
                                 f"{recheck}")
    cls, catalog = _resolve(plugin, catalog)
    judges = _specs(cls, catalog, specs)
    names = tuple(s.name for s in judges)
    if signed_origins:
        from ..keyring import seeded_keyrings

        seeded_keyrings(["n1"], 0)  # without the 'secure' extra, say so before any seed
    job = _SeedJob(plugin, mix, use, options, specs, catalog, recheck, signed_origins)
    job._prepared = cls, catalog, judges
    began = time.perf_counter()
    most = 0

    def seen(workers: int) -> None:
        nonlocal most
        most = max(most, workers)
        if on_workers is not None:
            on_workers(workers)

    results: Generator[tuple[int, dict[str, Any]], None, None]
    if cluster is not None:
        from ..sim._distributed import cluster_sweep

        results = cluster_sweep(job, seeds, cluster, chunk=chunk, on_workers=seen,
                                by_value=_by_value(cls, *(specs or ())))
    else:
        seen(1 if jobs == 1 else (jobs or default_jobs()))
        results = sweep(job, seeds, jobs=jobs, chunk=chunk)
    count = again = 0
    failures: list[SeedFailure] = []
    coverage = dict.fromkeys(FAULT_KINDS, 0)
    try:
        for _, outcome in results:
            count += 1
            again += outcome["rechecked"]
            for kind in outcome["faults"]:
                coverage[kind] += 1
            if progress is not None:
                progress(count)
            if outcome["failure"] is not None:
                failures.append(SeedFailure.from_plain(outcome["failure"]))
                if not keep_going or (max_failures is not None
                                      and len(failures) >= max_failures):
                    break
    finally:
        results.close()
    return ConformanceResult(cls.name, names, count, failures[0] if failures else None,
                             time.perf_counter() - began, tuple(failures), most, again,
                             coverage)


def assert_conforms(plugin: PluginRef, seeds: Iterable[int] = range(1000),
                    **kwargs: Any) -> ConformanceResult:
    """Like :func:`check_conformance`; raises :class:`ConformanceError` on a violation."""
    result = check_conformance(plugin, seeds, **kwargs)
    if result.failure is not None:
        raise ConformanceError(result.failure)
    return result


def find_violation(plugin: PluginRef, seeds: Iterable[int] = range(1000),
                   **kwargs: Any) -> SeedFailure | None:
    """The first violation of ``plugin``'s specs over ``seeds``, or ``None``."""
    return check_conformance(plugin, seeds, **kwargs).failure


def assert_violates(plugin: PluginRef, seeds: Iterable[int] = range(1000),
                    **kwargs: Any) -> SeedFailure:
    """Assert that the checker catches a (deliberately broken) plugin within ``seeds``."""
    result = check_conformance(plugin, seeds, **kwargs)
    if result.failure is None:
        raise AssertionError(f"{result.plugin}: no violation of {', '.join(result.specs)} "
                             f"found in {result.seeds} seeds")
    return result.failure


def replay(plugin: PluginRef, seed: int, *, trace_dir: str | Path | None = None,
           mix: FaultMix = DEFAULT_MIX, use: Sequence[str] = (),
           options: Mapping[str, Any] | None = None,
           catalog: Catalog | None = None, trace_messages: bool = False,
           signed_origins: bool = False) -> SimCluster:
    """Run one conformance seed again; write its trace to ``trace_dir`` if given.

    :param trace_messages: also trace every component message sent and received (see
        :class:`~netweave.sim.SimCluster`); the run is otherwise the same.
    :param signed_origins: as the run that found it (see :func:`check_conformance`).
    """
    cls, catalog = _resolve(plugin, catalog)
    cluster = conformance_scenario(cls, seed, mix=mix, use=use, options=options,
                                   signed_origins=signed_origins).run(
        seed, catalog=catalog, trace_messages=trace_messages)
    if trace_dir is not None:
        cluster.write_trace(trace_dir)
    return cluster


@attrs.frozen
class ShrunkFailure:
    """A failing seed and the smallest scenario found that fails the same way."""

    original: SeedFailure
    """The violation of the seed as drawn from the mix."""
    failure: SeedFailure
    """The same property violated by :attr:`scenario` (its ``scenario`` field says how
    small it is)."""
    shrunk: Shrunk
    """The search: the scenario, the seed, the number of runs."""
    plugins: tuple[str, ...] = ()
    """``module:Class`` of each selected component that is not installed, which
    ``netweave sim`` needs as ``--plugin`` (``MODULE`` when the class is in a script)."""

    @property
    def scenario(self) -> Scenario:
        """The smallest failing scenario found (run it with :attr:`seed`)."""
        return self.shrunk.scenario

    @property
    def seed(self) -> int:
        """The seed to run :attr:`scenario` with."""
        return self.shrunk.seed

    def command(self, path: str) -> str:
        """The ``netweave sim`` command that runs the scenario written to ``path``."""
        return " ".join([f"netweave sim {path} --seed {self.seed}",
                         *(f"--plugin {shlex.quote(ref)}" for ref in self.plugins)])

    def to_toml(self) -> str:
        """The scenario as a file, its header saying what it shows and how to run it."""
        f = self.failure
        header = (f"{f.plugin}: {f.spec} {f.property!r} violated with seed {f.seed}: "
                  f"{f.violation.message}\n"
                  f"shrunk from {self.shrunk.original.summary()} with seed "
                  f"{self.original.seed} in {self.shrunk.runs} runs\n"
                  f"{self.command('THIS.toml')} --trace-dir t --trace-messages; "
                  f"netweave check t; netweave timeline t")
        return self.scenario.to_toml(header=header)


def shrink(plugin: PluginRef, seed: int, *, mix: FaultMix = DEFAULT_MIX,
           use: Sequence[str] = (), options: Mapping[str, Any] | None = None,
           specs: Sequence[type[Spec]] | None = None, catalog: Catalog | None = None,
           seeds: int = 8, max_runs: int = 1000,
           progress: Callable[[int, Scenario], None] | None = None,
           signed_origins: bool = False) -> ShrunkFailure:
    """Shrink a failing conformance seed to a smaller scenario that violates the same
    property (see :func:`~netweave.sim.shrink_scenario`).

    :param seed: a seed that fails (``failure.seed`` of :func:`find_violation`), with the
        same ``mix``, ``use``, ``options`` and ``specs`` as the run that found it.
    :param seeds: seeds to try each smaller scenario with (the result names the one it
        fails with), as for :func:`~netweave.sim.shrink_scenario`.
    :param max_runs: the most runs.
    :param progress: called after each run with the count so far and the smallest
        failing scenario yet.
    :param signed_origins: as the run that found it (the shrunk scenario keeps it).
    :raises ConfigurationError: if ``seed`` violates no property.
    """
    cls, catalog = _resolve(plugin, catalog)
    judges = _specs(cls, catalog, specs)
    scenario = conformance_scenario(cls, seed, mix=mix, use=use, options=options,
                                    signed_origins=signed_origins)
    found = _shrink(cls.name, judges, scenario, seed, catalog, seeds=seeds, max_runs=max_runs,
                    progress=progress)
    if found is None:
        raise ConfigurationError(f"{cls.name}: seed {seed} of this mix violates no property "
                                 f"of {', '.join(s.name for s in judges)}; nothing to shrink")
    return found


def shrink_violation(scenario: Scenario, seed: int, *, catalog: Catalog | None = None,
                     specs: Sequence[Spec] | None = None, seeds: int = 8, max_runs: int = 1000,
                     progress: Callable[[int, Scenario], None] | None = None,
                     ) -> ShrunkFailure | None:
    """Shrink a scenario whose run with ``seed`` violates a property, as ``netweave check``
    judges its trace, to a smaller one that violates the same property.

    :param specs: judge with these spec instances; default: the specs of every layer in
        the trace, as ``netweave check`` finds them.
    :returns: ``None`` if the run violates no property.

    The other parameters are those of :func:`shrink`.
    """
    catalog = catalog if catalog is not None else Catalog.discover()
    if specs is None:
        history = History.from_records(scenario.run(seed, catalog=catalog).trace)
        specs = specs_for(history, SpecCatalog.discover(catalog))[0]
    return _shrink(None, specs, scenario, seed, catalog, seeds=seeds, max_runs=max_runs,
                   progress=progress)


def _shrink(name: str | None, judges: Sequence[Spec], scenario: Scenario, seed: int,
            catalog: Catalog, *, seeds: int, max_runs: int,
            progress: Callable[[int, Scenario], None] | None) -> ShrunkFailure | None:
    original = _judge(name, judges, scenario, seed, catalog)
    if original is None:
        return None
    only = (original.spec, original.property)

    def fails(variant: Scenario, seed: int) -> bool:
        return _judge(name, judges, variant, seed, catalog, only) is not None

    shrunk = shrink_scenario(scenario, seed, fails, catalog=catalog, seeds=seeds,
                             max_runs=max_runs, progress=progress)
    failure = _judge(name, judges, shrunk.scenario, shrunk.seed, catalog, only)
    assert failure is not None, "the shrunk scenario passed its last run but not this one"
    return ShrunkFailure(original, failure, shrunk, _not_installed(shrunk.scenario, catalog))


def _not_installed(scenario: Scenario, catalog: Catalog) -> tuple[str, ...]:
    refs = []
    for name, _ in scenario.selections:
        info = catalog.plugins.get(name)
        if info is not None and info.distribution == "(registered)":
            cls = info.cls
            module = "MODULE" if cls.__module__ == "__main__" else cls.__module__
            refs.append(f"{module}:{cls.__qualname__}")
    return tuple(refs)
