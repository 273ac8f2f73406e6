"""Simulator speed: seeds per second and events per second on a 5-node scenario.

    python benchmarks/bench_sim.py [--layer urb] [--seeds 300] [--messages 10]

Each seed is a whole random scenario (netweave sim's): 5 nodes, crashes, loss and a
partition that heals, ending with a quiet period; traces are recorded in memory.
"""

from __future__ import annotations

import argparse
import time

from _common import header

from netweave.sim import Scenario


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
    header("simulator", layer=args.layer, nodes=args.nodes, seeds=args.seeds,
           messages=args.messages, crash=args.crash, loss=args.loss, trace=not args.no_trace)
    events = messages = lines = 0
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        scenario = Scenario.random(nodes=args.nodes, seed=seed, layer=args.layer,
                                   messages=args.messages, crash=args.crash, loss=args.loss,
                                   partition=True)
        cluster = scenario.run(seed, trace=not args.no_trace)
        events += cluster.clock.events
        messages += cluster.messages_sent
        lines += len(cluster.trace)
    took = time.perf_counter() - t0
    print(f"{args.seeds / took:,.0f} seeds/s, {events / took:,.0f} events/s "
          f"({events / args.seeds:,.0f} events, {messages / args.seeds:,.0f} link messages, "
          f"{lines / args.seeds:,.0f} trace lines per seed)")


if __name__ == "__main__":
    main()
