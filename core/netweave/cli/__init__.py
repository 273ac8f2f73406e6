"""The ``netweave`` command."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``netweave`` console script."""
    from ._main import run

    return run(argv)
