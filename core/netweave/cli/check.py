"""``netweave check``: judge a trace against the specifications of its layers."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from ..check import Report, SpecCatalog, TraceFormatError, check_history
from ..check._history import History
from ._trace import add_trace_argument, load_trace

NAME = "check"
HELP = ("Check a trace (a file or a directory of *.jsonl) against the specification of "
        "every layer found in it; exit 0 only if every property holds.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_trace_argument(parser)
    parser.add_argument("--json", action="store_true",
                        help="print a machine-readable report instead of one line per property")
    parser.add_argument("--examples", type=int, default=3, metavar="N",
                        help="counterexamples kept per violated property (default 3)")


def run(args: argparse.Namespace) -> int:
    records = load_trace(args.trace, NAME)
    if records is None:
        return 2
    try:
        history = History.from_records(records)
    except ValueError as exc:  # TraceFormatError, or a field of the wrong type
        kind = "malformed trace" if isinstance(exc, TraceFormatError) else "cannot read trace"
        print(f"netweave check: {kind}: {exc}", file=sys.stderr)
        return 2
    if not history.events:
        print(f"netweave check: no trace lines in {args.trace}", file=sys.stderr)
        return 2
    report = check_history(history, SpecCatalog.discover(), examples=max(1, args.examples))
    if args.json:
        print(json.dumps({"trace": str(args.trace), **report.as_dict()}, indent=2, default=str))
    else:
        print(f"{args.trace}: {len(history.nodes)} nodes, {report.processes} processes, "
              f"{report.lines} lines, last at t={report.end:.3f}")
        print(report.format())
    ids = [] if args.json else _first_violation_ids(report)
    if ids:
        print(f"see it happen: netweave timeline {shlex.quote(str(args.trace))} "
              + " ".join(f"--id {shlex.quote(i)}" for i in ids), file=sys.stderr)
    for layer in report.unchecked:
        print(f"netweave check: warning: layer {layer!r} has no specification installed; "
              f"it was not checked", file=sys.stderr)
    return 0 if report.ok else 1


def _first_violation_ids(report: Report) -> list[str]:
    """The message ids in the first violation that names any (an order violation has two)."""
    for result in report.violated:
        lines = result.examples[0].lines if result.examples else ()
        ids = [line["id"] for line in lines if isinstance(line.get("id"), str)]
        if ids:
            return list(dict.fromkeys(ids))
    return []
