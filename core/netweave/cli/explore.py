"""``netweave explore``: every run of a small scope, each state once (see
:mod:`netweave.explore`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ._component import load_component
from .conform import _options, add_plugin_arguments

NAME = "explore"
HELP = ("Explore every run of a small scope (nodes, broadcasts, crashes...) and report the "
        "shortest one that violates a property.")

EXIT_LIMIT = 3
"""Exit code when a limit stopped the search before the scope was exhausted."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_plugin_arguments(parser)
    scope = parser.add_argument_group("scope (which runs exist)")
    scope.add_argument("--nodes", type=int, default=3, help="cluster size (default 3)")
    scope.add_argument("--messages", type=int, default=2,
                       help="broadcasts in a run, from any node (default 2)")
    scope.add_argument("--crashes", type=int, default=1, help="crashes in a run (default 1)")
    scope.add_argument("--restarts", type=int, default=0,
                       help="restarts of a crashed node in a run (default 0)")
    scope.add_argument("--losses", type=int, default=None,
                       help="messages of crashed senders that may be lost (default: one "
                       "per crash; perfect links lose nothing of a live sender)")
    scope.add_argument("--fd", choices=("perfect", "eventual"), default="perfect",
                       help="the failure detector modelled: perfect (reports a crash any "
                       "time after it, never before) or eventual (may also suspect a live "
                       "process and restore it); default perfect")
    scope.add_argument("--suspicions", type=int, default=1,
                       help="wrong suspicions in a run, with --fd eventual (default 1)")
    scope.add_argument("--timers", type=int, default=0,
                       help="timer firings per process (default 0: the standard layers "
                       "need none to be correct)")
    scope.add_argument("--ordered", action="store_true",
                       help="links deliver in send order (default: in any order)")
    search = parser.add_argument_group("search")
    search.add_argument("--strategy", choices=("bfs", "dfs", "random"), default="bfs",
                        help="bfs (default: shortest counterexample), dfs, or random runs")
    search.add_argument("--max-depth", type=int, default=None, metavar="D",
                        help="explore runs of at most D choices")
    search.add_argument("--max-states", type=int, default=None, metavar="S",
                        help="stop after reaching S states (random: default 100,000)")
    search.add_argument("--max-seconds", type=float, default=None, metavar="T",
                        help="stop after T seconds")
    search.add_argument("--symmetry", action="store_true",
                        help="take states that differ only by renaming nodes as one (sound "
                        "when the plugin treats node ids alike: no 'lowest id wins')")
    search.add_argument("--no-sleep-sets", dest="sleep_sets", action="store_false",
                        help="take every step, even one that only reaches a state by "
                        "another order of the same independent steps (the same states, "
                        "more steps: for comparison)")
    search.add_argument("--seed", type=int, default=0, help="seed of --strategy random")
    search.add_argument("--jobs", type=int, default=1, metavar="J",
                        help="breadth-first on J processes, level by level (default 1): "
                        "the same verdict, the limits checked once per level")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, default=Path("counterexample.toml"), metavar="FILE",
                     help="where a counterexample goes (default counterexample.toml); "
                     "netweave sim FILE replays it")
    out.add_argument("--trace-dir", type=Path, metavar="DIR",
                     help="also write the counterexample's trace here")


def _scope(args: argparse.Namespace) -> Any:
    from ..explore import Scope

    return Scope(nodes=args.nodes, messages=args.messages, crashes=args.crashes,
                 restarts=args.restarts, losses=args.losses, fd=args.fd,
                 suspicions=args.suspicions, timers=args.timers, ordered=args.ordered)


