"""A trace read as a history of processes: who started, crashed, broadcast and delivered.

Theory of operation. Trace lines carry a node id but no incarnation (only ``start`` lines
do), so every line is attributed to the node's latest *process*, the one opened by the
node's latest ``start`` line (lines of a node before its first ``start`` belong to an
implicit process of incarnation 0). A process is identified by ``(node, incarnation)``:
a restart is a new process, never the old one coming back.

How a process ends, and whether it is *correct*:

- ``crash`` ends it as crashed. A ``start`` that follows neither ``crash`` nor ``stop``
  also ends the previous process as crashed: it was killed without the injector
  recording it.
- ``stop`` ends it cleanly; a stopped process is correct (the trace format's definition:
  a node is correct when it has no ``crash`` after its last ``start``).
- Otherwise it runs to the end of the trace, and is correct.

Which messages a correct process is *obliged* to deliver (liveness properties):

- a node's first process in the trace is obliged to deliver every message, even if it
  started late: a late start is a slow process, not a new one;
- a restarted process (not its node's first) is only obliged to deliver messages
  broadcast strictly after it started; earlier ones it may deliver or not;
- a stopped process is only obliged for messages broadcast before it stopped.

Liveness is judged on the state at the end of the trace, which assumes the trace ends
with a quiet period (no broadcasts, no faults, partitions healed) long enough for every
message to settle and every detector to time out; the simulator provides one (``quiet``
in a scenario). Lines do not show it (nothing may happen during it), so it cannot be
checked here: a trace cut short can show liveness violations that are not bugs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from ..errors import NetweaveError

__all__ = ["Event", "History", "Process", "TraceFormatError"]

_MESSAGE_EVENTS = ("broadcast", "deliver")
_FD_EVENTS = ("suspect", "restore")


class TraceFormatError(NetweaveError, ValueError):
    """A trace line lacks a field the trace format requires."""


@attrs.define(eq=False, repr=False)
class Process:
    """One process of the trace: a node between one ``start`` and its end. Read-only."""

    node: str
    """The node id."""
    incarnation: int
    """From the ``start`` line; 0 for lines of a node before any ``start``."""
    index: int
    """Position among the node's processes in the trace (0: its first)."""
    start: float
    """Time of the ``start`` line (``-inf`` for the implicit process)."""
    start_line: Mapping[str, Any] | None = None
    """The ``start`` line, if any."""
    end: float | None = None
    """Time of the ``crash`` or ``stop`` that ended it; ``None`` if it ran to the end."""
    end_line: Mapping[str, Any] | None = None
    """The line that ended it, if any."""
    crashed: bool = False
    """Whether it crashed (``crash`` line, or superseded by a ``start`` without ``stop``)."""
    stopped: bool = False
    """Whether it stopped cleanly."""

    @property
    def correct(self) -> bool:
        """A process is correct when it did not crash."""
        return not self.crashed

    @property
    def restarted(self) -> bool:
        """Whether an earlier process of the same node precedes it in the trace."""
        return self.index > 0

    @property
    def layers(self) -> Mapping[str, str] | None:
        """Which plugin ran each layer here (the ``start`` line's ``layers``), if recorded."""
        found = self.start_line.get("layers") if self.start_line is not None else None
        return found if isinstance(found, Mapping) else None

    def runs(self, layer: str) -> bool:
        """Whether this process ran ``layer`` (assumed when its start line does not say)."""
        layers = self.layers
        return layers is None or layer in layers

    def __repr__(self) -> str:
        return f"{self.node}#{self.incarnation}"


@attrs.frozen
class Event:
    """One trace line with the process it happened at."""

    index: int
    """Position of the line in the history."""
    process: Process
    """The process the line belongs to."""
    record: Mapping[str, Any]
    """The trace line itself."""

    @property
    def t(self) -> float:
        """The line's time."""
        return float(self.record["t"])

    @property
    def ev(self) -> str:
        """The line's event kind."""
        return str(self.record["ev"])

    @property
    def layer(self) -> str | None:
        """The line's ``layer`` field, if any."""
        value = self.record.get("layer")
        return None if value is None else str(value)

    def get(self, field: str) -> str:
        """A field as a string (``id``, ``origin``, ``peer``...); ``""`` when absent."""
        value = self.record.get(field)
        return "" if value is None else str(value)


