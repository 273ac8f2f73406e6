"""The benchmark suite: its options, running every part or some, and the results table.

Used by ``netweave bench`` and by ``benchmarks/run_all.py``; both take the same
arguments. Every part prints its own header and table as it goes; at the end the goals
of the project are printed beside the measured figures, with the command of each row,
as a markdown table (also written to ``--results FILE``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._procs import BenchError, sigterm_raises
from ._report import Row, header, loop_name, markdown

__all__ = ["PARTS", "add_arguments", "run"]

PARTS = ("link", "broadcast", "fd", "sim", "bus", "codec")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's options (every part reads the ones it needs)."""
    from .broadcast import BASELINES, LAYERS

    parser.add_argument("parts", nargs="*", metavar="PART",
                        help=f"what to run: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="short versions of everything (a sanity run of ~2 minutes)")
    parser.add_argument("--duration", type=float, default=5.0, metavar="S",
                        help="measured window of each broadcast phase (5; 30 and 60 for the "
                        "throughput and memory goals)")
    parser.add_argument("--warmup", type=float, default=1.0, metavar="S",
                        help="warm-up before each measured window (1)")
    parser.add_argument("--layers", default=",".join(LAYERS), metavar="A,B",
                        help=f"broadcast layers (default: {','.join(LAYERS)}); also raw "
                        "baselines, measured beside them in the saturate phase when named "
                        "(e.g. --layers beb,raw-beb,raw-relay,zmq-pubsub --modes saturate): "
                        + "; ".join(f"{k}: {v}" for k, v in BASELINES.items()))
    parser.add_argument("--nodes", type=_ints, default=[3, 4, 5], metavar="3,4,5",
                        help="cluster sizes of the broadcast part")
    parser.add_argument("--modes", default="rate,saturate", metavar="A,B",
                        help="broadcast phases: rate (fixed rate), saturate (as fast as the "
                        "links accept); default both")
    parser.add_argument("--rate", type=float, default=1000.0, metavar="R",
                        help="broadcasts/s of the whole cluster in the fixed-rate phase (1000)")
    parser.add_argument("--batch", type=int, default=64, metavar="B",
                        help="broadcasts per event-loop step at saturation (64)")
    parser.add_argument("--high-water", type=int, metavar="N",
                        help="links high_water of the broadcast part (default: the links')")
    parser.add_argument("--rto", type=float, metavar="S",
                        help="links rto of the broadcast part (default: the links')")
    parser.add_argument("--link-duration", type=float, default=3.0, metavar="S",
                        help="measured window of the single-link stream (3)")
    parser.add_argument("--rtt-count", type=int, default=2000, metavar="N",
                        help="round trips measured on the single link (2000)")
    parser.add_argument("--trials", type=int, default=10, metavar="N",
                        help="failure-detection trials per profile and fault (10; 0: only "
                        "the busy run)")
    parser.add_argument("--profiles", default="default,fast", metavar="A,B",
                        help="failure-detector profiles: default (period 0.5 s, timeout 2 s), "
                        "fast (0.2 s, 1 s)")
    parser.add_argument("--busy-duration", type=float, default=10.0, metavar="S",
                        help="length of the busy run counting false suspicions (10; 300 "
                        "for the 5-minute goal)")
    parser.add_argument("--qos", action="store_true",
                        help="fd part: the quality of service of every installed failure "
                        "detector in the simulator (T_D, T_MR, T_M, P_A after Chen, Toueg "
                        "and Aguilera) instead of perfect-fd on real processes")
    parser.add_argument("--qos-seeds", type=int, default=48, metavar="N",
                        help="with --qos: simulated runs per detector and setting (48)")
    parser.add_argument("--qos-mix", choices=["faulty", "calm"], default="faulty",
                        help="with --qos: the network; faulty: wide-area latency, loss, "
                        "pauses and one-way partitions of up to 10 s; calm: a LAN, faults "
                        "of at most 1 s (default: faulty)")
    parser.add_argument("--qos-trials", type=int, default=0, metavar="N",
                        help="with --qos: also measure each detector on real processes: N "
                        "SIGKILL and N SIGSTOP detections, and the mistakes of a busy run of "
                        "--busy-duration seconds (0: none)")
    parser.add_argument("--plot", type=Path, metavar="FILE",
                        help="with --qos: draw T_D against P_A, one point per detector and "
                        "setting, as an SVG file")
    parser.add_argument("--seeds", type=int, default=2000, metavar="N",
                        help="simulator seeds (2,000: in two processes a shorter run "
                        "measures starting the worker pool as much as the simulator)")
    parser.add_argument("--jobs", type=int, default=0, metavar="N",
                        help="simulator processes besides the one-process run (0: one per CPU)")
    parser.add_argument("--links", choices=["modelled", "protocol"], default="modelled",
                        help="the simulator's link model: modelled (default: perfect links "
                        "given directly) or protocol (the links' protocol over the lossy "
                        "network, with its acks and retransmissions)")
    parser.add_argument("--events", type=int, default=1_000_000, metavar="N",
                        help="event bus events (1,000,000)")
    parser.add_argument("--count", type=int, default=200_000, metavar="N",
                        help="codec frames per kind (200,000)")
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto",
                        help="event loop of the network workers (auto: uvloop if installed)")
    parser.add_argument("--results", type=Path, metavar="FILE",
                        help="also write the results table (markdown) to FILE")


