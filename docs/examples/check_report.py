"""Check a simulated trace, then the same trace with its crash line removed.

The second trace is what a cluster leaves when a node is killed by hand and nobody
records the crash: the checker takes the killed node for a correct one, and reports
what a correct node should have done and did not.
"""

import tempfile
from pathlib import Path

from netweave.check import check_trace
from netweave.sim import Scenario

scenario = Scenario.random(nodes=4, seed=3, layer="rb", messages=6, crash=1)
cluster = scenario.run(seed=3)

with tempfile.TemporaryDirectory() as tmp:
    cluster.write_trace(tmp)  # one <node>.jsonl per node, as `netweave sim` writes
    report = check_trace(Path(tmp))
print(report.format())
print("ok:", report.ok)

print()
print("without the crash line:")
lines = [line for line in cluster.trace if line["ev"] != "crash"]
report = check_trace(lines, examples=1)
print(report.format())
print("ok:", report.ok)
for result in report.violated:
    print(f"{result.layer} {result.name}: {result.summary()}")