class History:
    """Processes and indexed events of one trace (build with :meth:`from_records`)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.processes: list[Process] = []
        self.by_node: dict[str, list[Process]] = {}
        self.crash_times: dict[str, list[float]] = {}
        self._messages: dict[tuple[str, str], list[Event]] = {}
        self._fd: dict[str, list[Event]] = {}
        self._layers: set[str] = set()
        self.end = 0.0
        """Time of the last line."""

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> History:
        """Read trace lines in order (as :func:`netweave.trace.read_trace` returns them).

        :raises TraceFormatError: if a line lacks ``t``, ``node`` or ``ev``, or a ``start``
            line's ``incarnation`` is not an integer.
        """
        h = cls()
        current: dict[str, Process] = {}
        for i, record in enumerate(records):
            try:
                t, node, ev = float(record["t"]), str(record["node"]), str(record["ev"])
            except (KeyError, TypeError, ValueError):
                raise TraceFormatError(f"trace line {i + 1} lacks t, node or ev: "
                                       f"{record!r}") from None
            proc = current.get(node)
            if ev == "start":
                if proc is not None and proc.end is None:
                    proc.crashed, proc.end = True, t
                proc = h._open(node, t, record)
                current[node] = proc
            elif proc is None:
                proc = h._open(node, float("-inf"), None)
                current[node] = proc
            if ev == "crash":
                h.crash_times.setdefault(node, []).append(t)
                if proc.end is None:
                    proc.crashed, proc.end, proc.end_line = True, t, record
            elif ev == "stop" and proc.end is None:
                proc.stopped, proc.end, proc.end_line = True, t, record
            event = Event(len(h.events), proc, record)
            h.events.append(event)
            h._index(event)
            h.end = max(h.end, t)
        return h

    def _open(self, node: str, t: float, line: Mapping[str, Any] | None) -> Process:
        known = self.by_node.setdefault(node, [])
        inc = line.get("incarnation", 0) if line is not None else 0
        if type(inc) is not int:
            raise TraceFormatError(
                f"a start line's incarnation must be an integer: {dict(line or {})!r}")
        proc = Process(node, inc, len(known), t, line)
        known.append(proc)
        self.processes.append(proc)
        if proc.layers:
            self._layers.update(str(layer) for layer in proc.layers)
        return proc

    def _index(self, e: Event) -> None:
        ev = e.ev
        if ev in _MESSAGE_EVENTS or ev in _FD_EVENTS:
            layer = e.layer
            if layer is None:
                raise TraceFormatError(f"a {ev} line without a layer: {dict(e.record)!r}")
            self._layers.add(layer)
            if ev in _FD_EVENTS:
                self._fd.setdefault(layer, []).append(e)
            else:
                self._messages.setdefault((ev, layer), []).append(e)

    # -- queries ----------------------------------------------------------------------

    @property
    def layers(self) -> list[str]:
        """Every layer named by a line or by a ``start`` line's ``layers``, sorted."""
        return sorted(self._layers)

    @property
    def nodes(self) -> list[str]:
        """Node ids in order of first appearance."""
        return list(self.by_node)

    def broadcasts(self, layer: str) -> list[Event]:
        """``broadcast`` lines of ``layer``, in order."""
        return self._messages.get(("broadcast", layer), [])

    def deliveries(self, layer: str) -> list[Event]:
        """``deliver`` lines of ``layer``, in order."""
        return self._messages.get(("deliver", layer), [])

    def fd_events(self, layer: str) -> list[Event]:
        """``suspect`` and ``restore`` lines of ``layer``, in order."""
        return self._fd.get(layer, [])

    def last_process(self, node: str) -> Process:
        """The node's latest process."""
        return self.by_node[node][-1]

    def crashed_by(self, node: str, t: float) -> bool:
        """Whether some process of ``node`` crashed at or before time ``t``."""
        return any(c <= t for c in self.crash_times.get(node, ()))

    def obliged(self, q: Process, born: float, layer: str) -> bool:
        """Whether ``q`` must deliver a ``layer`` message first seen at time ``born``."""
        if q.crashed or not q.runs(layer):
            return False
        if q.restarted and born <= q.start:
            return False
        return not (q.stopped and q.end is not None and born > q.end)

    def observers(self, layer: str) -> Iterator[Process]:
        """Correct processes that ran ``layer``."""
        return (p for p in self.processes if p.correct and p.runs(layer))