def _describe(args: argparse.Namespace, scope: Any, plugin: str) -> str:
    def n(count: int, word: str, plural: str = "") -> str:
        return f"{count} {word if count == 1 else plural or word + 's'}"

    parts = [n(scope.nodes, "node"), n(scope.messages, "broadcast"),
             n(scope.crashes, "crash", "crashes")]
    if scope.restarts:
        parts.append(n(scope.restarts, "restart"))
    parts.append(n(scope.loss_budget, "loss", "losses"))
    if scope.fd == "eventual":
        parts.append(f"eventually perfect detector, {n(scope.suspicions, 'wrong suspicion')}")
    else:
        parts.append("perfect detector")
    if scope.timers:
        parts.append(n(scope.timers, "timer firing") + " per process")
    parts.append("ordered links" if scope.ordered else "unordered links")
    return f"explore {plugin}: {', '.join(parts)}; {args.strategy}" + (
        ", symmetry" if args.symmetry else "") + (
        f", {args.jobs} processes" if args.jobs > 1 else "")


def run(args: argparse.Namespace) -> int:
    from ..explore import Counterexample, World, explore
    from ..explore._search import check_jobs

    plugin = load_component(args.plugin)
    uses: list[tuple[str | type[Any], dict[str, Any]]] = [
        (load_component(u), {}) for u in args.use]
    options = _options(args.option)
    scope = _scope(args)
    name = args.plugin

    def make_world() -> World:
        return World(plugin, scope, options=options, uses=uses)

    check_jobs(args.jobs, args.strategy)
    make_world()  # configuration errors now, before the search's first line
    print(_describe(args, scope, name), flush=True)

    def progress(result: Any) -> None:
        print(f"  {result.visited:,} states, {result.distinct:,} distinct, depth "
              f"{result.depth}, {result.rate:,.0f} states/s", file=sys.stderr, flush=True)

    result = explore(make_world, strategy=args.strategy, max_states=args.max_states,
                     max_depth=args.max_depth, max_seconds=args.max_seconds,
                     symmetry=args.symmetry, seed=args.seed, jobs=args.jobs,
                     progress=progress, sleep_sets=args.sleep_sets)
    summary = (f"{result.visited:,} states reached, {result.distinct:,} distinct, depth "
               f"{result.depth}, {result.seconds:.1f}s ({result.rate:,.0f} states/s), "
               f"{result.ends:,} end states judged")
    if result.sleep_sets:
        summary += f", {result.slept:,} steps asleep"
    found = result.found
    if found is not None:
        print(f"VIOLATED: {found.spec} {found.property!r} ({found.kind}) on layer "
              f"{found.layer}: {found.violation.message}")
        print(f"the {'shortest ' if args.strategy == 'bfs' else ''}run that shows it, "
              f"{len(found.path)} choices:")
        for i, choice in enumerate(found.path, 1):
            print(f"  {i:>2}. {choice}")
        cx = Counterexample(name, scope, found.path, tuple(args.use), options,
                            f"{found.spec} {found.property!r} violated on layer {found.layer}")
        path = cx.write(args.out)
        print(f"counterexample written to {path}: netweave sim {path} --trace-dir DIR "
              f"replays it, netweave check DIR judges it, netweave timeline DIR lays it out")
        world = replay_counterexample(cx)
        from ..timeline import render_timeline
        from ..trace import write_trace_dir

        if args.trace_dir:
            write_trace_dir(world.trace, world.ids, args.trace_dir)
            print(f"its trace: {args.trace_dir}")
        print("timeline:")
        for row in render_timeline(world.trace):
            print(f"  {row}")
        print(summary)
        return 1
    sometimes = ", ".join(f"{what} ({count:,})" if count else f"{what} (NEVER)"
                          for what, count in result.sometimes.reached.items())
    if result.exhausted:
        print(f"exhausted, no property violated: {summary}")
        print(f"reached: {sometimes}")
        return 0
    print(f"NOT exhausted: the search stopped at its {result.limit} limit before the scope "
          f"was covered; no violation among {summary}")
    print(f"reached: {sometimes}")
    return EXIT_LIMIT


def replay_counterexample(cx: Any) -> Any:
    """The :class:`~netweave.explore.World` after the counterexample's choices."""
    from ..explore import World, replay

    plugin = load_component(cx.plugin)
    uses: list[tuple[str | type[Any], dict[str, Any]]] = [
        (load_component(u), {}) for u in cx.use]
    try:
        return replay(lambda: World(plugin, cx.scope, options=cx.options, uses=uses),
                      cx.choices)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
