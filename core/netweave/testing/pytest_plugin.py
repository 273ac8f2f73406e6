"""The netweave pytest plugin: simulated clusters and conformance runs as fixtures.

Loaded automatically (entry point ``pytest11``) wherever netweave is installed.

- ``--netweave-seeds N`` (or the ``NETWEAVE_SEEDS`` environment variable) sets how many
  seeds conformance tests run; the default, 1000, suits CI; a longer job passes more.
- ``--netweave-jobs N`` (or ``NETWEAVE_JOBS``): processes the ``conformance`` fixture runs
  seeds in; 1 by default, 0 for one per CPU (:func:`~netweave.sim.sweep`).
- ``--netweave-cluster tcp://HOST:PORT`` (or ``NETWEAVE_CLUSTER``): the ``conformance``
  fixture runs seeds on the workers of this running Dask scheduler instead (the
  ``cluster`` extra; see :func:`~netweave.testing.check_conformance`).
- ``netweave_seeds``: the seeds to run, ``range(N)``.
- ``sim_cluster``: a factory of started :class:`~netweave.sim.SimCluster`\\ s.
- ``conformance``: :func:`~netweave.testing.assert_conforms` and
  :func:`~netweave.testing.assert_violates` bound to ``netweave_seeds``, the jobs and
  the cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest

from ..sim import NetworkModel, SimCluster
from .conformance import (
    ConformanceResult,
    PluginRef,
    SeedFailure,
    assert_conforms,
    assert_violates,
)

SEEDS_ENV = "NETWEAVE_SEEDS"
DEFAULT_SEEDS = 1000
JOBS_ENV = "NETWEAVE_JOBS"
CLUSTER_ENV = "NETWEAVE_CLUSTER"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netweave")
    group.addoption("--netweave-seeds", type=int, default=None, metavar="N",
                    help=f"seeds per conformance test (default: ${SEEDS_ENV} or "
                         f"{DEFAULT_SEEDS})")
    group.addoption("--netweave-jobs", type=int, default=None, metavar="N",
                    help=f"processes conformance tests run seeds in (default: ${JOBS_ENV} "
                         f"or 1; 0: one per CPU)")
    group.addoption("--netweave-cluster", default=None, metavar="tcp://HOST:PORT",
                    help=f"run conformance seeds on the workers of this Dask scheduler "
                         f"(default: ${CLUSTER_ENV}, else local processes; needs "
                         f"netweave[cluster])")


def seed_count(config: pytest.Config) -> int:
    """Seeds per conformance test: the option, else the environment, else 1000."""
    given = config.getoption("--netweave-seeds", default=None)
    if given is None:
        given = _env_int(SEEDS_ENV, DEFAULT_SEEDS)
    if given < 1:
        raise pytest.UsageError("--netweave-seeds must be at least 1")
    return int(given)


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name) or str(default)
    try:
        return int(text)
    except ValueError:
        raise pytest.UsageError(f"${name} must be a whole number, not {text!r}") from None


def pytest_configure(config: pytest.Config) -> None:
    # A bad count is a usage error of the whole run, not an error of each test using it.
    seed_count(config)
    job_count(config)


def job_count(config: pytest.Config) -> int:
    """Processes for conformance runs: the option, else the environment, else 1."""
    given = config.getoption("--netweave-jobs", default=None)
    if given is None:
        given = _env_int(JOBS_ENV, 1)
    if given < 0:
        raise pytest.UsageError("--netweave-jobs must be 0 (one per CPU) or more")
    return int(given)


def cluster_address(config: pytest.Config) -> str | None:
    """The Dask scheduler conformance runs use: the option, else the environment, else
    ``None`` (local processes)."""
    given = config.getoption("--netweave-cluster", default=None)
    return given or os.environ.get(CLUSTER_ENV) or None


@pytest.fixture
def netweave_seeds(request: pytest.FixtureRequest) -> range:
    """The seeds conformance tests run: ``range(--netweave-seeds)``."""
    return range(seed_count(request.config))


ClusterFactory = Callable[..., SimCluster]


@pytest.fixture
def sim_cluster() -> ClusterFactory:
    """Build and start a simulated cluster: ``sim_cluster("lazy-rb", nodes=4, seed=1)``.

    Positional arguments are plugins (names or classes) every node uses; requirements
    are filled with their default providers. Keywords: ``nodes`` (a count or ids),
    ``seed``, ``network`` (a :class:`~netweave.sim.NetworkModel` or its fields as a
    dict), ``options`` (plugin name -> options) and any other
    :class:`~netweave.sim.SimCluster` argument.
    """

    def make(*plugins: str | type, nodes: int | Sequence[str] = 4, seed: int = 0,
             network: NetworkModel | dict[str, Any] | None = None,
             options: dict[str, dict[str, Any]] | None = None, **kwargs: Any) -> SimCluster:
        opts = options or {}

        def configure(node: Any) -> None:
            for plugin in plugins:
                key = plugin if isinstance(plugin, str) else getattr(plugin, "name", "")
                node.use(plugin, **opts.get(key, {}))

        net = NetworkModel(**network) if isinstance(network, dict) else network
        kwargs.setdefault("fill", "defaults")
        cluster = SimCluster(nodes, configure, seed=seed, network=net, **kwargs)
        cluster.start()
        return cluster

    return make


class Conformance:
    """Conformance checks bound to the session's seeds (the ``conformance`` fixture)."""

    def __init__(self, seeds: Iterable[int], jobs: int = 1, cluster: str | None = None) -> None:
        self.seeds = seeds
        self.jobs = jobs
        self.cluster = cluster

    def _defaults(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("jobs", self.jobs)
        if self.cluster is not None:
            kwargs.setdefault("cluster", self.cluster)
        return kwargs

    def assert_conforms(self, plugin: PluginRef, **kwargs: Any) -> ConformanceResult:
        """Every seed satisfies every property ``plugin`` claims."""
        kwargs = self._defaults(kwargs)
        return assert_conforms(plugin, kwargs.pop("seeds", self.seeds), **kwargs)

    def assert_violates(self, plugin: PluginRef, **kwargs: Any) -> SeedFailure:
        """Some seed violates a property ``plugin`` claims (for broken variants)."""
        kwargs = self._defaults(kwargs)
        return assert_violates(plugin, kwargs.pop("seeds", self.seeds), **kwargs)


@pytest.fixture
def conformance(request: pytest.FixtureRequest, netweave_seeds: range) -> Conformance:
    """:func:`~netweave.testing.assert_conforms` and ``assert_violates`` over the seeds,
    in ``--netweave-jobs`` processes, or on the ``--netweave-cluster`` workers."""
    return Conformance(netweave_seeds, job_count(request.config),
                       cluster_address(request.config))
