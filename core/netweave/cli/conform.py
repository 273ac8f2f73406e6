"""``netweave conform``: run a plugin over many simulated seeds and check its specification."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._component import load_component
from ._shrink import PROGRESS_EVERY, output_path, progress_printer, report_shrunk

if TYPE_CHECKING:
    from ..plugin import Component
    from ..testing.conformance import FaultMix, SeedFailure

NAME = "conform"
HELP = ("Run a plugin in the simulator over many seeds of a fault mix and check every "
        "property of its specification; exit 0 only if every seed passes.")


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
    parser.add_argument("--keep-going", action="store_true",
                        help="run every seed even after a failure, list every failing seed, "
                        "then show the first")
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
    path = output_path(args.shrink) if args.shrink else None
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
                               jobs=args.jobs, progress=progress, keep_going=args.keep_going)
    took = time.monotonic() - began
    specs = ", ".join(result.specs)
    failure = result.failure
    if failure is None:
        print(f"{result.plugin}: every property of {specs} holds on seeds "
              f"{seeds.start}-{seeds.stop - 1} ({args.mix} mix) in {took:.1f}s")
        return 0
    if args.keep_going:
        for f in result.failures:
            print(f"  seed {f.seed}: {f.spec} {f.property!r} on layer {f.layer}: "
                  f"{f.violation.message}")
        print(f"{len(result.failures)} of {result.seeds} seeds failed; the first:")
    print(failure)
    if args.trace_dir:
        replay(plugin, failure.seed, trace_dir=args.trace_dir, mix=mix, use=args.use,
               options=options, trace_messages=True)
        print(f"  trace of seed {failure.seed} written to {args.trace_dir}; "
              f"netweave check {args.trace_dir} judges it again, "
              f"netweave timeline {args.trace_dir} lays it out by node")
    again = " ".join(shlex.quote(a) for a in [
        "netweave", "conform", args.plugin, "--first", str(failure.seed), "--seeds", "1",
        "--mix", args.mix, *(x for u in args.use for x in ("--use", u)),
        *(x for o in args.option for x in ("--option", o))])
    if not args.trace_dir:
        print(f"  again, with its trace: {again} --trace-dir trace-{failure.seed}")
    if path is not None:
        _shrink(args, plugin, failure, mix, options, path)
    else:
        print(f"  a smaller scenario that fails the same way: {again} "
              f"--shrink small-{failure.seed}.toml")
    if args.keep_going:
        print(f"{result.plugin}: {len(result.failures)} of {result.seeds} seeds violate a "
              f"property (the first: seed {failure.seed}, {failure.spec} "
              f"{failure.property!r}) in {took:.1f}s", file=sys.stderr)
    else:
        print(f"{result.plugin}: {failure.spec} {failure.property!r} violated on seed "
              f"{failure.seed} after {result.seeds} seeds in {took:.1f}s", file=sys.stderr)
    return 1


def _shrink(args: argparse.Namespace, plugin: str | type[Component], failure: SeedFailure,
            mix: FaultMix, options: dict[str, Any], path: Path) -> None:
    from ..testing.conformance import shrink

    print(f"  shrinking seed {failure.seed} ({failure.scenario})", flush=True)
    began = time.monotonic()
    found = shrink(plugin, failure.seed, mix=mix, use=args.use, options=options,
                   progress=progress_printer())
    report_shrunk(found, path, began)
