"""``netweave export``: a trace in another tool's format (ShiViz)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._trace import load_trace

NAME = "export"
HELP = ("Write a trace (a file or a directory of *.jsonl) in another tool's format: "
        "shiviz, a log with a vector clock per event for the ShiViz visualiser (several "
        "traces: one execution each).")

FORMATS = ("shiviz",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, nargs="+", metavar="TRACE_DIR_OR_FILE",
                        help="a trace file, or a directory of one <node>.jsonl per node; "
                             "several: one execution each, labelled by its path")
    parser.add_argument("--format", choices=FORMATS, default="shiviz",
                        help="the output format (default shiviz)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write to FILE instead of standard output")


def run(args: argparse.Namespace) -> int:
    from ..shiviz import shiviz_executions

    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for path in args.trace:
        records = load_trace(path, NAME)
        if records is None:
            return 2
        runs.append((str(path), records))
    try:
        text = shiviz_executions(runs)
    except ValueError as exc:
        print(f"netweave export: error: {exc}", file=sys.stderr)
        return 2
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"netweave export: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    return 0
