"""Writing TOML: the values, keys and comments of the files netweave writes.

Scenario files, counterexample files and cluster files are written line by line by their
own modules; this one turns each value, key and comment into TOML text that
:mod:`tomllib` reads back as the same value. People read these files to learn from them,
so they are not written with tomli-w, which puts each element of an array on a line of
its own (a partition of five nodes takes a dozen lines) and writes no comments.

A string is written as JSON writes it, which is a TOML basic string once DEL is escaped
too; an integer must fit in 64 bits; a float is its ``repr``, or ``nan``, ``inf`` and
``-inf``; a list or tuple is an array and a mapping an inline table (an attrs instance
is the table of its fields). A key is bare when TOML allows it (ASCII letters, digits,
``-`` and ``_``) and a quoted string otherwise. What TOML has no type for (``None``, an
integer beyond 64 bits, a string with a lone surrogate, any other object) raises
:class:`~netweave.errors.ConfigurationError` naming the value and why; a caller may add
which file it was for.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import ConfigurationError

__all__ = ["comment", "key", "pairs", "value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def value(v: Any, *, spaced: bool = False) -> str:
    """``v`` as one TOML value, on one line.

    :param spaced: write non-empty inline tables as ``{ a = 1 }`` rather than ``{a = 1}``.
    :raises ConfigurationError: for a value TOML has no type for.
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if not -(2**63) <= v < 2**63:
            raise ConfigurationError(f"{v}: TOML holds integers of 64 bits "
                                     f"(-2**63 to 2**63 - 1)")
        return repr(v)
    if isinstance(v, float):
        if math.isfinite(v):
            return repr(v)
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, str):
        if any("\ud800" <= c <= "\udfff" for c in v):
            raise ConfigurationError(f"{v!r}: a lone surrogate cannot be written in TOML")
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(item, spaced=spaced) for item in v) + "]"
    if isinstance(v, Mapping):
        inner = ", ".join(pairs(v, spaced=spaced))
        return f"{{ {inner} }}" if spaced and inner else f"{{{inner}}}"
    if attrs.has(type(v)):
        return value(attrs.asdict(v), spaced=spaced)
    raise ConfigurationError(f"{v!r}: TOML has no type for {type(v).__name__} values")


def key(k: object) -> str:
    """``k`` as a TOML key: bare when it can be, else a quoted string."""
    if not isinstance(k, str):
        raise ConfigurationError(f"{k!r}: a TOML key is a string, not {type(k).__name__}")
    return k if _BARE_KEY.fullmatch(k) else value(k)


def pairs(table: Mapping[Any, Any], *, spaced: bool = False) -> list[str]:
    """The ``key = value`` lines of ``table``, in its order."""
    return [f"{key(k)} = {value(v, spaced=spaced)}" for k, v in table.items()]


def comment(text: str) -> str:
    """A comment line saying ``text``, its control characters (and lone surrogates)
    escaped as ``\\xNN``, since TOML allows none but tab in a comment."""
    if not text:
        return "#"
    return "# " + "".join(
        c if c == "\t" or (" " <= c != "\x7f" and not "\ud800" <= c <= "\udfff")
        else f"\\x{ord(c):02x}" for c in text)
