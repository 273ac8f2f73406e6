"""``module:Class`` references to component classes that are not installed (yet)."""

from __future__ import annotations

import importlib

from ..errors import ConfigurationError
from ..plugin import Component


def load_component(ref: str) -> str | type[Component]:
    """``ref`` itself when it is a plugin name, else the class ``module:Class`` names."""
    if ":" not in ref:
        return ref
    module_name, _, attr = ref.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:  # ":X", ".m:X"
        raise ConfigurationError(f"cannot load {ref!r}: {exc}") from None
    if not (isinstance(found, type) and issubclass(found, Component)):
        raise ConfigurationError(f"{ref!r} is not a netweave Component class")
    return found
