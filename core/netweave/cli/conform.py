"""``netweave conform``: run a plugin over many simulated seeds and check its specification.

On a failure it writes the failing run as a ``netweave view`` page (the shrunk scenario's
run with ``--shrink``), with every message sent and received and the violation marked,
and prints its path: ``--view FILE``, by default ``DIR.html`` beside ``--trace-dir DIR``,
``FILE.html`` beside ``--shrink FILE.toml``, else ``trace-SEED.html`` in the current
directory; ``--no-view`` writes none.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._component import load_component
from ._shrink import PROGRESS_EVERY, output_path, progress_printer, report_shrunk

if TYPE_CHECKING:
    from .._registry import Catalog
    from ..plugin import Component
    from ..testing.conformance import FaultMix, SeedFailure

NAME = "conform"
HELP = ("Run a plugin in the simulator over many seeds of a fault mix and check every "
        "property of its specification; exit 0 only if every seed passes.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..testing.conformance import MIXES

    add_plugin_arguments(parser)
    parser.add_argument("--seeds", type=int, default=1000, metavar="N",
                        help="how many seeds to run (default 1000)")
    parser.add_argument("--first", type=int, default=0, metavar="S",
                        help="the first seed (default 0): seeds S .. S+N-1")
    parser.add_argument("--mix", choices=sorted(MIXES), default="default",
                        help="how each seed's faults are drawn (default: default)")
    parser.add_argument("--links", choices=["modelled", "protocol"],
                        help="how the faults reach the links: modelled (the mix's default: "
                        "perfect links given directly, the faults acting on the messages) or "
                        "protocol (the perfect links' protocol over the lossy network)")
    parser.add_argument("--jobs", type=int, default=0, metavar="J",
                        help="processes to run seeds in (default 0: one per CPU)")
    add_cluster_argument(parser)
    add_recheck_argument(parser, 0.0)
    parser.add_argument("--signed-origins", action="store_true",
                        help="run every seed with signed origins: origins sign what they "
                        "broadcast and every node checks, with keys derived from the seed "
                        "(as netweave sim --signed-origins); a seed also fails if a node "
                        "refuses a message, since nobody forges (needs the 'secure' extra)")
    parser.add_argument("--trace-dir", metavar="DIR",
                        help="on a failure, write the failing seed's whole trace here")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every seed even after a failure, list every failing seed, "
                        "then show the first")
    parser.add_argument("--shrink", metavar="FILE",
                        help="on a failure, search for a smaller scenario that violates the "
                        "same property and write it here as a scenario file for netweave sim")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--view", metavar="FILE",
                      help="on a failure, write the failing run (the shrunk one with "
                      "--shrink) as a netweave view page (HTML) here (default: DIR.html "
                      "for --trace-dir DIR, else the --shrink FILE with .html, else "
                      "trace-SEED.html)")
    view.add_argument("--no-view", action="store_true",
                      help="on a failure, write no view page")


def add_plugin_arguments(parser: argparse.ArgumentParser) -> None:
    """The plugin under test, the plugins beside it and its options (also ``netweave
    campaign``'s)."""
    parser.add_argument("plugin", help="an installed plugin's name, or module:Class for a "
                        "component that is not installed (yet)")
    parser.add_argument("--use", action="append", default=[], metavar="PLUGIN",
                        help="select this plugin too (repeatable), e.g. another detector")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of the plugin (repeatable); VALUE is read as JSON "
                        "when it can be, else as text")


def add_cluster_argument(parser: argparse.ArgumentParser) -> None:
    """``--cluster ADDRESS`` (also ``netweave campaign``'s)."""
    parser.add_argument("--cluster", metavar="tcp://HOST:PORT",
                        help="run the seeds in chunks on the workers of this running Dask "
                        "scheduler instead of local processes (--jobs is then ignored); "
                        "needs the cluster extra: pip install 'netweave[cluster]'")


