"""What the commands that read a trace share: its argument, and reading it or saying why not."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..trace import read_trace


def add_trace_argument(parser: argparse.ArgumentParser) -> None:
    """The positional ``TRACE_DIR_OR_FILE`` argument."""
    parser.add_argument("trace", type=Path, metavar="TRACE_DIR_OR_FILE",
                        help="a trace file, or a directory of one <node>.jsonl per node")


def load_trace(path: Path, command: str) -> list[dict[str, Any]] | None:
    """The trace's lines, or ``None`` after printing why they cannot be read."""
    try:
        return read_trace(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"netweave {command}: cannot read trace: {exc}", file=sys.stderr)
        return None
