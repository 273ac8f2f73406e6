"""What the failure detectors share: their options' validators, and how an eventually
perfect detector indicates a suspicion or its end (an event on the bus and a trace line)."""

from __future__ import annotations

from typing import Any

import attrs
from netweave import Context, Restore, Suspect


def positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    """attrs validator: the value must be strictly positive."""
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, not {value!r}")


def check_period(period: float, timeout: float) -> None:
    """A detector must hear several heartbeats within its timeout."""
    if not period < timeout:
        raise ValueError(f"period ({period}) must be smaller than timeout ({timeout})")


def not_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """attrs validator: the value (a count or a duration) must be 0 or more."""
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


def at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    """attrs validator: the value must be 1 or more."""
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, not {value!r}")


def suspect(ctx: Context, peer: str) -> None:
    """Indicate ⟨◇P, Suspect | peer⟩: the bus event and the trace line."""
    ctx.trace("suspect", layer="fd", peer=peer)
    ctx.publish(Suspect(peer))


def restore(ctx: Context, peer: str) -> None:
    """Indicate ⟨◇P, Restore | peer⟩: the bus event and the trace line."""
    ctx.trace("restore", layer="fd", peer=peer)
    ctx.publish(Restore(peer))