def recheck_fraction(text: str) -> float:
    """``--recheck F``: a fraction from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a fraction from 0 to 1, not {text}")
    return value


def add_recheck_argument(parser: argparse.ArgumentParser, default: float) -> None:
    """``--recheck F`` (also ``netweave campaign``'s, with its own default)."""
    parser.add_argument("--recheck", type=recheck_fraction, default=default, metavar="F",
                        help=f"run this fraction of the passing seeds (drawn from each "
                        f"seed) a second time and compare the digests of their traces; "
                        f"every failing seed is run twice anyway, and two runs of a seed "
                        f"that differ are a failure of their own (default {default:g})")


class Progress:
    """Progress lines on standard error every few seconds: seeds done, seeds/s, and the
    processes or cluster workers running them."""

    def __init__(self, total: int | None, cluster: str | None) -> None:
        self.total = total
        self.where = "workers" if cluster else "processes"
        self.workers = 0
        self.began = self.last = time.monotonic()

    def workers_now(self, count: int) -> None:
        if self.workers and count != self.workers and self.where == "workers":
            print(f"  the cluster has {count} workers now (it had {self.workers})",
                  file=sys.stderr, flush=True)
        self.workers = count

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY and (self.total is None or done < self.total):
            self.last = now
            of = f"/{self.total}" if self.total is not None else ""
            where = (self.where if self.workers != 1
                     else {"processes": "process", "workers": "worker"}[self.where])
            print(f"  {done}{of} seeds, {done / (now - self.began):,.0f} seeds/s, "
                  f"{self.workers} {where}", file=sys.stderr, flush=True)


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


def view_path(args: argparse.Namespace, seed: int) -> Path | None:
    """Where the view page of a failure goes (see the module documentation)."""
    if args.no_view:
        return None
    if args.view:
        return Path(args.view)
    if args.shrink:
        return Path(args.shrink).with_suffix(".html")
    if args.trace_dir:
        trace = Path(args.trace_dir)
        return trace.with_name(f"{trace.name}.html") if trace.name else Path("trace.html")
    return Path(f"trace-{seed}.html")


def _check_view_option(text: str | None) -> None:
    """Refuse a ``--view`` path that cannot be written, before any seed runs."""
    if text is None:
        return
    path = Path(text)
    if path.is_dir():
        raise ConfigurationError(f"--view {text}: is a directory; give a file name")
    if not path.absolute().parent.is_dir():
        raise ConfigurationError(f"--view {text}: no directory {path.parent}")


def _catalog(plugin: str | type[Component]) -> Catalog:
    """The catalog the conformance run used: the installed plugins, and ``plugin`` when it
    is a class that is not installed."""
    from .._registry import Catalog

    return Catalog.discover(extra=[plugin]) if isinstance(plugin, type) else Catalog.discover()


def _write_view(plugin: str | type[Component], path: Path,
                trace: Sequence[Mapping[str, Any]], title: str, what: str = "run") -> None:
    """Write ``trace`` as a view page, judged by the specs ``plugin`` claims (and those of
    the other layers in the trace), and say where it is."""
    from ..check import SpecCatalog, check_trace
    from ..view import write_view

    catalog = _catalog(plugin)
    try:
        report = check_trace(trace, SpecCatalog.discover(catalog), examples=20)
        write_view(trace, path, report, title=title)
    except (OSError, ValueError) as exc:
        print(f"  view not written: {exc}")
        return
    print(f"  view of the {what}, the violation marked: {path} (open it in a browser)")


def run(args: argparse.Namespace) -> int:
    from ..testing.conformance import (
        DETERMINISM,
        MIXES,
        SIGNED_ORIGINS,
        check_conformance,
        replay,
    )

    if args.seeds < 1 or args.first < 0:
        raise ConfigurationError("--seeds must be at least 1 and --first at least 0")
    plugin = load_component(args.plugin)
    path = output_path(args.shrink) if args.shrink else None
    _check_view_option(args.view)
    options = _options(args.option)
    mix = MIXES[args.mix]
    if args.links:
        import attrs

        mix = attrs.evolve(mix, links=args.links)
    seeds = range(args.first, args.first + args.seeds)
    began = time.monotonic()
    progress = Progress(len(seeds), args.cluster)
    result = check_conformance(plugin, seeds, mix=mix, use=args.use, options=options,
                               jobs=args.jobs, progress=progress, keep_going=args.keep_going,
                               cluster=args.cluster, on_workers=progress.workers_now,
                               recheck=args.recheck, signed_origins=args.signed_origins)
    took = time.monotonic() - began
    where = (f" on {result.workers} cluster workers" if args.cluster else "")
    specs = ", ".join(result.specs)
    signed = (", no genuine message refused with signed origins" if args.signed_origins
              else "")
    failure = result.failure
    if failure is None:
        print(f"{result.plugin}: every property of {specs} holds{signed} on seeds "
              f"{seeds.start}-{seeds.stop - 1} ({args.mix} mix) in {took:.1f}s{where}, "
              f"{result.seeds / took:,.0f} seeds/s")
        return 0
    if args.keep_going:
        for f in result.failures:
            print(f"  seed {f.seed}: {f.spec} {f.property!r} on layer {f.layer}: "
                  f"{f.violation.message}")
        print(f"{len(result.failures)} of {result.seeds} seeds failed; the first:")
    print(failure)
    view = view_path(args, failure.seed)
    trace: Sequence[Mapping[str, Any]] = ()
    if args.trace_dir or (view is not None and path is None):
        trace = replay(plugin, failure.seed, trace_dir=args.trace_dir, mix=mix, use=args.use,
                       options=options, trace_messages=True,
                       signed_origins=args.signed_origins).trace
    if args.trace_dir:
        print(f"  trace of seed {failure.seed} written to {args.trace_dir}; "
              f"netweave check {args.trace_dir} judges it again, "
              f"netweave timeline {args.trace_dir} lays it out by node")
    if view is not None and path is None:
        _write_view(plugin, view, trace,
                    f"{failure.plugin}: seed {failure.seed} ({args.mix} mix), {failure.spec} "
                    f"{failure.property!r} violated")
    again = " ".join(shlex.quote(a) for a in [
        "netweave", "conform", args.plugin, "--first", str(failure.seed), "--seeds", "1",
        "--mix", args.mix, *(["--links", args.links] if args.links else []),
        *(x for u in args.use for x in ("--use", u)),
        *(x for o in args.option for x in ("--option", o)),
        *(["--signed-origins"] if args.signed_origins else []),
        *(["--recheck", "1"] if failure.spec == DETERMINISM else [])])
    if not args.trace_dir:
        print(f"  again, with its trace: {again} --trace-dir trace-{failure.seed}")
    if failure.spec == DETERMINISM:
        print("  not shrunk: a seed whose runs differ fails differently each time; make "
              "the plugin draw from ctx.rng (seeded) and read ctx.now, then run it again")
    elif failure.spec == SIGNED_ORIGINS:
        print("  not shrunk: a refused message is a layer that does not sign what it "
              "broadcasts (ctx.sign) or a relay that changes a signed message; the node's "
              "log names each refused message (netweave.origins, WARNING)")
    elif path is not None:
        _shrink(args, plugin, failure, mix, options, path, view)
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
            mix: FaultMix, options: dict[str, Any], path: Path, view: Path | None) -> None:
    from ..testing.conformance import shrink

    print(f"  shrinking seed {failure.seed} ({failure.scenario})", flush=True)
    began = time.monotonic()
    found = shrink(plugin, failure.seed, mix=mix, use=args.use, options=options,
                   progress=progress_printer(), signed_origins=args.signed_origins)
    report_shrunk(found, path, began)
    if view is not None:
        small = found.failure
        cluster = found.scenario.run(found.seed, catalog=_catalog(plugin), trace_messages=True)
        _write_view(plugin, view, cluster.trace,
                    f"{small.plugin}: shrunk scenario, seed {found.seed}, {small.spec} "
                    f"{small.property!r} violated", "shrunk run")
