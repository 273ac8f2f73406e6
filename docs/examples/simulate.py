"""Run a scenario file in the simulator under two seeds and compare the traces.

The same seed gives the same trace, byte for byte; another seed draws other latencies,
losses and workload times.
"""

from pathlib import Path

from netweave.sim import Scenario
from netweave.trace import dumps_line

scenario = Scenario.from_toml(Path(__file__).with_name("scenario.toml"))


def trace_of(seed: int) -> list[str]:
    return [dumps_line(line) for line in scenario.run(seed).trace]


first, again, other = trace_of(1), trace_of(1), trace_of(2)
print("seed 1 twice, identical:", first == again)
print("seed 1 and seed 2 differ:", first != other)

cluster = scenario.run(1)
print(f"seed 1: {len(cluster.trace)} trace lines, virtual time {cluster.now:.3f} s")
crashed = [line["node"] for line in cluster.trace if line["ev"] == "crash"]
faults = sorted({line["kind"] for line in cluster.trace if line["ev"] == "fault"})
print("crashed:", crashed, "other faults:", faults)
print("alive at the end:", cluster.alive())
