"""``netweave sim``: run a simulated cluster and write its trace."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .._registry import Catalog
from ..errors import ConfigurationError, UnknownPluginError
from ..sim.scenario import Scenario
from ._component import load_component
from ._shrink import output_path, progress_printer, report_shrunk

NAME = "sim"
HELP = "Run a deterministic simulation (random scenario or a TOML file) and write its trace."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", nargs="?", type=Path,
                        help="a scenario TOML file (instead of the random scenario flags)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every random choice")
    parser.add_argument("--trace-dir", type=Path, required=True,
                        help="where to write one <node>.jsonl per node")
    parser.add_argument("--nodes", type=int, default=4, help="cluster size (default 4)")
    parser.add_argument("--layer", help="broadcast layer to load, e.g. urb; requirements are "
                        "filled with their default providers")
    parser.add_argument("--use", action="append", default=[], metavar="PLUGIN",
                        help="use exactly this plugin (repeatable); nothing is added")
    parser.add_argument("--messages", type=int, default=20, help="broadcasts (default 20)")
    parser.add_argument("--crash", type=int, default=0, metavar="K",
                        help="crash K nodes at times drawn from the seed")
    parser.add_argument("--loss", type=float, default=0.0, metavar="P",
                        help="drop each link message with probability P until the last "
                             "broadcast (the quiet period is lossless unless --lossy-quiet)")
    parser.add_argument("--lossy-quiet", action="store_true",
                        help="keep losing messages through the quiet period (outside what a "
                             "perfect detector and the liveness properties assume)")
    parser.add_argument("--duplicate", type=float, default=0.0, metavar="P",
                        help="duplicate each link message with probability P")
    parser.add_argument("--reorder", type=float, default=0.0, metavar="P",
                        help="hold back each link message with probability P")
    parser.add_argument("--partition", action="store_true",
                        help="add a partition that later heals")
    parser.add_argument("--quiet", type=float, default=20.0,
                        help="virtual seconds of quiet at the end (default 20)")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE:CLASS",
                        help="make a component class that is not installed selectable by its "
                        "name (repeatable), e.g. for a scenario written by netweave conform "
                        "--shrink")
    parser.add_argument("--shrink", metavar="FILE",
                        help="if the run violates a property (as netweave check judges it), "
                        "search for a smaller scenario that violates the same one and write it "
                        "here as a scenario file (exit code 1)")
    parser.add_argument("--trace-messages", action="store_true",
                        help="also trace a send and a recv line for every component message "
                             "that crosses a link (for netweave timeline)")
    parser.add_argument("--links", choices=["protocol", "modelled"],
                        help="the link model: protocol (default: the perfect links' protocol "
                        "over the lossy network) or modelled (perfect links given directly, "
                        "the faults acting on the messages); overrides a scenario file's")
    parser.add_argument("--signed-origins", action="store_true",
                        help="origins sign what they broadcast and every node checks, with "
                             "keys derived from the seed (as signed_origins = true in a "
                             "scenario file; needs the 'secure' extra)")


def run(args: argparse.Namespace) -> int:
    from ..explore import is_counterexample

    if args.scenario is not None and is_counterexample(args.scenario):
        return _replay_counterexample(args)
    if args.scenario is not None:
        if args.layer or args.use:
            print("netweave sim: error: give a scenario file or --layer/--use, not both",
                  file=sys.stderr)
            return 2
        scenario = Scenario.from_toml(args.scenario)
    else:
        if not args.layer and not args.use:
            print("netweave sim: error: give --layer LAYER, --use PLUGIN or a scenario file",
                  file=sys.stderr)
            return 2
        scenario = Scenario.random(
            nodes=args.nodes, seed=args.seed, layer=args.layer, use=args.use,
            messages=args.messages, crash=args.crash, loss=args.loss, partition=args.partition,
            duplicate=args.duplicate, reorder=args.reorder, quiet=args.quiet,
            lossy_quiet=args.lossy_quiet)
    if args.signed_origins:
        scenario.signed_origins = True
    if args.links:
        scenario.links = args.links
    began = time.perf_counter()
    extra = [load_component(ref) for ref in args.plugin]
    classes = [c for c in extra if isinstance(c, type)]
    if len(classes) != len(extra):
        raise ConfigurationError(f"--plugin takes MODULE:CLASS, not a plugin name: "
                                 f"{', '.join(str(e) for e in extra if e not in classes)}")
    catalog = Catalog.discover(extra=classes) if classes else None
    path = output_path(args.shrink) if args.shrink else None
    try:
        cluster = scenario.run(args.seed, trace_messages=args.trace_messages, catalog=catalog)
    except UnknownPluginError as exc:
        raise UnknownPluginError(f"{exc}; a component class that is not installed is named "
                                 f"with --plugin MODULE:CLASS") from None
    paths = cluster.write_trace(args.trace_dir)
    took = time.perf_counter() - began
    print(f"simulated {len(cluster.ids)} nodes to t={cluster.now:.3f}s "
          f"({cluster.clock.events} events, {cluster.messages_sent} link messages) "
          f"in {took:.3f}s; trace: {args.trace_dir} ({len(paths)} files, "
          f"{len(cluster.trace)} lines)", file=sys.stderr)
    if path is not None:
        return _shrink(args, scenario, cluster.trace, catalog, path)
    return 0


def _shrink(args: argparse.Namespace, scenario: Scenario, trace: list[dict[str, Any]],
            catalog: Catalog | None, path: Path) -> int:
    from ..check import History, SpecCatalog, specs_for
    from ..testing.conformance import shrink_violation

    began = time.monotonic()
    # The specs of the layers in the trace just written: no run only to find them.
    catalog = catalog if catalog is not None else Catalog.discover()
    specs = specs_for(History.from_records(trace), SpecCatalog.discover(catalog))[0]
    found = shrink_violation(scenario, args.seed, catalog=catalog, specs=specs,
                             progress=progress_printer())
    if found is None:
        print(f"every property holds with seed {args.seed}: nothing to shrink")
        return 0
    f = found.original
    print(f"{f.plugin}: {f.spec} {f.property!r} violated on layer {f.layer}: "
          f"{f.violation.message}")
    report_shrunk(found, path, began)
    return 1


def _replay_counterexample(args: argparse.Namespace) -> int:
    """A file ``netweave explore`` wrote: take its choices again and write the trace."""
    from ..explore import Counterexample
    from ..trace import write_trace_dir
    from .explore import replay_counterexample

    began = time.perf_counter()
    cx = Counterexample.read(args.scenario)
    world = replay_counterexample(cx)
    paths = write_trace_dir(world.trace, world.ids, args.trace_dir)
    print(f"replayed {len(cx.choices)} choices of {args.scenario} ({cx.plugin}, "
          f"{len(world.ids)} nodes) in {time.perf_counter() - began:.3f}s; trace: "
          f"{args.trace_dir} ({len(paths)} files, {len(world.trace)} lines)", file=sys.stderr)
    return 0
