"""The public test kit: a simulated cluster, conformance checks, a pytest plugin.

Plugin authors test their plugins with it exactly as netweave tests its own:

>>> from netweave.testing import assert_conforms
>>> assert_conforms("beb", seeds=range(100))            # doctest: +SKIP

The pytest plugin (:mod:`netweave.testing.pytest_plugin`, loaded automatically once
netweave is installed) adds the ``sim_cluster`` and ``netweave_seeds`` fixtures and the
``--netweave-seeds N`` option for longer runs.
"""

from __future__ import annotations

from ..sim import NetworkModel, Scenario, SimCluster
from .campaign import CampaignFailure, CampaignResult, run_campaign
from .conformance import (
    DEFAULT_MIX,
    DETERMINISM,
    FAULT_KINDS,
    HARSH_MIX,
    MIXES,
    NONE_REFUSED,
    RANDOM_MIX,
    RESTART_MIX,
    SAME_TRACE,
    SIGNED_ORIGINS,
    ConformanceError,
    ConformanceResult,
    FaultMix,
    FaultProfile,
    RandomMix,
    SeedFailure,
    ShrunkFailure,
    assert_conforms,
    assert_violates,
    check_conformance,
    conformance_scenario,
    fault_kinds,
    find_violation,
    rechecked,
    replay,
    shrink,
    shrink_violation,
    trace_digest,
)

__all__ = [
    "DEFAULT_MIX",
    "DETERMINISM",
    "FAULT_KINDS",
    "HARSH_MIX",
    "MIXES",
    "NONE_REFUSED",
    "RANDOM_MIX",
    "RESTART_MIX",
    "SAME_TRACE",
    "SIGNED_ORIGINS",
    "CampaignFailure",
    "CampaignResult",
    "ConformanceError",
    "ConformanceResult",
    "FaultMix",
    "FaultProfile",
    "NetworkModel",
    "RandomMix",
    "Scenario",
    "SeedFailure",
    "ShrunkFailure",
    "SimCluster",
    "assert_conforms",
    "assert_violates",
    "check_conformance",
    "conformance_scenario",
    "fault_kinds",
    "find_violation",
    "rechecked",
    "replay",
    "run_campaign",
    "shrink",
    "shrink_violation",
    "trace_digest",
]
