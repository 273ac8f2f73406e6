"""Wire codec micro-benchmark: link frames encoded and decoded per second.

    python benchmarks/bench_codec.py [--count N]

Same as ``netweave bench codec``.
"""

from __future__ import annotations

import argparse

from netweave.bench.micro import run_codec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200_000)
    run_codec(count=parser.parse_args().count)


if __name__ == "__main__":
    main()
