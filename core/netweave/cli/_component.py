"""``module:Class`` references to component classes that are not installed (yet).

The module is imported as ``python -m`` would find it: the current directory comes first
on ``sys.path``, so ``netweave conform mymod:MyRb`` finds ``./mymod.py`` (the console
script alone would look beside itself, in the environment's ``bin``). The directory stays
on the path for the rest of the command: the module may import others beside it later,
and sweep workers inherit it.
"""

from __future__ import annotations

import importlib
import os
import sys

from ..errors import ConfigurationError
from ..plugin import Component


def cwd_first_on_path() -> None:
    """Put the current working directory first on ``sys.path`` (once)."""
    cwd = os.getcwd()
    if sys.path[:1] not in ([cwd], [""]):
        sys.path.insert(0, cwd)
        importlib.invalidate_caches()


def load_component(ref: str) -> str | type[Component]:
    """``ref`` itself when it is a plugin name, else the class ``module:Class`` names
    (the module looked up in the current directory first)."""
    if ":" not in ref:
        return ref
    module_name, _, attr = ref.partition(":")
    cwd_first_on_path()
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:  # ":X", ".m:X"
        raise ConfigurationError(f"cannot load {ref!r}: {exc}") from None
    if not (isinstance(found, type) and issubclass(found, Component)):
        raise ConfigurationError(f"{ref!r} is not a netweave Component class")
    return found
