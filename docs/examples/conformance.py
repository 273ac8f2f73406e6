"""The conformance suite: run a plugin over many seeds and fault mixes, check its specs.

First the standard best-effort broadcast, which conforms. Then a broken "reliable"
broadcast, which is only best-effort broadcast under another name: the suite finds a
seed where it violates agreement, and names the seed, the property and the trace lines;
the timeline of that seed shows how the message got lost.
"""

import sys
from pathlib import Path

from netweave.testing import check_conformance, find_violation, replay
from netweave.timeline import render_svg, render_timeline
from netweave_broadcast.beb import BestEffortBroadcast


class NotReallyReliable(BestEffortBroadcast):
    """Claims reliable broadcast; relays nothing when a sender crashes."""

    name = "not-really-reliable"
    provides = ("reliable-broadcast",)
    layer = "rb"
    default = False
    implicit = False


result = check_conformance("beb", seeds=range(50))
print(f"beb: {result.seeds} seeds, specs {', '.join(result.specs)}, ok: {result.ok}")

failure = find_violation(NotReallyReliable, seeds=range(200))
assert failure is not None
print(f"{failure.plugin}: seed {failure.seed} violates {failure.property} ({failure.spec})")
print(failure.violation.message)

# Run that seed again, to debug it or to keep its trace for `netweave check`; with
# trace_messages, the trace also shows every message crossing a link.
cluster = replay(NotReallyReliable, failure.seed, trace_messages=True)
print("crashed in that run:", [line["node"] for line in cluster.trace if line["ev"] == "crash"])
message = next(line["id"] for line in failure.violation.lines if "id" in line)
print("\n".join(render_timeline(cluster.trace, ids=[message], width=18)))

# The same as an image, arrows for messages (python conformance.py lost-message.svg):
if len(sys.argv) > 1:
    Path(sys.argv[1]).write_text(render_svg(cluster.trace, ids=[message]), encoding="utf-8")
