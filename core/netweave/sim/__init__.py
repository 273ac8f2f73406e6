"""The deterministic simulator: virtual time, a seeded network model, fault injection."""

from __future__ import annotations

from ._clock import Scheduled, VirtualClock
from ._cluster import SimCluster
from ._network import Latency, NetworkModel
from ._shrink import Shrunk, shrink_scenario
from ._sweep import default_jobs, sweep
from .scenario import Broadcast, Fault, Scenario

__all__ = [
    "Broadcast",
    "Fault",
    "Latency",
    "NetworkModel",
    "Scenario",
    "Scheduled",
    "Shrunk",
    "SimCluster",
    "VirtualClock",
    "default_jobs",
    "shrink_scenario",
    "sweep",
]
