"""``netweave conform``: run a plugin over many simulated seeds and check its specification."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._component import load_component

if TYPE_CHECKING:
    from ..plugin import Component
    from ..sim import Scenario
    from ..testing.conformance import FaultMix, SeedFailure

NAME = "conform"
HELP = ("Run a plugin in the simulator over many seeds of a fault mix and check every "
        "property of its specification; exit 0 only if every seed passes.")

PROGRESS_EVERY = 2.0
"""Seconds between progress lines on standard error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..testing.conformance import MIXES

    parser.add_argument("plugin", help="an installed plugin's name, or module:Class for a "
                        "component that is not installed (yet)")
    parser.add_argument("--seeds", type=int, default=1000, metavar="N",
                        help="how many seeds to run (default 1000)")
    parser.add_argument("--first", type=int, default=0, metavar="S",
                        help="the first seed (default 0): seeds S .. S+N-1")
    parser.add_argument("--mix", choices=sorted(MIXES), default="default",
                        help="how each seed's faults are drawn (default: default)")
    parser.add_argument("--use", action="append", default=[], metavar="PLUGIN",
                        help="select this plugin too (repeatable), e.g. another detector")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of the plugin (repeatable); VALUE is read as JSON "
                        "when it can be, else as text")
    parser.add_argument("--jobs", type=int, default=0, metavar="J",
                        help="processes to run seeds in (default 0: one per CPU)")
    parser.add_argument("--trace-dir", metavar="DIR",
                        help="on a failure, write the failing seed's whole trace here")
    parser.add_argument("--shrink", metavar="FILE",
                        help="on a failure, search for a smaller scenario that violates the "
                        "same property and write it here as a scenario file for netweave sim")


def _options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"--option {pair!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(text)
        except json.JSONDecodeError:
            options[key] = text
    return options


def run(args: argparse.Namespace) -> int:
    from ..testing.conformance import MIXES, check_conformance, replay

    if args.seeds < 1 or args.first < 0:
        raise ConfigurationError("--seeds must be at least 1 and --first at least 0")
    plugin = load_component(args.plugin)
    options = _options(args.option)
    mix = MIXES[args.mix]
    seeds = range(args.first, args.first + args.seeds)
    began = last = time.monotonic()

    def progress(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY and done < len(seeds):
            last = now
            print(f"  {done}/{len(seeds)} seeds, {done / (now - began):,.0f} seeds/s",
                  file=sys.stderr, flush=True)

    result = check_conformance(plugin, seeds, mix=mix, use=args.use, options=options,
                               jobs=args.jobs, progress=progress)
    took = time.monotonic() - began
    specs = ", ".join(result.specs)
    failure = result.failure
    if failure is None:
        print(f"{result.plugin}: every property of {specs} holds on seeds "
              f"{seeds.start}-{seeds.stop - 1} ({args.mix} mix) in {took:.1f}s")
        return 0
    print(failure)
    if args.trace_dir:
        replay(plugin, failure.seed, trace_dir=args.trace_dir, mix=mix, use=args.use,
               options=options, trace_messages=True)
        print(f"  trace of seed {failure.seed} written to {args.trace_dir}; "
              f"netweave check {args.trace_dir} judges it again, "
              f"netweave timeline {args.trace_dir} lays it out by node")
    else:
        again = (f"netweave conform {args.plugin} --first {failure.seed} --seeds 1 "
                 f"--mix {args.mix}" + "".join(f" --use {u}" for u in args.use)
                 + "".join(f" --option {o}" for o in args.option))
        print(f"  again, with its trace: {again} --trace-dir trace-{failure.seed}")
        if not args.shrink:
            print(f"  a smaller scenario that fails the same way: {again} "
                  f"--shrink small-{failure.seed}.toml")
    if args.shrink:
        _shrink(args, plugin, failure, mix, options)
    print(f"{result.plugin}: {failure.spec} {failure.property!r} violated on seed "
          f"{failure.seed} after {result.seeds} seeds in {took:.1f}s", file=sys.stderr)
    return 1


def _shrink(args: argparse.Namespace, plugin: str | type[Component], failure: SeedFailure,
            mix: FaultMix, options: dict[str, Any]) -> None:
    from ..testing.conformance import shrink

    print(f"  shrinking seed {failure.seed} ({failure.scenario})", flush=True)
    began = last = time.monotonic()

    def progress(runs: int, smallest: Scenario) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            print(f"  {runs} runs, smallest yet: {smallest.summary()}", file=sys.stderr,
                  flush=True)

    found = shrink(plugin, failure.seed, mix=mix, use=args.use, options=options,
                   progress=progress)
    path = Path(args.shrink)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(found.to_toml(), encoding="utf-8")
    small = found.failure
    extra = f" --plugin {args.plugin}" if isinstance(plugin, type) else ""
    print(f"  shrunk in {found.shrunk.runs} runs ({time.monotonic() - began:.1f}s) to "
          f"{found.scenario.summary()} with seed {found.seed}: {small.property} violated, "
          f"{small.violation.message}")
    print(f"  written to {path}; run it: netweave sim {path} --seed {found.seed}{extra} "
          f"--trace-dir trace-shrunk --trace-messages, then netweave timeline trace-shrunk")
