"""Event bus micro-benchmark: dispatches per second for one subscriber.

    python benchmarks/bench_bus.py [--events N]

Two figures: events published from outside a dispatch (each publish drains at once) and
events published from inside a handler (queued, drained by the running dispatch).
"""

from __future__ import annotations

import argparse
import time

import attrs
from _common import header

from netweave import Bus


@attrs.frozen
class Ping:
    n: int


def outside(n: int) -> float:
    bus = Bus()
    count = [0]

    def handler(e: Ping) -> None:
        count[0] += 1

    bus.subscribe(Ping, handler)
    events = [Ping(i) for i in range(n)]
    publish = bus.publish
    t0 = time.perf_counter()
    for e in events:
        publish(e)
    took = time.perf_counter() - t0
    assert count[0] == n
    return n / took


def chained(n: int) -> float:
    bus = Bus()
    left = [n]
    event = Ping(0)

    def handler(e: Ping) -> None:
        left[0] -= 1
        if left[0]:
            bus.publish(event)

    bus.subscribe(Ping, handler)
    t0 = time.perf_counter()
    bus.publish(event)
    took = time.perf_counter() - t0
    assert left[0] == 0
    return n / took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    header("event bus, one subscriber", events=args.events, repeat=args.repeat)
    best_out = max(outside(args.events) for _ in range(args.repeat))
    best_in = max(chained(args.events) for _ in range(args.repeat))
    print(f"publish from outside a dispatch: {best_out:,.0f} events/s")
    print(f"publish from inside a handler:   {best_in:,.0f} events/s")


if __name__ == "__main__":
    main()
