"""Campaigns: a conformance run for a number of seeds or a length of time, summarized.

A campaign is :func:`~netweave.testing.check_conformance` run to the end rather than to
the first failure, by default over the random mix (each seed its own fault profile),
with a fraction of the passing seeds rechecked for determinism, in local processes or on
a Dask cluster. It ends after a number of seeds, after a duration, or after a number of
failing seeds, and sums up what it saw: the seeds run and how fast, the failures by
property, and its fault coverage (how many seeds had each kind of fault). Each failing
seed is then shrunk (:func:`~netweave.testing.shrink`), where the seeds ran, to the
smallest scenario found that fails the same way.

>>> result = run_campaign("lazy-rb", seeds=10_000, jobs=0)      # doctest: +SKIP
>>> print(result.text())                                       # doctest: +SKIP

``netweave campaign`` runs one from the command line and keeps, for each failing seed,
its shrunk scenario and the view of its run.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from .._registry import Catalog
from ..check import Spec
from ..errors import ConfigurationError
from ..sim import Scenario, sweep
from .conformance import (
    DETERMINISM,
    FAULT_KINDS,
    MIXES,
    RANDOM_MIX,
    FaultMix,
    PluginRef,
    SeedFailure,
    _by_value,
    _resolve,
    check_conformance,
    shrink,
)

__all__ = ["CampaignFailure", "CampaignResult", "run_campaign"]

TIMING = ("elapsed", "seeds_per_second", "workers", "where")
"""The summary's keys that depend on the machine, not on the seeds: two runs of the same
seeds have equal summaries but for these."""


@attrs.frozen
class CampaignFailure:
    """A failing seed of a campaign, and what shrinking it found."""

    failure: SeedFailure
    """The seed's failure, as the campaign saw it."""
    shrunk_toml: str | None = None
    """The shrunk scenario as a file (``None``: not shrunk)."""
    shrunk_seed: int | None = None
    """The seed the shrunk scenario fails with."""
    shrunk_summary: str = ""
    """Its size in a few words (nodes, broadcasts, faults)."""
    shrunk_runs: int = 0
    """Runs the search took."""
    note: str = ""
    """Why it was not shrunk, when it was not."""

    def shrunk_scenario(self) -> Scenario | None:
        """The shrunk scenario, read back from its file."""
        import tomllib

        if self.shrunk_toml is None:
            return None
        return Scenario.from_dict(tomllib.loads(self.shrunk_toml))


