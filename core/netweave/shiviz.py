"""A trace as a ShiViz log: one line per event, with its vector clock.

ShiViz (DistributedClocks/shiviz) draws a run as a space-time diagram from a log in
which every event names its host and carries a vector clock, a JSON object mapping host
names to counts. It rebuilds program order and messages from the clocks alone, so they
must be exact: a host's own count starts at 1 and grows by 1 at each of its events, and
the clock of an event is its predecessor's, merged with the clock of the ``send`` a
``recv`` matches (:mod:`netweave.causality` computes them).

The log this module writes is one line per trace line, matched by :data:`PARSER`::

    n2 {"n1":11,"n2":10,"n3":7} 0.889388 recv mid=n1/1/m5 from=n1 msg=lazy-rb.data id=n1/1/1

the host (the node id; characters other than letters, digits and ``_.:@-`` become
``_``), the clock, the time in seconds since the trace's first line, and the event: its
kind and its other fields as ``key=value`` (a value with spaces or other characters as
JSON). The log starts with the two lines ShiViz reads from an uploaded file: the parser
expression, and the delimiter between executions (:data:`DELIMITER`, when there are
several runs; else an empty line).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .causality import causality

__all__ = ["DELIMITER", "PARSER", "host_names", "shiviz_executions", "shiviz_log"]

PARSER = r"(?<host>\S+) (?<clock>\{[^}]*\}) (?<time>\S+) (?<event>.*)"
"""The log parsing expression, as the first line of the log (ShiViz adds ``^`` and ``$``
to it when it reads an uploaded file; give it ``^...$`` when pasting it)."""

DELIMITER = r"=== (?<trace>.*) ==="
"""The multiple executions delimiter: ``=== <label> ===`` lines before each run."""

_HOST = re.compile(r"[^A-Za-z0-9_.:@-]")
_PLAIN = re.compile(r"[\x21-\x7e]+")


def host_names(nodes: Iterable[str]) -> dict[str, str]:
    """A ShiViz host name for each node: its id, with the characters a host name cannot
    hold replaced by ``_`` (and ``_2``, ``_3``... added to tell apart ids that would
    then be alike)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for node in nodes:
        base = _HOST.sub("_", node) or "_"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        names[node] = name
        taken.add(name)
    return names


def _value(value: Any) -> str:
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def _event(record: Mapping[str, Any], node: str, host: str) -> str:
    parts = [_value(record.get("ev", "?"))]
    parts += [f"{_value(k)}={_value(v)}" for k, v in record.items()
              if k not in ("t", "node", "ev")]
    if host != node:
        parts.append(f"node={_value(node)}")
    return " ".join(parts)


def _execution(records: Iterable[Mapping[str, Any]]) -> list[str]:
    lines = [r for r in records if "node" in r and "ev" in r]
    if not lines:
        return []
    hb = causality(lines)
    hosts = host_names(hb.nodes)
    origin = min(float(r.get("t", 0.0)) for r in lines)
    out = []
    for i, r in enumerate(lines):
        node = hb.nodes[hb.node_of[i]]
        clock = {hosts[hb.nodes[k]]: c for k, c in enumerate(hb.clocks[i]) if c}
        t = round(float(r.get("t", 0.0)) - origin, 6) + 0.0
        out.append(f"{hosts[node]} {json.dumps(clock, separators=(',', ':'))} {t:.6f} "
                   f"{_event(r, node, hosts[node])}")
    return out


def shiviz_log(records: Iterable[Mapping[str, Any]]) -> str:
    """The ShiViz log of one trace (its lines, in trace order): the parser expression, an
    empty line (no delimiter) and one line per event."""
    return "\n".join([PARSER, "", *_execution(records)]) + "\n"


def shiviz_executions(runs: Sequence[tuple[str, Iterable[Mapping[str, Any]]]]) -> str:
    """The ShiViz log of several runs given as ``(label, lines)`` pairs, which ShiViz
    shows side by side: the parser expression, :data:`DELIMITER`, then each run after a
    ``=== label ===`` line. One run is written as :func:`shiviz_log` writes it.

    :raises ValueError: if two runs have the same label, or a label is empty or spans
        lines.
    """
    labels = [label for label, _ in runs]
    for label in labels:
        if not label.strip() or len(label.splitlines()) != 1:
            raise ValueError(f"a run's label must be one non-empty line: {label!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"two runs have the same label: {', '.join(labels)}")
    if len(runs) == 1:
        return shiviz_log(runs[0][1])
    out = [PARSER, DELIMITER]
    for label, records in runs:
        out.append(f"=== {label} ===")
        out.extend(_execution(records))
    return "\n".join(out) + "\n"
