"""``netweave view``: a trace as one self-contained, interactive HTML page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._trace import add_trace_argument, load_trace

NAME = "view"
HELP = ("Write a trace (a file or a directory of *.jsonl) as one self-contained HTML page: a "
        "lane per node, messages as arrows, hover for details, click an event for its "
        "causal past and future, filters, a slider through the run, and the lines that "
        "break a property (as netweave check judges them) marked.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_trace_argument(parser)
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="the HTML file to write (default: the trace's path with .html: "
                             "runs/rb.html for runs/rb, run.html for run.jsonl)")
    parser.add_argument("--no-check", action="store_true",
                        help="do not check the trace (no violations marked)")
    parser.add_argument("--examples", type=int, default=20, metavar="N",
                        help="counterexamples marked per violated property (default 20)")
    parser.add_argument("--title", help="the page's title (default: the trace's path)")


def default_output(trace: Path) -> Path:
    """``runs/rb`` -> ``runs/rb.html``; ``run.jsonl`` -> ``run.html``."""
    if trace.is_file():
        return trace.with_suffix(".html")
    if trace.name in ("", ".", ".."):
        trace = trace.resolve()
    return trace.with_name(f"{trace.name}.html") if trace.name else Path("trace.html")


def run(args: argparse.Namespace) -> int:
    from ..view import render_view

    if args.examples < 1:
        print("netweave view: error: --examples must be at least 1", file=sys.stderr)
        return 2
    records = load_trace(args.trace, NAME)
    if records is None:
        return 2
    out: Path = args.output or default_output(args.trace)
    try:
        page = render_view(records, check=not args.no_check,
                           title=args.title or str(args.trace), examples=args.examples)
    except ValueError as exc:  # a time that is not a finite number
        print(f"netweave view: cannot draw trace: {exc}", file=sys.stderr)
        return 2
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        print(f"netweave view: cannot write {out}: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0
