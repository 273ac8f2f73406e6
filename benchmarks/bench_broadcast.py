"""Broadcast layers on 3, 4 and 5 real processes: throughput, latency, link cost, memory.

    python benchmarks/bench_broadcast.py [options of netweave bench]

Same as ``netweave bench broadcast``; see ``netweave bench --help`` for the options.
"""

from __future__ import annotations

import sys

from netweave.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "broadcast", *sys.argv[1:]]))
