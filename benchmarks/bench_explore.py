"""The largest scope each standard plugin's runs are explored in, within a time budget.

    python benchmarks/bench_explore.py [--budget 60] [--plugins beb,lazy-rb,...] [--symmetry]

For each plugin, scopes of growing size (nodes, broadcasts, crashes) are explored
breadth-first, each within ``--budget`` seconds, until one is not exhausted in time. A
row per scope: states reached, distinct states, the longest run, seconds, states/s, and
whether the scope was exhausted (every run covered, no violation) or the budget ran out.
One process: the explorer is single-threaded.
"""

from __future__ import annotations

import argparse

from netweave.bench._report import source
from netweave.explore import Scope, World, explore

PLUGINS = "beb,lazy-rb,eager-rb,all-ack-urb,majority-ack-urb,fifo-rb,waiting-crb"
SCOPES = [(2, 1, 1), (3, 1, 1), (3, 2, 0), (3, 2, 1), (4, 1, 1), (4, 2, 1), (3, 3, 1)]
"""(nodes, broadcasts, crashes), smallest first."""
MAJORITY = {"majority-ack-urb"}
"""Plugins that assume a majority of correct processes: only scopes with crashes < N/2."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--plugins", default=PLUGINS)
    parser.add_argument("--symmetry", action="store_true")
    args = parser.parse_args()
    print(f"# {source()}")
    print(f"{'plugin':<17} {'scope':<9} {'states':>10} {'distinct':>10} {'depth':>5} "
          f"{'seconds':>8} {'states/s':>9}  verdict")
    for plugin in args.plugins.split(","):
        for nodes, messages, crashes in SCOPES:
            if plugin in MAJORITY and 2 * crashes >= nodes:
                continue
            scope = Scope(nodes=nodes, messages=messages, crashes=crashes)
            result = explore(lambda s=scope, p=plugin: World(p, s), max_seconds=args.budget,
                             symmetry=args.symmetry)
            verdict = ("VIOLATED " + result.found.property if result.found is not None
                       else "exhausted" if result.exhausted else f"stopped ({result.limit})")
            print(f"{plugin:<17} {nodes}n {messages}b {crashes}c {result.visited:>10,} "
                  f"{result.distinct:>10,} {result.depth:>5} {result.seconds:>8.1f} "
                  f"{result.rate:>9,.0f}  {verdict}", flush=True)
            if not result.exhausted:
                break


if __name__ == "__main__":
    main()
