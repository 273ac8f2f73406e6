"""Event bus micro-benchmark: dispatches per second for one subscriber.

    python benchmarks/bench_bus.py [--events N] [--repeat N]

Two figures: events published from outside a dispatch (each publish drains at once) and
events published from inside a handler (queued, drained by the running dispatch).
Same as ``netweave bench bus``.
"""

from __future__ import annotations

import argparse

from netweave.bench.micro import run_bus


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run_bus(events=args.events, repeat=args.repeat)


if __name__ == "__main__":
    main()
