"""``netweave bench``: measure this machine's figures (network, detectors, simulator, bus).

Runs the benchmark suite of :mod:`netweave.bench`, or some of its parts, and prints the
figures with the machine, the Python version and the parameters, then the project's
goals beside the measured figures. Network parts start their own processes on loopback
and end every one of them, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse

NAME = "bench"
HELP = "Run the benchmarks (link, broadcast, fd, sim, bus, codec) and print the figures."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..bench.suite import add_arguments as suite_arguments

    suite_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..bench.suite import run as run_suite

    return run_suite(args)
