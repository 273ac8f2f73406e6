"""Simulator speed: seeds per second and events per second on a 5-node scenario.

    python benchmarks/bench_sim.py [--layer urb] [--seeds 300] [--messages 10]

Each seed is a whole random scenario (netweave sim's): 5 nodes, crashes, loss and a
partition that heals, ending with a quiet period; traces are recorded in memory.
Same as ``netweave bench sim``.
"""

from __future__ import annotations

import argparse

from netweave.bench.micro import run_sim


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer", default="urb")
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--crash", type=int, default=1)
    parser.add_argument("--loss", type=float, default=0.05)
    parser.add_argument("--no-trace", action="store_true")
    args = parser.parse_args()
    run_sim(layer=args.layer, nodes=args.nodes, seeds=args.seeds, messages=args.messages,
            crash=args.crash, loss=args.loss, trace=not args.no_trace)


if __name__ == "__main__":
    main()
