"""A digest of the simulator's traces over many seeds and layers, to compare two builds.

    python benchmarks/trace_digest.py [--seeds 60] [--layers beb,rb,urb,fifo,fd]

A change meant only to make the simulator faster (or the compiled build, see
``python3 dev.py compiled``) must print the same digest as the code before it: every
trace line of every seed, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib

from netweave.bench._report import source
from netweave.sim import Scenario
from netweave.trace import dumps_line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--layers", default="beb,rb,urb,fifo,fd")
    args = parser.parse_args()
    digest = hashlib.sha256()
    lines = 0
    layers = args.layers.split(",")
    for layer in layers:
        for seed in range(args.seeds):
            scenario = Scenario.random(nodes=5, seed=seed, layer=layer, messages=10, crash=2,
                                       loss=0.1, partition=True, duplicate=0.05, reorder=0.1)
            for record in scenario.run(seed).trace:
                digest.update(dumps_line(record).encode() + b"\n")
                lines += 1
    print(f"# {source()}")
    print(f"{len(layers)} layers x {args.seeds} seeds: {lines:,} trace lines, "
          f"sha256 {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
