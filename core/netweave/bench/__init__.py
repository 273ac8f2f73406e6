"""Benchmarks of netweave on this machine: what it costs, measured against baselines.

The measuring code lives in the package so that ``netweave bench`` works from an
installed wheel; the scripts in the repository's ``benchmarks/`` folder are thin
wrappers. Parts (each also a ``netweave bench PART``):

- ``link``: the raw asyncio baseline and one link through the full stack, two processes;
- ``broadcast``: every broadcast layer on 3, 4 and 5 processes, at a fixed rate and
  saturated: throughput, latency, link messages per broadcast, memory;
- ``fd``: failure detection time after SIGKILL and SIGSTOP, and false suspicions on busy
  cores;
- ``sim``, ``bus``, ``codec``: in-process speed of the simulator, the event bus and the
  wire codec.

Every figure is printed with the machine, the Python version and the parameters; network
benchmarks start their processes themselves and end every one of them by PID.
"""

from __future__ import annotations

__all__: list[str] = []