@attrs.frozen
class CampaignResult:
    """What a campaign found (see the module documentation)."""

    plugin: str
    specs: tuple[str, ...]
    mix: str
    """The mix's name (``custom`` for a mix of your own)."""
    first: int
    """The first seed; the campaign ran ``first`` .. ``first + seeds - 1``."""
    seeds: int
    """Seeds run."""
    stopped: str
    """Why it ended: ``"seeds"``, ``"duration"`` or ``"failures"``."""
    elapsed: float
    """Wall-clock seconds of the sweep (shrinking not included)."""
    workers: int
    """Processes, or the most cluster workers seen."""
    where: str
    """``local`` or ``cluster ADDRESS``."""
    recheck: float
    """The fraction of passing seeds rechecked for determinism."""
    rechecked: int
    """Seeds run twice (every failing one, and the sample)."""
    coverage: Mapping[str, int]
    """For each fault kind, how many seeds had it."""
    failures: tuple[CampaignFailure, ...]
    """Every failing seed, in seed order."""

    @property
    def ok(self) -> bool:
        """Whether no seed failed."""
        return not self.failures

    @property
    def seeds_per_second(self) -> float:
        """Seeds judged per wall-clock second."""
        return self.seeds / self.elapsed if self.elapsed > 0 else 0.0

    def by_property(self) -> dict[str, int]:
        """Failing seeds per violated property (``Spec 'property'``), most first."""
        counts: dict[str, int] = {}
        for f in self.failures:
            key = f"{f.failure.spec} {f.failure.property!r}"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def summary(self, files: Mapping[int, Mapping[str, str]] | None = None) -> dict[str, Any]:
        """The summary as plain data (JSON); ``files``: files written for failing seeds
        (seed -> {"scenario_file": ..., "view": ...}). Keys of :data:`TIMING` aside, two
        campaigns over the same seeds have the same summary, wherever they ran."""
        files = files or {}
        return {
            "plugin": self.plugin,
            "specs": list(self.specs),
            "mix": self.mix,
            "first": self.first,
            "seeds": self.seeds,
            "last": self.first + self.seeds - 1,
            "stopped": self.stopped,
            "elapsed": round(self.elapsed, 3),
            "seeds_per_second": round(self.seeds_per_second, 1),
            "workers": self.workers,
            "where": self.where,
            "recheck": self.recheck,
            "rechecked": self.rechecked,
            "failures": len(self.failures),
            "failures_by_property": self.by_property(),
            "coverage": dict(self.coverage),
            "failing_seeds": [_failing(f, files.get(f.failure.seed, {}))
                              for f in self.failures],
        }

    def text(self, files: Mapping[int, Mapping[str, str]] | None = None) -> str:
        """The summary for people."""
        files = files or {}
        last = self.first + self.seeds - 1
        ended = {"seeds": "all the seeds asked for", "duration": "the time was up",
                 "failures": "enough seeds had failed"}[self.stopped]
        plural = "s" * (self.workers != 1)
        ran = (f"local process{'es' * (self.workers != 1)}" if self.where == "local"
               else f"worker{plural} of the {self.where.replace('cluster ', 'cluster at ')}")
        lines = [f"campaign: {self.plugin} ({', '.join(self.specs)}), {self.mix} mix, "
                 f"seeds {self.first}-{last} (it ended: {ended})",
                 f"  {self.seeds:,} seeds in {self.elapsed:.1f}s: "
                 f"{self.seeds_per_second:,.0f} seeds/s, {self.workers} {ran}",
                 f"  failures: {len(self.failures)} seed{'s' * (len(self.failures) != 1)}"]
        for prop, count in self.by_property().items():
            lines.append(f"    {count:6,}  {prop}")
        lines.append(f"  determinism: {self.rechecked:,} seeds run twice (every failing one "
                     f"and {self.recheck:.0%} of the others)")
        lines.append("  fault coverage (seeds that had each kind of fault):")
        for kind in FAULT_KINDS:
            count = self.coverage.get(kind, 0)
            share = count / self.seeds if self.seeds else 0.0
            lines.append(f"    {kind:10} {count:7,}  {share:4.0%}")
        if self.failures:
            lines.append("  failing seeds:")
        for f in self.failures:
            sf = f.failure
            lines.append(f"    seed {sf.seed}: {sf.spec} {sf.property!r} ({sf.kind}): "
                         f"{sf.violation.message}")
            if sf.profile:
                lines.append(f"      profile: {sf.profile}")
            paths = files.get(sf.seed, {})
            if f.shrunk_toml is not None:
                where = f": {paths['scenario_file']}" if "scenario_file" in paths else ""
                lines.append(f"      shrunk to {f.shrunk_summary} (seed {f.shrunk_seed}, "
                             f"{f.shrunk_runs} runs){where}")
            elif f.note:
                lines.append(f"      not shrunk: {f.note}")
            if "view" in paths:
                lines.append(f"      view: {paths['view']}")
        return "\n".join(lines)


def _failing(f: CampaignFailure, paths: Mapping[str, str]) -> dict[str, Any]:
    sf = f.failure
    return {"seed": sf.seed, "spec": sf.spec, "layer": sf.layer, "property": sf.property,
            "kind": sf.kind, "message": sf.violation.message, "scenario": sf.scenario,
            "profile": sf.profile, "digests": list(sf.digests),
            "shrunk": None if f.shrunk_toml is None else {
                "seed": f.shrunk_seed, "size": f.shrunk_summary, "runs": f.shrunk_runs},
            "note": f.note, **dict(paths)}


class _ShrinkJob:
    """Shrink one failing seed (picklable: local processes fork it, cluster workers get
    it by value); returns plain values."""

    def __init__(self, plugin: PluginRef, mix: FaultMix, use: Sequence[str],
                 options: Mapping[str, Any] | None, specs: Sequence[type[Spec]] | None,
                 max_runs: int) -> None:
        self.plugin = plugin
        self.mix = mix
        self.use = tuple(use)
        self.options = dict(options or {})
        self.specs = tuple(specs) if specs is not None else None
        self.max_runs = max_runs

    def __call__(self, seed: int) -> dict[str, Any]:
        try:
            found = shrink(self.plugin, seed, mix=self.mix, use=self.use,
                           options=self.options, specs=self.specs, max_runs=self.max_runs)
        except ConfigurationError as exc:  # it passed this time: not shrinkable
            return {"note": str(exc)}
        return {"toml": found.to_toml(), "seed": found.seed,
                "size": found.scenario.summary(), "runs": found.shrunk.runs}


