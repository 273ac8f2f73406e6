"""Counterexample files: the scope and the run's choices, which ``netweave sim`` replays.

::

    # netweave explore: ReliableBroadcastSpec 'agreement' violated on layer rb
    [explore]
    plugin = "lazy-rb"                # or "module:Class"
    use = []
    options = {}
    nodes = 3
    messages = 1
    crashes = 1
    fd = "perfect"
    choices = [
      {kind = "broadcast", node = "n1", ref = 1},
      {kind = "crash", node = "n1"},
      ...
    ]

A file with an ``[explore]`` table is not a timed scenario: ``netweave sim FILE`` takes
its choices one by one in a :class:`~netweave.explore.World` of the same scope and writes
the trace the explorer judged.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from .. import _toml
from ..errors import ConfigurationError
from ._world import Choice, Scope

__all__ = ["Counterexample"]

_SCOPE_FIELDS = ("nodes", "messages", "crashes", "restarts", "losses", "fd", "suspicions",
                 "timers", "ordered")


@attrs.frozen
class Counterexample:
    """A run of :class:`~netweave.explore.World`: what to build and which choices to take."""

    plugin: str
    """The plugin under test: a name, or ``module:Class``."""
    scope: Scope
    choices: tuple[Choice, ...]
    use: tuple[str, ...] = ()
    options: Mapping[str, Any] = attrs.field(factory=dict)
    title: str = ""
    """What the run violates (a comment in the file)."""

    def to_toml(self) -> str:
        """The file's text.

        :raises ConfigurationError: for a value TOML has no type for (an option ``None``).
        """
        lines = [_toml.comment(f"netweave explore: {self.title}")] if self.title else []
        lines += ["# replay: netweave sim THIS_FILE --trace-dir DIR, then netweave check DIR",
                  "[explore]"]
        try:
            lines += [f"plugin = {_toml.value(self.plugin)}", f"use = {_toml.value(self.use)}",
                      f"options = {_toml.value(dict(self.options))}"]
            for name in _SCOPE_FIELDS:
                value = getattr(self.scope, name)
                if value is not None:
                    lines.append(f"{name} = {_toml.value(value)}")
            lines.append("choices = [")
            lines.extend(f"  {_toml.value(c.as_dict())},  {_toml.comment(str(c))}"
                         for c in self.choices)
        except ConfigurationError as exc:
            raise ConfigurationError(f"cannot write a counterexample file: {exc}") from None
        lines.append("]")
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write the file; returns its path."""
        out = Path(path)
        out.write_text(self.to_toml(), encoding="utf-8")
        return out

    @classmethod
    def from_toml(cls, data: Mapping[str, Any], source: str = "counterexample") -> Counterexample:
        """Read the ``[explore]`` table of a parsed file."""
        table = data.get("explore")
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{source}: no [explore] table")
        try:
            scope = Scope(**{k: table[k] for k in _SCOPE_FIELDS if k in table})
            choices = tuple(Choice.from_dict(c) for c in table.get("choices", ()))
            return cls(str(table["plugin"]), scope, choices, tuple(table.get("use", ())),
                       dict(table.get("options", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"{source}: invalid [explore] table: {exc}") from None

    @classmethod
    def read(cls, path: str | Path) -> Counterexample:
        """Read a counterexample file."""
        with open(path, "rb") as f:
            return cls.from_toml(tomllib.load(f), str(path))


def is_counterexample(path: str | Path) -> bool:
    """Whether ``path`` is a TOML file with an ``[explore]`` table."""
    try:
        with open(path, "rb") as f:
            return isinstance(tomllib.load(f).get("explore"), Mapping)
    except (OSError, tomllib.TOMLDecodeError):
        return False

