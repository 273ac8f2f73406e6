"""``netweave timeline``: a trace as a text space-time diagram."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..timeline import MESSAGES
from ._trace import add_trace_argument, load_trace

NAME = "timeline"
HELP = ("Show a trace (a file or a directory of *.jsonl) as a text space-time diagram: a "
        "column per node, time going down (seconds since the first event), the lines of "
        "one instant on one row.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_trace_argument(parser)
    parser.add_argument("--node", action="append", metavar="NODE",
                        help="show this node's column (repeatable; default: every node)")
    parser.add_argument("--layer", action="append", metavar="LAYER",
                        help="show broadcasts and deliveries of this layer only (repeatable)")
    parser.add_argument("--id", action="append", metavar="ID", dest="ids",
                        help="show this message only, with the starts, crashes, suspicions "
                             "and faults around it (repeatable; its id as in the trace or as "
                             "shown)")
    parser.add_argument("--since", type=float, metavar="T",
                        help="drop lines before time T (seconds since the first event, as "
                             "shown)")
    parser.add_argument("--until", type=float, metavar="T",
                        help="drop lines after time T (seconds since the first event)")
    parser.add_argument("--width", type=int, default=24, metavar="W",
                        help="widest column, in characters (default 24)")
    parser.add_argument("--svg", type=Path, metavar="FILE",
                        help="write the diagram as an SVG image to FILE (messages as arrows) "
                             "instead of printing it")
    parser.add_argument("--messages", choices=MESSAGES, default="about",
                        help="in a trace with send and recv lines (netweave sim "
                             "--trace-messages), show those of messages about a broadcast "
                             "(default), all (heartbeats too) or none")


def run(args: argparse.Namespace) -> int:
    from ..timeline import render_svg, render_timeline

    records = load_trace(args.trace, NAME)
    if records is None:
        return 2
    choice = {"nodes": args.node, "layers": args.layer, "ids": args.ids, "since": args.since,
              "until": args.until, "messages": args.messages}
    rows = render_timeline(records, width=args.width, **choice)
    if len(rows) == 1:  # the header alone
        print(f"netweave timeline: none of the {len(records)} lines of {args.trace} matches",
              file=sys.stderr)
    if args.svg is None:
        print("\n".join(rows))
        return 0
    image = render_svg(records, **choice)
    try:
        args.svg.write_text(image, encoding="utf-8")
    except OSError as exc:
        print(f"netweave timeline: cannot write {args.svg}: {exc}", file=sys.stderr)
        return 2
    arrows, lost = image.count('class="msg"'), image.count('class="lost"')
    print(f"netweave timeline: wrote {args.svg} ({arrows} arrows, {lost} messages not "
          f"received in view, {len(image):,} bytes)", file=sys.stderr)
    return 0
