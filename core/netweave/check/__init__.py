"""Property checking over traces: specifications, the checking engine, spec discovery.

Every abstraction ships a :class:`Spec`: its properties (validity, agreement, FIFO
order, completeness...) as predicates over a :class:`History`, the trace read as
processes and their events. :func:`check_trace` judges every layer found in a trace with
the specs the installed plugins declare (through the ``netweave_specs`` hook) and returns
a :class:`Report`; ``netweave check`` prints it.

How processes, restarts and correctness are counted, and the quiet-period assumption
behind liveness properties, are documented in :mod:`netweave.check._history` and in the
trace format reference.
"""

from __future__ import annotations

from ._discovery import SpecCatalog, static_hooks
from ._history import Event, History, Process, TraceFormatError
from ._report import Report, check_history, check_trace, specs_for
from ._spec import Kind, Property, PropertyResult, Spec, Violation, liveness, safety

__all__ = [
    "Event",
    "History",
    "Kind",
    "Process",
    "Property",
    "PropertyResult",
    "Report",
    "Spec",
    "SpecCatalog",
    "TraceFormatError",
    "Violation",
    "check_history",
    "check_trace",
    "liveness",
    "safety",
    "specs_for",
    "static_hooks",
]
