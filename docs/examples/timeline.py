"""The run of the check report above, as a timeline: the whole run, then one message,
then that message again in the same run traced with its link messages.

The same as ``netweave sim --layer rb --nodes 4 --crash 1 --messages 6 --seed 3
--trace-dir runs/rb`` followed by ``netweave timeline runs/rb`` and ``netweave timeline
runs/rb --id n3/1/1``; then ``netweave sim ... --trace-messages`` and the last again.
"""

from netweave.sim import Scenario
from netweave.timeline import render_timeline

scenario = Scenario.random(nodes=4, seed=3, layer="rb", messages=6, crash=1)
cluster = scenario.run(seed=3)

print("\n".join(render_timeline(cluster.trace)))
print()
print("\n".join(render_timeline(cluster.trace, ids=["n3/1/1"])))
print()
traced = scenario.run(seed=3, trace_messages=True)
print("\n".join(render_timeline(traced.trace, ids=["n3/1/1"])))
