"""What every benchmark prints: the machine header, latency histograms, result rows.

Latencies are kept in a histogram of logarithmic buckets (2 % wide) rather than a list,
so a worker that records millions of deliveries keeps a constant memory footprint (its
RSS is one of the figures) and histograms of several processes merge by adding counts.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import timeit
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

__all__ = ["Histogram", "Row", "header", "interpreter_speed", "loop_name", "machine",
           "markdown", "ms", "peak_rss_bytes", "quantile", "rate", "rss_bytes", "source"]

_BASE = 1e-6  # seconds: the lower edge of bucket 0
_LOG_STEP = math.log(1.02)


def machine() -> str:
    """One line: Python, CPU count and model, operating system."""
    cpu = _cpu_model() or platform.processor() or platform.machine()
    load = ""
    with contextlib.suppress(OSError, AttributeError):
        # Other work on the machine skews every figure: say how busy it was.
        load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (f"python {sys.version.split()[0]} ({platform.python_implementation()}), "
            f"{os.cpu_count()} cpus, {cpu}, {platform.system()} {platform.release()}{load}")


def interpreter_speed() -> float:
    """Microseconds this interpreter takes to sum 1,000 integers (best of 5 runs).

    A fixed piece of pure-Python work, timed next to every figure: the same code runs at
    different speeds on different machines, and figures of two machines compare once on
    the same footing (a rate multiplied by this time, a duration divided by it).
    """
    runs = timeit.repeat("sum(range(1000))", number=500, repeat=5)
    return min(runs) / 500 * 1e6


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def loop_name(choice: str) -> str:
    """The event loop a worker will run for ``choice`` (``auto`` = uvloop when installed)."""
    if choice == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise
        return "asyncio"
    return "uvloop"


def compiled_build() -> dict[str, Any] | None:
    """What a compiled build of netweave holds (``NETWEAVE_COMPILE``), or ``None``."""
    info = Path(__file__).resolve().parents[1] / "_build_info.json"
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def source() -> str:
    """netweave's version, and its commit when it runs from a git checkout."""
    from .. import __version__

    root = Path(__file__).resolve().parents[3]
    text = f"netweave {__version__}"
    compiled = compiled_build()
    if compiled is not None:
        # A compiled wheel (hatch_build.py) says what it holds and where it was built from.
        commit = compiled.get("commit")
        return (text + (f", commit {commit}" if commit else "")
                + (" + uncommitted changes" if compiled.get("dirty") else "")
                + f", compiled with mypyc ({len(compiled.get('compiled', []))} modules)")
    if not (root / ".git").exists():
        return text
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "core", "plugins"], capture_output=True, text=True,
                               timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    # Uncommitted changes of the code measured make a figure hard to reproduce: say so.
    return f"{text}, commit {commit}" + (" + uncommitted changes" if dirty else "")


def header(title: str, **params: object) -> None:
    """Print what was measured, where, and with which parameters."""
    print(f"# {title}")
    print(f"# {machine()}")
    print(f"# interpreter speed: sum(range(1000)) in {interpreter_speed():.1f} us")
    print(f"# {source()}")
    if params:
        print("# " + ", ".join(f"{k}={v}" for k, v in params.items()))
    sys.stdout.flush()


def rss_bytes() -> int:
    """This process's resident set size now (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def peak_rss_bytes() -> int:
    """The largest resident set size this process has had."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@attrs.define(eq=False)
class Histogram:
    """Counts of latencies (seconds) in 2 %-wide logarithmic buckets."""

    counts: dict[int, int] = attrs.field(factory=dict)
    total: int = 0

    def add(self, seconds: float) -> None:
        """Record one latency."""
        i = int(math.log(seconds / _BASE) / _LOG_STEP) if seconds > _BASE else 0
        self.counts[i] = self.counts.get(i, 0) + 1
        self.total += 1

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s counts to this one."""
        for i, n in other.counts.items():
            self.counts[i] = self.counts.get(i, 0) + n
        self.total += other.total

    def quantile(self, q: float) -> float | None:
        """The latency below which a fraction ``q`` of the samples fall (bucket middle)."""
        if not self.total:
            return None
        rank = max(1, math.ceil(q * self.total))
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= rank:
                return float(_BASE * math.exp((i + 0.5) * _LOG_STEP))
        raise AssertionError("unreachable: ranks are within the total")

    def to_json(self) -> list[list[int]]:
        """Plain values for a JSON line."""
        return [[i, n] for i, n in self.counts.items()]

    @classmethod
    def from_json(cls, data: Iterable[Iterable[int]]) -> Histogram:
        """The inverse of :meth:`to_json`."""
        h = cls()
        for i, n in data:
            h.counts[i] = h.counts.get(i, 0) + n
            h.total += n
        return h

    @classmethod
    def of(cls, samples: Iterable[float]) -> Histogram:
        """A histogram of ``samples``."""
        h = cls()
        for s in samples:
            h.add(s)
        return h


def quantile(samples: Iterable[float], q: float) -> float | None:
    """The exact ``q`` quantile of a few samples (nearest rank), ``None`` if empty."""
    ordered = sorted(samples)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float | None, digits: int = 2) -> str:
    """Seconds as milliseconds text, ``-`` when absent."""
    return "-" if seconds is None else f"{seconds * 1000:.{digits}f}"


def rate(value: float) -> str:
    """A rate with thousands separators."""
    return f"{value:,.0f}"


@attrs.frozen
class Row:
    """One line of the results table: a figure, the goal beside it, and how to reproduce."""

    measurement: str
    figure: str
    command: str
    goal: str = ""
    met: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return attrs.asdict(self)


def markdown(rows: Iterable[Row]) -> str:
    """The rows as a markdown table (measurement, figure, goal, command)."""
    out = ["| measurement | figure | goal | command |", "|---|---|---|---|"]
    for r in rows:
        goal = r.goal
        if goal and r.met is not None:
            goal += " (met)" if r.met else " (**missed**)"
        out.append(f"| {r.measurement} | {r.figure} | {goal or '-'} | `{r.command}` |")
    return "\n".join(out)


@attrs.frozen
class PhaseFigures:
    """What one phase of one cluster measured."""

    layer: str
    nodes: int
    mode: str
    offered: float
    sustained: float
    deliveries: float
    p50: float | None
    p99: float | None
    frames_per_bcast: float
    data_per_bcast: float
    resent_per_bcast: float
    peak_rss_mb: float
    rss_growth: float
    complete: bool
    suspicions: int
    lost: float | None = None
    """Fraction of the messages a lossy baseline (zmq-pubsub) never delivered."""
