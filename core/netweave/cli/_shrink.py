"""What ``netweave conform --shrink`` and ``netweave sim --shrink`` print and write."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..sim import Scenario
    from ..testing.conformance import ShrunkFailure

PROGRESS_EVERY = 2.0
"""Seconds between progress lines on standard error."""


def progress_printer() -> Callable[[int, Scenario], None]:
    """A ``progress`` callback that says, every few seconds, how far shrinking got."""
    last = time.monotonic()

    def progress(runs: int, smallest: Scenario) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            print(f"  {runs} runs, smallest yet: {smallest.summary()}", file=sys.stderr,
                  flush=True)

    return progress


def output_path(text: str) -> Path:
    """The ``--shrink FILE`` path, checked before any run: a long search must not end in a
    file that cannot be written."""
    path = Path(text)
    if path.is_dir():
        raise ConfigurationError(f"--shrink {text}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"--shrink {text}: cannot create {path.parent}: "
                                 f"{exc.strerror}") from None
    return path


def report_shrunk(found: ShrunkFailure, path: Path, began: float) -> None:
    """Write the shrunk scenario to ``path``; say how small it is and how to run it."""
    try:
        path.write_text(found.to_toml(), encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror}") from None
    small, shrunk = found.failure, found.shrunk
    budget = " (the budget: it may shrink further)" if shrunk.exhausted else ""
    print(f"  shrunk from {shrunk.original.summary()} in {shrunk.runs} runs{budget} "
          f"({time.monotonic() - began:.1f}s) to {found.scenario.summary()} with seed "
          f"{found.seed}: {small.property} violated, {small.violation.message}")
    print(f"  written to {path}; run it: {found.command(shlex.quote(str(path)))} "
          f"--trace-dir trace-shrunk --trace-messages, then netweave timeline trace-shrunk")