def run_campaign(plugin: PluginRef, *, seeds: int | None = None,
                 duration: float | None = None, first: int = 0,
                 mix: FaultMix | str = RANDOM_MIX, use: Sequence[str] = (),
                 options: Mapping[str, Any] | None = None,
                 specs: Sequence[type[Spec]] | None = None, catalog: Catalog | None = None,
                 jobs: int = 0, cluster: str | Any | None = None, recheck: float = 0.05,
                 max_failures: int | None = None, shrink_limit: int | None = None,
                 max_runs: int = 500, progress: Callable[[int], None] | None = None,
                 on_workers: Callable[[int], None] | None = None,
                 on_shrink: Callable[[int, int], None] | None = None) -> CampaignResult:
    """Run ``plugin`` over seeds ``first``, ``first + 1``, ... until ``seeds`` have run or
    ``duration`` wall-clock seconds have passed (whichever comes first; one is needed),
    then shrink its failing seeds.

    :param mix: a mix, or the name of one (:data:`~netweave.testing.MIXES`).
    :param jobs: local processes (0: one per CPU), unless ``cluster`` is given.
    :param cluster: a Dask scheduler's address or client; the seeds and the shrinking
        run on its workers (see :func:`~netweave.testing.check_conformance`).
    :param recheck: the fraction of passing seeds rechecked for determinism.
    :param max_failures: stop after this many failing seeds.
    :param shrink_limit: shrink only the first this many failing seeds (default: all).
    :param max_runs: the shrinking budget of each failing seed, in runs.
    :param on_shrink: called with (seeds shrunk, seeds to shrink) as shrinking goes.

    Stopping on ``duration`` ends the run after the seeds already handed out: every
    seed counted was judged whole, and the seeds run are ``first`` .. ``first + N - 1``.
    """
    if seeds is None and duration is None:
        raise ConfigurationError("a campaign needs a number of seeds, a duration, or both")
    if seeds is not None and seeds < 1:
        raise ConfigurationError(f"a campaign runs at least one seed, not {seeds}")
    if duration is not None and duration <= 0:
        raise ConfigurationError(f"a campaign's duration must be positive, not {duration}")
    if first < 0:
        raise ConfigurationError(f"seeds start at 0 or later, not {first}")
    name = mix if isinstance(mix, str) else next(
        (k for k, v in MIXES.items() if v == mix), "custom")
    if isinstance(mix, str):
        if mix not in MIXES:
            raise ConfigurationError(f"no mix {mix!r}; the mixes: {', '.join(sorted(MIXES))}")
        mix = MIXES[mix]
    began = time.monotonic()
    deadline = None if duration is None else began + duration
    timed_out = False

    def source() -> Iterator[int]:
        nonlocal timed_out
        numbers = itertools.count(first) if seeds is None else iter(range(first, first + seeds))
        for seed in numbers:
            if deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                return
            yield seed

    result = check_conformance(plugin, source(), mix=mix, use=use, options=options,
                               specs=specs, catalog=catalog, jobs=jobs, progress=progress,
                               keep_going=True, cluster=cluster, on_workers=on_workers,
                               recheck=recheck, max_failures=max_failures)
    if max_failures is not None and len(result.failures) >= max_failures:
        stopped = "failures"
    else:
        stopped = "duration" if timed_out else "seeds"
    failing = list(result.failures)
    limit = len(failing) if shrink_limit is None else max(shrink_limit, 0)
    todo = [f.seed for f in failing if f.spec != DETERMINISM][:limit]
    shrunk: dict[int, dict[str, Any]] = {}
    if todo:
        job = _ShrinkJob(plugin, mix, use, options, specs, max_runs)
        if cluster is not None:
            from ..sim._distributed import cluster_sweep

            cls, _ = _resolve(plugin, catalog)
            done = cluster_sweep(job, todo, cluster, chunk=1,
                                 by_value=_by_value(cls, *(specs or ())))
        else:
            done = sweep(job, todo, jobs=jobs, chunk=1)
        for seed, value in done:
            shrunk[seed] = value
            if on_shrink is not None:
                on_shrink(len(shrunk), len(todo))
    entries = []
    for f in failing:
        got = shrunk.get(f.seed)
        if got is not None and "toml" in got:
            entries.append(CampaignFailure(f, got["toml"], got["seed"], got["size"],
                                           got["runs"]))
        elif got is not None:
            entries.append(CampaignFailure(f, note=got["note"]))
        elif f.spec == DETERMINISM:
            entries.append(CampaignFailure(f, note="its runs differ, so it fails differently "
                                                   "each time"))
        else:
            entries.append(CampaignFailure(f, note=f"beyond the first {limit} failing seeds "
                                                   f"shrunk"))
    if cluster is None:
        where = "local"
    else:
        address = cluster if isinstance(cluster, str) else cluster.scheduler.address
        where = f"cluster {address}"
    return CampaignResult(result.plugin, result.specs, name, first, result.seeds, stopped,
                          result.elapsed, result.workers, where, recheck, result.rechecked,
                          result.coverage, tuple(entries))