def _quick(args: argparse.Namespace) -> None:
    args.duration, args.warmup, args.link_duration = 2.0, 0.5, 1.0
    args.nodes, args.rtt_count, args.trials = [4], 300, 2
    args.busy_duration, args.seeds, args.events, args.count = 3.0, 50, 200_000, 50_000


def _links(args: argparse.Namespace) -> dict[str, object]:
    links: dict[str, object] = {}
    if args.high_water is not None:
        links["high_water"] = args.high_water
    if args.rto is not None:
        links["rto"] = args.rto
        links["max_rto"] = max(args.rto * 10, 2.0)  # the default cap (2 s) must stay above
    return links


def run(args: argparse.Namespace) -> int:
    """Run the chosen parts; 0 when every part ran (goals missed are not errors)."""
    from . import broadcast, fd, link, micro

    if args.quick:
        _quick(args)
    parts = list(args.parts) or list(PARTS)
    from .broadcast import BASELINES, LAYERS
    from .fd import PROFILES

    unknown = [p for p in parts if p not in PARTS]
    unknown += [x for x in args.profiles.split(",") if x not in PROFILES]
    unknown += [x for x in args.layers.split(",") if x and x not in LAYERS
                and x not in BASELINES]
    unknown += [x for x in args.modes.split(",") if x not in ("rate", "saturate")]
    if (args.qos or args.plot is not None) and "fd" not in parts:
        unknown.append("--qos and --plot without the fd part")
    elif args.plot is not None and not args.qos:
        unknown.append("--plot without --qos")
    if args.qos and args.qos_seeds < 1:
        unknown.append("--qos-seeds below 1")
    if unknown:
        print(f"netweave bench: error: unknown {', '.join(unknown)}; parts: {', '.join(PARTS)}"
              f"; layers: {', '.join([*LAYERS, *BASELINES])}; profiles: {', '.join(PROFILES)}")
        return 2
    loop = loop_name(args.loop)
    rows: list[Row] = []
    began = time.monotonic()
    try:
        with sigterm_raises():
            for part in parts:
                if part == "link":
                    rows += link.run(duration=args.link_duration, warmup=args.warmup,
                                     rtt_count=args.rtt_count, loop=loop)
                elif part == "broadcast":
                    rows += broadcast.run(
                        layers=[x for x in args.layers.split(",") if x], sizes=args.nodes,
                        duration=args.duration, warmup=args.warmup, total_rate=args.rate,
                        batch=args.batch, loop=loop, links=_links(args),
                        modes=tuple(m for m in args.modes.split(",") if m))
                elif part == "fd" and args.qos:
                    rows += fd.run_qos(seeds=args.qos_seeds, mix=args.qos_mix,
                                       jobs=args.jobs, plot=args.plot,
                                       trials=args.qos_trials, loop=loop,
                                       busy_duration=args.busy_duration)
                elif part == "fd":
                    rows += fd.run(trials=args.trials, busy_duration=args.busy_duration,
                                   loop=loop, profiles=tuple(args.profiles.split(",")))
                elif part == "sim":
                    rows += micro.run_sim(seeds=args.seeds, jobs=args.jobs, links=args.links)
                elif part == "bus":
                    rows += micro.run_bus(events=args.events)
                elif part == "codec":
                    rows += micro.run_codec(count=args.count)
                print(flush=True)
    except BenchError as exc:
        print(f"netweave bench: error: {exc}", flush=True)
        return 1
    header("results: goals beside the figures measured in this run",
           parts=",".join(parts), took=f"{time.monotonic() - began:.0f}s", loop=loop)
    table = markdown(rows)
    print(table)
    if args.results is not None:
        args.results.write_text(table + "\n", encoding="utf-8")
    return 0
