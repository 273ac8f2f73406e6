"""Traces: one JSON object per line, the contract every checker and tool reads.

Each line has ``t`` (seconds: wall clock in real runs, virtual in simulation), ``node``
and ``ev``; the event kinds and their fields are documented in ``docs/reference/trace.md``.
Writers flush every line (or every ``flush_interval`` seconds at most), so a node killed
with SIGKILL leaves a trace complete up to its last flush. Readers tolerate a truncated
last line, and accept one file or a directory of ``*.jsonl`` files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["FileSink", "ListSink", "Tracer", "dumps_line", "read_trace"]

Sink = Callable[[dict[str, Any]], None]


def dumps_line(record: dict[str, Any]) -> str:
    """Serialise one trace record the canonical way (stable key order, compact)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str)


class Tracer:
    """Writes the trace lines of one node to zero or more sinks."""

    __slots__ = ("_extra", "clock", "node", "sinks")

    def __init__(self, node: str, clock: Callable[[], float], sinks: Iterable[Sink] = ()) -> None:
        self.node = node
        self.clock = clock
        """Where the ``t`` of each line comes from (a runtime sets its own)."""
        self.sinks: list[Sink] = list(sinks)
        self._extra: list[Callable[[dict[str, Any]], None]] = []

    @property
    def enabled(self) -> bool:
        """Whether anything listens; callers skip building records when not."""
        return bool(self.sinks)

    def add_enricher(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """Let ``fn`` add fields to every record (for example a logical clock's value)."""
        self._extra.append(fn)

    def emit(self, ev: str, **fields: Any) -> None:
        """Record event ``ev`` now, at this node."""
        if self.sinks:
            self.write({"t": self.stamp(), "node": self.node, "ev": ev, **fields})

    def stamp(self) -> float:
        """The ``t`` of a line written now: the clock's reading as a float, to the µs."""
        return round(float(self.clock()), 6)

    def write(self, record: dict[str, Any]) -> None:
        """Write a whole record to the sinks (after the enrichers): its first keys must be
        ``t`` (from :meth:`stamp`), ``node`` and ``ev``. For the hottest lines, which build
        their record in one go; :meth:`emit` is the way for everything else."""
        if self._extra:
            for fn in self._extra:
                fn(record)
        for sink in self.sinks:
            sink(record)


class ListSink:
    """Keeps records in memory (the simulator, tests)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        self.records.append(record)


class FileSink:
    """Appends records to a JSON Lines file, flushing at least every ``flush_interval`` s."""

    def __init__(self, path: str | os.PathLike[str], *, flush_interval: float = 0.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._interval = flush_interval
        self._last_flush = time.monotonic()

    def __call__(self, record: dict[str, Any]) -> None:
        self._file.write(dumps_line(record) + "\n")
        now = time.monotonic()
        if now - self._last_flush >= self._interval:
            self._file.flush()
            self._last_flush = now

    def flush(self) -> None:
        """Write out everything buffered."""
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        """Flush and close the file."""
        if not self._file.closed:
            self._file.flush()
            self._file.close()


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if i >= len(lines) - 2:  # a truncated last line (killed writer) is tolerated
                return
            raise ValueError(f"{path}:{i + 1}: not a JSON trace line: {line[:80]!r}") from None
        t = record.get("t", 0.0) if isinstance(record, dict) else None
        if type(t) not in (int, float):
            raise ValueError(f"{path}:{i + 1}: a trace line must be a JSON object whose 't' "
                             f"is a number: {line[:80]!r}")
        yield record


def read_trace(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a trace file or a directory of ``*.jsonl`` files, ordered by time (stable)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.jsonl"))
        if not files:
            raise FileNotFoundError(f"no *.jsonl trace files in {p}")
    elif p.exists():
        files = [p]
    else:
        raise FileNotFoundError(f"no trace at {p}")
    records: list[dict[str, Any]] = []
    for f in files:
        records.extend(_lines(f))
    records.sort(key=lambda r: r.get("t", 0.0))
    return records


def write_trace_dir(records: Iterable[dict[str, Any]], nodes: Iterable[str],
                    directory: str | os.PathLike[str]) -> list[Path]:
    """Write ``records`` as one ``<node>.jsonl`` per node (every one of ``nodes``, even
    without a line) into ``directory``, in the order given: byte-deterministic."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    by_node: dict[str, list[str]] = {n: [] for n in nodes}
    for record in records:
        by_node.setdefault(record["node"], []).append(dumps_line(record))
    paths = []
    for node_id, lines in by_node.items():
        path = out / f"{node_id}.jsonl"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        paths.append(path)
    return paths
