"""Validation shared by the failure detectors' options."""

from __future__ import annotations

import attrs


def positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    """attrs validator: the value must be strictly positive."""
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, not {value!r}")


def check_period(period: float, timeout: float) -> None:
    """A detector must hear several heartbeats within its timeout."""
    if not period < timeout:
        raise ValueError(f"period ({period}) must be smaller than timeout ({timeout})")
