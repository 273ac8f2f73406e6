"""Write the HTML view of a simulated run, with a violation to see, and its ShiViz log.

The run is the one `netweave sim --layer rb --nodes 3 --messages 4 --seed 1 --crash 1
--trace-messages` writes. One delivery is then removed from a correct node's trace, so
agreement breaks: the page marks the lines that show it.
"""

import tempfile
from pathlib import Path

from netweave.causality import causality
from netweave.check import check_trace
from netweave.shiviz import shiviz_log
from netweave.sim import Scenario
from netweave.view import write_view

scenario = Scenario.random(nodes=3, seed=1, layer="rb", messages=4, crash=1)
cluster = scenario.run(seed=1, trace_messages=True)
lines = [line for line in cluster.trace
         if not (line["node"] == "n3" and line["ev"] == "deliver" and line["id"] == "n1/1/1")]

report = check_trace(lines)
for result in report.violated:
    print(f"{result.layer} {result.name}: {result.summary()}")

with tempfile.TemporaryDirectory() as tmp:
    page = write_view(lines, Path(tmp) / "run.html", report, title="rb, seed 1")
    print(f"{page.name}: {page.stat().st_size > 0}")

hb = causality(lines)
send = next(i for i, line in enumerate(lines) if line.get("mid") == "n1/1/m5")
recv = next(i for i, line in enumerate(lines) if line.get("mid") == "n1/1/m5" and i != send)
print(f"{len(hb.nodes)} nodes, {len(lines)} lines, {len(hb.messages)} messages received")
print("send", hb.clock(send), "-> recv", hb.clock(recv))
print("send happened before recv:", hb.happened_before(send, recv))

log = shiviz_log(lines).splitlines()
print(log[0])
print(*[line for line in log if "mid=n1/1/m5 " in line], sep="\n")
