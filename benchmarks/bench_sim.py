"""Simulator speed: seeds per second and events per second on a 5-node scenario.

    python benchmarks/bench_sim.py [--layer beb] [--seeds 2000] [--messages 20] [--jobs 0]
                                   [--links modelled|protocol]

Each seed is a whole random scenario (netweave sim's): 5 nodes, crashes, loss and a
partition that heals, ending with a quiet period; traces are recorded in memory. The
seeds run in one process, then in ``--jobs`` processes (0: one per CPU). With the
defaults, the same as ``netweave bench sim``. A run of a few hundred seeds lasts a
fraction of a second in two processes, of which starting the pool and waiting for its last
chunk take a tenth: the default, 2,000 seeds, measures the simulator.
"""

from __future__ import annotations

import argparse

from netweave.bench.micro import run_sim


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer", default="beb")
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--crash", type=int, default=1)
    parser.add_argument("--loss", type=float, default=0.05)
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--links", choices=["modelled", "protocol"], default="modelled")
    args = parser.parse_args()
    run_sim(layer=args.layer, nodes=args.nodes, seeds=args.seeds, messages=args.messages,
            crash=args.crash, loss=args.loss, trace=not args.no_trace, jobs=args.jobs,
            links=args.links)


if __name__ == "__main__":
    main()
