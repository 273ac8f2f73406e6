"""The largest scope each standard plugin's runs are explored in, within a time budget.

    python benchmarks/bench_explore.py [--budget 60] [--plugins beb,lazy-rb,...] [--symmetry]
                                       [--jobs 1,2] [--scopes 3n2b1c,...] [--no-sleep-sets]

For each plugin, scopes of growing size (nodes, broadcasts, crashes) are explored
breadth-first, each within ``--budget`` seconds, until one is not exhausted in time. A
row per scope: states reached, distinct states, steps skipped as asleep (sleep sets), the
longest run, seconds, states/s, and whether the scope was exhausted (every run covered,
no violation) or the budget ran out.
``--jobs 1,2`` explores each scope with each number of worker processes in turn (the
ratio of their times, measured in the same run, is what ``--jobs`` gains); the next
scope is tried while the last number of processes exhausted this one.
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
    parser.add_argument("--no-sleep-sets", dest="sleep_sets", action="store_false",
                        help="take every step (the search without sleep sets)")
    parser.add_argument("--jobs", default="1", help="numbers of processes, e.g. 1,2")
    parser.add_argument("--scopes", default=None,
                        help="scopes to try instead of the growing list, e.g. 3n2b1c,4n1b1c")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    scopes = SCOPES if args.scopes is None else [
        tuple(int(x) for x in s.replace("n", " ").replace("b", " ").replace("c", "").split())
        for s in args.scopes.split(",")]
    print(f"# {source()}")
    print(f"{'plugin':<17} {'scope':<9} {'jobs':>4} {'states':>10} {'distinct':>10} "
          f"{'asleep':>10} {'depth':>5} {'seconds':>8} {'states/s':>9}  verdict")
    for plugin in args.plugins.split(","):
        for nodes, messages, crashes in scopes:
            if plugin in MAJORITY and 2 * crashes >= nodes:
                continue
            scope = Scope(nodes=nodes, messages=messages, crashes=crashes)
            for j in jobs:
                result = explore(lambda s=scope, p=plugin: World(p, s),
                                 max_seconds=args.budget, symmetry=args.symmetry, jobs=j,
                                 sleep_sets=args.sleep_sets)
                verdict = ("VIOLATED " + result.found.property if result.found is not None
                           else "exhausted" if result.exhausted
                           else f"stopped ({result.limit})")
                print(f"{plugin:<17} {nodes}n {messages}b {crashes}c {j:>4} "
                      f"{result.visited:>10,} {result.distinct:>10,} {result.slept:>10,} "
                      f"{result.depth:>5} "
                      f"{result.seconds:>8.1f} {result.rate:>9,.0f}  {verdict}", flush=True)
            if not result.exhausted and args.scopes is None:
                break


if __name__ == "__main__":
    main()
