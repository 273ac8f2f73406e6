"""``netweave campaign``: a conformance campaign for a number of seeds or a duration.

It writes to ``--out DIR``: ``summary.json`` and ``summary.txt`` (seeds, failures by
property, seeds/s, fault coverage), and for each failing seed ``seed-S.toml``, its
shrunk scenario, and ``seed-S.html``, the view of the shrunk run with the violation
marked (the seed's own run when it was not shrunk). The summary names those files
relative to ``DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._component import load_component
from .conform import (
    Progress,
    _catalog,
    _options,
    add_cluster_argument,
    add_plugin_arguments,
    add_recheck_argument,
)

if TYPE_CHECKING:
    from ..plugin import Component
    from ..testing.campaign import CampaignFailure

NAME = "campaign"
HELP = ("Run a plugin over seeds of a fault mix (each seed its own fault profile by "
        "default) until a number of seeds or a duration, locally or on a Dask cluster; "
        "write a summary and each failing seed's shrunk scenario and view; exit 0 only if "
        "every seed passes.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..testing.conformance import MIXES

    add_plugin_arguments(parser)
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="stop after N seeds (give --seeds, --duration or both)")
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="stop handing out seeds after this many wall-clock seconds")
    parser.add_argument("--first", type=int, default=0, metavar="S",
                        help="the first seed (default 0)")
    parser.add_argument("--mix", choices=sorted(MIXES), default="random",
                        help="how each seed's faults are drawn (default: random, a fault "
                        "profile per seed)")
    parser.add_argument("--jobs", type=int, default=0, metavar="J",
                        help="local processes to run seeds in (default 0: one per CPU)")
    add_cluster_argument(parser)
    add_recheck_argument(parser, 0.05)
    parser.add_argument("--max-failures", type=int, metavar="K",
                        help="stop after K failing seeds (default: never)")
    parser.add_argument("--shrink-limit", type=int, default=20, metavar="K",
                        help="shrink the first K failing seeds (default 20)")
    parser.add_argument("--max-runs", type=int, default=500, metavar="R",
                        help="the shrinking budget of each failing seed, in runs "
                        "(default 500)")
    parser.add_argument("--out", default="campaign", metavar="DIR",
                        help="where the summary and the failing seeds' files go "
                        "(default: ./campaign)")


def run(args: argparse.Namespace) -> int:
    from ..testing.campaign import run_campaign

    if args.seeds is None and args.duration is None:
        raise ConfigurationError("give --seeds N, --duration SECONDS, or both")
    if args.max_failures is not None and args.max_failures < 1:
        raise ConfigurationError("--max-failures must be at least 1")
    if args.max_runs < 1:
        raise ConfigurationError("--max-runs must be at least 1")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigurationError(f"--out {args.out}: not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"--out {args.out}: {exc.strerror}") from None
    plugin = load_component(args.plugin)
    options = _options(args.option)
    progress = Progress(args.seeds, args.cluster)

    def shrinking(done: int, total: int) -> None:
        print(f"  shrunk {done}/{total} failing seeds", file=sys.stderr, flush=True)

    result = run_campaign(plugin, seeds=args.seeds, duration=args.duration,
                          first=args.first, mix=args.mix, use=args.use, options=options,
                          jobs=args.jobs, cluster=args.cluster, recheck=args.recheck,
                          max_failures=args.max_failures, shrink_limit=args.shrink_limit,
                          max_runs=args.max_runs, progress=progress,
                          on_workers=progress.workers_now, on_shrink=shrinking)
    files: dict[int, dict[str, str]] = {}
    for entry in result.failures:
        files[entry.failure.seed] = _keep(plugin, entry, out, args)
    summary = result.summary(files)
    text = result.text(files)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"  in {out}: summary.json, summary.txt"
          + (", and for each failing seed its shrunk scenario (seed-S.toml, run it with "
             "netweave sim as its first lines say) and its view (seed-S.html)"
             if result.failures else ""))
    return 0 if result.ok else 1


def _keep(plugin: str | type[Component], entry: CampaignFailure, out: Path,
          args: argparse.Namespace) -> dict[str, str]:
    """Write a failing seed's shrunk scenario and the view of its run; their paths."""
    from ..testing.conformance import MIXES, replay

    seed = entry.failure.seed
    paths: dict[str, str] = {}
    scenario = entry.shrunk_scenario()
    if scenario is not None and entry.shrunk_toml is not None:
        toml = out / f"seed-{seed}.toml"
        toml.write_text(entry.shrunk_toml, encoding="utf-8")
        paths["scenario_file"] = toml.name
        run = scenario.run(int(entry.shrunk_seed or 0), catalog=_catalog(plugin),
                           trace_messages=True)
        what = f"shrunk scenario of seed {seed}, run with seed {entry.shrunk_seed}"
    else:
        run = replay(plugin, seed, mix=MIXES[args.mix], use=args.use,
                     options=_options(args.option), trace_messages=True)
        what = f"seed {seed} ({args.mix} mix)"
    view = out / f"seed-{seed}.html"
    f = entry.failure
    if _view(plugin, view, run.trace, f"{f.plugin}: {what}, {f.spec} {f.property!r}"):
        paths["view"] = view.name
    return paths


def _view(plugin: str | type[Component], path: Path, trace: Sequence[Mapping[str, Any]],
          title: str) -> bool:
    from ..check import SpecCatalog, check_trace
    from ..view import write_view

    try:
        report = check_trace(trace, SpecCatalog.discover(_catalog(plugin)), examples=20)
        write_view(trace, path, report, title=title)
    except (OSError, ValueError) as exc:
        print(f"  view of {path.stem} not written: {exc}", file=sys.stderr)
        return False
    return True
