"""Helpers shared by the benchmark scripts: a header with the machine and Python.

The measuring code itself lives in :mod:`netweave.bench` (so ``netweave bench`` works
from an installed package); these scripts are thin entry points for a source checkout.
"""

from __future__ import annotations

from netweave.bench._report import header as _header


def header(title: str, **params: object) -> None:
    """Print what was measured, where, and with which parameters."""
    _header(title, **params)
