"""Shrinking a failure: from a failing seed to the smallest scenario that still fails.

The broken component is eager reliable broadcast claiming to be *uniform*: it delivers a
message as soon as it relays it, so a process may deliver and crash before any copy
leaves it, and the correct processes never deliver what a crashed one did. The suite
finds a seed; shrinking turns that seed's scenario into a much smaller one that
violates the same property, written as a scenario file.
"""

from netweave import Catalog
from netweave.testing import find_violation, shrink
from netweave.timeline import render_timeline
from netweave_broadcast.eager_rb import EagerReliableBroadcast


class EagerClaimingUniform(EagerReliableBroadcast):
    """Relays, then delivers at once: reliable, but not uniform."""

    name = "eager-claiming-urb"
    provides = ("uniform-reliable-broadcast",)
    layer = "urb"
    default = False
    implicit = False


failure = find_violation(EagerClaimingUniform, seeds=range(500))
assert failure is not None
print(f"seed {failure.seed} violates {failure.property}: {failure.scenario}")

found = shrink(EagerClaimingUniform, failure.seed)
print(f"shrunk in {found.shrunk.runs} runs to {found.scenario.summary()}, "
      f"seed {found.seed}: {found.failure.violation.message}")
print(found.to_toml())

# The shrunk scenario runs like any other; its timeline fits on a screen.
catalog = Catalog.discover(extra=[EagerClaimingUniform])
cluster = found.scenario.run(found.seed, catalog=catalog, trace_messages=True)
print("\n".join(render_timeline(cluster.trace, width=16)))
